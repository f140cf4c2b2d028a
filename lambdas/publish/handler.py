"""The publish Lambda: the Publish step of a run (see ``lambdas.publish.publish``).

Event: ``{"run": {"run_id", ...}}``. Returns ``{"manifest", "recorded", "export_uri", "views",
"exported_rows", "load_sqls"}``: the Load step sends ``load_sqls`` to the warehouse as one
BatchExecuteStatement. A failed query raises (``QueryFailed``), so the state machine's Catch notifies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from lakehouse.lake.store import ObjectStore, open_store
from lakehouse.pipeline import RunManifests
from lambdas.publish.athena import AthenaEngine
from lambdas.publish.publish import PublishRequest, QueryEngine, publish_run
from lambdas.publish.settings import SERVICE, PublishSettings

__all__ = ["clear_clients", "handler"]

logger = Logger(service=SERVICE)


@dataclass(frozen=True)
class _Clients:
    runs: RunManifests
    exports: ObjectStore
    engine: QueryEngine


_clients: dict[PublishSettings, _Clients] = {}


def _connect(settings: PublishSettings) -> _Clients:
    import boto3

    s3 = boto3.client("s3")
    return _Clients(
        runs=RunManifests(open_store(settings.runs_uri, s3_client=s3)),
        exports=open_store(settings.exports_uri, s3_client=s3),
        engine=AthenaEngine(boto3.client("athena"), workgroup=settings.workgroup, database=settings.database),
    )


def clear_clients() -> None:
    _clients.clear()


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = PublishRequest.from_event(event)
    logger.append_keys(run_id=request.run_id)
    settings = PublishSettings.from_env()
    if settings not in _clients:
        _clients[settings] = _connect(settings)
    clients = _clients[settings]
    result = publish_run(
        request,
        engine=clients.engine,
        runs=clients.runs,
        exports=clients.exports,
        exports_uri=settings.exports_uri,
        copy_role_arn=settings.copy_role_arn,
    )
    logger.info(
        "published",
        extra={k: result[k] for k in ("manifest", "recorded", "export_uri", "views", "exported_rows")},
    )
    return result
