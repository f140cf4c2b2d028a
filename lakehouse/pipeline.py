"""The pipeline's contract, once: its stages in the state machine, and the run manifests they hand over.

The state machine (``infra.constructs.pipeline_state_machine``) names its states from
:class:`Stage`; the local run walks the synthesized definition and maps each task state back to
the stage's local implementation by that name. Stages hand their results to one another through
the lake, not the execution state: each writes a manifest under ``runs/<run_id>/`` and returns a
small reference, far below Step Functions' 256 KB payload limit.

A stage whose manifest exists has finished for that run: a new execution with the same run id
(a rerun) or a redrive finds it and does nothing, so reruns cost no Reddit requests and change
nothing that is already right. A stage writes its manifest only after its data is written, and
before it moves any bookmark, so a crash in between re-runs the stage (idempotent) rather than
skipping work.

Layout, in the runs store (``s3://<raw bucket>/runs/`` on AWS, ``<lake>/runs/`` locally)::

    <run_id>/ingest/<subreddit>.json   one per subreddit (the Map's iterations)
    <run_id>/process.json              the processing job's counts
    <run_id>/score.json                what scoring did and cost
    <run_id>/publish.json              the views published, the run's export, the warehouse load's statements
    <run_id>/verify.json               the checks across stages, and the run's metrics
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from lakehouse.lake.store import ObjectStore, get_listed

__all__ = [
    "INGEST_ITERATION_STATE",
    "LOAD_STATUS_STATE",
    "LOAD_WAIT_STATE",
    "NOTIFY_STATE",
    "RUNS_PREFIX",
    "RUN_ID_PATTERN",
    "RunManifests",
    "Stage",
    "check_run_id",
    "record_process_pass",
]

RUNS_PREFIX = "runs/"
"""Where the runs store lives inside the raw bucket on AWS (the ingest function already writes there)."""


class Stage(StrEnum):
    """The run's stages in the order the state machine runs them; values are the summary's keys."""

    INGEST = "ingest"
    PROCESS = "process"
    SCORE = "score"
    PUBLISH = "publish"
    LOAD = "load"
    VERIFY = "verify"

    @property
    def state_name(self) -> str:
        """The stage's state in the definition: ``Ingest``, ``Process``, ..."""
        return self.value.capitalize()

    @classmethod
    def of_state(cls, state_name: str) -> Stage | None:
        """The stage a state of the definition runs, or None (a helper state: defaults, notify, fail)."""
        return next((stage for stage in cls if stage.state_name == state_name), None)


INGEST_ITERATION_STATE = "Ingest subreddit"
"""The task inside the Ingest Map: one ingest invocation per subreddit."""
LOAD_STATUS_STATE = "Load status"
"""The Load stage's poll: DescribeStatement of the batch Load sent (the Data API has no ``.sync``)."""
LOAD_WAIT_STATE = "Wait for load"
NOTIFY_STATE = "Notify failure"
"""The task every stage's failure is caught into: it tells the operators, then the run fails."""

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
"""What a run id may be: a Step Functions execution name's alphabet (its default), safe in S3 keys
and in Hadoop paths (no ``:``, no ``/``), which the run id becomes in every zone."""


def check_run_id(run_id: str) -> str:
    """``run_id``, or ValueError naming the rule: checked before a stage writes anything."""
    if not RUN_ID_PATTERN.match(run_id):
        raise ValueError(
            f"run id {run_id!r} must be 1-80 letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    return run_id


def _part(name: str) -> str:
    return quote(name, safe="-_.")


class RunManifests:
    """Read and write one store's run manifests (JSON objects, small)."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    @staticmethod
    def key(run_id: str, stage: Stage, part: str | None = None) -> str:
        base = f"{check_run_id(run_id)}/{stage.value}"
        return f"{base}/{_part(part)}.json" if part is not None else f"{base}.json"

    def uri(self, run_id: str, stage: Stage, part: str | None = None) -> str:
        return self.store.uri.rstrip("/") + "/" + self.key(run_id, stage, part)

    def read(self, run_id: str, stage: Stage, part: str | None = None) -> dict[str, Any] | None:
        """The manifest, or None (listed before it is read: see :func:`~lakehouse.lake.store.get_listed`)."""
        data = get_listed(self.store, self.key(run_id, stage, part))
        return None if data is None else dict(json.loads(data))

    def write(self, run_id: str, stage: Stage, document: dict[str, Any], part: str | None = None) -> str:
        """Write the manifest; return its URI (what the stage hands on)."""
        header = {"run_id": run_id, "stage": stage.value} | ({"part": part} if part is not None else {})
        body = json.dumps(header | document, indent=1, sort_keys=True, default=str)
        return self.store.put(self.key(run_id, stage, part), body.encode())

    def parts(self, run_id: str, stage: Stage) -> dict[str, dict[str, Any]]:
        """Every part's manifest of a stage (the ingest Map's subreddits), by part name as written."""
        prefix = f"{check_run_id(run_id)}/{stage.value}/"
        found: dict[str, dict[str, Any]] = {}
        for key in self.store.list(prefix):
            data = self.store.get(key)
            if data is not None and key.endswith(".json"):
                document = json.loads(data)
                found[str(document.get("part", key[len(prefix) : -len(".json")]))] = document
        return found


def record_process_pass(manifests: RunManifests, run_id: str, summary: dict[str, Any], *, job_run_id: str) -> str:
    """Add one pass of the processing job to the run's manifest; return its URI.

    A run's job may pass more than once (a rerun after a failure, or after a failed subreddit was
    ingested again). Each pass is kept; the raw rows read are merged by snapshot run and
    subreddit, so a pass that re-reads the same objects (a crash before the bookmark moved)
    replaces their counts instead of adding to them.

    The job reads every raw object no pass has read, whichever run wrote it: rows another run
    ingested (its own processing failed, and this run's job read them) are recorded in that run's
    manifest too, under ``read_by``, so its rerun verifies against what was really read.
    """
    for snapshot_run in sorted(_snapshot_runs(summary) - {run_id}):
        _merge_reads(manifests, snapshot_run, summary, read_by={"run_id": run_id, "job_run_id": job_run_id})
    return _merge_reads(manifests, run_id, summary, this_pass={"job_run_id": job_run_id} | _counts(summary))


def _snapshot_runs(summary: dict[str, Any]) -> set[str]:
    return {run for by_run in summary.get("raw_rows_by_run", {}).values() for run in by_run}


def _counts(summary: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in summary.items() if key != "raw_rows_by_run"}


def _merge_reads(
    manifests: RunManifests,
    run_id: str,
    summary: dict[str, Any],
    *,
    this_pass: dict[str, Any] | None = None,
    read_by: dict[str, str] | None = None,
) -> str:
    previous = manifests.read(run_id, Stage.PROCESS) or {}
    rows: dict[str, dict[str, dict[str, int]]] = previous.get("raw_rows_by_run", {})
    for table, by_run in summary.get("raw_rows_by_run", {}).items():
        if run_id in by_run:
            rows.setdefault(table, {}).setdefault(run_id, {}).update(by_run[run_id])
    document = {
        "passes": [*previous.get("passes", []), *([this_pass] if this_pass else [])],
        "read_by": [*previous.get("read_by", []), *([read_by] if read_by else [])],
        "raw_rows_by_run": rows,
    }
    return manifests.write(run_id, Stage.PROCESS, document)
