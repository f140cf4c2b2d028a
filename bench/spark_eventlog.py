"""Where a Spark application's time went, from its event log (``spark.eventLog.enabled``).

Each Spark job is an action of the processing job (a ``count``, a ``collect``, the UDF's
``localCheckpoint``, a write); its call site names the line of ``process.py`` / ``quality.py`` that
ran it when PySpark records one. Per job: wall time, the tasks' run and CPU time, GC, spill and
the bytes shipped to Python workers (non-zero only where the pandas UDF runs). Time between jobs
is the driver's own: planning, file listing, py4j round trips, Python between actions.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_METRICS = {
    "internal.metrics.executorRunTime": "task_ms",
    "internal.metrics.executorCpuTime": "task_cpu_ns",
    "internal.metrics.jvmGCTime": "gc_ms",
    "internal.metrics.memoryBytesSpilled": "spilled_memory_bytes",
    "internal.metrics.diskBytesSpilled": "spilled_disk_bytes",
    "internal.metrics.input.bytesRead": "input_bytes",
    "internal.metrics.shuffle.write.bytesWritten": "shuffle_write_bytes",
    "data sent to Python workers": "to_python_bytes",
}


@dataclass
class JobTime:
    job_id: int
    label: str
    start_ms: int
    end_ms: int
    tasks: int = 0
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return (self.end_ms - self.start_ms) / 1000

    @property
    def uses_python(self) -> bool:
        return self.metrics.get("to_python_bytes", 0) > 0


def _label(properties: dict[str, Any], stage_name: str | None) -> str:
    site = properties.get("callSite.short") or stage_name or "?"
    # "collect at /work/main/glue_jobs/process_posts/process.py:68" -> "collect at process.py:68"
    action, _, where = site.partition(" at ")
    if "/" in where:
        where = where.rsplit("/", 1)[1]
    if where.startswith("NativeMethodAccessorImpl"):
        where = "py4j"
    return f"{action} at {where}" if where else action


def read_jobs(path: Path) -> list[JobTime]:
    jobs: dict[int, JobTime] = {}
    stage_job: dict[int, int] = {}
    pending_props: dict[int, dict[str, Any]] = {}
    stage_names: dict[int, str] = {}
    with path.open() as lines:
        for line in lines:
            event = json.loads(line)
            kind = event.get("Event")
            if kind == "SparkListenerJobStart":
                job_id = event["Job ID"]
                for stage in event.get("Stage Infos", []):
                    stage_names.setdefault(stage["Stage ID"], stage.get("Stage Name", ""))
                for stage_id in event.get("Stage IDs", []):
                    stage_job[stage_id] = job_id
                pending_props[job_id] = event.get("Properties", {})
                result_stage = max(event.get("Stage IDs", [0]) or [0])  # the result stage is created last
                jobs[job_id] = JobTime(
                    job_id,
                    _label(pending_props[job_id], stage_names.get(result_stage)),
                    event["Submission Time"],
                    event["Submission Time"],
                )
            elif kind == "SparkListenerJobEnd" and event["Job ID"] in jobs:
                jobs[event["Job ID"]].end_ms = event["Completion Time"]
            elif kind == "SparkListenerStageCompleted":
                info = event["Stage Info"]
                job = jobs.get(stage_job.get(info["Stage ID"], -1))
                if job is None:
                    continue
                job.tasks += info.get("Number of Tasks", 0)
                for accumulable in info.get("Accumulables", []):
                    name = _METRICS.get(accumulable.get("Name", ""))
                    if name is not None:
                        try:
                            job.metrics[name] = job.metrics.get(name, 0) + float(accumulable.get("Value", 0))
                        except (TypeError, ValueError):
                            continue
    return sorted(jobs.values(), key=lambda j: j.start_ms)


def _union_seconds(jobs: list[JobTime]) -> float:
    total, end = 0, None
    for job in sorted(jobs, key=lambda j: j.start_ms):
        if end is None or job.start_ms > end:
            total += job.end_ms - job.start_ms
            end = job.end_ms
        elif job.end_ms > end:
            total += job.end_ms - end
            end = job.end_ms
    return total / 1000


def summarize(path: Path, job_seconds: float | None = None, top: int = 8) -> dict[str, Any]:
    """The application's jobs grouped by call site, the Python UDF's share and the driver's own time."""
    jobs = read_jobs(path)
    if not jobs:
        return {"jobs": 0}
    busy = _union_seconds(jobs)
    span = (max(j.end_ms for j in jobs) - min(j.start_ms for j in jobs)) / 1000
    groups: dict[str, dict[str, Any]] = {}
    for job in jobs:
        group = groups.setdefault(job.label, {"label": job.label, "jobs": 0, "seconds": 0.0, "tasks": 0})
        group["jobs"] += 1
        group["seconds"] += job.seconds
        group["tasks"] += job.tasks
        group["python_udf"] = group.get("python_udf", False) or job.uses_python
        for name, value in job.metrics.items():
            group[name] = group.get(name, 0) + value
    ranked = sorted(groups.values(), key=lambda g: g["seconds"], reverse=True)
    for group in ranked:
        group["seconds"] = round(group["seconds"], 2)
        group["task_cpu_s"] = round(group.pop("task_cpu_ns", 0) / 1e9, 1)
        group["task_s"] = round(group.pop("task_ms", 0) / 1000, 1)
        group["gc_s"] = round(group.pop("gc_ms", 0) / 1000, 1)
    udf_seconds = sum(j.seconds for j in jobs if j.uses_python)
    spilled = sum(j.metrics.get("spilled_disk_bytes", 0) for j in jobs)
    return {
        "jobs": len(jobs),
        "first_to_last_job_s": round(span, 2),
        "in_jobs_s": round(busy, 2),
        "between_jobs_s": round(span - busy, 2),  # driver only: planning, listing, py4j, Python
        "udf_jobs_s": round(udf_seconds, 2),
        "disk_spilled_mib": round(spilled / 2**20, 1),
        "job_seconds": job_seconds,
        "top": ranked[:top],
        "all_jobs": [asdict(j) | {"seconds": j.seconds} for j in jobs],
    }
