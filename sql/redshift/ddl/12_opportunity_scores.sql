-- The current assessment of each post per prompt version (failed ones included, with their reason).
CREATE TABLE IF NOT EXISTS lakehouse.opportunity_scores (
    post_id VARCHAR(16) NOT NULL ENCODE zstd,
    prompt_version VARCHAR(64) NOT NULL ENCODE zstd,
    model_id VARCHAR(128) ENCODE zstd,
    content_hash VARCHAR(64) ENCODE zstd,
    status VARCHAR(16) ENCODE zstd,
    is_opportunity BOOLEAN,
    market_demand INTEGER,
    pain_intensity INTEGER,
    monetization_potential INTEGER,
    market_gap INTEGER,
    technical_feasibility INTEGER,
    opportunity_score DOUBLE PRECISION,
    tier VARCHAR(16) ENCODE zstd,
    app_concept VARCHAR(2048) ENCODE zstd,
    target_user VARCHAR(1024) ENCODE zstd,
    core_functions VARCHAR(4096) ENCODE zstd,
    evidence VARCHAR(8192) ENCODE zstd,
    opportunity_reason VARCHAR(4096) ENCODE zstd,
    scored_at TIMESTAMP,
    run_id VARCHAR(256) ENCODE zstd,
    PRIMARY KEY (post_id, prompt_version)
)
DISTSTYLE KEY
DISTKEY (post_id)
COMPOUND SORTKEY (scored_at)
