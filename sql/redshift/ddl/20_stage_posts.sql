-- Staging for a run's posts: COPY lands here, the load deduplicates and merges, then empties it.
CREATE TABLE IF NOT EXISTS lakehouse.stage_posts (LIKE lakehouse.posts)
