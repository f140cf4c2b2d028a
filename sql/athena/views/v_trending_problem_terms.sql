-- Problem terms by ISO week (starting Monday, UTC): how many problem posts carry each keyword, and the
-- change against the week before (a term absent that week counts 0 there).
CREATE OR REPLACE VIEW v_trending_problem_terms AS
WITH weekly AS (
    SELECT
        CAST(date_trunc('week', p.created_at) AS date) AS week,
        k.term,
        count(DISTINCT p.post_id) AS problem_posts
    FROM processed_posts AS p
    CROSS JOIN UNNEST(p.keywords) AS k (term)
    WHERE p.is_problem
    GROUP BY 1, 2
)
SELECT
    w.week,
    w.term,
    w.problem_posts,
    coalesce(previous.problem_posts, 0) AS previous_week_posts,
    w.problem_posts - coalesce(previous.problem_posts, 0) AS change
FROM weekly AS w
LEFT JOIN weekly AS previous
    ON previous.term = w.term AND previous.week = date_add('day', -7, w.week)
