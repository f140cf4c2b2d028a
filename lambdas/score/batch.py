"""Bedrock batch inference: a backlog of posts scored at half the on-demand price, answered in a later run.

When
    Batch is for backlogs. A job must hold at least the model's "minimum number of records per batch
    inference job" (a per-model Service Quotas value, 100 by default, read at run time by
    :meth:`BatchInference.min_records`), and its results arrive minutes to hours later, so it pays only
    when more posts wait than that minimum. The caller decides: with fewer waiting posts, or with
    ``policy.batch.enabled`` off, or for a model family :func:`invoke_model_body` does not know, posts
    are scored on demand. A run submits at most one job (:meth:`BatchInference.submit`) and collects
    the jobs of earlier runs that have finished (:meth:`BatchInference.collect`); while a job is in
    flight its posts (:meth:`BatchInference.in_flight`) are not scored on demand, so nothing is paid twice.

Why InvokeModel-type records
    The answer is forced through a tool (:data:`~lambdas.score.assessment.TOOL_NAME`, whose input schema
    is :data:`~lambdas.score.assessment.ANSWER_SCHEMA`), as the on-demand backend does. Converse-type
    batch jobs reject ``toolConfig``, so each record's ``modelInput`` is the model family's own
    InvokeModel body (Anthropic Messages with ``tools``/``tool_choice``, or Nova ``messages-v1`` with
    ``toolConfig``), and the job is created with ``modelInvocationType="InvokeModel"``.

Layout (analytics zone, :mod:`lambdas.score.layout`)::

    batch_inference/jobs/<job name>.json              the job's state: arn, run, model, prompt version,
                                                      records {recordId: {post_id, content_hash,
                                                      comments shown}}, collected
    batch_inference/<job name>/input/records.jsonl    {"recordId": ..., "modelInput": <InvokeModel body>}
    batch_inference/<job name>/output/<job id>/records.jsonl.out   what Bedrock writes (any order)

A ``recordId`` is :func:`record_id`: the first 32 hex digits of SHA-256 over ``post_id``, a NUL and
``content_hash``. Bedrock wants letters and digits only; a digest is that whatever the post id and
hash look like, is the same on every run, and 128 bits make a collision within a job negligible.
Output order is not guaranteed, so results are joined to the state's records on it.

Idempotency
    The job name is ``<job_prefix>-<run_id>`` (:func:`batch_job_name`), so a rerun of a run finds the
    job's state file and returns it instead of submitting again. The steps of a submission are ordered
    for crash safety, and :meth:`BatchInference.submit` says what a crash between them leaves.
    Collecting marks the state ``collected`` once the caller has stored the results: a job is collected once.

No repair
    An on-demand answer that fails validation is sent back once with its problems; a batch answer is
    not (a repair would be another paid call, on demand, outside the batch price): an invalid batch
    answer is recorded as a failure with its reason, as a repaired answer that stayed invalid is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from lakehouse.lake.store import ObjectStore, get_listed
from lambdas.score.assessment import (
    ANSWER_SCHEMA,
    TOOL_DESCRIPTION,
    TOOL_NAME,
    Assessment,
    BatchUnavailable,
    PostContext,
    validate_answer,
)
from lambdas.score.layout import BATCH_JOBS_PREFIX, batch_input_key, batch_job_key, batch_output_prefix
from lambdas.score.prompt import Prompt
from lambdas.score.settings import ScoringPolicy

__all__ = [
    "ANTHROPIC_VERSION",
    "COLLECTABLE_STATUSES",
    "ENDED_STATUSES",
    "IN_FLIGHT_STATUSES",
    "BatchInference",
    "BatchUnavailable",
    "batch_job_name",
    "invoke_model_body",
    "model_family",
    "parse_model_output",
    "record_id",
]

logger = logging.getLogger(__name__)

ANTHROPIC_VERSION = "bedrock-2023-05-31"
ANTHROPIC = "anthropic"
NOVA = "nova"
_FAMILIES = ((f"{ANTHROPIC}.", ANTHROPIC), ("amazon.nova", NOVA))

IN_FLIGHT_STATUSES = frozenset({"Submitted", "Validating", "Scheduled", "InProgress", "Stopping"})
COLLECTABLE_STATUSES = frozenset({"Completed", "PartiallyCompleted"})
ENDED_STATUSES = frozenset({"Failed", "Stopped", "Expired"})  # nothing is read back: the posts are eligible again

MAX_JOB_NAME = 63
_NAME_CHARS = re.compile(r"[^A-Za-z0-9.-]")  # the job name's pattern allows '+', an S3 URI does not
_LEADING = re.compile(r"^[^A-Za-z0-9]+")
_NAME_HASH = 8
RECORD_ID_HEX = 32
OUTPUT_SUFFIX = ".jsonl.out"


# ---------------------------------------------------------------------------- model families


def model_family(model_id: str) -> str:
    """``anthropic`` or ``nova`` for a model id, an inference profile id (``us.``, ``eu.``, ``global.``...)
    or an ARN ending in one; ValueError naming the model for any other family (batch is then not offered)."""
    name = model_id.rsplit("/", 1)[-1]
    candidates = (name, name.split(".", 1)[1]) if "." in name else (name,)  # the id, then without a geo prefix
    for candidate in candidates:
        for prefix, family in _FAMILIES:
            if candidate.startswith(prefix):
                return family
    raise ValueError(f"batch inference supports Anthropic Claude and Amazon Nova models, not {model_id!r}")


def invoke_model_body(model_id: str, prompt: Prompt, post: PostContext, policy: ScoringPolicy) -> dict[str, Any]:
    """The InvokeModel request body for ``post``, forcing the answer tool, in the model family's own shape."""
    family = model_family(model_id)
    text = prompt.user_message(post)
    if family == ANTHROPIC:
        return {
            "anthropic_version": ANTHROPIC_VERSION,
            "max_tokens": policy.max_output_tokens,
            "temperature": policy.temperature,
            "system": prompt.system,
            "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
            "tools": [{"name": TOOL_NAME, "description": TOOL_DESCRIPTION, "input_schema": ANSWER_SCHEMA}],
            "tool_choice": {"type": "tool", "name": TOOL_NAME},
        }
    return {
        "schemaVersion": "messages-v1",
        "system": [{"text": prompt.system}],
        "messages": [{"role": "user", "content": [{"text": text}]}],
        "inferenceConfig": {"maxTokens": policy.max_output_tokens, "temperature": policy.temperature},
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": TOOL_NAME,
                        "description": TOOL_DESCRIPTION,
                        "inputSchema": {"json": ANSWER_SCHEMA},
                    }
                }
            ],
            "toolChoice": {"tool": {"name": TOOL_NAME}},
        },
    }


def parse_model_output(model_id: str, model_output: Mapping[str, Any]) -> tuple[Any, int, int, str | None]:
    """``(raw answer, input tokens, output tokens, error)`` from one record's ``modelOutput``.

    The raw answer is the tool call's input (still to be validated), or None with the error saying why
    there is none; the tokens are counted either way (they were paid).
    """
    family = model_family(model_id)
    usage = model_output.get("usage")
    usage = usage if isinstance(usage, Mapping) else {}
    if family == ANTHROPIC:
        tokens = _count(usage.get("input_tokens")), _count(usage.get("output_tokens"))
        content = model_output.get("content")
        for item in content if isinstance(content, list) else ():
            if isinstance(item, Mapping) and item.get("type") == "tool_use" and item.get("name") == TOOL_NAME:
                return item.get("input"), *tokens, None
        return None, *tokens, f"the model did not call {TOOL_NAME} (stop_reason {model_output.get('stop_reason')!r})"
    tokens = _count(usage.get("inputTokens")), _count(usage.get("outputTokens"))
    output = model_output.get("output")
    message = output.get("message") if isinstance(output, Mapping) else None
    content = message.get("content") if isinstance(message, Mapping) else None
    for item in content if isinstance(content, list) else ():
        tool_use = item.get("toolUse") if isinstance(item, Mapping) else None
        if isinstance(tool_use, Mapping) and tool_use.get("name", TOOL_NAME) == TOOL_NAME:
            return tool_use.get("input"), *tokens, None
    return None, *tokens, f"the model did not call {TOOL_NAME} (stopReason {model_output.get('stopReason')!r})"


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


# ---------------------------------------------------------------------------- names and ids


def batch_job_name(job_prefix: str, run_id: str) -> str:
    """``<job_prefix>-<run_id>`` made a valid Bedrock job name that is also safe in an S3 URI.

    Characters other than letters, digits, ``-`` and ``.`` become ``-`` (a run id's ``_`` among them) and
    the name starts with a letter or digit. A name that had to change, or is longer than 63 characters,
    ends in a hash of the whole, so two run ids (``run_1``, ``run-1``) never share a job.
    """
    full = f"{job_prefix}-{run_id}"
    name = _LEADING.sub("", _NAME_CHARS.sub("-", full))
    if not name:
        raise ValueError(f"no valid batch job name in {full!r}")
    if len(name) > MAX_JOB_NAME or name != full:
        digest = hashlib.sha256(full.encode()).hexdigest()[:_NAME_HASH]
        name = f"{name[: MAX_JOB_NAME - _NAME_HASH - 1]}-{digest}"
    return name


def record_id(post_id: str, content_hash: str) -> str:
    """A post version's ``recordId``: 32 hex digits of SHA-256 over ``post_id``, NUL, ``content_hash``."""
    return hashlib.sha256(f"{post_id}\0{content_hash}".encode()).hexdigest()[:RECORD_ID_HEX]


def _request_token(name: str) -> str:
    """The ``clientRequestToken`` of a job name: stable, so a retried create returns the same job."""
    return hashlib.sha256(f"batch-job\0{name}".encode()).hexdigest()


# ---------------------------------------------------------------------------- jobs


class BatchInference:
    """Submits posts as one batch job per run, and collects the answers of finished jobs.

    ``bedrock`` is a boto3 ``bedrock`` (control plane) client and ``quotas`` a ``service-quotas`` one;
    ``store`` is the analytics zone, which Bedrock reads and writes as ``bucket_uri`` + key
    (``s3://analytics-bucket/``). The function's role needs ``bedrock:CreateModelInvocationJob``,
    ``GetModelInvocationJob``, ``ListModelInvocationJobs``, ``iam:PassRole`` on ``policy.batch.role_arn``,
    and ``servicequotas:ListServiceQuotas`` and ``ListAWSDefaultServiceQuotas``.
    """

    def __init__(
        self,
        *,
        bedrock: Any,
        quotas: Any,
        store: ObjectStore,
        bucket_uri: str,
        policy: ScoringPolicy,
        prompt: Prompt,
        job_prefix: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bedrock = bedrock
        self.quotas = quotas
        self.store = store
        self.bucket_uri = bucket_uri if bucket_uri.endswith("/") else bucket_uri + "/"
        self.policy = policy
        self.prompt = prompt
        self.job_prefix = job_prefix
        self.clock = clock
        self._collected: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ quota

    def min_records(self) -> int:
        """The model's minimum records per job, from Service Quotas (the name matched case-insensitively).

        Applied values come from ListServiceQuotas; a quota never adjusted may be listed only among the
        defaults (ListAWSDefaultServiceQuotas), which are read next. BatchUnavailable when neither has it.
        """
        wanted = self.policy.batch.min_records_quota_name
        if not wanted:
            raise BatchUnavailable("the scoring policy names no min_records_quota_name: batch inference is off")
        for operation in (self.quotas.list_service_quotas, self.quotas.list_aws_default_service_quotas):
            for quota in _quota_pages(operation):
                if str(quota.get("QuotaName", "")).casefold() == wanted.casefold() and "Value" in quota:
                    return int(quota["Value"])
        raise BatchUnavailable(f"no Bedrock service quota named {wanted!r}: batch inference is not offered")

    # ------------------------------------------------------------------ state

    def _states(self) -> Iterator[dict[str, Any]]:
        for key in self.store.list(BATCH_JOBS_PREFIX):
            if not key.endswith(".json"):
                continue
            data = self.store.get(key)  # listed just now: a missing one is gone, not forbidden
            if data is not None:
                yield json.loads(data)

    def _write_state(self, state: Mapping[str, Any]) -> None:
        self.store.put(batch_job_key(state["name"]), json.dumps(state, sort_keys=True, indent=1).encode())

    def in_flight(self) -> set[tuple[str, str]]:
        """``(post_id, content_hash)`` of every record in a job not yet collected: not to be scored on demand."""
        return {
            (record["post_id"], record["content_hash"])
            for state in self._states()
            if not state.get("collected")
            for record in state["records"].values()
        }

    # ------------------------------------------------------------------ submit

    def submit(self, run_id: str, posts: Sequence[PostContext]) -> dict[str, Any]:
        """Submit ``posts`` as the run's batch job; its state (what :meth:`in_flight` reads) is returned.

        The caller has checked there are enough posts (:meth:`min_records`) and at most
        ``policy.batch.max_records_per_job`` (more is a ValueError: split them over runs). A run submits
        one job: when its state file exists (a rerun), that state is returned and nothing is submitted.

        The steps, and what a crash after each leaves:

        1. The records file is written. A crash here leaves a file no job reads; the rerun reuses it
           (its records are joined to the rerun's ``posts`` by :func:`record_id`).
        2. The state is written without a job ARN: from here the records are in flight, whether or not
           this run is ever rerun.
        3. The job is created, with a ``clientRequestToken`` derived from the job name, and the state
           gets its ARN. A crash between the two leaves a state without one: the next :meth:`collect`
           (any later run) creates again with the same token and parameters, which Bedrock answers
           with the same job instead of a second one; past the token's lifetime, the name's conflict is
           answered by looking the job up by name. The records file is never rewritten once written.

        The returned state's records are what is in flight: on a rerun after a crash, the records of
        the file that ``posts`` still make (a post outside the file is not submitted: it stays eligible).
        """
        batch = self.policy.batch
        if not batch.enabled or not batch.role_arn:
            raise BatchUnavailable("batch inference needs policy.batch.enabled and a role_arn")
        name = batch_job_name(self.job_prefix, run_id)
        existing = get_listed(self.store, batch_job_key(name))
        if existing is not None:
            logger.info("batch job %s already submitted for run %s", name, run_id)
            state: dict[str, Any] = json.loads(existing)
            return state | {"already_submitted": True}

        input_key = batch_input_key(name)
        written = get_listed(self.store, input_key)
        if written is None:
            records = self._write_records(input_key, posts)
        else:  # a crash after step 1 or 2: the job may be reading this file
            records = _records_of(written, posts)
            logger.warning("batch job %s: reusing its records file (%d records) after a crash", name, len(records))

        state = {
            "name": name,
            "job_arn": None,  # written before the job is created: a job is never without its state
            "run_id": run_id,
            "submitted_at": datetime.fromtimestamp(self.clock(), UTC).isoformat(),
            "model_id": self.policy.model_id,
            "prompt_version": self.prompt.version,
            "records": records,
            "collected": False,
        }
        self._write_state(state)
        state["job_arn"] = self._create_job(name, input_key)
        self._write_state(state)
        logger.info("batch job %s submitted: %s, %d records", name, state["job_arn"], len(records))
        return state

    def _write_records(self, key: str, posts: Sequence[PostContext]) -> dict[str, dict[str, Any]]:
        records: dict[str, dict[str, Any]] = {}
        lines: list[str] = []
        for post in posts:
            rid = record_id(post.post_id, post.content_hash)
            if rid in records:  # the same post version twice: one record
                continue
            records[rid] = _record(post)
            body = invoke_model_body(self.policy.model_id, self.prompt, post, self.policy)
            lines.append(json.dumps({"recordId": rid, "modelInput": body}, ensure_ascii=False, separators=(",", ":")))
        if not records:
            raise ValueError("a batch job needs at least one post")
        if len(records) > self.policy.batch.max_records_per_job:
            raise ValueError(
                f"{len(records)} posts exceed max_records_per_job ({self.policy.batch.max_records_per_job}): split them"
            )
        self.store.put(key, ("\n".join(lines) + "\n").encode())
        return records

    def _create_job(self, name: str, input_key: str) -> str:
        try:
            response = self.bedrock.create_model_invocation_job(
                jobName=name,
                roleArn=self.policy.batch.role_arn,
                modelId=self.policy.model_id,
                modelInvocationType="InvokeModel",
                inputDataConfig={"s3InputDataConfig": {"s3Uri": self.bucket_uri + input_key, "s3InputFormat": "JSONL"}},
                outputDataConfig={"s3OutputDataConfig": {"s3Uri": self.bucket_uri + batch_output_prefix(name)}},
                clientRequestToken=_request_token(name),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConflictException":
                raise
            job_arn = self._job_named(name)
            if job_arn is None:
                raise
            logger.warning("batch job %s existed already (a retry past its request token): %s", name, job_arn)
            return job_arn
        return str(response["jobArn"])

    def _job_named(self, name: str) -> str | None:
        kwargs: dict[str, Any] = {"nameContains": name}
        while True:
            page = self.bedrock.list_model_invocation_jobs(**kwargs)
            for summary in page.get("invocationJobSummaries", []):
                if summary.get("jobName") == name:
                    return str(summary["jobArn"])
            if not page.get("nextToken"):
                return None
            kwargs["nextToken"] = page["nextToken"]

    # ------------------------------------------------------------------ collect

    def collect(self, current: Mapping[tuple[str, str], PostContext]) -> list[tuple[PostContext, Assessment]]:
        """The assessments of every finished job not yet collected, for the post versions in ``current``.

        A job still running is left for a later run. A completed one (also partially) has its output
        read and joined on ``recordId``: a valid answer is scored, an invalid one is a failure with its
        reason (no repair), both at the batch price; a record with an ``error``, or missing from the
        output, is not returned, and neither is a record whose post is no longer in ``current`` (edited
        or gone): those posts are eligible again. A failed, stopped or expired job returns nothing. So
        does a job submitted under another model or prompt version than the current one: its answers
        would be recorded under the wrong key, and its posts are scored again instead.

        The jobs read are marked collected by :meth:`mark_collected`, once the caller has stored the
        assessments. A state without a job ARN (a crash while submitting) gets its job created now.
        """
        results: list[tuple[PostContext, Assessment]] = []
        self._collected = []
        for state in self._states():
            if state.get("collected"):
                continue
            if not state.get("job_arn"):  # a crash between the state and the job: create it (idempotent)
                state["job_arn"] = self._create_job(state["name"], batch_input_key(state["name"]))
                self._write_state(state)
                continue
            job = self.bedrock.get_model_invocation_job(jobIdentifier=state["job_arn"])
            status = str(job.get("status", ""))
            if status in COLLECTABLE_STATUSES:
                if state["model_id"] != self.policy.model_id or state["prompt_version"] != self.prompt.version:
                    logger.warning(
                        "batch job %s ran %s with prompt %s, now %s with %s: its answers are not used",
                        state["name"],
                        state["model_id"],
                        state["prompt_version"],
                        self.policy.model_id,
                        self.prompt.version,
                    )
                    counts = {"discarded": len(state["records"])}
                else:
                    assessed, counts = self._read_results(state, current)
                    results.extend(assessed)
            elif status in ENDED_STATUSES:
                logger.warning(
                    "batch job %s ended %s (%s): its %d posts are eligible again",
                    state["name"],
                    status,
                    job.get("message", "no message"),
                    len(state["records"]),
                )
                counts = {}
            else:
                if status not in IN_FLIGHT_STATUSES:
                    logger.warning("batch job %s has an unknown status %r: left in flight", state["name"], status)
                continue
            state |= {
                "collected": True,
                "status": status,
                "collected_at": datetime.fromtimestamp(self.clock(), UTC).isoformat(),
                "counts": counts,
            }
            self._collected.append(state)
        return results

    def mark_collected(self) -> None:
        """Record the jobs the last :meth:`collect` read as collected: call it once their assessments are
        stored. A crash before leaves them uncollected, and the next run reads them again (the score
        index then finds what was stored, so nothing is recorded or paid twice)."""
        for state in self._collected:
            self._write_state(state)
            logger.info("batch job %s collected: %s %s", state["name"], state["status"], state["counts"])
        self._collected = []

    def _read_results(
        self, state: Mapping[str, Any], current: Mapping[tuple[str, str], PostContext]
    ) -> tuple[list[tuple[PostContext, Assessment]], dict[str, int]]:
        outputs = self._outputs(state["name"])
        counts = dict.fromkeys(("scored", "failed", "errored", "missing", "skipped"), 0)
        assessed: list[tuple[PostContext, Assessment]] = []
        for rid, record in state["records"].items():
            post = current.get((record["post_id"], record["content_hash"]))
            if post is None:
                counts["skipped"] += 1
                continue
            post = replace(post, comments=tuple(record.get("comments", post.comments)))
            line = outputs.get(rid)
            if line is None or line.get("error") or not isinstance(line.get("modelOutput"), Mapping):
                counts["errored" if line is not None else "missing"] += 1
                if line is not None:
                    logger.warning("batch job %s record %s: %s", state["name"], rid, line.get("error"))
                continue
            raw, input_tokens, output_tokens, error = parse_model_output(state["model_id"], line["modelOutput"])
            usage: dict[str, Any] = {
                "mode": "batch",
                "model_calls": 1,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cost_usd": self.policy.price.cost(input_tokens, output_tokens, factor=self.policy.batch.price_factor),
            }
            answer, problems = (None, [error]) if error else validate_answer(raw, post)
            if answer is not None:
                assessed.append((post, Assessment(answer=answer, **usage)))
                counts["scored"] += 1
            else:
                assessed.append((post, Assessment(failure="invalid batch answer: " + "; ".join(problems), **usage)))
                counts["failed"] += 1
        return assessed, counts

    def _outputs(self, name: str) -> dict[str, dict[str, Any]]:
        """Every output line by ``recordId``, from each ``*.jsonl.out`` under the job's output prefix."""
        lines: dict[str, dict[str, Any]] = {}
        for key in self.store.list(batch_output_prefix(name)):
            if not key.endswith(OUTPUT_SUFFIX):
                continue
            for number, text in enumerate((self.store.get(key) or b"").decode().splitlines(), 1):
                if not text.strip():
                    continue
                try:
                    line = json.loads(text)
                except json.JSONDecodeError:
                    logger.warning("batch output %s line %d is not JSON: skipped", key, number)
                    continue
                if isinstance(line, dict) and isinstance(line.get("recordId"), str):
                    lines[line["recordId"]] = line
        return lines


def _record(post: PostContext) -> dict[str, Any]:
    """What the state keeps of a record: the post version, and the comments it was shown (its evidence
    is checked against them: the post's top comments may have changed by the time the answer arrives)."""
    return {"post_id": post.post_id, "content_hash": post.content_hash, "comments": list(post.comments)}


def _records_of(jsonl: bytes, posts: Sequence[PostContext]) -> dict[str, dict[str, Any]]:
    """The state's records for a records file already written: its recordIds, joined to ``posts``.

    A record only joins the post version it was made from; one no post of ``posts`` makes (edited or
    gone since) is left out, so its answer is not used, as :meth:`BatchInference.collect` skips one.
    """
    written = {json.loads(text)["recordId"] for text in jsonl.decode().splitlines() if text.strip()}
    records = {rid: _record(post) for post in posts if (rid := record_id(post.post_id, post.content_hash)) in written}
    if len(records) < len(written):
        logger.warning(
            "%d records of the file match no post given: their answers will not be used", len(written) - len(records)
        )
    return records


def _quota_pages(operation: Callable[..., Any]) -> Iterator[Mapping[str, Any]]:
    kwargs: dict[str, Any] = {"ServiceCode": "bedrock"}
    while True:
        page = operation(**kwargs)
        yield from page.get("Quotas", [])
        if not page.get("NextToken"):
            return
        kwargs["NextToken"] = page["NextToken"]
