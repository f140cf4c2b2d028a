"""Object storage for the lake: the same calls write to ``s3://bucket/prefix`` and to a local directory.

Stages write whole objects (Parquet serialised in memory, small JSON state files), so the
interface is object-shaped: put, get, list, delete. On AWS the boto3 client is injected
(moto in tests); locally objects are files, written atomically (temp file + rename) so a
crash never leaves half an object behind.
"""

from __future__ import annotations

import contextlib
import os
import threading
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
    """Objects as files under ``root``: a key is a relative path, checked lexically (no ``..``, not absolute).

    A write goes to a temp file beside the target, is fsynced, then renamed over it. Plain ``os``
    calls, not ``tempfile`` and ``Path.resolve``: an ingest invocation writes several objects, and
    those helpers cost ~100 stat calls each time.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.uri = self.root.as_uri()
        self._root = str(self.root)

    def _path(self, key: str) -> str:
        path = os.path.normpath(os.path.join(self._root, key))
        if not path.startswith(self._root + os.sep):
            raise ValueError(f"key {key!r} escapes the lake root {self.root}")
        return path

    def put(self, key: str, data: bytes) -> str:
        path = self._path(key)
        directory, name = os.path.split(path)
        os.makedirs(directory, exist_ok=True)
        temporary = os.path.join(directory, f"{_TEMPORARY}{os.getpid()}-{threading.get_ident()}-{name}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            with memoryview(data) as view:
                while view:
                    view = view[os.write(descriptor, view) :]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, path)
        return Path(path).as_uri()

    def get(self, key: str) -> bytes | None:
        try:
            with open(self._path(key), "rb", buffering=0) as file:
                return file.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix) if prefix else self._root
        search_root = base if prefix.endswith("/") or not prefix else os.path.dirname(base)
        keys: list[str] = []
        for directory, _, files in os.walk(search_root):
            relative = os.path.relpath(directory, self._root).replace(os.sep, "/")
            keys.extend(
                key
                for name in files
                if not name.startswith(_TEMPORARY)
                and (key := name if relative == "." else f"{relative}/{name}").startswith(prefix)
            )
        return sorted(keys)

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(key))


_TEMPORARY = ".tmp-"


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


def get_listed(store: ObjectStore, key: str) -> bytes | None:
    """The object at ``key``, or None when it does not exist: listed before it is read.

    A role may list a prefix but not the whole bucket, and then S3 answers a GetObject of a missing key
    403 (AccessDenied), not 404: listing first tells "not there yet" from "not allowed".
    """
    if key not in store.list(key):
        return None
    return store.get(key)


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
