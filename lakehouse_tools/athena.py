"""``lakehouse sql --engine athena --env dev``: the same query, in a deployed environment's Athena workgroup.

The workgroup and the Glue database are named by the environment's config (``cdk.json``), as the stack
names them, so the CLI reaches exactly what ``cdk deploy -c env=...`` made. The query runs through
awswrangler with the workgroup's enforced configuration (engine version 3, results encrypted with the
lake's key in the results bucket, the bytes-scanned cutoff); the result is read back from the CSV Athena
writes there, which the bucket's lifecycle rule expires, so the caller needs no delete permission.

Credentials come from the usual chain (``AWS_PROFILE``, SSO, environment variables); the region is the
environment's. Athena takes one statement per query, so a text of several statements is refused before
anything is sent. A query Athena rejects, a missing workgroup and absent credentials end as one
:class:`AthenaQueryError` line, not a traceback.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot.tokens import TokenType

from infra.config import EnvironmentConfig
from lakehouse_tools.query import QueryResult

if TYPE_CHECKING:
    import boto3
    import pandas as pd

__all__ = ["AthenaQueryError", "DeployedAthena", "single_statement"]

POLL_SECONDS = 0.25  # awswrangler's default is 1 s; an analyst's query is often done in under 2

Reader = Callable[..., "pd.DataFrame"]


class AthenaQueryError(RuntimeError):
    """Athena refused or failed the query, or could not be reached; the message says which."""


def single_statement(sql: str) -> str:
    """``sql`` without its trailing semicolons; raises ValueError for more than one statement."""
    try:
        tokens = sqlglot.tokenize(sql, read="athena")
    except sqlglot.errors.TokenError as exc:
        raise ValueError(f"not SQL Athena can read: {exc}") from exc
    ends = [token.end for token in tokens if token.token_type == TokenType.SEMICOLON]
    last = max((token.end for token in tokens if token.token_type != TokenType.SEMICOLON), default=-1)
    if any(end < last for end in ends):
        raise ValueError("Athena runs one statement per query: send the statements one at a time")
    if last < 0:
        raise ValueError("no SQL statement to run")
    return sql[: last + 1]


@dataclass(frozen=True, slots=True)
class DeployedAthena:
    """One environment's Athena workgroup and Glue database, queried through awswrangler."""

    workgroup: str
    database: str
    session: boto3.Session
    read: Reader

    @classmethod
    def of(cls, config: EnvironmentConfig, *, session: boto3.Session | None = None) -> DeployedAthena:
        import awswrangler as wr  # pandas and awswrangler load only for the deployed engine
        import boto3

        return cls(
            workgroup=config.analyst_workgroup_name,
            database=config.database_name,
            session=session or boto3.Session(region_name=config.region),
            read=wr.athena.read_sql_query,
        )

    def query(self, sql: str) -> QueryResult:
        from awswrangler.exceptions import QueryFailed
        from botocore.exceptions import BotoCoreError, ClientError

        statement = single_statement(sql)
        try:
            self._require_workgroup()
            frame = self.read(
                statement,
                database=self.database,
                workgroup=self.workgroup,
                ctas_approach=False,  # a plain query: no temporary table in the analysts' database
                keep_files=True,  # the results bucket expires them; no s3:DeleteObject needed
                athena_query_wait_polling_delay=POLL_SECONDS,
                boto3_session=self.session,
            )
        except QueryFailed as exc:
            raise AthenaQueryError(f"Athena failed the query in workgroup {self.workgroup}: {exc}") from exc
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise AthenaQueryError(
                f"Athena ({self.workgroup}, {self.session.region_name}): {error.get('Code')}: {error.get('Message')}"
            ) from exc
        except BotoCoreError as exc:
            raise AthenaQueryError(f"Athena could not be reached in {self.session.region_name}: {exc}") from exc
        return QueryResult(list(map(str, frame.columns)), [tuple(map(_plain, row)) for row in frame.itertuples(False)])

    def _require_workgroup(self) -> None:
        """Fail with a hint when the environment is not deployed (Athena answers InvalidRequestException)."""
        from botocore.exceptions import ClientError

        try:
            found = self.session.client("athena").get_work_group(WorkGroup=self.workgroup).get("WorkGroup")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "InvalidRequestException":
                raise
            found = None
        if not found:
            raise AthenaQueryError(
                f"no Athena workgroup {self.workgroup} in {self.session.region_name}: "
                "is the environment deployed (cdk deploy -c env=...) and are these the right credentials?"
            )


def _plain(value: Any) -> Any:
    """pandas' missing values as None, its timestamps and numpy scalars as Python values, so every engine
    prints alike."""
    import numpy as np
    import pandas as pd

    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    return value
