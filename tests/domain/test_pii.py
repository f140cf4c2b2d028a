"""The PII scrubber: what must never leave the raw zone, and what must survive it."""

from __future__ import annotations

import pytest

from lakehouse.domain.pii import DEVELOPMENT_KEY, Pseudonymizer, scrub_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe+work@mail.example.co.uk today", "write to [email] today"),
        ("call +1 555-013-4567 or (555) 123-4567", "call [phone] or [phone]"),
        ("ping u/some_user or /u/Other-User please", "ping u/[user] or u/[user] please"),
        (
            "my insta: instagram.com/jane.doe and https://www.reddit.com/user/jane/",
            "my insta: [personal-link] and [personal-link]",
        ),
        ("linkedin.com/in/jane-doe-123", "[personal-link]"),
    ],
)
def test_personal_data_becomes_placeholders(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Python 3.11.7 was released on 2024-05-01 to 1,000,000 users",
        "order #12345678 costs $19.99",
        "see https://github.com/praw-dev/praw and https://example.com/pricing",
        "r/python is great",
    ],
)
def test_ordinary_text_survives(text: str) -> None:
    assert scrub_text(text) == text


def test_the_authors_own_name_is_replaced_wherever_it_stands() -> None:
    text = "I'm Steve, aka spez. Photos: flickr.com/photos/spez/1. Spezial offers are not me."
    assert (
        scrub_text(text, "spez")
        == "I'm Steve, aka [author]. Photos: flickr.com/photos/[author]/1. Spezial offers are not me."
    )
    assert scrub_text("hi me", "me") == "hi me"  # names shorter than 3 letters are too common to replace


def test_authors_get_stable_keyed_pseudonyms() -> None:
    people = Pseudonymizer(DEVELOPMENT_KEY)
    assert people.author("Jane_Doe") == people.author("jane_doe")
    assert people.author("jane_doe") != Pseudonymizer(b"a-different-key-123").author("jane_doe")
    assert people.author("[deleted]") is None
    assert people.author(None) is None
    with pytest.raises(ValueError, match="16 bytes"):
        Pseudonymizer(b"short")


def test_subreddits_that_name_a_person_are_pseudonymized() -> None:
    people = Pseudonymizer(DEVELOPMENT_KEY)
    assert people.subreddit("Python", "bob") == "python"
    assert people.subreddit("u_Jane") == f"u_{people.author('jane')}"
    assert people.subreddit("janes_place", "janes_place").startswith("u_")
    assert people.scrub_profile_subreddits("/r/Python/comments/a1/x/", "bob") == "/r/Python/comments/a1/x/"
    assert "jane" not in (people.scrub_profile_subreddits("/r/u_jane/comments/a1/x/") or "")
