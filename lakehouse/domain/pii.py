"""The PII scrubber: one implementation for every stage that lets text leave the raw zone.

Text: e-mail addresses, phone numbers, ``u/`` mentions and links to personal profiles become
placeholders. People: an author becomes a keyed hash (HMAC-SHA256 with a secret key: Secrets
Manager on AWS, a development key offline), stable across runs so analysts can still count
distinct authors, but not reversible without the key. Subreddits of user profiles
(``u_<name>``) name a person too and get the same treatment.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from lakehouse.domain.patterns import EMAIL_REGEX, REMOVED_MARKERS

EMAIL_PLACEHOLDER = "[email]"
PHONE_PLACEHOLDER = "[phone]"
MENTION_PLACEHOLDER = "u/[user]"
LINK_PLACEHOLDER = "[personal-link]"

# The key the local run uses; never used on AWS, where the job reads its key from Secrets Manager.
DEVELOPMENT_KEY = b"reddit-lakehouse-local-development-key"

_EMAIL = re.compile(EMAIL_REGEX)
# Profile pages on social sites and Reddit user pages; product and article links are kept.
_PERSONAL_LINK = re.compile(
    r"(?:https?://)?(?:www\.|old\.|new\.|m\.)?"
    r"(?:reddit\.com/(?:u|user)/[\w-]+"
    r"|(?:facebook|instagram|tiktok|twitter|x|threads|linktr)\.(?:com|net|ee)/@?[\w.-]+"
    r"|linkedin\.com/in/[\w-]+|t\.me/[\w]+|wa\.me/\d+)"
    r"[^\s)\]]*",
    re.IGNORECASE,
)
_MENTION = re.compile(r"(?<![\w/])/?u/[A-Za-z0-9_-]{3,20}\b")
# A phone number: optional country code, then 9+ digits in groups, with separators or brackets.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{2,4}[\s.-])\d{3,4}[\s.-]?\d{3,4}(?![\w])"
    r"|(?<![\w+])\+\d{9,14}(?![\w])"
)
_USER_SUBREDDIT = re.compile(r"^u_(.+)$", re.IGNORECASE)
_DELETED = frozenset(REMOVED_MARKERS)


AUTHOR_PLACEHOLDER = "[author]"
# Shorter names are ordinary words too often ("ab", "me") to be replaced wherever they stand.
_MIN_AUTHOR_NAME = 3


def scrub_text(text: str | None, author: str | None = None) -> str | None:
    """``text`` with personal data replaced by placeholders (None stays None).

    With ``author`` (the name of whoever wrote the text), the author's own name is replaced
    wherever it stands as a word: people sign posts, link their own profiles and photo pages.
    """
    if not text:
        return text
    if author and len(author) >= _MIN_AUTHOR_NAME and author not in _DELETED:
        text = re.sub(rf"(?<![\w-]){re.escape(author)}(?![\w-])", AUTHOR_PLACEHOLDER, text, flags=re.IGNORECASE)
    text = _EMAIL.sub(EMAIL_PLACEHOLDER, text)
    text = _PERSONAL_LINK.sub(LINK_PLACEHOLDER, text)
    text = _MENTION.sub(MENTION_PLACEHOLDER, text)
    return _PHONE.sub(lambda m: PHONE_PLACEHOLDER if _digits(m.group(0)) >= 9 else m.group(0), text)


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


@dataclass(frozen=True)
class Pseudonymizer:
    """Keyed, stable pseudonyms for people."""

    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) < 16:
            raise ValueError("the PII key must be at least 16 bytes")

    def author(self, name: str | None) -> str | None:
        """The author's pseudonym; None for deleted or missing authors (they name nobody)."""
        if not name or name in _DELETED:
            return None
        digest = hmac.new(self.key, name.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()
        return digest[:32]

    def subreddit(self, name: str, author: str | None = None) -> str:
        """Subreddit names stay, except those that name a person: user profiles (``u_<name>``)
        and a subreddit named after the very author posting in it."""
        match = _USER_SUBREDDIT.match(name)
        if match is not None:
            return f"u_{self.author(match.group(1))}"
        if _names_author(name, author):
            return f"u_{self.author(author)}"
        return name.lower()

    def scrub_profile_subreddits(self, text: str | None, author: str | None = None) -> str | None:
        """Permalinks and URLs name their subreddit: replace the ones that name a person."""
        if not text:
            return text

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            personal = _USER_SUBREDDIT.match(name) is not None or _names_author(name, author)
            return f"/r/{self.subreddit(name, author)}" if personal else match.group(0)

        return re.sub(r"/r/([\w-]+)", replace, text)


def key_fingerprint(key: bytes) -> str:
    """A key's public name: the first 16 hex characters of its SHA-256 (64 bits; reveals nothing usable).

    Configuration pins it per environment and the job compares it before it pseudonymizes anything.
    An operator computes it as ``printf %s "$KEY" | sha256sum | cut -c1-16``.
    """
    return hashlib.sha256(key).hexdigest()[:16]


def _names_author(subreddit: str, author: str | None) -> bool:
    return bool(author) and subreddit.lower() == (author or "").lower()
