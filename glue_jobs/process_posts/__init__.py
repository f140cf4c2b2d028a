"""process_posts: raw snapshots -> one clean, current, PII-free row per post (and per comment)."""
