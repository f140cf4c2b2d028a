-- One row per comment (PII scrubbed), distributed with its post.
CREATE TABLE IF NOT EXISTS lakehouse.comments (
    comment_id VARCHAR(16) NOT NULL ENCODE zstd,
    post_id VARCHAR(16) NOT NULL ENCODE zstd,
    parent_id VARCHAR(16) ENCODE zstd,
    subreddit VARCHAR(64) ENCODE zstd,
    body VARCHAR(65535) ENCODE zstd,
    author_hash VARCHAR(64) ENCODE zstd,
    created_at TIMESTAMP,
    score BIGINT,
    depth BIGINT,
    sentiment DOUBLE PRECISION,
    snapshot_fetched_at TIMESTAMP,
    PRIMARY KEY (comment_id)
)
DISTSTYLE KEY
DISTKEY (post_id)
COMPOUND SORTKEY (created_at)
