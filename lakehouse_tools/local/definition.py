"""The state machine definition as the CDK app synthesizes it, for the local run and the tests.

There is no second, hand-written order of stages: the local run walks the definition the stack
deploys. Synthesis (jsii, every construct, cdk-nag) takes seconds, so the rendered definition is
cached per environment under a fingerprint of ``cdk.json`` and every source file the app is built
from; editing any of them synthesizes again.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "PROJECT_ROOT",
    "placeholder",
    "render_definition",
    "state_machine_definition",
    "synthesize_template",
    "synthesized_definition",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# What the CDK app is built from: its code, the stage code it packages and reads settings from.
_SOURCES = ("app.py", "cdk.json", "infra", "lakehouse", "lambdas", "glue_jobs")
_STATE_MACHINE = "AWS::StepFunctions::StateMachine"

Resolver = Callable[[Mapping[str, Any]], str]
"""Turns a CloudFormation reference (``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``) into a string."""


def placeholder(reference: Mapping[str, Any]) -> str:
    """A readable stand-in for a reference the local run does not need resolved (ARNs, names)."""
    if "Ref" in reference:
        return "aws" if reference["Ref"] == "AWS::Partition" else f"${{{reference['Ref']}}}"
    if "Fn::GetAtt" in reference:
        resource, attribute = reference["Fn::GetAtt"]
        return f"${{{resource}.{attribute}}}"
    raise ValueError(f"cannot render {reference} in a state machine definition")


def render_definition(definition_string: Any, resolve: Resolver = placeholder) -> dict[str, Any]:
    """The ASL document from a template's ``DefinitionString`` (a string or an ``Fn::Join``)."""
    if isinstance(definition_string, str):
        return dict(json.loads(definition_string))
    delimiter, parts = definition_string["Fn::Join"]
    text = str(delimiter).join(part if isinstance(part, str) else resolve(part) for part in parts)
    return dict(json.loads(text))


def state_machine_definition(template: Mapping[str, Any], resolve: Resolver = placeholder) -> dict[str, Any]:
    """The definition of the template's one state machine."""
    machines = [r for r in template["Resources"].values() if r["Type"] == _STATE_MACHINE]
    if len(machines) != 1:
        raise ValueError(f"expected one {_STATE_MACHINE} in the template, found {len(machines)}")
    return render_definition(machines[0]["Properties"]["DefinitionString"], resolve)


def synthesize_template(env: str, *, config_path: Path | None = None) -> dict[str, Any]:
    """Synthesize one environment's stack as ``cdk synth -c env=...`` does, without bundling assets."""
    from infra.cdk_app import ENV_CONTEXT_KEY, build_app  # jsii and every construct: only when needed

    context = json.loads((config_path or PROJECT_ROOT / "cdk.json").read_text())["context"]
    context |= {ENV_CONTEXT_KEY: env, "aws:cdk:bundling-stacks": []}
    with tempfile.TemporaryDirectory(prefix="lakehouse-synth-") as outdir:
        assembly = build_app(context=context, outdir=outdir).synth()
        (stack,) = assembly.stacks
        return dict(stack.template)


def synthesized_definition(
    env: str, *, config_path: Path | None = None, cache_dir: Path | None = None
) -> dict[str, Any]:
    """The environment's definition as the stack deploys it (placeholders for ARNs), cached."""
    config_path = config_path or PROJECT_ROOT / "cdk.json"
    cache = (cache_dir or Path(tempfile.gettempdir()) / "reddit-lakehouse-definitions") / (
        f"{env}-{_fingerprint(config_path)}.json"
    )
    if cache.is_file():
        return dict(json.loads(cache.read_text()))
    definition = state_machine_definition(synthesize_template(env, config_path=config_path))
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(".tmp")
    partial.write_text(json.dumps(definition, indent=1))
    partial.replace(cache)
    return definition


def _fingerprint(config_path: Path) -> str:
    digest = hashlib.sha256(config_path.read_bytes())
    for path in _source_files(PROJECT_ROOT, _SOURCES):
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _source_files(root: Path, names: Iterable[str]) -> list[Path]:
    files: list[Path] = []
    for name in names:
        path = root / name
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts))
        elif path.is_file():
            files.append(path)
    return files
