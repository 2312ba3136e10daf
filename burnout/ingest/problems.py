"""Collect every problem of one file, then refuse the file once with all of them."""
from __future__ import annotations

from burnout.errors import InputError

MAX_PROBLEMS = 20          # listed in the message; ``InputError.problems`` holds all
EMPTY_BUT_REQUIRED = "empty, but a value is required"


def where(row: int | None, column: str | None) -> str:
    return ", ".join(x for x in (f"row {row}" if row else "", f"column {column!r}" if column else "") if x)


class Problems:
    """Row/column problems of one file.

    ``headers`` maps internal column names back to the file's own headers
    (a form-tool export read through a mapping), so a message names the
    column the person can find in their file."""

    def __init__(self, file: str, headers: dict[str, str] | None = None):
        self.file = file
        self.headers = headers or {}
        self.items: list[tuple[int | None, str | None, str]] = []
        self._seen: set = set()

    def __len__(self) -> int:
        return len(self.items)

    def add(self, msg: str, row: int | None = None, column: str | None = None) -> None:
        if column in self.headers and self.headers[column] != column:
            msg, column = f"{msg} (mapped to {column})", self.headers[column]
        key = (row, column, msg)
        if key not in self._seen:
            self._seen.add(key)
            self.items.append(key)

    def texts(self) -> list[str]:
        ordered = sorted(self.items, key=lambda p: (p[0] or 0, p[1] or "", p[2]))
        return [f"{where(r, c)}: {m}" if where(r, c) else m for r, c, m in ordered]

    def raise_if_any(self) -> None:
        if not self.items:
            return
        texts = self.texts()
        first = sorted(self.items, key=lambda p: (p[0] or 0, p[1] or ""))[0]
        row, column, msg = first
        more = "" if len(texts) <= 1 else (
            f" ({len(texts):,} problems in all:\n  " + "\n  ".join(texts[:MAX_PROBLEMS])
            + (f"\n  … and {len(texts) - MAX_PROBLEMS:,} more" if len(texts) > MAX_PROBLEMS else "") + ")")
        raise InputError(msg + more, file=self.file, row=row, column=column, problems=texts)
