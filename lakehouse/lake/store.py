"""Object storage for the lake: the same calls write to ``s3://bucket/prefix`` and to a local directory.

Stages write whole objects (Parquet serialised in memory, small JSON state files), so the
interface is object-shaped: put, get, list, delete. On AWS the boto3 client is injected
(moto in tests); locally objects are files, written atomically (temp file + rename) so a
crash never leaves half an object behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit


class ObjectStore(Protocol):
    uri: str

    def put(self, key: str, data: bytes) -> str:
        """Write ``data`` at ``key``; return the object's URI."""
        ...

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None if it does not exist."""
        ...

    def list(self, prefix: str) -> list[str]:
        """Keys under ``prefix``, sorted."""
        ...

    def delete(self, key: str) -> None: ...


class LocalObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.uri = self.root.as_uri()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"key {key!r} escapes the lake root {self.root}")
        return path

    def put(self, key: str, data: bytes) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp.name, path)
        return path.as_uri()

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix) if prefix else self.root
        search_root = base if base.is_dir() else base.parent
        if not search_root.exists():
            return []
        keys = (p.relative_to(self.root).as_posix() for p in search_root.rglob("*") if p.is_file())
        return sorted(k for k in keys if k.startswith(prefix) and not Path(k).name.startswith(".tmp-"))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3ObjectStore:
    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.uri = f"s3://{bucket}/{self.prefix}"

    def put(self, key: str, data: bytes) -> str:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data)
        return f"s3://{self.bucket}/{self.prefix}{key}"

    def get(self, key: str) -> bytes | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
        except self.client.exceptions.NoSuchKey:
            return None
        return bytes(response["Body"].read())

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            keys.extend(obj["Key"][len(self.prefix) :] for obj in page.get("Contents", []))
        return sorted(keys)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)


def open_store(uri: str, *, s3_client: Any = None) -> ObjectStore:
    """A store for ``s3://bucket/prefix`` (with an injected boto3 client), ``file://`` or a plain path."""
    parts = urlsplit(uri)
    if parts.scheme == "s3":
        if s3_client is None:
            raise ValueError(f"{uri} needs an S3 client")
        return S3ObjectStore(s3_client, parts.netloc, parts.path)
    if parts.scheme in ("", "file"):
        return LocalObjectStore(Path(parts.path if parts.scheme == "file" else uri))
    raise ValueError(f"unsupported lake URI {uri!r}: use s3://bucket/prefix or a local directory")
