"""One exception type for every input problem, carrying where it happened."""

from __future__ import annotations


class InputError(Exception):
    """Bad user input: a file, a field, a value. The CLI prints it and exits with status 2."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        expected: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        self.expected = expected
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "")
        parts = [p for p in (where, f"field '{self.field}'" if self.field else "") if p]
        head = ", ".join(parts)
        text = f"{head}: {self.message}" if head else self.message
        if self.expected:
            text += f" (expected {self.expected})"
        return _one_line(text)


def _one_line(text: str) -> str:
    """Escape line breaks and other control characters (they can come from a user's field names
    and values): an error is always exactly one line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)
