"""The scoring function's settings: what the stack writes is what the function reads; bad values are named."""

from __future__ import annotations

import pytest

from lambdas.score.settings import Backend, BatchPolicy, ScoreSettings, Tiers, TokenPrice
from tests.lambdas.score.lake import policy


def _settings(**overrides: object) -> ScoreSettings:
    values: dict[str, object] = {
        "environment": "dev",
        "processed_uri": "s3://processed/",
        "analytics_uri": "s3://analytics/",
        "runs_uri": "s3://raw/runs/",
        "backend": Backend.BEDROCK,
        "policy": policy(batch=BatchPolicy(enabled=True, min_records_quota_name="q", role_arn="arn:aws:iam::1:role/b")),
    } | overrides
    return ScoreSettings(**values)  # type: ignore[arg-type]  # the test's overrides are loosely typed


def test_the_environment_round_trips_the_whole_policy() -> None:
    settings = _settings()
    assert ScoreSettings.from_env(settings.to_env()) == settings


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SCORING_BACKEND", "gpt", r"SCORING_BACKEND must be one of bedrock, heuristic"),
        ("SCORING_POLICY", "{}", r"SCORING_POLICY is not a scoring policy"),
        ("ANALYTICS_URI", "", r"missing from the environment \(or empty\): ANALYTICS_URI"),
        ("POWERTOOLS_SERVICE_NAME", "verify", r"POWERTOOLS_SERVICE_NAME must be 'score'"),
    ],
)
def test_a_bad_variable_is_named(name: str, value: str, message: str) -> None:
    env = _settings().to_env() | {name: value}
    with pytest.raises(ValueError, match=message):
        ScoreSettings.from_env(env)


def test_costs_tiers_and_the_weighted_score() -> None:
    price = TokenPrice(1.0, 5.0)
    assert price.cost(1_500, 400) == pytest.approx(0.0035)
    assert price.cost(1_500, 400, factor=0.5) == pytest.approx(0.00175)
    tiers = Tiers(high=70, medium=50)
    assert [tiers.of(s, is_opportunity=True) for s in (70, 69.9, 50, 10)] == ["high", "medium", "medium", "low"]
    assert tiers.of(95, is_opportunity=False) == "not_an_opportunity"
    dims = {"market_demand": 100, "pain_intensity": 0, "monetization_potential": 0, "market_gap": 0}
    assert policy().opportunity_score(dims | {"technical_feasibility": 0}) == 25.0


def test_a_policy_refuses_weights_that_do_not_name_the_five_dimensions() -> None:
    with pytest.raises(ValueError, match="weights must name exactly"):
        policy(weights={"market_demand": 1.0})
