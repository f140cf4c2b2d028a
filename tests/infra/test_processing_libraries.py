"""The job's ``--extra-py-files`` zip: what goes in, what stays out, and that it builds byte for byte.

No synthesis: the zip is a pure function of the files, so these tests build it directly.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from glue_jobs.process_posts.io import LakePaths
from infra.constructs.processing_job import JOB_LIBRARIES, PROCESSED_PREFIXES, PROJECT_ROOT, QUARANTINE_PREFIX
from infra.constructs.python_zip_asset import build_zip, zip_entries
from lakehouse.tables import PROCESSED_COMMENTS, PROCESSED_POSTS


@pytest.fixture(scope="module")
def names() -> list[str]:
    with zipfile.ZipFile(io.BytesIO(build_zip(JOB_LIBRARIES))) as archive:
        assert archive.testzip() is None
        return archive.namelist()


def _repo_files(pattern: str) -> set[str]:
    return {path.relative_to(PROJECT_ROOT).as_posix() for path in PROJECT_ROOT.glob(pattern)}


def test_zip_holds_the_job_package_and_the_runtime_package_whole(names: list[str]) -> None:
    expected = (
        {"glue_jobs/__init__.py"} | _repo_files("glue_jobs/process_posts/*.py") | _repo_files("lakehouse/**/*.py")
    )
    for module in ("glue_jobs/process_posts/transforms.py", "lakehouse/domain/pii.py", "lakehouse/tables.py"):
        assert module in expected
    assert "lakehouse/metrics.py" in expected  # glue_entry publishes with its names
    assert set(names) == expected


def test_zip_leaves_out_what_the_job_never_imports(names: list[str]) -> None:
    unwanted = ("lakehouse_tools/", "lambdas/", "infra/", "tests/", "bench/")
    assert [name for name in names if name.startswith(unwanted)] == []
    assert [name for name in names if "__pycache__" in name or not name.endswith(".py")] == []


def test_zip_is_byte_identical_across_builds_and_checkouts(tmp_path: Path) -> None:
    first, second = build_zip(JOB_LIBRARIES), build_zip(JOB_LIBRARIES)
    assert first == second
    # Another checkout: same files, new timestamps and modes, a stray cache. The bytes must not change.
    copies = []
    for source, destination in JOB_LIBRARIES:
        target = tmp_path / destination
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
            (target / "__pycache__").mkdir()
            (target / "__pycache__" / "stale.cpython-311.pyc").write_bytes(b"\0")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        copies.append((target, destination))
    for path in tmp_path.rglob("*.py"):
        os.utime(path, (2_000_000_000, 2_000_000_000))
        path.chmod(0o600)
    assert build_zip(copies) == first


def test_glue_can_import_the_packages_from_the_zip(tmp_path: Path) -> None:
    """Glue puts the zip first on sys.path; the modules must load from it (here without pyspark)."""
    archive = tmp_path / "glue_libs.zip"
    archive.write_bytes(build_zip(JOB_LIBRARIES))
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import lakehouse.domain.pii as pii, lakehouse.domain.problem_rule as rule;"
        "assert pii.__file__.startswith(sys.argv[1]) and rule.__file__.startswith(sys.argv[1]), pii.__file__;"
        "import zipfile; zipfile.ZipFile(sys.argv[1]).getinfo('glue_jobs/process_posts/transforms.py')"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(archive)], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr


def test_duplicate_or_non_python_entries_are_refused(tmp_path: Path) -> None:
    module = tmp_path / "a.py"
    module.write_text("x = 1\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "a.py").write_text("x = 2\n")
    with pytest.raises(ValueError, match="two sources"):
        list(zip_entries([(module, "pkg/a.py"), (tmp_path / "other", "pkg")]))
    with pytest.raises(ValueError, match="only Python files"):
        list(zip_entries([(module, "pkg/a.txt")]))
    with pytest.raises(ValueError, match="relative path"):
        list(zip_entries([(module, "../a.py")]))


def test_granted_prefixes_are_the_ones_the_job_writes() -> None:
    """The role's S3 prefixes and the job's own LakePaths must not drift apart."""
    paths = LakePaths(processed="s3://processed/", quarantine="s3://quarantine/")
    tables = (PROCESSED_POSTS, PROCESSED_COMMENTS)
    written = {*(paths.table(table) for table in tables), paths.exclusions}
    assert written == {f"s3://processed/{prefix}" for prefix in PROCESSED_PREFIXES}
    for table in tables:
        assert paths.process_quarantine(table).startswith(f"s3://quarantine/{QUARANTINE_PREFIX}/")
