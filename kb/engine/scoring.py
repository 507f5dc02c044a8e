"""A compiled query → which passages match and their first-pass scores (BM25F over the postings).

The per-query half of :mod:`kb.search`: the rows holding any query word (:func:`candidate_rows`) are
scored with numpy vectors (:class:`_Scorer`) by :func:`evaluate`: every term held, else (soft
matching) enough of the query's units; :mod:`kb.query.rerank` then re-scores the best of them from their text.

>>> _contains("“岭”路先锋".encode(), "岭路先锋"), _contains("岭南路".encode(), "岭路")
(True, False)
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

import numpy as np

from kb.text import analysis, ngrams
from kb.query.understand import CompiledQuery, Term, Unit
from kb.engine.textindex import TextIndex, word_key
from kb.engine.candidates import (MIN_COVER, STANDIN, _Lookups, _TermScore, _contains, _holder, _stretches,
                                  candidate_rows, conjunctive_rows, longest_run, unit_weight,
                                  uses_parts)

# --- scoring --------------------------------------------------------------------------------------

# Whole words count for more than character-pair-only matches; passage text as much as title/headings.
FIELD_BOOSTS = {"words": 1.0, "meta": 1.0, "grams": 0.35}
PHRASE_BOOST = 2.0  # a term found contiguously, or a quoted phrase
B, K1 = 0.75, 1.2  # BM25, as Whoosh's BM25F defaults
RERANK = 100  # the best first-pass candidates are re-scored with what only the text shows
STANDIN_ALL = 0.8  # … and all its parts in one passage (原煤 … 产量 for 原煤产量) cover this share of it
PROXIMITY_BONUS = 0.3  # query words side by side: score × 1.3, falling with the span they cover
# a year the query names: passages whose section reports on it, then documents reporting on it
YEAR_SECTION, YEAR_DOCUMENT, YEAR_OTHER_SECTION, YEAR_WRITTEN = 12.0, 8.0, 1.5, 1.25
YEAR_PLANNED = 5.0  # … a document that reviews the year before and plans this one (outside its sections)
# … and its sections planning the year too: targets, below the next report's review of what was done
YEAR_PLANNED_SECTION = YEAR_PLANNED
YEAR_PERIOD = 5.0  # … a document about a period holding the year (a five-year plan), outside sections about it
PLAN_DOCUMENT = YEAR_DOCUMENT  # a five-year plan the query names: its own document, as a year's report
PLACE_DOCUMENT = 3.0  # a place the query names: that place's own documents, before others mentioning it
NATIONAL_PRIOR = 1.5  # … and naming none: the country's own documents (国务院, 国家统计局) a little first


class _Scorer:
    """Per-row score and match vectors for one query over one :class:`TextIndex`, over ``rows`` (the
    query's :func:`candidate_rows`; ``None``: every row). Vectors are indexed by position in ``rows``.

    BM25F as Whoosh computes it (idf ``log(N / (df + 1)) + 1``), per family, summed with the boosts.
    """

    def __init__(self, index: TextIndex, rows: np.ndarray | None = None, lookups: _Lookups | None = None) -> None:
        self.ix = index
        self.rows = rows
        self.n = index.size if rows is None else int(rows.size)
        self.reads = lookups or _Lookups(index)
        self._positions: np.ndarray | None = None
        self.docs = max(index.live_count, 1)
        self._words: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._units: dict[tuple[Unit, bool], tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}
        self._terms: dict[tuple[Term, bool], _TermScore] = {}  # callers never change what they get

    def place(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Global ``rows`` → (positions in this scorer's vectors, which of ``rows`` are there)."""
        if self.rows is None:
            return rows, np.ones(rows.size, bool)
        if self._positions is None:  # global row → position, -1 where not one of the rows
            self._positions = np.full(self.ix.size, -1, np.int32)
            self._positions[self.rows] = np.arange(self.n, dtype=np.int32)
        at = self._positions[rows]
        ok = at >= 0
        return at[ok], ok

    def global_rows(self, positions: np.ndarray) -> np.ndarray:
        """Positions in this scorer's vectors → global rows."""
        return positions if self.rows is None else self.rows[positions]

    def local(self, dense: np.ndarray) -> np.ndarray:
        """A vector over every row → over this scorer's rows."""
        return dense if self.rows is None else dense[self.rows]

    def _bm25(self, tfs: np.ndarray, lengths: np.ndarray, avg: float, df: int) -> np.ndarray:
        idf = np.float32(math.log(self.docs / (df + 1)) + 1)
        tf = tfs.astype(np.float32, copy=False)  # float32 throughout: the score vectors are, and twice as fast
        return idf * (tf * np.float32(K1 + 1)) / (tf + np.float32(K1) * (np.float32(1 - B) + np.float32(B / avg) * lengths))

    def _pairs_weight(self, df: int) -> float:
        return FIELD_BOOSTS["grams"] * 1.2 * math.log(1 + (self.docs - df + 0.5) / (df + 0.5))

    def word(self, word: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(score, passage-text part of the score, match) of one word: as a word in the text, in the
        title or headings, or as a run of characters."""
        cached = self._words.get(word)
        if cached is not None:
            return cached
        ix = self.ix
        key = word_key(word)
        score = np.zeros(self.n, np.float32)
        match = np.zeros(self.n, bool)
        rows, tfs = self.reads.lookup("words", key)
        if rows.size:
            at, ok = self.place(rows)
            score[at] = (FIELD_BOOSTS["words"] * self._bm25(tfs, ix.word_lengths[rows], ix.avg_words, rows.size))[ok]
            match[at] = True
        content = score.copy()
        rows, tfs = self.reads.lookup("meta", key)
        if rows.size:
            at, ok = self.place(rows)
            score[at] += (FIELD_BOOSTS["meta"] * self._bm25(tfs, ix.meta_lengths[rows], ix.avg_meta, rows.size))[ok]
            match[at] = True
        if len(word) > 1 and analysis.is_cjk(word):
            for family in ("grams", "metagrams"):  # a name jieba cuts differently (鄂尔多斯 in 鄂尔多斯市)
                rows = self.reads.char_rows(word, family)
                if rows.size:
                    at, _ok = self.place(rows)
                    score[at] += self._pairs_weight(rows.size)
                    match[at] = True
        self._words[word] = (score, content, match)
        return score, content, match

    def contains(self, term: Term) -> np.ndarray:
        """Rows whose passage text holds the term contiguously (after folding)."""
        ix = self.ix
        match = np.zeros(self.n, bool)
        if not term.core:
            return match
        sure = np.empty(0, np.int64)
        candidates: list[np.ndarray] = []
        if term.words == (term.core,):  # one word: its word postings are matches as they are
            sure = self.reads.lookup("words", word_key(term.core))[0]
        if term.cjk and term.cjk == term.core and ngrams.query_keys(term.core).size == 1:
            sure = np.union1d(sure, self.reads.char_rows(term.cjk))  # one pair is the text itself
        exact = self.reads.phrase_rows(term.text)
        if exact is not None:  # every row that can hold the phrase: what the words' rows would be a subset of
            candidates = [exact]
        else:
            if term.words and term.words != (term.core,):
                rows = self.reads.lookup("words", word_key(term.words[0]))[0]
                for w in term.words[1:]:
                    rows = rows[np.isin(rows, self.reads.lookup("words", word_key(w))[0])]
                candidates.append(rows)
            if term.cjk and not (term.cjk == term.core and ngrams.query_keys(term.core).size == 1):
                candidates.append(self.reads.char_rows(term.cjk))
        match[self.place(sure)[0]] = True
        holds = _holder(term.core)
        for rows in candidates:
            at = self.place(rows)[0]  # only this scorer's rows are read
            todo = at[~match[at]]
            match[todo[ix.holding(self.global_rows(todo), holds)]] = True
        return match

    def unit(self, unit: Unit, parts: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(score, match, stand-in share) of one unit: its word, or a synonym, or (``parts``: at
        ``STANDIN`` of their score) its parts; the third is, per row, the share of the unit its parts
        cover where only parts matched (``STANDIN``, or ``STANDIN_ALL`` with all of them; 0 elsewhere;
        ``None``: no parts looked at)."""
        cached = self._units.get((unit, parts))
        if cached is not None:
            return cached
        score, _content, match = self.word(unit.word)
        stand = None
        parts = parts and uses_parts(self.reads, unit)
        if unit.alternatives or parts:
            score, match = score.copy(), match.copy()
            for alt in unit.alternatives:
                s, m = self.term(alt)[:2]
                np.maximum(score, s, out=score)
                match |= m
            if parts:
                missing = ~match
                held = np.zeros(self.n, np.int8)
                for part in unit.parts:
                    s, _c, m = self.word(part)
                    m = m & missing
                    score += np.where(m, s, np.float32(0)) * STANDIN  # vector ops: a mask's scatter is ~20× slower
                    held += m
                # the share of the word a passage holding its parts covers: more when it holds them all
                # (a communiqué's table row 原煤 10.8亿吨 under the heading 主要产品产量, for 原煤产量)
                stand = np.where(held == len(unit.parts), np.float32(STANDIN_ALL),
                                 np.where(held > 0, np.float32(STANDIN), np.float32(0)))
                match |= held > 0
        self._units[(unit, parts)] = (score, match, stand)
        return score, match, stand

    def known(self, word: str) -> bool:
        """Does the index hold the word anywhere (text, title, headings, as a run of characters)?"""
        key = word_key(word)
        if self.reads.lookup("words", key)[0].size or self.reads.lookup("meta", key)[0].size:
            return True
        return len(word) > 1 and analysis.is_cjk(word) and bool(self.reads.char_rows(word).size)

    def meta_holds(self, term: Term) -> np.ndarray:
        """Rows whose document title or section headings hold every word of the term."""
        match = np.ones(self.n, bool)
        for word in term.words:
            if len(word) == 1 and analysis.is_cjk(word) and len(term.words) > 1:
                continue
            m = np.zeros(self.n, bool)
            m[self.place(self.reads.lookup("meta", word_key(word))[0])[0]] = True
            if len(word) > 1 and analysis.is_cjk(word):
                m[self.place(self.reads.char_rows(word, "metagrams"))[0]] = True
            match &= m
        return match

    def term(self, term: Term, parts: bool = False) -> _TermScore:
        """Score and match of one alternative; ``cover`` is the share of its units a row holds (each
        weighted by its idf: a rare word missing costs more than a common one); ``parts``: the parts
        of a missing word stand in for it."""
        units = term.units or tuple(Unit(w) for w in term.needed)
        parts = parts and not term.phrase and any(uses_parts(self.reads, u) for u in units)  # else the same answer
        cached = self._terms.get((term, parts))
        if cached is None:
            cached = self._terms[(term, parts)] = self._term(term, units, parts)
        return cached

    def _term(self, term: Term, units: tuple[Unit, ...], parts: bool) -> _TermScore:
        if term.phrase:
            match = self.contains(term)
            score = PHRASE_BOOST * sum(self.word(w)[0] for w in dict.fromkeys(term.words))
            score = np.where(match, score, np.float32(0)).astype(np.float32, copy=False)
            return _TermScore(score, match, match.astype(np.float32), score)
        parts = [self.unit(u, parts) for u in units]
        match = parts[0][1].copy()
        score = parts[0][0].copy()
        for s, m, _stand in parts[1:]:
            match &= m
            score += s
        if len(term.words) > 1 and term.cjk:  # all the term's pairs in one passage: likely the term itself
            rows = self.reads.char_rows(term.cjk)
            if rows.size:
                score[self.place(rows)[0]] += PHRASE_BOOST * self._pairs_weight(rows.size)
        if len(parts) > 1:
            weights = [unit_weight(self.reads, u) for u in units]  # the same in every scorer of the query
            total = sum(weights) or 1.0
            cover = np.zeros(self.n, np.float32)
            for w, (_s, m, stand) in zip(weights, parts):
                if w:
                    cover += m * np.float32(w / total)
                    if stand is not None:  # parts standing in cover only their share
                        cover -= np.where(stand > 0, (1 - stand) * np.float32(w / total), np.float32(0))
        else:
            cover = match.astype(np.float32)
            if parts[0][2] is not None:
                cover = np.where(parts[0][2] > 0, parts[0][2], cover)
        return _TermScore(np.where(match, score, np.float32(0)).astype(np.float32, copy=False), match, cover, score)

    def contiguity_bonus(self, terms: list[Term], rows: np.ndarray, texts: list[bytes]) -> np.ndarray:
        """For the candidates ``rows`` (folded ``texts``): a multi-word term found contiguously scores its
        words' passage-text score again, ``PHRASE_BOOST`` times (what a phrase query over positions adds)."""
        bonus = np.zeros(rows.size, np.float32)
        for term in terms:
            if term.phrase or len(term.words) < 2 or not term.core:
                continue
            content = {w: self.word(w)[1][rows] for w in dict.fromkeys(term.words)}
            stretches = [(_holder(core), words) for core, words in _stretches(term)]
            for i, text in enumerate(texts):
                found = False
                for holds, words in stretches:  # the term, or each piece typed between filler words
                    if holds(text, 0, len(text)):
                        bonus[i] += PHRASE_BOOST * sum(float(content[w][i]) for w in words)
                        found = True
                if not found and len(term.words) > 2:  # else its longest run held together, by its share
                    run = longest_run(term.words, text)
                    share = len(run) / len(term.words)
                    bonus[i] += PHRASE_BOOST * share * sum(float(content[w][i]) for w in dict.fromkeys(run))
        return bonus


class _Evaluation(NamedTuple):
    match: np.ndarray  # over the scorer's rows (``scorer.global_rows`` maps back)
    score: np.ndarray
    partial: bool
    scorer: _Scorer

    def matched(self) -> np.ndarray:
        """The global rows that match."""
        return self.scorer.global_rows(np.flatnonzero(self.match))


def evaluate(index: TextIndex, query: CompiledQuery, allowed: np.ndarray | None,
             prefer: np.ndarray | None = None, every_row: bool = False,
             boost: np.ndarray | None = None) -> _Evaluation:
    """Which rows match and their first-pass scores: every group; else (soft matching) those holding
    enough of the query's units, ranked by how much; flagged partial. ``prefer``: a per-row factor for
    what the query names beside its words (a year, a plan), whose passages may word a term otherwise;
    ``boost``: a per-row factor that only reorders (the place named). Only the :func:`candidate_rows`
    are scored (``every_row``: all of them, the same answer slower)."""
    found = _evaluate(index, query, allowed, prefer, every_row)
    if boost is None:
        return found
    return found._replace(score=found.score * found.scorer.local(boost))


def _evaluate(index: TextIndex, query: CompiledQuery, allowed: np.ndarray | None,
              prefer: np.ndarray | None, every_row: bool) -> _Evaluation:
    lookups = _Lookups(index)
    options = query.options
    strict_wins = prefer is None or not options.soft  # a match of every term is then the whole answer
    if strict_wins and not every_row:
        narrow = conjunctive_rows(lookups, query)
        if narrow.size:  # the strict answer is among these rows: score them only, if it is there
            scorer = _Scorer(index, narrow, lookups)
            strict, total, _matches, _mask, _prefer = _strict(scorer, query, allowed, prefer)
            if strict.any():
                return _Evaluation(strict, total, False, scorer)
    scorer = _Scorer(index, None if every_row else candidate_rows(lookups, query), lookups)
    strict, total, matches, mask, prefer = _strict(scorer, query, allowed, prefer)
    # every term held: that is the answer, unless the query names a year or a plan, whose passages may
    # word one of the terms otherwise (a communiqué's table row under a heading): then soft matching too
    if strict.any() and strict_wins:
        return _Evaluation(strict, total, False, scorer)
    if options.soft:  # else: passages holding enough of the units (parts standing in), by how much
        _s, _m, covers, raws = _groups(scorer, query, parts=True)
        coverage = sum(covers) / len(covers)
        loose = (coverage >= MIN_COVER) & mask
        score = sum(raws) * coverage * coverage
        if prefer is not None:
            score = score * prefer
        return _Evaluation(loose | strict, score.astype(np.float32), not strict.any() and bool(loose.any()), scorer)
    if strict.any() or len(matches) < 2:
        return _Evaluation(strict, total, False, scorer)
    loose = np.logical_or.reduce(matches) & mask
    return _Evaluation(loose, total, bool(loose.any()), scorer)


def _strict(scorer: _Scorer, query: CompiledQuery, allowed: np.ndarray | None, prefer: np.ndarray | None
            ) -> tuple[np.ndarray, np.ndarray, list, np.ndarray, np.ndarray | None]:
    """Over the scorer's rows: (rows holding every group and allowed, their first-pass score, each
    group's match, the rows allowed, the preference factor) for :func:`_evaluate`."""
    index, options = scorer.ix, query.options
    mask = scorer.local(index.live).copy()
    if allowed is not None:
        mask &= scorer.local(allowed)
    if prefer is not None:
        prefer = scorer.local(prefer)
    for term in query.excluded:
        mask &= ~scorer.contains(term)
        if options.meta_exclusion:
            mask &= ~scorer.meta_holds(term)
    if prefer is not None:
        for year in query.prefer_years:  # a passage that writes the year: a little more
            written = scorer.word(str(year))[2]
            prefer = np.where(written, prefer * np.float32(YEAR_WRITTEN), prefer)
    scores, matches, _covers, _raws = _groups(scorer, query, parts=False)
    total = sum(scores) if prefer is None else sum(scores) * prefer
    return np.logical_and.reduce(matches) & mask, total, matches, mask, prefer


def _groups(scorer: _Scorer, query: CompiledQuery, parts: bool) -> tuple[list, list, list, list]:
    """Per query group: score, match, cover and raw score (an OR of its alternatives)."""
    n = scorer.n
    out: tuple[list, list, list, list] = ([], [], [], [])
    for group in query.groups:
        score = np.zeros(n, np.float32)
        match = np.zeros(n, bool)
        cover = np.zeros(n, np.float32)
        raw = np.zeros(n, np.float32)
        for term in group:
            t = scorer.term(term, parts)
            score += t.score
            match |= t.match
            np.maximum(cover, t.cover, out=cover)
            np.maximum(raw, t.raw, out=raw)
        for acc, value in zip(out, (score, match, cover, raw)):
            acc.append(value)
    return out
