-- Staging for a run's opportunity scores.
CREATE TABLE IF NOT EXISTS lakehouse.stage_opportunity_scores (LIKE lakehouse.opportunity_scores)
