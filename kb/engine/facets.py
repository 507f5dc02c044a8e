"""Matching rows → facet counts: the years they report on, the documents' types and places.

A passage counts for a year the way the ``year:`` filter lets it through (:meth:`kb.query.version._Version.rows_about`):
its section's year when a heading states one, else every year its document reports on. So clicking
a year whose count is *n* shows *n* passages. Types and places are the document's (:mod:`kb.chunk.docmeta`).

>>> import numpy as np
>>> rows = np.array([0, 1, 2]); fids = np.array([1, 1, 2]); row_years = np.array([2019, 0, 0])
>>> doc_years = {1: (2022, 2023), 2: (2023,)}
>>> [(v.value, v.count) for v in year_facet(rows, fids, row_years, doc_years)]
[('2023', 2), ('2022', 1), ('2019', 1)]
>>> meta = {1: "温岭市", 2: "山东省"}
>>> [(v.value, v.count) for v in value_facet(file_counts(rows, fids), meta)]
[('温岭市', 2), ('山东省', 1)]
"""

from __future__ import annotations

import numpy as np

from kb.models import FacetValue

LIMIT = 30  # values shown per facet


def per_file(fids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """File ids → (each id once, ascending; how often it occurs): ``np.unique(…, return_counts=True)``
    without the sort (a count per id; ids are small integers).

    >>> [a.tolist() for a in per_file(np.array([3, 1, 3, 3]))]
    [[1, 3], [1, 3]]
    """
    if fids.size == 0:
        return fids.astype(np.int64), fids.astype(np.int64)
    counts = np.bincount(fids)
    present = np.flatnonzero(counts)
    return present, counts[present]


def file_counts(rows: np.ndarray, fids: np.ndarray) -> np.ndarray:
    """Matching ``rows`` → how many of them each file id has (indexed by file id): what the document,
    type and place facets all count from, so the rows' file ids are gathered once a query.

    >>> file_counts(np.array([0, 2, 3]), np.array([1, 1, 2, 2])).tolist()
    [0, 1, 2]
    """
    return np.bincount(fids[rows]) if rows.size else np.zeros(0, np.int64)


def year_facet(rows: np.ndarray, fids: np.ndarray, row_years: np.ndarray | None,
               doc_years: dict[int, tuple[int, ...]] | FileYears, limit: int = LIMIT,
               per_file_all: np.ndarray | None = None) -> tuple[FacetValue, ...]:
    """Years reported on by the matching ``rows``, newest first, with passage counts. ``doc_years``:
    file id → years, or the same as :class:`FileYears` (made once per index version);
    ``per_file_all``: the rows' :func:`file_counts`, when already counted."""
    if rows.size == 0:
        return ()
    table = doc_years if isinstance(doc_years, FileYears) else FileYears.of(doc_years)
    own = row_years[rows] if row_years is not None else np.zeros(rows.size, np.int16)
    stated = own != 0
    counts = np.bincount(own[stated].astype(np.int64), minlength=table.span)
    if per_file_all is None:
        per_file = np.bincount(fids[rows[~stated]], minlength=table.files)[:table.files]
    else:  # the rows with no year of their own: all of them less those with one
        per_file = np.zeros(table.files, np.int64)
        k = min(table.files, per_file_all.size)
        per_file[:k] = per_file_all[:k]
        per_file -= np.bincount(fids[rows[stated]], minlength=table.files)[:table.files]
    if table.fid.size:  # each file's passages count for every year its document reports on
        counts = counts + np.bincount(table.year, weights=per_file[table.fid], minlength=counts.size).astype(np.int64)
    years = np.flatnonzero(counts)[::-1][:limit]
    return tuple(FacetValue(str(y), int(counts[y])) for y in years.tolist() if y > 0)


class FileYears:
    """File id → the years its document reports on, as two parallel arrays (one entry per file and
    year), so spreading per-file counts over years is one weighted ``bincount``.

    >>> t = FileYears.of({1: (2022, 2023), 2: (2023,)})
    >>> t.fid.tolist(), t.year.tolist(), t.files
    ([1, 1, 2], [2022, 2023, 2023], 3)
    """

    __slots__ = ("fid", "year", "files", "span")

    def __init__(self, fid: np.ndarray, year: np.ndarray, files: int) -> None:
        self.fid, self.year, self.files = fid, year, files
        self.span = int(year.max()) + 1 if year.size else 1

    @classmethod
    def of(cls, doc_years: dict[int, tuple[int, ...]]) -> FileYears:
        pairs = [(f, y) for f, ys in doc_years.items() for y in ys if y > 0]
        fid = np.array([f for f, _ in pairs], np.int64)
        year = np.array([y for _, y in pairs], np.int64)
        return cls(fid, year, max(doc_years, default=-1) + 1)


def value_facet(per_file: np.ndarray, value_of: dict[int, str] | ValueCodes,
                limit: int = LIMIT) -> tuple[FacetValue, ...]:
    """A document property (type, place) of the matching passages, given as their :func:`file_counts`:
    passage counts, the most first. ``value_of``: file id → value, or the same as :class:`ValueCodes`
    (made once per index version)."""
    if not per_file.any():
        return ()
    codes = value_of if isinstance(value_of, ValueCodes) else ValueCodes.of(value_of)
    k = min(per_file.size, codes.code.size)  # a file id past the table has no value
    counts = np.bincount(codes.code[:k], weights=per_file[:k], minlength=len(codes.labels)).astype(np.int64)
    counts[0] = 0  # no value
    present = np.flatnonzero(counts)
    best = sorted(zip(counts[present].tolist(), present.tolist()), key=lambda cv: (-cv[0], codes.labels[cv[1]]))
    return tuple(FacetValue(codes.labels[v], c) for c, v in best[:limit])


class ValueCodes:
    """File id → a document property as small integer codes, so counting a facet over 100,000 matching
    passages is one ``bincount``. Code 0 is "no value".

    >>> c = ValueCodes.of({3: "温岭市", 5: "山东省", 6: "温岭市", 7: ""})
    >>> c.labels, c.code.tolist()
    (['', '山东省', '温岭市'], [0, 0, 0, 2, 0, 1, 2, 0])
    """

    __slots__ = ("code", "labels")

    def __init__(self, code: np.ndarray, labels: list[str]) -> None:
        self.code, self.labels = code, labels

    @classmethod
    def of(cls, value_of: dict[int, str]) -> ValueCodes:
        labels = [""] + sorted({v for v in value_of.values() if v})
        number = {v: i for i, v in enumerate(labels)}
        code = np.zeros(max(value_of, default=-1) + 1, np.int64)
        for fid, value in value_of.items():
            code[fid] = number.get(value, 0)
        return cls(code, labels)
