"""Pinned wheels as assets, for Glue's ``--additional-python-modules``: fetched once at synth, never at run time.

Given names and versions, Glue pip-installs the modules from PyPI when every run starts: a PyPI
outage or a yanked release fails the run, and what gets installed is whatever PyPI serves that
day. Given the S3 URIs of wheel files and ``--python-modules-installer-option --no-index``, it
installs exactly these files and asks no index.

At synth each pin (from ``requirements.txt``) is fetched for the job's interpreter and platform
(``pip download --only-binary=:all: --platform ... --python-version ... --implementation cp
--no-deps``). A pin with no wheel on the index (an sdist-only, pure-Python package such as
langdetect) is built with ``pip wheel --no-deps`` and must come out pure (``none-any``); the built
wheel is repacked byte-deterministically (sorted entries, fixed timestamps and modes, stored), as
``python_zip_asset`` does for the job's own code. Wheels land in a cache under the system temp
directory keyed by pin and target, so later synths (and offline ones) reuse the same bytes.

Each wheel is an asset whose S3 key is ``<sha256 of the wheel>/<wheel file name>``: pip refuses a
wheel file whose name is not a wheel name, and CDK's own asset keys (``<hash>.whl``) are not; the
hash keeps the key a function of the bytes, as every asset key is.

Dependencies are not shipped (``--no-deps``): the pins' own requirements (``requests`` for
vaderSentiment, ``six`` for langdetect) are among the modules Glue 5.1 provides, and pip with
``--no-index`` resolves them from there. A stack whose assets are not bundled (context
``aws:cdk:bundling-stacks`` excludes it, as unit tests do) gets stand-in files where the wheels
would be, as CDK does for any skipped bundling, and runs no pip.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

__all__ = [
    "Pin",
    "PinnedWheels",
    "WheelAsset",
    "WheelTarget",
    "fetch_wheel",
    "normalized_wheel",
    "parse_wheel_name",
    "pins_from_requirements",
]

_CACHE_DIR = "reddit-lakehouse-glue-wheels"
# The earliest timestamp a zip entry can hold; any constant works (python_zip_asset uses it too).
_FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01, for build backends that honour it
_UNIX = 3
_PIN_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([A-Za-z0-9.+!_-]+)\s*(?:#.*)?$")
# {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl (the wheel spec's file name).
_WHEEL_RE = re.compile(
    r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-(?P<build>\d[^-]*))?-(?P<python>[^-]+)-(?P<abi>[^-]+)-(?P<platform>[^-]+)\.whl$"
)

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True, slots=True)
class Pin:
    """``name==version`` from a requirements file."""

    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def normalized(self) -> str:
        """The distribution name as wheel file names spell it (PEP 503 normalized, ``_`` for runs)."""
        return re.sub(r"[-_.]+", "_", self.name).lower()


@dataclass(frozen=True, slots=True)
class WheelTarget:
    """The interpreter and platform a wheel must load on (pip's ``--python-version``/``--platform``)."""

    python_version: str
    platforms: tuple[str, ...]
    implementation: str = "cp"

    @property
    def slug(self) -> str:
        return f"{self.implementation}{self.python_version}-{'+'.join(self.platforms)}"

    def accepts_python_tag(self, tags: str) -> bool:
        major, minor = self.python_version.split(".")[:2]
        accepted = {f"py{major}", f"py{major}{minor}", f"{self.implementation}{major}{minor}"}
        return bool(accepted & set(tags.split(".")))


@dataclass(frozen=True, slots=True)
class WheelAsset:
    """One uploaded wheel: what pip installs (``s3_uri``) and what the reader's role may get (``object_arn``)."""

    pin: Pin
    file_name: str
    s3_uri: str
    object_arn: str


def pins_from_requirements(requirements: Path, names: Sequence[str]) -> tuple[Pin, ...]:
    """The ``==`` pins of ``names`` in ``requirements`` (case-insensitive), in the order of ``names``."""
    found: dict[str, Pin] = {}
    for line in requirements.read_text().splitlines():
        match = _PIN_RE.match(line)
        if match:
            pin = Pin(match.group(1), match.group(2))
            found[pin.normalized] = pin
    pins = []
    for name in names:
        pinned = found.get(Pin(name, "").normalized)
        if pinned is None:
            raise ValueError(f"{requirements} pins no version of {name} (expected a line '{name}==<version>')")
        pins.append(pinned)
    return tuple(pins)


def parse_wheel_name(file_name: str) -> dict[str, str]:
    """The fields of a wheel file name; a name pip would refuse raises."""
    match = _WHEEL_RE.match(file_name)
    if match is None:
        raise ValueError(f"{file_name!r} is not a wheel file name")
    return {key: value for key, value in match.groupdict().items() if value is not None}


def download_command(pin: Pin, target: WheelTarget, destination: Path) -> list[str]:
    """``pip download`` of the pin's own wheel for ``target``, never an sdist, never its dependencies."""
    return [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
        *(argument for platform in target.platforms for argument in ("--platform", platform)),
        "--python-version",
        target.python_version,
        "--implementation",
        target.implementation,
        "--dest",
        str(destination),
        str(pin),
    ]


def build_command(pin: Pin, destination: Path) -> list[str]:
    """``pip wheel`` of the pin alone (pure-Python packages published as sdists only)."""
    return [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--wheel-dir",
        str(destination),
        str(pin),
    ]


def normalized_wheel(data: bytes) -> bytes:
    """``data`` (a wheel) repacked as a pure function of its entries' names, contents and executable bits.

    Entries are sorted with ``.dist-info`` last and ``RECORD`` the very last entry, as the wheel
    spec recommends; ``RECORD`` hashes contents only, so it stays valid.
    """

    def order(name: str) -> tuple[bool, bool, str]:
        in_dist_info = PurePosixPath(name).parts[0].endswith(".dist-info")
        return in_dist_info, in_dist_info and name.endswith("/RECORD"), name

    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(output, "w", zipfile.ZIP_STORED) as target:
        entries = {info.filename: info for info in source.infolist() if not info.is_dir()}
        for name in sorted(entries, key=order):
            executable = (entries[name].external_attr >> 16) & 0o111
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE_TIME)
            info.create_system = _UNIX
            info.external_attr = (0o755 if executable else 0o644) << 16
            target.writestr(info, source.read(name))
    return output.getvalue()


def default_cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / _CACHE_DIR


def fetch_wheel(
    pin: Pin, target: WheelTarget, *, cache_dir: Path | None = None, runner: Runner = subprocess.run
) -> Path:
    """The pin's wheel for ``target``, from the cache or fetched (or built) into it once."""
    directory = (cache_dir or default_cache_dir()) / target.slug / f"{pin.normalized}-{pin.version}"
    cached = _only_wheel(directory)
    if cached is not None:
        return cached
    with tempfile.TemporaryDirectory(prefix="wheel-") as scratch:
        downloaded, built = Path(scratch, "downloaded"), Path(scratch, "built")
        download = runner(download_command(pin, target, downloaded), capture_output=True, text=True, check=False)
        if download.returncode == 0:
            wheel = _only_wheel(downloaded)
            data = wheel.read_bytes() if wheel else b""
        else:
            # No wheel for the target: only a pure-Python package may be built here, on another platform.
            environment = {**os.environ, "SOURCE_DATE_EPOCH": _SOURCE_DATE_EPOCH}
            build = runner(build_command(pin, built), capture_output=True, text=True, check=False, env=environment)
            wheel = _only_wheel(built) if build.returncode == 0 else None
            if wheel is None:
                raise RuntimeError(
                    f"pip found no wheel of {pin} for {target.slug} and could not build one:\n"
                    f"{download.stdout}{download.stderr}{build.stdout}{build.stderr}"
                )
            fields = parse_wheel_name(wheel.name)
            if (fields["abi"], fields["platform"]) != ("none", "any"):
                raise RuntimeError(f"{pin} has no wheel for {target.slug} and is not pure Python ({wheel.name})")
            data = normalized_wheel(wheel.read_bytes())
        if wheel is None:
            raise RuntimeError(f"pip downloaded no wheel of {pin} into {downloaded}")
        _check_wheel(wheel.name, pin, target)
        return _store(directory, wheel.name, data)


def unbundled_wheel(pin: Pin, *, cache_dir: Path | None = None) -> Path:
    """A stand-in with a valid wheel name, for stacks whose assets are not bundled (unit tests)."""
    name = f"{pin.normalized}-{pin.version}-py3-none-any.whl"
    data = f"stand-in for {pin}: asset bundling was skipped for this stack\n".encode()
    directory = (cache_dir or default_cache_dir()) / "unbundled" / hashlib.sha256(data).hexdigest()
    return _store(directory, name, data)


class PinnedWheels(Construct):
    """One file asset per pinned wheel, keyed ``<sha256>/<wheel file name>``."""

    wheels: tuple[WheelAsset, ...]

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pins: Sequence[Pin],
        target: WheelTarget,
        cache_dir: Path | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        wheels = []
        for pin in pins:
            path = (
                fetch_wheel(pin, target, cache_dir=cache_dir)
                if stack.bundling_required
                else unbundled_wheel(pin, cache_dir=cache_dir)
            )
            # Staging copies the file into the cloud assembly; the synthesizer then publishes it
            # under a key that keeps the wheel's file name (s3_assets.Asset would not).
            staging = cdk.AssetStaging(self, f"{pin.normalized}Staging", source_path=str(path))
            location = stack.synthesizer.add_file_asset(
                file_name=staging.relative_staged_path(stack),
                packaging=cdk.FileAssetPackaging.FILE,
                source_hash=f"{hashlib.sha256(path.read_bytes()).hexdigest()}/{path.stem}",
            )
            bucket = s3.Bucket.from_bucket_name(self, f"{pin.normalized}Bucket", location.bucket_name)
            wheels.append(
                WheelAsset(
                    pin=pin,
                    file_name=path.name,
                    s3_uri=location.s3_object_url,
                    object_arn=bucket.arn_for_objects(location.object_key),
                )
            )
        self.wheels = tuple(wheels)

    @property
    def s3_uris(self) -> list[str]:
        return [wheel.s3_uri for wheel in self.wheels]

    @property
    def object_arns(self) -> list[str]:
        return [wheel.object_arn for wheel in self.wheels]


def _only_wheel(directory: Path) -> Path | None:
    wheels = sorted(directory.glob("*.whl")) if directory.is_dir() else []
    if len(wheels) > 1:
        raise RuntimeError(f"{directory} holds several wheels {[path.name for path in wheels]}; remove it")
    return wheels[0] if wheels else None


def _check_wheel(file_name: str, pin: Pin, target: WheelTarget) -> None:
    fields = parse_wheel_name(file_name)
    if Pin(fields["name"], "").normalized != pin.normalized or fields["version"] != pin.version:
        raise RuntimeError(f"pip returned {file_name} for {pin}")
    if not target.accepts_python_tag(fields["python"]):
        raise RuntimeError(f"{file_name} does not load on Python {target.python_version}")


def _store(directory: Path, name: str, data: bytes) -> Path:
    """Write ``data`` as ``directory/name`` atomically (a concurrent synth never sees half a file)."""
    target = directory / name
    if target.is_file() and target.read_bytes() == data:
        return target
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f".{name}.{os.getpid()}.partial"
    partial.write_bytes(data)
    partial.replace(target)
    return target
