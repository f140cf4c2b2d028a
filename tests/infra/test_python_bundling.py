"""Docker-free Lambda bundling: the package layout, the pip call, and CDK's callback into it."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_lambda as lambda_

from infra.constructs.python_bundling import PipLocalBundling, lambda_platforms, pip_bundling, python_lambda_code


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    """A tiny handler package, a shared library package and an empty requirements file."""
    handler = tmp_path / "src" / "lambdas" / "ingest"
    handler.mkdir(parents=True)
    (handler / "__init__.py").write_text("")
    (handler / "handler.py").write_text("def handler(event, context):\n    return {'ok': True}\n")
    (handler / "__pycache__").mkdir()
    (handler / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    shared = tmp_path / "src" / "lakehouse"
    shared.mkdir(parents=True)
    (shared / "__init__.py").write_text("VERSION = 1\n")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("")  # nothing to fetch: no network needed
    return {"handler": handler, "shared": shared, "requirements": requirements, "root": tmp_path}


def _bundler(project: Mapping[str, Path]) -> PipLocalBundling:
    return PipLocalBundling(
        sources=[(project["handler"], "lambdas/ingest"), (project["shared"], "lakehouse")],
        requirements_file=project["requirements"],
    )


def test_try_bundle_installs_requirements_and_copies_sources(project: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _bundler(project).try_bundle(str(out)) is True
    files = sorted(path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file())
    assert files == [
        "lakehouse/__init__.py",
        "lambdas/ingest/__init__.py",
        "lambdas/ingest/handler.py",
    ]


def test_pip_targets_the_lambda_platform_not_the_host(project: dict[str, Path], tmp_path: Path) -> None:
    command = _bundler(project).pip_command(project["requirements"], tmp_path)
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    joined = " ".join(command)
    for expected in (
        f"--target {tmp_path}",
        "--platform manylinux2014_x86_64",
        "--implementation cp",
        "--python-version 3.12",
        "--only-binary=:all:",
    ):
        assert expected in joined


def test_a_failing_pip_raises_instead_of_falling_back_to_docker(project: dict[str, Path], tmp_path: Path) -> None:
    project["requirements"].write_text("--this-is-not-a-pip-option\n")
    with pytest.raises(RuntimeError, match="pip could not bundle"):
        _bundler(project).try_bundle(str(tmp_path / "out"))


def test_fingerprint_follows_every_source_but_not_caches(project: dict[str, Path]) -> None:
    before = _bundler(project).fingerprint()
    (project["handler"] / "__pycache__" / "other.cpython-311.pyc").write_bytes(b"\1")
    assert _bundler(project).fingerprint() == before
    (project["shared"] / "__init__.py").write_text("VERSION = 2\n")
    assert _bundler(project).fingerprint() != before


@pytest.mark.parametrize("destination", ["", "/abs", "../escape"])
def test_destinations_stay_inside_the_package(project: dict[str, Path], destination: str) -> None:
    with pytest.raises(ValueError, match="relative path inside the package"):
        PipLocalBundling(sources=[(project["handler"], destination)])


def _function_app(project: Mapping[str, Path], context: Mapping[str, Any], outdir: Path) -> tuple[cdk.App, cdk.Stack]:
    app = cdk.App(context=dict(context), outdir=str(outdir))
    stack = cdk.Stack(app, "BundlingTest")
    lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="lambdas.ingest.handler.handler",
        code=python_lambda_code(
            sources=[(project["handler"], "lambdas/ingest"), (project["shared"], "lakehouse")],
            requirements_file=project["requirements"],
        ),
    )
    return app, stack


@pytest.mark.cdk
def test_cdk_calls_the_local_bundler_without_docker(project: dict[str, Path], tmp_path: Path) -> None:
    outdir = tmp_path / "cdk.out"
    app, _ = _function_app(project, {}, outdir)
    assembly = app.synth()
    staged = [path for path in Path(assembly.directory).glob("asset.*") if path.is_dir()]
    assert len(staged) == 1
    assert (staged[0] / "lambdas" / "ingest" / "handler.py").is_file()
    assert (staged[0] / "lakehouse" / "__init__.py").is_file()


@pytest.mark.cdk
def test_bundling_is_skipped_when_no_stack_is_selected(project: dict[str, Path], tmp_path: Path) -> None:
    project["requirements"].write_text("--this-is-not-a-pip-option\n")  # would fail if pip ran
    _, stack = _function_app(project, {"aws:cdk:bundling-stacks": []}, tmp_path / "cdk.out")
    assertions.Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Function", {"Runtime": "python3.12", "Handler": "lambdas.ingest.handler.handler"}
    )


def test_lambda_platforms_cover_every_glibc_the_runtime_os_loads() -> None:
    # python3.12 runs on Amazon Linux 2023 (glibc 2.34); pyarrow >= 21 ships only manylinux_2_28 wheels.
    arm = lambda_platforms(lambda_.Runtime.PYTHON_3_12, lambda_.Architecture.ARM_64)
    assert arm[0] == "manylinux_2_34_aarch64"
    assert {"manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"} <= set(arm)
    assert all(tag.endswith("_aarch64") for tag in arm)
    # python3.11 runs on Amazon Linux 2 (glibc 2.26): nothing newer may be fetched.
    x86 = lambda_platforms(lambda_.Runtime.PYTHON_3_11, lambda_.Architecture.X86_64)
    assert x86[0] == "manylinux_2_26_x86_64"
    assert "manylinux_2_28_x86_64" not in x86


def test_every_platform_tag_reaches_pip(project: dict[str, Path], tmp_path: Path) -> None:
    bundler = pip_bundling(
        sources=[(project["handler"], "lambdas/ingest")],
        requirements_file=project["requirements"],
        runtime=lambda_.Runtime.PYTHON_3_12,
        architecture=lambda_.Architecture.ARM_64,
    )
    command = bundler.pip_command(project["requirements"], tmp_path)
    platforms = [command[index + 1] for index, argument in enumerate(command) if argument == "--platform"]
    assert platforms == list(lambda_platforms(lambda_.Runtime.PYTHON_3_12, lambda_.Architecture.ARM_64))
    assert "--python-version" in command
    assert command[command.index("--python-version") + 1] == "3.12"
