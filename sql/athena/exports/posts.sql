-- A run's posts for the warehouse: the rows whose current snapshot this run fetched, in the columns and order
-- of lakehouse.posts (COPY from Parquet matches by position). Lists become comma-joined text; bodies are cut
-- to fit a Redshift VARCHAR.
SELECT
    p.post_id,
    p.subreddit,
    p.created_at,
    p.created_month,
    substr(p.title, 1, 300) AS title,
    substr(p.body, 1, 16000) AS body,
    substr(p.permalink, 1, 250) AS permalink,
    substr(p.url, 1, 1000) AS url,
    substr(p.flair, 1, 64) AS flair,
    p.author_hash,
    p.score,
    p.upvote_ratio,
    p.num_comments,
    p.over_18,
    p.is_problem,
    array_join(p.problem_signals, ',') AS problem_signals,
    p.sentiment,
    p.language,
    substr(array_join(p.keywords, ','), 1, 250) AS keywords,
    p.word_count,
    p.snapshot_fetched_at,
    p.processed_job_run
FROM processed_posts AS p
WHERE p.snapshot_run_id = '${run_id}'
