"""Smoke test of ``bench/ingest_vs_dlt.py``: the quick mode runs both tools end to end and reports them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.e2e

BENCH = PROJECT_ROOT / "bench" / "ingest_vs_dlt.py"


@pytest.mark.timeout(180)
def test_quick_bench_reports_both_tools_with_requests(tmp_path: Path) -> None:
    results_path = tmp_path / "results.json"
    completed = subprocess.run(
        # dlt's default (insert_values) variant is left out to keep the smoke test short.
        [sys.executable, str(BENCH), "--quick", "--dlt-default-up-to", "0", "--json", str(results_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]

    table = [line for line in completed.stdout.splitlines() if line.startswith("| ")]
    header = "| posts | scenario | tool | requests | wall s | posts/s | peak MiB |"  # more columns may follow
    assert table[0].startswith(header)
    body = [[cell.strip() for cell in line.strip("|").split("|")] for line in table[1:]]
    assert {(row[1], row[2]) for row in body} >= {
        (scenario, tool) for scenario in ("full", "incremental") for tool in ("ours", "dlt-parquet")
    }
    assert all(int(row[3]) > 0 for row in body), table
    assert "requests ours/dlt" in completed.stdout

    results = json.loads(results_path.read_text())
    assert {row["tool"] for row in results["results"]} >= {"ours", "dlt-parquet"}
    for row in results["results"]:
        assert row["requests"] > 0
        assert row["wall_seconds"] > 0
        assert row["peak_mib"] > 0
        assert row["checks"]["every_post_landed"], row
    assert {(item["scenario"], item["peer"]) for item in results["ratios"]} >= {
        ("full", "dlt-parquet"),
        ("incremental", "dlt-parquet"),
    }
