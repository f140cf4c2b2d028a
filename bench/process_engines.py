# ruff: noqa: S608 - SQL text here is built from this file's constants and the benchmark's own paths
"""The engines ``bench/process_vs_duckdb.py`` compares, each run alone in a fresh process.

    .venv/bin/python bench/process_engines.py ENGINE --lake DIR --now EPOCH --job-run ID

ENGINE is one of:

- ``spark``: the processing job itself, ``run_local`` on ``local_spark(cores=2)`` (as shipped);
- ``spark-scrub-only``: the same job with its enrichment UDF cut down to the PII scrub (no problem
  rule, sentiment, language, keywords or author hash): a profile of what the Python work costs;
- ``duckdb``: the one-machine reference in SQL: the job's normalisation, validation checks, latest
  snapshot per id, exclusions and ``created_month`` partitioning, with the same predicates, on
  DuckDB (threads=2, memory limit unset). It does NOT enrich or scrub PII (no Python);
- ``duckdb-py``: the same SQL, then the job's enrichment and PII scrub (the job's own UDF function,
  ``transforms._post_text_udf(key).func``, on 10,000-row batches as Spark hands them over) in a pool
  of 2 processes fed Arrow batches, then the same partitioned write: apples to apples with ``spark``.

Each prints one line ``BENCH_RESULT {json}`` with its phase times, counts and (Spark) CPU split.
Startup (imports, SparkSession/JVM, DuckDB connection, worker pool) is timed apart from the job.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import multiprocessing
import os
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lakehouse.domain.patterns import EMAIL_REGEX  # noqa: E402  # after the path: run as a script too

ENGINES = ("spark", "spark-scrub-only", "duckdb", "duckdb-py")
CORES = 2
# Spark hands a pandas UDF 10,000 rows at a time (spark.sql.execution.arrow.maxRecordsPerBatch).
BATCH_ROWS = 10_000
RESULT_PREFIX = "BENCH_RESULT "


def _emit(result: dict[str, Any]) -> None:
    print(RESULT_PREFIX + json.dumps(result, default=str), flush=True)


# -- Spark ---------------------------------------------------------------------------------------


def _spark_cpu_split() -> dict[str, float]:
    """CPU seconds so far of this process, the JVM and the Python workers (alive or reaped)."""
    import psutil

    me = psutil.Process()
    split = {"driver-python": 0.0, "jvm": 0.0, "python-workers": 0.0}
    times = me.cpu_times()
    split["driver-python"] = times.user + times.system
    for child in me.children(recursive=True):
        try:
            cmdline = " ".join(child.cmdline())
            t = child.cpu_times()
        except psutil.Error:
            continue
        role = "jvm" if child.name() == "java" else "python-workers" if "pyspark" in cmdline else "driver-python"
        # Reaped children (short-lived forked workers) count in their parent's children_* times.
        split[role] += t.user + t.system + t.children_user + t.children_system
    return {role: round(seconds, 1) for role, seconds in split.items()}


def run_spark(lake: Path, now: float, job_run: str, variant: str) -> dict[str, Any]:
    started = time.perf_counter()
    from glue_jobs.process_posts import local_entry, transforms

    if variant == "spark-scrub-only":
        from bench.spark_scrub_only import scrub_only_udf

        transforms._post_text_udf = scrub_only_udf  # type: ignore[assignment]
    spark = local_entry.local_spark(cores=CORES)
    ready = time.perf_counter()
    summary = local_entry.run_local(lake, job_run=job_run, now_epoch=now, spark=spark)
    finished = time.perf_counter()
    cpu = _spark_cpu_split()
    conf = {
        key: spark.conf.get(key, None)
        for key in ("spark.master", "spark.driver.memory", "spark.sql.shuffle.partitions", "spark.eventLog.dir")
    }
    spark.stop()
    posts = summary["posts"]
    return {
        "engine": variant,
        "startup_seconds": round(ready - started, 2),
        "job_seconds": round(finished - ready, 2),
        "rows_in": posts["raw"],
        "rows_out": summary["output_rows"].get("posts", 0),
        "counts": {k: posts[k] for k in ("raw", "quarantined", "superseded", "filtered", "processed", "balanced")},
        "filtered_by_reason": summary["filtered_by_reason"],
        "quality_breaches": summary["quality_breaches"],
        "cpu_seconds": cpu,
        "spark_conf": conf,
    }


# -- DuckDB --------------------------------------------------------------------------------------

# The job's normalisation (transforms.RAW_POST_COLUMNS / PAYLOAD_POST_FIELDS) and checks
# (transforms.post_checks, in order: the first failed check is the reason), written in DuckDB SQL.
# Spark's non-ANSI casts turn bad values into null: TRY_CAST.
_NORMALIZED = """
    id::VARCHAR AS id, subreddit_name::VARCHAR AS subreddit_name, author::VARCHAR AS author,
    title::VARCHAR AS title, selftext::VARCHAR AS selftext, url::VARCHAR AS url,
    permalink::VARCHAR AS permalink, domain::VARCHAR AS domain,
    TRY_CAST(created_utc AS DOUBLE) AS created_utc, TRY_CAST(edited_utc AS DOUBLE) AS edited_utc,
    TRY_CAST(score AS BIGINT) AS score, TRY_CAST(upvote_ratio AS DOUBLE) AS upvote_ratio,
    TRY_CAST(num_comments AS BIGINT) AS num_comments, over_18::BOOLEAN AS over_18,
    stickied::BOOLEAN AS stickied, is_self::BOOLEAN AS is_self, promoted::BOOLEAN AS promoted,
    distinguished::VARCHAR AS distinguished, link_flair_text::VARCHAR AS link_flair_text,
    removed_by_category::VARCHAR AS removed_by_category,
    fetched_at::TIMESTAMPTZ AS fetched_at, run_id::VARCHAR AS run_id,
    source_endpoint::VARCHAR AS source_endpoint,
    TRY_CAST(json_extract_string(payload, '$.locked') AS BOOLEAN) AS locked,
    TRY_CAST(json_extract_string(payload, '$.spoiler') AS BOOLEAN) AS spoiler,
    TRY_CAST(json_extract_string(payload, '$.num_crossposts') AS BIGINT) AS num_crossposts,
    TRY_CAST(json_extract_string(payload, '$.is_video') AS BOOLEAN) AS is_video,
    payload
"""


def _checks_sql(now: float) -> str:
    from glue_jobs.process_posts.transforms import FUTURE_SKEW_SECONDS, ID_REGEX
    from lakehouse.domain.reddit import EARLIEST_CREATED_UTC

    checks = [
        ("id is not a base36 Reddit id", f"regexp_matches(id, '{ID_REGEX}')"),
        ("subreddit is missing", "length(trim(subreddit_name)) > 0"),
        ("title is missing", "title IS NOT NULL"),
        ("created_utc is missing", "created_utc IS NOT NULL"),
        ("created_utc is before Reddit existed", f"created_utc >= {EARLIEST_CREATED_UTC!r}"),
        ("created_utc is in the future", f"created_utc <= {now + FUTURE_SKEW_SECONDS!r}"),
        ("num_comments is negative", "coalesce(num_comments, 0) >= 0"),
        ("upvote_ratio is outside [0, 1]", "coalesce(upvote_ratio, 0.5) BETWEEN 0.0 AND 1.0"),
        ("fetched_at is missing", "fetched_at IS NOT NULL"),
    ]
    whens = "\n".join(f"        WHEN NOT coalesce({holds}, false) THEN '{reason}'" for reason, holds in checks)
    return f"CASE\n{whens}\n    END"


_EXCLUSION = """CASE
        WHEN coalesce(promoted, false) THEN 'promoted'
        WHEN coalesce(stickied, false) THEN 'stickied'
        WHEN selftext IN ('[removed]', '[deleted]') AND removed_by_category IS NOT NULL THEN 'content removed'
    END"""

# The processed columns the SQL produces without Python (the job's enrich_posts projection minus the
# UDF's outputs). duckdb-py replaces any of them the UDF also outputs (domain, flair) with the UDF's.
_PASSTHROUGH = """
    id AS post_id, domain, created_utc, to_timestamp(created_utc) AS created_at,
    edited_utc IS NOT NULL AS edited, score, upvote_ratio, num_comments, num_crossposts, over_18, is_self,
    is_video, locked, spoiler, distinguished, link_flair_text AS flair,
    fetched_at AS snapshot_fetched_at, run_id AS snapshot_run_id, fetched_at AS first_seen_at,
    strftime(to_timestamp(created_utc), '%Y-%m') AS created_month
"""

_EMAIL_RESIDUE = EMAIL_REGEX  # the job's quality gate's pattern (RE2 reads it as Java and Python do)


_ENRICH: dict[str, Any] = {}


def udf_input_columns() -> list[str]:
    """The raw columns the job hands its enrichment UDF, in order: the ``F.struct(...)`` in enrich_posts.

    Read from the job's source so this engine follows the job as its UDF changes.
    """
    from glue_jobs.process_posts import transforms

    tree = ast.parse(textwrap.dedent(inspect.getsource(transforms.enrich_posts)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "struct":
            names = [arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
            if names and len(names) == len(node.args):
                return names
    raise RuntimeError("cannot find the F.struct(...) of column names in transforms.enrich_posts")


def _enrich_batch(batch: Any) -> Any:
    """The job's own UDF body over one Arrow batch, in a pool worker.

    ``transforms._post_text_udf(key).func`` is the plain Python function the pandas UDF wraps
    (pandas DataFrames in, pandas DataFrames out): the very code Spark's Python workers run, so the
    two engines cannot drift apart. Built once per worker, like Spark's workers unpickle it once.
    """
    import pyarrow as pa

    if not _ENRICH:
        from pyspark.sql.pandas.types import to_arrow_schema

        from glue_jobs.process_posts.transforms import POST_TEXT_SCHEMA, _post_text_udf
        from lakehouse.domain.pii import DEVELOPMENT_KEY

        _ENRICH["func"] = _post_text_udf(DEVELOPMENT_KEY).func  # type: ignore[attr-defined]
        _ENRICH["schema"] = to_arrow_schema(POST_TEXT_SCHEMA)
    frames = list(_ENRICH["func"](iter([batch.to_pandas()])))
    return pa.RecordBatch.from_pandas(frames[0], schema=_ENRICH["schema"], preserve_index=False)


def run_duckdb(lake: Path, now: float, job_run: str, variant: str) -> dict[str, Any]:
    started = time.perf_counter()
    pool = None
    if variant == "duckdb-py":
        # Forked before DuckDB starts any thread.
        pool = multiprocessing.get_context("fork").Pool(CORES)
    import duckdb
    import pyarrow as pa

    from lakehouse.domain.problem_rule import RULE_VERSION

    checks = _checks_sql(now)  # imports the job's constants (and so pyspark, not the JVM): startup
    udf_inputs: list[str] = []
    udf_schema = None
    if pool is not None:
        from pyspark.sql.pandas.types import to_arrow_schema

        from glue_jobs.process_posts.transforms import POST_TEXT_SCHEMA

        udf_inputs = udf_input_columns()
        udf_schema = to_arrow_schema(POST_TEXT_SCHEMA)
    files = sorted(str(p) for p in (lake / "raw" / "posts").rglob("*.parquet"))
    processed = lake / "processed"
    con = duckdb.connect()
    con.execute(f"SET threads = {CORES}")
    con.execute("SET TimeZone = 'UTC'")
    ready = time.perf_counter()
    phases: dict[str, float] = {}

    def phase(name: str, since: float) -> float:
        now_ = time.perf_counter()
        phases[name] = round(now_ - since, 2)
        return now_

    t = ready
    file_list = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    # Like the job's cache() of normalised posts: one scan of the raw files; the payload is kept
    # only for rows that fail validation (the quarantine wants it), everything else drops it here.
    con.execute(
        f"""
        CREATE TEMP TABLE posts AS
        SELECT * EXCLUDE (payload), CASE WHEN reason IS NOT NULL THEN payload END AS payload
        FROM (
            SELECT *, {checks} AS reason
            FROM (SELECT {_NORMALIZED} FROM read_parquet({file_list}, union_by_name = true, hive_partitioning = false))
        )
        """
    )
    t = phase("scan_validate", t)
    con.execute(
        """
        CREATE TEMP TABLE latest AS
        SELECT * EXCLUDE (reason, payload) FROM posts WHERE reason IS NULL
        QUALIFY row_number() OVER (
            PARTITION BY id ORDER BY fetched_at DESC, score DESC NULLS LAST, run_id DESC
        ) = 1
        """
    )
    con.execute(f"CREATE TEMP VIEW flagged AS SELECT *, {_EXCLUSION} AS exclusion FROM latest")
    t = phase("dedupe", t)
    raw, quarantined, valid = con.execute(
        "SELECT count(*), count(reason), count(*) - count(reason) FROM posts"
    ).fetchone() or (0, 0, 0)
    latest_rows, filtered = con.execute("SELECT count(*), count(exclusion) FROM flagged").fetchone() or (0, 0)
    filtered_by_reason = dict(
        con.execute("SELECT exclusion, count(*) FROM flagged WHERE exclusion IS NOT NULL GROUP BY ALL").fetchall()
    )
    counts = {
        "raw": raw,
        "quarantined": quarantined,
        "superseded": valid - latest_rows,
        "filtered": filtered,
        "processed": latest_rows - filtered,
    }
    counts["balanced"] = raw == sum(counts[k] for k in ("quarantined", "superseded", "filtered", "processed"))
    t = phase("counts", t)

    kept = "SELECT * FROM flagged WHERE exclusion IS NULL"
    if pool is None:
        output = f"""
            SELECT {_PASSTHROUGH}, lower(subreddit_name) AS subreddit, title, selftext AS body, url, permalink
            FROM ({kept})
        """
    else:
        reader = con.sql(f"SELECT {', '.join(udf_inputs)}, {_PASSTHROUGH} FROM ({kept})").to_arrow_reader(BATCH_ROWS)
        passthrough: list[pa.RecordBatch] = []
        width = len(udf_inputs)

        def text_batches() -> Iterator[pa.RecordBatch]:
            for batch in reader:
                passthrough.append(batch.select(list(range(width, batch.num_columns))))
                yield batch.select(list(range(width)))

        enriched = pa.Table.from_batches(list(pool.imap(_enrich_batch, text_batches())), schema=udf_schema)
        pool.close()
        t = phase("enrich_python", t)
        if passthrough:
            table = pa.Table.from_batches(passthrough)
        else:
            table = con.sql(f"SELECT {_PASSTHROUGH} FROM ({kept}) LIMIT 0").to_arrow_table()
        for name in udf_schema.names:
            if name in table.column_names:
                table = table.drop_columns([name])
            table = table.append_column(name, enriched.column(name))
        con.register("enriched", table)
        output = f"SELECT *, '{RULE_VERSION}' AS problem_rule_version FROM enriched"

    con.execute(f"CREATE TEMP VIEW output AS {output}")
    # Like io.write_current: one directory per created_month, rows sorted by subreddit and time.
    processed.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""
        COPY (SELECT * FROM output ORDER BY created_month, subreddit, created_utc)
        TO '{processed / "posts"}' (FORMAT parquet, PARTITION_BY (created_month))
        """
    )
    t = phase("write_processed", t)
    # The job's inspect_output, in one pass (PII residue is only enforced where text is scrubbed).
    residue = " OR ".join(f"coalesce(regexp_matches({c}, '{_EMAIL_RESIDUE}'), false)" for c in ("title", "body"))
    rows_out, distinct, null_keys, pii = con.execute(
        f"""
        SELECT count(*), count(DISTINCT post_id),
               count(*) FILTER (WHERE post_id IS NULL OR created_utc IS NULL OR created_month IS NULL),
               count(*) FILTER (WHERE {residue})
        FROM output
        """
    ).fetchone() or (0, 0, 0, 0)
    breaches = []
    if rows_out != distinct:
        breaches.append(f"unique_ids: {rows_out - distinct}")
    if null_keys:
        breaches.append(f"non_null_keys: {null_keys}")
    if pii and pool is not None:
        breaches.append(f"no_pii_residue: {pii}")
    t = phase("quality", t)
    # Like io.write_run_rows: the run's exclusions and quarantine, one file each.
    exclusions_dir = processed / "post_exclusions" / f"job_run={job_run}"
    quarantine_dir = lake / "quarantine" / "process" / "posts" / f"job_run={job_run}"
    exclusions_dir.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""
        COPY (SELECT id AS post_id, exclusion AS reason, run_id AS snapshot_run_id,
                     strftime(to_timestamp(created_utc), '%Y-%m') AS created_month
              FROM flagged WHERE exclusion IS NOT NULL)
        TO '{exclusions_dir / "part-00000.parquet"}' (FORMAT parquet)
        """
    )
    if quarantined:
        quarantine_dir.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"""
            COPY (SELECT 'process' AS stage, 't3' AS kind, id AS object_id, reason, payload, fetched_at, run_id,
                         source_endpoint, '{job_run}' AS job_run_id FROM posts WHERE reason IS NOT NULL)
            TO '{quarantine_dir / "part-00000.parquet"}' (FORMAT parquet)
            """
        )
    phase("write_set_aside", t)
    finished = time.perf_counter()
    con.close()
    return {
        "engine": variant,
        "startup_seconds": round(ready - started, 2),
        "job_seconds": round(finished - ready, 2),
        "rows_in": raw,
        "rows_out": rows_out,
        "counts": counts,
        "filtered_by_reason": filtered_by_reason,
        "quality_breaches": breaches,
        "pii_residue_rows": pii,
        "phases": phases,
        "duckdb_version": duckdb.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("engine", choices=ENGINES)
    parser.add_argument("--lake", type=Path, required=True)
    parser.add_argument("--now", type=float, required=True)
    parser.add_argument("--job-run", required=True)
    args = parser.parse_args(argv)
    lake = args.lake.resolve()
    if args.engine.startswith("spark"):
        result = run_spark(lake, args.now, args.job_run, args.engine)
    else:
        result = run_duckdb(lake, args.now, args.job_run, args.engine)
    result["pid"] = os.getpid()
    _emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
