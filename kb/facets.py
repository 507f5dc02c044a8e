"""Matching rows → facet counts: the years they report on, the documents' types and places.

A passage counts for a year the way the ``year:`` filter lets it through (:meth:`kb.search._Version.rows_about`):
its section's year when a heading states one, else every year its document reports on. So clicking
a year whose count is *n* shows *n* passages. Types and places are the document's (:mod:`kb.docmeta`).

>>> import numpy as np
>>> rows = np.array([0, 1, 2]); fids = np.array([1, 1, 2]); row_years = np.array([2019, 0, 0])
>>> doc_years = {1: (2022, 2023), 2: (2023,)}
>>> [(v.value, v.count) for v in year_facet(rows, fids, row_years, doc_years)]
[('2023', 2), ('2022', 1), ('2019', 1)]
>>> meta = {1: "温岭市", 2: "山东省"}
>>> [(v.value, v.count) for v in value_facet(np.array([0, 1, 2]), fids, meta)]
[('温岭市', 2), ('山东省', 1)]
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from kb.models import FacetValue

LIMIT = 30  # values shown per facet


def year_facet(rows: np.ndarray, fids: np.ndarray, row_years: np.ndarray | None,
               doc_years: dict[int, tuple[int, ...]], limit: int = LIMIT) -> tuple[FacetValue, ...]:
    """Years reported on by the matching ``rows``, newest first, with passage counts."""
    if rows.size == 0:
        return ()
    counts: Counter[int] = Counter()
    own = row_years[rows] if row_years is not None else np.zeros(rows.size, np.int16)
    stated = own != 0
    years, n = np.unique(own[stated], return_counts=True)
    counts.update(dict(zip(years.tolist(), n.tolist())))
    per_doc, m = np.unique(fids[rows[~stated]], return_counts=True)
    for fid, c in zip(per_doc.tolist(), m.tolist()):
        for y in doc_years.get(fid, ()):
            counts[y] += c
    best = sorted(counts.items(), key=lambda kv: -kv[0])[:limit]
    return tuple(FacetValue(str(y), c) for y, c in best if y > 0)


def value_facet(rows: np.ndarray, fids: np.ndarray, value_of: dict[int, str],
                limit: int = LIMIT) -> tuple[FacetValue, ...]:
    """A document property (type, place) of the matching ``rows``: passage counts, the most first."""
    if rows.size == 0:
        return ()
    per_doc, n = np.unique(fids[rows], return_counts=True)
    counts: Counter[str] = Counter()
    for fid, c in zip(per_doc.tolist(), n.tolist()):
        value = value_of.get(fid, "")
        if value:
            counts[value] += c
    best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return tuple(FacetValue(v, c) for v, c in best)
