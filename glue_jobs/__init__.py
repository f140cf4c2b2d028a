"""Glue (Spark) jobs: pure transforms, a small I/O layer and thin entry points."""
