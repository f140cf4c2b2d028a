"""Ingestion against an in-process replay server, with the lake in a temp directory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from lakehouse.lake.store import LocalObjectStore
from lakehouse_tools.replay.corpus import Corpus
from lakehouse_tools.replay.server import ReplayOptions, ReplayServer
from lambdas.ingest.cursors import CursorStore, LakeCursorStore
from lambdas.ingest.ingest import IngestRequest, IngestResult, ingest_subreddit
from lambdas.ingest.reddit_gateway import (
    RedditCredentials,
    RedditGateway,
    RequestBudget,
    RequestLog,
    RetryPolicy,
    connect,
)
from lambdas.ingest.settings import IngestSettings
from tests.conftest import DEV_INGEST


@dataclass
class Lake:
    root: Path
    raw: LocalObjectStore = field(init=False)
    quarantine: LocalObjectStore = field(init=False)
    cursors: LakeCursorStore = field(init=False)

    def __post_init__(self) -> None:
        self.raw = LocalObjectStore(self.root / "raw")
        self.quarantine = LocalObjectStore(self.root / "quarantine")
        self.cursors = LakeCursorStore(LocalObjectStore(self.root / "state"))

    def rows(self, table: str = "posts", zone: str = "raw") -> list[dict[str, object]]:
        path = self.root / zone / table
        if not path.exists():
            return []
        return ds.dataset(path, format="parquet", partitioning="hive").to_table().to_pylist()


@dataclass
class Ingestor:
    """Runs ``ingest_subreddit`` the way the handler does, against one replay server and one lake."""

    server: ReplayServer
    lake: Lake
    settings: IngestSettings = DEV_INGEST
    max_requests: int = 200

    def run(
        self,
        subreddit: str,
        *,
        now: float,
        run_id: str | None = None,
        cursors: CursorStore | None = None,
        max_requests: int | None = None,
    ) -> IngestResult:
        self.server.set_clock(now)
        log = RequestLog()
        connection = connect(RedditCredentials("id", "secret", "tests"), base_url=self.server.url)
        connection.track(log)
        gateway = RedditGateway(
            connection.reddit,
            budget=RequestBudget(max_requests or self.max_requests),
            log=log,
            retry=RetryPolicy(base_seconds=0.001),
        )
        request = IngestRequest(run_id or f"run-{now:.0f}", subreddit, datetime.fromtimestamp(now, UTC))
        return ingest_subreddit(
            request,
            settings=self.settings,
            gateway=gateway,
            raw=self.lake.raw,
            quarantine=self.lake.quarantine,
            cursors=cursors or self.lake.cursors,
            clock=lambda: now,
        )


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


@pytest.fixture
def ingestor_for(lake: Lake) -> Iterator[object]:
    servers: list[ReplayServer] = []

    def build(corpus: Corpus, options: ReplayOptions | None = None, **kwargs: object) -> Ingestor:
        server = ReplayServer(corpus, options).start()
        servers.append(server)
        return Ingestor(server, lake, **kwargs)  # type: ignore[arg-type]

    yield build
    for server in servers:
        server.stop()
