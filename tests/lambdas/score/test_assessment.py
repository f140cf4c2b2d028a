"""The answer contract: what counts as quoting the post, and what an answer must hold."""

from __future__ import annotations

import pytest

from lakehouse.tables import OPPORTUNITY_DIMENSIONS
from lambdas.score.assessment import ANSWER_SCHEMA, PostContext, quoted_in, validate_answer

POST = PostContext(
    post_id="p1",
    content_hash="h",
    subreddit="smallbusiness",
    title="Invoicing clients takes me hours every week",
    body="I don\u2019t have time to chase late payments.\nIs there a tool that sends reminders?",
    comments=("Same here, I would pay for this",),
)


@pytest.mark.parametrize(
    "quote",
    [
        "Invoicing clients takes me hours every week",
        "i don't have time to chase   late payments",  # case, straight apostrophe, whitespace
        '"Is there a tool that sends reminders?"',  # quoted
        "I would pay for this",  # a comment
    ],
)
def test_a_quote_of_the_post_or_its_comments_counts(quote: str) -> None:
    assert quoted_in(quote, POST.shown_texts)


@pytest.mark.parametrize(
    "quote",
    [
        "''''''''i",  # a stray letter dressed up as eight characters
        "is there",  # in every other post: proves nothing
        "voicing clients takes me hours",  # not on a word boundary
        "Invoicing clients takes hours every week",  # a word dropped
        "every week I don't have time",  # spans the title and the body
        "Invoicing clients... every week",  # an ellipsis
    ],
)
def test_what_is_not_a_verbatim_quote_does_not_count(quote: str) -> None:
    assert not quoted_in(quote, POST.shown_texts)


def _answer(**overrides: object) -> dict[str, object]:
    return {
        "is_opportunity": True,
        "opportunity_reason": "Recurring invoicing pain for small businesses.",
        **dict.fromkeys(OPPORTUNITY_DIMENSIONS, 60),
        "app_concept": "An invoicing assistant.",
        "core_functions": ["send reminders"],
        "target_user": "small-business owners",
        "evidence": ["Invoicing clients takes me hours every week"],
    } | overrides


def test_a_valid_answer_is_read_and_every_problem_of_an_invalid_one_is_named() -> None:
    answer, errors = validate_answer(_answer(market_gap=70.0), POST)
    assert errors == []
    assert answer is not None
    assert answer.dimensions["market_gap"] == 70

    _, errors = validate_answer(
        _answer(market_demand=150, core_functions=["a", "b", "c", "d"], evidence=["made up words here"], extra=1),
        POST,
    )
    assert any("unknown field 'extra'" in e for e in errors)
    assert any(e.startswith("market_demand: must be within 0..100") for e in errors)
    assert any(e.startswith("core_functions: must hold 0 to 3 items") for e in errors)


def test_an_opportunity_needs_a_concept_a_user_and_a_function_and_a_non_opportunity_does_not() -> None:
    _, errors = validate_answer(_answer(app_concept="", core_functions=[]), POST)
    assert "an opportunity needs an app_concept and a target_user" in errors
    answer, errors = validate_answer(
        _answer(is_opportunity=False, app_concept="", target_user="", core_functions=[]), POST
    )
    assert errors == []
    assert answer is not None


def test_the_tool_schema_requires_every_field_and_no_other() -> None:
    assert set(ANSWER_SCHEMA["required"]) == set(ANSWER_SCHEMA["properties"]) == set(_answer())
    assert ANSWER_SCHEMA["additionalProperties"] is False
