"""The public surface: what ``import zeroclass`` promises, pinned so a change to it is a decision, not an accident."""

import pytest

import zeroclass
from zeroclass.errors import ZeroclassError
from zeroclass.server.batcher import QueueFullError, ShuttingDownError

PUBLIC = {
    "pipeline",
    "evaluate",
    "ZeroShotClassifier",
    "ClassificationResult",
    "ResultList",
    "ZeroclassError",
    "InputError",
    "ModelNotFoundError",
    "ModelConfigError",
    "UnsupportedLanguageError",
    "__version__",
}


def test_all_is_pinned():
    assert set(zeroclass.__all__) == PUBLIC
    assert len(zeroclass.__all__) == len(PUBLIC), "a name is listed twice"


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_public_name_resolves(name):
    assert getattr(zeroclass, name) is not None


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        zeroclass.nonesuch  # noqa: B018


@pytest.mark.parametrize("error", [QueueFullError, ShuttingDownError])
def test_server_refusals_are_zeroclass_errors(error):
    # One ``except ZeroclassError`` catches every error zeroclass raises on purpose, the server's 503s included.
    assert issubclass(error, ZeroclassError)


def test_call_and_prepare_take_the_same_options():
    # __call__ repeats prepare's keywords so IDEs and help() show them; this keeps the two lists one list.
    import inspect

    from zeroclass.classifier import _CALL_NAMES

    def keywords(fn):
        return {n for n, p in inspect.signature(fn).parameters.items() if p.kind is p.KEYWORD_ONLY}

    call, prepare = keywords(zeroclass.ZeroShotClassifier.__call__), keywords(zeroclass.ZeroShotClassifier.prepare)
    transformers_only = {"sequences", "multi_class"}  # folded into texts / multi_label before prepare
    assert call - transformers_only == prepare
    assert set(_CALL_NAMES) == call | {"texts", "candidate_labels"}, "the did-you-mean must offer every keyword"
