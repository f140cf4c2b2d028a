"""Verification: once per run, the checks across stages' manifests and the run's metrics."""
