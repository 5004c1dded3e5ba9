"""Loading a folder that ``ZeroShotClassifier.adapt(...).save_pretrained`` wrote.

Such a folder is a normal model folder plus ``zeroclass_adapter.json``
(method, templates, the hypotheses that have stored vectors) and, for
embedding models, ``prototypes.safetensors``. :func:`apply_adapter` is the
one hook ``load_backend`` calls: a folder without the marker loads as before.
Writing such folders is :mod:`zeroclass.adaptation.saved`'s job.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ModelConfigError
from .base import Embedding

__all__ = ["ADAPTER_FILE", "PROTOTYPES_FILE", "FORMAT", "read_adapter", "apply_adapter"]

ADAPTER_FILE = "zeroclass_adapter.json"
PROTOTYPES_FILE = "prototypes.safetensors"
FORMAT = 1


def read_adapter(path: Path) -> dict[str, Any] | None:
    """The folder's adapter settings, or ``None`` when it is a plain model folder."""
    marker = Path(path) / ADAPTER_FILE
    if not marker.is_file():
        return None
    try:
        config = json.loads(marker.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelConfigError(f"{marker} is not valid JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelConfigError(f"{marker}: unknown zeroclass adapter format {config.get('format') if isinstance(config, dict) else config!r}")
    templates = config.get("templates")
    if not isinstance(templates, list) or not templates or not all(isinstance(t, str) and t for t in templates):
        raise ModelConfigError(f"{marker}: 'templates' must be a non-empty list of template strings, got {templates!r:.80}")
    return config


def apply_adapter(path: Path, backend: Any) -> Any:
    """``backend`` as the adapted folder ``path`` says (its templates, its prototypes); unchanged without a marker."""
    config = read_adapter(path)
    if config is None:
        return backend
    templates = tuple(config["templates"])
    plain = None
    if config.get("joint_with"):
        plain, backend = backend, _joint(path, backend, config["joint_with"])
    if config.get("languages") and backend.languages is None:
        backend.languages = frozenset(config["languages"])
    hypotheses = config.get("prototype_hypotheses") or []
    if hypotheses:
        if not isinstance(backend, Embedding):
            raise ModelConfigError(f"{path} holds label prototypes for an embedding model; load it with backend='embedding'")
        from safetensors.numpy import load_file

        from .prototypes import PrototypeBackend

        vectors = load_file(str(Path(path) / PROTOTYPES_FILE))["prototypes"]
        if len(vectors) != len(hypotheses):
            raise ModelConfigError(f"{path}: {len(hypotheses)} prototype hypotheses but {len(vectors)} vectors")
        _check_width(path, backend, vectors.shape[1])
        labels = dict(zip(hypotheses, config.get("prototype_labels") or hypotheses))
        gate = config.get("gate_unseen_labels", not config.get("multi_label", False))
        return PrototypeBackend.from_backend(backend, dict(zip(hypotheses, vectors)), labels=labels, gate=gate, plain=plain,
                                             default_template=templates)
    backend.default_template = templates if len(templates) > 1 else templates[0]
    return backend


def _joint(path: Path, backend: Any, partner: str) -> Any:
    """A backend over the folder's encoder with the partner the adapter names beside it (:mod:`zeroclass.backends.joint`)."""
    from .joint import joint_backend
    from .use import USE_MODEL, UseBackend

    if partner != USE_MODEL:
        raise ModelConfigError(f"{path}: the adapter reads texts with {partner!r} too, which zeroclass cannot load "
                               f"(the one partner it knows is {USE_MODEL!r})")
    if not isinstance(backend, Embedding):
        raise ModelConfigError(f"{path} adapts a pair of embedding models; load it with backend='embedding'")
    return joint_backend(backend, UseBackend.from_path())


def _check_width(path: Path, backend: Any, width: int) -> None:
    """Refuse, at load rather than at the first request, label vectors of another width than the model's embeddings
    (a marker edited by hand, or a folder whose model was replaced)."""
    got = backend.embed(["zeroclass"]).shape[1]
    if got != width:
        raise ModelConfigError(f"{path}: the stored label vectors have {width} dimensions but {backend.model_name} "
                               f"gives {got}; {ADAPTER_FILE} does not match the model beside it")
