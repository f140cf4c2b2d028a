"""The local object store behaves as the S3 one does: whole objects, prefix listing, atomic overwrite."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.lake.store import LocalObjectStore, open_store


def test_objects_round_trip_and_list_by_any_key_prefix(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "lake"))
    for key in ("posts/subreddit=a/run1.part-00000.parquet", "posts/subreddit=ab/run1.part-00000.parquet", "top.json"):
        store.put(key, key.encode())

    assert store.get("posts/subreddit=a/run1.part-00000.parquet") == b"posts/subreddit=a/run1.part-00000.parquet"
    assert store.get("posts/subreddit=a/missing") is None
    assert store.get("posts") is None  # a "directory" is no object
    assert store.list("posts/subreddit=a/") == ["posts/subreddit=a/run1.part-00000.parquet"]
    assert store.list("posts/subreddit=a") == [  # as on S3: a prefix, not a directory
        "posts/subreddit=a/run1.part-00000.parquet",
        "posts/subreddit=ab/run1.part-00000.parquet",
    ]
    assert store.list("posts/subreddit=a/run1.part-") == ["posts/subreddit=a/run1.part-00000.parquet"]
    assert store.list("") == [*store.list("posts/"), "top.json"]
    assert store.list("nothing/here/") == []


def test_overwrite_replaces_the_whole_object_and_leaves_no_temp_file(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    store.put("state/cursor.json", b"a much longer first version")
    uri = store.put("state/cursor.json", b"v2")

    assert store.get("state/cursor.json") == b"v2"
    assert uri == (tmp_path / "state" / "cursor.json").resolve().as_uri()
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["cursor.json"]


def test_a_crashed_write_is_invisible_and_delete_is_idempotent(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / ".tmp-123-456-x.parquet").write_bytes(b"half")  # what a crash mid-write leaves
    store.put("raw/x.parquet", b"whole")

    assert store.list("raw/") == ["raw/x.parquet"]
    store.delete("raw/x.parquet")
    store.delete("raw/x.parquet")
    assert store.list("raw/") == []


@pytest.mark.parametrize("key", ["../outside", "/etc/passwd", "raw/../../outside"])
def test_keys_cannot_escape_the_lake_root(tmp_path: Path, key: str) -> None:
    store = LocalObjectStore(tmp_path / "lake")

    with pytest.raises(ValueError, match="escapes the lake root"):
        store.put(key, b"x")
