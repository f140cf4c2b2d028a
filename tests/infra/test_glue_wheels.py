"""The job's third-party modules: pinned wheels shipped as assets, installed by Glue without reaching PyPI.

The fetcher is tested with a stand-in for pip (no network); the synthesized job with the
stand-ins unit tests get; ``-m bundle`` fetches the real wheels (pip's cache after ``make install``).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions, cx_api
from aws_cdk.assertions import Match

from infra.config import EnvironmentConfig
from infra.constructs.processing_job import ADDITIONAL_PYTHON_MODULES, GLUE_WHEEL_TARGET, REQUIREMENTS
from infra.constructs.python_wheels import (
    Pin,
    download_command,
    fetch_wheel,
    normalized_wheel,
    parse_wheel_name,
    pins_from_requirements,
)
from tests.infra.templates import as_list, one, role_statements

REGION = "us-east-1"
ASSETS_BUCKET = f"cdk-hnb659fds-assets-${{AWS::AccountId}}-{REGION}"
PINS = pins_from_requirements(REQUIREMENTS, ADDITIONAL_PYTHON_MODULES)


def _wheel(name: str, *, files: Mapping[str, bytes], date_time: tuple[int, ...] = (2024, 5, 1, 12, 0, 0)) -> bytes:
    """A minimal wheel as a build backend would write it (here with arbitrary timestamps and order)."""
    dist, version = name.split("-")[:2]
    dist_info = f"{dist}-{version}.dist-info"
    entries = {
        **files,
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n".encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},,\n" for path in [*entries, f"{dist_info}/RECORD"])
    entries[f"{dist_info}/RECORD"] = record.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in reversed(list(entries.items())):
            info = zipfile.ZipInfo(path, date_time=date_time)  # type: ignore[arg-type]
            archive.writestr(info, data)
    return buffer.getvalue()


class FakePip:
    """Stands in for ``subprocess.run(pip ...)``: what is on the 'index' decides what download/wheel do."""

    def __init__(
        self, *, wheels: Mapping[str, bytes] | None = None, buildable: Mapping[str, bytes] | None = None
    ) -> None:
        self.wheels, self.buildable = dict(wheels or {}), dict(buildable or {})
        self.calls: list[tuple[list[str], Mapping[str, str] | None]] = []

    def __call__(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((command, kwargs.get("env")))
        verb, pin = command[3], command[-1]
        destination = Path(command[command.index("--dest" if verb == "download" else "--wheel-dir") + 1])
        files = self.wheels if verb == "download" else self.buildable
        matching = [name for name in files if name.startswith(pin.replace("==", "-"))]
        if not matching:
            return subprocess.CompletedProcess(command, 1, "", f"ERROR: No matching distribution found for {pin}\n")
        destination.mkdir(parents=True, exist_ok=True)
        (destination / matching[0]).write_bytes(files[matching[0]])
        return subprocess.CompletedProcess(command, 0, "", "")


# --------------------------------------------------------------------------- pins and the pip call


def test_the_modules_are_requirements_txts_pins() -> None:
    assert [pin.name for pin in PINS] == list(ADDITIONAL_PYTHON_MODULES)
    lines = set(REQUIREMENTS.read_text().splitlines())
    assert all(str(pin) in lines for pin in PINS), PINS
    with pytest.raises(ValueError, match="pins no version of left-pad"):
        pins_from_requirements(REQUIREMENTS, ["left-pad"])


def test_pip_fetches_only_the_pins_own_wheel_for_glue_5_1() -> None:
    command = download_command(Pin("orjson", "3.13.0"), GLUE_WHEEL_TARGET, Path("/tmp/out"))
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    joined = " ".join(command)
    for expected in (
        "--no-deps",
        "--only-binary=:all:",
        "--platform manylinux2014_x86_64",
        "--platform manylinux_2_17_x86_64",
        "--python-version 3.11",
        "--implementation cp",
        "--dest /tmp/out",
    ):
        assert expected in joined
    assert command[-1] == "orjson==3.13.0"


# --------------------------------------------------------------------------- fetching and building


def test_a_wheel_is_downloaded_once_then_served_from_the_cache(tmp_path: Path) -> None:
    name = "orjson-3.13.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    pip = FakePip(wheels={name: b"native wheel bytes"})
    first = fetch_wheel(Pin("orjson", "3.13.0"), GLUE_WHEEL_TARGET, cache_dir=tmp_path, runner=pip)
    second = fetch_wheel(Pin("orjson", "3.13.0"), GLUE_WHEEL_TARGET, cache_dir=tmp_path, runner=pip)
    assert first == second
    assert first.name == name
    assert first.read_bytes() == b"native wheel bytes"  # PyPI's bytes, untouched
    assert len(pip.calls) == 1


def test_an_sdist_only_pin_is_built_pure_and_repacked_byte_for_byte(tmp_path: Path) -> None:
    name = "langdetect-1.0.9-py3-none-any.whl"
    files = {"langdetect/__init__.py": b"", "langdetect/profiles/en": b"{}"}
    builds = [_wheel(name, files=files, date_time=stamp) for stamp in ((2024, 5, 1, 1, 2, 3), (2026, 1, 2, 3, 4, 5))]
    assert builds[0] != builds[1]  # two builds of the same source differ by their timestamps
    fetched = []
    for index, build in enumerate(builds):
        pip = FakePip(buildable={name: build})
        wheel = fetch_wheel(Pin("langdetect", "1.0.9"), GLUE_WHEEL_TARGET, cache_dir=tmp_path / str(index), runner=pip)
        (download, _), (wheel_build, environment) = pip.calls
        assert download[3] == "download"
        assert wheel_build[3:5] == ["wheel", "--quiet"]
        assert "--no-deps" in wheel_build
        assert environment is not None
        assert environment["SOURCE_DATE_EPOCH"]
        fetched.append(wheel.read_bytes())
    assert fetched[0] == fetched[1] == normalized_wheel(builds[0])
    with zipfile.ZipFile(io.BytesIO(fetched[0])) as archive:
        names = archive.namelist()
        assert names[-1] == "langdetect-1.0.9.dist-info/RECORD"
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert archive.testzip() is None


def test_a_built_wheel_must_be_pure_python(tmp_path: Path) -> None:
    pip = FakePip(buildable={"native-1.0-cp312-cp312-linux_aarch64.whl": b"x"})
    with pytest.raises(RuntimeError, match="not pure Python"):
        fetch_wheel(Pin("native", "1.0"), GLUE_WHEEL_TARGET, cache_dir=tmp_path, runner=pip)


def test_a_pin_pip_cannot_fetch_or_build_fails_synthesis_with_pips_output(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"(?s)no wheel of missing==1\.0.*No matching distribution"):
        fetch_wheel(Pin("missing", "1.0"), GLUE_WHEEL_TARGET, cache_dir=tmp_path, runner=FakePip())


def test_the_repacked_wheel_installs_with_pip_and_no_index(tmp_path: Path) -> None:
    name = "tinypkg-0.1-py3-none-any.whl"
    wheel = tmp_path / name
    wheel.write_bytes(normalized_wheel(_wheel(name, files={"tinypkg/__init__.py": b"VALUE = 1\n"})))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--no-deps",
            "--target",
            str(tmp_path / "t"),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t" / "tinypkg" / "__init__.py").read_text() == "VALUE = 1\n"


# --------------------------------------------------------------------------- the synthesized job


def _job_arguments(template: assertions.Template, config: EnvironmentConfig) -> dict[str, Any]:
    _, job = one(template, "AWS::Glue::Job", {"Name": f"{config.resource_prefix}-process-posts"})
    arguments: dict[str, Any] = job["Properties"]["DefaultArguments"]
    return arguments


def _wheel_urls(template: assertions.Template, config: EnvironmentConfig) -> list[str]:
    """``--additional-python-modules`` as the URIs Glue receives (the assets bucket spelled as in Fn::Sub)."""
    modules = _job_arguments(template, config)["--additional-python-modules"]
    delimiter, parts = modules["Fn::Join"]
    assert delimiter == ""
    urls = [part["Fn::Sub"] for part in parts if isinstance(part, dict)]
    assert [part for part in parts if not isinstance(part, dict)] == [","] * (len(urls) - 1)
    return urls


@pytest.mark.cdk
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_glue_installs_exactly_the_pinned_wheel_files_and_asks_no_index(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    arguments = _job_arguments(template, config)
    assert arguments["--python-modules-installer-option"] == "--no-index"
    urls = _wheel_urls(template, config)
    assert len(urls) == len(PINS)
    for url, pin in zip(urls, PINS, strict=True):
        match = re.fullmatch(rf"s3://{re.escape(ASSETS_BUCKET)}/(?P<digest>[0-9a-f]{{64}})/(?P<file>[^/]+)", url)
        assert match, url
        # The key ends in the wheel's own file name (pip refuses any other), naming the pin.
        fields = parse_wheel_name(match.group("file"))
        assert Pin(fields["name"], fields["version"]).normalized == pin.normalized, url
        assert fields["version"] == pin.version, url
    assert "==" not in json.dumps(arguments["--additional-python-modules"])  # nothing for pip to look up


@pytest.mark.cdk
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_each_wheel_is_an_asset_keyed_by_its_bytes_and_the_role_reads_exactly_those(
    templates: Mapping[str, assertions.Template],
    configs: Mapping[str, EnvironmentConfig],
    cloud_assembly: cx_api.CloudAssembly,
    env: str,
) -> None:
    template, config = templates[env], configs[env]
    directory = Path(cloud_assembly.directory)
    manifest = json.loads((directory / f"{config.stack_name}.assets.json").read_text())
    staged = {
        destination["objectKey"]: directory / asset["source"]["path"]
        for asset in manifest["files"].values()
        for destination in asset["destinations"].values()
        if destination["objectKey"].endswith(".whl")
    }
    keys = [url.split("/", 3)[3] for url in _wheel_urls(template, config)]
    assert sorted(keys) == sorted(staged)
    for key in keys:
        digest, _ = key.split("/")
        assert hashlib.sha256(staged[key].read_bytes()).hexdigest() == digest
    role_id, _ = one(
        template,
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {"Statement": [Match.object_like({"Principal": {"Service": "glue.amazonaws.com"}})]}
            )
        },
    )
    reads = [
        resource
        for statement in role_statements(template, role_id)
        if "s3:GetObject" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
        if json.dumps(resource).endswith('.whl"]]}')
    ]
    expected = [{"Fn::Join": ["", ["arn:aws:s3:::", {"Fn::Sub": ASSETS_BUCKET}, f"/{key}"]]} for key in keys]
    assert sorted(map(json.dumps, reads)) == sorted(map(json.dumps, expected))


# --------------------------------------------------------------------------- the real wheels


@pytest.mark.bundle
def test_the_real_wheels_load_on_glue_5_1_and_build_byte_for_byte(tmp_path: Path) -> None:
    """pip from its cache (filled by ``make install``) or the index: orjson native, the others pure."""
    started = time.monotonic()
    first = {pin.name: fetch_wheel(pin, GLUE_WHEEL_TARGET, cache_dir=tmp_path / "a") for pin in PINS}
    second = {pin.name: fetch_wheel(pin, GLUE_WHEEL_TARGET, cache_dir=tmp_path / "b") for pin in PINS}
    print(f"\nfetched {len(PINS)} wheels twice in {time.monotonic() - started:.1f} s", file=sys.stderr)
    for name, path in first.items():
        assert path.read_bytes() == second[name].read_bytes(), name
        with zipfile.ZipFile(path) as archive:
            assert archive.testzip() is None
    orjson = parse_wheel_name(first["orjson"].name)
    assert orjson["python"] == "cp311"
    assert "manylinux" in orjson["platform"]
    assert orjson["platform"].endswith("x86_64")
    for pure in ("vaderSentiment", "langdetect"):
        fields = parse_wheel_name(first[pure].name)
        assert (fields["abi"], fields["platform"]) == ("none", "any"), first[pure].name
