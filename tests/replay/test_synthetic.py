"""The synthetic corpus: deterministic, time-consistent, and realistic where the stages look."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator

import pytest

from lakehouse_tools.replay.corpus import JsonObject, SubredditIndex, open_corpus
from lakehouse_tools.replay.synthetic import DAY, DEFAULT_PROFILES, SyntheticCorpus

ID = re.compile(r"[1-9a-z][0-9a-z]{5,6}")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)*\.\w+")
PHONE = re.compile(r"(\+\d{1,2}[ (]|\b0\d{4} |\b\d{3}-555-)")
MENTION = re.compile(r"(?<![\w/])u/[\w-]+")
FICTIONAL_EMAIL = re.compile(r"@([\w-]+\.)*example\.(com|org|net)$")
PROBLEM_WORDS = re.compile(r"problem|pain|struggl|wish|frustrat|can't|headache", re.IGNORECASE)


@pytest.fixture(scope="module")
def corpus() -> SyntheticCorpus:
    return SyntheticCorpus(seed=42, posts=4000)


@pytest.fixture(scope="module")
def late(corpus: SyntheticCorpus) -> float:
    """Long after the last post: every comment, edit and deletion has happened."""
    return corpus.end + 14 * DAY


def _sample(corpus: SyntheticCorpus, every: int) -> Iterator[str]:
    for n, post_id in enumerate(corpus.post_ids()):
        if n % every == 0:
            yield post_id


def _created(corpus: SyntheticCorpus, post_id: str) -> float:
    created = corpus.created_utc(post_id)
    assert created is not None
    return created


def _post(corpus: SyntheticCorpus, post_id: str, now: float) -> JsonObject:
    post = corpus.submission(post_id, now)
    assert post is not None
    return post


def _index(corpus: SyntheticCorpus, name: str) -> SubredditIndex:
    index = corpus.index(name)
    assert index is not None
    return index


def _busiest(corpus: SyntheticCorpus, late: float, n: int) -> list[str]:
    """The posts with the most comments among a sample: where thread behaviour shows."""
    counts = {post_id: _post(corpus, post_id, late)["num_comments"] for post_id in _sample(corpus, 7)}
    return sorted(counts, key=counts.__getitem__, reverse=True)[:n]


# -- determinism ------------------------------------------------------------------------------


def test_same_seed_same_objects() -> None:
    a, b = SyntheticCorpus(seed=7, posts=1500), SyntheticCorpus(seed=7, posts=1500)
    assert a.subreddits() == b.subreddits()
    for name in a.subreddits():
        left, right = a.index(name), b.index(name)
        assert left is not None
        assert right is not None
        assert (left.ids, left.created) == (right.ids, right.created)
    for post_id in _sample(a, 25):
        created = _created(a, post_id)
        for now in (created, created + 3600, a.end + DAY):
            assert a.submission(post_id, now) == b.submission(post_id, now)
            assert a.comments(post_id, now) == b.comments(post_id, now)
        assert a.label(post_id) == b.label(post_id)


def test_different_seeds_differ() -> None:
    a, b = SyntheticCorpus(seed=7, posts=500), SyntheticCorpus(seed=8, posts=500)
    assert list(a.post_ids()) != list(b.post_ids())
    titles_a = [_post(a, i, a.end)["title"] for i in list(a.post_ids())[:50]]
    titles_b = [_post(b, i, b.end)["title"] for i in list(b.post_ids())[:50]]
    assert sum(x != y for x, y in zip(titles_a, titles_b, strict=True)) > 25


def test_objects_do_not_depend_on_what_was_asked_before() -> None:
    """Rendering is a pure function of (seed, post, now): caches must not leak state between calls."""
    fresh, warmed = SyntheticCorpus(seed=9, posts=300), SyntheticCorpus(seed=9, posts=300)
    ids = list(warmed.post_ids())
    for post_id in reversed(ids):
        warmed.comments(post_id, warmed.end + DAY)
    for post_id in ids[::10]:
        assert fresh.submission(post_id, fresh.end) == warmed.submission(post_id, warmed.end)
        assert fresh.comments(post_id, fresh.end) == warmed.comments(post_id, warmed.end)


# -- size and shape ----------------------------------------------------------------------------


@pytest.mark.parametrize("posts", [0, 1, 57, 2500])
def test_posts_gives_exactly_n(posts: int) -> None:
    corpus = SyntheticCorpus(seed=1, posts=posts)
    assert corpus.post_count == posts
    listed = sum(len(_index(corpus, name).ids) for name in corpus.subreddits())
    assert listed == posts
    assert len(set(corpus.post_ids())) == posts


def test_default_corpus_has_realistic_relative_rates() -> None:
    corpus = SyntheticCorpus(seed=1)
    sizes = {name: len(_index(corpus, name).ids) for name in corpus.subreddits()}
    expected = sum(p.posts_per_day for p in DEFAULT_PROFILES) * corpus.days
    assert abs(corpus.post_count - expected) < 5 * expected**0.5
    assert len(sizes) == len(DEFAULT_PROFILES) >= 6
    assert max(sizes, key=sizes.__getitem__) == "AskReddit"
    assert min(sizes, key=sizes.__getitem__) == "dataengineering"
    assert sizes["AskReddit"] > 20 * sizes["dataengineering"]


def test_posting_follows_a_daily_cycle() -> None:
    corpus = SyntheticCorpus(seed=2, posts=20_000)
    created = [t for name in corpus.subreddits() for t in _index(corpus, name).created]
    hours = Counter(int(t % DAY // 3600) for t in created)
    assert max(hours.values()) > 2 * min(hours.values())
    assert all(corpus.start <= t <= corpus.end for t in created)


def test_subreddits_match_case_insensitively() -> None:
    corpus = SyntheticCorpus(seed=1, subreddits=["busy", "Python", "python", "SaaS"], posts=100)
    assert corpus.subreddits() == ["busy", "Python", "SaaS"]
    index = corpus.index("python")
    assert index is not None
    assert index is corpus.index("PYTHON")
    assert index.name == "Python"
    assert corpus.index("nope") is None
    with pytest.raises(ValueError, match="subreddit"):
        SyntheticCorpus(subreddits=["not a name"])
    with pytest.raises(ValueError, match="subreddit"):
        SyntheticCorpus(subreddits=[])


def test_ids_are_unique_base36_and_grow_with_time(corpus: SyntheticCorpus) -> None:
    ids = list(corpus.post_ids())
    assert all(ID.fullmatch(post_id) for post_id in ids)
    numbers = [int(post_id, 36) for post_id in ids]
    assert numbers == sorted(set(numbers))
    created = [_created(corpus, post_id) for post_id in ids]
    assert created == sorted(created)
    for name in corpus.subreddits():
        index = corpus.index(name)
        assert index is not None
        assert index.created == sorted(index.created)
        assert [int(i, 36) for i in index.ids] == sorted(int(i, 36) for i in index.ids)


# -- time ---------------------------------------------------------------------------------------


def test_nothing_is_visible_before_it_exists(corpus: SyntheticCorpus) -> None:
    for post_id in _sample(corpus, 97):
        created = _created(corpus, post_id)
        assert corpus.submission(post_id, created - 1) is None
        assert corpus.comments(post_id, created - 1) == []
        post = corpus.submission(post_id, created)
        assert post is not None
        assert post["created_utc"] == created
        assert post["num_comments"] == 0


@pytest.mark.parametrize("bad", ["", "zzzzzzz", "0abcdef", "ABCDEFG", "t3_1xduru6", " 1xdur", "1_xdur", "1xdur\n"])
def test_unknown_ids_are_none(corpus: SyntheticCorpus, bad: str) -> None:
    assert corpus.submission(bad, corpus.end) is None
    assert corpus.comments(bad, corpus.end) == []
    assert corpus.label(bad) is None


def test_listing_follows_now(corpus: SyntheticCorpus) -> None:
    index = _index(corpus, "askreddit")
    for n in (0, 10, len(index.ids) // 2, len(index.ids) - 1):
        now = index.created[n]
        visible = index.visible_count(now)
        assert visible >= n + 1
        assert corpus.submission(index.ids[visible - 1], now) is not None
        if visible < len(index.ids):
            assert corpus.submission(index.ids[visible], now) is None
    assert index.visible_count(corpus.start - 1) == 0
    assert index.visible_count(corpus.end) == len(index.ids)


def test_num_comments_counts_the_visible_comments(corpus: SyntheticCorpus, late: float) -> None:
    busiest = _busiest(corpus, late, 25)
    assert _post(corpus, busiest[0], late)["num_comments"] >= 20
    for post_id in busiest:
        created = _created(corpus, post_id)
        previous = -1
        for now in (created, created + 600, created + 3 * 3600, created + DAY, late):
            post = corpus.submission(post_id, now)
            comments = corpus.comments(post_id, now)
            assert post is not None
            assert post["num_comments"] == len(comments) >= previous
            previous = len(comments)
        assert previous > 0


def test_comment_threads_are_consistent(corpus: SyntheticCorpus, late: float) -> None:
    seen: set[str] = set()
    replies = 0
    for post_id in _busiest(corpus, late, 25):
        created = _created(corpus, post_id)
        comments = corpus.comments(post_id, late)
        times = [c["created_utc"] for c in comments]
        assert times == sorted(times)
        assert all(created < t <= late for t in times)
        earlier: dict[str, int] = {}
        for comment in comments:
            assert comment["link_id"] == f"t3_{post_id}"
            assert comment["name"] == f"t1_{comment['id']}"
            assert ID.fullmatch(comment["id"])
            parent = comment["parent_id"]
            if parent.startswith("t1_"):
                assert parent[3:] in earlier
                assert comment["depth"] == earlier[parent[3:]] + 1
                replies += 1
            else:
                assert parent == f"t3_{post_id}"
                assert comment["depth"] == 0
            earlier[comment["id"]] = comment["depth"]
            assert comment["permalink"].startswith(f"/r/{comment['subreddit']}/comments/{post_id}/")
        assert not seen & earlier.keys()
        seen |= earlier.keys()
    assert replies > 0


def test_scores_never_go_down(corpus: SyntheticCorpus, late: float) -> None:
    grew = 0
    for post_id in _sample(corpus, 40):
        created = _created(corpus, post_id)
        nows = [created + offset for offset in (0, 60, 900, 3600, 4 * 3600, DAY, 3 * DAY)] + [late]
        scores = [_post(corpus, post_id, now)["score"] for now in nows]
        assert scores == sorted(scores)
        grew += scores[-1] > scores[0]
        by_comment: dict[str, list[int]] = {}
        for now in nows:
            for comment in corpus.comments(post_id, now):
                by_comment.setdefault(comment["id"], []).append(comment["score"])
        assert all(s == sorted(s) for s in by_comment.values())
    assert grew > 10


def test_edits_and_deletions_appear_only_once_they_happened(corpus: SyntheticCorpus, late: float) -> None:
    edited = deleted = removed = 0
    for post_id in _sample(corpus, 3):
        final = corpus.submission(post_id, late)
        assert final is not None
        created = final["created_utc"]
        if final["edited"] is not False:
            edited += 1
            assert isinstance(final["edited"], float)
            assert created < final["edited"] <= late
            before = corpus.submission(post_id, final["edited"] - 1)
            assert before is not None
            assert before["edited"] is False
        if final["author"] == "[deleted]":
            deleted += 1
            assert "author_fullname" not in final
            assert final["removed_by_category"] == "deleted"
            first = corpus.submission(post_id, created)
            assert first is not None
            assert first["author"] != "[deleted]"
            assert "author_fullname" in first
        if final["selftext"] == "[removed]":
            removed += 1
            assert final["removed_by_category"] == "moderator"
            assert final["author"] != "[deleted]"
    assert edited > 5
    assert deleted > 5
    assert removed > 5


def test_deleted_and_removed_comments_exist(corpus: SyntheticCorpus, late: float) -> None:
    bodies = Counter[str]()
    for post_id in _busiest(corpus, late, 40):
        for comment in corpus.comments(post_id, late):
            if comment["author"] == "[deleted]":
                assert "author_fullname" not in comment
                bodies[comment["body"]] += 1
    assert bodies["[deleted]"] > 0
    assert bodies["[removed]"] > 0


# -- content ------------------------------------------------------------------------------------


def test_problem_posts_are_a_realistic_share(corpus: SyntheticCorpus) -> None:
    labels = [corpus.label(post_id) for post_id in corpus.post_ids()]
    kinds = Counter(label.kind for label in labels if label is not None)
    share = kinds["problem"] / corpus.post_count
    assert 0.15 <= share <= 0.25
    assert kinds["decoy"] > 0.03 * corpus.post_count
    assert len(kinds) >= 6


def test_decoys_use_problem_words_without_being_problems(corpus: SyntheticCorpus) -> None:
    decoys = [i for i in corpus.post_ids() if (label := corpus.label(i)) is not None and label.kind == "decoy"]
    worded = [i for i in decoys if PROBLEM_WORDS.search(_post(corpus, i, corpus.end + DAY)["title"])]
    assert len(worded) > len(decoys) / 3


def _pii_kind(value: str) -> str:
    if "@" in value:
        return "email"
    if value.startswith("u/"):
        return "mention"
    if value.startswith("https://"):
        return "link"
    assert PHONE.match(value), value
    return "phone"


def test_pii_is_planted_in_some_posts_and_comments(corpus: SyntheticCorpus, late: float) -> None:
    planted = 0
    kinds: Counter[str] = Counter()
    for post_id in corpus.post_ids():
        label = corpus.label(post_id)
        assert label is not None
        if not label.pii:
            continue
        planted += 1
        post = _post(corpus, post_id, _created(corpus, post_id))  # before any edit or deletion
        text = post["title"] + "\n" + post["selftext"]
        for value in label.pii:
            assert value in text
            kinds[_pii_kind(value)] += 1
        for email in EMAIL.finditer(text):
            assert FICTIONAL_EMAIL.search(email.group()), email.group()
    assert 0.02 * corpus.post_count < planted < 0.2 * corpus.post_count
    assert set(kinds) == {"email", "phone", "mention", "link"}
    bodies = [c["body"] for i in _busiest(corpus, late, 40) for c in corpus.comments(i, late)]
    assert any(EMAIL.search(body) or PHONE.search(body) or MENTION.search(body) for body in bodies)
    assert all(FICTIONAL_EMAIL.search(e.group()) for body in bodies for e in EMAIL.finditer(body))


def test_unicode_appears(corpus: SyntheticCorpus) -> None:
    texts = [
        post["title"] + post["selftext"]
        for i in _sample(corpus, 2)
        if (post := corpus.submission(i, _created(corpus, i))) is not None
    ]
    non_ascii = [t for t in texts if not t.isascii()]
    assert 0.03 * len(texts) < len(non_ascii) < 0.3 * len(texts)
    assert any(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", t) for t in non_ascii)  # CJK
    assert any(re.search(r"[\U0001F300-\U0001FAFF]", t) for t in non_ascii)  # emoji


def test_authors_come_from_a_pool(corpus: SyntheticCorpus, late: float) -> None:
    fullname_of: dict[str, str] = {}
    posts_by = Counter[str]()
    for post_id in _sample(corpus, 2):
        post = _post(corpus, post_id, _created(corpus, post_id))
        author = post["author"]
        posts_by[author] += 1
        assert fullname_of.setdefault(author, post["author_fullname"]) == post["author_fullname"]
    assert len(posts_by) > 100
    assert posts_by.most_common(1)[0][1] >= 3  # some people post a lot


# -- wire format --------------------------------------------------------------------------------


def test_objects_are_json_and_typed_like_reddit(corpus: SyntheticCorpus, late: float) -> None:
    for post_id in _sample(corpus, 40):
        for now in (_created(corpus, post_id) + 7200, late):
            post = _post(corpus, post_id, now)
            assert json.loads(json.dumps(post, allow_nan=False)) == post
            assert 90 <= len(post) <= 110
            assert post["id"] == post_id
            assert post["name"] == f"t3_{post_id}"
            assert isinstance(post["created_utc"], float)
            assert post["created"] == post["created_utc"]
            assert isinstance(post["score"], int)
            assert post["ups"] == post["score"]
            assert isinstance(post["upvote_ratio"], float)
            assert 0.5 <= post["upvote_ratio"] <= 1.0
            assert isinstance(post["num_comments"], int)
            assert post["edited"] is False or isinstance(post["edited"], float)
            for flag in ("is_self", "over_18", "spoiler", "stickied", "locked", "is_video"):
                assert isinstance(post[flag], bool)
            assert post["subreddit_name_prefixed"] == f"r/{post['subreddit']}"
            assert post["subreddit_id"].startswith("t5_")
            assert post["permalink"].startswith(f"/r/{post['subreddit']}/comments/{post_id}/")
            assert post["url"].startswith("https://")
            if post["is_self"]:
                assert post["domain"] == f"self.{post['subreddit']}"
                assert (post["selftext_html"] is None) == (post["selftext"] == "")
            else:
                assert post["selftext"] == ""
                assert post["domain"] in post["url"]
            comments = corpus.comments(post_id, now)
            assert json.loads(json.dumps(comments, allow_nan=False)) == comments
            for comment in comments:
                assert 60 <= len(comment) <= 80
                assert isinstance(comment["created_utc"], float)
                assert isinstance(comment["score"], int)
                assert comment["body_html"].startswith('<div class="md">')


def test_open_corpus_builds_a_synthetic_corpus() -> None:
    corpus = open_corpus("synthetic:4", posts=50, days=2)
    assert isinstance(corpus, SyntheticCorpus)
    assert corpus.post_count == 50
    assert corpus.seed == 4


def test_a_hundred_thousand_posts_build() -> None:
    corpus = SyntheticCorpus(seed=3, posts=100_000)
    assert corpus.post_count == 100_000
    total = 0
    for name in corpus.subreddits():
        index = _index(corpus, name)
        total += index.visible_count(corpus.end)
        assert _post(corpus, index.ids[-1], corpus.end)["subreddit"] == name
    assert total == 100_000
