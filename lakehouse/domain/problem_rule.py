"""The problem-post rule: does a post describe a real problem someone would pay to have solved?

One implementation, versioned, used by ingestion (which posts deserve their comments) and
by processing (the ``is_problem`` flag and its ``problem_signals``). The seeds' bare keyword
list fires on "no problem!" and misses "is there a tool that..."; this rule weighs phrases:

- pain: first-person trouble ("I'm struggling with", "frustrated", "keeps crashing", "fed up")
- request: asking for a solution ("is there a tool/app/way", "looking for a tool", "any recommendations")
- help: a how-to question about one's own situation ("how do I", "how can I", "any way to")
- wish: a wish for something that does not exist ("I wish there was", "why is there no")

Negations and idioms that only look like problems ("no problem", "not a problem", "pain au
chocolat", "growing pains" in a title about art, ...) are removed before matching. A post is a
problem when it shows a pain or request signal, or a help/wish signal backed by a question or
first person. Bump ``RULE_VERSION`` whenever the behaviour changes: processed rows record it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RULE_VERSION = "2026.11.1"

_FLAGS = re.IGNORECASE | re.UNICODE

# Phrases that contain problem words but describe none; removed before matching.
_NOT_PROBLEMS = re.compile(
    r"\b(?:no|not\s+a|not\s+any|without\s+(?:a|any))\s+problems?\b"
    r"|\bno\s+worries\b|\bpain\s+au\s+chocolat\b|\bpainted?\b|\bpainting\b|\bpainter\b"
    r"|\bcan'?t\s+wait\b|\bcan'?t\s+believe\b|\bcan'?t\s+stop\s+laughing\b"
    r"|\bwish(?:es)?\s+(?:you|u)\s+(?:a|all)\b|\bbest\s+wishes\b|\bwishlist\b",
    _FLAGS,
)

_SIGNALS: dict[str, re.Pattern[str]] = {
    "pain": re.compile(
        r"\b(?:i\s*(?:'m|am)|we\s*(?:'re|are)|been|keep|still)\s+(?:really\s+|so\s+|constantly\s+)?"
        r"(?:struggl\w*|stuck|frustrated|fed\s+up|annoyed|confused|overwhelmed|losing\s+(?:my\s+mind|money|time))"
        r"|\b(?:frustrat(?:ed|ing)|annoying|infuriating|a\s+nightmare|a\s+pain\s+in\s+the|pain\s+point|painful)\b"
        r"|\b(?:keeps?|kept)\s+(?:crashing|failing|breaking|freezing|timing\s+out|getting\s+\w+)\b"
        r"|\b(?:doesn'?t|does\s+not|won'?t|isn'?t|can'?t|cannot|unable\s+to)\s+(?:seem\s+to\s+)?"
        r"(?:work|load|connect|get\s+it|figure|find|afford|sync|login|log\s+in|install|scale|keep\s+up)"
        r"|\b(?:having|have|had)\s+(?:a\s+|an\s+|some\s+|real\s+)?(?:problem|issue|trouble|hard\s+time)s?\b"
        r"|\b(?:problem|issue|bug|error)\s+(?:with|when|using|while|regarding)\b"
        r"|\bwast(?:e|ing)\s+(?:so\s+much\s+|hours|days|time|money)",
        _FLAGS,
    ),
    "request": re.compile(
        r"\bis\s+there\s+(?:a|an|any)\s+(?:\w+\s+){0,3}?(?:tool|app|service|software|library|plugin|"
        r"extension|platform|way|solution|alternative|api|fix|workaround)\b"
        r"|\b(?:looking\s+for|need|recommend(?:ation)?s?\s+for|suggest(?:ion)?s?\s+for)\s+(?:a|an|some)?\s*"
        r"(?:\w+\s+){0,2}?(?:tool|app|service|software|solution|alternative|platform|way\s+to)\b"
        r"|\bany\s+(?:recommendations|suggestions|alternatives|tools|advice)\b"
        r"|\bwhat\s+(?:tool|app|software|service)s?\s+(?:do|should|would|can)\b",
        _FLAGS,
    ),
    "help": re.compile(
        r"\bhow\s+(?:do|can|should|would)\s+(?:i|we)\b"
        r"|\b(?:any|a|best)\s+way\s+to\b"
        r"|\b(?:need|want|looking\s+for)\s+(?:some\s+)?(?:help|advice)\b|\bhelp\s+(?:me|with|needed)\b"
        r"|\bwhat\s+am\s+i\s+(?:doing\s+wrong|missing)\b",
        _FLAGS,
    ),
    "wish": re.compile(
        r"\bi\s+(?:really\s+)?wish\s+(?:there\s+(?:was|were|is)|(?:i|we)\s+(?:could|had|knew))"
        r"|\bwhy\s+(?:is|are)\s+there\s+no\b|\bwhy\s+(?:can'?t|doesn'?t|won'?t)\s+\w+\b"
        r"|\bif\s+only\s+(?:there|i|we)\b|\bsomeone\s+(?:should|needs\s+to)\s+(?:build|make)\b",
        _FLAGS,
    ),
}
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|my|me|we|our|us)\b", _FLAGS)
_QUESTION = re.compile(r"\?")


@dataclass(frozen=True, slots=True)
class ProblemMatch:
    is_problem: bool
    signals: tuple[str, ...]


def match_problem(title: str | None, body: str | None) -> ProblemMatch:
    """Classify a post by its title and body (either may be missing, ``[removed]`` or ``[deleted]``)."""
    text = " ".join(part for part in (title, _content(body)) if part)
    cleaned = _NOT_PROBLEMS.sub(" ", text)
    signals = tuple(name for name, pattern in _SIGNALS.items() if pattern.search(cleaned))
    strong = "pain" in signals or "request" in signals
    backed = bool(signals) and (_QUESTION.search(cleaned) is not None or _FIRST_PERSON.search(cleaned) is not None)
    return ProblemMatch(is_problem=strong or backed, signals=signals)


def is_problem(title: str | None, body: str | None) -> bool:
    return match_problem(title, body).is_problem


def _content(body: str | None) -> str | None:
    if body is None or body.strip() in ("[removed]", "[deleted]"):
        return None
    return body
