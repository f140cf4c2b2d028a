"""Typed per-environment configuration, parsed once from cdk.json context.

Configuration flows one way: ``cdk.json`` context ``environments.{dev,prod}`` ->
:class:`EnvironmentConfig` (frozen) -> stack keyword arguments. Parsing is strict:
an unknown or mistyped key fails synthesis with the dotted path of the key, because a
typo in a retention period should never deploy silently.

This module deliberately imports nothing from ``aws_cdk`` so that tooling and tests
can read the configuration without starting jsii.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal, cast

from lakehouse.domain.pii import key_fingerprint
from lakehouse.tables import OPPORTUNITY_DIMENSIONS
from lambdas.ingest.settings import IngestSettings
from lambdas.score.settings import BatchPolicy, ScoringPolicy, Tiers, TokenPrice

__all__ = [
    "AthenaConfig",
    "ConfigError",
    "EnvironmentConfig",
    "GlueConfig",
    "IngestConfig",
    "LlmConfig",
    "OrchestrationConfig",
    "RemovalPolicyName",
    "RetentionConfig",
    "ScheduleConfig",
    "SecretsConfig",
    "WarehouseConfig",
    "Zone",
    "ZoneRetention",
    "load_environment",
    "load_environments",
]

RemovalPolicyName = Literal["destroy", "retain"]

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS: frozenset[int] = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
GLUE_WORKER_TYPES: frozenset[str] = frozenset({"G.025X", "G.1X", "G.2X", "G.4X", "G.8X", "G.12X", "G.16X"})
# Glue's own default timeout for batch jobs (48 h); a processing run anywhere near it is a bug.
GLUE_MAX_TIMEOUT_MINUTES = 2880

# S3 refuses a transition to STANDARD_IA earlier than 30 days, and a STANDARD_IA ->
# GLACIER transition less than 30 days after it.
_MIN_IA_DAYS = 30
_MIN_DAYS_IN_IA = 30
# Reddit allows 100 requests per minute per OAuth client; keep headroom for retries.
_REDDIT_RPM_LIMIT = 100

_ACCOUNT_RE = re.compile(r"^\d{12}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
# A Bedrock model id (provider.model-version:n) or a cross-region inference profile id (its geography first).
_MODEL_ID_RE = re.compile(r"^([a-z]+\.)?[a-z0-9-]+\.[a-z0-9.-]+(:\d+)?$")
# Models Bedrock no longer serves (or is about to stop serving): a deployment must not depend on them.
END_OF_LIFE_MODELS: Mapping[str, str] = MappingProxyType(
    {
        "anthropic.claude-3-5-haiku-20241022-v1:0": "2026-06-19",
        "anthropic.claude-3-5-sonnet-20240620-v1:0": "2025-10-22",
        "anthropic.claude-3-5-sonnet-20241022-v2:0": "2025-10-22",
        "anthropic.claude-3-haiku-20240307-v1:0": "2026-06-19",
    }
)
_INFERENCE_PROFILE_RE = re.compile(r"^(us|eu|apac|jp|au|ca|us-gov|global)\.")
_SUBREDDIT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")
_SCHEDULE_RE = re.compile(
    r"^(rate\(1 (minute|hour|day)\)|rate\(([2-9]|[1-9]\d+) (minutes|hours|days)\)|cron\([^()]+\))$"
)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Or an SSM parameter holding it: the address stays out of the repository, set once per account.
_SSM_EMAIL_RE = re.compile(r"^ssm:(/[A-Za-z0-9_.-]+)+$")
# Reserved for documentation and tests (RFC 2606 / 6761): mail to them reaches nobody.
_PLACEHOLDER_DOMAIN_RE = re.compile(r"@(.+\.)?(example\.(com|org|net)|[^@]+\.(example|test|invalid|localhost))$", re.I)
_TIME_ZONE_RE = re.compile(r"^(UTC|[A-Z][A-Za-z_]+(/[A-Z][A-Za-z0-9_+-]+){1,2})$")
# Step Functions runs at most 40 iterations of an inline Map at once.
MAX_INLINE_MAP_CONCURRENCY = 40
# CloudWatch evaluates an alarm over at most 7 days of 1-hour periods.
MAX_SUCCESS_WINDOW_HOURS = 168
# Secrets Manager's name alphabet. A referenced secret is passed on as a partial ARN (no random suffix),
# which Secrets Manager misreads when the name itself ends in a hyphen and six characters.
_SECRET_NAME_RE = re.compile(r"^(?!.*-[A-Za-z0-9]{6}$)[A-Za-z0-9/_+=.@-]{1,512}$")
_FINGERPRINT_RE = re.compile(rf"^[0-9a-f]{{{len(key_fingerprint(bytes(16)))}}}$")
_ENV_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
_PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")


class ConfigError(ValueError):
    """The cdk.json context is missing a key or holds a bad value; the message names it."""


class Zone(StrEnum):
    """The lake's data zones; one bucket each."""

    RAW = "raw"
    PROCESSED = "processed"
    ANALYTICS = "analytics"
    QUARANTINE = "quarantine"


# The zones whose objects still carry usernames and unscrubbed text; everything else is scrubbed.
_UNSCRUBBED_ZONES = frozenset({Zone.RAW, Zone.QUARANTINE})


@dataclass(frozen=True, slots=True)
class ZoneRetention:
    """Lifecycle of one zone's current objects; ``None`` means "never"."""

    transition_to_ia_days: int | None
    transition_to_glacier_days: int | None
    expiration_days: int | None


@dataclass(frozen=True, slots=True)
class RetentionConfig:
    """How long each bucket keeps data, and what happens to old versions and failed uploads."""

    zones: Mapping[Zone, ZoneRetention]
    noncurrent_version_expiration_days: int
    abort_incomplete_multipart_upload_days: int
    athena_results_expiration_days: int
    access_logs_expiration_days: int

    def for_zone(self, zone: Zone) -> ZoneRetention:
        return self.zones[zone]


@dataclass(frozen=True, slots=True)
class LlmConfig:
    """Opportunity scoring: the model and what a run may spend (``policy``), and how the function is deployed.

    ``inference_profile_regions``: where a cross-region inference profile (a ``us.``/``eu.``/``global.``
    model id) may route calls; the function may invoke the model in those regions only, and only
    through the profile. Empty for a model invoked in the stack's region.
    """

    policy: ScoringPolicy
    inference_profile_regions: tuple[str, ...]
    memory_mb: int
    timeout_seconds: int

    @property
    def model_id(self) -> str:
        return self.policy.model_id

    @property
    def budget_usd_per_run(self) -> float:
        return self.policy.budget_usd_per_run

    @property
    def uses_inference_profile(self) -> bool:
        return bool(_INFERENCE_PROFILE_RE.match(self.policy.model_id))

    @property
    def foundation_model_id(self) -> str:
        """The model behind the id: ``us.anthropic.claude-haiku-4-5-...`` -> ``anthropic.claude-haiku-4-5-...``."""
        return _INFERENCE_PROFILE_RE.sub("", self.policy.model_id)


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """Reddit ingestion: incremental window, request budget and Lambda sizing."""

    overlap_seconds: int
    refresh_max_age_hours: int
    requests_per_minute: int
    max_comments_per_post: int
    memory_mb: int
    timeout_seconds: int

    def runtime(self) -> IngestSettings:
        """What every invocation of this environment runs with (the Lambda's and the local run's)."""
        return IngestSettings(
            overlap_seconds=float(self.overlap_seconds),
            refresh_max_age_seconds=self.refresh_max_age_hours * 3600.0,
            max_comments_per_post=self.max_comments_per_post,
        )


@dataclass(frozen=True, slots=True)
class GlueConfig:
    """Capacity of the processing job, and how long one run may take before Glue stops it."""

    worker_type: str
    number_of_workers: int
    timeout_minutes: int


@dataclass(frozen=True, slots=True)
class AthenaConfig:
    """The analysts' workgroup: the most a query may scan (its cutoff fails the query, not the bill)."""

    bytes_scanned_cutoff_mb: int


@dataclass(frozen=True, slots=True)
class WarehouseConfig:
    """The Redshift Serverless warehouse the Load step fills; ``enabled`` false leaves it (and Load) out.

    ``base_capacity_rpu``: the workgroup's base capacity (4-512, a multiple of 8 above 8);
    ``max_rpu_hours_per_day``: the usage limit, past which the workgroup stops queries until the next day;
    ``load_poll_seconds``: how often the state machine asks whether the load has finished;
    ``export_expiration_days``: how long a run's export stays (the load reads it within the run).
    """

    enabled: bool
    base_capacity_rpu: int
    max_rpu_hours_per_day: int
    load_poll_seconds: int
    export_expiration_days: int


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    """When EventBridge Scheduler starts a run: ``rate(...)`` or ``cron(...)``, read in ``time_zone``."""

    expression: str
    time_zone: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class OrchestrationConfig:
    """How the state machine runs one pipeline run.

    ``max_concurrency``: subreddits ingested at once (the Map's MaxConcurrency and the ingest
    function's reserved concurrency), so the Reddit budget is shared by that many invocations.
    ``tolerated_failure_percentage``: subreddits that may fail ingestion (after retries) while the
    run still succeeds. ``success_window_hours``: no successful run for this long is an alarm.
    """

    max_concurrency: int
    tolerated_failure_percentage: float
    success_window_hours: int
    execution_timeout_minutes: int


@dataclass(frozen=True, slots=True)
class SecretsConfig:
    """Where the stack's two secrets come from, and the PII key the job must find.

    A name means the secret was created out of band (``infra.constructs.stack_secret`` says how) and
    the stack only references it: no deployment can regenerate it. ``None`` (dev) lets the stack
    generate one, which a replaced stack regenerates. ``pii_key_fingerprint`` is
    :func:`lakehouse.domain.pii.key_fingerprint` of the key the environment's pseudonyms were made
    with; the job refuses to run with any other key (``None``: not checked).
    """

    reddit_secret_name: str | None
    pii_key_secret_name: str | None
    pii_key_fingerprint: str | None


@dataclass(frozen=True, slots=True)
class EnvironmentConfig:
    """Everything that differs between dev and prod, validated."""

    project: str
    name: str
    account: str | None
    region: str
    subreddits: tuple[str, ...]
    schedule: ScheduleConfig
    orchestration: OrchestrationConfig
    removal_policy: RemovalPolicyName
    alarm_email: str  # an address, or ``ssm:/parameter/name`` holding one
    log_retention_days: int
    retention: RetentionConfig
    llm: LlmConfig
    ingest: IngestConfig
    glue: GlueConfig
    athena: AthenaConfig
    warehouse: WarehouseConfig
    secrets: SecretsConfig

    @property
    def resource_prefix(self) -> str:
        """``{project}-{env}``: the start of every resource name and the stack name."""
        return f"{self.project}-{self.name}"

    @property
    def stack_name(self) -> str:
        return self.resource_prefix

    @property
    def retain_data(self) -> bool:
        """True where data must outlive the stack (prod)."""
        return self.removal_policy == "retain"

    def resource_name(self, purpose: str) -> str:
        """``{project}-{env}-{purpose}``: the one naming rule for named resources."""
        return f"{self.resource_prefix}-{purpose}"

    @property
    def database_name(self) -> str:
        """``reddit_lakehouse_dev``: the Glue database; Athena identifiers take underscores, not hyphens."""
        return f"{self.project}_{self.name}".replace("-", "_")

    @property
    def analyst_workgroup_name(self) -> str:
        """The Athena workgroup the views are published in and analysts query."""
        return self.resource_name("analysts")


# --------------------------------------------------------------------------- parsing


class _Section:
    """A mapping read key by key, so every error carries the full dotted path."""

    def __init__(self, raw: object, path: str) -> None:
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{path}: expected an object, got {_describe(raw)}")
        self._raw: Mapping[str, Any] = raw
        self._path = path
        self._read: set[str] = set()

    def _get(self, key: str) -> object:
        if key not in self._raw:
            raise ConfigError(f"{self.path_of(key)}: missing required key")
        self._read.add(key)
        return self._raw[key]

    def path_of(self, key: str) -> str:
        return f"{self._path}.{key}"

    def section(self, key: str) -> _Section:
        return _Section(self._get(key), self.path_of(key))

    def text(self, key: str, *, pattern: re.Pattern[str] | None = None, hint: str = "") -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{self.path_of(key)}: expected a non-empty string, got {_describe(value)}")
        if pattern is not None and not pattern.match(value):
            raise ConfigError(f"{self.path_of(key)}: {value!r} is not {hint or 'valid'}")
        return value

    def _absent(self, key: str) -> bool:
        """Optional keys may be null or left out: the CDK CLI drops null context values."""
        self._read.add(key)
        return self._raw.get(key) is None

    def optional_text(self, key: str, *, pattern: re.Pattern[str], hint: str) -> str | None:
        if self._absent(key):
            return None
        return self.text(key, pattern=pattern, hint=hint)

    def integer(self, key: str, *, minimum: int = 0, maximum: int | None = None) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{self.path_of(key)}: expected an integer, got {_describe(value)}")
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            raise ConfigError(f"{self.path_of(key)}: {value} must be {bounds}")
        return value

    def optional_integer(self, key: str, *, minimum: int = 1) -> int | None:
        if self._absent(key):
            return None
        return self.integer(key, minimum=minimum)

    def number(self, key: str, *, minimum: float = 0.0, maximum: float | None = None) -> float:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{self.path_of(key)}: expected a number, got {_describe(value)}")
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            raise ConfigError(f"{self.path_of(key)}: {value} must be {bounds}")
        return float(value)

    def boolean(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.path_of(key)}: expected true or false, got {_describe(value)}")
        return value

    def texts(self, key: str, *, pattern: re.Pattern[str], hint: str) -> tuple[str, ...]:
        value = self._get(key)
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{self.path_of(key)}: expected a non-empty list of strings, got {_describe(value)}")
        items: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not pattern.match(item):
                raise ConfigError(f"{self.path_of(key)}[{index}]: {item!r} is not {hint}")
            items.append(item)
        lowered = [item.lower() for item in items]
        duplicates = sorted({item for item in lowered if lowered.count(item) > 1})
        if duplicates:
            raise ConfigError(f"{self.path_of(key)}: duplicate entries {duplicates}")
        return tuple(items)

    def keys(self) -> Iterator[str]:
        return iter(self._raw)

    def done(self) -> None:
        """Reject keys nobody read: they are typos or settings that would be silently ignored."""
        unknown = sorted(set(self._raw) - self._read)
        if unknown:
            raise ConfigError(f"{self._path}: unknown key(s) {unknown}; expected only {sorted(self._read)}")


def _describe(value: object) -> str:
    return "null" if value is None else f"{type(value).__name__} {value!r}"


def _parse_zone_retention(section: _Section) -> ZoneRetention:
    ia = section.optional_integer("transition_to_ia_days", minimum=_MIN_IA_DAYS)
    glacier = section.optional_integer("transition_to_glacier_days")
    expiration = section.optional_integer("expiration_days")
    section.done()
    if ia is not None and glacier is not None and glacier < ia + _MIN_DAYS_IN_IA:
        raise ConfigError(
            f"{section.path_of('transition_to_glacier_days')}: {glacier} must be at least "
            f"{_MIN_DAYS_IN_IA} days after transition_to_ia_days ({ia})"
        )
    last_transition = max((d for d in (ia, glacier) if d is not None), default=None)
    if expiration is not None and last_transition is not None and expiration <= last_transition:
        raise ConfigError(
            f"{section.path_of('expiration_days')}: {expiration} must be later than the last transition "
            f"({last_transition})"
        )
    return ZoneRetention(transition_to_ia_days=ia, transition_to_glacier_days=glacier, expiration_days=expiration)


def _parse_retention(section: _Section) -> RetentionConfig:
    zones_section = section.section("zones")
    zones = {zone: _parse_zone_retention(zones_section.section(zone.value)) for zone in Zone}
    zones_section.done()
    retention = RetentionConfig(
        zones=MappingProxyType(zones),
        noncurrent_version_expiration_days=section.integer("noncurrent_version_expiration_days", minimum=1),
        abort_incomplete_multipart_upload_days=section.integer("abort_incomplete_multipart_upload_days", minimum=1),
        athena_results_expiration_days=section.integer("athena_results_expiration_days", minimum=1),
        access_logs_expiration_days=section.integer("access_logs_expiration_days", minimum=1),
    )
    section.done()
    # Raw objects carry Reddit usernames: they must go before any scrubbed data.
    raw_expiry = zones[Zone.RAW].expiration_days
    raw_key = zones_section.path_of("raw.expiration_days")
    if raw_expiry is None:
        raise ConfigError(f"{raw_key}: raw holds usernames and must expire (set a number of days)")
    for zone, rule in zones.items():
        if zone in _UNSCRUBBED_ZONES:
            continue
        if rule.expiration_days is not None and rule.expiration_days < raw_expiry:
            raise ConfigError(
                f"{raw_key}: {raw_expiry} must be the shortest expiry of the zones, but {zone.value} expires "
                f"after {rule.expiration_days} days"
            )
    # Quarantine keeps the same unscrubbed payloads as raw (what could not be typed or processed):
    # it must not outlive raw, or it becomes the place usernames survive their deletion.
    quarantine_expiry = zones[Zone.QUARANTINE].expiration_days
    quarantine_key = zones_section.path_of("quarantine.expiration_days")
    if quarantine_expiry is None:
        raise ConfigError(
            f"{quarantine_key}: quarantine holds unscrubbed payloads and must expire, at most when raw does "
            f"({raw_expiry} days)"
        )
    if quarantine_expiry > raw_expiry:
        raise ConfigError(
            f"{quarantine_key}: {quarantine_expiry} must be at most raw.expiration_days ({raw_expiry}): "
            "quarantine holds the same unscrubbed payloads as raw"
        )
    return retention


def _parse_ingest(section: _Section) -> IngestConfig:
    ingest = IngestConfig(
        overlap_seconds=section.integer("overlap_seconds", minimum=0, maximum=86_400),
        refresh_max_age_hours=section.integer("refresh_max_age_hours", minimum=0),
        requests_per_minute=section.integer("requests_per_minute", minimum=1, maximum=_REDDIT_RPM_LIMIT),
        max_comments_per_post=section.integer("max_comments_per_post", minimum=0),
        memory_mb=section.integer("memory_mb", minimum=128, maximum=10_240),
        timeout_seconds=section.integer("timeout_seconds", minimum=1, maximum=900),
    )
    section.done()
    return ingest


def _parse_secrets(section: _Section, *, retain_data: bool) -> SecretsConfig:
    hint = "a Secrets Manager secret name (letters, digits, /_+=.@-; not ending in '-' and six letters or digits)"
    secrets = SecretsConfig(
        reddit_secret_name=section.optional_text("reddit_secret_name", pattern=_SECRET_NAME_RE, hint=hint),
        pii_key_secret_name=section.optional_text("pii_key_secret_name", pattern=_SECRET_NAME_RE, hint=hint),
        pii_key_fingerprint=section.optional_text(
            "pii_key_fingerprint",
            pattern=_FINGERPRINT_RE,
            hint="the first 16 lowercase hex characters of the key's SHA-256 (lakehouse.domain.pii.key_fingerprint)",
        ),
    )
    section.done()
    if retain_data:
        # Retained data outlives the stack: so must the secrets (above all the key of its pseudonyms).
        for key in ("reddit_secret_name", "pii_key_secret_name"):
            if getattr(secrets, key) is None:
                raise ConfigError(
                    f"{section.path_of(key)}: an environment that retains data (removal_policy 'retain') must "
                    "name a secret created out of band; a generated one is replaced with the stack"
                )
        if secrets.pii_key_fingerprint is None:
            raise ConfigError(
                f"{section.path_of('pii_key_fingerprint')}: an environment that retains data must pin its PII key's "
                "fingerprint, so no run ever pseudonymizes with another key"
            )
    return secrets


def _parse_schedule(section: _Section) -> ScheduleConfig:
    schedule = ScheduleConfig(
        expression=section.text(
            "expression", pattern=_SCHEDULE_RE, hint="a Scheduler expression like 'rate(1 hour)' or 'cron(...)'"
        ),
        time_zone=section.text(
            "time_zone", pattern=_TIME_ZONE_RE, hint="an IANA time zone like 'UTC' or 'Europe/Berlin'"
        ),
        enabled=section.boolean("enabled"),
    )
    section.done()
    return schedule


def _parse_orchestration(section: _Section, subreddits: int) -> OrchestrationConfig:
    orchestration = OrchestrationConfig(
        max_concurrency=section.integer("max_concurrency", minimum=1, maximum=MAX_INLINE_MAP_CONCURRENCY),
        tolerated_failure_percentage=section.number("tolerated_failure_percentage", maximum=100.0),
        success_window_hours=section.integer("success_window_hours", minimum=1, maximum=MAX_SUCCESS_WINDOW_HOURS),
        execution_timeout_minutes=section.integer("execution_timeout_minutes", minimum=5, maximum=24 * 60),
    )
    if orchestration.max_concurrency > subreddits:
        raise ConfigError(
            f"{section.path_of('max_concurrency')}: {orchestration.max_concurrency} exceeds the {subreddits} "
            "subreddits; the Reddit budget would be split among invocations that never run"
        )
    section.done()
    return orchestration


def _parse_llm(section: _Section) -> LlmConfig:
    price = section.section("price_per_million_tokens")
    token_price = TokenPrice(price.number("input"), price.number("output"))
    price.done()
    weights_section = section.section("weights")
    weights = {name: weights_section.number(name, maximum=1.0) for name in OPPORTUNITY_DIMENSIONS}
    weights_section.done()
    tiers_section = section.section("tiers")
    tiers = (tiers_section.number("high", maximum=100.0), tiers_section.number("medium", maximum=100.0))
    tiers_section.done()
    batch_section = section.section("batch")
    enabled = batch_section.boolean("enabled")
    quota_name = (
        None if batch_section._absent("min_records_quota_name") else batch_section.text("min_records_quota_name")
    )
    batch_section.done()
    model_id = section.text("model_id", pattern=_MODEL_ID_RE, hint="a Bedrock model or inference profile id")
    if (end := END_OF_LIFE_MODELS.get(_INFERENCE_PROFILE_RE.sub("", model_id))) is not None:
        raise ConfigError(
            f"{section.path_of('model_id')}: {model_id} reached end of life on Bedrock on {end}; configure a "
            "current model (e.g. amazon.nova-lite-v1:0, or us.anthropic.claude-haiku-4-5-20251001-v1:0)"
        )
    regions = (
        section.texts("inference_profile_regions", pattern=_REGION_RE, hint="an AWS region name")
        if _INFERENCE_PROFILE_RE.match(model_id)
        else ()
    )
    if not _INFERENCE_PROFILE_RE.match(model_id) and not section._absent("inference_profile_regions"):
        raise ConfigError(
            f"{section.path_of('inference_profile_regions')}: only an inference profile id (us., eu., apac., "
            "global.) routes across regions"
        )
    try:
        policy = ScoringPolicy(
            model_id=model_id,
            price=token_price,
            budget_usd_per_run=section.number("budget_usd_per_run"),
            weights=weights,
            tiers=Tiers(high=tiers[0], medium=tiers[1]),
            max_concurrency=section.integer("max_concurrency", minimum=1, maximum=32),
            max_output_tokens=section.integer("max_output_tokens", minimum=200, maximum=4096),
            max_body_tokens=section.integer("max_body_tokens", minimum=100, maximum=8000),
            top_comments=section.integer("top_comments", maximum=20),
            rescore_on_new_prompt=section.boolean("rescore_on_new_prompt"),
            batch=BatchPolicy(enabled=enabled, min_records_quota_name=quota_name),
        )
    except ValueError as exc:
        raise ConfigError(f"{section._path}: {exc}") from None
    config = LlmConfig(
        policy=policy,
        inference_profile_regions=regions,
        memory_mb=section.integer("memory_mb", minimum=128, maximum=10_240),
        timeout_seconds=section.integer("timeout_seconds", minimum=60, maximum=900),
    )
    section.done()
    return config


def _parse_alarm_email(section: _Section, *, retain_data: bool) -> str:
    email = section.text("alarm_email")
    if not (_EMAIL_RE.match(email) or _SSM_EMAIL_RE.match(email)):
        raise ConfigError(
            f"{section.path_of('alarm_email')}: {email!r} is not an e-mail address or ssm:/parameter/name"
        )
    if retain_data and _PLACEHOLDER_DOMAIN_RE.search(email):
        raise ConfigError(
            f"{section.path_of('alarm_email')}: {email!r} is a placeholder address, and this environment retains "
            "data: its alarms must reach someone. Name the on-call address, or ssm:/parameter/name of an SSM "
            "parameter that holds it"
        )
    return email


def _parse_athena(section: _Section) -> AthenaConfig:
    # Athena's floor for the cutoff is 10 MB.
    config = AthenaConfig(bytes_scanned_cutoff_mb=section.integer("bytes_scanned_cutoff_mb", minimum=10))
    section.done()
    return config


def _parse_warehouse(section: _Section) -> WarehouseConfig:
    base = section.integer("base_capacity_rpu", minimum=4, maximum=512)
    if base > 8 and base % 8:
        raise ConfigError(f"{section.path_of('base_capacity_rpu')}: {base} must be 4, 8 or a multiple of 8")
    config = WarehouseConfig(
        enabled=section.boolean("enabled"),
        base_capacity_rpu=base,
        max_rpu_hours_per_day=section.integer("max_rpu_hours_per_day", minimum=1),
        load_poll_seconds=section.integer("load_poll_seconds", minimum=1, maximum=300),
        export_expiration_days=section.integer("export_expiration_days", minimum=1),
    )
    section.done()
    return config


def _parse_environment(project: str, name: str, section: _Section) -> EnvironmentConfig:
    removal_policy = section.text("removal_policy")
    if removal_policy not in ("destroy", "retain"):
        raise ConfigError(f"{section.path_of('removal_policy')}: {removal_policy!r} must be 'destroy' or 'retain'")
    log_retention_days = section.integer("log_retention_days", minimum=1)
    if log_retention_days not in LOG_RETENTION_DAYS:
        raise ConfigError(
            f"{section.path_of('log_retention_days')}: {log_retention_days} is not a CloudWatch Logs "
            f"retention period; pick one of {sorted(LOG_RETENTION_DAYS)}"
        )

    llm = _parse_llm(section.section("llm"))

    glue_section = section.section("glue")
    worker_type = glue_section.text("worker_type")
    if worker_type not in GLUE_WORKER_TYPES:
        raise ConfigError(
            f"{glue_section.path_of('worker_type')}: {worker_type!r} is not one of {sorted(GLUE_WORKER_TYPES)}"
        )
    glue = GlueConfig(
        worker_type=worker_type,
        number_of_workers=glue_section.integer("number_of_workers", minimum=2),
        timeout_minutes=glue_section.integer("timeout_minutes", minimum=1, maximum=GLUE_MAX_TIMEOUT_MINUTES),
    )
    glue_section.done()

    subreddits = section.texts("subreddits", pattern=_SUBREDDIT_RE, hint="a subreddit name")
    config = EnvironmentConfig(
        project=project,
        name=name,
        account=section.optional_text("account", pattern=_ACCOUNT_RE, hint="a 12-digit AWS account id"),
        region=section.text("region", pattern=_REGION_RE, hint="an AWS region name"),
        subreddits=subreddits,
        schedule=_parse_schedule(section.section("schedule")),
        orchestration=_parse_orchestration(section.section("orchestration"), len(subreddits)),
        removal_policy=cast(RemovalPolicyName, removal_policy),
        alarm_email=_parse_alarm_email(section, retain_data=removal_policy == "retain"),
        log_retention_days=log_retention_days,
        retention=_parse_retention(section.section("retention")),
        llm=llm,
        ingest=_parse_ingest(section.section("ingest")),
        glue=glue,
        athena=_parse_athena(section.section("athena")),
        warehouse=_parse_warehouse(section.section("warehouse")),
        secrets=_parse_secrets(section.section("secrets"), retain_data=removal_policy == "retain"),
    )
    section.done()
    return config


def load_environments(context: Mapping[str, Any]) -> dict[str, EnvironmentConfig]:
    """Parse every environment under ``context["environments"]``, failing on the first bad key."""
    root = _Section(context, "context")
    project = root.text("project", pattern=_PROJECT_RE, hint="a lowercase kebab-case project name")
    environments = root.section("environments")
    names = list(environments.keys())
    if not names:
        raise ConfigError("context.environments: define at least one environment")
    parsed: dict[str, EnvironmentConfig] = {}
    for name in names:
        if not _ENV_NAME_RE.match(name):
            raise ConfigError(f"context.environments.{name}: environment names are short lowercase words")
        parsed[name] = _parse_environment(project, name, environments.section(name))
    return parsed


def load_environment(context: Mapping[str, Any], name: str) -> EnvironmentConfig:
    """Parse all environments (so a broken one is caught early) and return ``name``."""
    environments = load_environments(context)
    if name not in environments:
        raise ConfigError(f"unknown environment {name!r}; valid environments: {', '.join(sorted(environments))}")
    return environments[name]
