"""The replay server as real praw sees it: paging, /api/info, comments, rate limits, faults, clock."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import prawcore
import pytest

from lakehouse_tools.replay.corpus import DirectoryCorpus, sortable_created
from lakehouse_tools.replay.server import ReplayOptions, ReplayServer
from lakehouse_tools.replay.synthetic import SyntheticCorpus
from tests.conftest import StartReplay, praw_client


def _get(server: ReplayServer, path: str) -> tuple[int, dict[str, str], object]:
    try:
        with urllib.request.urlopen(server.url + path, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def _post(server: ReplayServer, path: str, body: object) -> object:
    request = urllib.request.Request(server.url + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.real_corpus
def test_praw_pages_through_every_askreddit_post_in_pages_of_100(
    real_corpus: DirectoryCorpus, replay_server: StartReplay
) -> None:
    server = replay_server(real_corpus)
    reddit = praw_client(server)

    posts = list(reddit.subreddit("AskReddit").new(limit=None))

    expected = set(real_corpus.index("AskReddit").ids)
    assert len(posts) == 547
    assert {p.id for p in posts} == expected
    created = [p.created_utc for p in posts]
    assert created == sorted(created, reverse=True)
    assert server.stats()["requests"]["/r/AskReddit/new"] == 6  # ceil(547 / 100)


@pytest.mark.real_corpus
def test_api_info_returns_100_posts_in_one_call_and_rate_limit_headers(
    real_corpus: DirectoryCorpus, replay_server: StartReplay
) -> None:
    server = replay_server(real_corpus, ReplayOptions(rate_limit=100))
    reddit = praw_client(server)
    fullnames = [f"t3_{post_id}" for post_id in real_corpus.index("AskReddit").ids[:100]]

    posts = list(reddit.info(fullnames=fullnames))

    assert len(posts) == 100
    assert server.stats()["requests"] == {"/api/info": 1}
    assert reddit.auth.limits["used"] == 1
    assert reddit.auth.limits["remaining"] == 99
    status, headers, _ = _get(server, "/api/info?id=" + ",".join(fullnames[:3]))
    assert status == 200
    assert {"X-Ratelimit-Used", "X-Ratelimit-Remaining", "X-Ratelimit-Reset"} <= set(headers)


@pytest.mark.real_corpus
def test_unusual_subreddit_names_and_comments(real_corpus: DirectoryCorpus, replay_server: StartReplay) -> None:
    server = replay_server(real_corpus)
    reddit = praw_client(server)

    for name in ("reddit.com", "<TEST_SUBREDDIT>"):
        listing = reddit.request(method="GET", path=f"/r/{name}/new", params={"limit": 100, "raw_json": 1})
        assert len(listing["data"]["children"]) == 100
        assert all(child["kind"] == "t3" for child in listing["data"]["children"])

    with_comments = next(
        post_id for post_id in real_corpus.index("AskReddit").ids if real_corpus.comments(post_id, time.time())
    )
    submission = reddit.submission(with_comments)
    submission.comments.replace_more(limit=0)
    assert submission.comments.list()
    assert all(c.link_id == f"t3_{with_comments}" for c in submission.comments.list())


@pytest.mark.real_corpus
def test_refused_with_429_past_rate_limit(real_corpus: DirectoryCorpus, replay_server: StartReplay) -> None:
    server = replay_server(real_corpus, ReplayOptions(rate_limit=5))
    first = praw_client(server)
    for _ in range(5):
        first.request(method="GET", path="/r/videos/new", params={"limit": 1})
    assert first.auth.limits["remaining"] == 0

    second = praw_client(server)  # a second client of the same app knows nothing of the window
    with pytest.raises(prawcore.exceptions.TooManyRequests) as refused:
        second.request(method="GET", path="/r/videos/new", params={"limit": 1})

    assert int(refused.value.response.headers["Retry-After"]) >= 1
    assert refused.value.response.headers["X-Ratelimit-Remaining"] == "0.0"
    assert server.stats()["statuses"]["429"] == 1


def _one_busy_subreddit(posts: int) -> SyntheticCorpus:
    return SyntheticCorpus(seed=3, subreddits=["busy"], posts=posts)


def test_listing_stops_at_1000_items(replay_server: StartReplay) -> None:
    corpus = _one_busy_subreddit(1500)
    server = replay_server(corpus)
    reddit = praw_client(server)

    posts = list(reddit.subreddit("busy").new(limit=None))

    assert len(posts) == 1000
    newest = corpus.index("busy").ids[-1000:]
    assert {p.id for p in posts} == set(newest)
    assert server.stats()["requests"]["/r/busy/new"] == 10
    last_fullname = f"t3_{posts[-1].id}"
    _, _, beyond = _get(server, f"/r/busy/new?limit=100&after={last_fullname}")
    assert beyond["data"]["children"] == []


def test_virtual_clock_hides_future_posts_and_moves(replay_server: StartReplay) -> None:
    corpus = _one_busy_subreddit(300)
    index = corpus.index("busy")
    assert index is not None
    cutoff = index.created[199]
    server = replay_server(corpus, ReplayOptions(now=cutoff))
    reddit = praw_client(server)

    before = list(reddit.subreddit("busy").new(limit=None))
    assert len(before) == 200
    assert max(p.created_utc for p in before) <= cutoff
    future_id = index.ids[250]
    assert list(reddit.info(fullnames=[f"t3_{future_id}"])) == []

    assert _post(server, "/_clock", {"now": index.created[-1]}) == {"now": index.created[-1]}
    after = list(reddit.subreddit("busy").new(limit=None))
    assert len(after) == 300
    assert [p.id for p in reddit.info(fullnames=[f"t3_{future_id}"])] == [future_id]


def test_engagement_grows_with_the_clock(replay_server: StartReplay) -> None:
    corpus = _one_busy_subreddit(50)
    index = corpus.index("busy")
    assert index is not None
    post_id = index.ids[0]
    server = replay_server(corpus, ReplayOptions(now=index.created[0] + 600))
    _, _, early = _get(server, f"/api/info?id=t3_{post_id}")
    _post(server, "/_clock", {"now": index.created[0] + 3 * 86400})
    _, _, late = _get(server, f"/api/info?id=t3_{post_id}")
    early_post = early["data"]["children"][0]["data"]
    late_post = late["data"]["children"][0]["data"]
    assert late_post["score"] >= early_post["score"]
    assert late_post["num_comments"] >= early_post["num_comments"]
    assert (late_post["score"], late_post["num_comments"]) != (early_post["score"], early_post["num_comments"])


def test_before_pages_toward_newer_posts(replay_server: StartReplay) -> None:
    corpus = _one_busy_subreddit(250)
    server = replay_server(corpus)
    _, _, second_page = _get(server, "/r/busy/new?limit=100&after=" + f"t3_{corpus.index('busy').ids[-100]}")
    oldest_of_second = second_page["data"]["children"][0]["data"]["name"]
    _, _, newer = _get(server, f"/r/busy/new?limit=100&before={oldest_of_second}")
    names = [child["data"]["name"] for child in newer["data"]["children"]]
    assert names == [f"t3_{i}" for i in reversed(corpus.index("busy").ids[-100:])]


def test_injected_faults_are_seeded_and_reported(replay_server: StartReplay) -> None:
    corpus = _one_busy_subreddit(20)

    def statuses(seed: int) -> list[int]:
        server = replay_server(corpus, ReplayOptions(inject_429=0.3, inject_5xx=0.1, seed=seed))
        return [_get(server, "/r/busy/new?limit=5")[0] for _ in range(60)]

    first, again, other = statuses(7), statuses(7), statuses(8)
    assert first == again
    assert first != other
    assert 429 in first
    assert any(status >= 500 for status in first)
    assert 200 in first


def test_injected_429_carries_retry_after(replay_server: StartReplay) -> None:
    server = replay_server(_one_busy_subreddit(5), ReplayOptions(inject_429=1.0, retry_after_seconds=2))
    status, headers, _ = _get(server, "/r/busy/new")
    assert status == 429
    assert headers["Retry-After"] == "2"
    assert "X-Ratelimit-Used" in headers
    assert server.stats()["statuses"] == {"429": 1}


def test_unknown_subreddit_is_404_and_info_caps_at_100(replay_server: StartReplay) -> None:
    server = replay_server(_one_busy_subreddit(5))
    assert _get(server, "/r/nosuchsub/new")[0] == 404
    too_many = ",".join(f"t3_{n:06d}" for n in range(101))
    assert _get(server, f"/api/info?id={too_many}")[0] == 400


def test_directory_corpus_orders_by_created_and_keeps_unreadable_ones(tmp_path) -> None:
    lines = [
        {"id": "b", "subreddit": "x", "created_utc": 20.0, "title": "second"},
        {"id": "a", "subreddit": "x", "created_utc": 10.0, "title": "first"},
        {"id": "c", "subreddit": "x", "created_utc": "not a time", "author": None},
    ]
    (tmp_path / "submissions.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json\n")
    corpus = DirectoryCorpus(tmp_path)
    index = corpus.index("X")
    assert index is not None
    assert index.ids == ["c", "a", "b"]
    assert corpus.submission("c", 0.0) == lines[2]  # served verbatim, malformed fields and all
    assert corpus.unreadable_lines == 1
    assert sortable_created(lines[2]) < 0


def test_cli_serves_a_corpus_on_a_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lakehouse_tools.cli",
            "reddit-replay",
            "--corpus",
            "synthetic:5",
            "--port",
            str(port),
            "--rate-limit",
            "50",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert f"127.0.0.1:{port}" in banner
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_corpus", timeout=10) as response:
            subreddits = json.loads(response.read())["subreddits"]
        assert subreddits
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/r/{subreddits[0]}/new?limit=3", timeout=10) as r:
            assert r.headers["X-Ratelimit-Remaining"] == "49.0"
            assert len(json.loads(r.read())["data"]["children"]) == 3
    finally:
        process.terminate()
        process.wait(timeout=10)
