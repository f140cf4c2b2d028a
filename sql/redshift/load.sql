-- One run's increment into the warehouse, sent as one Data API BatchExecuteStatement (one transaction):
-- empty staging, COPY the run's own export prefix into it, keep one row per key (ROW_NUMBER: the newest),
-- MERGE into the tables, empty staging again. Safe to rerun and to redrive: a second load of the same
-- export updates every row to what it already is. ${export_uri} is the run's export prefix
-- (s3://<bucket>/exports/run_id=<run>/), ${copy_role_arn} the role COPY assumes (read on that prefix only).
DELETE FROM lakehouse.stage_posts;
DELETE FROM lakehouse.stage_comments;
DELETE FROM lakehouse.stage_opportunity_scores;
COPY lakehouse.stage_posts FROM '${export_uri}posts/' IAM_ROLE '${copy_role_arn}' FORMAT AS PARQUET;
COPY lakehouse.stage_comments FROM '${export_uri}comments/' IAM_ROLE '${copy_role_arn}' FORMAT AS PARQUET;
COPY lakehouse.stage_opportunity_scores FROM '${export_uri}opportunity_scores/' IAM_ROLE '${copy_role_arn}' FORMAT AS PARQUET;
CREATE TEMP TABLE increment_posts AS
SELECT * FROM lakehouse.stage_posts
QUALIFY ROW_NUMBER() OVER (PARTITION BY post_id ORDER BY snapshot_fetched_at DESC, processed_job_run DESC) = 1;
CREATE TEMP TABLE increment_comments AS
SELECT * FROM lakehouse.stage_comments
QUALIFY ROW_NUMBER() OVER (PARTITION BY comment_id ORDER BY snapshot_fetched_at DESC) = 1;
CREATE TEMP TABLE increment_opportunity_scores AS
SELECT * FROM lakehouse.stage_opportunity_scores
QUALIFY ROW_NUMBER() OVER (PARTITION BY post_id, prompt_version ORDER BY scored_at DESC) = 1;
MERGE INTO lakehouse.posts USING increment_posts AS s ON lakehouse.posts.post_id = s.post_id
WHEN MATCHED THEN UPDATE SET
    subreddit = s.subreddit, created_at = s.created_at, created_month = s.created_month, title = s.title,
    body = s.body, permalink = s.permalink, url = s.url, flair = s.flair, author_hash = s.author_hash,
    score = s.score, upvote_ratio = s.upvote_ratio, num_comments = s.num_comments, over_18 = s.over_18,
    is_problem = s.is_problem, problem_signals = s.problem_signals, sentiment = s.sentiment,
    language = s.language, keywords = s.keywords, word_count = s.word_count,
    snapshot_fetched_at = s.snapshot_fetched_at, processed_job_run = s.processed_job_run
WHEN NOT MATCHED THEN INSERT (
    post_id, subreddit, created_at, created_month, title, body, permalink, url, flair, author_hash, score,
    upvote_ratio, num_comments, over_18, is_problem, problem_signals, sentiment, language, keywords, word_count,
    snapshot_fetched_at, processed_job_run
) VALUES (
    s.post_id, s.subreddit, s.created_at, s.created_month, s.title, s.body, s.permalink, s.url, s.flair,
    s.author_hash, s.score, s.upvote_ratio, s.num_comments, s.over_18, s.is_problem, s.problem_signals,
    s.sentiment, s.language, s.keywords, s.word_count, s.snapshot_fetched_at, s.processed_job_run
);
MERGE INTO lakehouse.comments USING increment_comments AS s ON lakehouse.comments.comment_id = s.comment_id
WHEN MATCHED THEN UPDATE SET
    post_id = s.post_id, parent_id = s.parent_id, subreddit = s.subreddit, body = s.body,
    author_hash = s.author_hash, created_at = s.created_at, score = s.score, depth = s.depth,
    sentiment = s.sentiment, snapshot_fetched_at = s.snapshot_fetched_at
WHEN NOT MATCHED THEN INSERT (
    comment_id, post_id, parent_id, subreddit, body, author_hash, created_at, score, depth, sentiment,
    snapshot_fetched_at
) VALUES (
    s.comment_id, s.post_id, s.parent_id, s.subreddit, s.body, s.author_hash, s.created_at, s.score, s.depth,
    s.sentiment, s.snapshot_fetched_at
);
MERGE INTO lakehouse.opportunity_scores USING increment_opportunity_scores AS s
    ON lakehouse.opportunity_scores.post_id = s.post_id
    AND lakehouse.opportunity_scores.prompt_version = s.prompt_version
WHEN MATCHED THEN UPDATE SET
    model_id = s.model_id, content_hash = s.content_hash, status = s.status, is_opportunity = s.is_opportunity,
    market_demand = s.market_demand, pain_intensity = s.pain_intensity,
    monetization_potential = s.monetization_potential, market_gap = s.market_gap,
    technical_feasibility = s.technical_feasibility, opportunity_score = s.opportunity_score, tier = s.tier,
    app_concept = s.app_concept, target_user = s.target_user, core_functions = s.core_functions,
    evidence = s.evidence, opportunity_reason = s.opportunity_reason, scored_at = s.scored_at, run_id = s.run_id
WHEN NOT MATCHED THEN INSERT (
    post_id, prompt_version, model_id, content_hash, status, is_opportunity, market_demand, pain_intensity,
    monetization_potential, market_gap, technical_feasibility, opportunity_score, tier, app_concept, target_user,
    core_functions, evidence, opportunity_reason, scored_at, run_id
) VALUES (
    s.post_id, s.prompt_version, s.model_id, s.content_hash, s.status, s.is_opportunity, s.market_demand,
    s.pain_intensity, s.monetization_potential, s.market_gap, s.technical_feasibility, s.opportunity_score, s.tier,
    s.app_concept, s.target_user, s.core_functions, s.evidence, s.opportunity_reason, s.scored_at, s.run_id
);
DROP TABLE increment_posts;
DROP TABLE increment_comments;
DROP TABLE increment_opportunity_scores;
DELETE FROM lakehouse.stage_posts;
DELETE FROM lakehouse.stage_comments;
DELETE FROM lakehouse.stage_opportunity_scores
