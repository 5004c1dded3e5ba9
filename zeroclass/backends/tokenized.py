"""Shared engine of the cross-encoder backends (torch, ONNX Runtime).

Tokenise every pair once (premise truncated, never the hypothesis), sort by
length, cut into batches by a token budget, pad each batch only to its own
longest pair, run the model, and put the logits back in input order. The
subclasses say how to run one padded batch (``run_batch``), and may split it
into ``stage``/``launch``/``fetch`` to overlap host work with the device.

For fast devices the same loop becomes a pipeline: pairs are tokenised in
chunks, and a worker thread tokenises, pads and stages (e.g. pins) batches
ahead while the device runs the current one; ``launch``/``fetch`` let a
backend keep one batch in flight so that reading its logits back overlaps
the next launch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..batching import pad, plan_batches, prefetch
from ..errors import InputError
from .base import NLIHead, Pair
from .pair_encoding import PairEncoder

__all__ = ["TokenizedBackend", "default_max_length", "CPU_BATCH_TOKENS", "CPU_BF16_BATCH_TOKENS", "ONNX_CPU_BATCH_TOKENS", "GPU_BATCH_TOKENS"]

# Tokenizers without a configured limit report this sentinel (transformers' VERY_LARGE_INTEGER).
_UNSET_LENGTH = 10**12

#: Default token budget of one batch on a CPU. Measured with MiniLM-L6 and
#: BERT-base shapes on AG News pairs (benchmarks/throughput and
#: benchmarks/RESULTS.md): batches of 8,192 tokens fall out of the CPU caches
#: and run up to 30% slower per pair; 1,024 was best for BERT-base and within
#: 3% of the best for MiniLM. ONNX Runtime's int8 kernels want smaller
#: batches still (512: 29% faster than 2,048 on BERT-base), while bfloat16
#: (AMX tiles) wants bigger ones (2,048: 1.4x the speed of 1,024 on BERT-base).
CPU_BATCH_TOKENS = 1024
CPU_BF16_BATCH_TOKENS = 2048
ONNX_CPU_BATCH_TOKENS = 512
#: On a GPU, 16,384 tokens: measured on an H200 (BERT-base, bf16, warm, two leases),
#: 18,900 pairs/s against 13,500 at 65,536 and 10,900 at 262,144 tokens; a batch's
#: activations then fit the 60 MB L2 cache (benchmarks/RESULTS.md, "H200").
GPU_BATCH_TOKENS = 16384


def default_max_length(tokenizer: Any, config: Any = None) -> int:
    """The longest pair the model accepts: the tokenizer's limit, else the model's positions."""
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < _UNSET_LENGTH:
        return limit
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        # RoBERTa-style models reserve padding_idx + 1 positions.
        if getattr(config, "model_type", "") in {"roberta", "xlm-roberta", "camembert"}:
            pad = getattr(config, "pad_token_id", None)
            positions -= (1 if pad is None else pad) + 1
        return positions
    return 512


#: The first chunk of a chunked call: small, so that a device starts at once.
FIRST_CHUNK_PAIRS = 256


def _chunks(n: int, chunk_pairs: int | None) -> Iterator[tuple[int, int]]:
    """(start, stop) of each chunk of ``n`` pairs: all at once without ``chunk_pairs``, else
    :data:`FIRST_CHUNK_PAIRS` doubling up to ``chunk_pairs``."""
    if not chunk_pairs:
        yield 0, n
        return
    start, size = 0, min(FIRST_CHUNK_PAIRS, chunk_pairs)
    while start < n:
        yield start, min(n, start + size)
        start, size = start + size, min(2 * size, chunk_pairs)


class TokenizedBackend(ABC):
    """Batching engine for backends that read token ids."""

    model_name: str
    head: NLIHead
    default_template: str | tuple[str, ...]
    languages: frozenset[str] | None = None
    loads_embedding_models = False
    takes_model_languages = False
    #: Batches prepared ahead in a worker thread (0: inline, best when the
    #: model shares the CPU with the host work, as on a CPU backend).
    prefetch: int = 0
    #: Pairs tokenised and length-sorted together; ``None`` = the whole call.
    #: Chunks let a device start on the first batches while later ones are tokenised.
    chunk_pairs: int | None = None

    def __init__(
        self,
        tokenizer: Any,
        *,
        model_name: str,
        head: NLIHead,
        default_template: str,
        input_names: Sequence[str],
        max_length: int,
        max_batch_tokens: int,
        max_batch_size: int | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.model_name = model_name
        self.head = head
        self.default_template = default_template
        self.input_names = tuple(input_names)
        self.max_length = max_length
        self.max_batch_tokens = max_batch_tokens
        self.max_batch_size = max_batch_size
        self._pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._pad_side = getattr(tokenizer, "padding_side", "right")
        self._pair_encoder = PairEncoder(tokenizer)

    def tokenize(self, pairs: Sequence[Pair]) -> dict[str, list[list[int]]]:
        """Token ids of each pair, unpadded; only the premise is ever truncated.

        Each distinct text and hypothesis is tokenised once (``PairEncoder``),
        with the tokenizer's own pair encoding as the fallback: the ids are
        the same either way.
        """
        joined = self._pair_encoder.encode(pairs, self.max_length, self.input_names)
        return joined if joined is not None else self._tokenize_whole(pairs)

    def _tokenize_whole(self, pairs: Sequence[Pair]) -> dict[str, list[list[int]]]:
        """The tokenizer's own pair encoding: what the join falls back to."""
        premises = [p for p, _ in pairs]
        hypotheses = [h for _, h in pairs]
        try:
            encoded = self.tokenizer(
                premises,
                hypotheses,
                truncation="only_first",
                max_length=self.max_length,
                padding=False,
            )
        except Exception as exc:  # tokenizers raises plain Exceptions for this
            too_long = self._hypotheses_too_long(hypotheses)
            if too_long:
                raise InputError(
                    f"hypothesis {too_long!r} alone is too long for max_length={self.max_length}; "
                    "shorten the label or template, or raise max_length"
                ) from exc
            raise
        return {name: encoded[name] for name in self.input_names if name in encoded}

    def _hypotheses_too_long(self, hypotheses: Sequence[str]) -> str | None:
        for hypothesis in dict.fromkeys(hypotheses):
            # Special tokens of a pair plus at least one premise token must fit.
            n = len(self.tokenizer(hypothesis, add_special_tokens=False)["input_ids"])
            if n + self.tokenizer.num_special_tokens_to_add(pair=True) + 1 > self.max_length:
                return hypothesis
        return None

    def score_pairs(self, pairs: Sequence[Pair]) -> np.ndarray:
        """Logits for every pair, in input order."""
        out = np.zeros((len(pairs), len(self.head.id2label)), dtype=np.float32)
        batches = self._batches(pairs)
        in_flight: tuple[np.ndarray, Any] | None = None
        for index, staged in prefetch(batches, self.prefetch) if self.prefetch else batches:
            launched = (index, self.launch(staged))
            if in_flight is not None:
                out[in_flight[0]] = self.fetch(in_flight[1])
            in_flight = launched
        if in_flight is not None:
            out[in_flight[0]] = self.fetch(in_flight[1])
        return out

    def _batches(self, pairs: Sequence[Pair]) -> Iterator[tuple[np.ndarray, Any]]:
        """(indices into ``pairs``, staged inputs) of each batch, longest first within a chunk.

        Chunks start small and double up to ``chunk_pairs``, so a device gets
        its first batch after a few hundred pairs are prepared rather than
        after a whole chunk, and the host stays ahead from then on.
        """
        for start, stop in _chunks(len(pairs), self.chunk_pairs):
            chunk = pairs[start:stop]
            joined = self._pair_encoder.join(chunk, self.max_length, self.input_names)
            if joined is not None:
                for batch in plan_batches(joined.lengths, self.max_batch_tokens, self.max_batch_size):
                    yield batch + start, self.stage(joined.collate(batch, self._pad_id, self._pad_side))
                continue
            encoded = self._tokenize_whole(chunk)  # the join was just tried: no second attempt
            lengths = [len(x) for x in encoded["input_ids"]]
            for batch in plan_batches(lengths, self.max_batch_tokens, self.max_batch_size):
                yield batch + start, self.stage(self.collate(encoded, batch))

    def stage(self, arrays: dict[str, np.ndarray]) -> Any:
        """Host-side preparation of a padded batch (runs in the prefetch worker); default: none."""
        return arrays

    def launch(self, staged: Any) -> Any:
        """Start one batch; what is returned goes to :meth:`fetch`. Default: run it at once."""
        return self.run_batch(staged)

    def fetch(self, launched: Any) -> np.ndarray:
        """The float32 logits of a launched batch (waits for the device if it must)."""
        return launched

    def collate(self, encoded: dict[str, list[list[int]]], batch: np.ndarray) -> dict[str, np.ndarray]:
        """Pad one batch to its own longest pair (dynamic padding)."""
        arrays = {}
        for name, values in encoded.items():
            rows = [values[i] for i in batch]
            pad_value = self._pad_id if name == "input_ids" else 0
            arrays[name] = pad(rows, pad_value, self._pad_side)
        if "attention_mask" in self.input_names and "attention_mask" not in arrays:
            arrays["attention_mask"] = pad([[1] * len(encoded["input_ids"][i]) for i in batch], 0, self._pad_side)
        return arrays

    @abstractmethod
    def run_batch(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """Logits ``(batch, n_classes)`` of one padded batch, as float32 NumPy."""
