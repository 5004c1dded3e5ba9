"""zeroclass: zero-shot text classification by natural language inference.

>>> from zeroclass import pipeline
>>> classifier = pipeline("zero-shot-classification")        # offline default
>>> classifier("The match ended 2-1", candidate_labels="sports, finance, weather").top
'sports'
"""

from .classifier import ZeroShotClassifier
from .factory import pipeline
from .errors import InputError, ModelConfigError, ModelNotFoundError, UnsupportedLanguageError, ZeroclassError
from .result import ClassificationResult, ResultList

__version__ = "0.1.0"


def __getattr__(name: str):  # evaluate pulls in pyarrow and matplotlib: only when used
    if name == "evaluate":
        from .evaluation import evaluate

        return evaluate
    raise AttributeError(f"module 'zeroclass' has no attribute {name!r}")


__all__ = [
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
]
