"""The fault table: outcomes by (fault, operation), rendered as markdown."""

from __future__ import annotations


class FaultTable:
    """Outcomes by (fault, operation); the axes are declared by the test module."""

    def __init__(self) -> None:
        self.rows: list[str] = []
        self.columns: list[str] = []
        self.cells: dict[tuple[str, str], str] = {}

    def declare(self, rows: list[str], columns: list[str]) -> None:
        self.rows, self.columns = list(rows), list(columns)

    def record(self, row: str, column: str, outcome: str) -> None:
        self.cells[(row, column)] = outcome

    @property
    def complete(self) -> bool:
        return bool(self.rows) and all((r, c) in self.cells for r in self.rows for c in self.columns)

    def markdown(self) -> str:
        head = "| fault \\ operation | " + " | ".join(self.columns) + " |"
        rule = "|---" * (len(self.columns) + 1) + "|"
        lines = [head, rule]
        for row in self.rows:
            cells = [self.cells.get((row, c), "(not run)") for c in self.columns]
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"
