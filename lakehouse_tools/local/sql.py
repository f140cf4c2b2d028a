"""Athena SQL over the local lake, on DuckDB: the same views as in AWS, transpiled by sqlglot.

Each table of ``lakehouse.serving.QUERIED_TABLES`` becomes a DuckDB view over its Parquet files
(``<lake>/<zone>/<prefix>/``, Hive partitions read from the paths and kept as strings, as Athena's
projected partitions are), with exactly the declared columns and types; a table with no file yet is
an empty view of the same shape, so every view and query runs on a fresh lake. Then every view of
``sql/athena/views`` is created from its Athena text, and queries are transpiled the same way.

sqlglot is asked to raise on what it cannot translate rather than drop it; the tests still run each
view on fixture data and check its result, since some constructs change meaning without a warning.
The session runs in UTC, as Athena does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import sqlglot
from sqlglot.errors import ErrorLevel, SqlglotError

from lakehouse.serving import QUERIED_TABLES, View, athena_views
from lakehouse.tables import ColumnType, Table
from lakehouse_tools.query import QueryResult

__all__ = ["LocalAthena", "to_duckdb"]

_DUCKDB_TYPES = {
    ColumnType.STRING: "VARCHAR",
    ColumnType.DOUBLE: "DOUBLE",
    ColumnType.BIGINT: "BIGINT",
    ColumnType.INT: "INTEGER",
    ColumnType.BOOLEAN: "BOOLEAN",
    ColumnType.TIMESTAMP: "TIMESTAMP",
    ColumnType.STRING_ARRAY: "VARCHAR[]",
}


def to_duckdb(sql: str) -> list[str]:
    """Athena (Trino) statements as DuckDB statements; raises where sqlglot cannot translate one."""
    try:
        return [
            statement
            for statement in sqlglot.transpile(sql, read="athena", write="duckdb", unsupported_level=ErrorLevel.RAISE)
            if statement.strip()
        ]
    except SqlglotError as exc:
        raise ValueError(f"not Athena SQL sqlglot can translate: {exc}") from exc


class LocalAthena:
    """One DuckDB session over a lake directory, with its tables and the Athena views."""

    def __init__(self, lake: Path, views: Sequence[View] | None = None) -> None:
        if not lake.is_dir():
            raise FileNotFoundError(f"no lake at {lake} (run `lakehouse run --lake {lake}` first)")
        self.lake = lake
        self.connection = duckdb.connect(":memory:")
        self.connection.execute("SET TimeZone = 'UTC'")
        for table in QUERIED_TABLES:
            self.connection.execute(table_view(self.connection, lake, table))
        for view in athena_views() if views is None else views:
            for statement in to_duckdb(view.sql):
                self.connection.execute(statement)

    def query(self, sql: str) -> QueryResult:
        """Run Athena SQL (one or more statements); the last one's rows are the result."""
        statements = to_duckdb(sql)
        if not statements:
            raise ValueError("no SQL statement given")
        try:
            for statement in statements[:-1]:
                self.connection.execute(statement).fetchall()
            cursor = self.connection.execute(statements[-1])
            columns = [column[0] for column in cursor.description or ()]
            return QueryResult(columns, cursor.fetchall() if columns else [])
        except duckdb.Error as exc:
            raise ValueError(f"the query failed: {exc}") from exc

    def create_view(self, view: View) -> None:
        """What Athena does with a view's statement: replace the view (here, in this session)."""
        for statement in to_duckdb(view.sql):
            self.connection.execute(statement)

    def unload(self, table: str, select: str, destination: str) -> int:
        """Athena's UNLOAD, locally: the SELECT's rows as Parquet in the ``destination`` directory (which
        must be empty, as UNLOAD requires); the rows written."""
        directory = Path(destination)
        if directory.exists() and any(directory.iterdir()):
            raise ValueError(f"UNLOAD of {table}: {directory} is not empty")
        directory.mkdir(parents=True, exist_ok=True)
        (statement,) = to_duckdb(select)
        target = str(directory / "part-00000.parquet").replace("'", "''")
        self.connection.execute(f"COPY ({statement}) TO '{target}' (FORMAT PARQUET)")
        counted = self.connection.execute(f"SELECT count(*) FROM read_parquet('{target}')")  # noqa: S608
        return int(counted.fetchall()[0][0])

    def close(self) -> None:
        self.connection.close()


def table_view(connection: duckdb.DuckDBPyConnection, lake: Path, table: Table) -> str:
    """``CREATE VIEW <table>``: its Parquet files with the declared columns and types, or empty.

    A declared column that no file has yet (added to the declaration since) reads as null, as in Athena.
    """
    directory = lake / table.zone / table.prefix
    present: set[str] = set()
    source = " WHERE false"
    if directory.is_dir() and next(directory.rglob("*.parquet"), None) is not None:
        files = str(directory / "**" / "*.parquet").replace("'", "''")
        options = "hive_partitioning = true, hive_types_autocast = false, union_by_name = true"
        source = f" FROM read_parquet('{files}', {options})"
        present = {row[0] for row in connection.execute(f"DESCRIBE SELECT *{source}").fetchall()}
    selected = ", ".join(
        f"CAST({_quoted(column.name) if column.name in present else 'NULL'} AS {_DUCKDB_TYPES[column.type]})"
        f" AS {_quoted(column.name)}"
        for column in table.columns
    )
    # Names and types come from the declarations and the path from the lake directory: no outside input.
    return f"CREATE VIEW {table.name} AS SELECT {selected}{source}"


def _quoted(name: str) -> str:
    return f'"{name}"'
