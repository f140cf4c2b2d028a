"""The processing job's arguments, named once: the CDK construct writes them, the Glue entry point reads them.

Plain Python (no pyspark, no awsglue), so ``infra`` imports it cheaply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

# ``pii_key_fingerprint`` when no fingerprint is pinned (dev). A word, not "": Glue passes a job
# argument with an empty value as a bare flag, which getResolvedOptions rejects.
UNCHECKED_FINGERPRINT = "unchecked"
# ``run_id`` / ``run_started_at`` when the job is started by hand rather than by the state machine
# (which passes both): the run is then named by Glue's JobRunId and starts when the job does.
UNSET = "unset"


@dataclass(frozen=True, slots=True)
class JobArguments:
    """What a run needs besides Glue's own ``JOB_NAME`` / ``JOB_RUN_ID`` (``--<name> value`` each)."""

    raw_uri: str
    processed_uri: str
    quarantine_uri: str
    pii_secret_arn: str
    metrics_namespace: str
    environment: str
    # lakehouse.domain.pii.key_fingerprint of the environment's PII key, or UNCHECKED_FINGERPRINT.
    pii_key_fingerprint: str
    # Where the run manifests live (lakehouse.pipeline): the job records its counts for the verify step.
    runs_uri: str
    # Per run, from the state machine (StartJobRun Arguments override these defaults); UNSET by hand.
    run_id: str = UNSET
    run_started_at: str = UNSET

    @staticmethod
    def flag(name: str) -> str:
        """``--<name>``, as Glue passes an argument; checked against the declared fields."""
        if name not in JobArguments.names():
            raise KeyError(f"no job argument {name!r}")
        return f"--{name}"

    @classmethod
    def names(cls) -> list[str]:
        return [field.name for field in fields(cls)]

    def to_glue(self) -> dict[str, str]:
        """As Glue ``DefaultArguments``."""
        return {f"--{name}": value for name, value in asdict(self).items()}

    @classmethod
    def from_resolved(cls, resolved: Mapping[str, str]) -> JobArguments:
        """From ``getResolvedOptions``' answer; a missing argument is an error that names it."""
        missing = [name for name in cls.names() if name not in resolved]
        if missing:
            raise ValueError(f"job arguments missing: {', '.join('--' + name for name in missing)}")
        return cls(**{name: resolved[name] for name in cls.names()})
