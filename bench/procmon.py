"""Run a command and measure it: wall time from start to exit, peak RSS of its whole process tree."""

from __future__ import annotations

import resource
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

POLL_SECONDS = 0.02


@dataclass(frozen=True)
class Measured:
    returncode: int
    wall_seconds: float
    peak_rss_bytes: int
    samples: int
    cpu_seconds: float  # user + system of the process and the descendants it waited for
    stdout: str
    stderr: str
    killed_over_rss_limit: bool = False

    @property
    def peak_mib(self) -> float:
        return self.peak_rss_bytes / 2**20


def _tree_rss(root: psutil.Process) -> int:
    """RSS of a process and all its descendants; processes that end mid-poll count as 0."""
    total = 0
    try:
        members = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


def run_measured(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
    rss_limit_bytes: int | None = None,
) -> Measured:
    """Run ``command`` to completion, polling its process tree's RSS every POLL_SECONDS.

    Past ``rss_limit_bytes`` the tree is killed (so a runaway tool cannot take the machine down)
    and the result says so.
    """
    peak = 0
    samples = 0
    over_limit = False
    # The caller's other children (a replay server) are still running, so they are not in this diff.
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    done = threading.Event()

    def poll() -> None:
        nonlocal peak, samples, over_limit
        try:
            root = psutil.Process(process.pid)
        except psutil.Error:
            return
        while not done.is_set():
            peak = max(peak, _tree_rss(root))
            samples += 1
            if rss_limit_bytes is not None and peak > rss_limit_bytes and not over_limit:
                over_limit = True
                _kill_tree(root)
            done.wait(POLL_SECONDS)

    poller = threading.Thread(target=poll, name="rss-poller", daemon=True)
    poller.start()
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    except BaseException:  # interrupted: leave no orphan behind
        process.kill()
        process.wait()
        raise
    finally:
        wall = time.perf_counter() - started
        done.set()
        poller.join()
    usage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (usage_after.ru_utime - usage_before.ru_utime) + (usage_after.ru_stime - usage_before.ru_stime)
    return Measured(process.returncode, wall, peak, samples, cpu, stdout, stderr, over_limit)


def _kill_tree(root: psutil.Process) -> None:
    try:
        members = [*root.children(recursive=True), root]
    except psutil.Error:
        members = [root]
    for member in members:
        try:
            member.kill()
        except psutil.Error:
            continue
