"""The one interface every backend implements, and the NLI head it reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from ..errors import ModelConfigError

__all__ = ["Backend", "Refining", "Embedding", "Routing", "NLIHead", "head_labels", "resolve_nli_head", "Pair", "device_string"]

#: A (premise, hypothesis) pair: the text, and one label's hypothesis sentence.
Pair = tuple[str, str]

_NOT_ENTAILMENT = {"not_entailment", "not entailment", "not-entailment", "non_entailment", "non-entailment"}


def device_string(device: Any) -> str | None:
    """A device as a string, read as transformers reads ``device=``: ``-1`` is the CPU, ``N`` is ``cuda:N``.

    ``None`` stays ``None`` (the backend picks). Every backend takes what
    transformers' pipeline takes, so ``pipeline(device=-1)`` works on any model.
    """
    if device is None or isinstance(device, str):
        return device
    if isinstance(device, int) and not isinstance(device, bool):
        return "cpu" if device < 0 else f"cuda:{device}"
    return str(device)  # a torch.device


@dataclass(frozen=True)
class NLIHead:
    """Which output column of the model means what."""

    id2label: Mapping[int, str]
    entailment_id: int
    contradiction_id: int

    @property
    def neutral_id(self) -> int | None:
        """The remaining column of a 3-class model; ``None`` for 2-class heads."""
        rest = [i for i in self.id2label if i not in (self.entailment_id, self.contradiction_id)]
        return rest[0] if len(rest) == 1 else None


def head_labels(config: Any) -> dict[int, str]:
    """A config's class names by column: ``id2label``, or ``label2id`` turned round when only it names them.

    transformers' pipeline finds entailment in ``label2id``, so a checkpoint
    whose ``id2label`` says ``LABEL_0``... but whose ``label2id`` is named
    (or a ``model.config.label2id`` patched by hand) works there: it works here too.
    """
    id2label = {int(k): str(v) for k, v in (getattr(config, "id2label", None) or {}).items()}
    label2id = getattr(config, "label2id", None) or {}
    named = {int(v): str(k) for k, v in label2id.items()}
    if len(named) == len(id2label) and not _entails(id2label) and _entails(named):
        return named
    return id2label


def _entails(labels: Mapping[int, str]) -> bool:
    return any(name.lower().startswith("entail") for name in labels.values())


def resolve_nli_head(
    id2label: Mapping[int, str] | None,
    entailment_id: int | None = None,
    contradiction_id: int | None = None,
) -> NLIHead:
    """Find the entailment and contradiction columns from a config's ``id2label``.

    Matching is case-insensitive on the label's start ("ENTAILMENT",
    "entailment", "Entails"...). A 2-class model's "not_entailment" class plays
    the contradiction role, as in transformers' pipeline. Explicit ids win
    over the config, for checkpoints whose config says ``LABEL_0``...
    """
    labels = {int(k): str(v) for k, v in (id2label or {}).items()}
    n = len(labels)

    def check(name: str, value: int) -> int:
        if n and not 0 <= value < n:
            raise ModelConfigError(f"{name}={value} is out of range for a model with {n} output classes {labels}")
        return value

    if entailment_id is None:
        found = [i for i, name in labels.items() if name.lower().startswith("entail")]
        if len(found) != 1:
            raise ModelConfigError(
                f"cannot tell which output of this model means entailment: its config's id2label is {labels}, "
                "and exactly one label should start with 'entail'. Pass entailment_id=... and "
                "contradiction_id=... (CLI: --entailment-id/--contradiction-id) if you know them."
            )
        entailment_id = found[0]
    entailment_id = check("entailment_id", entailment_id)
    if contradiction_id is None:
        lowered = {i: name.lower() for i, name in labels.items() if i != entailment_id}
        found = [i for i, name in lowered.items() if name.startswith("contradict")]
        found = found or [i for i, name in lowered.items() if name in _NOT_ENTAILMENT]
        if not found and len(lowered) == 1:
            found = list(lowered)
        if len(found) != 1:
            raise ModelConfigError(
                f"cannot tell which output of this model means contradiction: its config's id2label is {labels}. "
                "Pass contradiction_id=... (CLI: --contradiction-id)."
            )
        contradiction_id = found[0]
    contradiction_id = check("contradiction_id", contradiction_id)
    if contradiction_id == entailment_id:
        raise ModelConfigError(f"entailment_id and contradiction_id are both {entailment_id}")
    return NLIHead(labels, entailment_id, contradiction_id)


@runtime_checkable
class Backend(Protocol):
    """Scores (premise, hypothesis) pairs; everything else is shared.

    A backend owns its model and whatever batching suits it. It returns one
    row of logits per pair, whose columns ``head`` describes, so the scoring
    math (``zeroclass.scoring``) is the same for every backend.
    """

    #: What answered, as reported in results and notices (hub id or path).
    model_name: str
    head: NLIHead
    #: Template(s) used when the caller gives none: the model's own convention
    #: (embedding models average an ensemble, so give a tuple).
    default_template: str | tuple[str, ...]
    #: Languages the model can read (``{"en"}``), or ``None`` when unknown / many.
    languages: frozenset[str] | None
    #: Tokens a pair is cut to, for the server's batch budget; ``None`` when the backend does not tokenize pairs.
    max_length: int | None
    #: Padded tokens the backend scores per batch, the server's default budget; ``None`` to let the server choose.
    max_batch_tokens: int | None
    #: Whether it loads sentence-embedding models; the loader refuses one for a backend that does not.
    loads_embedding_models: ClassVar[bool]
    #: Whether the loader passes it the languages the hub knows the model reads (``languages=``).
    takes_model_languages: ClassVar[bool]

    @property
    def model(self) -> Any:
        """What runs: a torch module, an ONNX Runtime session, a SentenceTransformer (``pipeline.model``)."""
        ...

    @property
    def tokenizer(self) -> Any:
        """The model's transformers tokenizer (``pipeline.tokenizer``)."""
        ...

    @property
    def device(self) -> Any:
        """Where the model runs: a ``torch.device``, or ``"cpu"``/``"cuda"`` for ONNX Runtime."""
        ...

    @property
    def dtype(self) -> Any:
        """The model's number type: a ``torch.dtype``, or ``"float32"``/``"int8"`` for ONNX Runtime."""
        ...

    def score_pairs(self, pairs: Sequence[Pair]) -> np.ndarray:
        """Logits of shape ``(len(pairs), n_classes)``, float32 or wider."""
        ...


@runtime_checkable
class Refining(Protocol):
    """A backend that can refine label vectors with the texts of a call (``refine=True``).

    Scoring by sentence embeddings gives one vector per label, which the
    texts a label wins can pull towards themselves; NLI pairs have no such
    vector, so NLI backends do not implement this.
    """

    #: Whether calls refine when they do not say (``refine=None``).
    refine: bool

    def refined_logits(self, texts: Sequence[str], label_hypotheses: Sequence[Sequence[str]]) -> np.ndarray:
        """``(texts, labels, 2)`` logits with each label's vector refined by ``texts``."""
        ...


@runtime_checkable
class Embedding(Protocol):
    """A backend that scores by one sentence-embedding model: texts and hypotheses become vectors.

    What adaptation (prototypes, contrastive tuning) and the shortlist cascade
    need; a routed backend, several models, is not one.
    """

    def embed(self, sentences: Sequence[str]) -> np.ndarray:
        """Unit vectors of ``sentences``, one row each."""
        ...

    def hypothesis_vectors(self, hypotheses: list[str], pairs: Sequence[Pair] = ()) -> np.ndarray:
        """The vectors of label hypotheses (which adaptation may replace by prototypes)."""
        ...


@runtime_checkable
class Routing(Protocol):
    """A backend that answers each text with the model of its language (the offline default)."""

    #: Which model answers which texts, for the offline-default notice.
    routing_note: str

    def model_for(self, text: str, hypotheses: Sequence[str] = ()) -> str:
        """The name of the model that answers ``text`` against these hypotheses."""
        ...

    def templates_for(self, text: str, labels: Sequence[str] = ()) -> tuple[str, ...]:
        """The default templates for ``text`` and its labels (in the labels' language when only they are not English)."""
        ...
