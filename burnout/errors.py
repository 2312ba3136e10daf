"""The one error type for bad input, so CLI and pages report it the same way."""
from __future__ import annotations


class InputError(ValueError):
    """Invalid user input: names the file, row and column where it can.

    ``row`` is the 1-based data row as a person sees it in a spreadsheet
    (the header is row 1, so the first data row is row 2).
    """

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None, problems: list[str] | None = None):
        self.file, self.row, self.column = file, row, column
        self.problems = problems or []
        where = ", ".join(p for p in (
            f"file {file}" if file else "",
            f"row {row}" if row is not None else "",
            f"column {column!r}" if column else "",
        ) if p)
        super().__init__(f"{where}: {message}" if where else message)
