"""The one exception tree of kb.

Library code raises these; the CLI turns them into ``click.ClickException`` and the web views into
400/404 pages. Nothing else should need to catch a bare ``Exception``.
"""

from __future__ import annotations


class KbError(Exception):
    """Base class of every error kb raises on purpose."""


class LoadError(KbError):
    """A corpus file could not be read as a document (binary, undecodable, empty, unreadable)."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class FileVanishedError(LoadError):
    """A corpus file listed by the walk was gone when it was read (deleted or renamed meanwhile):
    reported, but not a failure of the build."""


class FileChangedError(LoadError):
    """A corpus file changed while it was read: not indexed now, read again by the next build."""


class IndexMissingError(KbError):
    """No built index where one was expected."""


class IndexDamagedError(IndexMissingError):
    """The index version on disk is damaged (a file missing, truncated or corrupt, or ``CURRENT`` or
    the manifest unreadable). The message names what, relative to the index folder, and how to repair:
    ``kb check`` tells what is damaged, ``kb build`` rebuilds it."""


class IndexBusyError(KbError):
    """Another build holds the index lock."""


class BuildFailedError(KbError):
    """A build was refused or aborted (``--strict`` with file errors); nothing was swapped in."""


class NotFoundError(KbError):
    """An unknown document or passage id."""


class QueryError(KbError):
    """A query that cannot be answered as asked (too long); the message is for the user."""


class GoneError(NotFoundError):
    """A passage or document id of a document since removed from the corpus (HTTP 410)."""

    def __init__(self, message: str, title: str = "", date: str = "") -> None:
        super().__init__(message)
        self.title = title
        self.date = date


class BenchError(KbError):
    """A ``kb bench`` phase failed (the message carries the tail of the child's stderr)."""
