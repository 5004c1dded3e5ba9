"""Sentiment-like labels: recognise them, and the phrasings that stand for each polarity.

An embedding model compares a text with a label's *meaning*, and a bare
"正面" (positive) is a poor stand-in for how a happy review is written: the
multilingual offline model is near chance on Chinese review sentiment with
bare labels (0.54-0.56 on FewCLUE EPRSTMT and ChnSentiCorp). Averaging each
polarity label with a few everyday phrasings of it ("好评 / 满意 / 喜欢" versus
"差评 / 失望 / 不满意") brings it to 0.76 and 0.69 (benchmarks/RESULTS.md).
The word lists are generic polarity words in Chinese and English, not words
of any one data set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .hypotheses import CHINESE_MODEL_HINT

__all__ = ["polarity", "is_sentiment_like", "PHRASINGS", "SENTIMENT_MODEL_HINT"]

#: What users of the offline default are pointed to for Chinese sentiment: the Chinese NLI model.
SENTIMENT_MODEL_HINT = CHINESE_MODEL_HINT

_WORDS = {
    "positive": ("正面", "积极", "好评", "褒义", "满意", "喜欢", "positive", "favorable", "favourable"),
    "negative": ("负面", "消极", "差评", "贬义", "不满意", "不满", "失望", "讨厌", "negative", "unfavorable", "unfavourable"),
}
_POLARITY = {word: name for name, words in _WORDS.items() for word in words}
# Longest first, so "不满意" is read as negative before "满意" can match inside it.
_PATTERN = re.compile("|".join(re.escape(w) for w in sorted(_POLARITY, key=len, reverse=True)), re.IGNORECASE)

#: Everyday phrasings averaged into a polarity label's vector.
PHRASINGS = {
    "positive": ("正面", "好评", "满意", "喜欢", "很好", "推荐"),
    "negative": ("负面", "差评", "失望", "不满意", "很差", "讨厌"),
}


def polarity(label: str) -> str | None:
    """``"positive"`` or ``"negative"`` when ``label`` names one polarity (and not both), else ``None``."""
    found = {_POLARITY[m.group().lower()] for m in _PATTERN.finditer(label)}
    return found.pop() if len(found) == 1 else None


def is_sentiment_like(labels: Iterable[str]) -> bool:
    """True when the labels name both polarities: a sentiment task, whatever else they hold."""
    found = {polarity(label) for label in labels}
    return {"positive", "negative"} <= found
