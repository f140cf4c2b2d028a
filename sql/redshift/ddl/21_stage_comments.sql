-- Staging for a run's comments.
CREATE TABLE IF NOT EXISTS lakehouse.stage_comments (LIKE lakehouse.comments)
