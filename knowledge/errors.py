"""The knowledge package's own exceptions."""

from __future__ import annotations


class KnowledgeError(Exception):
    """Base class for every error raised by :mod:`knowledge`."""


class ImportFileError(KnowledgeError):
    """A source file or row is malformed.

    The message always names ``file:line:field`` so staff can fix the exact cell; an
    import that raises it changes nothing in the database.
    """

    def __init__(self, path: str, line: int | None, field: str, message: str) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.reason = message
        where = f"{path}:{line if line is not None else '-'}:{field}"
        super().__init__(f"{where}: {message}")


class RecordNotFound(KnowledgeError):
    """No record has the requested key."""
