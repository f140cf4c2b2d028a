"""A raw zone of N synthetic post snapshots, written exactly as ingestion writes it, cached per N.

    .venv/bin/python bench/raw_fixture.py --rows 100000 [--out bench/.out/raw-100000]

What it holds (all a pure function of (rows, seed)):

- ``round(0.8 * N)`` unique posts from ``SyntheticCorpus`` over 20 subreddits (the seven topical
  profiles the product targets plus 13 generic ones) over ``--days`` days (default 14);
- one ingestion run a day, the last at the corpus end: each post is first read by the listing
  (``/r/<sub>/new``) of the first run after it was created, rendered at that run's clock;
- the remaining ``N - round(0.8 * N)`` rows (~20%) are refresh snapshots (``/api/info``): posts
  picked at random among those not read by the last run, rendered again at the next run's clock
  (later ``fetched_at``, grown score and comment count), as ingestion's engagement refresh does;
- each (subreddit, run) is one snapshot set written with ``lakehouse.lake.zones.write_snapshot_set``:
  ``posts/subreddit=<sub>/fetch_date=<day>/<run_id>.part-NNNNN.parquet`` (50,000 rows a part),
  rows from ``lakehouse.domain.reddit.parse_post`` plus ``fetched_at`` / ``run_id`` /
  ``source_endpoint``. No comments: posts are what the benchmark measures.

The directory is the raw zone itself (``<out>/posts/...``) plus ``fixture.json`` describing it;
it is built in a temporary sibling and renamed, so an interrupted build never looks complete.
Rendering costs ~0.5 ms a row (render + parse + Parquet), so the work is spread over a fork pool
(``--workers``, default: every core).
"""

from __future__ import annotations

import argparse
import bisect
import json
import multiprocessing
import os
import random
import shutil
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lakehouse.domain.reddit import Quarantined, parse_post  # noqa: E402
from lakehouse.lake.store import LocalObjectStore  # noqa: E402
from lakehouse.lake.zones import POST_SCHEMA, POSTS_PREFIX, fetch_date_of, write_snapshot_set  # noqa: E402
from lakehouse_tools.replay.synthetic import SyntheticCorpus  # noqa: E402

FIXTURE_VERSION = 1
SEED = 20261115
UNIQUE_SHARE = 0.8
DEFAULT_DAYS = 14  # one ingestion run a day
SUBREDDITS = (
    "Entrepreneur",
    "smallbusiness",
    "startups",
    "webdev",
    "SaaS",
    "Python",
    "dataengineering",
    *(f"sub{n:03d}" for n in range(13)),
)
INFO_PATH = "/api/info"
# One ingest invocation per subreddit and run; each starts a few seconds after the previous one.
INVOCATION_SPACING_SECONDS = 3.0
DEFAULT_OUT_ROOT = Path(__file__).resolve().parent / ".out"


@dataclass(frozen=True)
class Fixture:
    """What a cached raw zone holds (``fixture.json``)."""

    version: int
    seed: int
    rows: int
    unique_posts: int
    refresh_snapshots: int
    runs: int
    subreddits: int
    objects: int
    bytes: int
    now_epoch: float  # a clock just after the last run: the processing job's ``now``
    build_seconds: float


def fixture_dir(rows: int, out_root: Path = DEFAULT_OUT_ROOT, days: int = DEFAULT_DAYS) -> Path:
    return out_root / (f"raw-{rows}" if days == DEFAULT_DAYS else f"raw-{rows}-{days}d")


def load_fixture(directory: Path) -> Fixture | None:
    """The cached fixture's description, or None if absent, incomplete or from another version."""
    try:
        data = json.loads((directory / "fixture.json").read_text())
    except (OSError, ValueError):
        return None
    if data.get("version") != FIXTURE_VERSION or data.get("seed") != SEED:
        return None
    return Fixture(**data)


def run_clocks(corpus: SyntheticCorpus) -> list[float]:
    """The start of each ingestion run, one a day: evenly spaced, the last at the corpus end."""
    runs = round(corpus.days)
    step = (corpus.end - corpus.start) / runs
    return [round(corpus.start + (r + 1) * step) for r in range(runs)]


def run_id_of(clock: float) -> str:
    return "bench-" + datetime.fromtimestamp(clock, UTC).strftime("%Y%m%dT%H%M%SZ")


# The corpus lives in a module global so fork-pool workers inherit it instead of rebuilding it.
_CORPUS: SyntheticCorpus | None = None
_CLOCKS: list[float] = []


@dataclass(frozen=True)
class _Unit:
    """One snapshot set: a subreddit's rows of one run."""

    subreddit: int
    run: int
    listed: list[str]  # ids the listing returned, oldest first
    refreshed: list[str]  # ids re-read through /api/info


def _write_unit(args: tuple[_Unit, str]) -> tuple[int, int]:
    unit, raw_root = args
    corpus = _CORPUS
    assert corpus is not None
    name = SUBREDDITS[unit.subreddit]
    run_clock = _CLOCKS[unit.run]
    fetched = run_clock + INVOCATION_SPACING_SECONDS * unit.subreddit
    fetched_at = datetime.fromtimestamp(round(fetched, 3), UTC)
    run_id = run_id_of(run_clock)
    rows: list[dict[str, Any]] = []
    # The listing is newest first; the refresh batches follow it.
    for ids, endpoint in ((reversed(unit.listed), f"/r/{name}/new"), (unit.refreshed, INFO_PATH)):
        for post_id in ids:
            obj = corpus.submission(post_id, fetched)
            parsed = parse_post(obj)
            if obj is None or isinstance(parsed, Quarantined):
                raise RuntimeError(f"post {post_id} does not render at {fetched}: {parsed}")
            rows.append({**parsed, "fetched_at": fetched_at, "run_id": run_id, "source_endpoint": endpoint})
    uris = write_snapshot_set(
        LocalObjectStore(Path(raw_root)),
        table=POSTS_PREFIX,
        subreddit=name,
        fetch_date=fetch_date_of(datetime.fromtimestamp(run_clock, UTC)),
        run_id=run_id,
        rows=rows,
        schema=POST_SCHEMA,
    )
    return len(rows), len(uris)


def _plan(corpus: SyntheticCorpus, rows: int, unique: int) -> list[_Unit]:
    clocks = run_clocks(corpus)
    runs = len(clocks)
    listed: dict[tuple[int, int], list[str]] = defaultdict(list)
    refreshable: list[tuple[int, int, str]] = []
    for s, name in enumerate(SUBREDDITS):
        index = corpus.index(name)
        assert index is not None
        for created, post_id in zip(index.created, index.ids, strict=True):
            run = min(bisect.bisect_left(clocks, created), runs - 1)
            listed[(s, run)].append(post_id)
            if run + 1 < runs:
                refreshable.append((s, run + 1, post_id))
    extra = rows - unique
    if extra > len(refreshable):
        raise ValueError(f"{extra} refresh snapshots wanted, only {len(refreshable)} posts can be refreshed")
    refreshed: dict[tuple[int, int], list[str]] = defaultdict(list)
    for s, run, post_id in random.Random(SEED).sample(refreshable, extra):
        refreshed[(s, run)].append(post_id)
    units = [
        _Unit(s, r, listed.get((s, r), []), sorted(refreshed.get((s, r), []), reverse=True))
        for s in range(len(SUBREDDITS))
        for r in range(runs)
        if listed.get((s, r)) or refreshed.get((s, r))
    ]
    # Biggest first, so the pool's last tasks are small ones.
    units.sort(key=lambda u: len(u.listed) + len(u.refreshed), reverse=True)
    return units


def build(rows: int, out: Path, workers: int | None = None, days: int = DEFAULT_DAYS) -> Fixture:
    """Write the raw zone for ``rows`` rows into ``out`` (replacing it)."""
    global _CORPUS, _CLOCKS
    if rows < 100:
        raise ValueError("at least 100 rows")
    started = time.perf_counter()
    unique = round(rows * UNIQUE_SHARE)
    corpus = SyntheticCorpus(seed=SEED, subreddits=list(SUBREDDITS), posts=unique, days=days)
    _CORPUS, _CLOCKS = corpus, run_clocks(corpus)
    units = _plan(corpus, rows, unique)
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    workers = workers or os.cpu_count() or 1
    tasks = [(unit, str(tmp)) for unit in units]
    if workers == 1:
        results = list(map(_write_unit, tasks))
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = list(pool.imap_unordered(_write_unit, tasks))
    written_rows = sum(r[0] for r in results)
    if written_rows != rows:
        raise RuntimeError(f"wrote {written_rows} rows, wanted {rows}")
    fixture = Fixture(
        version=FIXTURE_VERSION,
        seed=SEED,
        rows=rows,
        unique_posts=unique,
        refresh_snapshots=rows - unique,
        runs=len(_CLOCKS),
        subreddits=len(SUBREDDITS),
        objects=sum(r[1] for r in results),
        bytes=sum(p.stat().st_size for p in tmp.rglob("*.parquet")),
        now_epoch=_CLOCKS[-1] + 600.0,
        build_seconds=round(time.perf_counter() - started, 1),
    )
    (tmp / "fixture.json").write_text(json.dumps(asdict(fixture), indent=1) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    _CORPUS = None
    return fixture


def ensure(
    rows: int, out_root: Path = DEFAULT_OUT_ROOT, workers: int | None = None, days: int = DEFAULT_DAYS
) -> tuple[Path, Fixture]:
    """The cached raw zone for ``rows`` rows over ``days`` days, built first if missing."""
    directory = fixture_dir(rows, out_root, days)
    fixture = load_fixture(directory)
    if fixture is None or fixture.rows != rows or fixture.runs != days:
        fixture = build(rows, directory, workers, days)
    return directory, fixture


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--out", type=Path, help="default: bench/.out/raw-<rows>")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help=f"default {DEFAULT_DAYS}, one run a day")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args(argv)
    out = args.out or fixture_dir(args.rows, days=args.days)
    fixture = load_fixture(out)
    if args.force or fixture is None or fixture.rows != args.rows or fixture.runs != args.days:
        fixture = build(args.rows, out, args.workers, args.days)
    print(json.dumps({"dir": str(out), **asdict(fixture)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
