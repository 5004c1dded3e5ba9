"""Exceptions users can catch.

Each one subclasses the built-in it refines (``ValueError``, ``TypeError``,
``FileNotFoundError``), so code written against transformers' pipeline, which
raises the built-ins, keeps working; the server maps ``InputError`` to 4xx.
"""

from __future__ import annotations


class ZeroclassError(Exception):
    """Base class of every error zeroclass raises on purpose."""


class InputError(ZeroclassError, ValueError):
    """A text, label, template or option the caller passed is not usable.

    The message names what was wrong and where (which text, which label).
    """


class InputTypeError(InputError, TypeError):
    """An input has the wrong type (a number where a text belongs, say)."""


class UnsupportedLanguageError(InputError):
    """The model cannot read the input's language, so its scores would mean nothing."""


class ModelNotFoundError(ZeroclassError, FileNotFoundError):
    """A model id is neither a local folder, nor cached, nor downloadable now."""


class ModelConfigError(ZeroclassError, ValueError):
    """A model loaded but cannot do NLI zero-shot as configured (no entailment label, say)."""
