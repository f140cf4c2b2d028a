"""The heuristic scoring backend: offline, deterministic, free, and shallow on purpose.

It answers the same tool schema a model answers, from word lists and the signals the processing job
computed, so the whole pipeline runs without Bedrock (the local default) and a model's scores can be
compared against a transparent baseline. Its answer is built as a model's raw answer would be and
checked by :func:`lambdas.score.assessment.validate_answer` like any other.

The rules, per dimension (integers, pitched at the rubric's anchors 20/50/80, kept within 5..95:
words are never proof). Each word list counts its distinct terms, and each is capped, so no single
list decides a dimension.

- ``market_demand``: 20, plus engagement (``7 log10(1 + score) + 9 log10(1 + num_comments)``, at most
  30), plus or minus the upvote ratio around 0.6 (-10..+8), plus 10 a comment that echoes the problem
  ("same", "me too", "also", "+1"; at most 30), plus 5 a people word in the post ("we", "our team",
  "everyone", "clients", "customers"; at most 20).
- ``pain_intensity``: 20, plus the problem signals by kind (pain 12, help 5, request 5, wish 5), plus
  negative sentiment (VADER compound, up to 20), plus intensity words (severe: "desperate",
  "nightmare", "losing clients", "cost us" 10 each, at most 30; moderate: "hours", "every week",
  "manually", "can't" 5 each, at most 25; together at most 40), minus 4 a mild word ("would be nice",
  "just curious"; at most 8) and 3 for very positive sentiment.
- ``monetization_potential``: 25, plus 20 in a business subreddit (SaaS, smallbusiness, Entrepreneur,
  startups, sysadmin, devops, dataengineering...) or minus 10 in a hobby one, plus 5 a money word
  ("pay", "price", "invoice", "client", "revenue", "subscription", "budget", a $ amount; at most 30),
  plus 12 a willingness to pay ("I'd pay", "already pay"; at most 24), minus 5 a hobby or personal
  word ("hobby", "for fun", "open source", "my kids"; at most 15).
- ``market_gap``: 40, plus nothing-fits phrases ("no tool", "can't find", "nothing works" 12 each,
  also from the comments), partial-fit phrases ("too expensive", "workaround", "clunky" 8 each, also
  from the comments) and search phrases ("is there a", "looking for", "alternative to", "anyone know"
  5 each), together at most 45; plus 3 when the author asks a question and 5 for a wish; minus 12 a
  comment that names an existing product ("just use", "check out", "try Calendly"; at most 36).
- ``technical_feasibility``: 50, plus 6 a software word ("app", "tool", "api", "script", "automate",
  "spreadsheet", "dashboard", "integration", "plugin", "bot"; at most 30), minus 12 a hardware, legal,
  medical, regulatory or physical word ("device", "lawyer", "regulation", "hipaa", "patients",
  "marketplace"; at most 45).

``is_opportunity`` is true when the post has problem signals, pain is at least :data:`MIN_PAIN` and
demand at least :data:`MIN_DEMAND`, and the post is not removed (body ``[removed]``/``[deleted]``), a
joke (a joke marker such as "lol" in the title, two in the body, or "/s", "jk", "shitpost") or
personal life (a personal subreddit such as r/relationships, or two personal-life words such as "my
girlfriend" in a post with fewer than two money words). The reason names the rules that fired. The
concept, target user and core functions (empty when it is not an opportunity) are templates over the
matched themes (invoicing, booking, reporting, integrations...: one function a theme, at most three,
the most matched first, ties by name; a generic function over the top keywords when none matched),
the subreddit and the post's top keywords. The evidence is the one to three sentences of the title,
body or comments where the strongest rules fired (the title, or the first long enough text, when
none did), trimmed around the rule's words at word boundaries to the schema's 300 characters: always
a verbatim substring of what was shown.

Limits: it understands nothing. It counts words, so it rewards wording over substance (a calm post
about a ruinous problem scores lower than a loud post about a small one), misses sarcasm, negation
("this is not a nightmare") and paraphrase, reads English only, takes any capitalised word after
"try" or "use" in a comment for a product, and judges the gap by what the text says, not by what
exists. Treat its scores as a baseline and a test double, not as a judgment.

Bump :data:`HEURISTIC_VERSION` whenever a rule or a word list changes: it is part of the model id, and
so of every score's key.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lakehouse.domain.patterns import REMOVED_MARKERS
from lambdas.score.assessment import (
    MAX_CORE_FUNCTIONS,
    MAX_EVIDENCE,
    Answer,
    Assessment,
    Budget,
    PostContext,
    quoted_in,
    validate_answer,
)
from lambdas.score.settings import Backend

__all__ = ["HEURISTIC_VERSION", "HeuristicBackend", "raw_answer"]

HEURISTIC_VERSION = "2026.12.1"

MIN_PAIN = 40  # pain_intensity an opportunity needs (the rubric's "costs regular time or money" is 50)
MIN_DEMAND = 30  # market_demand an opportunity needs (more than one person's unusual situation)

_EVIDENCE_MIN = 8  # the schema's limits on one evidence quote (characters)
_EVIDENCE_MAX = 300
_REASON_MAX = 400
_CONCEPT_MAX = 300
_TARGET_MAX = 160
_FUNCTION_MAX = 160

# ---------------------------------------------------------------------------- word lists
# Terms are lower-case words or phrases matched whole on the folded text (punctuation read as space).
# A term with an apostrophe also matches without it ("can't" and "cant").

ECHO = ("same", "also", "ditto", "relatable", "+1", "exactly", "me too", "us too", "been there", "this is us")
PEOPLE = (
    "we", "our", "us", "our team", "everyone", "everybody", "clients", "customers", "colleagues", "coworkers",
    "users", "teams", "companies", "businesses", "owners", "agencies", "employees", "staff", "many of us",
    "all of us", "a lot of people", "every business", "other owners", "common problem",
)  # fmt: skip
SEVERE = (
    "desperate", "desperately", "nightmare", "impossible", "losing money", "losing clients", "losing customers",
    "lost clients", "lost a client", "lost customers", "cost us", "costs us", "costing us", "going under",
    "out of business", "can't sleep", "burned out", "burnt out", "burnout", "killing me", "killing us", "killing our",
    "wits end", "breaking point", "disaster", "urgent", "urgently", "asap", "thousands",
)  # fmt: skip
MODERATE = (
    "hours", "every day", "every week", "every month", "every single", "each week", "each month", "daily",
    "weekly", "lose", "loses", "losing", "lost", "can't", "cannot", "wasting", "wasted", "waste", "frustrating",
    "frustrated", "frustration", "annoying", "tedious", "manually", "by hand", "struggling", "struggle",
    "stuck", "fed up", "sick of", "tired of", "behind on", "deadline", "deadlines", "painful", "headache",
    "mess", "stressful", "stressed", "overwhelmed", "every time", "error prone", "mistakes",
)  # fmt: skip
MILD = (
    "would be nice", "nice to have", "just curious", "curious", "out of curiosity", "minor", "slightly",
    "not a big deal", "no big deal", "small thing", "wondering",
)  # fmt: skip
MONEY = (
    "pay", "paid", "paying", "pays", "price", "prices", "pricing", "invoice", "invoices", "invoicing", "client",
    "clients", "customer", "customers", "revenue", "subscription", "subscriptions", "budget", "mrr", "arr", "roi",
    "billing", "billable", "per month", "per year", "a month", "cost", "costs", "contract", "contracts", "margin",
    "margins", "profit", "sales", "quote", "quotes", "license", "licenses", "per seat", "payroll", "money",
    "dollars",
)  # fmt: skip
WILLING = (
    "i'd pay", "i would pay", "we'd pay", "we would pay", "would pay", "happily pay", "gladly pay",
    "take my money", "already pay", "already paying", "we pay for", "i pay for", "willing to pay",
    "worth paying", "pay good money",
)  # fmt: skip
HOBBY = (
    "hobby", "hobbyist", "for fun", "personal project", "my kids", "my son", "my daughter", "for free",
    "free alternative", "free tool", "free app", "open source", "without paying", "just for me", "gaming",
)  # fmt: skip
GAP_NONE = (
    "no tool", "no tools", "no app", "no software", "no way to", "there's no", "there is no", "can't find",
    "cannot find", "couldn't find", "could not find", "nothing works", "nothing out there", "nothing fits",
    "doesn't exist", "does not exist", "none of them", "none of the", "tried everything", "haven't found",
    "have not found", "no solution", "someone should build", "why is there no", "why isn't there",
)  # fmt: skip
GAP_PARTIAL = (
    "too expensive", "overpriced", "overkill", "too complex", "too complicated", "bloated", "clunky",
    "workaround", "workarounds", "hack together", "hacked together", "duct tape", "band aid", "missing",
    "lacks", "doesn't support", "does not support", "doesn't integrate", "only supports", "not built for",
    "enterprise pricing",
)  # fmt: skip
GAP_SEARCH = (
    "is there a", "is there an", "is there any", "are there any", "looking for", "alternative to",
    "alternatives to", "anyone know", "any recommendations", "what do you use", "what tool", "what software",
)  # fmt: skip
EXISTING = (
    "just use", "you can use", "i use", "we use", "you could try", "have you tried", "check out", "look into",
    "there's an app", "there's a tool", "works great", "works well", "does exactly this", "already exists",
    "built in", "out of the box",
)  # fmt: skip
SOFTWARE = (
    "app", "apps", "tool", "tools", "api", "apis", "script", "scripts", "automate", "automated", "automation",
    "automatically", "spreadsheet", "spreadsheets", "excel", "dashboard", "dashboards", "integration",
    "integrations", "integrate", "plugin", "plugins", "bot", "bots", "extension", "software", "saas", "website",
    "web app", "webhook", "webhooks", "zapier", "csv", "database", "crm", "template", "templates", "sync",
    "notifications", "email", "emails", "google sheets", "slack", "report", "reports",
)  # fmt: skip
HARD = (
    "hardware", "device", "devices", "sensor", "sensors", "manufacturing", "factory", "physical", "wearable",
    "legal", "lawyer", "lawyers", "attorney", "lawsuit", "regulation", "regulations", "regulatory",
    "compliance", "hipaa", "fda", "medical", "doctor", "doctors", "patient", "patients", "diagnosis",
    "clinical", "insurance", "marketplace", "two sided", "robot", "robots", "drone", "drones", "vehicle",
    "vehicles", "battery", "batteries", "3d printer", "clinical trial", "machine learning", "construction",
)  # fmt: skip
JOKE = ("lol", "lmao", "rofl", "jk", "just kidding", "shitpost", "shitposting", "meme", "memes", "joke", "haha")
PERSONAL = (
    "my girlfriend", "my boyfriend", "my wife", "my husband", "my ex", "my mom", "my mother", "my dad",
    "my father", "my parents", "my crush", "my roommate", "my marriage", "dating", "breakup", "broke up",
    "divorce", "wedding", "relationship", "in love",
)  # fmt: skip

BUSINESS_SUBREDDITS = frozenset(
    "saas smallbusiness entrepreneur startups sysadmin devops dataengineering freelance marketing "
    "digital_marketing ecommerce shopify accounting bookkeeping realestate msp sales consulting agency "
    "restaurateur projectmanagement analytics businessintelligence humanresources webdev excel "
    "sideproject indiehackers".split()
)
HOBBY_SUBREDDITS = frozenset(
    "gaming pcgaming boardgames woodworking gardening fishing knitting cooking photography diy lego books "
    "music movies anime aquariums hiking cycling running fitness crafts minecraft".split()
)
PERSONAL_SUBREDDITS = frozenset(
    "relationships relationship_advice dating_advice dating tifu amitheasshole offmychest jokes funny "
    "memes showerthoughts confession breakups".split()
)
TARGET_USERS: Mapping[str, str] = {
    "saas": "founders and small teams running SaaS products",
    "smallbusiness": "small-business owners",
    "entrepreneur": "entrepreneurs and solo founders",
    "startups": "startup founders and early teams",
    "sysadmin": "system administrators and IT teams",
    "devops": "DevOps and platform engineers",
    "dataengineering": "data engineers and analytics teams",
    "freelance": "freelancers",
    "marketing": "marketers and marketing agencies",
    "digital_marketing": "marketers and marketing agencies",
    "ecommerce": "online store owners",
    "shopify": "online store owners",
    "accounting": "accountants and bookkeepers",
    "bookkeeping": "accountants and bookkeepers",
    "realestate": "real-estate agents and brokers",
    "msp": "managed service providers",
    "sales": "sales teams",
    "webdev": "web developers and small agencies",
    "projectmanagement": "project managers and their teams",
}


@dataclass(frozen=True, slots=True)
class Theme:
    """What a product would do for one kind of need: its noun in the concept, its core function."""

    name: str
    noun: str
    function: str
    terms: tuple[str, ...]


THEMES: tuple[Theme, ...] = (
    Theme("booking", "booking", "Let customers book slots and send reminders before each appointment",
          ("booking", "bookings", "appointment", "appointments", "schedule", "scheduling", "calendar",
           "no show", "no shows", "reschedule", "rescheduling")),
    Theme("content", "content-planning", "Plan and publish posts across channels from one calendar",
          ("social media", "content calendar", "instagram", "tiktok", "newsletter", "seo", "blog posts")),
    Theme("documentation", "knowledge-base", "Keep procedures and onboarding docs in one searchable place",
          ("documentation", "docs", "knowledge base", "sop", "sops", "wiki", "onboarding")),
    Theme("hiring", "hiring", "Screen applicants and schedule their interviews",
          ("hiring", "recruiting", "candidates", "applicants", "interviews", "resumes")),
    Theme("integration", "integration", "Keep the tools in sync through their APIs instead of by hand",
          ("integration", "integrations", "integrate", "sync", "syncing", "api", "zapier", "webhook", "webhooks")),
    Theme("inventory", "inventory", "Track stock and orders across sales channels in one place",
          ("inventory", "stock levels", "out of stock", "orders", "fulfillment", "supplier", "suppliers", "sku",
           "skus")),
    Theme("invoicing", "invoicing", "Send invoices and chase overdue payments automatically",
          ("invoice", "invoices", "invoicing", "late payment", "late payments", "overdue", "payment reminders",
           "accounts receivable", "chasing payments", "unpaid")),
    Theme("leads", "lead-tracking", "Track leads and remind the team when a follow-up is due",
          ("leads", "lead", "crm", "follow up", "follow ups", "outreach", "cold email", "prospects", "pipeline")),
    Theme("monitoring", "monitoring", "Watch the systems and alert the right person when something breaks",
          ("monitoring", "monitor", "alerts", "alerting", "downtime", "outage", "outages", "uptime", "on call",
           "logs")),
    Theme("pipelines", "data-quality", "Check data loads and flag broken ones before anyone uses the data",
          ("etl", "data quality", "data pipeline", "data pipelines", "schema", "airflow", "dbt", "warehouse")),
    Theme("reporting", "reporting", "Build the recurring report from the connected data without manual work",
          ("report", "reports", "reporting", "dashboard", "dashboards", "metrics", "kpi", "kpis", "analytics")),
    Theme("retention", "retention", "Flag subscribers at risk of cancelling and recover failed payments",
          ("churn", "cancellations", "cancel", "retention", "renewals", "failed payments", "dunning")),
    Theme("spreadsheets", "data-entry", "Import the data automatically instead of copying it between sheets",
          ("spreadsheet", "spreadsheets", "excel", "google sheets", "csv", "copy paste", "data entry", "manually",
           "by hand")),
    Theme("support", "support-inbox", "Sort incoming customer requests and draft replies to the common ones",
          ("support tickets", "tickets", "helpdesk", "inbox", "customer emails", "refund requests", "live chat")),
    Theme("timetracking", "time-tracking", "Track billable time and turn it into client-ready timesheets",
          ("time tracking", "timesheet", "timesheets", "billable hours", "track time", "tracking time")),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Family:
    """One word list as a rule: what it adds to its dimension per distinct term, and to a sentence as evidence."""

    name: str
    label: str  # how the reason names it
    terms: tuple[str, ...]
    points: int = 0
    cap: int = 0
    evidence: int = 0  # a sentence's weight as evidence, per distinct term of this family


_FAMILIES: tuple[_Family, ...] = (
    _Family("echo", "echoing comments", ECHO, 10, 30, 2),
    _Family("people", "people words", PEOPLE, 5, 20, 1),
    _Family("severe", "severe pain words", SEVERE, 10, 30, 3),
    _Family("moderate", "pain words", MODERATE, 5, 25, 2),
    _Family("mild", "mild words", MILD, -4, -8, 2),
    _Family("money", "money words", MONEY, 5, 30, 1),
    _Family("willing", "willingness to pay", WILLING, 12, 24, 3),
    _Family("hobby", "hobby words", HOBBY, -5, -15, 2),
    _Family("gap_none", "nothing-fits phrases", GAP_NONE, 12, 36, 3),
    _Family("gap_partial", "partial-fit phrases", GAP_PARTIAL, 8, 24, 2),
    _Family("gap_search", "search phrases", GAP_SEARCH, 5, 15, 1),
    _Family("existing", "comments naming a product", EXISTING, -12, -36, 2),
    _Family("software", "software words", SOFTWARE, 6, 30, 0),
    _Family("hard", "hardware, legal or physical words", HARD, -12, -45, 1),
    _Family("joke", "joke markers", JOKE, 0, 0, 3),
    _Family("personal", "personal-life words", PERSONAL, 0, 0, 3),
    *(_Family(f"theme:{t.name}", t.noun, t.terms, 0, 0, 1) for t in THEMES),
)
_FAMILY = {family.name: family for family in _FAMILIES}
_THEME = {f"theme:{t.name}": t for t in THEMES}
_INTENSITY_CAP = 40
# Words are never proof: no dimension leaves 5..95, whatever the rules add up to.
_LOWEST, _HIGHEST = 5, 95
_GAP_PHRASES_CAP = 45
_SIGNAL_PAIN = {"pain": 12, "help": 5, "request": 5, "wish": 5}


_Phrase = tuple[str, str, frozenset[str]]  # the term, its variant padded with spaces, the variant's words


def _index(families: Iterable[_Family]) -> tuple[dict[str, frozenset[str]], dict[str, tuple[_Phrase, ...]]]:
    """Every term -> the families it belongs to; phrases, by their first word (each spelling)."""
    words: dict[str, set[str]] = {}
    phrases: dict[str, set[_Phrase]] = {}
    for family in families:
        for term in family.terms:
            for variant in {term, term.replace("'", "")}:
                if " " in variant:
                    phrase = (term, f" {variant} ", frozenset(variant.split()))
                    phrases.setdefault(variant.split(" ", 1)[0], set()).add(phrase)
                words.setdefault(variant, set()).add(family.name)
    return (
        {word: frozenset(names) for word, names in words.items()},
        {head: tuple(sorted(items)) for head, items in phrases.items()},
    )


# Term -> families (every term, phrases too); first word -> the phrases it starts.
_TERM_FAMILIES, _PHRASES = _index(_FAMILIES)
_SINGLE_WORDS = frozenset(term for term in _TERM_FAMILIES if " " not in term)
_PHRASE_HEADS = frozenset(_PHRASES)
_CANONICAL = {term.replace("'", ""): term for family in _FAMILIES for term in family.terms if "'" in term}

# Folding keeps length (match positions are positions in the text) and reads punctuation as space.
_FOLD = str.maketrans(
    {
        **dict.fromkeys(map(ord, '!"#%&()*,-./:;<=>?@[\\]^_`{|}~\t\n\r\f\v'), " "),
        **dict.fromkeys(map(ord, "\u201c\u201d\u201e\u2013\u2014\u2026\u00a0"), " "),
        **dict.fromkeys(map(ord, "\u2018\u2019\u201b\u2032"), "'"),
    }
)
_AMOUNT = re.compile(r"\$ ?\d[\d,]*(?:\.\d+)?[kK]?")
# A comment naming a product: "try Calendly", "just use Notion" (a capitalised name after the verb).
_PRODUCT = re.compile(
    r"\b(?:[Tt]ry|[Uu]se|[Uu]sing|[Cc]heck out|[Ll]ook into|[Rr]ecommend) (?:out |using )?([A-Z][\w.-]+)"
)
_SARCASM = re.compile(r"(?<![\w/])/s(?!\w)")
_LAUGHING = ("\U0001f602", "\U0001f923")  # face with tears of joy, rolling on the floor laughing
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_WORD_END = re.compile(r"\s")


# ---------------------------------------------------------------------------- matching


@dataclass(slots=True)
class _Matches:
    """The terms found in one shown text, by family: term -> its first position in the text (-1: unknown)."""

    by_family: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, family: str, term: str, position: int) -> None:
        found = self.by_family.setdefault(family, {})
        if term not in found or found[term] < 0 or 0 <= position < found[term]:
            found[term] = position

    def terms(self, family: str) -> dict[str, int]:
        return self.by_family.get(family, {})


def _fold(text: str) -> str:
    low = text.lower()
    if len(low) != len(text):  # a few characters lower-case to two ("İ"): keep those as they are
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return " " + low.translate(_FOLD) + " "


def _match(text: str, *, comment: bool = False) -> _Matches:
    """Every family's terms in ``text``: one split, set look-ups, and a substring search a candidate phrase."""
    matches = _Matches()
    if not text or text.strip() in REMOVED_MARKERS:
        return matches
    folded = _fold(text)
    tokens = set(folded.split())
    if "'" in folded:  # 'quoted' words count too
        tokens.update([word.strip("'") for word in tokens if "'" in word])
    for word in tokens & _SINGLE_WORDS:
        start = folded.find(f" {word} ")
        term = _CANONICAL.get(word, word)
        for family in _TERM_FAMILIES[word]:
            matches.add(family, term, start)
    for head in tokens & _PHRASE_HEADS:
        for term, padded, words in _PHRASES[head]:
            start = folded.find(padded) if words <= tokens else -1
            if start >= 0:
                for family in _TERM_FAMILIES[term]:
                    matches.add(family, term, start)
    if "$" in text:
        for found in _AMOUNT.finditer(text):
            matches.add("money", found.group().replace(" ", "").lower(), found.start())
    if comment:
        for found in _PRODUCT.finditer(text):
            if found.group(1) != "I":
                matches.add("existing", found.group().lower(), found.start())
    if "/s" in text:
        sarcasm = _SARCASM.search(text)
        if sarcasm:
            matches.add("joke", "/s", sarcasm.start())
    for emoji in _LAUGHING:
        if emoji in text:
            matches.add("joke", emoji, text.find(emoji))
    return matches


# ---------------------------------------------------------------------------- scoring


@dataclass(frozen=True, slots=True)
class _Reading:
    """What the rules read in a post: the matches of each shown text, and which texts are the post's own."""

    post: PostContext
    texts: tuple[_Matches, ...]  # title, body, comments (as shown)
    subreddit: str
    removed: bool
    own_terms: Mapping[str, list[str]]  # family -> its distinct terms in the title and body, sorted
    all_terms: Mapping[str, list[str]]  # the same over the comments too

    @classmethod
    def of(cls, post: PostContext) -> _Reading:
        texts = tuple(_match(text, comment=index >= 2) for index, text in enumerate(post.shown_texts))
        return cls(
            post=post,
            texts=texts,
            subreddit=post.subreddit.strip().removeprefix("r/").casefold(),
            removed=post.body.strip() in REMOVED_MARKERS,
            own_terms=_union(texts[:2]),
            all_terms=_union(texts),
        )

    @property
    def own(self) -> tuple[_Matches, ...]:
        return self.texts[:2]

    def terms(self, family: str, *, everywhere: bool = False) -> list[str]:
        """Distinct terms of ``family`` in the post's own text (and its comments, ``everywhere``), in a fixed order."""
        return (self.all_terms if everywhere else self.own_terms).get(family, [])

    def commenters(self, family: str) -> int:
        """How many comments hold a term of ``family``."""
        return sum(bool(matches.terms(family)) for matches in self.texts[2:])


def _union(texts: Iterable[_Matches]) -> dict[str, list[str]]:
    found: dict[str, set[str]] = {}
    for matches in texts:
        for family, terms in matches.by_family.items():
            found.setdefault(family, set()).update(terms)
    return {family: sorted(terms) for family, terms in found.items()}


@dataclass(slots=True)
class _Dimension:
    value: float
    fired: list[str] = field(default_factory=list)

    def add(self, points: float, what: str) -> None:
        if points:
            self.value += points
            self.fired.append(what)

    def family(self, family: _Family, terms: list[str]) -> None:
        if terms:
            self.add(_capped(family.points * len(terms), family.cap), f"{family.label} ({_listed(terms)})")

    @property
    def score(self) -> int:
        return max(_LOWEST, min(_HIGHEST, round(self.value)))


def _capped(points: float, cap: float) -> float:
    return min(points, cap) if cap >= 0 else max(points, cap)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _listed(terms: list[str], most: int = 3) -> str:
    return ", ".join(terms[:most]) + (", ..." if len(terms) > most else "")


def _market_demand(reading: _Reading) -> _Dimension:
    post = reading.post
    dimension = _Dimension(20)
    engagement = 7 * math.log10(1 + max(post.score, 0)) + 9 * math.log10(1 + max(post.num_comments, 0))
    dimension.add(
        min(30.0, engagement), f"engagement ({_count(post.score, 'point')}, {_count(post.num_comments, 'comment')})"
    )
    if post.upvote_ratio is not None:
        dimension.add(max(-10.0, min(8.0, (post.upvote_ratio - 0.6) * 20)), f"upvote ratio {post.upvote_ratio:.2f}")
    echoes = reading.commenters("echo")
    if echoes:
        dimension.add(_capped(10 * echoes, 30), f"{_count(echoes, 'echoing comment')}")
    dimension.family(_FAMILY["people"], reading.terms("people"))
    return dimension


def _pain_intensity(reading: _Reading) -> _Dimension:
    post = reading.post
    dimension = _Dimension(20)
    signals = sorted(set(post.problem_signals) & set(_SIGNAL_PAIN))
    if signals:
        dimension.add(sum(_SIGNAL_PAIN[name] for name in signals), f"problem signals ({', '.join(signals)})")
    sentiment = post.sentiment or 0.0
    if sentiment < -0.05:
        dimension.add(min(20.0, -sentiment * 20), f"negative sentiment {sentiment:.2f}")
    elif sentiment > 0.5:
        dimension.add(-3, f"positive sentiment {sentiment:.2f}")
    severe, moderate = reading.terms("severe"), reading.terms("moderate")
    intensity = _capped(10 * len(severe), 30) + _capped(5 * len(moderate), 25)
    if intensity:
        dimension.add(min(intensity, _INTENSITY_CAP), f"intensity words ({_listed(severe + moderate)})")
    dimension.family(_FAMILY["mild"], reading.terms("mild"))
    return dimension


def _monetization_potential(reading: _Reading) -> _Dimension:
    dimension = _Dimension(25)
    if reading.subreddit in BUSINESS_SUBREDDITS:
        dimension.add(20, f"business subreddit r/{reading.post.subreddit}")
    elif reading.subreddit in HOBBY_SUBREDDITS:
        dimension.add(-10, f"hobby subreddit r/{reading.post.subreddit}")
    for name in ("money", "willing", "hobby"):
        dimension.family(_FAMILY[name], reading.terms(name))
    return dimension


def _market_gap(reading: _Reading) -> _Dimension:
    dimension = _Dimension(40)
    phrases = {name: reading.terms(name, everywhere=True) for name in ("gap_none", "gap_partial")}
    phrases["gap_search"] = reading.terms("gap_search")
    points = sum(_capped(_FAMILY[name].points * len(terms), _FAMILY[name].cap) for name, terms in phrases.items())
    if points:
        named = [term for name in ("gap_none", "gap_partial", "gap_search") for term in phrases[name]]
        dimension.add(min(points, _GAP_PHRASES_CAP), f"gap phrases ({_listed(named)})")
    if reading.post.has_question:
        dimension.add(3, "the author asks")
    if "wish" in reading.post.problem_signals:
        dimension.add(5, "an unmet wish")
    named_products = reading.commenters("existing")
    if named_products:
        dimension.add(_capped(-12 * named_products, -36), f"{_count(named_products, 'comment')} naming a product")
    return dimension


def _technical_feasibility(reading: _Reading) -> _Dimension:
    dimension = _Dimension(50)
    dimension.family(_FAMILY["software"], reading.terms("software"))
    dimension.family(_FAMILY["hard"], reading.terms("hard"))
    return dimension


def _veto(reading: _Reading) -> str | None:
    """Why the post is obviously not an opportunity, whatever its scores (None: it may be one)."""
    if reading.removed:
        return "its text was removed"
    title, body = reading.own
    joke_title = sorted(title.terms("joke"))
    joke_body = sorted(body.terms("joke"))
    strong = {"/s", "just kidding", "jk", "shitpost", "shitposting"}
    if joke_title or len(joke_body) >= 2 or strong & set(joke_body):
        return f"it reads as a joke ({_listed(sorted(set(joke_title + joke_body)))})"
    if reading.subreddit in PERSONAL_SUBREDDITS:
        return f"r/{reading.post.subreddit} is about personal life"
    personal = reading.terms("personal")
    if len(personal) >= 2 and len(reading.terms("money")) < 2:
        return f"it is about personal life ({_listed(personal)})"
    return None


# ---------------------------------------------------------------------------- the answer


def raw_answer(post: PostContext) -> dict[str, Any]:
    """The heuristic's answer as a model would give it (to be checked by ``validate_answer``)."""
    reading = _Reading.of(post)
    dimensions = {
        "market_demand": _market_demand(reading),
        "pain_intensity": _pain_intensity(reading),
        "monetization_potential": _monetization_potential(reading),
        "market_gap": _market_gap(reading),
        "technical_feasibility": _technical_feasibility(reading),
    }
    demand, pain = dimensions["market_demand"], dimensions["pain_intensity"]
    veto = _veto(reading)
    evidence = _evidence(reading, veto is not None)
    if veto:
        is_opportunity, reason = False, f"Not an opportunity: {veto}."
    elif not evidence:
        is_opportunity, reason = False, "Not an opportunity: too little text to quote as evidence."
    elif not post.problem_signals:
        is_opportunity, reason = False, "Not an opportunity: the post shows no problem signals."
    elif pain.score < MIN_PAIN or demand.score < MIN_DEMAND:
        short = [
            f"{name} {dim.score} is below {least}"
            for name, dim, least in (("pain", pain, MIN_PAIN), ("demand", demand, MIN_DEMAND))
            if dim.score < least
        ]
        fired = pain.fired[:2] + demand.fired[:1]
        reason = f"Not an opportunity: {' and '.join(short)} (rules: {'; '.join(fired) or 'none'})."
        is_opportunity = False
    else:
        is_opportunity = True
        reason = (
            f"Opportunity: pain {pain.score} from {'; '.join(pain.fired[:3])}, "
            f"and demand {demand.score} from {'; '.join(demand.fired[:3])}."
        )
    themes = _themes(reading) if is_opportunity else []
    target = _target_user(reading) if is_opportunity else ""
    functions = [theme.function for theme in themes] or ([_generic_function(post)] if is_opportunity else [])
    return {
        "is_opportunity": is_opportunity,
        "opportunity_reason": _clip(reason, _REASON_MAX),
        **{name: dim.score for name, dim in dimensions.items()},
        "app_concept": _concept(post, themes, target, functions) if is_opportunity else "",
        "core_functions": [_clip(function, _FUNCTION_MAX) for function in functions],
        "target_user": target,
        "evidence": evidence,
    }


def _themes(reading: _Reading) -> list[Theme]:
    """The matched themes, most terms first (ties by name), at most the schema's number of core functions."""
    counted = [(len(reading.terms(name)), theme.name, theme) for name, theme in _THEME.items()]
    ranked = sorted((item for item in counted if item[0]), key=lambda item: (-item[0], item[1]))
    return [theme for _, _, theme in ranked[:MAX_CORE_FUNCTIONS]]


def _target_user(reading: _Reading) -> str:
    if reading.subreddit in TARGET_USERS:
        return TARGET_USERS[reading.subreddit]
    serves = {"clients", "customers", "client", "customer"} & set(reading.terms("money"))
    where = f" in r/{reading.post.subreddit.strip().removeprefix('r/')}" if reading.subreddit else ""
    who = "small teams that serve clients" if serves else "people who have this problem"
    return _clip(f"{who}{where}", _TARGET_MAX)


def _keywords(post: PostContext, most: int = 2) -> list[str]:
    usable = [k.strip() for k in post.keywords if k.strip() and len(k.strip()) <= 30 and "\n" not in k]
    return list(dict.fromkeys(usable))[:most]


def _generic_function(post: PostContext) -> str:
    keywords = _keywords(post)
    about = f" around {' and '.join(keywords)}" if keywords else ""
    return f"Automate the recurring task{about} that the post describes"


def _concept(post: PostContext, themes: list[Theme], target: str, functions: list[str]) -> str:
    nouns = _joined([theme.noun for theme in themes]) or "small automation"
    article = "An" if nouns[0] in "aeiou" else "A"
    does = functions[0][0].lower() + functions[0][1:]
    return _clip(f"{article} {nouns} tool for {target} that helps them {does}.", _CONCEPT_MAX)


def _joined(words: list[str]) -> str:
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _clip(text: str, most: int) -> str:
    """``text`` cut at a word boundary to at most ``most`` characters (a prefix of it, stripped)."""
    text = text.strip()
    if len(text) <= most:
        return text
    cut = text[:most]
    space = cut.rfind(" ")
    return (cut[:space] if space > most // 2 else cut).rstrip()


# ---------------------------------------------------------------------------- evidence


def _evidence(reading: _Reading, vetoed: bool) -> list[str]:
    """One to three verbatim sentences where the strongest rules fired; the title (or any text) when none did."""
    # (text, sentence start) -> [weight, end, focus: the first of its strongest hits, that hit's weight]
    weights: dict[tuple[int, int], list[int]] = {}
    for index, (text, matches) in enumerate(zip(reading.post.shown_texts, reading.texts, strict=True)):
        hits = [
            (position, weight)
            for family, terms in matches.by_family.items()
            if (weight := _evidence_weight(family, vetoed))
            for position in terms.values()
            if position >= 0
        ]
        if not hits:
            continue
        spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(text)]
        starts = [start for start, _ in spans]
        for position, weight in hits:
            start, end = spans[max(0, bisect.bisect_right(starts, position) - 1)]
            entry = weights.setdefault((index, start), [0, end, position, weight])
            entry[0] += weight
            if (weight, -position) > (entry[3], -entry[2]):  # the same whatever the order of the sets
                entry[2:] = [position, weight]
    ranked = sorted(weights.items(), key=lambda item: (-item[1][0], item[0]))
    quotes: list[str] = []
    for (index, start), (_, end, focus, _) in ranked:
        _add_quote(quotes, _window(reading.post.shown_texts[index], start, end, focus), reading.post.shown_texts)
        if len(quotes) == MAX_EVIDENCE:
            return quotes
    for text in reading.post.shown_texts if not quotes else ():  # no rule fired: the first quotable text
        for start, end in [(0, len(text)), *((m.start(), m.end()) for m in _SENTENCE.finditer(text))]:
            _add_quote(quotes, _window(text, start, end, start), reading.post.shown_texts)
            if quotes:
                return quotes
    return quotes


def _evidence_weight(family: str, vetoed: bool) -> int:
    """Joke and personal-life markers are evidence only for the veto they cause."""
    return _FAMILY[family].evidence if vetoed or family not in ("joke", "personal") else 0


def _add_quote(quotes: list[str], quote: str, shown: Sequence[str]) -> None:
    """Add ``quote`` (a substring of a shown text) unless it is too short to count as evidence
    (:func:`~lambdas.score.assessment.quoted_in`'s rule) or already there."""
    if (
        len(quote) >= _EVIDENCE_MIN
        and quoted_in(quote, shown)
        and quote.casefold() not in {q.casefold() for q in quotes}
    ):
        quotes.append(quote)


def _window(text: str, start: int, end: int, focus: int) -> str:
    """``text[start:end]`` stripped, or its at most 300 characters around ``focus`` cut at word boundaries."""
    if len(text[start:end].strip()) <= _EVIDENCE_MAX:
        return text[start:end].strip()
    low = max(start, min(focus - _EVIDENCE_MAX // 3, end - _EVIDENCE_MAX))
    if low > start and not text[low - 1].isspace():
        space = _WORD_END.search(text, low, min(end, low + _EVIDENCE_MAX // 4))
        low = space.end() if space else low
    high = min(end, low + _EVIDENCE_MAX)
    if high < end and not text[high].isspace():
        cut = max(text.rfind(" ", low, high), text.rfind("\t", low, high))
        high = cut if cut > low + _EVIDENCE_MAX // 2 else high
    return text[low:high].strip()


# ---------------------------------------------------------------------------- the backend


class HeuristicBackend:
    """Scores a post by the rules above: no call out, no cost, the same answer for the same post.

    It never reserves nor spends from the run's budget (one "call", no tokens, no dollars), so it scores
    every post even when the budget is zero.
    """

    backend = Backend.HEURISTIC
    model_id = f"heuristic-{HEURISTIC_VERSION}"

    def reservation_usd(self, post: PostContext) -> float:
        return 0.0

    def assess(self, post: PostContext, budget: Budget) -> Assessment:
        """The heuristic's validated answer; a failure (a bug in the rules, never hidden) when it does not validate."""
        answer, errors = self.answer(post)
        if answer is None:
            return Assessment(failure="; ".join(errors), model_calls=1)
        return Assessment(answer=answer, model_calls=1, input_tokens=0, output_tokens=0, cost_usd=0.0)

    def answer(self, post: PostContext) -> tuple[Answer | None, list[str]]:
        return validate_answer(raw_answer(post), post)
