-- The warehouse's schema: the posts, comments and current opportunity scores BI tools read.
CREATE SCHEMA IF NOT EXISTS lakehouse
