"""Signals derived from a post's text, all offline: sentiment, language, text statistics, keywords.

- sentiment: VADER's compound score in [-1, 1] (a lexicon model tuned for social media text).
- language: ISO 639-1 code. Most Reddit text is English and ``langdetect`` costs ~9 ms a post,
  so English is recognised first by its function words (a few µs); langdetect (seeded, so
  deterministic) decides the rest; text too short to tell is ``und``.
- statistics: characters, words, whether the post asks a question or carries a link.
- keywords: the most frequent content words (title words count twice), for quick faceting.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from lakehouse.domain.patterns import REMOVED_MARKERS

UNDETERMINED = "und"
# Enough text to judge; VADER and langdetect cost grows with length, a post's tone and language do not.
SENTIMENT_CHARS = 1000
LANGDETECT_CHARS = 300
_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MIN_LETTERS_FOR_LANGUAGE = 20
_ENGLISH_FUNCTION_WORDS = frozenset(
    """
    the a an and or but if of to in on at for with from by is are was were be been am i you he she it we
    they my your our their this that these those not no do does did have has had can could would should
    will what how why when where which who there here so just than then as about what's that's it's
    you've you'll you're i'm i've i'll don't can't isn't
    """.split()
)
_STOPWORDS = _ENGLISH_FUNCTION_WORDS | frozenset(
    """
    me him her them us its im i'm ive i've dont don't doesn't didn't can't cannot isn't aren't wasn't
    get got getting any some all more most much many very really also like one two into out up down over
    under again still even only own same other such too now new use using used want need know think make
    made way thing things something anyone someone people time year years day days good going go been
    being let lets let's would've could've should've yes ok okay thanks thank please removed deleted
    http https www com amp x200b
    """.split()
)


@dataclass(frozen=True, slots=True)
class TextSignals:
    sentiment: float
    language: str
    title_chars: int
    body_chars: int
    word_count: int
    has_question: bool
    has_link: bool
    keywords: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "sentiment": self.sentiment,
            "language": self.language,
            "title_chars": self.title_chars,
            "body_chars": self.body_chars,
            "word_count": self.word_count,
            "has_question": self.has_question,
            "has_link": self.has_link,
            "keywords": list(self.keywords),
        }


@functools.cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(text: str) -> float:
    """VADER's compound score of the first ``SENTIMENT_CHARS`` characters (the title and the opening)."""
    text = text[:SENTIMENT_CHARS]
    return float(_vader().polarity_scores(text)["compound"]) if text.strip() else 0.0


def _script_language(text: str) -> str | None:
    """Japanese, Korean and Chinese are told apart by their scripts alone, at no cost."""
    kana = hangul = han = 0
    for ch in text:
        code = ord(ch)
        if 0x3040 <= code <= 0x30FF:
            kana += 1
        elif 0xAC00 <= code <= 0xD7AF:
            hangul += 1
        elif 0x4E00 <= code <= 0x9FFF:
            han += 1
    if kana:
        return "ja"
    if hangul:
        return "ko"
    return "zh" if han else None


def language(text: str) -> str:
    words = [w.lower() for w in _WORD.findall(_URL.sub(" ", text))]
    if not words:
        return UNDETERMINED
    if script := _script_language(text):
        return script
    if sum(len(w) for w in words) < _MIN_LETTERS_FOR_LANGUAGE:
        return UNDETERMINED
    english = sum(1 for w in words if w in _ENGLISH_FUNCTION_WORDS)
    if english >= 2 and english / len(words) >= 0.15:
        return "en"
    from langdetect import DetectorFactory, LangDetectException, detect

    DetectorFactory.seed = 0
    try:
        return str(detect(text[:LANGDETECT_CHARS]))
    except LangDetectException:
        return UNDETERMINED


def keywords(title: str, body: str, count: int = 5) -> tuple[str, ...]:
    frequency: Counter[str] = Counter()
    for weight, text in ((2, title), (1, body)):
        for word in _WORD.findall(_URL.sub(" ", text)):
            token = word.lower().strip("'’-")
            if len(token) >= 3 and token not in _STOPWORDS:
                frequency[token] += weight
    return tuple(word for word, _ in frequency.most_common(count))


def text_signals(title: str | None, body: str | None) -> TextSignals:
    """Every text-derived signal of a post; ``[removed]`` / ``[deleted]`` bodies count as empty."""
    title = title or ""
    body = "" if body is None or body.strip() in REMOVED_MARKERS else body
    text = f"{title}\n{body}".strip()
    return TextSignals(
        sentiment=round(sentiment(text), 4),
        language=language(text),
        title_chars=len(title),
        body_chars=len(body),
        word_count=len(_WORD.findall(text)),
        has_question="?" in text,
        has_link=_URL.search(text) is not None,
        keywords=keywords(title, body),
    )
