"""Ingestion: one invocation per subreddit and run pulls Reddit into the raw zone."""
