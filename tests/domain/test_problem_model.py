"""The learned half of the problem flag: how it reads a post, and that the shipped weights are the trained ones."""

from __future__ import annotations

import pytest

from bench.problem_rule import measure
from lakehouse.domain import problem_model
from lakehouse.domain.problem_rule import LEARNED, _normalise, match_problem, normalised


def test_title_words_are_told_from_body_words() -> None:
    words = problem_model.tokens(_normalise("help me"), _normalise("help"))
    assert words == ["^help", "^me", "help"]
    assert problem_model.features(words) == ["^help", "^me", "help", "^help ^me", "^me help"]
    # The normalisation turns the mark into a space: no body word can pass for a title word.
    assert problem_model.TITLE_MARK not in _normalise("a ^help ^^ b")


def test_a_situation_the_phrases_miss_is_admitted_by_the_model() -> None:
    # d006 (r/SaaS): lifetime-deal customers swamp support; judged a problem by both judges, and told
    # as a story without one of the phrases.
    posts = {post.id: post for post in measure.load_domain_posts()[0]}
    story = posts["d006"]
    assert story.label
    assert not match_problem(story.title, story.body, learned=False).is_problem
    match = match_problem(story.title, story.body)
    assert match.is_problem
    assert match.signals[-1] == LEARNED


def test_the_model_only_adds_posts_to_what_the_phrases_flag() -> None:
    for post in measure.synthetic_posts(300):
        if match_problem(post.title, post.body, learned=False).is_problem:
            assert match_problem(post.title, post.body) == match_problem(post.title, post.body, learned=False)


@pytest.mark.real_corpus
def test_the_shipped_weights_are_what_training_on_the_labels_gives() -> None:
    if not measure.REAL_CORPUS.exists():
        pytest.skip(f"real corpus absent: {measure.REAL_CORPUS} (only ../shared checkouts have it)")
    from bench.problem_rule import classifier

    sets = measure.labelled_sets()
    trained = classifier.train(classifier.development(sets))
    posts = [post for labelled in sets.values() for post in labelled]
    expected = trained.model.decision_function(trained.vectorizer.transform(posts))
    for post, logit in zip(posts, expected, strict=True):
        served = problem_model.decision(problem_model.tokens(*normalised(post.title, post.body)))
        assert served == pytest.approx(float(logit), abs=1e-9), post.id
