"""The layering the import-linter contracts state, shown where it matters: infra synthesizes without the data stack."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.cdk

_CHILD = """
import importlib.abc, json, sys, tempfile

class Unimportable(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"pyarrow", "pyspark", "praw", "prawcore", "pandas", "boto3"}:
            raise ImportError(f"{name} is unimportable in this test")
        return None

sys.meta_path.insert(0, Unimportable())
from infra.cdk_app import build_app

context = json.load(open("cdk.json"))["context"] | {"aws:cdk:bundling-stacks": []}
assembly = build_app(context=context, outdir=tempfile.mkdtemp()).synth()
print(sorted(stack.stack_name for stack in assembly.stacks))
"""


def test_infra_synthesizes_every_environment_with_pyarrow_and_pyspark_unimportable() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, check=False
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "['reddit-lakehouse-dev', 'reddit-lakehouse-prod']"
