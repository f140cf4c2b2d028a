"""The ``lakehouse`` command as a user runs it: failures print their cause and set the exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.e2e

LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")
SMALL = ["--source", "synthetic:3", "--posts", "300", "--days", "2", "--until", "ingest"]


def _run(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    command = [LAKEHOUSE, "run", *SMALL, "--lake", str(tmp_path / "lake"), "--retry-base", "0.001", *flags]
    return subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_rejected_credentials_print_the_cause_per_subreddit_and_exit_1(tmp_path: Path) -> None:
    result = _run(tmp_path, "--reject-credentials", "--subreddits", "python,SaaS")

    assert result.returncode == 1
    failures = [line for line in result.stderr.splitlines() if line.strip().startswith("FAILED")]
    assert len(failures) == 2
    assert all("HTTP 401 from the token endpoint" in line and "client id or secret" in line for line in failures)


def test_a_private_subreddit_is_reported_skipped_and_the_others_land(tmp_path: Path) -> None:
    result = _run(tmp_path, "--private-subreddits", "saas", "--subreddits", "python,SaaS")

    assert result.returncode == 0, result.stderr
    assert "skipped r/SaaS: /r/SaaS/new: HTTP 403 (private or quarantined)" in result.stderr
    assert "ingest: 2 subreddits" in result.stdout
    assert list((tmp_path / "lake" / "raw" / "posts").glob("subreddit=*")) == [
        tmp_path / "lake" / "raw" / "posts" / "subreddit=python"
    ]


def test_an_unknown_environment_is_a_one_line_error_with_exit_2(tmp_path: Path) -> None:
    result = _run(tmp_path, "--env", "staging")

    assert result.returncode == 2
    assert result.stderr.strip() == "lakehouse run: unknown environment 'staging'; valid environments: dev, prod"
