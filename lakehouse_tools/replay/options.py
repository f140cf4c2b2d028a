"""The replay server's behaviour, apart from the server, so the CLI and the local run read it cheaply."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ReplayOptions:
    """How the server behaves; every field but ``expired_tokens`` maps to a ``lakehouse reddit-replay`` flag."""

    rate_limit: int | None = None
    inject_429: float = 0.0
    inject_5xx: float = 0.0
    seed: int = 0
    now: float | None = None
    retry_after_seconds: int = 1
    # Answer the token endpoint 401 (bad credentials), and these subreddits' listings 403 (private).
    reject_credentials: bool = False
    private_subreddits: frozenset[str] = frozenset()
    # Answer the next N API requests 401, as Reddit does once an app token has expired (tests only).
    expired_tokens: int = 0

    def __post_init__(self) -> None:
        for name in ("inject_429", "inject_5xx"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be a rate between 0 and 1, got {rate}")
        if self.rate_limit is not None and self.rate_limit < 1:
            raise ValueError(f"rate_limit must be at least 1 request a minute, got {self.rate_limit}")
