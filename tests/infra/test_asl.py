"""Each environment's definition passes asl-validator, the Amazon States Language checker (npm, pinned in package.json).

CloudFormation accepts any string as a ``DefinitionString``; Step Functions rejects a bad one only
at deploy time. The validator catches it before: unreachable or missing states, bad paths,
malformed retriers. It reads the definition as deployed, with ARN-shaped stand-ins where the
template has references.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions

from lakehouse.pipeline import Stage
from tests.infra.conftest import PROJECT_ROOT
from tests.infra.state_machines import Targets, render

pytestmark = pytest.mark.cdk

ENVIRONMENTS = ("dev", "prod")
ASL_VALIDATOR = PROJECT_ROOT / "node_modules" / ".bin" / "asl-validator"


def _validate(definition: Mapping[str, Any], path: Path) -> subprocess.CompletedProcess[str]:
    path.write_text(json.dumps(definition, indent=1))
    return subprocess.run(
        [str(ASL_VALIDATOR), "--json-path", str(path)], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def definitions(templates: Mapping[str, assertions.Template]) -> dict[str, dict[str, Any]]:
    if not ASL_VALIDATOR.exists():
        pytest.fail(f"asl-validator is not installed at {ASL_VALIDATOR}: run `make install` (npm ci)")
    rendered = {}
    for env in ENVIRONMENTS:
        template = templates[env].to_json()
        rendered[env] = render(template, Targets.as_deployed(template))
    return rendered


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_definition_is_valid_amazon_states_language(
    definitions: Mapping[str, dict[str, Any]], tmp_path: Path, env: str
) -> None:
    result = _validate(definitions[env], tmp_path / f"{env}.asl.json")
    assert result.returncode == 0, f"asl-validator rejects the {env} definition:\n{result.stdout}{result.stderr}"


def test_the_validator_rejects_a_transition_to_a_missing_state(
    definitions: Mapping[str, dict[str, Any]], tmp_path: Path
) -> None:
    """So a pass above means something: the same definition with one Next pointing nowhere fails."""
    broken = copy.deepcopy(definitions["dev"])
    broken["States"][Stage.SCORE.state_name]["Next"] = "No such state"
    result = _validate(broken, tmp_path / "broken.asl.json")
    assert result.returncode != 0
    assert "No such state" in result.stdout + result.stderr
