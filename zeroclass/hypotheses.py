"""Texts and labels in, NLI hypotheses out: the first step of the flow.

Validation lives here so every entry point (Python, CLI, server, batch jobs)
rejects bad input the same way, with a message that says which text or which
label is wrong.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import Union

from .errors import InputError, InputTypeError

__all__ = [
    "Labels",
    "normalize_texts",
    "parse_labels",
    "labels_per_text",
    "validate_template",
    "validate_templates",
    "make_hypotheses",
    "ensemble_hypotheses",
    "looks_chinese",
    "CHINESE_TEMPLATE",
]

#: One label set (list, or one string split on commas), or one list per text.
Labels = Union[str, Sequence[str], Sequence[Sequence[str]]]

#: The template the Chinese reference example uses ("This is a text about {}.").
CHINESE_TEMPLATE = "这是一条关于{}的文本。"

# Both the ASCII comma and the full-width Chinese comma separate labels.
_LABEL_SPLIT = re.compile(r"[,，]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")


def normalize_texts(texts: str | Sequence[str]) -> tuple[list[str], bool]:
    """Return ``(texts as a list, whether one bare string was given)``.

    A bare string gives a bare result back, a list gives a list, as in the
    reference pipelines.
    """
    if isinstance(texts, str):
        items, single = [texts], True
    elif isinstance(texts, Sequence) and not isinstance(texts, (bytes, bytearray)):
        items, single = list(texts), False
    else:
        raise InputTypeError(
            f"texts must be a string or a list of strings, got {type(texts).__name__}"
        )
    if not items:
        raise InputError("no texts given: pass a string or a non-empty list of strings")
    for i, text in enumerate(items):
        where = "the text" if single else f"text {i}"
        if not isinstance(text, str):
            raise InputTypeError(f"{where} is {type(text).__name__}, expected str: {text!r:.80}")
        if not text.strip():
            raise InputError(f"{where} is empty")
    return items, single


def parse_labels(candidate_labels: str | Sequence[str], where: str = "") -> list[str]:
    """Normalise one label set: split a string on ``,``/``，``, strip, check.

    Empty and duplicate labels are errors rather than silently dropped: a
    typo in a label list otherwise shifts every score without a word.
    """
    suffix = f" ({where})" if where else ""
    if isinstance(candidate_labels, str):
        raw = _LABEL_SPLIT.split(candidate_labels)
    elif isinstance(candidate_labels, Sequence) and not isinstance(candidate_labels, (bytes, bytearray)):
        raw = list(candidate_labels)
    else:
        raise InputTypeError(
            f"candidate_labels must be a list of strings or a comma-separated string{suffix}, "
            f"got {type(candidate_labels).__name__}"
        )
    labels: list[str] = []
    seen: dict[str, int] = {}
    for i, label in enumerate(raw):
        if not isinstance(label, str):
            raise InputTypeError(f"label {i} is {type(label).__name__}, expected str{suffix}: {label!r:.80}")
        label = label.strip()
        if not label:
            raise InputError(f"label {i} is empty{suffix}: {list(raw)!r:.200}")
        if label in seen:
            raise InputError(f"duplicate label {label!r} at positions {seen[label]} and {i}{suffix}")
        seen[label] = i
        labels.append(label)
    if not labels:
        raise InputError(f"no candidate labels given{suffix}: pass at least one label")
    return labels


def labels_per_text(candidate_labels: Labels | None, n_texts: int) -> list[list[str]]:
    """One validated label list per text.

    ``candidate_labels`` is either one label set shared by all texts, or a
    list of label sets, one per text (which transformers' pipeline refuses).
    """
    if candidate_labels is None:
        raise InputError("no candidate labels given: pass candidate_labels")
    nested = (
        not isinstance(candidate_labels, str)
        and isinstance(candidate_labels, Sequence)
        and len(candidate_labels) > 0
        and all(not isinstance(x, str) and isinstance(x, Sequence) for x in candidate_labels)
    )
    if not nested:
        shared = parse_labels(candidate_labels)  # type: ignore[arg-type]
        return [shared] * n_texts
    if len(candidate_labels) != n_texts:
        raise InputError(
            f"candidate_labels has {len(candidate_labels)} label lists but there are {n_texts} texts: "
            "give one list per text, or one list shared by all"
        )
    return [parse_labels(labels, where=f"labels of text {i}") for i, labels in enumerate(candidate_labels)]


def validate_template(template: str) -> str:
    """Check a hypothesis template has exactly one ``{}`` placeholder."""
    if not isinstance(template, str):
        raise InputTypeError(f"hypothesis_template must be a string, got {type(template).__name__}")
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise InputError(f"hypothesis_template {template!r} is not a valid format string: {exc}") from None
    if len(fields) != 1 or fields[0] not in ("", "0"):
        raise InputError(
            f"hypothesis_template {template!r} must contain exactly one {{}} where the label goes "
            f"(found {len(fields)} placeholder{'s' if len(fields) != 1 else ''}), "
            'e.g. "This example is {}."'
        )
    return template


def validate_templates(templates: str | Sequence[str]) -> tuple[str, ...]:
    """One template, or several for an ensemble, each checked; as a tuple.

    Several templates are a cheap, model-independent way to make scores less
    sensitive to any one phrasing: each label is scored once per template and
    the logits averaged.
    """
    if isinstance(templates, str):
        return (validate_template(templates),)
    if not isinstance(templates, Sequence) or isinstance(templates, (bytes, bytearray)):
        raise InputTypeError(
            f"hypothesis_template must be a string or a list of strings, got {type(templates).__name__}"
        )
    checked = tuple(validate_template(t) for t in templates)
    if not checked:
        raise InputError("hypothesis_template is an empty list: give at least one template")
    if len(set(checked)) != len(checked):
        raise InputError(f"hypothesis_template lists the same template twice: {list(checked)!r}")
    return checked


def ensemble_hypotheses(labels: Sequence[str], templates: Sequence[str]) -> list[str]:
    """Every label's hypothesis under every template, label-major.

    Entry ``i * len(templates) + t`` is label ``i`` under template ``t``, so a
    text's logits reshape to ``(labels, templates, classes)``.
    """
    return [template.format(label) for label in labels for template in templates]


def make_hypotheses(labels: Sequence[str], template: str) -> list[str]:
    """The hypothesis sentence of each label."""
    return [template.format(label) for label in labels]


def looks_chinese(text: str) -> bool:
    """True when most letters of ``text`` are CJK ideographs.

    Used to pick a Chinese default template and to warn when an English-only
    model is given Chinese text; a few Chinese words inside English prose do
    not count.
    """
    letters = _LETTER.findall(text)
    if not letters:
        return False
    cjk = sum(1 for ch in letters if _CJK.match(ch))
    return cjk / len(letters) >= 0.3
