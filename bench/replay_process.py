"""A replay server in its own process, so its CPU and memory are counted against neither tool.

Usage: ``python bench/replay_process.py --posts N --seed S --now EPOCH [--prerender EPOCH,...]``.
Plans the whole corpus (and with ``--prerender`` renders every post visible at each given clock),
then prints one JSON line ``{"url": ..., "pid": ...}`` once it listens, then serves until
terminated. The clock moves with ``POST {url}/_clock {"now": EPOCH}``; ``GET {url}/_stats``
counts the Reddit requests served.

Why prerender: the server shares the machine's cores with the tool it serves. Rendering a listing
page live costs it ~8 ms of CPU (markdown, slugs, 100 dicts of ~100 keys), as much as the tool's own
work on the page, so a tool that keeps a request in flight while it works (ours) would be measured
waiting for the emulator, not for itself. Real Reddit's CPU is not on the client's machine. With the
scenario clocks rendered before the server listens, an answer costs copying bytes; the answers are
byte-for-byte those of live rendering (the same ``orjson`` output, spliced in as ``orjson.Fragment``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus_plan import build_corpus
from lakehouse.domain.reddit import payload_text
from lakehouse_tools.replay.corpus import SubredditIndex
from lakehouse_tools.replay.server import ReplayOptions, ReplayServer
from lakehouse_tools.replay.synthetic import SyntheticCorpus


class PrerenderedCorpus:
    """A synthetic corpus whose submissions at the given clocks are rendered once, up front."""

    def __init__(self, corpus: SyntheticCorpus, clocks: list[float]) -> None:
        self.corpus = corpus
        self._rendered: dict[float, dict[str, orjson.Fragment]] = {now: self._render(now) for now in clocks}

    def _render(self, now: float) -> dict[str, orjson.Fragment]:
        rendered = {}
        for name in self.corpus.subreddits():
            index = self.corpus.index(name)
            for post_id in index.ids[: index.visible_count(now)] if index else []:
                post = self.corpus.submission(post_id, now)
                if post is not None:
                    rendered[post_id] = orjson.Fragment(payload_text(post).encode())
        return rendered

    def subreddits(self) -> list[str]:
        return self.corpus.subreddits()

    def index(self, subreddit: str) -> SubredditIndex | None:
        return self.corpus.index(subreddit)

    def submission(self, post_id: str, now: float) -> Any:
        """The post's JSON at ``now``: pre-rendered text where the clock was rendered, else a live render."""
        rendered = self._rendered.get(now, {}).get(post_id)
        return rendered if rendered is not None else self.corpus.submission(post_id, now)

    def comments(self, post_id: str, now: float) -> list[dict[str, Any]]:
        return self.corpus.comments(post_id, now)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--now", type=float, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--prerender", default="", help="comma-separated clocks to render every visible post at")
    args = parser.parse_args(argv)
    corpus = build_corpus(args.posts, args.seed)
    corpus.plan_all()  # before listening: no tool pays for generating the corpus
    clocks = [float(value) for value in args.prerender.split(",") if value]
    served = PrerenderedCorpus(corpus, clocks) if clocks else corpus
    server = ReplayServer(served, ReplayOptions(now=args.now), host="127.0.0.1", port=args.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(json.dumps({"url": server.url, "pid": os.getpid()}), flush=True)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
