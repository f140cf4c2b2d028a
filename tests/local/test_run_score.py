"""Scoring the real corpus locally: every problem post gets a score, deterministically, with verbatim evidence."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from lakehouse.lake.store import LocalObjectStore
from lakehouse_tools.local.runner import RunOptions, environment_config, run
from lakehouse_tools.replay.corpus import DirectoryCorpus
from lambdas.score.assessment import quoted_in
from lambdas.score.heuristic import HeuristicBackend
from lambdas.score.prompt import CURRENT_PROMPT_VERSION, Prompt
from lambdas.score.score import ScoreRequest, score_run
from lambdas.score.settings import ScoringPolicy
from lambdas.score.store import ScoreStore
from tests.conftest import REAL_CORPUS_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.spark, pytest.mark.real_corpus]


def _table(lake: Path, path: str) -> list[dict[str, Any]]:
    return list(ds.dataset(lake / path, format="parquet", partitioning="hive").to_table().to_pylist())


def test_the_real_corpus_scores_every_problem_post_with_evidence_from_the_post(
    real_corpus: DirectoryCorpus, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    options = RunOptions(source=f"replay:{REAL_CORPUS_DIR}", lake=lake, run_id="real-1", until="score")
    summary = run(options)
    assert summary["ok"], summary["execution"]

    problems = {row["post_id"] for row in _table(lake, "processed/posts") if row["is_problem"]}
    store = ScoreStore(LocalObjectStore(lake / "processed"), LocalObjectStore(lake / "analytics"))
    scores = {row["post_id"]: row for row in store.current_scores(CURRENT_PROMPT_VERSION)}
    assert problems
    assert set(scores) == problems
    assert {row["status"] for row in scores.values()} == {"scored"}
    shown = {post.post_id: post for post in store.problem_posts(_policy(summary))}
    comments = store.top_comments(problems, _policy(summary))
    for post_id, row in scores.items():
        texts = [*shown[post_id].shown_texts, *comments.get(post_id, ())]
        assert all(quoted_in(quote, texts) for quote in row["evidence"]), row

    # Deterministic: the same processed posts scored again into an empty analytics zone give the same scores.
    other = ScoreStore(LocalObjectStore(lake / "processed"), LocalObjectStore(tmp_path / "again"))
    again = score_run(
        ScoreRequest("real-2", datetime.now(UTC)),
        store=other,
        backend=HeuristicBackend(),
        policy=_policy(summary),
        prompt=Prompt.load(),
        clock=time.time,
    )
    assert again.model_calls == len(problems)
    assert _comparable(other.current_scores(CURRENT_PROMPT_VERSION)) == _comparable(list(scores.values()))


def _policy(summary: dict[str, Any]) -> ScoringPolicy:
    """The policy the run scored with (the default environment's), for reading posts as it read them."""
    return environment_config(RunOptions(source="reddit", lake=Path(summary["lake"]))).llm.policy


def _comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        ({key: value for key, value in row.items() if key not in ("scored_at", "run_id")} for row in rows),
        key=lambda row: str(row["post_id"]),
    )
