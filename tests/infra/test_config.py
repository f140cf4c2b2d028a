"""Environment config parsing: cdk.json is valid, and every mistake names its key."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError, EnvironmentConfig, Zone, load_environment, load_environments

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
    assert dev.schedule == "rate(1 hour)"
    assert prod.schedule == "rate(15 minutes)"
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
        (("schedule",), "every hour", r"dev\.schedule: 'every hour' is not an EventBridge expression"),
        (("schedule",), "rate(1 hours)", r"dev\.schedule"),
        (("removal_policy",), "snapshot", r"dev\.removal_policy: 'snapshot' must be 'destroy' or 'retain'"),
        (("alarm_email",), "nobody", r"dev\.alarm_email: 'nobody' is not an e-mail address"),
        (("log_retention_days",), 10, r"dev\.log_retention_days: 10 is not a CloudWatch Logs retention"),
        (("ingest", "requests_per_minute"), 120, r"dev\.ingest\.requests_per_minute: 120 must be between 1 and 100"),
        (("ingest", "timeout_seconds"), "600", r"dev\.ingest\.timeout_seconds: expected an integer, got str"),
        (("ingest", "memory_mb"), True, r"dev\.ingest\.memory_mb: expected an integer, got bool"),
        (("llm", "budget_usd_per_run"), -1, r"dev\.llm\.budget_usd_per_run: -1 must be >= 0"),
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


def test_environment_config_is_typed_all_the_way_down(context: dict[str, Any]) -> None:
    prod: EnvironmentConfig = load_environment(context, "prod")
    assert isinstance(prod.subreddits, tuple)
    assert isinstance(prod.llm.budget_usd_per_run, float)
    assert set(prod.retention.zones) == set(Zone)
