"""The scoring function's policy and settings, and the one place its environment variables are named.

``cdk.json``'s ``llm`` section is parsed into a :class:`ScoringPolicy` (``infra.config``); the CDK
construct writes it into the Lambda's environment with :meth:`ScoreSettings.to_env`, and so does the
local run for its in-process invocation. :meth:`ScoreSettings.from_env` reads it back once per
container, with no defaults: a missing or malformed variable is an error that names it.

Plain Python on purpose: ``infra`` imports this module without boto3, pyarrow or Powertools.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from lakehouse.metrics import NAMESPACE, SCORE_SERVICE
from lakehouse.tables import OPPORTUNITY_DIMENSIONS

__all__ = ["Backend", "BatchPolicy", "ScoreSettings", "ScoringPolicy", "Tiers", "TokenPrice"]

_ENVIRONMENT = "LAKEHOUSE_ENVIRONMENT"
_PROCESSED_URI = "PROCESSED_URI"
_ANALYTICS_URI = "ANALYTICS_URI"
_RUNS_URI = "RUNS_URI"
_BACKEND = "SCORING_BACKEND"
_POLICY = "SCORING_POLICY"
_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
_LOG_LEVEL = "POWERTOOLS_LOG_LEVEL"
_WEIGHT_SUM_TOLERANCE = 1e-6


class Backend(StrEnum):
    """Who scores: Amazon Bedrock (deployed), or the deterministic heuristic (offline, the local default)."""

    BEDROCK = "bedrock"
    HEURISTIC = "heuristic"


@dataclass(frozen=True, slots=True)
class TokenPrice:
    """On-demand list price of the model, USD per million tokens (kept in config: prices differ per region)."""

    input_usd_per_million: float
    output_usd_per_million: float

    def __post_init__(self) -> None:
        if min(self.input_usd_per_million, self.output_usd_per_million) < 0:
            raise ValueError("token prices cannot be negative")

    def cost(self, input_tokens: int, output_tokens: int, *, factor: float = 1.0) -> float:
        """What the tokens cost; ``factor`` 0.5 for batch inference (half the on-demand price)."""
        dollars = input_tokens * self.input_usd_per_million + output_tokens * self.output_usd_per_million
        return dollars * factor / 1_000_000


@dataclass(frozen=True, slots=True)
class Tiers:
    """Opportunity score thresholds: at least ``high`` is tier high, at least ``medium`` medium, else low."""

    high: float = 70.0
    medium: float = 50.0

    def __post_init__(self) -> None:
        if not 0 <= self.medium <= self.high <= 100:
            raise ValueError(f"tiers must satisfy 0 <= medium <= high <= 100, got {self.medium}, {self.high}")

    def of(self, score: float, *, is_opportunity: bool) -> str:
        if not is_opportunity:
            return "not_an_opportunity"
        return "high" if score >= self.high else "medium" if score >= self.medium else "low"


@dataclass(frozen=True, slots=True)
class BatchPolicy:
    """Bedrock batch inference for backlogs (half the on-demand price; results arrive in a later run).

    ``min_records_quota_name``: the Service Quotas name of the model's "minimum number of records per
    batch inference job" (default 100; read at run time, never assumed). ``role_arn``: the service role
    Bedrock assumes to read the records and write the results (the stack creates it).
    """

    enabled: bool = False
    min_records_quota_name: str | None = None
    role_arn: str | None = None
    price_factor: float = 0.5
    max_records_per_job: int = 50_000

    def __post_init__(self) -> None:
        if self.enabled and not self.min_records_quota_name:
            raise ValueError("batch inference needs the model's min_records_quota_name")
        if not 0 < self.price_factor <= 1:
            raise ValueError(f"batch price_factor must be within (0, 1], got {self.price_factor}")


_NESTED = ("price", "tiers", "batch")


@dataclass(frozen=True, slots=True)
class ScoringPolicy:
    """What a run may score and spend, and how an answer becomes a score (one per environment)."""

    model_id: str  # a Bedrock model id or inference profile id (us.anthropic...)
    price: TokenPrice
    budget_usd_per_run: float
    weights: Mapping[str, float]  # OPPORTUNITY_DIMENSIONS -> weight; the weights sum to 1
    tiers: Tiers = field(default_factory=Tiers)
    max_concurrency: int = 4
    max_output_tokens: int = 900
    max_body_tokens: int = 1_200
    top_comments: int = 5
    max_comment_tokens: int = 120
    temperature: float = 0.0
    # Off: a post scored under an earlier prompt version, with unchanged content and model, is not paid again.
    rescore_on_new_prompt: bool = False
    # Scores and ledger rows are written this often (posts), so a crash loses at most this many answers.
    checkpoint_every: int = 50
    batch: BatchPolicy = field(default_factory=BatchPolicy)

    def __post_init__(self) -> None:
        if not self.model_id:
            raise ValueError("the scoring policy needs a model id")
        if self.budget_usd_per_run < 0:
            raise ValueError(f"budget_usd_per_run cannot be negative, got {self.budget_usd_per_run}")
        if set(self.weights) != set(OPPORTUNITY_DIMENSIONS):
            raise ValueError(
                f"weights must name exactly {', '.join(OPPORTUNITY_DIMENSIONS)}; got {', '.join(sorted(self.weights))}"
            )
        if any(weight < 0 for weight in self.weights.values()):
            raise ValueError("weights cannot be negative")
        if not math.isclose(sum(self.weights.values()), 1.0, abs_tol=_WEIGHT_SUM_TOLERANCE):
            raise ValueError(f"weights must sum to 1, got {sum(self.weights.values()):.4g}")
        object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))
        for name in ("max_concurrency", "max_output_tokens", "max_body_tokens", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.top_comments < 0 or self.max_comment_tokens < 1:
            raise ValueError("top_comments must be >= 0 and max_comment_tokens >= 1")
        if not 0 <= self.temperature <= 1:
            raise ValueError(f"temperature must be within 0..1, got {self.temperature}")

    def opportunity_score(self, dimensions: Mapping[str, int]) -> float:
        """The weighted mean of the five dimensions (0-100), rounded to one decimal."""
        return round(sum(self.weights[name] * dimensions[name] for name in OPPORTUNITY_DIMENSIONS), 1)

    def __hash__(self) -> int:  # the weights are a read-only mapping, which does not hash
        return hash(self.to_json())

    def to_json(self) -> str:
        document = {f.name: getattr(self, f.name) for f in fields(self)}
        document |= {"weights": dict(self.weights), **{name: asdict(document[name]) for name in _NESTED}}
        return json.dumps(document, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ScoringPolicy:
        document: dict[str, Any] = json.loads(text)
        return cls(
            **{
                **document,
                "price": TokenPrice(**document["price"]),
                "tiers": Tiers(**document["tiers"]),
                "batch": BatchPolicy(**document["batch"]),
            }
        )


@dataclass(frozen=True, slots=True)
class ScoreSettings:
    """Where the function reads posts and writes scores, who scores, and the environment's policy."""

    environment: str
    processed_uri: str  # s3://<processed bucket>/ or <lake>/processed
    analytics_uri: str  # s3://<analytics bucket>/ or <lake>/analytics
    runs_uri: str  # the run manifests (lakehouse.pipeline)
    backend: Backend
    policy: ScoringPolicy
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if not (self.environment and self.processed_uri and self.analytics_uri and self.runs_uri):
            raise ValueError("score settings need an environment, processed, analytics and runs URIs")

    def to_env(self) -> dict[str, str]:
        """Every variable :meth:`from_env` and Powertools read, as strings (tokens pass through in CDK)."""
        return {
            _ENVIRONMENT: self.environment,
            _PROCESSED_URI: self.processed_uri,
            _ANALYTICS_URI: self.analytics_uri,
            _RUNS_URI: self.runs_uri,
            _BACKEND: self.backend.value,
            _POLICY: self.policy.to_json(),
            _SERVICE_NAME: SCORE_SERVICE,
            _METRICS_NAMESPACE: NAMESPACE,
            _LOG_LEVEL: self.log_level,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ScoreSettings:
        env = os.environ if env is None else env
        names = (
            _ENVIRONMENT,
            _PROCESSED_URI,
            _ANALYTICS_URI,
            _RUNS_URI,
            _BACKEND,
            _POLICY,
            _SERVICE_NAME,
            _METRICS_NAMESPACE,
            _LOG_LEVEL,
        )
        missing = [name for name in names if not env.get(name)]
        if missing:
            raise ValueError(f"score settings missing from the environment (or empty): {', '.join(missing)}")
        for name, expected in ((_SERVICE_NAME, SCORE_SERVICE), (_METRICS_NAMESPACE, NAMESPACE)):
            if env[name] != expected:
                raise ValueError(f"{name} must be {expected!r}, got {env[name]!r}")
        try:
            backend = Backend(env[_BACKEND])
        except ValueError:
            raise ValueError(f"{_BACKEND} must be one of {', '.join(Backend)}, got {env[_BACKEND]!r}") from None
        try:
            policy = ScoringPolicy.from_json(env[_POLICY])
        except (TypeError, KeyError, json.JSONDecodeError) as exc:
            raise ValueError(f"{_POLICY} is not a scoring policy: {exc}") from exc
        return cls(
            environment=env[_ENVIRONMENT],
            processed_uri=env[_PROCESSED_URI],
            analytics_uri=env[_ANALYTICS_URI],
            runs_uri=env[_RUNS_URI],
            backend=backend,
            policy=policy,
            log_level=env[_LOG_LEVEL],
        )
