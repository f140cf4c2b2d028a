"""The definition the local run walks is the CDK app's, for the environment's configuration, never a stale copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse.pipeline import Stage
from lakehouse_tools.local.definition import PROJECT_ROOT, synthesized_definition

pytestmark = pytest.mark.cdk


def test_a_configuration_change_reaches_the_walked_definition(tmp_path: Path) -> None:
    context = json.loads((PROJECT_ROOT / "cdk.json").read_text())
    dev = context["context"]["environments"]["dev"]
    config = tmp_path / "cdk.json"
    config.write_text(json.dumps(context))
    cache = tmp_path / "cache"
    before = synthesized_definition("dev", config_path=config, cache_dir=cache)
    dev["orchestration"]["max_concurrency"] = 3
    dev["subreddits"] = dev["subreddits"][:4]
    config.write_text(json.dumps(context))

    after = synthesized_definition("dev", config_path=config, cache_dir=cache)

    ingest = Stage.INGEST.state_name
    assert before["States"][ingest]["MaxConcurrency"] != 3
    assert after["States"][ingest]["MaxConcurrency"] == 3
    assert after["States"]["Start run"]["Parameters"]["defaults"]["subreddits"] == dev["subreddits"]
    assert len(list(cache.iterdir())) == 2  # one synthesis per configuration; the first is still cached
    assert synthesized_definition("dev", config_path=config, cache_dir=cache) == after
