"""The one place the query path reads Whoosh's internals: a segment's ``pnum`` column and its live
documents, each in one piece.

Whoosh's public column reader gives values one Python call each (~0.7 s per open at lawtext-gov
scale, 219,000 passages); the column is a run of fixed-width numbers on disk, read here in one read.
The write side's private calls are :mod:`kb.engine.whooshio` (build code, which the query path never
imports); ``tests/test_whooshio.py`` pins both on the exactly pinned Whoosh version.
"""

from __future__ import annotations

import numpy as np


def pnum_column(sub) -> np.ndarray:
    """One Whoosh segment's ``pnum`` column as an array, read in one piece: the column is a run of
    big-endian 8-byte numbers (``NumericColumn("Q")``), one per document up to the last one written
    (the rest are the default, 0). Read value by value it took ~0.7 s per open at lawtext-gov scale.
    Any other reader (a later Whoosh) is read value by value, as before."""
    reader = sub.column_reader("pnum", translate=False)  # the numbers as stored (a COLUMN field: the same)
    count = sub.doc_count_all()
    try:
        from whoosh.columns import NumericColumn

        if type(reader) is NumericColumn.Reader and reader._fixedlen == 8 and reader._typecode == "Q":
            n = min(reader._count, count)
            values = np.zeros(count, np.uint64)
            if n:
                raw = reader._dbfile.get(reader._basepos, n * 8)
                values[:n] = np.frombuffer(raw, dtype=">u8", count=n)
            return values
    except (AttributeError, ImportError, ValueError):
        pass
    return np.fromiter(reader, dtype=np.uint64, count=count)


def alive_docs(sub) -> np.ndarray:
    """A Whoosh segment's documents not deleted, as an array: every number when it has no deletions
    (as after a full build; ``all_doc_ids()`` asks about each one, ~0.4 s for 219,100), else the
    numbers less its deleted set."""
    every = np.arange(sub.doc_count_all(), dtype=np.int64)
    if not sub.has_deletions():
        return every
    return np.setdiff1d(every, np.fromiter(sub.deleted_docs_set, dtype=np.int64), assume_unique=True)
