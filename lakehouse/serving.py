"""What analysts query: the lake's tables, as ``lakehouse.tables`` declares them, and the views of ``sql/``.

The views are written once, in Athena's dialect (Trino), one a file: ``sql/athena/views/<name>.sql``
holds ``CREATE OR REPLACE VIEW <name> AS ...``. Athena runs them as written; offline, DuckDB runs
them transpiled by sqlglot (``lakehouse_tools.local.sql``). The tables need no file of their own: in AWS
they are Glue Data Catalog tables derived from the declarations (``infra.constructs.processed_catalog``,
partition projection, no crawler), and offline they are DuckDB views over the same Parquet, derived
from the same declarations.

A run's increment for the warehouse is one SELECT a warehouse table (``sql/athena/exports``), which the
Publish step UNLOADs to the run's own prefix; the warehouse's DDL and load are ``sql/redshift``, sent by
the Load step as one batch (:func:`load_statements`).

The Publish Lambda ships ``sql/`` beside this package (``infra.constructs.publish_function``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lakehouse.pipeline import check_run_id
from lakehouse.tables import LLM_COSTS, OPPORTUNITY_SCORES, POST_EXCLUSIONS, PROCESSED_COMMENTS, PROCESSED_POSTS

__all__ = [
    "ATHENA_EXPORTS",
    "ATHENA_VIEWS",
    "EXPORTS_PREFIX",
    "QUERIED_TABLES",
    "REDSHIFT_DDL",
    "REDSHIFT_LOAD",
    "SQL_ROOT",
    "VIEW_PREFIX",
    "View",
    "athena_views",
    "export_queries",
    "load_statements",
    "warehouse_tables",
]

SQL_ROOT = Path(__file__).resolve().parents[1] / "sql"
VIEW_PREFIX = "v_"  # every view's name starts with it (the publish role may replace those tables only)
EXPORTS_PREFIX = "exports/"  # in the analytics zone: a run's export is exports/run_id=<run_id>/<table>/
ATHENA_VIEWS = SQL_ROOT / "athena" / "views"
# A run's increment for the warehouse: one SELECT a warehouse table, named after it, over ``${run_id}``.
ATHENA_EXPORTS = SQL_ROOT / "athena" / "exports"
REDSHIFT_DDL = SQL_ROOT / "redshift" / "ddl"  # run in file-name order
REDSHIFT_LOAD = SQL_ROOT / "redshift" / "load.sql"  # one BatchExecuteStatement, over ${export_uri}, ${copy_role_arn}
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
QUERIED_TABLES = (PROCESSED_POSTS, PROCESSED_COMMENTS, POST_EXCLUSIONS, OPPORTUNITY_SCORES, LLM_COSTS)

_CREATE_VIEW = re.compile(r"^\s*CREATE\s+OR\s+REPLACE\s+VIEW\s+(\w+)\s+AS\b", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class View:
    name: str
    sql: str  # the whole statement, comments included, as Athena receives it


def athena_views(directory: Path = ATHENA_VIEWS) -> tuple[View, ...]:
    """Every view, by file name; a file must create the view it is named after, and nothing else."""
    views = []
    for path in sorted(directory.glob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        created = _CREATE_VIEW.findall(sql)
        if created != [path.stem] or not path.stem.startswith(VIEW_PREFIX):
            raise ValueError(
                f"{path}: must hold one CREATE OR REPLACE VIEW {path.stem}, named {VIEW_PREFIX}... (found {created})"
            )
        views.append(View(path.stem, sql))
    return tuple(views)


def export_queries(run_id: str, directory: Path = ATHENA_EXPORTS) -> dict[str, str]:
    """The run's export SELECT of each warehouse table (by table name), its run id filled in."""
    check_run_id(run_id)  # its alphabet has no quote: it cannot leave the string literal it goes into
    return {
        path.stem: path.read_text(encoding="utf-8").replace("${run_id}", run_id)
        for path in sorted(directory.glob("*.sql"))
    }


def warehouse_tables(directory: Path = ATHENA_EXPORTS) -> tuple[str, ...]:
    """The warehouse's tables: one a run's export fills (``sql/athena/exports/<table>.sql``)."""
    return tuple(sorted(path.stem for path in directory.glob("*.sql")))


def load_statements(export_uri: str, copy_role_arn: str, exported: Iterable[str] | None = None) -> list[str]:
    """The warehouse load of one run, as the statements of one BatchExecuteStatement: the DDL first (every
    object ``IF NOT EXISTS``, so a new environment builds itself on its first load), then ``load.sql``,
    with the run's export prefix and the COPY role filled in.

    ``exported``: the tables whose export holds a file; the others' COPY is left out (COPY fails on a
    prefix with no object, and a run may well fetch no comment). None: every table's."""
    values = {"export_uri": export_uri, "copy_role_arn": copy_role_arn}
    if "'" in export_uri + copy_role_arn:
        raise ValueError("an export URI or role ARN with a quote cannot go into COPY")
    texts = [path.read_text(encoding="utf-8") for path in sorted(REDSHIFT_DDL.glob("*.sql"))]
    texts.append(_PLACEHOLDER.sub(lambda match: values[match.group(1)], REDSHIFT_LOAD.read_text(encoding="utf-8")))
    statements = [statement.strip() for text in texts for statement in text.split(";\n") if _has_sql(statement)]
    if exported is None:
        return statements
    empty = {f"COPY lakehouse.stage_{table} " for table in set(warehouse_tables()) - set(exported)}
    return [statement for statement in statements if not _sql_of(statement).startswith(tuple(empty))]


def _sql_of(statement: str) -> str:
    """The statement without its leading ``--`` comment lines."""
    return "\n".join(line for line in statement.splitlines() if not line.strip().startswith("--")).strip()


def _has_sql(statement: str) -> bool:
    """Not empty once its ``--`` comment lines are set aside."""
    return any(line.strip() and not line.strip().startswith("--") for line in statement.splitlines())
