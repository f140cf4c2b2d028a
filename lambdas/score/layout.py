"""Where the scoring function reads and writes, once: the CDK grants and the code both derive from it.

Analytics zone (``s3://<analytics bucket>/`` on AWS, ``<lake>/analytics/`` locally)::

    opportunity_scores/prompt_version=<v>/scores.parquet   one current row per post (lakehouse.tables)
    llm_costs/scored_date=<YYYY-MM-DD>/<run_id>.part-NNNNN.parquet   the ledger, per run and checkpoint
    batch_inference/jobs/<job name>.json                   a batch inference job's state
    batch_inference/<job name>/input/records.jsonl         its records (InvokeModel bodies)
    batch_inference/<job name>/output/                     what Bedrock writes back

Processed zone: ``posts/`` and ``comments/`` (read only). Run manifests: ``runs/<run_id>/score.json``.
"""

from __future__ import annotations

from lakehouse.tables import LLM_COSTS, OPPORTUNITY_SCORES, PROCESSED_COMMENTS, PROCESSED_POSTS

__all__ = [
    "BATCH_INPUT_FILE",
    "BATCH_JOBS_PREFIX",
    "BATCH_PREFIX",
    "COSTS_PREFIX",
    "SCORES_FILE",
    "SCORES_PREFIX",
    "SOURCE_PREFIXES",
    "batch_input_key",
    "batch_job_key",
    "batch_output_prefix",
]

SCORES_PREFIX = f"{OPPORTUNITY_SCORES.prefix}/"
SCORES_FILE = "scores.parquet"
COSTS_PREFIX = f"{LLM_COSTS.prefix}/"
BATCH_PREFIX = "batch_inference/"
BATCH_JOBS_PREFIX = f"{BATCH_PREFIX}jobs/"
BATCH_INPUT_FILE = "records.jsonl"
SOURCE_PREFIXES = (f"{PROCESSED_POSTS.prefix}/", f"{PROCESSED_COMMENTS.prefix}/")


def batch_job_key(job_name: str) -> str:
    return f"{BATCH_JOBS_PREFIX}{job_name}.json"


def batch_input_key(job_name: str) -> str:
    return f"{BATCH_PREFIX}{job_name}/input/{BATCH_INPUT_FILE}"


def batch_output_prefix(job_name: str) -> str:
    return f"{BATCH_PREFIX}{job_name}/output/"
