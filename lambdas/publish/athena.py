"""Athena as the publish stage uses it: run one statement in the workgroup and wait for it.

The workgroup enforces its configuration (results location, encryption, engine version, the bytes a
query may scan), so a query names only the workgroup and the database. A query that fails or is
cancelled raises :class:`QueryFailed` with Athena's reason, so the stage fails loudly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lakehouse.serving import View

__all__ = ["AthenaEngine", "QueryFailed"]

_DONE = {"SUCCEEDED"}
_FAILED = {"FAILED", "CANCELLED"}


class QueryFailed(Exception):
    """An Athena query ended FAILED or CANCELLED, or did not end in time."""


class AthenaEngine:
    def __init__(
        self,
        client: Any,
        *,
        workgroup: str,
        database: str,
        timeout_seconds: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client, self.workgroup, self.database = client, workgroup, database
        self.timeout_seconds, self.sleep, self.clock = timeout_seconds, sleep, clock

    def run(self, sql: str) -> str:
        """Start ``sql``, poll until it ends (1 s, growing to 5 s), and return its query execution id."""
        started = self.clock()
        query_id: str = self.client.start_query_execution(
            QueryString=sql, WorkGroup=self.workgroup, QueryExecutionContext={"Database": self.database}
        )["QueryExecutionId"]
        delay = 1.0
        while True:
            status = self.client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
            if status["State"] in _DONE:
                return query_id
            if status["State"] in _FAILED:
                reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage", "")
                raise QueryFailed(f"Athena query {query_id} {status['State']}: {reason}")
            if self.clock() - started > self.timeout_seconds:
                raise QueryFailed(f"Athena query {query_id} still {status['State']} after {self.timeout_seconds:.0f} s")
            self.sleep(delay)
            delay = min(delay * 1.5, 5.0)

    def create_view(self, view: View) -> None:
        self.run(view.sql)

    def unload(self, table: str, select: str, destination: str) -> None:
        """The SELECT's rows as Parquet under ``destination`` (an empty S3 prefix, as UNLOAD requires)."""
        self.run(f"UNLOAD ({select}) TO '{destination}' WITH (format = 'PARQUET', compression = 'SNAPPY')")
