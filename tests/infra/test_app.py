"""The app as the CLI builds it: environment selection, cdk-nag gate, cfn-lint clean."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk import cx_api

from infra.cdk_app import build_app
from infra.config import ConfigError
from infra.stacks.lakehouse_stack import LakehouseStack

pytestmark = pytest.mark.cdk

CFN_LINT = Path(sys.executable).with_name("cfn-lint")


def _stacks(app: cdk.App) -> list[LakehouseStack]:
    return [child for child in app.node.children if isinstance(child, LakehouseStack)]


def test_without_env_context_every_environment_is_synthesized(cloud_assembly: cx_api.CloudAssembly) -> None:
    names = sorted(stack.stack_name for stack in cloud_assembly.stacks)
    assert names == ["reddit-lakehouse-dev", "reddit-lakehouse-prod"]


def test_env_context_selects_one_environment(cdk_context: Mapping[str, Any]) -> None:
    app = build_app(context={**cdk_context, "env": "dev"})
    stacks = _stacks(app)
    assert [stack.stack_name for stack in stacks] == ["reddit-lakehouse-dev"]
    assert stacks[0].config.name == "dev"
    assert stacks[0].region == "us-east-1"


def test_unknown_env_context_names_the_valid_ones(cdk_context: Mapping[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"unknown environment 'staging'.*valid environments: dev, prod"):
        build_app(context={**cdk_context, "env": "staging"})


def test_cdk_nag_reports_no_unacknowledged_findings(cloud_assembly: cx_api.CloudAssembly) -> None:
    # Synthesis itself fails on a finding (see the cloud_assembly fixture); the report confirms it.
    report = json.loads((Path(cloud_assembly.directory) / "validation-report.json").read_text())
    failures = [plugin for plugin in report["pluginReports"] if plugin.get("conclusion") != "success"]
    assert failures == []


def test_cdk_nag_gate_is_wired_in(cdk_context: Mapping[str, Any], tmp_path: Path) -> None:
    """A negative control: the same app with one careless bucket must fail to synthesize."""
    app = build_app(context={**cdk_context, "env": "dev"}, outdir=str(tmp_path))
    s3.Bucket(_stacks(app)[0], "CarelessBucket")
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    findings = {
        (violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    }
    assert ("AwsSolutions-S1", "reddit-lakehouse-dev/CarelessBucket/Resource") in findings
    assert all("CarelessBucket" in path for _, path in findings), findings


def test_templates_pass_cfn_lint(cloud_assembly: cx_api.CloudAssembly) -> None:
    templates = sorted(str(Path(cloud_assembly.directory) / stack.template_file) for stack in cloud_assembly.stacks)
    assert len(templates) == 2
    result = subprocess.run([str(CFN_LINT), *templates], capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
