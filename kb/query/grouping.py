"""Ranked passage rows → one entry per document: the order documents are shown in, and each one's rows.

:mod:`kb.search` ranks passages; a reader wants documents. A document's place is that of its best
passage (``ranked`` is best first, re-scored from the text); documents with no passage among the
ranked ones follow, by their best first-pass score. ``sort="date"`` puts the newest document first,
relevance breaking ties. All inputs are numpy arrays of text-index rows (``first_pass``: the
first-pass score of each ``matched`` row, aligned with it); nothing here reads the index.

>>> import numpy as np
>>> fids = np.array([7, 7, 8, 9, 8])            # row → file id
>>> ranked = np.array([1, 0, 2])                 # best first
>>> matched = np.array([0, 1, 2, 3, 4])
>>> first = np.array([0.5, 0.9, 0.4, 0.3, 0.2], np.float32)   # matched row → first-pass score
>>> document_order(ranked, matched, fids, first).tolist()
[7, 8, 9]
>>> document_order(ranked, matched, fids, first, dates={7: "2021", 8: "2024-06-07", 9: ""}).tolist()
[8, 7, 9]
>>> rows_of(8, ranked, matched, fids, first).tolist()
[2, 4]
>>> doc_hit_counts(matched, fids)
{7: 2, 8: 2, 9: 1}
"""

from __future__ import annotations

import numpy as np

MORE = 3  # passages offered under "本文还有 N 段" beside the best one


def _first_seen(values: np.ndarray) -> np.ndarray:
    """Distinct values in order of first appearance."""
    _, at = np.unique(values, return_index=True)
    return values[np.sort(at)]


def document_order(ranked: np.ndarray, matched: np.ndarray, fids: np.ndarray, first_pass: np.ndarray,
                   dates: dict[int, str] | None = None) -> np.ndarray:
    """File ids of the matching documents, in the order shown (see the module docstring)."""
    head = _first_seen(fids[ranked]) if ranked.size else np.empty(0, np.int64)
    rest = ~np.isin(fids[matched], head)
    rest_rows = matched[rest]
    if rest_rows.size:
        order = np.argsort(-first_pass[rest], kind="stable")
        tail = _first_seen(fids[rest_rows[order]])
        docs = np.concatenate([head, tail])
    else:
        docs = head
    if dates is not None and docs.size:
        # newest first; a document without a date goes last; relevance order breaks ties (stable sort)
        keys = np.array([_date_key(dates.get(int(f), "")) for f in docs.tolist()], dtype=np.int64)
        docs = docs[np.argsort(-keys, kind="stable")]
    return docs


def _date_key(date: str) -> int:
    """``2024-06-07`` → 20240607; ``2024`` → 20240000; no date → -1.

    >>> _date_key("2024-06-07"), _date_key("2024-06"), _date_key(""), _date_key("2024-6-7")
    (20240607, 20240600, -1, 20240000)
    """
    digits = date.replace("-", "")
    if len(date) >= 10 and digits[:8].isdigit():
        return int(digits[:8])
    if len(date) >= 7 and digits[:6].isdigit() and date[4] == "-" and len(date) == 7:
        return int(digits[:6]) * 100
    return int(date[:4]) * 10000 if date[:4].isdigit() else -1


def rows_of(fid: int, ranked: np.ndarray, matched: np.ndarray, fids: np.ndarray, first_pass: np.ndarray,
            limit: int = 1 + MORE) -> np.ndarray:
    """A document's matching rows, best first: its ranked rows, then the rest by first-pass score."""
    mine = ranked[fids[ranked] == fid] if ranked.size else np.empty(0, np.int64)
    if mine.size >= limit:
        return mine[:limit]
    mask = (fids[matched] == fid) & ~np.isin(matched, mine)
    others = matched[mask][np.argsort(-first_pass[mask], kind="stable")]
    return np.concatenate([mine, others])[:limit].astype(np.int64)


def doc_hit_counts(matched: np.ndarray, fids: np.ndarray) -> dict[int, int]:
    """Matching passages per file id."""
    values, counts = np.unique(fids[matched], return_counts=True)
    return {int(v): int(c) for v, c in zip(values.tolist(), counts.tolist())}


def date_order(rows: np.ndarray, fids: np.ndarray, dates: dict[int, str]) -> np.ndarray:
    """Passage rows (relevance order) re-ordered newest document first, relevance breaking ties.

    >>> date_order(np.array([0, 2, 1]), np.array([7, 8, 8]), {7: "2021", 8: "2024"}).tolist()
    [2, 1, 0]
    """
    if not rows.size:
        return rows
    keys = np.array([_date_key(dates.get(int(f), "")) for f in fids[rows].tolist()], dtype=np.int64)
    return rows[np.argsort(-keys, kind="stable")]
