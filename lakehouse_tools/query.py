"""What every engine of ``lakehouse sql`` answers: the columns and rows of the last statement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["QueryResult"]


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]
