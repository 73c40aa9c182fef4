"""One load problem: where (file, row, column) and what is wrong, in words safe to show."""

from __future__ import annotations

from dataclasses import dataclass

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True, slots=True)
class LoadProblem:
    file: str
    row: int | None  # 1-based data row (header not counted); None for file/column problems
    column: str | None
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f" column {self.column}"
        prefix = "warning: " if self.severity == WARNING else ""
        return f"{where}: {prefix}{self.message}"
