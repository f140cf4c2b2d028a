"""Benchmarks: run with ``.venv/bin/python bench/<name>.py`` (or ``make bench``)."""
