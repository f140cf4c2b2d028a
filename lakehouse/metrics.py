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
