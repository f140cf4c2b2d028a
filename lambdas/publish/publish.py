"""The Publish step: the analysts' views, and the run's increment exported for the warehouse.

1. A run whose manifest exists (``runs/<run_id>/publish.json``) was published: it is returned as it is,
   and no query runs (a rerun or a redrive).
2. Every view of ``sql/athena/views`` is created or replaced, in file order.
3. The run's export prefix (``<exports>run_id=<run_id>/``) is emptied: UNLOAD refuses a prefix that is not
   empty, and an attempt that failed half-way leaves parts. Then each warehouse table's SELECT
   (``sql/athena/exports``) is unloaded into ``<prefix><table>/`` as Parquet: the run's own prefix, so a
   load never reads another run's rows again.
4. The manifest is written last, with what the Load step sends: the warehouse's statements (DDL, then the
   load), the prefix and the COPY role filled in, without the COPY of a table whose export holds no file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from lakehouse.lake.store import ObjectStore
from lakehouse.pipeline import RunManifests, Stage, check_run_id
from lakehouse.serving import View, athena_views, export_queries, load_statements

__all__ = ["PublishRequest", "QueryEngine", "publish_run"]


class QueryEngine(Protocol):
    """Athena, or its local stand-in."""

    def create_view(self, view: View) -> None: ...

    def unload(self, table: str, select: str, destination: str) -> int | None:
        """Write the SELECT's rows under ``destination``; the rows written, where the engine knows them."""
        ...


@dataclass(frozen=True, slots=True)
class PublishRequest:
    run_id: str

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> PublishRequest:
        """The state machine's payload ``{"run": {"run_id", ...}}``."""
        try:
            return cls(run_id=check_run_id(str(event["run"]["run_id"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the publish event needs run.run_id: {exc}") from exc


def publish_run(
    request: PublishRequest,
    *,
    engine: QueryEngine,
    runs: RunManifests,
    exports: ObjectStore,
    exports_uri: str,
    copy_role_arn: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Publish one run; return its manifest (with ``recorded`` true when an earlier attempt wrote it).

    ``exports`` is the store rooted at ``exports_uri``; the engine writes to ``exports_uri`` itself.
    """
    recorded = runs.read(request.run_id, Stage.PUBLISH)
    if recorded is not None:
        return recorded | {"manifest": runs.uri(request.run_id, Stage.PUBLISH), "recorded": True}
    views = athena_views()
    for view in views:
        engine.create_view(view)
    prefix = f"run_id={request.run_id}/"
    for key in exports.list(prefix):
        exports.delete(key)
    export_uri = f"{exports_uri}{prefix}"
    exported = {
        table: engine.unload(table, select, f"{export_uri}{table}/")
        for table, select in export_queries(request.run_id).items()
    }
    # COPY fails on an empty prefix (UNLOAD of no row may write no file): load only what was written.
    written = [table for table in exported if exports.list(f"{prefix}{table}/")]
    body = {
        "run_id": request.run_id,
        "views": [view.name for view in views],
        "export_uri": export_uri,
        "exported_rows": exported,
        "load_sqls": load_statements(export_uri, copy_role_arn, exported=written),
        "published_at": (now or datetime.now(UTC)).isoformat(),
    }
    manifest = runs.write(request.run_id, Stage.PUBLISH, body)
    return body | {"manifest": manifest, "recorded": False}
