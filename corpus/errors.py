"""The problems a user can cause with documents, one family so the edges (CLI, bot) can
catch exactly these and let real bugs keep their tracebacks."""

from __future__ import annotations


class QabotError(Exception):
    """An expected problem with a clear one-sentence message for the user."""


class UnreadableDocument(QabotError, ValueError):
    """A file that cannot be read as a document: wrong type, damaged, empty, no text."""


class DocumentRejected(QabotError, ValueError):
    """An upload that is readable but not added: too large, a duplicate, a bad name."""


class CorpusMissing(QabotError, FileNotFoundError):
    """The corpus folder does not exist."""


class UnknownDocument(QabotError, KeyError):
    """No document with that id or number."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
