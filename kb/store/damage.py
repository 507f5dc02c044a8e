"""What reading a damaged index raises → the exception classes kb treats as damage, and a clean-up.

``_DAMAGE``: while a version opens (every file is read then, any failure is the files' fault);
``READ_DAMAGE``: on the query path, where only a failed read or a record that does not decode is.

>>> issubclass(EOFError, READ_DAMAGE[1]) and TypeError in _DAMAGE and TypeError not in READ_DAMAGE
True
"""

from __future__ import annotations

_DAMAGE = (OSError, ValueError, IndexError, KeyError, TypeError, EOFError, AttributeError, AssertionError,
           ArithmeticError, MemoryError, __import__("struct").error, __import__("zlib").error,
           __import__("pickle").UnpicklingError, __import__("whoosh.index").index.IndexError)


# what reading an index file raises when the file is damaged, whatever code reads it: a failed or short
# read, a stored structure that does not decode (Whoosh's structs, zlib and pickled fields, UTF-8, JSON).
# On the query path only these are damage at once; any other error is a bug unless the version's
# checksums say otherwise (:func:`kb.query.guard.guarded`). Opening a version (``_DAMAGE``) counts more as damage.
READ_DAMAGE = (OSError, EOFError, UnicodeDecodeError, __import__("json").JSONDecodeError, __import__("struct").error,
               __import__("zlib").error, __import__("pickle").UnpicklingError,
               __import__("whoosh.index").index.IndexError)


def _collect_leaked_files() -> None:
    """Whoosh leaves a damaged segment's file open when reading it fails: close it now, quietly (its
    ResourceWarning would otherwise surface at some later, unrelated moment)."""
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
