"""A query-path method → the same method whose failures on a damaged index are ``IndexDamagedError``.

Damage is what reading a damaged file raises (``READ_DAMAGE``: ``OSError``, a short read, a record
that does not decode), or any error while the version's checksums (:class:`kb.store.manifest.VersionCheck`,
awaited then) find its files changed. Any other error, the checksums whole, is a bug and is raised as
it is: the web app's 500 page, a test's traceback.

>>> class Reader:
...     opened = None
...     @guarded
...     def read(self):
...         raise EOFError("short read")
>>> Reader().read()
Traceback (most recent call last):
...
kb.errors.IndexDamagedError: the index could not be read (EOFError: short read): it may be damaged; run `kb check`, then `kb build`
"""

from __future__ import annotations

import functools

from kb.errors import IndexDamagedError, KbError
from kb.query.version import _Version
from kb.store.damage import READ_DAMAGE, _collect_leaked_files


def guarded(method):
    """Wrap a method of an object with an ``opened`` version (``KnowledgeBase``, ``PinnedVersion``)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except KbError:
            raise
        except READ_DAMAGE as exc:
            why = f"{type(exc).__name__}: {str(exc)[:200]}"
        except Exception as exc:
            opened = kwargs.get("at") or self.opened
            damage = checked_damage(opened) if opened is not None else []
            if not damage:
                raise
            why = f"{type(exc).__name__}: {str(exc)[:200]}; {'; '.join(damage[:3])}"
        _collect_leaked_files()  # (outside the except clause: see _Version.open)
        raise IndexDamagedError(f"the index could not be read ({why}): it may be damaged; "
                                "run `kb check`, then `kb build`")

    return wrapper


def checked_damage(opened: _Version, timeout: float = 120) -> list[str]:
    """What the version's checksums found damaged, once they are all checked (``[]``: whole)."""
    opened.check.done.wait(timeout)
    return list(opened.check.damage)
