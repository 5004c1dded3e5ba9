"""Texts and labels in, NLI hypotheses out: the first step of the flow.

Validation lives here so every entry point (Python, CLI, server, batch jobs)
rejects bad input the same way, with a message that says which text or which
label is wrong.
"""

from __future__ import annotations

import re
import reprlib
import string
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

import numpy as np

from .errors import InputError, InputTypeError, UnsupportedLanguageError

__all__ = [
    "Labels",
    "MAX_TEMPLATE_CHARS",
    "MAX_LABEL_CHARS",
    "MAX_HYPOTHESIS_CHARS",
    "check_flag",
    "label_key",
    "preview",
    "normalize_texts",
    "parse_labels",
    "labels_per_text",
    "labels_argument",
    "check_unicode",
    "validate_template",
    "validate_templates",
    "ensemble_hypotheses",
    "hypotheses_per_text",
    "describer",
    "is_per_text",
    "looks_chinese",
    "unreadable_chinese",
    "check_language",
    "CHINESE_MODEL_HINT",
]

#: One label set (list, or one string split on commas), or one list per text.
Labels = Union[str, Sequence[str], Sequence[Sequence[str]]]

# Both the ASCII comma and the full-width Chinese comma separate labels.
_LABEL_SPLIT = re.compile(r"[,，]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")
_SURROGATE = re.compile("[\ud800-\udfff]")

#: Longest template, label and hypothesis (label or label description in its template), in characters.
#: A hypothesis is a short sentence and NLI models read a few hundred tokens of text plus hypothesis at
#: most, so these refuse only what cannot be meant, and bound what one call makes the process build.
MAX_TEMPLATE_CHARS = 1_000
MAX_LABEL_CHARS = 2_000
MAX_HYPOTHESIS_CHARS = 3_000

# Characters that print nothing: controls (NUL...), format characters (zero-width space and joiners,
# BOM, bidi marks), spaces and line/paragraph separators, plus the Hangul fillers and the blank braille
# pattern, letters that render as blanks.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")

_preview = reprlib.Repr()
_preview.maxstring = _preview.maxother = 80
_preview.maxlist = _preview.maxtuple = _preview.maxdict = _preview.maxset = 6
_preview.maxlevel = 3


def preview(value: object) -> str:
    """``repr(value)``, cut to about 80 characters, for error messages.

    An error message that echoes its input whole lets one request make
    megabytes of response (and log); ``repr`` also escapes lone surrogates
    and controls, so the message is always printable and encodable.
    """
    return _preview.repr(value)


def check_flag(value: object, name: str) -> bool:
    """``value`` if it is a real bool (Python's or numpy's), else an error.

    ``bool("no")`` is True: accepting any truthy value would silently turn
    ``multi_label="no"`` into multi-label scoring.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InputTypeError(f"{name} must be True or False, got {type(value).__name__} {preview(value)}")


#: Unicode's Default_Ignorable_Code_Point characters (DerivedCoreProperties.txt): soft hyphen,
#: combining grapheme joiner, zero-width and bidi controls, Hangul fillers, variation selectors,
#: tags. A renderer draws none of them, so ``abc`` and ``abc\ufe0f`` are one label.
_DEFAULT_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
#: Marks that only modify the character before them: alone, they print nothing of their own.
_MARK_CATEGORIES = frozenset({"Mn", "Me"})


def _is_blank(s: str) -> bool:
    """True when ``s`` prints nothing: empty, or only invisible characters, default-ignorable
    code points and combining marks with no character to sit on."""
    return all(
        ch in _BLANK_LETTERS or unicodedata.category(ch) in _INVISIBLE_CATEGORIES | _MARK_CATEGORIES
        for ch in _DEFAULT_IGNORABLE.sub("", s)
    )


def check_unicode(s: str, where: str) -> None:
    """Refuse a lone surrogate (from a ``"\\ud800"`` JSON escape, or bytes decoded with surrogateescape).

    It is not a character, cannot be encoded to UTF-8, and tokenizers fail on it.
    """
    found = _SURROGATE.search(s)
    if found:
        raise InputError(
            f"{where} has a lone surrogate U+{ord(found.group()):04X} at character {found.start()}, "
            "which is not valid Unicode"
        )


#: How two labels are compared, in words (duplicate errors say it).
LABEL_NORMALISATION = "NFKC, invisible characters removed, spaces folded"


def label_key(label: str) -> str:
    """What two labels are compared by (:data:`LABEL_NORMALISATION`): default-ignorable code
    points, controls and format characters removed, NFKC (full-width ``ａ`` is ``a``), and runs
    of any white space (a no-break space too) folded to one space, ends stripped.

    Labels that look the same mean the same, so they are duplicates, not two
    labels that split one label's score.
    """
    visible = "".join(ch for ch in _DEFAULT_IGNORABLE.sub("", label) if unicodedata.category(ch) not in ("Cc", "Cf"))
    return " ".join(unicodedata.normalize("NFKC", visible).split())


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
            raise InputTypeError(f"{where} is {type(text).__name__}, expected str: {preview(text)}")
        check_unicode(text, where)
        if _is_blank(text):
            raise InputError(f"{where} is empty" + (f" (only invisible characters: {preview(text)})" if text else ""))
    return items, single


def parse_labels(candidate_labels: str | Sequence[str], where: str = "") -> list[str]:
    """Normalise one label set: split a string on ``,``/``，`` and strip its parts, check.

    Labels given as a list are kept exactly as given, spaces and newlines
    included (``open(f).readlines()``), as transformers keeps them: they are
    the keys callers look results up by, and byte-level BPE models read the
    spaces. Empty and duplicate labels are errors rather than silently
    dropped: a typo in a label list otherwise shifts every score without a word.
    """
    suffix = f" ({where})" if where else ""
    if isinstance(candidate_labels, str):
        raw = [part.strip() for part in _LABEL_SPLIT.split(candidate_labels)]
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
        label = _check_label(label, i, suffix, raw)
        key = label_key(label)
        if key in seen:
            first = labels[seen[key]]
            same = "" if label == first else f" (the same as {preview(first)} once normalised: {LABEL_NORMALISATION})"
            raise InputError(f"duplicate label {preview(label)} at positions {seen[key]} and {i}{suffix}{same}")
        seen[key] = i
        labels.append(label)
    if not labels:
        raise InputError(f"no candidate labels given{suffix}: pass at least one label")
    return labels


def _check_label(label: object, i: int, suffix: str, raw: Sequence[object]) -> str:
    """The label, or the error that says what is wrong with it."""
    if not isinstance(label, str):
        raise InputTypeError(f"label {i} is {type(label).__name__}, expected str{suffix}: {preview(label)}")
    if len(label) > MAX_LABEL_CHARS:
        raise InputError(f"label {i} has {len(label)} characters, over MAX_LABEL_CHARS={MAX_LABEL_CHARS}{suffix}")
    check_unicode(label, f"label {i}{suffix}")
    if _is_blank(label):
        raise InputError(f"label {i} is empty{suffix}: {preview(list(raw))}")
    return label


def labels_argument(candidate_labels: Any) -> Any:
    """Labels given as an array (``df["label"].unique()``, a NumPy array, a pandas Series) as a list.

    transformers' pipeline takes them, so code written for it passes them;
    a 2-D array becomes one label list per text. Anything else is returned
    as it is, for :func:`labels_per_text` to check.
    """
    if candidate_labels is None or isinstance(candidate_labels, (str, bytes, Sequence, Mapping)):
        return candidate_labels
    tolist = getattr(candidate_labels, "tolist", None)
    return tolist() if callable(tolist) else candidate_labels


def labels_per_text(candidate_labels: Labels | None, n_texts: int) -> list[list[str]]:
    """One validated label list per text.

    ``candidate_labels`` is either one label set shared by all texts, or a
    list of label sets, one per text (which transformers' pipeline refuses).
    """
    if candidate_labels is None:
        raise InputError("no candidate labels given: pass candidate_labels")
    if not is_per_text(candidate_labels):
        shared = parse_labels(candidate_labels)  # type: ignore[arg-type]
        return [shared] * n_texts
    if len(candidate_labels) != n_texts:
        raise InputError(
            f"candidate_labels has {len(candidate_labels)} label lists but there are {n_texts} texts: "
            "give one list per text, or one list shared by all"
        )
    return [parse_labels(labels, where=f"labels of text {i}") for i, labels in enumerate(candidate_labels)]


def is_per_text(candidate_labels: object) -> bool:
    """Whether ``candidate_labels`` is one label list per text rather than one list for all."""
    return (
        not isinstance(candidate_labels, str)
        and isinstance(candidate_labels, Sequence)
        and len(candidate_labels) > 0
        and all(not isinstance(x, str) and isinstance(x, Sequence) for x in candidate_labels)
    )


def describer(descriptions: Mapping[str, str] | None, label_sets: list[list[str]]) -> Callable[[list[str]], list[str]]:
    """A function mapping labels to what goes into their hypotheses (a description, or the label).

    A description for a label that no text has is an error: it is a typo,
    and silently ignoring it would score the bare name instead.
    """
    if not descriptions:
        return lambda labels: labels
    known = {label for labels in label_sets for label in labels}
    for label, description in descriptions.items():
        if label not in known:
            raise InputError(f"label_descriptions has {label!r}, which is not a candidate label ({sorted(known)!r:.200})")
        if not isinstance(description, str) or not description.strip():
            raise InputError(f"label_descriptions[{label!r}] must be a non-empty string, got {description!r:.80}")
    return lambda labels: [descriptions.get(label, label).strip() for label in labels]


def _template_parts(template: object) -> tuple[str, str]:
    """The literal text before and after a template's one bare ``{}``, or the error that says why not.

    Only ``{}`` (or ``{0}``, which means the same) is allowed: a conversion
    (``{!r}``) or a format spec (``{:d}``, ``{:.>5000000}``, ``{:{}}``)
    either fails on a string label or makes a hypothesis of any size, and a
    field name (``{x}``, ``{0.__class__}``) reaches into objects. The label
    is then put between the two parts, never through ``str.format``.
    """
    if not isinstance(template, str):
        raise InputTypeError(f"hypothesis_template must be a string, got {type(template).__name__}")
    if len(template) > MAX_TEMPLATE_CHARS:
        raise InputError(
            f"hypothesis_template has {len(template)} characters, over MAX_TEMPLATE_CHARS={MAX_TEMPLATE_CHARS}: "
            f"{preview(template)}"
        )
    check_unicode(template, "hypothesis_template")
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InputError(f"hypothesis_template {preview(template)} is not a valid format string: {exc}") from None
    fields = [i for i, (_, name, _, _) in enumerate(parsed) if name is not None]
    if len(fields) != 1:
        raise InputError(
            f"hypothesis_template {preview(template)} must contain exactly one {{}} where the label goes "
            f"(found {len(fields)} placeholder{'s' if len(fields) != 1 else ''}), "
            'e.g. "This example is {}."'
        )
    _, name, spec, conversion = parsed[fields[0]]
    if name not in ("", "0") or spec or conversion:
        raise InputError(
            f"hypothesis_template {preview(template)} must contain exactly one {{}} where the label goes, "
            "a bare {} with no name, conversion (!r) or format spec (:...)"
        )
    before = "".join(literal for literal, *_ in parsed[: fields[0] + 1])
    after = "".join(literal for literal, *_ in parsed[fields[0] + 1 :])
    return before, after


def validate_template(template: str) -> str:
    """Check a hypothesis template has exactly one bare ``{}`` placeholder; give it back."""
    _template_parts(template)
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
        raise InputError(f"hypothesis_template lists the same template twice: {preview(list(checked))}")
    return checked


def ensemble_hypotheses(labels: Sequence[str], templates: Sequence[str]) -> list[str]:
    """Every label's hypothesis under every template, label-major.

    Entry ``i * len(templates) + t`` is label ``i`` under template ``t``, so a
    text's logits reshape to ``(labels, templates, classes)``. Each
    hypothesis's length is checked against ``MAX_HYPOTHESIS_CHARS`` before
    any is built.
    """
    parts = [_template_parts(template) for template in templates]
    for i, label in enumerate(labels):
        check_unicode(label, f"label {i}'s hypothesis")  # a label description has not been checked yet
        for t, (before, after) in enumerate(parts):
            size = len(before) + len(label) + len(after)
            if size > MAX_HYPOTHESIS_CHARS:
                raise InputError(
                    f"the hypothesis of label {i} ({preview(label)}) under template {t} would have {size} characters, "
                    f"over MAX_HYPOTHESIS_CHARS={MAX_HYPOTHESIS_CHARS}"
                )
    return [before + label + after for label in labels for before, after in parts]


def hypotheses_per_text(
    label_sets: list[list[str]], templates: list[tuple[str, ...]], describe: Callable[[list[str]], list[str]]
) -> list[list[str]]:
    """Each text's hypotheses (its labels under its templates), built once per distinct label set.

    Texts sharing one label list and templates share one hypothesis list:
    a call of 10,000 texts with the same labels builds them once.
    """
    built: dict[tuple[int, tuple[str, ...]], list[str]] = {}
    out = []
    for labels, own in zip(label_sets, templates):
        key = (id(labels), own)
        if key not in built:
            built[key] = ensemble_hypotheses(describe(labels), own)
        out.append(built[key])
    return out


def looks_chinese(text: str) -> bool:
    """True when most letters of ``text`` are CJK ideographs.

    Used to refuse Chinese text for a model (or shortlist model) known not to
    read it, whose scores would be noise; a few Chinese words inside English
    prose do not count.
    """
    letters = _LETTER.findall(text)
    if not letters:
        return False
    cjk = sum(1 for ch in letters if _CJK.match(ch))
    return cjk / len(letters) >= 0.3


def unreadable_chinese(texts: Sequence[str], languages: frozenset[str] | None) -> str | None:
    """Where the first Chinese text is ("the text", "text 3") when a model's ``languages`` lack Chinese, else None.

    ``None`` languages mean unknown or many: nothing is refused then.
    """
    if languages is None or "zh" in languages:
        return None
    for i, text in enumerate(texts):
        if looks_chinese(text):
            return "the text" if len(texts) == 1 else f"text {i}"
    return None


#: What Chinese-text users of a model that cannot read Chinese are pointed to.
CHINESE_MODEL_HINT = "damo/nlp_structbert_zero-shot-classification_chinese-base"


def check_language(texts: Sequence[str], languages: frozenset[str] | None, model_name: str) -> None:
    """Refuse Chinese text for a model known not to read it, instead of returning noise."""
    where = unreadable_chinese(texts, languages)
    if where is not None:
        raise UnsupportedLanguageError(
            f"{where} is Chinese, and {model_name} answers only {', '.join(sorted(languages or ()))} "
            "(a model that does not read Chinese, or one adapted on examples in those languages only: "
            "adapting keeps the languages of its examples); its scores would be meaningless. "
            f"Use a Chinese NLI model, e.g. model={CHINESE_MODEL_HINT!r} (ModelScope), "
            "or give no model: the offline default answers Chinese with USE-multilingual."
        )
