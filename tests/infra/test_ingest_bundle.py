"""The real ingest package: built by the same bundler CDK calls, then measured and inspected.

pip downloads the Lambda-platform wheels (from PyPI, or its cache), so this is its own tier:
``pytest -m bundle`` runs it alone, ``-m "not bundle"`` skips it offline.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.constructs.ingest_function import ingest_bundling

pytestmark = pytest.mark.bundle

# Lambda's limit for a function's unzipped code plus layers.
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
REQUIRED = (
    "lambdas/ingest/handler.py",
    "lambdas/__init__.py",
    "lakehouse/__init__.py",
    "lakehouse/domain/__init__.py",
    "lakehouse/lake/zones.py",
    "praw/__init__.py",
    "prawcore/__init__.py",
    "pyarrow/__init__.py",
    "aws_lambda_powertools/__init__.py",
)
# boto3/botocore come with the runtime; pandas/numpy would blow the size budget.
FORBIDDEN_TOP_LEVEL = ("boto3", "botocore", "pandas", "numpy", "s3transfer")
# Parts of the project the function never imports.
FORBIDDEN_PATHS = ("lakehouse_tools", "tests", "infra", "glue_jobs", "bench")


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ingest-package")
    assert ingest_bundling().try_bundle(str(out)) is True
    return out


def _files(root: Path) -> Iterator[Path]:
    return (path for path in root.rglob("*") if path.is_file() and not path.is_symlink())


def test_package_fits_lambdas_unzipped_limit(package: Path) -> None:
    size = sum(path.stat().st_size for path in _files(package))
    print(f"\ningest package: {size / 1024 / 1024:.1f} MiB unzipped", file=sys.stderr)
    assert size < LAMBDA_UNZIPPED_LIMIT_BYTES


def test_package_holds_the_handler_shared_code_and_dependencies(package: Path) -> None:
    missing = [relative for relative in REQUIRED if not (package / relative).is_file()]
    assert missing == []


def test_package_leaves_out_the_runtime_sdk_pandas_numpy_and_the_rest_of_the_repo(package: Path) -> None:
    top_level = {path.name.split("-")[0].lower() for path in package.iterdir()}
    assert sorted(top_level & set(FORBIDDEN_TOP_LEVEL)) == []
    assert [relative for relative in FORBIDDEN_PATHS if (package / relative).exists()] == []
    assert not list(package.rglob("__pycache__"))


def test_native_wheels_target_lambdas_arm64_python_3_12(package: Path) -> None:
    extensions = [path.name for path in (package / "pyarrow").glob("*.so")]
    assert extensions
    assert all("cpython-312-aarch64-linux-gnu" in name for name in extensions if "cpython" in name), extensions
