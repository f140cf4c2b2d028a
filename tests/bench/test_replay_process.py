"""The benchmark's pre-rendered replay server answers byte for byte as live rendering does."""

from __future__ import annotations

import urllib.request

from bench.corpus_plan import build_corpus, plan
from bench.replay_process import PrerenderedCorpus
from lakehouse_tools.replay.server import ReplayOptions, running

POSTS, SEED = 1_500, 7


def _page(url: str, path: str) -> bytes:
    request = urllib.request.Request(f"{url}{path}", headers={"Authorization": "bearer x"})
    with urllib.request.urlopen(request, timeout=10) as response:  # a local test server
        return bytes(response.read())


def test_prerendered_answers_equal_live_ones_at_the_rendered_clock_and_off_it() -> None:
    corpus_plan = plan(POSTS, SEED)
    live = build_corpus(POSTS, SEED)
    prerendered = PrerenderedCorpus(build_corpus(POSTS, SEED), [corpus_plan.full_now])
    subreddit = corpus_plan.subreddits[0]
    paths = [f"/r/{subreddit}/new?limit=100&raw_json=1", f"/r/{subreddit}/new?limit=100&count=100&after="]
    off_clock = corpus_plan.end_now  # not rendered: served live

    for now in (corpus_plan.full_now, off_clock):
        options = ReplayOptions(now=now)
        with running(live, options) as live_server, running(prerendered, options) as server:
            first = _page(server.url, paths[0])
            after = first.split(b'"after":"', 1)[1].split(b'"', 1)[0].decode()
            for path in (paths[0], paths[1] + after):
                assert _page(server.url, path) == _page(live_server.url, path)
            assert first.count(b'"kind":"t3"') == 100
