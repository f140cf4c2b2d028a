"""The ingest function's settings and the one place its environment variables are named.

Both writers of the environment use :meth:`RuntimeSettings.to_env`: the CDK construct (the
Lambda's environment) and the local runner (the in-process invocations). :meth:`RuntimeSettings.from_env`
reads it back once per container and has no defaults: a variable that is missing (a typo, a
construct that forgot it) is an error that names it. Optional values are present and empty.

Plain Python on purpose: ``infra`` imports this module without pyarrow, praw or boto3.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from lakehouse.metrics import INGEST_SERVICE, NAMESPACE

# Arrow's default allocator (mimalloc) keeps a heap per thread and holds on to what it freed. An
# invocation builds a few small tables, so the C library's allocator costs no measurable time, and
# it keeps peak RSS ~50 MiB lower when the local run invokes several subreddits at once. Arrow
# reads the variable once, before the first allocation: it must be in the environment before
# pyarrow loads, which is why it travels with the function's settings.
LIBRARY_ENVIRONMENT = {"ARROW_DEFAULT_MEMORY_POOL": "system"}

# Share of the timeout spent on paced Reddit requests; the rest covers retries, writes and cold start.
_TIMEOUT_SHARE_FOR_REQUESTS = Fraction(4, 5)
# A full listing is 10 pages of 100; 12 also leaves one /api/info refresh and one comment fetch.
_MIN_REQUESTS_PER_INVOCATION = 12


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """How far back each run looks and how much it fetches beyond the listing (from ``cdk.json``)."""

    overlap_seconds: float
    refresh_max_age_seconds: float
    max_comments_per_post: int


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries of 429, 5xx and connection errors: full-jitter exponential backoff."""

    max_attempts: int = 12
    base_seconds: float = 0.5
    cap_seconds: float = 30.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff for the ``attempt``-th retry (1-based)."""
        return rng.uniform(0, min(self.cap_seconds, self.base_seconds * 2 ** (attempt - 1)))


@dataclass(frozen=True, slots=True)
class RequestShare:
    """One invocation's slice of the Reddit OAuth client's budget.

    All subreddits of a run are ingested at once by separate invocations of one client, so
    each gets ``total / concurrency`` requests per minute (rounded down to hundredths, so the
    total never exceeds the budget), and no more requests than it can make at that pace within
    most of its timeout (a run that hits the cap resumes from its cursor next time instead of
    timing out half-written).
    """

    requests_per_minute: float
    max_requests: int

    @classmethod
    def plan(cls, *, total_requests_per_minute: float, concurrency: int, timeout_seconds: int) -> RequestShare:
        if total_requests_per_minute <= 0 or concurrency < 1 or timeout_seconds < 1:
            raise ValueError("requests per minute, concurrency and timeout must all be positive")
        rpm = Fraction(total_requests_per_minute).limit_denominator(1000) / concurrency
        paced = math.floor(rpm * Fraction(timeout_seconds, 60) * _TIMEOUT_SHARE_FOR_REQUESTS)
        return cls(
            requests_per_minute=math.floor(rpm * 100) / 100, max_requests=max(_MIN_REQUESTS_PER_INVOCATION, paced)
        )


@dataclass(frozen=True, slots=True)
class RuntimeSettings:
    """Where ingestion reads and writes, and how hard it may press Reddit."""

    environment: str  # the metrics' environment dimension: dev and prod may share an account and region
    raw_uri: str
    quarantine_uri: str
    runs_uri: str  # the run manifests (lakehouse.pipeline): what each invocation hands the state machine
    cursor_table: str | None
    cursor_uri: str | None
    reddit_secret_arn: str | None
    reddit_base_url: str | None
    ingest: IngestSettings
    retry: RetryPolicy
    max_requests: int
    requests_per_minute: float | None  # None: unpaced (a replay server with no limit)
    log_level: str = "INFO"

    def to_env(self) -> dict[str, str]:
        """Every variable :meth:`from_env` and Powertools read, as strings (tokens pass through in CDK)."""
        return {
            "LAKEHOUSE_ENVIRONMENT": self.environment,
            "RAW_URI": self.raw_uri,
            "QUARANTINE_URI": self.quarantine_uri,
            "RUNS_URI": self.runs_uri,
            "CURSOR_TABLE": self.cursor_table or "",
            "CURSOR_URI": self.cursor_uri or "",
            "REDDIT_SECRET_ARN": self.reddit_secret_arn or "",
            "REDDIT_BASE_URL": self.reddit_base_url or "",
            "OVERLAP_SECONDS": _number(self.ingest.overlap_seconds),
            "REFRESH_MAX_AGE_HOURS": _number(self.ingest.refresh_max_age_seconds / 3600),
            "MAX_COMMENTS_PER_POST": str(self.ingest.max_comments_per_post),
            "RETRY_MAX_ATTEMPTS": str(self.retry.max_attempts),
            "RETRY_BASE_SECONDS": _number(self.retry.base_seconds),
            "RETRY_CAP_SECONDS": _number(self.retry.cap_seconds),
            "MAX_REQUESTS": str(self.max_requests),
            "REQUESTS_PER_MINUTE": _number(self.requests_per_minute or 0),
            "POWERTOOLS_SERVICE_NAME": INGEST_SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": self.log_level,
            **LIBRARY_ENVIRONMENT,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RuntimeSettings:
        env = os.environ if env is None else env
        reader = _Reader(env)
        rpm = reader.number("REQUESTS_PER_MINUTE")
        settings = cls(
            environment=reader.text("LAKEHOUSE_ENVIRONMENT"),
            raw_uri=reader.text("RAW_URI"),
            quarantine_uri=reader.text("QUARANTINE_URI"),
            runs_uri=reader.text("RUNS_URI"),
            cursor_table=reader.optional("CURSOR_TABLE"),
            cursor_uri=reader.optional("CURSOR_URI"),
            reddit_secret_arn=reader.optional("REDDIT_SECRET_ARN"),
            reddit_base_url=reader.optional("REDDIT_BASE_URL"),
            ingest=IngestSettings(
                overlap_seconds=reader.number("OVERLAP_SECONDS"),
                refresh_max_age_seconds=reader.number("REFRESH_MAX_AGE_HOURS") * 3600.0,
                max_comments_per_post=reader.integer("MAX_COMMENTS_PER_POST"),
            ),
            retry=RetryPolicy(
                max_attempts=reader.integer("RETRY_MAX_ATTEMPTS"),
                base_seconds=reader.number("RETRY_BASE_SECONDS"),
                cap_seconds=reader.number("RETRY_CAP_SECONDS"),
            ),
            max_requests=reader.integer("MAX_REQUESTS"),
            requests_per_minute=rpm if rpm > 0 else None,
            log_level=reader.text("POWERTOOLS_LOG_LEVEL"),
        )
        reader.raise_missing()
        if not settings.cursor_table and not settings.cursor_uri:
            raise ValueError("ingest settings need CURSOR_TABLE (DynamoDB) or CURSOR_URI (a lake directory)")
        return settings


def _number(value: float) -> str:
    return f"{value:g}"


class _Reader:
    """Reads variables and collects every missing one, so one error names them all."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.missing: list[str] = []

    def optional(self, name: str) -> str | None:
        if name not in self._env:
            self.missing.append(name)
            return None
        return self._env[name] or None

    def text(self, name: str) -> str:
        value = self.optional(name)
        if value is None and name not in self.missing:
            self.missing.append(f"{name} (empty)")
        return value or ""

    def number(self, name: str) -> float:
        raw = self.text(name)
        try:
            return float(raw) if raw else 0.0
        except ValueError as exc:
            raise ValueError(f"{name} must be a number, got {raw!r}") from exc

    def integer(self, name: str) -> int:
        value = self.number(name)
        if not value.is_integer():
            raise ValueError(f"{name} must be a whole number, got {value}")
        return int(value)

    def raise_missing(self) -> None:
        if self.missing:
            raise ValueError(f"ingest settings missing from the environment: {', '.join(self.missing)}")
