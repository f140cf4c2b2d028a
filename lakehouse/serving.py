"""What analysts query: the lake's tables, as ``lakehouse.tables`` declares them, and the views of ``sql/``.

The views are written once, in Athena's dialect (Trino), one a file: ``sql/athena/views/<name>.sql``
holds ``CREATE OR REPLACE VIEW <name> AS ...``. Athena runs them as written; offline, DuckDB runs
them transpiled by sqlglot (``lakehouse_tools.sql``). The tables need no file of their own: in AWS
they are Glue Data Catalog tables derived from the declarations (``infra.constructs.processed_catalog``,
partition projection, no crawler), and offline they are DuckDB views over the same Parquet, derived
from the same declarations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lakehouse.tables import LLM_COSTS, OPPORTUNITY_SCORES, POST_EXCLUSIONS, PROCESSED_COMMENTS, PROCESSED_POSTS

__all__ = [
    "ATHENA_EXPORTS",
    "ATHENA_VIEWS",
    "QUERIED_TABLES",
    "REDSHIFT_DDL",
    "REDSHIFT_LOAD",
    "SQL_ROOT",
    "View",
    "athena_views",
    "export_queries",
]

SQL_ROOT = Path(__file__).resolve().parents[1] / "sql"
ATHENA_VIEWS = SQL_ROOT / "athena" / "views"
# A run's increment for the warehouse: one SELECT a warehouse table, named after it, over ``${run_id}``.
ATHENA_EXPORTS = SQL_ROOT / "athena" / "exports"
REDSHIFT_DDL = SQL_ROOT / "redshift" / "ddl"  # run in file-name order
REDSHIFT_LOAD = SQL_ROOT / "redshift" / "load.sql"  # one BatchExecuteStatement, over ${export_uri}, ${copy_role_arn}
_RUN_ID = re.compile(r"^[\w.:-]+$")
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
        if created != [path.stem]:
            raise ValueError(f"{path}: must hold one CREATE OR REPLACE VIEW {path.stem} (found {created})")
        views.append(View(path.stem, sql))
    return tuple(views)


def export_queries(run_id: str, directory: Path = ATHENA_EXPORTS) -> dict[str, str]:
    """The run's export SELECT of each warehouse table (by table name), its run id filled in."""
    if not _RUN_ID.match(run_id):
        raise ValueError(f"run id {run_id!r}: only letters, digits, '_', '.', ':' and '-' may go into SQL")
    return {
        path.stem: path.read_text(encoding="utf-8").replace("${run_id}", run_id)
        for path in sorted(directory.glob("*.sql"))
    }
