"""The heuristic backend: what a user of its scores would notice (offline, deterministic, quoting verbatim)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from typing import Any

import pytest

from lambdas.score.assessment import Answer, Budget, PostContext, quoted_in
from lambdas.score.heuristic import HEURISTIC_VERSION, HeuristicBackend, raw_answer
from lambdas.score.settings import Backend
from tests.conftest import PROJECT_ROOT


def _post(post_id: str, subreddit: str, title: str, body: str, *comments: str, **signals: Any) -> PostContext:
    return PostContext(
        post_id=post_id,
        content_hash=f"hash-{post_id}",
        subreddit=subreddit,
        title=title,
        body=body,
        comments=comments,
        created_utc=1_790_000_000.0,
        **signals,
    )


INVOICES = _post(
    "inv1",
    "smallbusiness",
    "Chasing late invoices is costing us clients and hours every week",
    "We run a 6-person bookkeeping agency. Every month I spend 10+ hours manually chasing overdue invoices across "
    "QuickBooks and a spreadsheet. Two clients left last quarter because reminders went out late and it was a "
    "nightmare to sort out.\n\nI've tried three invoicing tools but none of them sync with our CRM, and the ones "
    "that do are too expensive ($300/month). Is there a tool that just sends the reminders automatically? I'd "
    "happily pay for something that works.",
    "Same here, we lose a full day every month to this.",
    "Me too. Our customers ignore emails until the third reminder.",
    "+1, would pay for this tomorrow",
    score=152,
    num_comments=41,
    upvote_ratio=0.94,
    sentiment=-0.81,
    problem_signals=("request", "pain", "wish"),
    keywords=("invoices", "reminders", "quickbooks"),
    has_question=True,
    word_count=96,
)
CHURN = _post(
    "churn1",
    "SaaS",
    "Failed payments are quietly killing our MRR",
    "We're a B2B SaaS at $40k MRR and we lose about $2k every month to failed card payments. Stripe's retries "
    "catch some, but customers churn before anyone notices. Is there a tool that flags at-risk subscribers and "
    "emails them before the card fails? I can't find anything that isn't enterprise pricing. The team is based "
    "in Lisbon.",
    "Same problem here, churn from failed payments is brutal.",
    "We hacked together a script with webhooks, it's a workaround at best.",
    score=64,
    num_comments=23,
    upvote_ratio=0.91,
    sentiment=-0.62,
    problem_signals=("request", "pain"),
    keywords=("churn", "payments", "stripe"),
    has_question=True,
    word_count=58,
)
ALERTS = _post(
    "ops1",
    "devops",
    "Our on call rotation is drowning in duplicate alerts",
    "Every night the same outage fires 40 alerts across three monitoring tools and whoever is on call spends "
    "hours working out which one matters. We are burned out. How do other teams deal with this?",
    "Same here, we have this exact problem with our monitoring.",
    score=88,
    num_comments=30,
    upvote_ratio=0.95,
    sentiment=-0.55,
    problem_signals=("help", "pain"),
    keywords=("alerts", "on call"),
    has_question=True,
    word_count=44,
)
HOBBY_WISH = _post(
    "wood1",
    "woodworking",
    "Would be nice to have an app to track my wood stash",
    "Just curious if anyone made a little app for this, it would be nice for fun. Not a big deal, I use a notebook.",
    "Just use a spreadsheet lol",
    score=3,
    num_comments=1,
    upvote_ratio=0.8,
    sentiment=0.7,
    problem_signals=("wish",),
    word_count=30,
)
JOKE = _post(
    "joke1",
    "SaaS",
    "My SaaS has zero users lol, is there a tool to make users appear?",
    "Asking for a friend lmao /s",
    "Have you tried turning it off and on again",
    score=512,
    num_comments=80,
    upvote_ratio=0.97,
    sentiment=-0.2,
    problem_signals=("request",),
    has_question=True,
)
REMOVED = _post(
    "rm1",
    "smallbusiness",
    "Losing clients because our booking system keeps failing",
    "[removed]",
    score=40,
    num_comments=12,
    upvote_ratio=0.9,
    sentiment=-0.5,
    problem_signals=("pain",),
)
PERSONAL = _post(
    "love1",
    "relationships",
    "My girlfriend and I can't agree on anything, it's a nightmare",
    "We've been dating for two years and every week it's the same fight about chores. I'm desperate, what do I do?",
    "Same here, my wife and I went to counselling.",
    score=230,
    num_comments=95,
    upvote_ratio=0.96,
    sentiment=-0.7,
    problem_signals=("help", "pain"),
    has_question=True,
)
DEVICE = _post(
    "med1",
    "Entrepreneur",
    "Is there a device that tracks medication for elderly patients?",
    "My clinic loses hours every week because patients forget their medication. We looked for a device, but "
    "anything medical needs FDA clearance and hardware we can't build. Is there anything out there?",
    score=35,
    num_comments=9,
    upvote_ratio=0.9,
    sentiment=-0.4,
    problem_signals=("request", "pain"),
    has_question=True,
)
LONG_SENTENCE = _post(
    "long1",
    "smallbusiness",
    "Inventory is a mess",
    "So we sell on Shopify and Amazon and also at two weekend markets and every time a product sells out in one "
    "place we have to log into the other channels and change the stock levels by hand because none of the apps "
    "we tried keep them in sync reliably and the one that came closest charges per order which for our margins "
    "is too expensive and honestly it has turned into a nightmare that eats every Sunday evening while we "
    "reconcile the spreadsheet against what actually shipped and what the suppliers still owe us",
    score=25,
    num_comments=7,
    upvote_ratio=0.88,
    sentiment=-0.45,
    problem_signals=("pain",),
    word_count=95,
)
POSTS = (INVOICES, CHURN, ALERTS, HOBBY_WISH, JOKE, REMOVED, PERSONAL, DEVICE, LONG_SENTENCE)
OPPORTUNITIES = (INVOICES, CHURN, ALERTS, LONG_SENTENCE)

BACKEND = HeuristicBackend()


def _answer(post: PostContext) -> Answer:
    assessment = BACKEND.assess(post, Budget(1.0))
    assert assessment.answer is not None, assessment.failure
    return assessment.answer


def test_a_business_losing_money_outscores_a_hobbyists_wish() -> None:
    strong, mild = _answer(INVOICES), _answer(HOBBY_WISH)

    assert strong.is_opportunity
    assert not mild.is_opportunity
    assert strong.dimensions["pain_intensity"] >= 80 > 30 >= mild.dimensions["pain_intensity"]
    assert strong.dimensions["monetization_potential"] >= 70 > 30 >= mild.dimensions["monetization_potential"]
    assert strong.dimensions["market_demand"] > mild.dimensions["market_demand"]


@pytest.mark.parametrize(
    ("post", "why"),
    [(JOKE, "joke"), (REMOVED, "removed"), (PERSONAL, "personal life")],
    ids=["joke", "removed", "personal"],
)
def test_jokes_removed_and_personal_posts_are_not_opportunities(post: PostContext, why: str) -> None:
    answer = _answer(post)

    assert not answer.is_opportunity
    assert why in answer.opportunity_reason
    assert (answer.app_concept, answer.core_functions, answer.target_user) == ("", (), "")
    assert answer.evidence


def test_an_opportunity_gets_a_concept_a_user_and_a_reason_naming_its_rules() -> None:
    answer = _answer(INVOICES)

    assert "invoic" in answer.app_concept
    assert answer.target_user == "small-business owners"
    assert answer.core_functions[0] == "Send invoices and chase overdue payments automatically"
    assert "intensity words" in answer.opportunity_reason
    assert "3 echoing comments" in answer.opportunity_reason


def test_a_weak_problem_says_which_threshold_it_missed() -> None:
    answer = _answer(HOBBY_WISH)

    assert answer.opportunity_reason.startswith("Not an opportunity: pain ")
    assert "is below 40" in answer.opportunity_reason


def test_the_same_post_gets_the_same_answer() -> None:
    assert BACKEND.assess(CHURN, Budget(1.0)) == BACKEND.assess(CHURN, Budget(1.0))
    assert raw_answer(INVOICES) == raw_answer(INVOICES)


def test_the_answer_does_not_depend_on_the_process_hash_seed() -> None:
    # Word sets are iterated: the answer must not follow their order, which changes with PYTHONHASHSEED.
    script = (
        "import json\n"
        "from lambdas.score.heuristic import raw_answer\n"
        "from tests.lambdas.score.test_heuristic import POSTS\n"
        "print(json.dumps([raw_answer(post) for post in POSTS]))\n"
    )
    outputs = set()
    for seed in ("1", "2", "3"):
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        outputs.add(result.stdout)
    assert outputs == {json.dumps([raw_answer(post) for post in POSTS]) + "\n"}


@pytest.mark.parametrize("post", POSTS, ids=lambda post: post.post_id)
def test_every_answer_validates_and_quotes_what_was_shown(post: PostContext) -> None:
    answer = _answer(post)

    assert 1 <= len(answer.evidence) <= 3
    for quote in answer.evidence:
        assert 8 <= len(quote) <= 300
        assert quoted_in(quote, post.shown_texts)
        assert any(quote in text for text in post.shown_texts)  # verbatim, not merely equal up to case
    assert len(set(answer.evidence)) == len(answer.evidence)


def test_evidence_is_the_sentence_that_fired_the_strongest_rules() -> None:
    evidence = _answer(CHURN).evidence

    assert "I can't find anything that isn't enterprise pricing." in evidence
    assert len(evidence) == 3
    assert "The team is based in Lisbon." not in evidence  # no rule fired there


def test_a_long_sentence_is_trimmed_at_word_boundaries_around_the_rule_that_fired() -> None:
    body = LONG_SENTENCE.body
    (quote, *_) = [q for q in _answer(LONG_SENTENCE).evidence if q in body]
    start = body.index(quote)
    end = start + len(quote)

    assert len(quote) <= 300 < len(body)
    assert "nightmare" in quote  # the strongest rule of the sentence, near its end
    assert not body.startswith(quote)
    assert start == 0 or body[start - 1] == " "
    assert end == len(body) or body[end] == " "


def test_core_functions_follow_the_needs_found_not_a_fixed_count() -> None:
    counts = {post.post_id: len(_answer(post).core_functions) for post in OPPORTUNITIES}

    assert counts["ops1"] == 1  # only alerting
    assert counts["inv1"] == 3  # invoicing, data entry, integrations
    assert len(set(counts.values())) >= 2
    assert all(1 <= count <= 3 for count in counts.values())


def test_a_comment_naming_a_product_narrows_the_gap() -> None:
    answered = replace(ALERTS, comments=("Just use PagerDuty, it does exactly this.", "Try Opsgenie."))

    before, after = _answer(ALERTS).dimensions["market_gap"], _answer(answered).dimensions["market_gap"]

    assert after <= before - 20


def test_hardware_and_regulation_lower_feasibility() -> None:
    assert _answer(DEVICE).dimensions["technical_feasibility"] <= 30
    assert _answer(CHURN).dimensions["technical_feasibility"] >= 60


def test_nothing_quotable_is_not_an_opportunity_and_no_quote_is_invented() -> None:
    post = _post("tiny", "SaaS", "Captcha Help", "", problem_signals=("help",))

    assessment = BACKEND.assess(post, Budget(1.0))

    assert assessment.answer is not None
    assert assessment.answer.is_opportunity is False
    assert assessment.answer.evidence == ()
    assert "too little text" in assessment.answer.opportunity_reason


def test_scoring_is_free_and_leaves_the_budget_alone() -> None:
    budget = Budget(0.0)  # not even a cent: the heuristic still scores

    assessment = BACKEND.assess(INVOICES, budget)

    assert BACKEND.backend is Backend.HEURISTIC
    assert BACKEND.model_id == f"heuristic-{HEURISTIC_VERSION}"
    assert BACKEND.reservation_usd(INVOICES) == 0.0
    assert assessment.status == "scored"
    assert (assessment.model_calls, assessment.input_tokens, assessment.output_tokens) == (1, 0, 0)
    assert assessment.cost_usd == 0.0
    assert (budget.spent_usd, budget.exhausted) == (0.0, False)
