-- LLM spend and volumes per run and model, from the scoring ledger: what each run sent, what came back,
-- what it cost (answers that failed validation were paid for too). scored_date (the run's day, the
-- ledger's partition) is a grouping key, so a filter on it prunes partitions through the view.
CREATE OR REPLACE VIEW v_run_costs AS
SELECT
    l.run_id,
    l.scored_date,
    l.model_id,
    l.backend,
    l.mode,
    count(*) AS posts,
    count_if(l.status = 'scored') AS scored,
    count_if(l.status = 'failed') AS failed,
    count_if(l.status = 'deferred') AS deferred,
    sum(l.model_calls) AS model_calls,
    sum(l.input_tokens) AS input_tokens,
    sum(l.output_tokens) AS output_tokens,
    sum(l.cost_usd) AS cost_usd,
    min(l.scored_at) AS first_scored_at,
    max(l.scored_at) AS last_scored_at
FROM llm_costs AS l
GROUP BY l.run_id, l.scored_date, l.model_id, l.backend, l.mode
