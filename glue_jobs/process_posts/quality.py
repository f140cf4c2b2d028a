"""The data-quality gate: rules that must hold before a run's output counts as processed.

It runs inside the job (so the local run enforces it too). A breach fails the job with a
message that names each broken rule and its numbers; the entry points publish the metrics.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

# What must never reach processed: an e-mail address left in free text (the scrubber's job).
from lakehouse.domain.patterns import EMAIL_REGEX
from lakehouse.metrics import ProcessMetric


class DataQualityError(Exception):
    def __init__(self, breaches: list[str]) -> None:
        super().__init__("data-quality gate failed: " + "; ".join(breaches))
        self.breaches = breaches


@dataclass
class ZoneCounts:
    """One table's flow through a run: every raw row ends in exactly one of the other buckets.

    ``raw`` is counted as received; quarantined, filtered and processed are read back from what
    the run wrote (see ``process._reconcile``), so a lost row unbalances it.
    """

    raw: int = 0
    quarantined: int = 0
    superseded: int = 0  # snapshots older than another of the same post (in the run, or already processed)
    filtered: int = 0
    processed: int = 0
    current_rows: int = 0  # rows of the touched months after the merge: what the write must store
    current_rows_stored: int = 0  # rows those months hold after the write, read back

    @property
    def balanced(self) -> bool:
        received = self.raw == self.processed + self.filtered + self.quarantined + self.superseded
        return received and self.current_rows == self.current_rows_stored


@dataclass
class QualityReport:
    posts: ZoneCounts = field(default_factory=ZoneCounts)
    comments: ZoneCounts = field(default_factory=ZoneCounts)
    output_rows: dict[str, int] = field(default_factory=dict)
    duplicate_ids: dict[str, int] = field(default_factory=dict)
    null_keys: dict[str, int] = field(default_factory=dict)
    out_of_range: dict[str, int] = field(default_factory=dict)
    pii_residue: dict[str, int] = field(default_factory=dict)

    def breaches(self) -> list[str]:
        found = []
        for table, counts in (("posts", self.posts), ("comments", self.comments)):
            accounted = counts.processed + counts.filtered + counts.quarantined + counts.superseded
            if counts.raw != accounted:
                found.append(
                    f"reconciliation[{table}]: raw {counts.raw} != processed {counts.processed} + filtered "
                    f"{counts.filtered} + quarantined {counts.quarantined} + superseded {counts.superseded}"
                )
            if counts.current_rows != counts.current_rows_stored:
                found.append(
                    f"rewritten_months[{table}]: {counts.current_rows_stored} of {counts.current_rows} "
                    "current rows stored after the write"
                )
        for rule, numbers in (
            ("unique_ids", self.duplicate_ids),
            ("non_null_keys", self.null_keys),
            ("value_ranges", self.out_of_range),
            ("no_pii_residue", self.pii_residue),
        ):
            for table, count in numbers.items():
                if count:
                    total = self.output_rows.get(table.split(".")[0], 0)
                    found.append(f"{rule}[{table}]: {count} of {total} output rows")
        return found

    def metrics(self) -> dict[str, int]:
        flat = {f"posts_{k}": v for k, v in asdict(self.posts).items()}
        flat |= {f"comments_{k}": v for k, v in asdict(self.comments).items()}
        flat[ProcessMetric.QUALITY_BREACHES.value] = len(self.breaches())
        return flat

    def enforce(self) -> None:
        if breaches := self.breaches():
            raise DataQualityError(breaches)


def inspect_output(report: QualityReport, table: str, df: DataFrame, key: str, text_columns: list[str]) -> None:
    """Measure one output table (the rows this run writes) into ``report`` in a single pass."""
    ranges = {
        "upvote_ratio": (F.col("upvote_ratio") < 0) | (F.col("upvote_ratio") > 1),
        "num_comments": F.col("num_comments") < 0,
        "sentiment": (F.col("sentiment") < -1) | (F.col("sentiment") > 1),
    }
    aggregates = [
        F.count(F.lit(1)).alias("rows"),
        F.countDistinct(key).alias("distinct_keys"),
        F.sum(
            F.when(F.col(key).isNull() | F.col("created_utc").isNull() | F.col("created_month").isNull(), 1).otherwise(
                0
            )
        ).alias("null_keys"),
    ]
    for column, broken in ranges.items():
        if column in df.columns:
            aggregates.append(F.sum(F.when(broken, 1).otherwise(0)).alias(f"range_{column}"))
    residue = F.lit(False)
    for column in text_columns:
        residue = residue | F.coalesce(F.col(column).rlike(EMAIL_REGEX), F.lit(False))
    aggregates.append(F.sum(F.when(residue, 1).otherwise(0)).alias("pii"))
    row = df.agg(*aggregates).collect()[0].asDict()
    report.output_rows[table] = int(row["rows"] or 0)
    report.duplicate_ids[table] = int(row["rows"] or 0) - int(row["distinct_keys"] or 0)
    report.null_keys[table] = int(row["null_keys"] or 0)
    for column in ranges:
        if f"range_{column}" in row:
            report.out_of_range[f"{table}.{column}"] = int(row[f"range_{column}"] or 0)
    report.pii_residue[table] = int(row["pii"] or 0)
