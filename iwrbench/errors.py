"""Error types. A UserError is bad input: it prints one line and exits 2, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user (flags, data files). Message is one line naming file/line/field."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None):
        self.file, self.line, self.field = file, line, field
        where = ""
        if file:
            where = f"{file}:{line}: " if line else f"{file}: "
        if field:
            where += f"field '{field}': "
        super().__init__(where + message)


class InfrastructureError(Exception):
    """The harness or its environment broke (browser crash, judge API down). Never a model failure."""
