"""kb's own engine: an opened version's numpy text index → :class:`kb.engine.interface.Engine` (match, rank, count).

A thin adapter over :func:`kb.engine.scoring.evaluate` (BM25F over the postings),
:func:`kb.query.rerank.rank` (the best candidates re-scored from their text) and
:func:`kb.engine.facets.per_file`; the front door talks to it only through the interface.

>>> from types import SimpleNamespace
>>> from kb.engine.interface import Engine
>>> engine = NumpyEngine(SimpleNamespace(fids=np.array([3, 3, 5])))
>>> isinstance(engine, Engine), engine.documents(np.array([0, 1, 2])), engine.documents(np.array([1]))
(True, 2, 1)
"""

from __future__ import annotations

import numpy as np

from kb.engine import facets
from kb.engine.scoring import _Evaluation, evaluate
from kb.engine.textindex import TextIndex
from kb.query.rerank import rank
from kb.query.understand import CompiledQuery


class NumpyEngine:
    """Search one :class:`kb.engine.textindex.TextIndex` (an opened version's segments)."""

    def __init__(self, index: TextIndex) -> None:
        self.index = index

    @property
    def fids(self) -> np.ndarray:
        return self.index.fids

    def search(self, query: CompiledQuery, allowed: np.ndarray | None, prefer: np.ndarray | None = None,
               boost: np.ndarray | None = None) -> _Evaluation:
        return evaluate(self.index, query, allowed, prefer, boost=boost)

    def rank(self, query: CompiledQuery, found: _Evaluation, limit: int,
             targets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        return rank(query, found, limit, targets)

    def documents(self, rows: np.ndarray) -> int:
        return int(facets.per_file(self.fids[rows])[0].size)
