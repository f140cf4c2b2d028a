"""The publish function's settings and the one place its environment variables are named.

The CDK construct writes the Lambda's environment with :meth:`PublishSettings.to_env`, and so does the
local run; :meth:`PublishSettings.from_env` reads it back and has no defaults: a missing variable is an
error that names it. Plain Python on purpose: ``infra`` imports this module without boto3.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["PublishSettings"]

_RUNS_URI = "RUNS_URI"
_EXPORTS_URI = "EXPORTS_URI"
_WORKGROUP = "ATHENA_WORKGROUP"
_DATABASE = "ATHENA_DATABASE"
_COPY_ROLE_ARN = "WAREHOUSE_COPY_ROLE_ARN"
_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
_LOG_LEVEL = "POWERTOOLS_LOG_LEVEL"
SERVICE = "publish"


@dataclass(frozen=True, slots=True)
class PublishSettings:
    """Where the views go (workgroup and database), where a run's export goes, and the role COPY uses."""

    runs_uri: str  # the run manifests: s3://<raw bucket>/runs/ or a local directory
    exports_uri: str  # the exports' root: s3://<analytics bucket>/exports/ (a run's prefix is run_id=<id>/)
    workgroup: str
    database: str
    copy_role_arn: str  # the role the warehouse's COPY assumes (it may read the exports only)
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        for name, value in (("runs_uri", self.runs_uri), ("exports_uri", self.exports_uri)):
            if not value.endswith("/"):
                raise ValueError(f"{name} must end with '/', got {value!r}")

    def to_env(self) -> dict[str, str]:
        return {
            _RUNS_URI: self.runs_uri,
            _EXPORTS_URI: self.exports_uri,
            _WORKGROUP: self.workgroup,
            _DATABASE: self.database,
            _COPY_ROLE_ARN: self.copy_role_arn,
            _SERVICE_NAME: SERVICE,
            _LOG_LEVEL: self.log_level,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PublishSettings:
        env = os.environ if env is None else env
        names = (_RUNS_URI, _EXPORTS_URI, _WORKGROUP, _DATABASE, _COPY_ROLE_ARN, _SERVICE_NAME, _LOG_LEVEL)
        missing = [name for name in names if not env.get(name)]
        if missing:
            raise ValueError(f"publish settings missing from the environment (or empty): {', '.join(missing)}")
        return cls(
            runs_uri=env[_RUNS_URI],
            exports_uri=env[_EXPORTS_URI],
            workgroup=env[_WORKGROUP],
            database=env[_DATABASE],
            copy_role_arn=env[_COPY_ROLE_ARN],
            log_level=env[_LOG_LEVEL],
        )
