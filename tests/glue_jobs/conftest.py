"""One SparkSession for the whole test run (~4 s to start, 2-3 GB): the job's own local session."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from glue_jobs.process_posts.local_entry import local_spark


@pytest.fixture(scope="session")
def spark() -> SparkSession:
    session = local_spark(cores=2, shuffle_partitions=2)
    session.sparkContext.setLogLevel("ERROR")
    return session
