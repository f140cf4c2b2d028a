"""A replay server in its own process, so its CPU and memory are counted against neither tool.

Usage: ``python bench/replay_process.py --posts N --seed S --now EPOCH``. Plans the whole corpus,
then prints one JSON line ``{"url": ..., "pid": ...}`` once it listens, then serves until
terminated. The clock moves with ``POST {url}/_clock {"now": EPOCH}``; ``GET {url}/_stats``
counts the Reddit requests served.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus_plan import build_corpus
from lakehouse.replay.server import ReplayOptions, ReplayServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--now", type=float, required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    corpus = build_corpus(args.posts, args.seed)
    corpus.plan_all()  # before listening: no tool pays for generating the corpus
    server = ReplayServer(corpus, ReplayOptions(now=args.now), host="127.0.0.1", port=args.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(json.dumps({"url": server.url, "pid": os.getpid()}), flush=True)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
