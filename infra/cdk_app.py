"""Builds the CDK app: which environments to synthesize and which checks guard them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.config import ConfigError, EnvironmentConfig, load_environments
from infra.stacks.lakehouse_stack import LakehouseStack

__all__ = ["ENV_CONTEXT_KEY", "build_app", "selected_environments"]

ENV_CONTEXT_KEY = "env"
"""``cdk synth -c env=dev`` picks one environment; without it every environment is synthesized."""

_CONFIG_CONTEXT_KEYS = ("project", "environments")


def selected_environments(app: cdk.App) -> list[EnvironmentConfig]:
    """The environments named by ``-c env=...``, or all of them."""
    context = {key: value for key in _CONFIG_CONTEXT_KEYS if (value := app.node.try_get_context(key)) is not None}
    if not context:
        raise ConfigError(
            "no 'project'/'environments' context: run through `npx cdk synth` (which reads cdk.json) "
            "or pass the context in CDK_CONTEXT_JSON"
        )
    environments = load_environments(context)
    selected = app.node.try_get_context(ENV_CONTEXT_KEY)
    if selected is None:
        return list(environments.values())
    if selected not in environments:
        raise ConfigError(
            f"unknown environment {selected!r} (from -c {ENV_CONTEXT_KEY}=...); "
            f"valid environments: {', '.join(sorted(environments))}"
        )
    return [environments[selected]]


def build_app(*, context: Mapping[str, Any] | None = None, outdir: str | None = None) -> cdk.App:
    """Create the app with one stack per selected environment and cdk-nag as a synth gate.

    ``context`` and ``outdir`` exist for tests; the CLI passes both through the environment.
    """
    app = cdk.App(context=dict(context) if context is not None else None, outdir=outdir)
    for config in selected_environments(app):
        LakehouseStack(app, config.stack_name, config=config)
    # cdk-nag 3 is a policy-validation plugin: any unacknowledged finding fails synthesis
    # and is written to cdk.out/validation-report.json.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app
