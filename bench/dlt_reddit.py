"""The seeds' choice, as a peer to measure against: dlt's rest_api source from Reddit into DuckDB.

One resource per subreddit (``/r/{sub}/new``, 100 a page, ``raw_json=1``), the listing's children
unwrapped to the post's own fields, all into one ``posts`` table merged on ``id``, incremental on
``created_utc`` with ``row_order="desc"`` so dlt stops paging once it meets posts it already has.
Auth is OAuth2 client credentials against ``{url}/api/v1/access_token`` (a replay server takes any).

Usage: ``python bench/dlt_reddit.py --url URL --subreddits a,b --workdir DIR [--summary-json PATH]``.
Rerunning with the same ``--workdir`` continues from the pipeline's state (its incremental cursors).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

# Offline and quiet: no telemetry, only errors on stderr. Set before dlt reads its configuration.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")

import dlt
from dlt.sources.helpers.rest_client.auth import OAuth2ClientCredentials
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator
from dlt.sources.rest_api import rest_api_source

PIPELINE_NAME = "reddit_bench"
DATASET = "reddit"
TABLE = "posts"


def unwrap(child: dict[str, Any]) -> dict[str, Any]:
    """A listing child ``{"kind": "t3", "data": {...}}`` -> the post's fields."""
    data: dict[str, Any] = child["data"]
    return data


def reddit_source(url: str, subreddits: list[str]) -> Any:
    auth = OAuth2ClientCredentials(
        access_token_url=f"{url}/api/v1/access_token",
        client_id="bench-client",
        client_secret="bench-secret",  # noqa: S106  # the replay server accepts any credentials
    )
    resources: list[Any] = [
        {
            "name": f"new_{subreddit}",
            "table_name": TABLE,
            "primary_key": "id",
            "write_disposition": "merge",
            "endpoint": {
                "path": f"r/{subreddit}/new",
                "params": {"limit": 100, "raw_json": 1},
                "data_selector": "data.children",
                "paginator": JSONResponseCursorPaginator(cursor_path="data.after", cursor_param="after"),
                "incremental": {"cursor_path": "created_utc", "row_order": "desc"},
            },
            "processing_steps": [{"map": unwrap}],
        }
        for subreddit in subreddits
    ]
    return rest_api_source({"client": {"base_url": url, "auth": auth}, "resources": resources}, name="reddit")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--subreddits", required=True, help="comma-separated")
    parser.add_argument("--workdir", required=True, type=Path, help="pipeline state and the DuckDB file")
    parser.add_argument("--summary-json", type=Path)
    parser.add_argument(
        "--loader-file-format",
        choices=("default", "insert_values", "jsonl", "parquet"),
        default="default",
        help="how dlt hands rows to DuckDB (default: dlt's own choice for duckdb, insert_values)",
    )
    args = parser.parse_args(argv)
    subreddits = [name for name in args.subreddits.split(",") if name]
    args.workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    pipeline = dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        pipelines_dir=str(args.workdir / "pipelines"),
        destination=dlt.destinations.duckdb(str(args.workdir / "bench.duckdb")),
        dataset_name=DATASET,
    )
    file_format = None if args.loader_file_format == "default" else args.loader_file_format
    info = pipeline.run(reddit_source(args.url.rstrip("/"), subreddits), loader_file_format=file_format)
    info.raise_on_failed_jobs()
    summary = {
        "rows_extracted": sum(
            count for table, count in pipeline.last_trace.last_normalize_info.row_counts.items() if table == TABLE
        ),
        "loads": len(info.loads_ids),
        "loader_file_format": args.loader_file_format,
        "seconds": round(time.monotonic() - started, 3),
        "duckdb": str(args.workdir / "bench.duckdb"),
    }
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
