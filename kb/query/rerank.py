"""The best first-pass candidates → their final order, from what only their text shows: a term found
contiguously, a figure right after a query word, query words close together (see :func:`proximity_factor` for an example).
"""

from __future__ import annotations

import numpy as np

from kb.query import understand  # noqa: F401 (the examples below use it)
from kb.engine.scoring import PROXIMITY_BONUS, RERANK, _Evaluation, _Scorer
from kb.query.understand import CompiledQuery, Term

def rank(query: CompiledQuery, found: _Evaluation, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """The best ``limit`` matching rows and their scores, best first: the first pass picks at least
    ``RERANK`` candidates, which the text itself then re-scores (contiguity, figures, proximity)."""
    rows = np.flatnonzero(found.match)  # positions in the scorer's rows
    scores = found.score[rows]
    pool = max(RERANK, limit)
    if rows.size > pool:
        best = np.argpartition(-scores, pool - 1)[:pool]
        rows, scores = rows[best], scores[best]
    terms = [t for g in query.groups for t in g]
    texts = [found.scorer.ix.text(row) for row in found.scorer.global_rows(rows).tolist()]  # read once
    scores = (scores + found.scorer.contiguity_bonus(terms, rows, texts)) * _Scorer.figure_factor(terms, texts)
    if query.options.proximity:
        scores = scores * proximity_factor(terms, texts)
    order = np.lexsort((rows, -scores))[:limit]
    return found.scorer.global_rows(rows[order]), scores[order]


MAX_POSITIONS = 64


def proximity_factor(terms: list[Term], texts: list[bytes]) -> np.ndarray:
    """1 + ``PROXIMITY_BONUS`` × (how tightly the smallest stretch of text holding one of each query word
    fits them): ``综合交通投资43.68亿元`` beats 综合 … 交通 … 投资 spread over a paragraph.

    >>> t = [understand.make_term("综合交通 投资", False)]
    >>> [round(float(f), 2) for f in proximity_factor(t, ["综合交通投资".encode(), ("综合交通" + "。" * 30 + "投资").encode()])]
    [1.3, 1.05]
    """
    words = list(dict.fromkeys(w for t in terms for w in ((t.core,) if t.phrase else t.needed) if w))
    factor = np.ones(len(texts), np.float32)
    if len(words) < 2 or not PROXIMITY_BONUS:
        return factor
    encoded = [w.encode() for w in words]
    for i, text in enumerate(texts):
        hits: list[tuple[int, int]] = []
        present = 0
        for k, w in enumerate(encoded):
            at, n = text.find(w), 0
            if at >= 0:
                present += 1
            while at >= 0 and n < MAX_POSITIONS:
                hits.append((at, k))
                at, n = text.find(w, at + 1), n + 1
        if present < 2:
            continue
        hits.sort()
        need = {k for _, k in hits}
        counts: dict[int, int] = {}
        best = None
        lo = 0
        for hi, (pos, k) in enumerate(hits):
            counts[k] = counts.get(k, 0) + 1
            while len(counts) == len(need):
                start, kk = hits[lo]
                span = pos + len(encoded[k]) - start
                best = span if best is None or span < best else best
                counts[kk] -= 1
                if not counts[kk]:
                    del counts[kk]
                lo += 1
        ideal = sum(len(encoded[k]) for k in need)
        if best:
            factor[i] += PROXIMITY_BONUS * min(1.0, ideal / best) * present / len(words)
    return factor
