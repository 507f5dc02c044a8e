"""A query with words the index does not hold → the query as it was probably meant: a one-character
typo or a same-sounding character corrected from the index's own vocabulary, all-Latin text read
as pinyin; the correction chosen is the one whose words passages hold together (:func:`_in_context`).
The page then says ``已显示“…”的结果`` (:attr:`kb.models.SearchResult.corrected`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from kb.text import analysis
from kb.query import understand
from kb.engine.scoring import _Scorer
from kb.engine.candidates import term_rows
from kb.query.understand import CompiledQuery, SearchOptions, Term
from kb.query.version import _Version


def respell(opened: _Version, query: CompiledQuery) -> tuple[CompiledQuery, str]:
    """Terms the index holds no trace of, corrected: a one-character typo from the vocabulary
    (``综合交通投姿`` → ``综合交通投资``), an all-Latin term as pinyin (``zhichao`` → ``治超``).
    Returns the query and, when something changed, the corrected query text to show."""
    options = query.options
    if not (options.spelling or options.pinyin):
        return query, ""
    scorer = _Scorer(opened.text)
    scorer_known = scorer.known
    fixes: dict[str, tuple[str, ...]] = {}
    shown: list[str] = []
    for group in query.groups:
        for term in group:
            if term.phrase or term.text in fixes:
                continue
            missing = [u for u in term.units if not u.alternatives and not scorer_known(u.word)
                       and not any(scorer_known(p) for p in u.parts)]
            if not missing:
                continue
            speller = opened.speller()
            if speller is None:
                return query, ""
            if term.latin and options.pinyin:
                words = tuple(speller.from_pinyin(term.text.replace(" ", "")))
                if words:
                    fixes[term.text] = words
                    shown.append(words[0])
            elif options.spelling and any(analysis.is_cjk(u.word) for u in missing):
                text = term.core or term.text
                better = _in_context(scorer, speller.candidates(text, rare=True), options) or speller.correct(text)
                if better and better != term.text:
                    fixes[term.text] = (_respaced(term.text, better),)
                    shown.append(better)
    if not fixes:
        return query, ""
    return understand.respelled(query, fixes), " ".join(shown)


def _respaced(text: str, corrected: str) -> str:
    """A correction of a term's spaceless core, given back the term's spaces (where filler words were
    dropped from a typed question), so its pieces still count on their own; as it is when its length
    differs.

    >>> _respaced("棚户区住房改照开工 套", "棚户区住房改造开工套")
    '棚户区住房改造开工 套'
    """
    if " " not in text or len(text.replace(" ", "")) != len(corrected):
        return corrected
    out, it = [], iter(corrected)
    for ch in text:
        out.append(" " if ch == " " else next(it))
    return "".join(out)


def _in_context(scorer: _Scorer, candidates: list[str], options: SearchOptions) -> str | None:
    """The correction whose words most passages hold together (``棚户区住房改照`` → ``…改造``, not the
    more frequent ``…改革``); ``None`` when no passage holds any of them whole."""
    best, best_rows = None, 0
    for text in candidates:
        term = understand.make_term(text, False, True, dataclasses.replace(options, synonyms=False))
        if term is None:
            continue
        rows = _rows_holding(scorer, term)
        if rows > best_rows:
            best, best_rows = text, rows
    return best


def _rows_holding(scorer: _Scorer, term: Term) -> int:
    """How many live passages hold every unit of ``term`` (what ``_Scorer.term(term).match`` counts):
    the rarest unit's rows, kept where each other unit's row lists hold them too."""
    units = term.units or tuple(understand.Unit(w) for w in term.needed)
    if term.phrase or not units or any(u.alternatives for u in units):  # the general way
        scoped = _Scorer(scorer.ix, term_rows(scorer.reads, [term]), scorer.reads)
        return int(np.count_nonzero(scoped.term(term).match & scoped.local(scorer.ix.live)))
    lists = [scorer.reads.word_rows(u.word) for u in units]
    lists.sort(key=lambda ls: sum(r.size for r in ls))
    rows = np.unique(np.concatenate(lists[0]))
    for other in lists[1:]:
        if not rows.size:
            break
        held = np.zeros(rows.size, bool)
        for r in other:
            if r.size:
                at = np.minimum(np.searchsorted(r, rows), r.size - 1)
                held |= r[at] == rows
        rows = rows[held]
    return int(np.count_nonzero(scorer.ix.live[rows]))
