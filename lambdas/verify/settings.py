"""The verify function's settings and the one place its environment variables are named.

The CDK construct writes the Lambda's environment with :meth:`VerifySettings.to_env`, and so
does the local run for its in-process invocation; :meth:`VerifySettings.from_env` reads it back
once per container and has no defaults: a variable that is missing or malformed is an error that
names it.

Plain Python on purpose: ``infra`` imports this module without boto3 or Powertools.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from lakehouse.metrics import NAMESPACE, VERIFY_SERVICE

__all__ = ["VerifySettings"]

_ENVIRONMENT = "LAKEHOUSE_ENVIRONMENT"
_RUNS_URI = "RUNS_URI"
_TOLERATED_FAILURE_PERCENTAGE = "TOLERATED_FAILURE_PERCENTAGE"
_INGEST_MEMORY_MB = "INGEST_MEMORY_MB"
_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
_LOG_LEVEL = "POWERTOOLS_LOG_LEVEL"
# Lambda's memory range: the ingest function's size prices its GB-seconds.
_MIN_MEMORY_MB, _MAX_MEMORY_MB = 128, 10_240


@dataclass(frozen=True, slots=True)
class VerifySettings:
    """Where the run manifests live, how many failed subreddits a run tolerates, and what prices its compute."""

    environment: str  # the metrics' environment dimension: dev and prod may share an account and region
    runs_uri: str  # the run manifests (lakehouse.pipeline): s3://<raw bucket>/runs/ or a local directory
    tolerated_failure_percentage: float  # the ingest Map's: a run with more failed subreddits does not verify
    ingest_memory_mb: int  # the ingest function's memory, for its GB-seconds in the cost estimate
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if not self.environment or not self.runs_uri:
            raise ValueError("verify settings need an environment and a runs URI")
        if not 0 <= self.tolerated_failure_percentage <= 100:
            raise ValueError(
                f"{_TOLERATED_FAILURE_PERCENTAGE} must be within 0..100, got {self.tolerated_failure_percentage}"
            )
        if not _MIN_MEMORY_MB <= self.ingest_memory_mb <= _MAX_MEMORY_MB:
            raise ValueError(
                f"{_INGEST_MEMORY_MB} must be within {_MIN_MEMORY_MB}..{_MAX_MEMORY_MB}, got {self.ingest_memory_mb}"
            )

    def to_env(self) -> dict[str, str]:
        """Every variable :meth:`from_env` and Powertools read, as strings (tokens pass through in CDK)."""
        return {
            _ENVIRONMENT: self.environment,
            _RUNS_URI: self.runs_uri,
            _TOLERATED_FAILURE_PERCENTAGE: repr(float(self.tolerated_failure_percentage)),  # exact: 100/3 stays 100/3
            _INGEST_MEMORY_MB: str(self.ingest_memory_mb),
            _SERVICE_NAME: VERIFY_SERVICE,
            _METRICS_NAMESPACE: NAMESPACE,
            _LOG_LEVEL: self.log_level,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> VerifySettings:
        env = os.environ if env is None else env
        missing = [
            name
            for name in (
                _ENVIRONMENT,
                _RUNS_URI,
                _TOLERATED_FAILURE_PERCENTAGE,
                _INGEST_MEMORY_MB,
                _SERVICE_NAME,
                _METRICS_NAMESPACE,
                _LOG_LEVEL,
            )
            if not env.get(name)
        ]
        if missing:
            raise ValueError(f"verify settings missing from the environment (or empty): {', '.join(missing)}")
        # Powertools' logger takes these from the environment; the metrics blob names them from lakehouse.metrics.
        for name, expected in ((_SERVICE_NAME, VERIFY_SERVICE), (_METRICS_NAMESPACE, NAMESPACE)):
            if env[name] != expected:
                raise ValueError(f"{name} must be {expected!r}, got {env[name]!r}")
        return cls(
            environment=env[_ENVIRONMENT],
            runs_uri=env[_RUNS_URI],
            tolerated_failure_percentage=_number(env, _TOLERATED_FAILURE_PERCENTAGE),
            ingest_memory_mb=_integer(env, _INGEST_MEMORY_MB),
            log_level=env[_LOG_LEVEL],
        )


def _number(env: Mapping[str, str], name: str) -> float:
    try:
        return float(env[name])
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {env[name]!r}") from exc


def _integer(env: Mapping[str, str], name: str) -> int:
    value = _number(env, name)
    if not value.is_integer():
        raise ValueError(f"{name} must be a whole number, got {env[name]!r}")
    return int(value)
