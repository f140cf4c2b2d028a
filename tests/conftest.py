"""Shared fixtures: the real corpus (skipped where ../shared is absent) and praw pointed at a replay server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import praw
import pytest

from infra.config import load_environment
from lakehouse_tools.replay.corpus import Corpus, DirectoryCorpus
from lakehouse_tools.replay.server import ReplayOptions, ReplayServer, running

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REAL_CORPUS_DIR = PROJECT_ROOT.parent / "shared" / "reddit-real"
# The environment the tests run with where they need one (as the local run does by default).
DEV = load_environment(json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"], "dev")
DEV_INGEST = DEV.ingest.runtime()


def praw_client(server: ReplayServer) -> praw.Reddit:
    """Real praw, app-only OAuth, pointed at a replay server."""
    return praw.Reddit(
        client_id="replay-client",
        client_secret="replay-secret",
        user_agent="reddit-lakehouse-tests/1.0",
        oauth_url=server.url,
        reddit_url=server.url,
        check_for_updates=False,
        check_for_async=False,
    )


@pytest.fixture(scope="session")
def real_corpus() -> DirectoryCorpus:
    if not (REAL_CORPUS_DIR / "submissions.jsonl.gz").exists():
        pytest.skip(f"real corpus absent: {REAL_CORPUS_DIR} (only ../shared checkouts have it)")
    return DirectoryCorpus(REAL_CORPUS_DIR)


StartReplay = Callable[..., ReplayServer]


@pytest.fixture
def replay_server() -> Iterator[StartReplay]:
    """A factory: ``replay_server(corpus, ReplayOptions(...))`` starts one and stops it after the test."""
    servers: list[ReplayServer] = []

    def start(corpus: Corpus, options: ReplayOptions | None = None) -> ReplayServer:
        server = ReplayServer(corpus, options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


__all__ = ["PROJECT_ROOT", "REAL_CORPUS_DIR", "StartReplay", "praw_client", "running"]
