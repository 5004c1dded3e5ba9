"""An embedding backend whose label hypotheses can have stored vectors: what adaptation produces.

``zeroclass.adaptation`` builds the vectors (prototypes, a trained head,
a fine-tuned encoder's); this backend only scores with them, so a saved
adapted folder loads here, below the classifier, without the training code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .base import Pair
from .embedding import EmbeddingBackend

__all__ = ["PrototypeBackend"]


class PrototypeBackend(EmbeddingBackend):
    """An embedding backend whose label hypotheses can have stored vectors (see the module doc)."""

    def __init__(self, model: Any, *, prototypes: Mapping[str, np.ndarray], **options: Any) -> None:
        super().__init__(model, **options)
        self.prototypes = {h: np.asarray(v, dtype=np.float32) for h, v in prototypes.items()}

    @classmethod
    def from_backend(cls, base: EmbeddingBackend, prototypes: Mapping[str, np.ndarray], **changes: Any) -> "PrototypeBackend":
        """A backend with ``base``'s model and settings plus ``prototypes`` (``base`` is not changed)."""
        options = {
            "model_name": base.model_name,
            "temperature": base.temperature,
            "threshold": base.threshold,
            "default_template": base.default_template,
            "refine": base.refine,
            "languages": base.languages,
            "batch_size": base.batch_size,
        }
        return cls(base.model, prototypes=prototypes, **{**options, **changes})

    def hypothesis_vectors(self, hypotheses: list[str], pairs: Sequence[Pair] = ()) -> np.ndarray:
        vectors = super().hypothesis_vectors(hypotheses, pairs)
        for i, h in enumerate(hypotheses):
            if h in self.prototypes:
                vectors[i] = self.prototypes[h]
        return vectors
