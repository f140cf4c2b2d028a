"""The ingest function's settings, read from its environment (set by the CDK stack or the local run)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from lambdas.ingest.ingest import IngestSettings
from lambdas.ingest.reddit_gateway import RetryPolicy


def _float(env: Mapping[str, str], name: str, default: float | None) -> float | None:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _required_float(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    assert value is not None
    return value


@dataclass(frozen=True, slots=True)
class RuntimeSettings:
    """Where ingestion reads and writes, and how hard it may press Reddit."""

    raw_uri: str
    quarantine_uri: str
    cursor_table: str | None
    cursor_uri: str | None
    reddit_secret_arn: str | None
    reddit_base_url: str | None
    ingest: IngestSettings
    retry: RetryPolicy
    max_requests: int
    requests_per_minute: float | None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RuntimeSettings:
        env = os.environ if env is None else env
        missing = [name for name in ("RAW_URI", "QUARANTINE_URI") if not env.get(name)]
        if not env.get("CURSOR_TABLE") and not env.get("CURSOR_URI"):
            missing.append("CURSOR_TABLE or CURSOR_URI")
        if missing:
            raise ValueError(f"ingest settings missing: {', '.join(missing)}")
        rpm = _float(env, "REQUESTS_PER_MINUTE", 30.0)
        return cls(
            raw_uri=env["RAW_URI"],
            quarantine_uri=env["QUARANTINE_URI"],
            cursor_table=env.get("CURSOR_TABLE") or None,
            cursor_uri=env.get("CURSOR_URI") or None,
            reddit_secret_arn=env.get("REDDIT_SECRET_ARN") or None,
            reddit_base_url=env.get("REDDIT_BASE_URL") or None,
            ingest=IngestSettings(
                overlap_seconds=_required_float(env, "OVERLAP_SECONDS", 900.0),
                refresh_max_age_seconds=_required_float(env, "REFRESH_MAX_AGE_HOURS", 48.0) * 3600.0,
                max_comments_per_post=int(_required_float(env, "MAX_COMMENTS_PER_POST", 20)),
            ),
            retry=RetryPolicy(
                max_attempts=int(_required_float(env, "RETRY_MAX_ATTEMPTS", 12)),
                base_seconds=_required_float(env, "RETRY_BASE_SECONDS", 0.5),
            ),
            max_requests=int(_required_float(env, "MAX_REQUESTS", 60)),
            requests_per_minute=rpm if rpm and rpm > 0 else None,
        )
