"""``lakehouse sql --engine athena``: the query reaches the environment's workgroup and database (moto's
Athena, results queued as Athena would return them) and prints the same table as the local engine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.athena.models import QueryResults, athena_backends

from lakehouse_tools.athena import AthenaQueryError, DeployedAthena, single_statement
from lakehouse_tools.cli import main
from tests.conftest import DEV

ACCOUNT = "123456789012"
RESULTS_BUCKET = "reddit-lakehouse-dev-athena-results"


def _column(name: str, athena_type: str) -> dict[str, Any]:
    return {"Name": name, "Label": name, "Type": athena_type, "Nullable": "UNKNOWN", "CaseSensitive": False}


def _row(*values: str | None) -> dict[str, Any]:
    return {"Data": [{} if value is None else {"VarCharValue": value} for value in values]}


@pytest.fixture
def athena(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's Athena with the dev workgroup as the stack declares it: enforced results location."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        boto3.client("s3", region_name=DEV.region).create_bucket(Bucket=RESULTS_BUCKET)
        boto3.client("athena", region_name=DEV.region).create_work_group(
            Name=DEV.analyst_workgroup_name,
            Configuration={
                "EnforceWorkGroupConfiguration": True,
                "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS_BUCKET}/athena/"},
            },
        )
        backend = athena_backends[ACCOUNT][DEV.region]
        backend.query_results_queue.append(
            QueryResults(
                rows=[
                    _row("opportunity_rank", "title", "opportunity_score", "scored_at"),
                    _row("1", "Invoices never get paid on time", "74.5", "2026-12-01 10:00:00.000"),
                    _row("2", "No way to export my data", None, "2026-12-01 10:00:01.000"),
                ],
                column_info=[
                    _column("opportunity_rank", "bigint"),
                    _column("title", "varchar"),
                    _column("opportunity_score", "double"),
                    _column("scored_at", "timestamp"),
                ],
            )
        )
        yield backend


QUERY = "SELECT opportunity_rank, title, opportunity_score, scored_at FROM v_opportunities LIMIT 2;"


def test_the_query_runs_in_the_environments_workgroup_and_prints_the_local_table(
    athena: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "--engine", "athena", "--env", "dev", QUERY]) == 0

    (execution,) = athena.executions.values()
    assert execution.workgroup.name == "reddit-lakehouse-dev-analysts"
    assert execution.context == {"Database": "reddit_lakehouse_dev"}
    assert execution.query == QUERY.rstrip(";")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["opportunity_rank", "title", "opportunity_score", "scored_at"]
    assert lines[2].split() == ["1", "Invoices", "never", "get", "paid", "on", "time", "74.5", "2026-12-01", "10:00:00"]
    assert lines[3].split() == ["2", "No", "way", "to", "export", "my", "data", "NULL", "2026-12-01", "10:00:01"]
    assert lines[4] == "(2 rows)"


def test_json_output_carries_typed_values(athena: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--engine", "athena", "--format", "json", QUERY]) == 0

    records = json.loads(capsys.readouterr().out)
    assert records[0] == {
        "opportunity_rank": 1,
        "title": "Invoices never get paid on time",
        "opportunity_score": 74.5,
        "scored_at": "2026-12-01 10:00:00",
    }
    assert records[1]["opportunity_score"] is None


def test_a_missing_workgroup_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        assert main(["sql", "--engine", "athena", "--env", "prod", "SELECT 1"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("lakehouse sql: no Athena workgroup reddit-lakehouse-prod-analysts in us-east-1: ")
    assert "Traceback" not in error


@pytest.mark.usefixtures("athena")
def test_a_failed_query_raises_with_athenas_reason() -> None:
    from awswrangler.exceptions import QueryFailed

    def failing(*_: object, **__: object) -> None:
        raise QueryFailed("Query error: TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.x.nope' does not exist")

    engine = DeployedAthena(DEV.analyst_workgroup_name, "db", boto3.Session(region_name=DEV.region), failing)
    with pytest.raises(AthenaQueryError, match=r"Athena failed the query in workgroup .*-dev-analysts: .*TABLE_NOT"):
        engine.query("SELECT * FROM nope")


def test_an_unknown_environment_or_several_statements_are_refused_before_aws(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sql", "--engine", "athena", "--env", "staging", "SELECT 1"]) == 2
    assert "unknown environment 'staging'; valid environments: dev, prod" in capsys.readouterr().err
    with pytest.raises(ValueError, match="one statement per query"):
        single_statement("SELECT 1; SELECT 2")
    assert single_statement("SELECT ';' AS semicolon ;\n") == "SELECT ';' AS semicolon"
    with pytest.raises(ValueError, match="no SQL statement"):
        single_statement(" ; ")
