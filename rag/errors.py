"""Errors a user can fix: each names the file or input at fault and carries the fix.

Every error the library raises on purpose is a ``RagError``; its subclass says which kind of thing
is wrong, so callers can react by kind (a server answers a ``QuestionError`` with HTTP 400 and a
``ModelError`` with 503) and the command line prints ``str(error)`` without a traceback.
"""

from __future__ import annotations


class RagError(Exception):
    """A problem with the user's input, index, settings or installed models.

    ``str(error)`` is one line: what is wrong (naming the file, line or value), then "Fix: ...".
    ``problem`` and ``fix`` hold the two halves; ``fix`` is empty when there is nothing to do.
    """

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem.rstrip()
        self.fix = fix.strip()
        super().__init__(self.problem if not self.fix else f"{self.problem.rstrip('.')}. Fix: {self.fix}")


class CorpusError(RagError):
    """The articles cannot be read: a missing path, an empty folder, nothing readable."""


class IndexingError(RagError):
    """The index cannot be built, written, read or locked."""


class ModelError(RagError):
    """A model is missing, corrupt, cannot be prepared or cannot be loaded."""


class SettingsError(RagError):
    """A setting is unknown or has a value it cannot take (the message names where it was set)."""


class QuestionError(RagError):
    """A question or search request is unusable: empty, too long, or with a bad ``k`` or filter."""
