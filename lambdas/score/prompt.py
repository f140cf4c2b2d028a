"""Versioned prompts: files beside the scoring code (``prompts/<version>/system.md`` and ``user.md``).

The version is the directory's name and part of every score's and ledger row's key: changing what a
released version says would make old and new scores look alike, so a change is a new directory, and
:data:`CURRENT_PROMPT_VERSION` names the one runs use. Whether posts scored under an earlier version are
scored again is the environment's choice (``rescore_on_new_prompt``).

Token counts here are estimates for truncation and budget reservations (about four characters a
token for English; :data:`CHARS_PER_TOKEN` errs low so estimates err high). What a call really cost
comes from the model's reported usage.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from string import Template

from lambdas.score.assessment import PostContext

__all__ = ["CHARS_PER_TOKEN", "CURRENT_PROMPT_VERSION", "PROMPTS_DIR", "Prompt", "estimate_tokens", "truncate"]

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
CURRENT_PROMPT_VERSION = "opportunity-v1"
CHARS_PER_TOKEN = 3.5
TRUNCATED = " [truncated]"
NO_COMMENTS = "(no comments)"
EMPTY_BODY = "(no body)"


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def truncate(text: str, max_tokens: int) -> str:
    """``text`` cut to about ``max_tokens`` at a word boundary, marked; unchanged when it fits."""
    limit = int(max_tokens * CHARS_PER_TOKEN)
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + TRUNCATED


@dataclass(frozen=True, slots=True)
class Prompt:
    version: str
    system: str
    user_template: Template

    @classmethod
    @functools.cache
    def load(cls, version: str = CURRENT_PROMPT_VERSION) -> Prompt:
        directory = PROMPTS_DIR / version
        if not directory.is_dir():
            known = sorted(p.name for p in PROMPTS_DIR.iterdir() if p.is_dir())
            raise ValueError(f"no prompt version {version!r}; known: {', '.join(known)}")
        return cls(
            version=version,
            system=(directory / "system.md").read_text(encoding="utf-8").strip(),
            user_template=Template((directory / "user.md").read_text(encoding="utf-8").strip()),
        )

    def user_message(self, post: PostContext) -> str:
        """The post as the model sees it (its body and comments were truncated when it was read)."""
        comments = "\n".join(f"- {comment}" for comment in post.comments) or NO_COMMENTS
        return self.user_template.substitute(
            subreddit=post.subreddit, title=post.title, body=post.body or EMPTY_BODY, comments=comments
        )

    def estimated_input_tokens(self, post: PostContext, tool_schema_chars: int) -> int:
        """System prompt, tool definition and the user message, estimated (the budget's reservation)."""
        return (
            estimate_tokens(self.system)
            + estimate_tokens(self.user_message(post))
            + math.ceil(tool_schema_chars / CHARS_PER_TOKEN)
        )
