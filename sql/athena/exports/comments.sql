-- A run's comments for the warehouse, in the columns and order of lakehouse.comments.
SELECT
    c.comment_id,
    c.post_id,
    c.parent_id,
    c.subreddit,
    substr(c.body, 1, 16000) AS body,
    c.author_hash,
    c.created_at,
    c.score,
    c.depth,
    c.sentiment,
    c.snapshot_fetched_at
FROM processed_comments AS c
WHERE c.snapshot_run_id = '${run_id}'
