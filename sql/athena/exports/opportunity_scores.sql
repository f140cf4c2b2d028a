-- The assessments a run wrote, in the columns and order of lakehouse.opportunity_scores.
SELECT
    s.post_id,
    s.prompt_version,
    s.model_id,
    s.content_hash,
    s.status,
    s.is_opportunity,
    s.market_demand,
    s.pain_intensity,
    s.monetization_potential,
    s.market_gap,
    s.technical_feasibility,
    s.opportunity_score,
    s.tier,
    substr(s.app_concept, 1, 500) AS app_concept,
    substr(s.target_user, 1, 250) AS target_user,
    substr(array_join(s.core_functions, ' | '), 1, 1000) AS core_functions,
    substr(array_join(s.evidence, ' | '), 1, 2000) AS evidence,
    substr(s.opportunity_reason, 1, 1000) AS opportunity_reason,
    s.scored_at,
    s.run_id
FROM opportunity_scores AS s
WHERE s.run_id = '${run_id}'
