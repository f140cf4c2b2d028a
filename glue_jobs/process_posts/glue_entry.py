"""The Glue entry point (the job's script): arguments, job bookmarks, the PII key, metrics.

Glue 5.1 (Spark 3.5.6, Python 3.11) runs this file; ``glue_jobs`` and ``lakehouse`` arrive as
``--extra-py-files``. Job bookmarks (``transformation_ctx``) make each run read only raw
objects no successful run has read; ``job.commit()`` advances them after the output is written.
"""

from __future__ import annotations

import sys
import time
from typing import Any


def _publish(cloudwatch: Any, namespace: str, environment: str, metrics: dict[str, int]) -> None:
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [
                    {"Name": "job", "Value": "process_posts"},
                    {"Name": "environment", "Value": environment},
                ],
                "Value": float(value),
                "Unit": "Count",
            }
            for name, value in metrics.items()
        ],
    )


def main(argv: list[str]) -> None:
    import boto3
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    from glue_jobs.process_posts.io import LakePaths
    from glue_jobs.process_posts.process import ProcessSettings, process_raw
    from glue_jobs.process_posts.quality import DataQualityError

    args = getResolvedOptions(
        argv,
        [
            "JOB_NAME",
            "JOB_RUN_ID",
            "raw_uri",
            "processed_uri",
            "quarantine_uri",
            "pii_secret_arn",
            "metrics_namespace",
            "environment",
        ],
    )
    glue = GlueContext(SparkContext.getOrCreate())
    spark = glue.spark_session
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    job = Job(glue)
    job.init(args["JOB_NAME"], args)

    def new_raw(table: str) -> Any:
        frame = glue.create_dynamic_frame.from_options(
            connection_type="s3",
            connection_options={"paths": [f"{args['raw_uri'].rstrip('/')}/{table}/"], "recurse": True},
            format="parquet",
            transformation_ctx=f"raw_{table}",
        ).toDF()
        return None if frame.rdd.isEmpty() else frame

    secret = boto3.client("secretsmanager").get_secret_value(SecretId=args["pii_secret_arn"])["SecretString"]
    cloudwatch = boto3.client("cloudwatch")
    try:
        result = process_raw(
            new_raw("posts"),
            new_raw("comments"),
            paths=LakePaths(processed=args["processed_uri"], quarantine=args["quarantine_uri"]),
            settings=ProcessSettings(job_run=args["JOB_RUN_ID"], now_epoch=time.time(), pii_key=secret.encode()),
        )
    except DataQualityError as breach:
        _publish(cloudwatch, args["metrics_namespace"], args["environment"], {"quality_breaches": len(breach.breaches)})
        raise
    _publish(cloudwatch, args["metrics_namespace"], args["environment"], result.report.metrics())
    print(result.summary())  # Glue's continuous logging captures stdout
    job.commit()


if __name__ == "__main__":
    main(sys.argv)
