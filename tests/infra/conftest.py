"""One synthesis of the whole app per test session, shared by every CDK test.

A synth costs seconds (jsii starts Node), so the app is built once, exactly as
``cdk synth`` builds it (cdk.json context, both environments, cdk-nag as a plugin),
and every test reads templates from that one cloud assembly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions, cx_api

from infra.cdk_app import build_app
from infra.config import EnvironmentConfig, load_environments

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CDK_JSON = PROJECT_ROOT / "cdk.json"
ENVIRONMENTS = ("dev", "prod")
# Unit tests never bundle assets: CDK skips bundling for stacks not listed here.
NO_BUNDLING: Mapping[str, Any] = {"aws:cdk:bundling-stacks": []}


@pytest.fixture(scope="session")
def cdk_context() -> dict[str, Any]:
    """The context the CLI would pass: cdk.json's, with asset bundling switched off."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return {**context, **NO_BUNDLING}


@pytest.fixture(scope="session")
def configs(cdk_context: Mapping[str, Any]) -> dict[str, EnvironmentConfig]:
    return load_environments(cdk_context)


@pytest.fixture(scope="session")
def cloud_assembly(cdk_context: Mapping[str, Any], tmp_path_factory: pytest.TempPathFactory) -> cx_api.CloudAssembly:
    """Every environment synthesized once; cdk-nag findings fail it with the report."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app(context=cdk_context, outdir=str(outdir))
    try:
        return app.synth()
    except RuntimeError as error:
        report = outdir / "validation-report.json"
        details = report.read_text() if report.exists() else "(no validation report written)"
        pytest.fail(f"synthesis failed: {error}\n{details}")


@pytest.fixture(scope="session")
def templates(
    cloud_assembly: cx_api.CloudAssembly, configs: Mapping[str, EnvironmentConfig]
) -> dict[str, assertions.Template]:
    """Environment name -> its synthesized template (read from the assembly, not re-synthesized)."""
    return {
        name: assertions.Template.from_json(cloud_assembly.get_stack_by_name(config.stack_name).template)
        for name, config in configs.items()
    }
