# ruff: noqa: S608 - SQL text here is built from this file's constants and the benchmark's own paths
"""The processing job (Spark local mode, 2 cores) vs the same dedupe in DuckDB, over N raw rows.

    .venv/bin/python bench/process_vs_duckdb.py [--rows 100000,1000000] [--quick] [--json PATH]
                                                 [--engines spark,duckdb,duckdb-py] [--profile]

For each N: a raw zone of N synthetic post snapshots (~80% unique posts, ~20% later refresh
snapshots of the same ids; 14 daily runs x 20 subreddits of objects, written as ingestion writes
them; see ``bench/raw_fixture.py``), built once and cached in ``bench/.out/raw-<N>/``. Each engine
then runs in a fresh process on its own lake (the cached raw zone hard-linked in; no bookmark, no
processed data yet), measured from process start to exit with the RSS of its whole process tree
(driver, JVM, Python workers / pool) polled every 50 ms:

- ``spark``: ``glue_jobs.process_posts.local_entry.run_local`` on ``local_spark(cores=2)``: the job
  as shipped (validate, dedupe, filter, enrich + PII scrub UDF, quality gate, partitioned write);
  its Spark event log is kept to show where the time went;
- ``duckdb``: the reference: the same normalisation, checks, latest snapshot per id (fetched_at
  desc, score desc, run_id desc), exclusions and ``created_month`` partitioning in DuckDB SQL
  (threads=2, no memory limit). No enrichment, no PII scrub: the job's Python UDF is not SQL;
- ``duckdb-py``: the same SQL plus the job's enrichment and PII scrub (the same domain functions,
  row by row like the UDF) over Arrow batches in a pool of 2 processes: apples to apples;
- ``spark-scrub-only`` (``--profile``): the job with its UDF cut down to the PII scrub.

Checked for every N: each engine's counts reconcile (raw = processed + filtered + quarantined +
superseded), every engine writes the same set of post ids as Spark, picks the same snapshot of
each (score, run, fetched_at), and ``duckdb-py`` computes the same enriched columns as Spark.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import raw_fixture  # noqa: E402
from bench.process_engines import RESULT_PREFIX  # noqa: E402
from bench.spark_eventlog import summarize  # noqa: E402
from bench.tree_monitor import TreeMeasure, run_tree  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
ENGINES_SCRIPT = BENCH_DIR / "process_engines.py"
DEFAULT_ROWS = (100_000, 1_000_000)
QUICK_ROWS = 5_000
DEFAULT_ENGINES = ("spark", "duckdb", "duckdb-py")
PROFILE_ENGINES = ("spark-scrub-only",)
RUN_TIMEOUT_SECONDS = 3 * 3600.0
RSS_LIMIT_SHARE = 0.8
JOB_RUN = "bench-process"


@dataclass
class Row:
    rows: int
    engine: str
    wall_seconds: float
    job_seconds: float
    startup_seconds: float
    rows_in: int
    rows_out: int
    peak_mib: float
    peak_mib_by_role: dict[str, float]
    cpu_seconds_by_role: dict[str, float]
    load_average_before: float
    load_average_after: tuple[float, float, float]
    counts: dict[str, Any]
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows_in / self.job_seconds if self.job_seconds else 0.0


def _lake_for(out_root: Path, engine: str, rows: int, raw: Path) -> Path:
    """A fresh lake whose raw zone is the cached fixture, hard-linked (the job never rewrites raw)."""
    lake = out_root / "runs" / f"{engine}-{rows}"
    shutil.rmtree(lake, ignore_errors=True)
    (lake / "raw").mkdir(parents=True)
    shutil.copytree(raw / "posts", lake / "raw" / "posts", copy_function=os.link)
    return lake


def _parse_result(measure: TreeMeasure) -> dict[str, Any]:
    for line in reversed(measure.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    raise RuntimeError(f"no result (exit {measure.returncode}, killed: {measure.killed}):\n{measure.stderr[-6000:]}")


def wait_for_quiet(max_load: float | None, max_wait_seconds: float) -> float:
    """On a shared machine: wait until the 1-minute load average is under ``max_load``; the load then."""
    load = psutil.getloadavg()[0]
    if max_load is None:
        return load
    deadline = time.monotonic() + max_wait_seconds
    while load >= max_load and time.monotonic() < deadline:
        time.sleep(10)
        load = psutil.getloadavg()[0]
    if load >= max_load:
        print(f"  (load {load:.2f} still over {max_load} after {max_wait_seconds:.0f} s: running anyway)", flush=True)
    return load


def run_engine(
    engine: str, rows: int, raw: Path, fixture: raw_fixture.Fixture, out_root: Path, load_before: float
) -> Row:
    lake = _lake_for(out_root, engine, rows, raw)
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    eventlog = lake / "eventlog"
    if engine.startswith("spark"):
        eventlog.mkdir()
        # Read by PySpark's launch_gateway: event logging only, the job's own configuration is untouched.
        env["PYSPARK_SUBMIT_ARGS"] = (
            f"--conf spark.eventLog.enabled=true --conf spark.eventLog.dir={eventlog.as_uri()} pyspark-shell"
        )
    command = [
        sys.executable,
        str(ENGINES_SCRIPT),
        engine,
        "--lake",
        str(lake),
        "--now",
        repr(fixture.now_epoch),
        "--job-run",
        JOB_RUN,
    ]
    limit = int(psutil.virtual_memory().total * RSS_LIMIT_SHARE)
    measure = run_tree(command, env=env, cwd=ROOT, timeout=RUN_TIMEOUT_SECONDS, rss_limit_bytes=limit)
    (lake / "stderr.log").write_text(measure.stderr)
    result = _parse_result(measure)
    if measure.returncode != 0:
        raise RuntimeError(f"{engine} exited {measure.returncode}:\n{measure.stderr[-6000:]}")
    detail = {k: v for k, v in result.items() if k not in ("counts", "rows_in", "rows_out")}
    logs = sorted(eventlog.glob("*")) if eventlog.exists() else []
    if logs:
        profile = summarize(logs[0], result.get("job_seconds"))
        (lake / "eventlog-summary.json").write_text(json.dumps(profile, indent=1))
        profile.pop("all_jobs", None)
        detail["eventlog"] = profile
    return Row(
        rows=rows,
        engine=engine,
        wall_seconds=round(measure.wall_seconds, 2),
        job_seconds=float(result["job_seconds"]),
        startup_seconds=float(result["startup_seconds"]),
        rows_in=int(result["rows_in"]),
        rows_out=int(result["rows_out"]),
        peak_mib=round(measure.peak_mib, 1),
        peak_mib_by_role={k: round(v / 2**20, 1) for k, v in measure.peak_rss_by_role.items()},
        cpu_seconds_by_role=measure.cpu_seconds_by_role,
        load_average_before=round(load_before, 2),
        load_average_after=tuple(round(x, 2) for x in measure.load_average),  # type: ignore[arg-type]
        counts=result["counts"],
        detail=detail,
    )


# -- checks --------------------------------------------------------------------------------------


def _posts_glob(out_root: Path, engine: str, rows: int) -> str:
    return str(out_root / "runs" / f"{engine}-{rows}" / "processed" / "posts" / "*" / "*.parquet")


def compare_outputs(out_root: Path, rows: int, engines: list[str]) -> dict[str, Any]:
    """Each engine's output against Spark's: ids, the snapshot chosen and (duckdb-py) the enrichment."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for engine in engines:
        con.execute(
            f"""CREATE VIEW "{engine}" AS SELECT * FROM read_parquet('{_posts_glob(out_root, engine, rows)}',
                hive_partitioning = true, hive_types_autocast = false)"""
        )
    checks: dict[str, Any] = {}
    for engine in engines:
        total, distinct = con.execute(f'SELECT count(*), count(DISTINCT post_id) FROM "{engine}"').fetchone() or (0, 0)
        checks[engine] = {"rows": total, "distinct_ids": distinct}
    reference = "spark" if "spark" in engines else engines[0]
    for engine in engines:
        if engine == reference:
            continue
        only_ref, only_other = con.execute(
            f"""SELECT
                  (SELECT count(*) FROM (SELECT post_id FROM "{reference}" EXCEPT SELECT post_id FROM "{engine}")),
                  (SELECT count(*) FROM (SELECT post_id FROM "{engine}" EXCEPT SELECT post_id FROM "{reference}"))"""
        ).fetchone() or (0, 0)
        snapshot_mismatch = con.execute(
            f"""SELECT count(*) FROM "{reference}" a JOIN "{engine}" b USING (post_id)
                WHERE a.score IS DISTINCT FROM b.score OR a.snapshot_run_id IS DISTINCT FROM b.snapshot_run_id
                   OR epoch_ms(a.snapshot_fetched_at) IS DISTINCT FROM epoch_ms(b.snapshot_fetched_at)
                   OR a.created_month IS DISTINCT FROM b.created_month"""
        ).fetchone()
        item: dict[str, Any] = {
            "vs": reference,
            f"only_in_{reference}": only_ref,
            f"only_in_{engine}": only_other,
            "same_ids": only_ref == 0 and only_other == 0,
            "snapshot_mismatches": snapshot_mismatch[0] if snapshot_mismatch else None,
        }
        columns = dict(con.execute(f'SELECT column_name, column_type FROM (DESCRIBE "{engine}")').fetchall())
        if "author_hash" in columns:  # an engine that enriches: every column Spark also wrote must agree
            theirs = dict(con.execute(f'SELECT column_name, column_type FROM (DESCRIBE "{reference}")').fetchall())
            common = [c for c in columns if c in theirs and c != "post_id"]
            timestamps = {c for c in common if "TIMESTAMP" in columns[c] or "TIMESTAMP" in theirs[c]}
            differs = [
                f"epoch_ms(a.{c}) IS DISTINCT FROM epoch_ms(b.{c})"
                if c in timestamps
                else f"a.{c} IS DISTINCT FROM b.{c}"
                for c in common
            ]
            per_column = (
                con.execute(
                    f"""SELECT {", ".join(f"count(*) FILTER (WHERE {d})" for d in differs)},
                           count(*) FILTER (WHERE {" OR ".join(differs)})
                    FROM "{reference}" a JOIN "{engine}" b USING (post_id)"""
                ).fetchone()
                or ()
            )
            item["compared_columns"] = len(common)
            item["enrichment_mismatches"] = per_column[-1] if per_column else None
            item["mismatched_columns"] = {c: n for c, n in zip(common, per_column, strict=False) if n}
            item["columns_missing_here"] = sorted(set(theirs) - set(columns))
        checks[engine] |= item
    con.close()
    return checks


# -- report --------------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def table(rows: list[Row]) -> list[str]:
    lines = [
        "| rows | engine | wall s | job s | startup s | rows/s (job) | peak MiB | CPU s | rows out |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.rows:,} | {r.engine} | {_fmt(r.wall_seconds)} | {_fmt(r.job_seconds)} | "
            f"{_fmt(r.startup_seconds)} | {r.rows_per_second:,.0f} | {r.peak_mib:,.0f} | "
            f"{_fmt(sum(r.cpu_seconds_by_role.values()))} | {r.rows_out:,} |"
        )
    return lines


def ratios(rows: list[Row]) -> list[dict[str, Any]]:
    found = []
    by_key = {(r.rows, r.engine): r for r in rows}
    for n in sorted({r.rows for r in rows}):
        spark = by_key.get((n, "spark"))
        if spark is None:
            continue
        for peer in ("duckdb", "duckdb-py"):
            other = by_key.get((n, peer))
            if other is None:
                continue
            found.append(
                {
                    "rows": n,
                    "peer": peer,
                    "wall": round(spark.wall_seconds / other.wall_seconds, 2),
                    "job": round(spark.job_seconds / other.job_seconds, 2),
                    "memory": round(spark.peak_mib / other.peak_mib, 2),
                }
            )
    return found


def growth(rows: list[Row]) -> list[dict[str, Any]]:
    """How each engine's time grows from the smallest to the largest N: ratio and exponent."""
    found = []
    for engine in dict.fromkeys(r.engine for r in rows):
        mine = sorted((r for r in rows if r.engine == engine), key=lambda r: r.rows)
        if len(mine) < 2:
            continue
        small, large = mine[0], mine[-1]
        scale = large.rows / small.rows
        item = {"engine": engine, "from": small.rows, "to": large.rows, "rows_ratio": round(scale, 1)}
        for name, a, b in (
            ("wall", small.wall_seconds, large.wall_seconds),
            ("job", small.job_seconds, large.job_seconds),
            ("memory", small.peak_mib, large.peak_mib),
        ):
            item[f"{name}_ratio"] = round(b / a, 2) if a else None
            item[f"{name}_exponent"] = round(math.log(b / a) / math.log(scale), 2) if a and b and scale > 1 else None
        found.append(item)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default=",".join(map(str, DEFAULT_ROWS)), help="comma-separated raw row counts")
    parser.add_argument("--quick", action="store_true", help=f"one small size ({QUICK_ROWS:,} rows)")
    parser.add_argument("--engines", default=",".join(DEFAULT_ENGINES))
    parser.add_argument("--profile", action="store_true", help="also run spark-scrub-only (the UDF cut to the scrub)")
    parser.add_argument("--out", type=Path, default=raw_fixture.DEFAULT_OUT_ROOT, help="cache and run directory")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--max-load",
        type=float,
        help="shared machine: before each run, wait until the 1-minute load average is under this",
    )
    parser.add_argument("--max-wait", type=float, default=1800.0, help="seconds to wait for --max-load at most")
    args = parser.parse_args(argv)
    sizes = [QUICK_ROWS] if args.quick else [int(x) for x in args.rows.split(",") if x.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if args.profile:
        engines += [e for e in PROFILE_ENGINES if e not in engines]
    out_root: Path = args.out.resolve()
    out_root.mkdir(parents=True, exist_ok=True)

    memory = psutil.virtual_memory()
    machine = {
        "cores": os.cpu_count(),
        "memory_gib": round(memory.total / 2**30, 1),
        "available_gib": round(memory.available / 2**30, 1),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in psutil.getloadavg()],
    }
    print(f"machine: {machine}", flush=True)
    if memory.available < 6 * 2**30:
        print("warning: under 6 GiB available; Spark alone wants ~3-4 GiB", flush=True)

    results: list[Row] = []
    fixtures: dict[int, dict[str, Any]] = {}
    checks: dict[int, dict[str, Any]] = {}
    for n in sizes:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, str(BENCH_DIR / "raw_fixture.py"), "--rows", str(n), "--out", str(out_root / f"raw-{n}")],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        raw = out_root / f"raw-{n}"
        fixture = raw_fixture.load_fixture(raw)
        if fixture is None or fixture.rows != n:
            raise SystemExit(f"the raw fixture in {raw} is missing or not {n} rows")
        fixtures[n] = vars(fixture)
        print(
            f"raw {n:,}: {fixture.unique_posts:,} posts + {fixture.refresh_snapshots:,} refresh snapshots in "
            f"{fixture.objects} objects, {fixture.bytes / 2**20:,.0f} MiB ({time.perf_counter() - started:,.0f} s "
            f"incl. a cache check; built in {fixture.build_seconds:,.0f} s)",
            flush=True,
        )
        for engine in engines:
            load = wait_for_quiet(args.max_load, args.max_wait)
            row = run_engine(engine, n, raw, fixture, out_root, load)
            results.append(row)
            print(
                f"  {engine}: wall {row.wall_seconds:,.1f} s, job {row.job_seconds:,.1f} s, peak {row.peak_mib:,.0f} "
                f"MiB, CPU {sum(row.cpu_seconds_by_role.values()):,.0f} s, {row.rows_in:,} in -> {row.rows_out:,} out, "
                f"counts {row.counts}, 1-min load before {row.load_average_before}, after {row.load_average_after}",
                flush=True,
            )
            if not row.counts.get("balanced"):
                raise SystemExit(f"{engine} at {n}: counts do not reconcile: {row.counts}")
        checks[n] = compare_outputs(out_root, n, [e for e in engines if e != "spark-scrub-only"])

    print()
    for line in table(results):
        print(line)
    print()
    for item in ratios(results):
        print(
            f"spark/{item['peer']} at {item['rows']:,} rows: time x{item['wall']} wall, x{item['job']} job; "
            f"memory x{item['memory']}"
        )
    for item in growth(results):
        print(
            f"growth {item['engine']}: {item['from']:,} -> {item['to']:,} rows (x{item['rows_ratio']}): "
            f"wall x{item['wall_ratio']}, job x{item['job_ratio']} (exponent {item['job_exponent']}), "
            f"memory x{item['memory_ratio']}"
        )
    ok = True
    for n, per_engine in checks.items():
        for engine, item in per_engine.items():
            line = f"check {n:,} {engine}: {item['rows']:,} rows, {item['distinct_ids']:,} distinct ids"
            if "vs" in item:
                reference = item["vs"]
                line += (
                    f"; same ids as {reference}: {item['same_ids']} (only in {reference}: "
                    f"{item['only_in_' + reference]}, only here: {item['only_in_' + engine]})"
                    f"; snapshot mismatches: {item['snapshot_mismatches']}"
                )
                if "enrichment_mismatches" in item:
                    line += (
                        f"; rows differing in any of {item['compared_columns']} columns: "
                        f"{item['enrichment_mismatches']} {item['mismatched_columns'] or ''}"
                    )
                    if item["columns_missing_here"]:
                        line += f"; columns missing: {item['columns_missing_here']}"
                ok = ok and item["same_ids"] and item["snapshot_mismatches"] == 0
                ok = ok and item.get("enrichment_mismatches", 0) == 0 and not item.get("columns_missing_here")
            print(line)
    for row in results:
        profile = row.detail.get("eventlog")
        if not profile:
            continue
        outside = row.job_seconds - profile["first_to_last_job_s"]
        print(
            f"spark time {row.engine} {row.rows:,}: job {row.job_seconds:,.1f} s = {profile['in_jobs_s']:,.1f} s in "
            f"{profile['jobs']} Spark jobs (of which Python UDF jobs {profile['udf_jobs_s']:,.1f} s) + "
            f"{profile['between_jobs_s']:,.1f} s between jobs + {outside:,.1f} s before the first / after the last "
            f"(driver: planning, listing, py4j); CPU s by process {row.cpu_seconds_by_role}; "
            f"disk spill {profile['disk_spilled_mib']} MiB"
        )
        for group in profile["top"][:5]:
            print(f"    {group['label']}: {group['jobs']} jobs, {group['seconds']:,.1f} s, {group['tasks']} tasks")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine,
                    "fixtures": fixtures,
                    "results": [vars(r) | {"rows_per_second": round(r.rows_per_second, 1)} for r in results],
                    "ratios": ratios(results),
                    "growth": growth(results),
                    "checks": {str(n): c for n, c in checks.items()},
                },
                indent=1,
                default=str,
            )
            + "\n"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
