"""The scoring contract, once: what a backend is shown, what it must answer, and how an answer is checked.

Both backends (``bedrock``, ``heuristic``) take a :class:`PostContext` and return an
:class:`Assessment`; the answer they produce is checked by :func:`validate_answer` alone. The tool
schema Bedrock is forced to fill (:data:`ANSWER_SCHEMA`) and the validation derive from one
declaration (:data:`ANSWER_FIELDS`), and the five dimensions from
``lakehouse.tables.OPPORTUNITY_DIMENSIONS``.

Evidence must be quoted from what the backend was shown (title, body as truncated, comments as
truncated). The comparison is verbatim up to Unicode compatibility forms, quote and dash styles,
runs of whitespace and letter case: a model that writes ``don't`` with a curly apostrophe or
starts a quote with a capital letter has still quoted; one that paraphrases, shortens with an
ellipsis or fixes a typo has not.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from lakehouse.tables import OPPORTUNITY_DIMENSIONS
from lambdas.score.settings import Backend

__all__ = [
    "ANSWER_FIELDS",
    "ANSWER_SCHEMA",
    "BUDGET_DEFERRAL",
    "TOOL_DESCRIPTION",
    "TOOL_NAME",
    "Answer",
    "AnswerField",
    "Assessment",
    "BatchUnavailable",
    "Budget",
    "PostContext",
    "ScoringBackend",
    "quoted_in",
    "validate_answer",
]

TOOL_NAME = "record_opportunity_assessment"
BUDGET_DEFERRAL = "budget"
"""A deferral for want of budget (``budget...``): nothing was sent, and the post is left for the next run."""
TOOL_DESCRIPTION = "Record the assessment of one Reddit post as a product opportunity."


@dataclass(frozen=True, slots=True)
class PostContext:
    """One processed problem post as a backend sees it, with the signals the processing job computed.

    ``body`` and ``comments`` are already truncated to the policy's token limits: what is shown is
    what evidence is checked against.
    """

    post_id: str
    content_hash: str
    subreddit: str
    title: str
    body: str
    comments: tuple[str, ...] = ()
    created_utc: float = 0.0
    score: int = 0
    num_comments: int = 0
    upvote_ratio: float | None = None
    sentiment: float | None = None
    problem_signals: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    has_question: bool = False
    word_count: int = 0

    @property
    def shown_texts(self) -> tuple[str, ...]:
        return (self.title, self.body, *self.comments)


@dataclass(frozen=True, slots=True)
class AnswerField:
    """One property of the tool's input: its JSON type and limits, and what it means to the model."""

    name: str
    kind: str  # boolean | integer | string | string_array
    description: str
    minimum: int = 0  # integer: the value; string: characters; array: items
    maximum: int | None = None
    item_min: int = 0  # array items: characters
    item_max: int | None = None

    def schema(self) -> dict[str, Any]:
        if self.kind == "boolean":
            return {"type": "boolean", "description": self.description}
        if self.kind == "integer":
            return {
                "type": "integer",
                "minimum": self.minimum,
                "maximum": self.maximum,
                "description": self.description,
            }
        if self.kind == "string":
            return {"type": "string", "maxLength": self.maximum, "description": self.description}
        return {
            "type": "array",
            "items": {"type": "string", "minLength": self.item_min, "maxLength": self.item_max},
            "minItems": self.minimum,
            "maxItems": self.maximum,
            "description": self.description,
        }


_DIMENSION_HELP = {
    "market_demand": "How many people have this problem (rubric anchors 20/50/80).",
    "pain_intensity": "How much it hurts those who have it (rubric anchors 20/50/80).",
    "monetization_potential": "Whether they would pay to solve it (rubric anchors 20/50/80).",
    "market_gap": "How poorly existing products solve it (rubric anchors 20/50/80).",
    "technical_feasibility": "How realistic a small team's first version is (rubric anchors 20/50/80).",
}
MAX_EVIDENCE = 3
MAX_CORE_FUNCTIONS = 3

ANSWER_FIELDS: tuple[AnswerField, ...] = (
    AnswerField("is_opportunity", "boolean", "True only for a recurring problem a product could solve."),
    AnswerField("opportunity_reason", "string", "One sentence: why it is or is not an opportunity.", 1, 400),
    *(AnswerField(name, "integer", _DIMENSION_HELP[name], 0, 100) for name in OPPORTUNITY_DIMENSIONS),
    AnswerField("app_concept", "string", "One sentence naming the product; empty when not an opportunity.", 0, 300),
    AnswerField(
        "core_functions",
        "string_array",
        "The one to three things the product must do (as many as the need has); empty when not an opportunity.",
        0,
        MAX_CORE_FUNCTIONS,
        3,
        160,
    ),
    AnswerField("target_user", "string", "Who would use and pay for it; empty when not an opportunity.", 0, 160),
    AnswerField(
        "evidence",
        "string_array",
        "One to three quotes copied exactly from the title, body or comments shown (an opportunity needs one).",
        0,
        MAX_EVIDENCE,
        8,
        300,
    ),
)

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {f.name: f.schema() for f in ANSWER_FIELDS},
    "required": [f.name for f in ANSWER_FIELDS],
    "additionalProperties": False,
}


@dataclass(frozen=True, slots=True)
class Answer:
    """A validated answer: every field present, in range, and its evidence found in the post."""

    is_opportunity: bool
    opportunity_reason: str
    dimensions: Mapping[str, int]
    app_concept: str
    core_functions: tuple[str, ...]
    target_user: str
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Assessment:
    """What one post's assessment produced and cost.

    Exactly one of: ``answer`` (scored), ``failure`` (the answer stayed invalid after its repair:
    recorded, not retried for the same content, prompt and model), or ``deferred`` (a transient
    backend failure or the budget: not recorded as a score, the post waits for the next run).
    """

    answer: Answer | None = None
    failure: str | None = None
    deferred: str | None = None
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    mode: str = "on_demand"

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.answer, self.failure, self.deferred)) != 1:
            raise ValueError("an assessment is exactly one of: an answer, a failure, a deferral")

    @property
    def status(self) -> str:
        return "scored" if self.answer else "failed" if self.failure else "deferred"


class Budget:
    """A run's LLM spend ceiling, shared by concurrent assessments.

    An assessment reserves the most its next call may cost before making it, and settles the
    reservation with what the call really cost; a call whose reservation does not fit is not made.
    So the spend stays within the ceiling at any concurrency, up to the error of the estimates a
    reservation is made of (tokens estimated from characters, high for English; see ``prompt``).
    """

    def __init__(self, limit_usd: float) -> None:
        self.limit_usd = limit_usd
        self._spent = 0.0
        self._reserved = 0.0
        self._refused = False
        self._lock = threading.Lock()

    def reserve(self, usd: float) -> bool:
        with self._lock:
            if self._spent + self._reserved + usd > self.limit_usd:
                self._refused = True
                return False
            self._reserved += usd
            return True

    def settle(self, reserved_usd: float, spent_usd: float) -> None:
        with self._lock:
            self._reserved -= reserved_usd
            self._spent += spent_usd

    @property
    def spent_usd(self) -> float:
        return self._spent

    @property
    def exhausted(self) -> bool:
        """True once a reservation was refused: the run stopped short of what it could have scored."""
        return self._refused


class BatchUnavailable(Exception):
    """Batch inference cannot be used this run (off, no role, no quota by that name): posts go on demand."""


class ScoringBackend(Protocol):
    """Scores one post. ``assess`` must not raise for what one post's answer does; it raises for what
    stops every post (access denied, an unknown model): the run then fails loudly."""

    backend: Backend
    model_id: str

    def reservation_usd(self, post: PostContext) -> float:
        """The most one call for ``post`` may cost (what the budget reserves before the call)."""
        ...

    def assess(self, post: PostContext, budget: Budget) -> Assessment: ...


# ---------------------------------------------------------------------------- validation

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
                         "\u2013": "-", "\u2014": "-", "\u2212": "-"})  # fmt: skip
_SPACE = re.compile(r"\s+")
MIN_QUOTE_WORDS = 3
MIN_QUOTE_CHARS = 20


def _normal(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).translate(_QUOTES)).strip().casefold()


def quoted_in(quote: str, texts: Sequence[str]) -> bool:
    """Whether ``quote`` appears in one of ``texts``: verbatim up to case, whitespace, quote and dash style,
    starting and ending on word boundaries, and long enough to say something (at least
    :data:`MIN_QUOTE_WORDS` words or :data:`MIN_QUOTE_CHARS` characters once normalized): a stray letter
    or "is there" is in every post and proves nothing."""
    needle = _normal(quote).strip("\"' ")
    if len(needle.split()) < MIN_QUOTE_WORDS and len(needle) < MIN_QUOTE_CHARS:
        return False
    # A quote that starts (ends) inside a word must start (end) where that word does.
    start = r"(?<!\w)" if needle[0].isalnum() else ""
    end = r"(?!\w)" if needle[-1].isalnum() else ""
    pattern = re.compile(f"{start}{re.escape(needle)}{end}")
    return any(pattern.search(_normal(text)) for text in texts)


def validate_answer(raw: Any, post: PostContext) -> tuple[Answer | None, list[str]]:
    """The answer, or None and every problem found (what a repair request quotes back to the model)."""
    if not isinstance(raw, dict):
        return None, [f"the answer must be a JSON object, got {type(raw).__name__}"]
    errors = [f"unknown field {name!r}" for name in sorted(set(raw) - {f.name for f in ANSWER_FIELDS})]
    values: dict[str, Any] = {}
    for spec in ANSWER_FIELDS:
        if spec.name not in raw:
            errors.append(f"{spec.name}: missing")
            continue
        value, problem = _checked(spec, raw[spec.name])
        if problem:
            errors.append(f"{spec.name}: {problem}")
        else:
            values[spec.name] = value
    if errors:
        return None, errors
    if values["is_opportunity"]:
        if not values["app_concept"] or not values["target_user"]:
            errors.append("an opportunity needs an app_concept and a target_user")
        if not values["core_functions"]:
            errors.append("core_functions: an opportunity needs at least one")
        if not values["evidence"]:
            errors.append("evidence: an opportunity needs at least one quote")
    errors.extend(
        f"evidence: {quote!r} does not appear in the title, body or comments"
        for quote in values["evidence"]
        if not quoted_in(quote, post.shown_texts)
    )
    if errors:
        return None, errors
    return Answer(
        is_opportunity=values["is_opportunity"],
        opportunity_reason=values["opportunity_reason"],
        dimensions={name: values[name] for name in OPPORTUNITY_DIMENSIONS},
        app_concept=values["app_concept"],
        core_functions=tuple(values["core_functions"]),
        target_user=values["target_user"],
        evidence=tuple(values["evidence"]),
    ), []


def _checked(spec: AnswerField, value: Any) -> tuple[Any, str | None]:
    if spec.kind == "boolean":
        return (value, None) if isinstance(value, bool) else (None, f"must be true or false, got {value!r}")
    if spec.kind == "integer":
        # A whole number written as 70.0 is still 70; 70.5 or "70" is not an answer to the schema.
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            return None, f"must be a whole number, got {value!r}"
        if not spec.minimum <= value <= (spec.maximum or 0):
            return None, f"must be within {spec.minimum}..{spec.maximum}, got {value}"
        return int(value), None
    if spec.kind == "string":
        if not isinstance(value, str):
            return None, f"must be a string, got {type(value).__name__}"
        text = value.strip()
        if not spec.minimum <= len(text) <= (spec.maximum or len(text)):
            return None, f"must be {spec.minimum}-{spec.maximum} characters, got {len(text)}"
        return text, None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return None, "must be a list of strings"
    items = [item.strip() for item in value]
    if not spec.minimum <= len(items) <= (spec.maximum or len(items)):
        return None, f"must hold {spec.minimum} to {spec.maximum} items, got {len(items)}"
    for item in items:
        if not spec.item_min <= len(item) <= (spec.item_max or len(item)):
            return None, f"each item must be {spec.item_min}-{spec.item_max} characters, got {len(item)}: {item!r}"
    return items, None
