"""Which language a text is in, so the offline default can hand it to a model that reads it.

Detection is ``py3langid`` (langid.py's maintained fork: a 4.6 MB naive-Bayes
model over byte n-grams, NumPy only), restricted to the languages the
multilingual model reads. A text is only taken away from English when the
detector is confident: short English texts ("Show me flights to Boston")
otherwise get the odd Italian or Dutch guess, and English answers must not
change. On the English evaluation sets no text is routed away (see
benchmarks/RESULTS.md); a text that is mostly CJK ideographs is Chinese
whatever the detector says.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Collection
from functools import lru_cache

from .hypotheses import looks_chinese

__all__ = ["detect_language", "CONFIDENCE"]

#: Normalised probability a non-English guess needs before a text leaves the English model.
CONFIDENCE = 0.9

_lock = threading.Lock()


@lru_cache(maxsize=4)
def _identifier(languages: tuple[str, ...]) -> object:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    return identifier


#: Texts whose language is remembered. Keys are 16-byte digests, never the texts: a
#: cache keyed by the text itself held 300 MB after 300 refused 1 MB requests.
CACHE_SIZE = 65536
_cache: OrderedDict[bytes, str] = OrderedDict()


def _detect(text: str, languages: tuple[str, ...], fallback: str) -> str:
    language, confidence = _identifier(languages).classify(text)  # type: ignore[attr-defined]
    if confidence >= CONFIDENCE:
        return language
    return "zh" if looks_chinese(text) else fallback


def detect_language(text: str, languages: Collection[str], fallback: str = "en") -> str:
    """The ISO 639-1 code of ``text``'s language among ``languages``, or ``fallback`` when unsure."""
    chosen = tuple(sorted(languages))
    key = hashlib.blake2b(repr((chosen, fallback)).encode() + text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    with _lock:  # the identifier's lazy load is not thread-safe; classify itself is fast
        found = _cache.get(key)
        if found is None:
            found = _cache[key] = _detect(text, chosen, fallback)
            if len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
        else:
            _cache.move_to_end(key)
        return found
