"""Smoke test of ``bench/process_vs_duckdb.py``: quick mode runs the Spark job and DuckDB on the same raw zone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

BENCH = PROJECT_ROOT / "bench" / "process_vs_duckdb.py"


@pytest.mark.timeout(240)
def test_quick_bench_engines_write_the_same_posts(tmp_path: Path) -> None:
    results_path = tmp_path / "results.json"
    completed = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--quick",
            "--engines",
            "spark,duckdb",
            "--out",
            str(tmp_path / "out"),
            "--json",
            str(results_path),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=230,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    table = [line for line in completed.stdout.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| rows | engine | wall s | job s |")
    assert {row.split("|")[2].strip() for row in table[1:]} == {"spark", "duckdb"}
    assert "spark/duckdb at 5,000 rows" in completed.stdout

    results = json.loads(results_path.read_text())
    by_engine = {row["engine"]: row for row in results["results"]}
    for row in by_engine.values():
        assert row["rows_in"] == 5_000
        assert row["counts"]["balanced"], row["counts"]
        assert row["wall_seconds"] > row["job_seconds"] > 0
        assert row["peak_mib"] > 0
    # ~20% of the raw rows are later snapshots of the same posts: both engines keep one per post.
    assert by_engine["spark"]["counts"]["superseded"] == by_engine["duckdb"]["counts"]["superseded"] == 1_000
    assert by_engine["spark"]["rows_out"] == by_engine["duckdb"]["rows_out"] > 0
    check = results["checks"]["5000"]["duckdb"]
    assert check["same_ids"], check
    assert check["snapshot_mismatches"] == 0, check
    assert results["checks"]["5000"]["spark"]["distinct_ids"] == by_engine["spark"]["rows_out"]
