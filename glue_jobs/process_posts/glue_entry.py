"""The Glue entry point (the job's script): arguments, job bookmarks, the PII key, metrics.

Glue 5.1 (Spark 3.5.6, Python 3.11) runs this file; ``glue_jobs`` and ``lakehouse`` arrive as
``--extra-py-files``. Job bookmarks (``transformation_ctx``) make each run read only raw
objects no successful run has read; ``job.commit()`` advances them after the output is written.

The PII key is checked before Spark starts: a key that is not the environment's (a replaced or
regenerated secret) would give every author a new pseudonym and silently split distinct-author
counts at that run, so such a run fails instead, having read and written nothing.
"""

from __future__ import annotations

import sys
import time
from typing import Any


class PiiKeyMismatchError(RuntimeError):
    """The secret holds another key than the one the environment's pseudonyms were made with."""


def check_pii_key(key: bytes, *, expected_fingerprint: str, secret_arn: str) -> None:
    """Raise unless ``key``'s fingerprint is ``expected_fingerprint`` (``UNCHECKED_FINGERPRINT``: no check)."""
    from glue_jobs.process_posts.arguments import UNCHECKED_FINGERPRINT
    from lakehouse.domain.pii import key_fingerprint

    if expected_fingerprint == UNCHECKED_FINGERPRINT:
        return
    actual = key_fingerprint(key)
    if actual != expected_fingerprint:
        raise PiiKeyMismatchError(
            f"the PII key in {secret_arn} is not the one this environment's pseudonyms were made with: "
            f"fingerprint {actual}, expected {expected_fingerprint}"
        )


def _publish(cloudwatch: Any, namespace: str, environment: str, metrics: dict[str, int]) -> None:
    from lakehouse.metrics import PROCESS_JOB

    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [
                    {"Name": "job", "Value": PROCESS_JOB},
                    {"Name": "environment", "Value": environment},
                ],
                "Value": float(value),
                "Unit": "Count",
            }
            for name, value in metrics.items()
        ],
    )


def _epoch(timestamp: str) -> float:
    """The state machine's ``$$.Execution.StartTime`` (ISO-8601, ``Z``) as epoch seconds."""
    from datetime import datetime

    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def main(argv: list[str]) -> None:
    import boto3
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    from glue_jobs.process_posts.arguments import UNSET, JobArguments
    from glue_jobs.process_posts.io import LakePaths
    from glue_jobs.process_posts.process import ProcessSettings, process_raw
    from glue_jobs.process_posts.quality import DataQualityError
    from lakehouse.lake.store import open_store
    from lakehouse.metrics import ProcessMetric
    from lakehouse.pipeline import RunManifests, check_run_id, record_process_pass
    from lakehouse.tables import RAW_COMMENTS, RAW_POSTS

    args = getResolvedOptions(argv, ["JOB_NAME", "JOB_RUN_ID", *JobArguments.names()])
    arguments = JobArguments.from_resolved(args)
    run_id = check_run_id(args["JOB_RUN_ID"] if arguments.run_id == UNSET else arguments.run_id)
    started = time.time() if arguments.run_started_at == UNSET else _epoch(arguments.run_started_at)
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=arguments.pii_secret_arn)["SecretString"]
    pii_key = secret.encode()
    check_pii_key(pii_key, expected_fingerprint=arguments.pii_key_fingerprint, secret_arn=arguments.pii_secret_arn)

    glue = GlueContext(SparkContext.getOrCreate())
    spark = glue.spark_session
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    job = Job(glue)
    job.init(args["JOB_NAME"], args)

    def new_raw(table: str) -> Any:
        frame = glue.create_dynamic_frame.from_options(
            connection_type="s3",
            connection_options={"paths": [f"{arguments.raw_uri.rstrip('/')}/{table}/"], "recurse": True},
            format="parquet",
            transformation_ctx=f"raw_{table}",
        ).toDF()
        return None if frame.rdd.isEmpty() else frame

    cloudwatch = boto3.client("cloudwatch")
    try:
        result = process_raw(
            new_raw(RAW_POSTS.prefix),
            new_raw(RAW_COMMENTS.prefix),
            paths=LakePaths(processed=arguments.processed_uri, quarantine=arguments.quarantine_uri),
            settings=ProcessSettings(job_run=run_id, now_epoch=started, pii_key=pii_key),
        )
    except DataQualityError as breach:
        breaches = {ProcessMetric.QUALITY_BREACHES.value: len(breach.breaches)}
        _publish(cloudwatch, arguments.metrics_namespace, arguments.environment, breaches)
        raise
    _publish(cloudwatch, arguments.metrics_namespace, arguments.environment, result.report.metrics())
    summary = result.summary()
    print(summary)  # Glue's continuous logging captures stdout
    # The manifest before the bookmark: a crash between the two re-reads the same objects next time,
    # which the manifest merges (lakehouse.pipeline.record_process_pass) and the output absorbs.
    runs = RunManifests(open_store(arguments.runs_uri, s3_client=boto3.client("s3")))
    record_process_pass(runs, run_id, summary, job_run_id=args["JOB_RUN_ID"])
    job.commit()


if __name__ == "__main__":
    main(sys.argv)
