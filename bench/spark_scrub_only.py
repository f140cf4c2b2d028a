"""A profiling stand-in for the job's enrichment UDF: the PII scrub only (the quality gate still holds).

``bench/process_engines.py spark-scrub-only`` swaps it in for ``transforms._post_text_udf``: the same
input struct, the same Arrow round trip to the Python workers and the text columns scrubbed, but no
problem rule, sentiment, language, keywords or author hash (typed defaults instead). What the full
job costs beyond it is that Python work. It follows ``POST_TEXT_SCHEMA`` and the input columns by
name, so it keeps working as the job's UDF grows. (A module of its own: pandas UDF type hints are
resolved against module globals.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
from pyspark.sql import functions as F
from pyspark.sql import types as T

from glue_jobs.process_posts.transforms import POST_TEXT_SCHEMA
from lakehouse.domain.pii import scrub_text

# Output field <- raw input column, for the text the job scrubs.
SCRUBBED = {
    "title": "title",
    "body": "selftext",
    "url": "url",
    "permalink": "permalink",
    "domain": "domain",
    "flair": "link_flair_text",
}


def _default(dtype: T.DataType) -> Any:
    if isinstance(dtype, T.BooleanType):
        return False
    if isinstance(dtype, T.IntegerType | T.LongType):
        return 0
    if isinstance(dtype, T.DoubleType):
        return 0.0
    if isinstance(dtype, T.ArrayType):
        return []
    return None


def scrub_only_udf(pii_key: bytes) -> object:
    del pii_key  # no author hash

    @F.pandas_udf(POST_TEXT_SCHEMA)  # type: ignore[call-overload]
    def post_text(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            out = pd.DataFrame(index=batch.index)
            for field in POST_TEXT_SCHEMA.fields:
                source = SCRUBBED.get(field.name)
                if source in batch.columns:
                    out[field.name] = batch[source].map(scrub_text, na_action="ignore")
                elif field.name == "subreddit" and "subreddit_name" in batch.columns:
                    out[field.name] = batch["subreddit_name"].str.lower()
                else:
                    out[field.name] = [_default(field.dataType)] * len(batch)
            yield out

    return post_text
