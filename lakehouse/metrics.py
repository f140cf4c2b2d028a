"""The CloudWatch metrics the stages publish and the alarms watch: namespace, dimensions and names, once."""

from __future__ import annotations

from enum import StrEnum

NAMESPACE = "RedditLakehouse"

# Every metric carries the environment: dev and prod may share an account and a region.
ENVIRONMENT_DIMENSION = "environment"
# The ingest function's metrics (Powertools EMF): dimensions service=<INGEST_SERVICE>, environment=<env>.
INGEST_SERVICE = "ingest"
# The processing job's metrics: dimensions job=<PROCESS_JOB>, environment=<env>.
PROCESS_JOB = "process_posts"
# The verify function's metrics (Powertools EMF), one blob per run: service=<VERIFY_SERVICE>, environment=<env>.
VERIFY_SERVICE = "verify"
# The scoring function's metrics (Powertools EMF), one blob per invocation: service=<SCORE_SERVICE>, environment=<env>.
SCORE_SERVICE = "score"


class IngestMetric(StrEnum):
    LISTING_PAGES = "listing_pages"
    NEW_POSTS = "new_posts"
    REFRESHED_POSTS = "refreshed_posts"
    COMMENTS = "comments"
    QUARANTINED = "quarantined"
    POSTS_WRITTEN = "posts_written"
    REDDIT_REQUESTS = "reddit_requests"
    RATE_LIMIT_WAITS = "rate_limit_waits"
    CAP_HITS = "cap_hits"
    DURATION = "duration"
    # A subreddit Reddit will not list (private, banned, missing): its invocation ends "skipped".
    SUBREDDITS_SKIPPED = "subreddits_skipped"


class ProcessMetric(StrEnum):
    QUALITY_BREACHES = "quality_breaches"


class RunMetric(StrEnum):
    """What the verify step publishes once per run, after checking the run's reconciliation across stages."""

    # Seconds from the newest post any subreddit listed this run to the end of the run: how stale the lake is.
    FRESHNESS = "freshness_seconds"
    POSTS_INGESTED = "posts_ingested"
    COMMENTS_INGESTED = "comments_ingested"
    POSTS_PROCESSED = "posts_processed"
    COMMENTS_PROCESSED = "comments_processed"
    QUARANTINED = "rows_quarantined"
    SUBREDDITS_FAILED = "subreddits_failed"
    # Reddit requests the run made (all subreddits), and what its compute cost (Glue DPU-hours, estimated).
    REDDIT_REQUESTS = "reddit_requests"
    GLUE_DPU_HOURS = "glue_dpu_hours"
    ESTIMATED_COST_USD = "estimated_cost_usd"
    # How many checks failed (0 when the run reconciles); the step then fails, so the run does.
    RECONCILIATION_FAILURES = "reconciliation_failures"


class ScoreMetric(StrEnum):
    """What the scoring function publishes once per invocation."""

    POSTS_SCORED = "posts_scored"
    POSTS_FAILED = "posts_failed"  # answers that failed validation after their repair: recorded with the reason
    POSTS_DEFERRED = "posts_deferred"  # a transient backend failure, or the budget: left for the next run
    POSTS_WAITING = "posts_waiting"  # problem posts without a score after this run (the backlog)
    MODEL_CALLS = "model_calls"
    INPUT_TOKENS = "input_tokens"
    OUTPUT_TOKENS = "output_tokens"
    COST_USD = "llm_cost_usd"
    # 1 when the run stopped scoring because its budget could not pay for the next post, else 0.
    BUDGET_EXHAUSTED = "budget_exhausted"
    BATCH_RECORDS_SUBMITTED = "batch_records_submitted"
    BATCH_RECORDS_COLLECTED = "batch_records_collected"
