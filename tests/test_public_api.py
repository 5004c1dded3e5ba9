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
