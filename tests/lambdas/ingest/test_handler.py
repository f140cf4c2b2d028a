"""The ingest Lambda handler on moto: S3 lake, DynamoDB cursors, Secrets Manager credentials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from lakehouse_tools.replay.server import ReplayServer
from lakehouse_tools.replay.synthetic import SyntheticCorpus
from lambdas.ingest.settings import RetryPolicy, RuntimeSettings
from tests.conftest import DEV_INGEST

EVENT = json.loads((Path(__file__).parent / "events" / "ingest_event.json").read_text())


@dataclass(frozen=True)
class FakeLambdaContext:
    function_name: str = "reddit-lakehouse-test-ingest"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:reddit-lakehouse-test-ingest"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3")
        for bucket in ("raw-bucket", "quarantine-bucket"):
            s3.create_bucket(Bucket=bucket)
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName="cursors",
            KeySchema=[{"AttributeName": "subreddit", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "subreddit", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        secret = boto3.client("secretsmanager").create_secret(
            Name="reddit",
            SecretString=json.dumps({"client_id": "cid", "client_secret": "csecret", "user_agent": "tests/1.0"}),
        )
        yield {"s3": s3, "dynamodb": dynamodb, "secret_arn": secret["ARN"]}


@pytest.fixture
def handler(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    corpus = SyntheticCorpus(seed=4, subreddits=["python"], days=3)
    index = corpus.index("python")
    assert index is not None
    server = ReplayServer(corpus).start()
    server.set_clock(index.created[-1])
    env = RuntimeSettings(
        environment="test",
        raw_uri="s3://raw-bucket/",
        quarantine_uri="s3://quarantine-bucket/",
        runs_uri="s3://raw-bucket/runs/",
        cursor_table="cursors",
        cursor_uri=None,
        reddit_secret_arn=aws["secret_arn"],
        reddit_base_url=server.url,
        ingest=DEV_INGEST,
        retry=RetryPolicy(base_seconds=0.001),
        max_requests=40,
        requests_per_minute=None,
    ).to_env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    from lambdas.ingest import handler as module

    module.clear_clients()
    module.handler.server = server  # type: ignore[attr-defined]  # the tests below change how it answers
    yield module.handler
    module.clear_clients()
    server.stop()


def test_handler_writes_raw_parquet_to_s3_and_moves_the_cursor(
    handler: Any, aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    output = handler(EVENT, FakeLambdaContext())

    assert output["status"] == "ok"
    assert output["counts"]["posts_written"] > 0
    posts_objects = [uri for uri in output["objects"] if "/posts/" in uri]
    assert posts_objects == [
        "s3://raw-bucket/posts/subreddit=python/fetch_date=2026-11-01/2026-11-01T00-00-00Z-scheduled.part-00000.parquet"
    ]
    body = aws["s3"].get_object(Bucket="raw-bucket", Key=posts_objects[0].removeprefix("s3://raw-bucket/"))["Body"]
    table = pq.read_table(__import__("io").BytesIO(body.read()))
    assert table.num_rows == output["counts"]["posts_written"]
    assert {"id", "payload", "fetched_at", "run_id", "source_endpoint"} <= set(table.schema.names)
    item = aws["dynamodb"].get_item(TableName="cursors", Key={"subreddit": {"S": "python"}})["Item"]
    assert item["run_id"]["S"] == EVENT["run_id"]
    assert output["requests"]["/r/python/new"] == output["counts"]["listing_pages"]
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf
    metric = emf[-1]
    assert metric["posts_written"] in (output["counts"]["posts_written"], [output["counts"]["posts_written"]])
    assert metric["requests_listing"] in (output["counts"]["listing_pages"], [output["counts"]["listing_pages"]])


def test_the_run_manifest_is_written_and_a_rerun_of_the_run_asks_reddit_nothing(
    handler: Any, aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    first = handler(EVENT, FakeLambdaContext())
    key = f"runs/{EVENT['run_id']}/ingest/python.json"
    assert first["manifest"] == f"s3://raw-bucket/{key}"
    recorded = json.loads(aws["s3"].get_object(Bucket="raw-bucket", Key=key)["Body"].read())
    assert recorded["counts"] == first["counts"]
    assert recorded["reconciliation"]["balanced"]
    requests_before = sum(handler.server.stats()["requests"].values())
    capsys.readouterr()

    again = handler(EVENT, FakeLambdaContext())  # a rerun or redrive of the same run

    assert again["recorded"]
    assert again["counts"] == first["counts"]
    assert again["manifest"] == first["manifest"]
    assert sum(handler.server.stats()["requests"].values()) == requests_before
    assert '"_aws"' not in capsys.readouterr().out  # nothing happened, so no metrics count it twice


def test_a_run_id_that_cannot_name_objects_is_refused_before_anything_is_written(
    handler: Any, aws: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="run id '2026-11-01T00:00:00Z' must be 1-80 letters"):
        handler({**EVENT, "run_id": "2026-11-01T00:00:00Z"}, FakeLambdaContext())
    assert "Contents" not in aws["s3"].list_objects_v2(Bucket="raw-bucket")


def test_handler_rejects_an_event_without_subreddit(handler: Any) -> None:
    with pytest.raises(ValueError, match="subreddit"):
        handler({"run_id": "x"}, FakeLambdaContext())


def test_second_invocation_is_incremental_and_conditional_write_guards_the_cursor(
    handler: Any, aws: dict[str, Any]
) -> None:
    first = handler(EVENT, FakeLambdaContext())
    second = handler({**EVENT, "run_id": "later", "run_started_at": "2026-11-01T01:00:00Z"}, FakeLambdaContext())

    assert second["counts"]["new_posts"] == 0
    assert second["counts"]["listing_pages"] == 1
    assert first["cursor_advanced"]
    assert second["cursor_advanced"]
    from lambdas.ingest.cursors import Cursor, DynamoCursorStore

    store = DynamoCursorStore(aws["dynamodb"], "cursors")
    stored = store.get("python")
    assert stored is not None
    stale = Cursor("python", stored.newest_created_utc - 1, None, "an-older-run", 0.0)
    assert not store.advance(stale)
    assert store.get("python").run_id == "later"  # type: ignore[union-attr]


def _busy_cursor(posts: int, start: float = 1_793_000_000.0) -> Any:
    """A cursor whose 48-hour window holds ``posts`` posts, in the state and in the state it started from."""
    from lakehouse_tools.replay.synthetic import to_base36
    from lambdas.ingest.cursors import Cursor, RecentPost

    recent = {to_base36(36**6 + n): RecentPost(start + n * 30.0, n % 7) for n in range(posts)}
    base = Cursor("AskReddit", start, None, "run-1", start, recent=dict(list(recent.items())[: posts // 2]))
    return Cursor("AskReddit", start + posts * 30.0, None, "run-2", start, recent=recent, previous=base)


def test_a_busy_subreddits_cursor_fits_dynamodb_whole(aws: dict[str, Any]) -> None:
    from lambdas.ingest.cursors import DynamoCursorStore

    cursor = _busy_cursor(6_000)  # ~0.6 MB as plain JSON, ~56 KB compressed
    assert len(cursor.to_json()) > 400_000
    store = DynamoCursorStore(aws["dynamodb"], "cursors")

    assert store.advance(cursor)
    assert store.get("AskReddit") == cursor


def test_a_cursor_past_the_item_limit_keeps_its_mark_and_its_newest_recent_posts(aws: dict[str, Any]) -> None:
    from lambdas.ingest.cursors import DynamoCursorStore

    cursor = _busy_cursor(60_000)  # ~550 KB compressed
    store = DynamoCursorStore(aws["dynamodb"], "cursors")

    assert store.advance(cursor)
    stored = store.get("AskReddit")
    assert stored is not None
    assert stored.newest_created_utc == cursor.newest_created_utc
    assert 0 < len(stored.recent) < len(cursor.recent)
    newest = sorted(cursor.recent, key=lambda post_id: cursor.recent[post_id].created_utc)[-len(stored.recent) :]
    assert set(stored.recent) == set(newest)


def test_rejected_credentials_fail_the_invocation_so_the_errors_alarm_sees_it(handler: Any) -> None:
    from lambdas.ingest.ingest import IngestFailed

    handler.server.state.options.reject_credentials = True

    with pytest.raises(IngestFailed, match=r"HTTP 401 from the token endpoint.*client id or secret"):
        handler(EVENT, FakeLambdaContext())


@pytest.mark.parametrize(
    ("subreddit", "private", "reason"),
    [("python", True, "HTTP 403 (private or quarantined)"), ("nosuchsubreddit", False, "HTTP 404 (banned or missing)")],
)
def test_a_subreddit_reddit_will_not_list_is_skipped_with_its_metric_and_no_cursor(
    handler: Any,
    aws: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    subreddit: str,
    private: bool,
    reason: str,
) -> None:
    if private:
        handler.server.state.options.private_subreddits = frozenset({subreddit})

    output = handler({**EVENT, "subreddit": subreddit}, FakeLambdaContext())

    assert output["status"] == "skipped"
    assert reason in output["error"]
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf[-1]["subreddits_skipped"] == [1.0]
    # What the alarm watches: per environment, since dev and prod may share an account and region.
    assert emf[-1]["environment"] == "test"
    assert {"environment", "service"} == set(emf[-1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0])
    assert "Item" not in aws["dynamodb"].get_item(TableName="cursors", Key={"subreddit": {"S": subreddit}})
