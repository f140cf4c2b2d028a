-- Problem posts: every processed post the problem flag picked, with the signals and rule version that picked it.
CREATE OR REPLACE VIEW v_problem_posts AS
SELECT
    p.post_id,
    p.subreddit,
    p.created_at,
    p.created_month,
    p.title,
    p.body,
    p.permalink,
    p.flair,
    p.score,
    p.num_comments,
    p.problem_signals,
    p.problem_rule_version,
    p.sentiment,
    p.language,
    p.keywords
FROM processed_posts AS p
WHERE p.is_problem
