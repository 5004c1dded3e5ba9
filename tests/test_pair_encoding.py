"""Pairs joined from separately tokenised parts are exactly the tokenizer's own pair encoding.

Every family's real tokenizer type (byte-level BPE, Unigram, WordPiece,
trained offline as in ``families``) and ModelScope's StructBERT are checked
on short, Chinese and over-long premises, with right and left truncation,
against ``tokenizer(premises, hypotheses, truncation="only_first")``; and
the join must actually be taken (not silently fall back) for each of them,
since it is the engine's host-side speed-up.
"""

from __future__ import annotations

from typing import Any

import pytest

from conftest import FIXTURES
from families import FAMILIES, MAX_LENGTH, train_tokenizer
from tiny_models import WORDS
from zeroclass.backends.pair_encoding import PairEncoder

PREMISES = [
    "The team won the match after a late goal",
    "世界那么大，我想去看看",
    " ".join(WORDS),  # far over MAX_LENGTH: truncated
    "rain",
    "Stocks fell as the bank raised the rate",
]
HYPOTHESES = ["This example is sports.", "这是一条关于旅游的文本。", "The topic is finance", "This example is {}."]
PAIRS = [(p, h) for p in PREMISES for h in HYPOTHESES]


def _tokenizers() -> list[tuple[str, Any]]:
    from transformers import BertTokenizerFast

    import transformers

    built = [(f.key, train_tokenizer(getattr(transformers, f.tokenizer_class), f.vocab_size, f.tokenizer_kwargs)) for f in FAMILIES]
    structbert = BertTokenizerFast(vocab=str(FIXTURES / "structbert_tiny" / "vocab.txt"), model_max_length=MAX_LENGTH)
    return built + [("structbert", structbert)]


@pytest.fixture(scope="module", params=_tokenizers(), ids=lambda p: p[0])
def tokenizer(request: pytest.FixtureRequest) -> Any:
    return request.param[1]


def _theirs(tokenizer: Any, pairs: list[tuple[str, str]], max_length: int) -> dict[str, list[list[int]]]:
    encoded = tokenizer([p for p, _ in pairs], [h for _, h in pairs], truncation="only_first", max_length=max_length, padding=False)
    return {name: encoded[name] for name in tokenizer.model_input_names if name in encoded}


@pytest.mark.parametrize("side", ["right", "left"])
def test_joined_pairs_equal_the_tokenizers_own(tokenizer: Any, side: str) -> None:
    tokenizer.truncation_side = side
    try:
        encoder = PairEncoder(tokenizer)
        names = tokenizer.model_input_names
        for max_length in (MAX_LENGTH, 24):
            ours = encoder.encode(PAIRS, max_length, names)
            assert ours is not None, "the join fell back to the tokenizer"
            theirs = _theirs(tokenizer, PAIRS, max_length)
            assert set(theirs) <= set(ours)
            for name in theirs:
                assert ours[name] == theirs[name], name
            assert max(len(x) for x in ours["input_ids"]) == max_length  # the long premise was cut
    finally:
        tokenizer.truncation_side = "right"


def test_a_pair_the_tokenizer_refuses_is_left_to_it(tokenizer: Any) -> None:
    long_hypothesis = "This example is " + " ".join(WORDS[:200]) + "."
    assert PairEncoder(tokenizer).encode([("short", long_hypothesis)], 24, tokenizer.model_input_names) is None


def test_a_join_that_disagrees_is_abandoned_for_good(tokenizer: Any) -> None:
    from dataclasses import replace

    encoder = PairEncoder(tokenizer)
    template = encoder._template
    assert template is not None
    encoder._template = replace(template, middle=template.middle + template.prefix)  # a join the tokenizer does not make
    assert encoder.encode(PAIRS, MAX_LENGTH, tokenizer.model_input_names) is None
    assert encoder.encode(PAIRS, MAX_LENGTH, tokenizer.model_input_names) is None  # not tried again


def test_a_tokenizer_without_a_rust_backend_is_not_imitated(tokenizer: Any) -> None:
    class PythonTokenizer:  # a caller's own tokenizer object: callable, no ``_tokenizer``
        is_fast = False
        model_input_names = tokenizer.model_input_names

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return tokenizer(*args, **kwargs)

    assert PairEncoder(PythonTokenizer()).encode(PAIRS, MAX_LENGTH, tokenizer.model_input_names) is None


@pytest.mark.parametrize("side", ["right", "left"])
def test_a_collated_batch_equals_the_tokenizers_padding(tokenizer: Any, side: str) -> None:
    import numpy as np

    names = tokenizer.model_input_names
    joined = PairEncoder(tokenizer).join(PAIRS, MAX_LENGTH, names)
    assert joined is not None
    batch = np.array([7, 2, 11, 0])
    ours = joined.collate(batch, tokenizer.pad_token_id, side)
    tokenizer.padding_side = side
    try:
        chosen = [PAIRS[i] for i in batch]
        theirs = tokenizer([p for p, _ in chosen], [h for _, h in chosen], truncation="only_first",
                           max_length=MAX_LENGTH, padding=True, return_tensors="np")
    finally:
        tokenizer.padding_side = "right"
    for name in names:
        assert ours[name].tolist() == theirs[name].tolist(), name


def test_chunks_start_small_and_double() -> None:
    from zeroclass.backends.tokenized import FIRST_CHUNK_PAIRS, _chunks

    sizes = [stop - start for start, stop in _chunks(10_000, 4096)]
    assert sizes[0] == FIRST_CHUNK_PAIRS and sum(sizes) == 10_000 and max(sizes) == 4096
    assert sizes == sorted(sizes[:-1]) + sizes[-1:]
    assert list(_chunks(10, None)) == [(0, 10)]
