"""Docker-free bundling of Python Lambda functions.

CDK's Python bundling runs pip inside a Docker image; these machines have no Docker.
pip can still produce a Lambda-compatible package on the host: ``--platform`` /
``--implementation`` / ``--python-version`` with ``--only-binary=:all:`` download the
manylinux wheels Lambda needs instead of building for the host. ``BundlingOptions``
still wants an ``image``; it is never pulled because :meth:`PipLocalBundling.try_bundle`
always succeeds or raises (returning False would make CDK fall back to Docker).

pip matches ``--platform`` tags exactly: ``manylinux2014_x86_64`` does not admit a wheel
tagged only ``manylinux_2_28_x86_64`` (pyarrow >= 21 ships no other), nor the reverse. So
the bundler passes every manylinux tag the runtime's glibc can load (see
:func:`lambda_platforms`).

Bundling is skipped, as CDK does for any asset, when context ``aws:cdk:bundling-stacks``
excludes the stack (unit tests pass ``[]``).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

__all__ = ["PipLocalBundling", "SourceMapping", "lambda_platforms", "pip_bundling", "python_lambda_code"]

SourceMapping = tuple[Path, str]
"""(source file or directory on the host, destination path relative to the package root)."""

# Caches never belong in a Lambda package (nor in its fingerprint).
_IGNORED_DIRS = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache")
_IGNORED_SUFFIXES = (".pyc", ".pyo")
_MACHINES = {
    lambda_.Architecture.X86_64.name: "x86_64",
    lambda_.Architecture.ARM_64.name: "aarch64",
}
# glibc of the OS under each Python runtime: Amazon Linux 2 (2.26) up to python3.11,
# Amazon Linux 2023 (2.34) from python3.12 on.
_AMAZON_LINUX_2_GLIBC_MINOR = 26
_AMAZON_LINUX_2023_GLIBC_MINOR = 34
_LAST_AMAZON_LINUX_2_PYTHON = (3, 11)
# manylinux2014 is the legacy alias of manylinux_2_17, the oldest glibc wheels still target.
_OLDEST_GLIBC_MINOR = 17


def lambda_platforms(runtime: lambda_.Runtime, architecture: lambda_.Architecture) -> tuple[str, ...]:
    """The pip ``--platform`` tags whose wheels ``runtime`` on ``architecture`` can load, newest first.

    Newest first: pip prefers the wheel matching the earliest tag, and of two builds of one
    release the newer-glibc one is never the worse choice on the runtime's own OS.
    """
    machine = _MACHINES[architecture.name]
    major, minor = (int(part) for part in runtime.name.removeprefix("python").split(".")[:2])
    glibc_minor = (
        _AMAZON_LINUX_2_GLIBC_MINOR if (major, minor) <= _LAST_AMAZON_LINUX_2_PYTHON else _AMAZON_LINUX_2023_GLIBC_MINOR
    )
    tags = [f"manylinux_2_{glibc}_{machine}" for glibc in range(glibc_minor, _OLDEST_GLIBC_MINOR - 1, -1)]
    return (*tags, f"manylinux2014_{machine}")


@jsii.implements(cdk.ILocalBundling)
class PipLocalBundling:
    """Builds a Lambda package on the host: pip-installed wheels plus our own source."""

    def __init__(
        self,
        *,
        sources: Sequence[SourceMapping],
        requirements_file: Path | None = None,
        python_version: str = "3.12",
        platforms: Sequence[str] | None = None,
    ) -> None:
        """``platforms`` defaults to what python3.12 on x86_64 loads, matching ``python_version``."""
        self.sources: tuple[SourceMapping, ...] = tuple((Path(source), dest) for source, dest in sources)
        self.requirements_file = Path(requirements_file) if requirements_file is not None else None
        if not self.sources:
            raise ValueError("a Lambda package needs at least one source")
        for source, destination in self.sources:
            _check_destination(destination)
            if not source.exists():
                raise FileNotFoundError(f"Lambda source {source} does not exist")
        if self.requirements_file is not None and not self.requirements_file.is_file():
            raise FileNotFoundError(f"requirements file {self.requirements_file} does not exist")
        if platforms is None:
            platforms = lambda_platforms(lambda_.Runtime.PYTHON_3_12, lambda_.Architecture.X86_64)
        if not platforms:
            raise ValueError("pip needs at least one --platform tag")
        self.python_version = python_version
        self.platforms: tuple[str, ...] = tuple(platforms)

    def pip_command(self, requirements_file: Path, output_dir: Path) -> list[str]:
        """The pip invocation that fetches Lambda-compatible wheels into ``output_dir``."""
        return [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--requirement",
            str(requirements_file),
            "--target",
            str(output_dir),
            *(argument for platform in self.platforms for argument in ("--platform", platform)),
            "--implementation",
            "cp",
            "--python-version",
            self.python_version,
            "--only-binary=:all:",
        ]

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage | None = None, **_docker: Any) -> bool:
        """Called by CDK before Docker bundling; True means the package is in ``output_dir``.

        The keyword arguments are CDK's Docker bundling options; none matter without Docker.
        """
        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        if self.requirements_file is not None:
            command = self.pip_command(self.requirements_file, out)
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                # Raise rather than return False: False would send CDK to Docker, which is absent.
                raise RuntimeError(
                    f"pip could not bundle {self.requirements_file} (exit {result.returncode}):\n"
                    f"{result.stdout}{result.stderr}"
                )
        for source, destination in self.sources:
            target = out / destination
            if source.is_dir():
                shutil.copytree(
                    source,
                    target,
                    ignore=shutil.ignore_patterns(*_IGNORED_DIRS, *(f"*{suffix}" for suffix in _IGNORED_SUFFIXES)),
                    dirs_exist_ok=True,
                )
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        return True

    def fingerprint(self) -> str:
        """A hash of everything that goes into the package, so any change redeploys it.

        CDK would hash only the asset path; our package also pulls in other directories.
        """
        digest = hashlib.sha256()
        digest.update(f"{','.join(self.platforms)}|{self.python_version}".encode())
        if self.requirements_file is not None:
            digest.update(b"requirements\0")
            digest.update(self.requirements_file.read_bytes())
        for source, destination in self.sources:
            digest.update(f"source\0{destination}\0".encode())
            for relative, path in _files(source):
                digest.update(f"{relative}\0".encode())
                digest.update(path.read_bytes())
        return digest.hexdigest()


def pip_bundling(
    *,
    sources: Sequence[SourceMapping],
    requirements_file: Path | None = None,
    runtime: lambda_.Runtime = lambda_.Runtime.PYTHON_3_12,
    architecture: lambda_.Architecture = lambda_.Architecture.X86_64,
) -> PipLocalBundling:
    """The bundler :func:`python_lambda_code` hands to CDK; tests call it directly to measure a package."""
    if not runtime.name.startswith("python"):
        raise ValueError(f"{runtime.name} is not a Python runtime")
    return PipLocalBundling(
        sources=sources,
        requirements_file=requirements_file,
        python_version=runtime.name.removeprefix("python"),
        platforms=lambda_platforms(runtime, architecture),
    )


def python_lambda_code(
    *,
    sources: Sequence[SourceMapping],
    requirements_file: Path | None = None,
    runtime: lambda_.Runtime = lambda_.Runtime.PYTHON_3_12,
    architecture: lambda_.Architecture = lambda_.Architecture.X86_64,
) -> lambda_.Code:
    """Lambda code bundled on the host (no Docker) from ``sources`` and ``requirements_file``."""
    bundler = pip_bundling(
        sources=sources, requirements_file=requirements_file, runtime=runtime, architecture=architecture
    )
    first_source = sources[0][0]
    return lambda_.Code.from_asset(
        str(first_source if first_source.is_dir() else first_source.parent),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=bundler.fingerprint(),
        bundling=cdk.BundlingOptions(image=runtime.bundling_image, local=bundler),
    )


def _check_destination(destination: str) -> None:
    path = PurePosixPath(destination)
    if not destination or path.is_absolute() or ".." in path.parts:
        raise ValueError(f"destination {destination!r} must be a relative path inside the package")


def _files(source: Path) -> Iterator[tuple[str, Path]]:
    """Files under ``source`` in a stable order, skipping caches the copy skips too."""
    if source.is_file():
        yield source.name, source
        return
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        ignored = any(part in _IGNORED_DIRS for part in relative.parts) or path.suffix in _IGNORED_SUFFIXES
        if path.is_file() and not ignored:
            yield relative.as_posix(), path
