"""The local warehouse: a DuckDB file built from ``sql/redshift``'s DDL and loaded by its load, as Redshift is.

What differs from Redshift is only what must: the DDL's Redshift-only clauses (``ENCODE``, ``DISTSTYLE``,
``DISTKEY``, ``SORTKEY``) are removed by a sqlglot transform, ``CREATE TABLE ... (LIKE t)`` becomes an
empty copy of ``t``'s columns, and ``COPY ... FROM '<export>/<table>/'`` becomes an insert of that
directory's Parquet files by position, as Redshift's COPY matches Parquet columns. Every other statement
of the load (the ROW_NUMBER dedupe, the MERGEs, emptying staging) runs as written, transpiled, in one
transaction, as the Data API's BatchExecuteStatement runs it.

The export it loads is written by :func:`export_increment`: the Athena SELECTs of ``sql/athena/exports``
over the local lake, each into ``<export>/<table>/`` (Athena's UNLOAD does the same in AWS), replaced
whole on a rerun (UNLOAD refuses a prefix that is not empty).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from lakehouse.serving import REDSHIFT_DDL, export_queries, load_statements
from lakehouse_tools.local.sql import LocalAthena
from lakehouse_tools.query import QueryResult

__all__ = ["LOCAL_COPY_ROLE", "WAREHOUSE_FILE", "LocalWarehouse", "export_increment", "redshift_to_duckdb"]

WAREHOUSE_FILE = "warehouse.duckdb"  # in the lake directory
LOCAL_COPY_ROLE = "local"  # what the load's COPY names as its role locally (no role is assumed)

_REDSHIFT_ONLY = (exp.DistKeyProperty, exp.DistStyleProperty, exp.SortKeyProperty, exp.EncodeColumnConstraint)


def export_increment(athena: LocalAthena, run_id: str, export_dir: Path) -> dict[str, int]:
    """The run's export, as the publish stage writes it (tests; the run goes through ``lambdas.publish``)."""
    return {
        table: athena.unload(table, select, f"{export_dir.as_posix()}/{table}/")
        for table, select in export_queries(run_id).items()
    }


def redshift_to_duckdb(statement: exp.Expr) -> str:
    """One parsed Redshift statement (not a COPY) as DuckDB SQL."""
    if isinstance(statement, exp.Create) and isinstance(statement.this, exp.Schema):
        like = statement.this.find(exp.LikeProperty)
        if like is not None:  # CREATE TABLE t (LIKE source): an empty table of source's columns
            copy = sqlglot.select("*").from_(like.this).limit(0)
            exists = "IF NOT EXISTS " if statement.args.get("exists") else ""
            return f"CREATE TABLE {exists}{statement.this.this.sql('duckdb')} AS {copy.sql('duckdb')}"
    stripped = statement.copy()
    for node in list(stripped.find_all(*_REDSHIFT_ONLY)):
        parent = node.parent
        node.pop()
        if isinstance(parent, exp.ColumnConstraint) and parent.args.get("kind") is None:
            parent.pop()
    return stripped.sql("duckdb")


class LocalWarehouse:
    """The warehouse file of a lake (``<lake>/warehouse.duckdb``): created from the DDL, loaded run by run."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = duckdb.connect(str(path))
        self.connection.execute("SET TimeZone = 'UTC'")
        for ddl in sorted(REDSHIFT_DDL.glob("*.sql")):
            for statement in sqlglot.parse(ddl.read_text(encoding="utf-8"), read="redshift"):
                if statement is not None:
                    self.connection.execute(redshift_to_duckdb(statement))

    def load(self, export_dir: Path) -> None:
        """The load of one run's export directory, as the publish stage renders it for Redshift."""
        self.execute_batch(load_statements(f"{export_dir.as_posix()}/", copy_role_arn=LOCAL_COPY_ROLE))

    def execute_batch(self, statements: list[str]) -> None:
        """Redshift statements in one transaction, as the Data API's BatchExecuteStatement runs them."""
        self.connection.execute("BEGIN TRANSACTION")
        try:
            for text in statements:
                for statement in sqlglot.parse(text, read="redshift"):
                    if isinstance(statement, exp.Copy):
                        self._copy(statement)
                    elif statement is not None:
                        self.connection.execute(redshift_to_duckdb(statement))
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def _copy(self, copy: exp.Copy) -> None:
        """COPY from Parquet, locally: the directory's files inserted by column position, none if it has none."""
        (source,) = copy.args["files"]
        files = sorted(Path(source.this).glob("*.parquet"))
        if files:
            listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
            table = copy.this.sql("duckdb")
            # Not hive_partitioning: the export's run_id=<run> directory is a place, not a column of the files.
            files_only = f"read_parquet([{listed}], hive_partitioning = false)"
            self.connection.execute(f"INSERT INTO {table} SELECT * FROM {files_only}")  # noqa: S608 (our paths)

    def query(self, sql: str) -> QueryResult:
        """Redshift SQL against the warehouse; the last statement's rows are the result."""
        statements = [s for s in sqlglot.parse(sql, read="redshift") if s is not None]
        if not statements:
            raise ValueError("no SQL statement given")
        try:
            for statement in statements[:-1]:
                self.connection.execute(redshift_to_duckdb(statement)).fetchall()
            cursor = self.connection.execute(redshift_to_duckdb(statements[-1]))
        except duckdb.Error as exc:
            raise ValueError(f"the query failed: {exc}") from exc
        columns = [column[0] for column in cursor.description or ()]
        return QueryResult(columns, cursor.fetchall() if columns else [])

    def close(self) -> None:
        self.connection.close()
