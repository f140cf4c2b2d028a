"""``bench/score_cost.py``: token counting per request and cost arithmetic, on hand-made posts.

A whitespace word count stands in for the tokenizer, so the arithmetic is checked by hand and needs no
optional package; one test runs Claude's published tokenizer where it is installed and cached.
"""

from __future__ import annotations

import json
from dataclasses import replace
from string import Template

import pytest

from bench.score_cost import (
    HIDDEN_TOOL_PROMPT_TOKENS,
    PostTokens,
    answer_json,
    claude_tokenizer,
    cost_row,
    full_comments_tokens,
    heuristic_answers,
    longest_answer,
    measure,
    percentile,
    ratio_lines,
    request_parts,
    tool_definition,
    usd_per_thousand,
)
from lambdas.score.assessment import ANSWER_FIELDS, PostContext, validate_answer
from lambdas.score.prompt import Prompt
from lambdas.score.settings import BatchPolicy, TokenPrice
from tests.conftest import DEV


def words(text: str) -> int:
    return len(text.split())


PROMPT = Prompt(
    version="test",
    system="You judge one post.",  # 4 words
    user_template=Template("r/$subreddit\n$title\n$body\n$comments"),
)
POSTS = (
    PostContext(
        post_id="t3_a",
        content_hash="a",
        subreddit="smallbusiness",
        title="Chasing unpaid invoices every week",  # 5 words
        body="I spend hours every week reminding clients to pay. Is there a tool for this?",  # 15 words
        comments=("Same here, it is a nightmare.", "We pay for a reminder app."),  # "- " + 6, "- " + 6
        problem_signals=("pain",),
    ),
    PostContext(post_id="t3_b", content_hash="b", subreddit="python", title="Slow import", body=""),
)
# r/<sub> 1 + title + body + comments ("(no comments)" is 2 words; an empty body shows "(no body)", 2 words)
USER_WORDS = {"t3_a": 1 + 5 + 15 + 14, "t3_b": 1 + 2 + 2 + 2}


def test_input_is_system_prompt_tool_hidden_prompt_and_the_user_message() -> None:
    parts = request_parts(PROMPT, words, "anthropic")
    assert (parts.system, parts.hidden) == (4, HIDDEN_TOOL_PROMPT_TOKENS["anthropic"]) == (4, 313)
    assert parts.tool == words(tool_definition()) > 100  # the whole schema goes with every call
    assert request_parts(PROMPT, words, "nova").hidden == 0

    tokens = {t.post_id: t for t in measure(POSTS, PROMPT, words, parts, heuristic_answers(POSTS))}

    for post_id, user in USER_WORDS.items():
        assert tokens[post_id].input_tokens == 4 + parts.tool + 313 + user
    assert (tokens["t3_a"].comments, tokens["t3_b"].comments) == (2, 0)
    # The scorer's own estimate (characters / 3.5) is what its budget reserves; kept for the comparison.
    assert tokens["t3_a"].estimated_input == PROMPT.estimated_input_tokens(POSTS[0], len(tool_definition()))


def test_output_is_the_heuristic_answer_written_as_the_tools_input() -> None:
    answers = heuristic_answers(POSTS)
    parts = request_parts(PROMPT, words, "nova")
    tokens = {t.post_id: t for t in measure(POSTS, PROMPT, words, parts, answers)}

    for post in POSTS:
        answer = answers[post.post_id]
        assert answer is not None
        written = answer_json(answer)
        assert list(json.loads(written)) == [spec.name for spec in ANSWER_FIELDS]
        assert validate_answer(json.loads(written), post) == (answer, [])  # what a model would have sent
        assert tokens[post.post_id].output_tokens == words(written)

    none = measure(POSTS[:1], PROMPT, words, parts, {})  # no answer: the output is not sized
    assert none[0].output_tokens is None


def test_cost_per_thousand_posts_on_demand_batch_and_worst_case() -> None:
    price = TokenPrice(input_usd_per_million=1.0, output_usd_per_million=5.0)
    assert usd_per_thousand(price, 2_000, 200) == pytest.approx(3.0)  # 1,000 x (0.002 + 0.001)
    assert usd_per_thousand(price, 2_000, 200, 0.5) == pytest.approx(1.5)

    policy = replace(
        DEV.llm.policy,
        model_id="anthropic.claude-test",
        price=price,
        budget_usd_per_run=0.5,
        max_output_tokens=900,
        batch=BatchPolicy(enabled=True, min_records_quota_name="quota"),
    )
    tokens = [
        PostTokens("t3_1", 1_000, 100, 1_100, 0),
        PostTokens("t3_2", 2_000, 200, 2_200, 1),
        PostTokens("t3_3", 3_000, None, 3_300, 2),  # no answer: left out of the output mean
    ]
    row = cost_row("lake", "prod", policy, tokens)

    assert (row.posts, row.answered, row.comments_mean) == (3, 2, 1.0)
    assert (row.input_mean, row.input_p50, row.input_p95, row.output_mean) == (2_000, 2_000, 3_000, 150)
    assert row.usd_on_demand == pytest.approx((2_000 * 1.0 + 150 * 5.0) / 1_000)  # 2.75
    assert row.usd_batch == pytest.approx(2.75 / 2)
    assert row.usd_as_configured == row.usd_batch
    assert row.usd_worst == pytest.approx((3_000 * 1.0 + 900 * 5.0) / 1_000)  # 7.5
    assert row.reservation_usd == pytest.approx((2_200 * 1.0 + 900 * 5.0) / 1_000_000)

    on_demand = cost_row("lake", "dev", replace(policy, batch=BatchPolicy()), tokens)
    assert on_demand.usd_batch is None
    assert on_demand.usd_as_configured == on_demand.usd_on_demand
    cheap = cost_row("lake", "dev", replace(policy, price=TokenPrice(0.1, 0.5), batch=BatchPolicy()), tokens)
    assert ratio_lines([cheap, row]) == [
        "lake: prod / dev: on demand x10.0, as configured x5.0 (batch vs on demand), worst case x10.0"
    ]
    with pytest.raises(ValueError, match="no problem posts"):
        cost_row("lake", "dev", policy, [])


def test_percentile_is_nearest_rank() -> None:
    assert percentile(list(range(1, 21)), 0.95) == 19
    assert percentile(list(range(1, 21)), 0.50) == 10
    assert percentile([7], 0.95) == 7


def test_bounds_longest_answer_and_full_comments() -> None:
    longest = json.loads(longest_answer(PROMPT.system + " and every other word of a rubric"))
    for spec in ANSWER_FIELDS:
        value = longest[spec.name]
        if spec.kind == "string":
            assert 0 < len(value) <= (spec.maximum or 0)
        elif spec.kind == "string_array":
            assert len(value) == spec.maximum
            assert all(0 < len(item) <= (spec.item_max or 0) for item in value)

    added = full_comments_tokens(PROMPT, words, DEV.llm.policy, "one two three four five six seven")
    assert added > DEV.llm.policy.top_comments * 50  # five comments of ~420 characters each


def test_claudes_published_tokenizer_counts_where_installed() -> None:
    pytest.importorskip("tokenizers", reason="optional: .venv/bin/pip install tokenizers (bench/score_cost.py)")
    try:
        count = claude_tokenizer(download=False)
    except FileNotFoundError as exc:
        pytest.skip(f"Claude's tokenizer.json is not cached yet: {exc}")
    assert count("Hello, Claude. Is there a tool for invoicing?") == 13
    assert count("") == 0
