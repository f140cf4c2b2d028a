"""Run a command and measure its whole process tree: wall time, peak RSS, and both split by role.

Both benchmarks measure with it. Spark's footprint is three kinds of process: the driver's Python
interpreter, the JVM it launches and the Python workers the JVM forks for UDFs; a DuckDB run with
Python enrichment has its own pool workers. Each poll (every POLL_SECONDS unless asked otherwise)
sums RSS over the tree and per role; each process's CPU time is kept as last seen, so the split of
CPU between roles is known at the end; the tree's total CPU comes from the kernel
(``RUSAGE_CHILDREN``), exact however short the run.

RSS counts pages shared between forked workers once per process (copy-on-write), as ``ps`` does.
A process younger than MIN_AGE_SECONDS is not counted: the JVM spawns short-lived helpers (Hadoop's
``chmod`` calls without the native library, ``jspawnhelper``) that, between fork and exec, report
the whole JVM's RSS as their own and would double it for one sample.
"""

from __future__ import annotations

import resource
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

POLL_SECONDS = 0.05
MIN_AGE_SECONDS = 0.5


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
    cpu_seconds: float  # user + system of the whole tree, exact (from the kernel, not the polls)
    killed: str | None = None  # why the tree was killed, if it was
    load_average: tuple[float, float, float] = field(default=(0.0, 0.0, 0.0))

    @property
    def peak_mib(self) -> float:
        return self.peak_rss_bytes / 2**20


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
    poll_seconds: float = POLL_SECONDS,
) -> TreeMeasure:
    """Run ``command`` to completion, polling its tree every ``poll_seconds``; past ``rss_limit_bytes``
    or ``timeout`` the tree is killed."""
    peak = 0
    peak_by_role: dict[str, int] = defaultdict(int)
    cpu_by_pid: dict[int, tuple[str, float]] = {}
    roles: dict[tuple[int, str], str] = {}  # by (pid, name): spark-submit's shell execs into java
    samples = 0
    killed: str | None = None
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
            now = time.time()
            for member in members:
                try:
                    with member.oneshot():
                        if member.pid != process.pid and now - member.create_time() < MIN_AGE_SECONDS:
                            continue
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
            done.wait(poll_seconds)

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
    usage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (usage_after.ru_utime - usage_before.ru_utime) + (usage_after.ru_stime - usage_before.ru_stime)
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
        cpu_seconds=cpu,
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
