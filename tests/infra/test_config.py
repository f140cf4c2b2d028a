"""Environment config parsing: cdk.json is valid, and every mistake names its key."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError, EnvironmentConfig, SecretsConfig, Zone, load_environment, load_environments
from lakehouse.domain.pii import key_fingerprint

CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"


@pytest.fixture
def context() -> dict[str, Any]:
    """A private, mutable copy of cdk.json's context."""
    loaded: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return copy.deepcopy(loaded)


def test_cdk_json_defines_dev_and_prod(context: dict[str, Any]) -> None:
    environments = load_environments(context)
    assert sorted(environments) == ["dev", "prod"]
    dev, prod = environments["dev"], environments["prod"]
    assert dev.stack_name == "reddit-lakehouse-dev"
    assert dev.resource_name("raw") == "reddit-lakehouse-dev-raw"
    assert dev.removal_policy == "destroy"
    assert not dev.retain_data
    assert prod.retain_data
    assert "dataengineering" in dev.subreddits
    assert dev.schedule.expression == "rate(1 hour)"
    assert prod.schedule.expression == "rate(15 minutes)"
    assert dev.schedule.enabled
    assert prod.schedule.enabled
    # Prod's alarms reach a real address, read from SSM at deploy time (not a placeholder in the repo).
    assert prod.alarm_email.startswith("ssm:/")
    assert dev.orchestration.max_concurrency <= len(dev.subreddits)
    assert dev.ingest.requests_per_minute <= 100
    assert dev.glue.number_of_workers < prod.glue.number_of_workers
    assert 0 < dev.glue.timeout_minutes <= prod.glue.timeout_minutes
    assert dev.account is None  # env-agnostic: deploys to whatever account the CLI uses


def test_config_is_frozen(context: dict[str, Any]) -> None:
    dev = load_environment(context, "dev")
    with pytest.raises(dataclasses.FrozenInstanceError):
        dev.name = "prod"  # type: ignore[misc]  # the assignment is the point of the test
    with pytest.raises(TypeError):
        dev.retention.zones[Zone.RAW] = dev.retention.zones[Zone.PROCESSED]  # type: ignore[index]  # read-only mapping


def test_raw_expires_first_in_every_environment(context: dict[str, Any]) -> None:
    for config in load_environments(context).values():
        raw = config.retention.for_zone(Zone.RAW).expiration_days
        assert raw is not None
        others = [config.retention.for_zone(z).expiration_days for z in Zone if z is not Zone.RAW]
        assert all(days is None or raw <= days for days in others)


def test_quarantine_expires_no_later_than_raw_in_every_environment(context: dict[str, Any]) -> None:
    """Quarantine keeps raw's unscrubbed payloads: it must not be where usernames outlive raw's expiry."""
    for config in load_environments(context).values():
        raw = config.retention.for_zone(Zone.RAW).expiration_days
        quarantine = config.retention.for_zone(Zone.QUARANTINE).expiration_days
        assert raw is not None
        assert quarantine is not None
        assert quarantine <= raw, config.name


def test_quarantine_longer_than_raw_is_refused_as_prod_had_it(context: dict[str, Any]) -> None:
    """The lifecycle prod used to have (unscrubbed payloads kept twice as long as raw) fails synthesis."""
    context["environments"]["prod"]["retention"]["zones"]["quarantine"] = {
        "transition_to_ia_days": 30,
        "transition_to_glacier_days": 60,
        "expiration_days": 180,
    }
    with pytest.raises(
        ConfigError,
        match=r"^context\.environments\.prod\.retention\.zones\.quarantine\.expiration_days: 180 must be at most "
        r"raw\.expiration_days \(90\)",
    ):
        load_environments(context)


def test_prod_quarantine_keeps_only_transitions_s3_accepts(context: dict[str, Any]) -> None:
    """Standard-IA after 30 days at the earliest; no Glacier step the 90-day expiry would make pointless."""
    rule = load_environment(context, "prod").retention.for_zone(Zone.QUARANTINE)
    assert rule.transition_to_ia_days is None or rule.transition_to_ia_days >= 30
    assert rule.transition_to_glacier_days is None
    assert rule.expiration_days is not None
    assert rule.transition_to_ia_days is None or rule.expiration_days > rule.transition_to_ia_days


def test_dev_generates_its_secrets_and_checks_no_fingerprint(context: dict[str, Any]) -> None:
    dev = load_environment(context, "dev")
    assert dev.secrets == SecretsConfig(reddit_secret_name=None, pii_key_secret_name=None, pii_key_fingerprint=None)


def test_prod_references_both_secrets_and_pins_the_pii_key(context: dict[str, Any]) -> None:
    prod = load_environment(context, "prod")
    assert prod.retain_data
    assert prod.secrets.reddit_secret_name
    assert prod.secrets.pii_key_secret_name
    assert prod.secrets.pii_key_fingerprint is not None
    assert len(prod.secrets.pii_key_fingerprint) == len(key_fingerprint(b"any key of sixteen bytes"))


@pytest.mark.parametrize("key", ["reddit_secret_name", "pii_key_secret_name"])
@pytest.mark.parametrize("remove", [True, False], ids=["absent", "null"])
def test_an_environment_that_retains_data_must_name_both_secrets(
    context: dict[str, Any], key: str, remove: bool
) -> None:
    secrets = context["environments"]["prod"]["secrets"]
    if remove:
        del secrets[key]
    else:
        secrets[key] = None
    with pytest.raises(
        ConfigError,
        match=rf"^context\.environments\.prod\.secrets\.{key}: an environment that retains data \(removal_policy "
        r"'retain'\) must name a secret created out of band",
    ):
        load_environments(context)


def test_an_environment_that_retains_data_must_pin_its_pii_key(context: dict[str, Any]) -> None:
    context["environments"]["prod"]["secrets"]["pii_key_fingerprint"] = None
    with pytest.raises(ConfigError, match=r"^context\.environments\.prod\.secrets\.pii_key_fingerprint: .* must pin"):
        load_environments(context)


@pytest.mark.parametrize(
    "address", ["lakehouse-alerts-prod@example.com", "oncall@alerts.example.org", "me@team.test", "a@b.invalid"]
)
def test_an_environment_that_retains_data_refuses_a_placeholder_alarm_address(
    context: dict[str, Any], address: str
) -> None:
    """As prod had it: alarms mailed to example.com wake nobody, so a retained environment may not deploy."""
    context["environments"]["prod"]["alarm_email"] = address
    with pytest.raises(ConfigError, match=r"^context\.environments\.prod\.alarm_email: .* is a placeholder address"):
        load_environments(context)


def test_a_placeholder_alarm_address_is_allowed_where_nothing_is_retained(context: dict[str, Any]) -> None:
    assert load_environment(context, "dev").alarm_email.endswith("@example.com")
    context["environments"]["prod"]["alarm_email"] = "data-oncall@corp.io"
    assert load_environment(context, "prod").alarm_email == "data-oncall@corp.io"


def test_the_rule_follows_the_removal_policy_not_the_name(context: dict[str, Any]) -> None:
    """A dev that starts retaining data needs referenced secrets too."""
    context["environments"]["dev"]["removal_policy"] = "retain"
    with pytest.raises(ConfigError, match=r"dev\.alarm_email: .* is a placeholder address"):
        load_environments(context)
    context["environments"]["dev"]["alarm_email"] = "ssm:/reddit-lakehouse/dev/alarm-email"
    with pytest.raises(ConfigError, match=r"dev\.secrets\.reddit_secret_name: an environment that retains data"):
        load_environments(context)


def test_unknown_environment_lists_the_valid_ones(context: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"unknown environment 'qa'; valid environments: dev, prod"):
        load_environment(context, "qa")


def test_missing_key_is_named_with_its_full_path(context: dict[str, Any]) -> None:
    del context["environments"]["prod"]["ingest"]["overlap_seconds"]
    with pytest.raises(ConfigError, match=r"^context\.environments\.prod\.ingest\.overlap_seconds: missing"):
        load_environments(context)


def test_missing_project_is_named(context: dict[str, Any]) -> None:
    del context["project"]
    with pytest.raises(ConfigError, match=r"^context\.project: missing"):
        load_environments(context)


def test_unknown_key_is_rejected_as_a_probable_typo(context: dict[str, Any]) -> None:
    context["environments"]["dev"]["glue"]["workers"] = 3
    with pytest.raises(ConfigError, match=r"context\.environments\.dev\.glue: unknown key\(s\) \['workers'\]"):
        load_environments(context)


def test_unknown_secrets_key_is_rejected(context: dict[str, Any]) -> None:
    context["environments"]["prod"]["secrets"]["pii_secret_name"] = "reddit-lakehouse-prod/pii"
    with pytest.raises(ConfigError, match=r"prod\.secrets: unknown key\(s\) \['pii_secret_name'\]"):
        load_environments(context)


def test_optional_values_may_be_null_or_absent(context: dict[str, Any]) -> None:
    # The CDK CLI drops null context values, so "absent" must mean the same as null.
    del context["environments"]["dev"]["account"]
    del context["environments"]["dev"]["retention"]["zones"]["raw"]["transition_to_ia_days"]
    dev = load_environment(context, "dev")
    assert dev.account is None
    assert dev.retention.for_zone(Zone.RAW).transition_to_ia_days is None


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("account",), "12345", r"dev\.account: '12345' is not a 12-digit AWS account id"),
        (("region",), "Mars", r"dev\.region: 'Mars' is not an AWS region name"),
        (("subreddits",), [], r"dev\.subreddits: expected a non-empty list"),
        (("subreddits",), ["python", "Python"], r"dev\.subreddits: duplicate entries \['python'\]"),
        (("subreddits",), ["r/python"], r"dev\.subreddits\[0\]: 'r/python' is not a subreddit name"),
        (("schedule", "expression"), "every hour", r"dev\.schedule\.expression: 'every hour' is not a Scheduler"),
        (("schedule", "expression"), "rate(1 hours)", r"dev\.schedule\.expression"),
        (("schedule", "time_zone"), "Berlin time", r"dev\.schedule\.time_zone: 'Berlin time' is not an IANA"),
        (("schedule", "enabled"), "yes", r"dev\.schedule\.enabled: expected true or false, got str"),
        (("orchestration", "max_concurrency"), 41, r"dev\.orchestration\.max_concurrency: 41 must be between 1"),
        (("orchestration", "max_concurrency"), 7, r"max_concurrency: 7 exceeds the 6 subreddits"),
        (("orchestration", "tolerated_failure_percentage"), 101, r"tolerated_failure_percentage: 101 must be"),
        (("orchestration", "success_window_hours"), 169, r"success_window_hours: 169 must be between 1 and 168"),
        (("removal_policy",), "snapshot", r"dev\.removal_policy: 'snapshot' must be 'destroy' or 'retain'"),
        (("alarm_email",), "nobody", r"dev\.alarm_email: 'nobody' is not an e-mail address"),
        (("alarm_email",), "ssm:no-slash", r"dev\.alarm_email: 'ssm:no-slash' is not an e-mail address"),
        (("log_retention_days",), 10, r"dev\.log_retention_days: 10 is not a CloudWatch Logs retention"),
        (("ingest", "requests_per_minute"), 120, r"dev\.ingest\.requests_per_minute: 120 must be between 1 and 100"),
        (("ingest", "timeout_seconds"), "600", r"dev\.ingest\.timeout_seconds: expected an integer, got str"),
        (("ingest", "memory_mb"), True, r"dev\.ingest\.memory_mb: expected an integer, got bool"),
        (("llm", "budget_usd_per_run"), -1, r"dev\.llm\.budget_usd_per_run: -1 must be >= 0"),
        (("llm", "weights", "market_gap"), 0.5, r"dev\.llm: weights must sum to 1, got 1\.35"),
        (("llm", "model_id"), "claude", r"dev\.llm\.model_id: 'claude' is not a Bedrock model or inference profile"),
        (("llm", "tiers", "medium"), 90, r"dev\.llm: tiers must satisfy 0 <= medium <= high <= 100"),
        (("llm", "max_concurrency"), 0, r"dev\.llm\.max_concurrency: 0 must be between 1 and 32"),
        (("llm", "inference_profile_regions"), ["us-east-2"], r"only an inference profile id"),
        (("llm", "model_id"), "anthropic.claude-3-5-haiku-20241022-v1:0", r"reached end of life on Bedrock on 2026-06"),
        (("glue", "worker_type"), "G.3X", r"dev\.glue\.worker_type: 'G\.3X' is not one of"),
        (("glue", "timeout_minutes"), 0, r"dev\.glue\.timeout_minutes: 0 must be between 1 and 2880"),
        (("glue", "timeout_minutes"), 4320, r"dev\.glue\.timeout_minutes: 4320 must be between 1 and 2880"),
        (("glue", "timeout_minutes"), None, r"dev\.glue\.timeout_minutes: expected an integer, got null"),
        (("retention", "zones", "processed", "transition_to_ia_days"), 7, r"processed\.transition_to_ia_days: 7"),
        (
            ("retention", "zones", "processed", "transition_to_glacier_days"),
            40,
            r"processed\.transition_to_glacier_days: 40 must be at least 30 days after",
        ),
        (
            ("retention", "zones", "processed", "expiration_days"),
            20,
            r"processed\.expiration_days: 20 must be later than the last transition \(30\)",
        ),
        (("retention", "zones", "raw", "expiration_days"), None, r"raw\.expiration_days: raw holds usernames"),
        (("retention", "zones", "raw", "expiration_days"), 365, r"raw\.expiration_days: 365 must be the shortest"),
        (("retention",), "forever", r"dev\.retention: expected an object, got str"),
        (
            ("retention", "zones", "quarantine", "expiration_days"),
            None,
            r"quarantine\.expiration_days: quarantine holds unscrubbed payloads and must expire, at most when raw "
            r"does \(14 days\)",
        ),
        (
            ("retention", "zones", "quarantine", "expiration_days"),
            30,
            r"quarantine\.expiration_days: 30 must be at most raw\.expiration_days \(14\)",
        ),
        (("secrets",), None, r"dev\.secrets: expected an object, got null"),
        (("secrets", "reddit_secret_name"), "my secret", r"dev\.secrets\.reddit_secret_name: 'my secret' is not a"),
        (("secrets", "reddit_secret_name"), "", r"dev\.secrets\.reddit_secret_name: expected a non-empty string"),
        # Ends like an ARN's random suffix: a partial ARN of it would be misread.
        (
            ("secrets", "pii_key_secret_name"),
            "lake/pii-abc123",
            r"dev\.secrets\.pii_key_secret_name: 'lake/pii-abc123'",
        ),
        (
            ("secrets", "pii_key_fingerprint"),
            "ABCDEF0123456789",
            r"dev\.secrets\.pii_key_fingerprint: 'ABCDEF0123456789'",
        ),
        (("secrets", "pii_key_fingerprint"), "0123abcd", r"dev\.secrets\.pii_key_fingerprint: '0123abcd' is not the"),
        (("secrets", "pii_key_fingerprint"), 12, r"dev\.secrets\.pii_key_fingerprint: expected a non-empty string"),
    ],
)
def test_bad_values_are_named_with_their_key(
    context: dict[str, Any], path: tuple[str, ...], value: Any, message: str
) -> None:
    section = context["environments"]["dev"]
    for key in path[:-1]:
        section = section[key]
    section[path[-1]] = value
    with pytest.raises(ConfigError, match=message):
        load_environments(context)


def test_batch_inference_needs_the_quota_that_sets_its_minimum(context: dict[str, Any]) -> None:
    context["environments"]["prod"]["llm"]["batch"] = {"enabled": True}
    with pytest.raises(ConfigError, match=r"prod\.llm: batch inference needs the model's min_records_quota_name"):
        load_environments(context)


def test_each_environment_scores_with_its_own_current_model_and_budget(context: dict[str, Any]) -> None:
    dev, prod = load_environment(context, "dev").llm, load_environment(context, "prod").llm
    assert dev.model_id != prod.model_id
    assert not dev.uses_inference_profile
    assert not dev.policy.batch.enabled
    assert prod.uses_inference_profile
    assert prod.foundation_model_id.startswith("anthropic.claude-haiku-4-5")
    assert prod.inference_profile_regions
    assert prod.policy.batch.enabled
    assert sum(prod.policy.weights.values()) == pytest.approx(1.0)


def test_environment_config_is_typed_all_the_way_down(context: dict[str, Any]) -> None:
    prod: EnvironmentConfig = load_environment(context, "prod")
    assert isinstance(prod.subreddits, tuple)
    assert isinstance(prod.llm.budget_usd_per_run, float)
    assert set(prod.retention.zones) == set(Zone)
