"""Run a command and measure its whole process tree: wall time, peak RSS, and both split by role.

Spark's footprint is three kinds of process: the driver's Python interpreter, the JVM it launches
and the Python workers the JVM forks for UDFs; a DuckDB run with Python enrichment has its own pool
workers. Each poll (every POLL_SECONDS) sums RSS over the tree and per role; each process's CPU
time is kept as last seen, so the split of CPU between roles is known at the end.

RSS counts pages shared between forked workers once per process (copy-on-write), as ``ps`` does.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

POLL_SECONDS = 0.05


@dataclass
class TreeMeasure:
    returncode: int
    wall_seconds: float
    peak_rss_bytes: int
    peak_rss_by_role: dict[str, int]
    cpu_seconds_by_role: dict[str, float]
    samples: int
    stdout: str
    stderr: str
    killed: str | None = None  # why the tree was killed, if it was
    load_average: tuple[float, float, float] = field(default=(0.0, 0.0, 0.0))

    @property
    def peak_mib(self) -> float:
        return self.peak_rss_bytes / 2**20

    @property
    def cpu_seconds(self) -> float:
        return sum(self.cpu_seconds_by_role.values())


def role_of(process: psutil.Process, name: str, root_pid: int) -> str:
    if process.pid == root_pid:
        return "main"
    try:
        cmdline = " ".join(process.cmdline())
    except psutil.Error:
        return "other"
    if name == "java":
        return "jvm"
    if "pyspark.daemon" in cmdline or "pyspark.worker" in cmdline:
        return "spark-python-workers"
    if "python" in name or "python" in cmdline:
        return "python-children"
    return "other"


def run_tree(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
    rss_limit_bytes: int | None = None,
) -> TreeMeasure:
    """Run ``command`` to completion; past ``rss_limit_bytes`` or ``timeout`` its tree is killed."""
    peak = 0
    peak_by_role: dict[str, int] = defaultdict(int)
    cpu_by_pid: dict[int, tuple[str, float]] = {}
    roles: dict[tuple[int, str], str] = {}  # by (pid, name): spark-submit's shell execs into java
    samples = 0
    killed: str | None = None
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
        nonlocal peak, samples, killed
        try:
            root = psutil.Process(process.pid)
        except psutil.Error:
            return
        while not done.is_set():
            try:
                members = [root, *root.children(recursive=True)]
            except psutil.Error:
                members = []
            total = 0
            by_role: dict[str, int] = defaultdict(int)
            for member in members:
                try:
                    with member.oneshot():
                        name = member.name()
                        rss = member.memory_info().rss
                        times = member.cpu_times()
                    key = (member.pid, name)
                    role = roles.get(key) or roles.setdefault(key, role_of(member, name, process.pid))
                except psutil.Error:
                    continue
                total += rss
                by_role[role] += rss
                cpu_by_pid[member.pid] = (role, times.user + times.system)
            peak = max(peak, total)
            for role, rss in by_role.items():
                peak_by_role[role] = max(peak_by_role[role], rss)
            samples += 1
            if rss_limit_bytes is not None and total > rss_limit_bytes and killed is None:
                killed = f"RSS {total / 2**20:.0f} MiB over the limit of {rss_limit_bytes / 2**20:.0f} MiB"
                _kill_tree(root)
            done.wait(POLL_SECONDS)

    poller = threading.Thread(target=poll, name="tree-poller", daemon=True)
    poller.start()
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        killed = f"timeout after {timeout:.0f} s"
        _kill_pid_tree(process.pid)
        stdout, stderr = process.communicate()
    except BaseException:  # interrupted: leave no orphan behind
        _kill_pid_tree(process.pid)
        process.wait()
        raise
    finally:
        wall = time.perf_counter() - started
        done.set()
        poller.join()
    cpu_by_role: dict[str, float] = defaultdict(float)
    for role, seconds in cpu_by_pid.values():
        cpu_by_role[role] += seconds
    return TreeMeasure(
        returncode=process.returncode,
        wall_seconds=wall,
        peak_rss_bytes=peak,
        peak_rss_by_role=dict(peak_by_role),
        cpu_seconds_by_role={role: round(seconds, 1) for role, seconds in cpu_by_role.items()},
        samples=samples,
        stdout=stdout,
        stderr=stderr,
        killed=killed,
        load_average=psutil.getloadavg(),
    )


def _kill_pid_tree(pid: int) -> None:
    try:
        _kill_tree(psutil.Process(pid))
    except psutil.Error:
        return


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
