-- Activity per subreddit and UTC day: posts, the share of problem posts, comments, score and sentiment.
-- created_month is kept so that a filter on it prunes partitions.
CREATE OR REPLACE VIEW v_subreddit_daily AS
SELECT
    p.subreddit,
    p.created_month,
    CAST(p.created_at AS date) AS day,
    count(*) AS posts,
    count_if(p.is_problem) AS problem_posts,
    CAST(count_if(p.is_problem) AS double) / count(*) AS problem_share,
    sum(p.num_comments) AS comments,
    avg(p.score) AS avg_score,
    avg(p.sentiment) AS avg_sentiment
FROM processed_posts AS p
GROUP BY p.subreddit, p.created_month, CAST(p.created_at AS date)
