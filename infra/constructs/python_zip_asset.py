"""Our Python packages as one zip asset (Glue's ``--extra-py-files``), byte-identical on every build.

Glue puts the zip on ``sys.path``, so the packages sit at its root. The archive is
deterministic: files in sorted order, a fixed timestamp and mode, and no compression
(``ZIP_STORED``), because deflate output may differ between zlib versions and any byte
that differs changes the asset hash and redeploys the job for nothing.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

__all__ = ["PackageSource", "PythonZipAsset", "build_zip", "zip_entries"]

PackageSource = tuple[Path, str]
"""(a ``.py`` file or a directory of them on the host, its path inside the zip)."""

# The earliest timestamp a zip entry can hold; any constant works, this one is conventional.
_FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o644
_UNIX = 3
_CACHE_DIR = "reddit-lakehouse-zip-assets"


def zip_entries(sources: Sequence[PackageSource]) -> Iterator[tuple[str, Path]]:
    """(name in the zip, file on the host) for every ``.py`` file of ``sources``, sorted by name.

    Only ``.py`` files: caches, notebooks or data that happen to sit beside the code never ship.
    """
    entries: dict[str, Path] = {}
    for source, destination in sources:
        _check_destination(destination)
        if source.is_file():
            files = [(PurePosixPath(destination), source)]
        elif source.is_dir():
            files = [
                (PurePosixPath(destination, *path.relative_to(source).parts), path)
                for path in source.rglob("*.py")
                if "__pycache__" not in path.parts
            ]
        else:
            raise FileNotFoundError(f"package source {source} does not exist")
        for name, path in files:
            if name.suffix != ".py":
                raise ValueError(f"{name}: only Python files belong in an --extra-py-files zip")
            if entries.setdefault(str(name), path) != path:
                raise ValueError(f"{name} comes from two sources: {entries[str(name)]} and {path}")
    yield from sorted(entries.items())


def build_zip(sources: Sequence[PackageSource]) -> bytes:
    """The zip's bytes: a pure function of the files' names and contents."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, path in zip_entries(sources):
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE_TIME)
            info.create_system = _UNIX
            info.external_attr = _FILE_MODE << 16
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def _write_content_addressed(data: bytes, file_name: str) -> Path:
    """Write ``data`` once under a directory named by its hash; later builds reuse the file."""
    digest = hashlib.sha256(data).hexdigest()
    target = Path(tempfile.gettempdir()) / _CACHE_DIR / digest / file_name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(data)
        # Atomic: a concurrent synth never sees a half-written zip.
        partial.replace(target)
    return target


class PythonZipAsset(Construct):
    """A zip of ``sources`` uploaded as a file asset; its S3 key is the hash of its bytes."""

    asset: s3_assets.Asset
    zip_path: Path

    def __init__(
        self, scope: Construct, construct_id: str, *, sources: Sequence[PackageSource], file_name: str
    ) -> None:
        """``file_name`` must end in ``.zip``: Glue recognises extra Python files by extension."""
        super().__init__(scope, construct_id)
        if not file_name.endswith(".zip"):
            raise ValueError(f"{file_name!r}: Glue loads --extra-py-files only from .zip or .py files")
        self.zip_path = _write_content_addressed(build_zip(sources), file_name)
        self.asset = s3_assets.Asset(self, "Asset", path=str(self.zip_path))


def _check_destination(destination: str) -> None:
    path = PurePosixPath(destination)
    if not destination or path.is_absolute() or ".." in path.parts:
        raise ValueError(f"destination {destination!r} must be a relative path inside the zip")
