-- One row per post, as processed (PII scrubbed); lists are comma-joined text. Joined to comments and scores
-- by post_id, hence the distribution key; BI filters by time, hence the sort key.
CREATE TABLE IF NOT EXISTS lakehouse.posts (
    post_id VARCHAR(16) NOT NULL ENCODE zstd,
    subreddit VARCHAR(64) ENCODE zstd,
    created_at TIMESTAMP,
    created_month CHAR(7) ENCODE zstd,
    title VARCHAR(1200) ENCODE zstd,
    body VARCHAR(65535) ENCODE zstd,
    permalink VARCHAR(1024) ENCODE zstd,
    url VARCHAR(4096) ENCODE zstd,
    flair VARCHAR(256) ENCODE zstd,
    author_hash VARCHAR(64) ENCODE zstd,
    score BIGINT,
    upvote_ratio DOUBLE PRECISION,
    num_comments BIGINT,
    over_18 BOOLEAN,
    is_problem BOOLEAN,
    problem_signals VARCHAR(256) ENCODE zstd,
    sentiment DOUBLE PRECISION,
    language VARCHAR(16) ENCODE zstd,
    keywords VARCHAR(1024) ENCODE zstd,
    word_count INTEGER,
    snapshot_fetched_at TIMESTAMP,
    processed_job_run VARCHAR(256) ENCODE zstd,
    PRIMARY KEY (post_id)
)
DISTSTYLE KEY
DISTKEY (post_id)
COMPOUND SORTKEY (created_at)
