-- Opportunities: each scored problem post with its current assessment (the newest of any model or
-- prompt version), ranked by opportunity score. Failed assessments carry no score and are left out.
CREATE OR REPLACE VIEW v_opportunities AS
WITH current_scores AS (
    SELECT
        s.*,
        row_number() OVER (PARTITION BY s.post_id ORDER BY s.scored_at DESC, s.prompt_version DESC) AS newest
    FROM opportunity_scores AS s
    WHERE s.status = 'scored'
)
SELECT
    rank() OVER (ORDER BY c.opportunity_score DESC) AS opportunity_rank,
    c.post_id,
    p.subreddit,
    p.created_at,
    p.created_month,
    p.title,
    p.permalink,
    c.is_opportunity,
    c.opportunity_score,
    c.tier,
    c.market_demand,
    c.pain_intensity,
    c.monetization_potential,
    c.market_gap,
    c.technical_feasibility,
    c.app_concept,
    c.target_user,
    c.core_functions,
    c.evidence,
    c.opportunity_reason,
    c.model_id,
    c.prompt_version,
    c.scored_at
FROM current_scores AS c
INNER JOIN processed_posts AS p ON p.post_id = c.post_id
WHERE c.newest = 1
ORDER BY opportunity_rank, c.post_id
