"""The ``lakehouse`` command: the local face of the pipeline.

Subcommands:
  reddit-replay  serve a corpus as Reddit's OAuth API on 127.0.0.1
  run            run the pipeline stages locally (see ``lakehouse run --help``)
  sql            run Athena SQL over a local lake, the analysts' views included (DuckDB)
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from typing import Any

from lakehouse_tools.athena import AthenaQueryError
from lakehouse_tools.local.runner import (
    DEFAULT_CONCURRENCY,
    DEFAULT_ENV,
    DEFAULT_SCORER,
    NOTHING_TO_DO,
    SCORERS,
    STAGES,
)
from lakehouse_tools.query import QueryResult
from lakehouse_tools.replay.options import ReplayOptions


def _add_replay_fault_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=None,
        metavar="N",
        help="answer 429 with Retry-After past N requests a minute (default: unlimited)",
    )
    parser.add_argument("--inject-429", type=float, default=0.0, metavar="P", help="answer 429 at rate P")
    parser.add_argument("--inject-5xx", type=float, default=0.0, metavar="P", help="answer 5xx at rate P")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault injector")
    parser.add_argument(
        "--retry-after",
        type=int,
        default=1,
        metavar="S",
        help="Retry-After seconds sent with injected 429s (default 1)",
    )
    parser.add_argument(
        "--reject-credentials",
        action="store_true",
        help="answer the token endpoint 401, as Reddit does a wrong client id or secret",
    )
    parser.add_argument(
        "--private-subreddits",
        default="",
        metavar="a,b",
        help="answer these subreddits' listings 403, as Reddit does a private subreddit",
    )


def _add_synthetic_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--posts",
        type=int,
        default=None,
        metavar="N",
        help="synthetic corpus: exactly N posts (default: realistic rates)",
    )
    parser.add_argument("--days", type=float, default=None, metavar="D", help="synthetic corpus: span in days")


def _synthetic_options(args: argparse.Namespace) -> dict[str, object]:
    options: dict[str, object] = {}
    if args.posts is not None:
        options["posts"] = args.posts
    if args.days is not None:
        options["days"] = args.days
    return options


def _replay_options(args: argparse.Namespace, *, now: float | None = None) -> ReplayOptions:
    """The replay server's behaviour from the fault flags both subcommands take."""
    private = frozenset(name.strip().lower() for name in args.private_subreddits.split(",") if name.strip())
    return ReplayOptions(
        rate_limit=args.rate_limit,
        inject_429=args.inject_429,
        inject_5xx=args.inject_5xx,
        seed=args.seed,
        now=now,
        retry_after_seconds=args.retry_after,
        reject_credentials=args.reject_credentials,
        private_subreddits=private,
    )


def _replay(args: argparse.Namespace) -> int:
    from lakehouse_tools.replay.corpus import open_corpus
    from lakehouse_tools.replay.server import ReplayServer

    source = args.corpus
    corpus = open_corpus(source, **(_synthetic_options(args) if source.startswith("synthetic") else {}))
    options = _replay_options(args, now=args.now)
    server = ReplayServer(corpus, options, host=args.host, port=args.port)
    print(
        f"reddit-replay serving {len(corpus.subreddits())} subreddits from {source} at {server.url}",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from lakehouse_tools.local.runner import RunOptions, run

    subreddits = tuple(name.strip() for name in args.subreddits.split(",") if name.strip()) if args.subreddits else None
    options = RunOptions(
        source=args.source,
        lake=Path(args.lake),
        subreddits=subreddits,
        now=args.now,
        run_id=args.run_id,
        until=args.until,
        fail_after=args.fail_after,
        scorer=args.scorer,
        reddit_url=args.reddit_url,
        replay=_replay_options(args),  # the run sets the server's clock itself
        synthetic=_synthetic_options(args),
        env=args.env,
        max_requests=args.max_requests,
        # Pace to the replay server's limit when one is set; real Reddit allows 100 a minute.
        requests_per_minute=_requests_per_minute(args),
        retry_base_seconds=args.retry_base,
        overlap_seconds=args.overlap_seconds,
        refresh_max_age_hours=args.refresh_max_age_hours,
        max_comments_per_post=args.max_comments_per_post,
        concurrency=args.concurrency,
        tune_process=True,  # this process runs invocations as a Lambda container does
    )
    summary = run(options)
    text = json.dumps(summary, indent=2, sort_keys=False)
    if args.summary_json:
        Path(args.summary_json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.summary_json).write_text(text + "\n")
    _print_summary(summary)
    return 0 if summary["ok"] else 1


def _requests_per_minute(args: argparse.Namespace) -> float | None:
    """Pacing: as asked (0: none); else the replay server's limit; else None (the runner decides from --env)."""
    if args.requests_per_minute is not None:
        return args.requests_per_minute
    return float(args.rate_limit) if args.rate_limit else None


def _print_summary(summary: dict[str, object]) -> None:
    stages = summary["stages"]
    assert isinstance(stages, dict)
    print(f"run {summary['run_id']}: {' -> '.join(stages)}")
    ingest = stages.get("ingest")
    if ingest is not None:
        _print_ingest(summary, ingest)
    process = stages.get("process")
    if process and "error" in process:
        print(f"  FAILED process: {process['error']}", file=sys.stderr)
    elif process:
        posts = process["posts"]
        print(
            f"process: {posts['raw']} raw post snapshots -> {posts['processed']} processed, {posts['filtered']} "
            f"filtered, {posts['quarantined']} quarantined, {posts['superseded']} superseded; "
            f"{process['comments']['processed']} comments"
        )
    score = stages.get("score")
    if score and "error" in score:
        print(f"  FAILED score: {score['error']}", file=sys.stderr)
    elif score and not score.get(NOTHING_TO_DO):
        done = " (already scored: no calls)" if score.get("recorded") else ""
        print(
            f"score{done}: {score['problem_posts']} problem posts, {score['scored']} scored, {score['failed']} failed, "
            f"{score['still_waiting']} waiting; {score['model_calls']} {score['backend']} calls "
            f"({score['model_id']}), ${score['cost_usd']:.4f} of ${score['budget_usd']:.2f}"
        )
    for name in ("publish", "load"):
        stage = stages.get(name)
        if stage and "error" in stage:
            print(f"  FAILED {name}: {stage['error']}", file=sys.stderr)
    publish, load = stages.get("publish"), stages.get("load")
    if publish and "views" in publish:
        rows = ", ".join(f"{count} {table}" for table, count in publish["exported_rows"].items())
        print(f"publish: {len(publish['views'])} views; exported {rows} to {publish['export_uri']}")
    if load and "warehouse_rows" in load:
        rows = ", ".join(f"{count} {table}" for table, count in load["warehouse_rows"].items())
        print(f'load: the warehouse holds {rows} (lakehouse sql --warehouse "SELECT ...")')
    execution = summary["execution"]
    assert isinstance(execution, dict)
    if execution["status"] != "SUCCEEDED":
        print(f"  FAILED {execution['error']}: {execution['cause']}", file=sys.stderr)
    print(f"reconciled: {all(c['balanced'] for c in summary['reconciliation'].values())}")  # type: ignore[attr-defined]


def _print_ingest(summary: dict[str, object], ingest: dict[str, Any]) -> None:
    print(
        f"ingest: {ingest['subreddits']} subreddits ({ingest.get('recorded', 0)} already done), "
        f"{ingest.get('posts_written', 0)} post snapshots ({ingest.get('new_posts', 0)} new, "
        f"{ingest.get('refreshed_posts', 0)} refreshed), {ingest.get('comments', 0)} comments, "
        f"{ingest.get('quarantined', 0)} quarantined; "
        f"{sum(summary['reddit_requests'].values())} Reddit requests"  # type: ignore[attr-defined]
    )
    for subreddit, reason in ingest.get("skipped", {}).items():
        print(f"  skipped r/{subreddit}: {reason}", file=sys.stderr)
    for subreddit, error in ingest["failed"].items():
        print(f"  FAILED r/{subreddit}: {error}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lakehouse", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    replay = commands.add_parser("reddit-replay", help="serve a corpus as Reddit's OAuth API")
    replay.add_argument(
        "--corpus",
        required=True,
        metavar="SOURCE",
        help="a directory of submissions.jsonl[.gz] (+ comments.jsonl[.gz]) or synthetic[:SEED]",
    )
    replay.add_argument("--port", type=int, default=8765, help="port on --host (0 picks a free one)")
    replay.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    replay.add_argument(
        "--now",
        type=float,
        default=None,
        metavar="EPOCH",
        help="virtual clock: only posts created at or before it are visible (default: real time)",
    )
    _add_replay_fault_flags(replay)
    _add_synthetic_flags(replay)
    replay.set_defaults(handler=_replay)

    run = commands.add_parser("run", help="run the pipeline locally into a lake directory")
    run.add_argument(
        "--source",
        default="synthetic",
        metavar="SOURCE",
        help="synthetic[:SEED] (default), replay:DIR, or reddit (real, or --reddit-url)",
    )
    run.add_argument("--lake", default=".lake", metavar="DIR", help="the lake directory (default .lake)")
    run.add_argument(
        "--env",
        default=DEFAULT_ENV,
        metavar="NAME",
        help=f"the cdk.json environment whose settings the run uses (default {DEFAULT_ENV}); the flags below override",
    )
    run.add_argument(
        "--subreddits",
        default=None,
        metavar="a,b|ALL",
        help="subreddits to ingest; ALL (the default for replay sources) is every one in the corpus",
    )
    run.add_argument(
        "--now",
        type=float,
        default=None,
        metavar="EPOCH",
        help="the run's instant: the replay server's virtual clock and the run's start time",
    )
    run.add_argument(
        "--run-id",
        default=None,
        metavar="ID",
        help="run id (default local-<UTC time>); a rerun with the same id redoes only what did not finish",
    )
    run.add_argument(
        "--until",
        default=None,
        choices=STAGES,
        metavar="STAGE",
        help=f"last stage to run, in the state machine's order ({', '.join(STAGES)}; default: all)",
    )
    run.add_argument(
        "--fail-after",
        default=None,
        choices=STAGES,
        metavar="STAGE",
        help="fail the run just after STAGE's writes, through the state machine's failure path (a drill; "
        "rerun with the same --run-id to finish it)",
    )
    run.add_argument(
        "--scorer",
        default=DEFAULT_SCORER,
        choices=SCORERS,
        help="who scores problem posts: the offline heuristic (default), or the environment's Bedrock model "
        "with your AWS credentials (AWS_PROFILE / AWS_REGION; it costs money, within the env's budget)",
    )
    run.add_argument("--summary-json", default=None, metavar="PATH", help="write the run's facts as JSON")
    run.add_argument(
        "--reddit-url",
        default=None,
        metavar="URL",
        help="with --source reddit: a Reddit-compatible endpoint (e.g. a reddit-replay server)",
    )
    run.add_argument(
        "--max-requests",
        type=int,
        default=None,
        metavar="N",
        help="request budget per subreddit and run (default: the environment's, as deployed)",
    )
    run.add_argument(
        "--requests-per-minute",
        type=float,
        default=None,
        metavar="N",
        help="pace Reddit requests to N a minute (0: no pacing); default: the replay server's --rate-limit, "
        "or 90 against Reddit",
    )
    run.add_argument(
        "--retry-base",
        type=float,
        default=None,
        metavar="S",
        help="base of the exponential backoff between retries, seconds (default: the function's, 0.5)",
    )
    run.add_argument(
        "--overlap-seconds",
        type=float,
        default=None,
        metavar="S",
        help="re-read this much before the cursor for late-visible posts (default: the environment's)",
    )
    run.add_argument(
        "--refresh-max-age-hours",
        type=float,
        default=None,
        metavar="H",
        help="refresh engagement of posts younger than this through /api/info; 0 turns it off (default: the env's)",
    )
    run.add_argument(
        "--max-comments-per-post",
        type=int,
        default=None,
        metavar="N",
        help="top comments fetched per problem post; 0 turns comment fetching off (default: the env's)",
    )
    run.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"subreddits ingested at once, sharing one pace (default {DEFAULT_CONCURRENCY}; 1: one after another)",
    )
    _add_replay_fault_flags(run)
    _add_synthetic_flags(run)
    run.set_defaults(handler=_run)

    sql = commands.add_parser(
        "sql",
        help="run Athena SQL over a local lake (DuckDB, transpiled by sqlglot) or a deployed environment's Athena",
        description="Run Athena (Trino) SQL over a local lake: the tables of lakehouse/tables.py and the views of "
        "sql/athena/views, on DuckDB. With --engine athena, the same query runs in a deployed environment's "
        "Athena workgroup (AWS credentials from the usual chain, the region from cdk.json).",
        epilog="examples:\n"
        '  lakehouse sql "SELECT opportunity_rank, title, opportunity_score FROM v_opportunities LIMIT 10"\n'
        '  lakehouse sql --warehouse "SELECT TOP 5 post_id, opportunity_score FROM lakehouse.opportunity_scores '
        'ORDER BY opportunity_score DESC"\n'
        '  AWS_PROFILE=analyst lakehouse sql --engine athena --env prod "SELECT * FROM v_run_costs LIMIT 5"',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sql.add_argument(
        "--engine",
        default=LOCAL_ENGINE,
        choices=SQL_ENGINES,
        help=f"where the query runs: {LOCAL_ENGINE} (DuckDB over --lake, the default) or athena (--env's workgroup)",
    )
    sql.add_argument(
        "--env",
        default=DEFAULT_ENV,
        metavar="NAME",
        help=f"with --engine athena: the cdk.json environment to query (default {DEFAULT_ENV})",
    )
    sql.add_argument(
        "query", metavar="SQL", help="one or more statements, the last one's rows printed (Athena itself: one)"
    )
    sql.add_argument("--lake", default=".lake", metavar="DIR", help="the lake directory (default .lake)")
    sql.add_argument("--format", default="table", choices=FORMATS, help="how rows are printed (default table)")
    sql.add_argument(
        "--warehouse",
        action="store_true",
        help="query the lake's local warehouse instead (Redshift SQL, on the DuckDB file the Load stage fills)",
    )
    sql.set_defaults(handler=_sql)
    return parser


FORMATS = ("table", "csv", "json")
LOCAL_ENGINE = "local"
SQL_ENGINES = (LOCAL_ENGINE, "athena")
_CELL_WIDTH = 60


def _sql(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lakehouse_tools.athena import DeployedAthena
    from lakehouse_tools.local.runner import cdk_environment

    if args.engine != LOCAL_ENGINE:
        if args.warehouse:
            raise ValueError("--warehouse is the local warehouse; a deployed one is reached from BI tools")
        return _print(args.format, DeployedAthena.of(cdk_environment(args.env)).query(args.query))
    from lakehouse_tools.local.sql import LocalAthena  # duckdb: only for the local engines
    from lakehouse_tools.local.warehouse import WAREHOUSE_FILE, LocalWarehouse

    lake = Path(args.lake)
    engine: LocalAthena | LocalWarehouse
    if args.warehouse:
        if not (lake / WAREHOUSE_FILE).is_file():
            raise FileNotFoundError(f"no warehouse at {lake / WAREHOUSE_FILE} (a run's Load stage builds it)")
        engine = LocalWarehouse(lake / WAREHOUSE_FILE)
    else:
        engine = LocalAthena(lake)
    try:
        return _print(args.format, engine.query(args.query))
    finally:
        engine.close()


def _print(output_format: str, result: QueryResult) -> int:
    if output_format == "json":
        print(json.dumps(result.records(), ensure_ascii=False, indent=2, default=str))
    elif output_format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([_plain(value) for value in row] for row in result.rows)
    else:
        print(_table(result.columns, [[_cell(value) for value in row] for row in result.rows]))
    return 0


def _plain(value: Any) -> str:
    """A value as one line of text: lists as JSON, nulls empty."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _cell(value: Any) -> str:
    text = "NULL" if value is None else " ".join(_plain(value).split())
    return text if len(text) <= _CELL_WIDTH else text[: _CELL_WIDTH - 1] + "…"


def _table(columns: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(name), *(len(row[i]) for row in rows)]) for i, name in enumerate(columns)]
    lines = ["  ".join(name.ljust(width) for name, width in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(line.rstrip() for line in lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (FileNotFoundError, ValueError) as exc:
        print(f"lakehouse {args.command}: {exc}", file=sys.stderr)
        return 2
    except AthenaQueryError as exc:
        print(f"lakehouse {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
