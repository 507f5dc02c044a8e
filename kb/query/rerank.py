"""The best first-pass candidates → their final order, from what only their text shows: a term found
contiguously, a figure right after a query word, query words close together (see :func:`proximity_factor` for an example).
"""

from __future__ import annotations

import re

import numpy as np

from kb.query import understand  # noqa: F401 (the examples below use it)
from kb.text import analysis
from kb.engine.scoring import PROXIMITY_BONUS, RERANK, _Evaluation
from kb.query.understand import CompiledQuery, Term


def rank(query: CompiledQuery, found: _Evaluation, limit: int,
         targets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The best ``limit`` matching rows and their scores, best first: the first pass picks at least
    ``RERANK`` candidates, which the text itself then re-scores (contiguity, figures, proximity).
    ``targets`` (per row of the version, or ``None``) marks passages whose ``达到 X`` is a plan's target."""
    rows = np.flatnonzero(found.match)  # positions in the scorer's rows
    scores = found.score[rows]
    pool = max(RERANK, limit)
    if rows.size > pool:
        best = np.argpartition(-scores, pool - 1)[:pool]
        rows, scores = rows[best], scores[best]
    terms = [t for g in query.groups for t in g]
    global_rows = found.scorer.global_rows(rows)
    texts = [_as_read(text) for text in found.scorer.ix.texts(global_rows)]  # read once, close ones together
    planned = None if targets is None else targets[global_rows]
    scores = (scores + found.scorer.contiguity_bonus(terms, rows, texts)) * figure_factor(terms, texts, planned)
    if query.options.proximity:
        scores = scores * proximity_factor(terms, texts)
    order = np.lexsort((rows, -scores))[:limit]
    return found.scorer.global_rows(rows[order]), scores[order]


def _as_read(text: bytes) -> bytes:
    """A passage's folded text as the analyzer read it: a table's spaced-out words closed up
    (:func:`kb.text.analysis.closed_up`), so that ``原 油 1.44 亿吨`` states its figure right after ``原油``,
    and the phrase and proximity checks see it.

    >>> _as_read("原 油 1.44 亿吨".encode()).decode()
    '原油 1.44 亿吨'
    """
    if b" " not in text:  # most passages: no space, nothing to close up
        return text
    return analysis.closed_up(text.decode("utf-8", "replace")).encode()


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


FIGURE_BONUS = 0.5  # a passage stating a figure right after a query word: score × 1.5
FIGURE_HEAD_BONUS = 0.25  # … right after the last part of a query compound it words apart: score × 1.25


def figure_factor(terms: list[Term], texts: list[bytes], planned: np.ndarray | None = None) -> np.ndarray:
    """1 + ``FIGURE_BONUS`` for candidates stating a figure right after a query word (``综合交通投资
    43.68亿元``, ``新增5G基站1.52万座``) or after the word and a verb of result (``货物吞吐量完成
    2.1亿吨``): the passage that answers "how much", not one that names it. Where ``planned`` marks a
    candidate (a plan's passage), ``达到 X`` is a target and the verb does not count.
    1 + ``FIGURE_HEAD_BONUS`` where the figure follows the head of a compound the passage words apart,
    holding each of its parts (``工业产值``: ``乡镇工业突飞猛进，一九八五年的产值达到二百零七亿元``).

    >>> t = [understand.make_term("吞吐量", False)]
    >>> texts = ["吞吐量完成2.1亿吨".encode(), "吞吐量增长较快".encode()]
    >>> [float(f) for f in figure_factor(t, texts)], [float(f) for f in figure_factor(t, texts, np.array([True, False]))]
    ([1.5, 1.0], [1.0, 1.0])
    >>> t = [understand.make_term("工业产值", False, expand=True)]
    >>> texts = ["工业突飞猛进，产值达到207亿元".encode(), "产值达到207亿元".encode(), "工业产值207亿元".encode()]
    >>> [float(f) for f in figure_factor(t, texts)]
    [1.25, 1.0, 1.5]
    """
    words = sorted({w for t in terms for w in (t.core, *t.needed)
                    if len(w) > 1 and not _NUMBER.fullmatch(w)}, key=len, reverse=True)
    compounds = [(u.parts[-1], u.parts) for t in terms for u in t.units if len(u.parts) > 1 and len(u.parts[-1]) > 1]
    factor = np.ones(len(texts), np.float32)
    if not words or not FIGURE_BONUS:
        return factor
    for i, text in enumerate(texts):
        read = text.decode("utf-8", "replace")
        verbs = planned is None or not planned[i]
        if _states_figure(read, words, verbs):
            factor[i] += FIGURE_BONUS
        elif any(all(p in read for p in parts) and _states_figure(read, [head], verbs) for head, parts in compounds):
            factor[i] += FIGURE_HEAD_BONUS
    return factor


_NUMBER = re.compile(r"[\d.%]+")


# a figure in Chinese numerals, as older documents write them: 四二七·四亿元, 八千亿斤, 三千六百五十亿斤
_CN_FIGURE = r"[〇零一二三四五六七八九十两][〇零一二三四五六七八九十百千·]+[万亿]?[元吨斤个项人户亩台辆座件所家公千米]"


# after a query word: at most one more letter (``为``, ``达``) or a table's spaces, then a figure: a
# digit, or Chinese numerals with a unit (compiled once: a pattern of the query's words took ~0.9 ms a query)
_FIGURE_AFTER = re.compile(r"[^\W\d]?\s*(?:\d|" + _CN_FIGURE + ")")
# the same after a verb of result: 完成2.1亿吨, 达到8.5万人, 实现四二七·四亿元, 达到了二千零五十亿元 (in a
# plan: its target)
_FIGURE_AFTER_VERB = re.compile(r"(?:达到|完成|实现)了?\s*(?:\d|" + _CN_FIGURE + ")")


def _states_figure(text: str, words: list[str], verbs: bool = True) -> bool:
    """Does a figure follow one of ``words`` somewhere in ``text`` (``verbs``: or a verb of result and a figure)?

    >>> words = ["基本建设投资", "原煤"]
    >>> [_states_figure(t, words) for t in ("基本建设投资为四二七·四亿元", "原煤 12.98 亿吨", "基本建设投资一批", "原煤产量")]
    [True, True, False, False]
    >>> _states_figure("原煤产量增长，原煤3.2亿吨", words)  # a later mention states it
    True
    >>> _states_figure("原煤达到3.2亿吨", words), _states_figure("原煤达到3.2亿吨", words, verbs=False)
    (True, False)
    >>> _states_figure("基本建设投资完成了四百二十亿元", words)  # older texts: 达到了, 完成了
    True
    """
    after, verb = _FIGURE_AFTER.match, _FIGURE_AFTER_VERB.match
    for word in words:
        at = text.find(word)
        while at >= 0:
            end = at + len(word)
            if after(text, end) or (verbs and verb(text, end)):
                return True
            at = text.find(word, at + 1)
    return False
