"""The warehouse offline: sql/redshift parses as Redshift, the export matches it column for column, and the
load (COPY into staging, ROW_NUMBER dedupe, MERGE) is safe to repeat."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import sqlglot
from sqlglot import exp

from lakehouse.serving import REDSHIFT_DDL, REDSHIFT_LOAD, export_queries
from lakehouse_tools.local.sql import LocalAthena
from lakehouse_tools.local.warehouse import LocalWarehouse, export_increment, redshift_to_duckdb
from tests.local.lake_fixture import write_lake

WAREHOUSE_TABLES = ("posts", "comments", "opportunity_scores")


def _table_columns() -> dict[str, list[str]]:
    columns = {}
    for path in sorted(REDSHIFT_DDL.glob("*.sql")):
        (statement,) = sqlglot.parse(path.read_text(), read="redshift")
        if isinstance(statement, exp.Create) and isinstance(statement.this, exp.Schema):
            defined = [c.name for c in statement.this.expressions if isinstance(c, exp.ColumnDef)]
            if defined:
                columns[statement.this.this.name] = defined
    return columns


def _merges() -> dict[str, exp.Merge]:
    statements = sqlglot.parse(REDSHIFT_LOAD.read_text(), read="redshift")
    return {merge.this.name: merge for merge in statements if isinstance(merge, exp.Merge)}


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return write_lake(tmp_path / "lake")


def _load(lake: Path, run_id: str) -> LocalWarehouse:
    athena = LocalAthena(lake)
    export = lake / "exports" / f"run_id={run_id}"
    export_increment(athena, run_id, export)
    warehouse = LocalWarehouse(lake / "warehouse.duckdb")
    warehouse.load(export)
    return warehouse


def test_every_redshift_file_parses_as_redshift_and_runs_locally_without_its_redshift_clauses() -> None:
    files = [*sorted(REDSHIFT_DDL.glob("*.sql")), REDSHIFT_LOAD]
    for path in files:
        statements = sqlglot.parse(path.read_text(), read="redshift", error_level=sqlglot.ErrorLevel.RAISE)
        assert statements, path
        assert all(statement is not None for statement in statements), path
    posts = sqlglot.parse_one((REDSHIFT_DDL / "10_posts.sql").read_text(), read="redshift")
    assert "DISTKEY" in posts.sql("redshift")
    assert "ENCODE" in posts.sql("redshift")
    local = redshift_to_duckdb(posts)
    assert not any(word in local for word in ("DISTKEY", "SORTKEY", "DISTSTYLE", "ENCODE"))


def test_each_export_selects_its_tables_columns_in_order() -> None:
    # COPY from Parquet matches by position: the export's columns are the table's, in the same order.
    tables = _table_columns()
    exports = export_queries("r1")
    assert sorted(exports) == sorted(WAREHOUSE_TABLES)
    for name, select in exports.items():
        assert sqlglot.parse_one(select, read="athena").named_selects == tables[name], name


def test_each_merge_sets_and_inserts_every_column_of_its_table() -> None:
    tables = _table_columns()
    merges = _merges()
    assert sorted(merges) == sorted(WAREHOUSE_TABLES)
    for name, merge in merges.items():
        matched, inserted = merge.args["whens"].expressions
        updated = [assignment.this.name for assignment in matched.args["then"].expressions]
        insert = inserted.args["then"]
        keys = {column.name for column in merge.args["on"].find_all(exp.Column) if column.table != "s"}
        assert sorted([*updated, *keys]) == sorted(tables[name]), name
        assert [column.name for column in insert.this.expressions] == tables[name], name


def test_a_load_brings_the_runs_posts_comments_and_scores(lake: Path) -> None:
    warehouse = _load(lake, "r1")
    assert warehouse.query("SELECT post_id FROM lakehouse.posts ORDER BY post_id").rows == [
        ("p1",),
        ("p2",),
        ("p3",),
    ]
    assert warehouse.query("SELECT comment_id, post_id FROM lakehouse.comments").rows == [("c1", "p1")]
    scores = "SELECT post_id, prompt_version, opportunity_score, status FROM lakehouse.opportunity_scores"
    assert warehouse.query(f"{scores} ORDER BY post_id").rows == [
        ("p1", "opportunity-v1", 70.0, "scored"),
        ("p3", "opportunity-v1", 60.0, "scored"),
        ("p4", "opportunity-v1", None, "failed"),
    ]
    posts = warehouse.query("SELECT problem_signals, keywords FROM lakehouse.posts WHERE post_id = 'p1'").rows
    assert posts == [("pain", "invoicing,stripe")]  # lists arrive as text
    for stage in ("stage_posts", "stage_comments", "stage_opportunity_scores"):
        assert warehouse.query(f"SELECT count(*) FROM lakehouse.{stage}").rows == [(0,)]  # noqa: S608


def test_loading_the_same_increment_twice_changes_nothing(lake: Path) -> None:
    warehouse = _load(lake, "r1")
    everything = [f"SELECT * FROM lakehouse.{t} ORDER BY 1, 2" for t in WAREHOUSE_TABLES]  # noqa: S608
    before = [warehouse.query(sql).rows for sql in everything]
    warehouse.load(lake / "exports" / "run_id=r1")
    assert [warehouse.query(sql).rows for sql in everything] == before


def test_the_next_run_updates_what_changed_and_adds_what_is_new(lake: Path) -> None:
    _load(lake, "r1").close()
    warehouse = _load(lake, "r2")
    rows = warehouse.query("SELECT post_id, prompt_version, opportunity_score FROM lakehouse.opportunity_scores")
    assert sorted(rows.rows) == [
        ("p1", "opportunity-v1", 70.0),
        ("p1", "opportunity-v2", 80.0),  # a new prompt version: a row of its own
        ("p3", "opportunity-v1", 60.0),
        ("p4", "opportunity-v1", None),
        ("p5", "opportunity-v1", 80.0),
    ]
    assert warehouse.query("SELECT count(*) FROM lakehouse.posts").rows == [(6,)]


def test_duplicates_in_staging_keep_the_newest_snapshot(lake: Path) -> None:
    export = lake / "exports" / "run_id=r1"
    export_increment(LocalAthena(lake), "r1", export)
    posts = pq.read_table(export / "posts" / "part-00000.parquet")
    older = posts.set_column(
        posts.schema.get_field_index("snapshot_fetched_at"),
        "snapshot_fetched_at",
        [[datetime(2026, 1, 1, tzinfo=UTC)] * posts.num_rows],
    ).set_column(posts.schema.get_field_index("score"), "score", [[-1] * posts.num_rows])
    pq.write_table(older, export / "posts" / "part-00001.parquet")  # the same posts again, older and worse
    warehouse = LocalWarehouse(lake / "warehouse.duckdb")
    warehouse.load(export)
    assert warehouse.query("SELECT post_id, score FROM lakehouse.posts ORDER BY post_id").rows == [
        ("p1", 10),
        ("p2", 20),
        ("p3", 5),
    ]


def test_a_failed_load_leaves_the_warehouse_as_it_was(lake: Path) -> None:
    warehouse = _load(lake, "r1")
    before = warehouse.query("SELECT * FROM lakehouse.posts ORDER BY post_id").rows
    broken = lake / "exports" / "broken"
    (broken / "posts").mkdir(parents=True)
    (broken / "posts" / "part-00000.parquet").write_bytes(b"not parquet")
    with pytest.raises(duckdb.Error, match=r"(?i)parquet"):
        warehouse.load(broken)
    assert warehouse.query("SELECT * FROM lakehouse.posts ORDER BY post_id").rows == before
    assert warehouse.query("SELECT count(*) FROM lakehouse.stage_posts").rows == [(0,)]


def test_a_run_id_that_could_break_out_of_its_quotes_is_refused() -> None:
    with pytest.raises(ValueError, match="run id"):
        export_queries("r1' OR '1'='1")
