"""A query string → ``SearchResult``: ranked, highlighted passages with section paths and facets.

How a query matches (see :mod:`kb.query` for the syntax):

- each term is cut into words by the same analyzer as the documents; every word must occur in the
  passage, its document title or its section headings, either as a whole word or as a run of
  characters (the ``grams`` postings), so ``七连创`` is found in ``七连创为全年``;
- a ``"phrase"`` must occur contiguously in the passage (after folding; quotes, brackets and spaces
  between its characters do not count), and so must an excluded ``-term``;
- when no passage holds every term, the best partial matches come back flagged ``partial``.

Ranking is BM25F, computed with numpy over the postings of :mod:`kb.textindex`: every matching
passage gets a first-pass score (whole words in the text, in the title/headings, character runs
below whole words); the best ``RERANK`` are then re-scored with what only their text shows: a
multi-word term found contiguously scores more, and a passage stating a figure right after a query
word (``综合交通投资43.68亿元``) is preferred to one that only names it, since "how much was …" is
what staff most often look up. Whoosh then gives the stored passages of the page shown.

:class:`KnowledgeBase` keeps one opened version (text index + one Whoosh reader shared by all
threads) and opens the new one between requests when ``kb build`` has swapped it in.

>>> kb = KnowledgeBase("index")                              # doctest: +SKIP
>>> kb.search("综合交通投资").hits[0].section_path           # doctest: +SKIP
('二、坚持高质量发展,奋力书写交通高分答卷', '(一)聚焦“两城两湖”,建设全域快速路网')
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import threading
import time
import weakref
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
from whoosh.filedb.filestore import FileStorage

from kb import analysis, ngrams
from kb.errors import GoneError, IndexDamagedError, IndexMissingError, KbError, NotFoundError, QueryError
from kb.highlight import snippet_html
from kb.store import current_version, read_manifest, verify_version
from kb.successors import read_redirects
from kb import facets, grouping
from kb.models import PLAN_TYPE, Facet, FacetValue, Hit, SearchResult
from kb import understand
from kb.query import ParsedQuery, parse_query
from kb.understand import DEFAULT, CompiledQuery, SearchOptions, Term, Unit
from kb.synonyms import plan_period
from kb.textindex import TextIndex, word_key

PAGE_SIZE = 10
MAX_PAGE = 100
FACET_LIMIT = 20


# --- compiling a query: kb.understand ------------------------------------------------------------

def compile_query(parsed: ParsedQuery, options: SearchOptions = DEFAULT) -> CompiledQuery:
    """``ParsedQuery`` → analysed terms, and the strings a hit marks (see :mod:`kb.understand`).

    >>> q = compile_query(parse_query('治超 "一超四罚" -太龙'), SearchOptions(synonyms=False))
    >>> [[t.needed for t in g] for g in q.groups], [t.core for t in q.excluded], q.marks
    ([[('治超',)], [('一超四罚',)]], ['太龙'], ('治超', '一超四罚'))
    """
    return understand.compile_query(parsed, options)


# --- scoring --------------------------------------------------------------------------------------

# Whole words count for more than character-pair-only matches; passage text as much as title/headings.
FIELD_BOOSTS = {"words": 1.0, "meta": 1.0, "grams": 0.35}
PHRASE_BOOST = 2.0  # a term found contiguously, or a quoted phrase
B, K1 = 0.75, 1.2  # BM25, as Whoosh's BM25F defaults
RERANK = 100  # the best first-pass candidates are re-scored with what only the text shows
FIGURE_BONUS = 0.5  # a passage stating a figure right after a query word: score × 1.5
STANDIN = 0.4  # a part of a missing word (总产 for 总产量) scores this share of a whole word
MIN_COVER = 0.5  # with no passage holding every term: those holding at least this share (idf-weighted)
PROXIMITY_BONUS = 0.3  # query words side by side: score × 1.3, falling with the span they cover
# a year the query names: passages whose section reports on it, then documents reporting on it
YEAR_SECTION, YEAR_DOCUMENT, YEAR_OTHER_SECTION, YEAR_WRITTEN = 12.0, 8.0, 1.5, 1.25
YEAR_PLANNED = 5.0  # … a document that reviews the year before and plans this one (outside its sections)
PLAN_DOCUMENT = YEAR_DOCUMENT  # a five-year plan the query names: its own document, as a year's report

_GAP = b"(?:" + b"|".join(re.escape(c.encode()) for c in ngrams.TRANSPARENT + "\t\n\r\u3000") + b")*"


@lru_cache(maxsize=1024)
def _loose_pattern(core: str) -> re.Pattern[bytes]:
    """``岭路先锋`` → a pattern that also finds ``“岭”路先锋`` (quotes, brackets, spaces between)."""
    return re.compile(_GAP.join(re.escape(ch.encode()) for ch in core))


def _contains(hay: bytes, core: str) -> bool:
    return core.encode() in hay or _loose_pattern(core).search(hay) is not None


def _phrase_candidates(ix: TextIndex, folded: str) -> np.ndarray | None:
    """Every row whose text can hold ``folded`` contiguously: the rows filed under each pair of adjacent
    CJK characters it holds (``None`` when it holds none, e.g. ``"G228"``).

    The pairs are taken within each run of CJK characters, so a fragment with punctuation
    (``实加大对科技创新、小微企``) or cut mid-word is looked up by what the passage surely holds; a lone
    character is left out (in the passage it may stand in a pair, filed under that pair only). Its
    jieba words are no guide: ``实`` and ``小微企`` are not words of ``落实加大对科技创新、小微企业``.
    The rows are then checked against the stored text (:func:`_contains`).
    """
    keys = ngrams.term_keys(folded)
    pairs = keys[keys >= _PAIR_MIN]  # pairs are cp1 << 21 | cp2; a lone character is its code point
    if pairs.size:
        lists = [ix.lookup("grams", int(k))[0] for k in pairs]
    else:  # one CJK character between others (``"长3.9"`` from 增长3.9%): rows holding it anywhere
        chars = sorted({ord(ch) for ch in folded if analysis.is_cjk(ch)})
        if not chars:
            return None
        lists = [_rows_with_char(ix, cp) for cp in chars]
    lists.sort(key=len)
    rows = lists[0]
    for other in lists[1:]:
        if rows.size == 0:
            break
        rows = rows[np.isin(rows, other, assume_unique=True)]
    return rows


_PAIR_MIN = np.uint64(1 << 21)
_CP_MASK = np.uint64((1 << 21) - 1)


def _rows_with_char(ix: TextIndex, cp: int) -> np.ndarray:
    """Rows whose text holds the CJK character ``cp``: filed alone, or in a pair either side of it."""
    found = []
    for seg, base in zip(ix.segments, ix.bases):
        keys, offsets, rows, _tfs = seg._postings["grams"]
        at = np.flatnonzero(((keys & _CP_MASK) == cp) | ((keys >> np.uint64(21)) == cp))
        found.extend(rows.items(int(offsets[i]), int(offsets[i + 1])).astype(np.int64) + base for i in at.tolist())
    return np.unique(np.concatenate(found)) if found else np.empty(0, np.int64)


class _TermScore(NamedTuple):
    score: np.ndarray  # where it matches, else 0
    match: np.ndarray  # rows holding every unit
    cover: np.ndarray  # share of the units a row holds (1 where it matches)
    raw: np.ndarray  # the score of the units a row does hold


class _Lookups:
    """One query's postings reads, each done once: ``lookup`` and ``char_rows`` of a :class:`TextIndex`."""

    def __init__(self, index: TextIndex) -> None:
        self.ix = index
        self._keys: dict[tuple[str, int], tuple[np.ndarray, np.ndarray | None]] = {}
        self._chars: dict[tuple[str, str], np.ndarray] = {}

    def lookup(self, family: str, key: int) -> tuple[np.ndarray, np.ndarray | None]:
        found = self._keys.get((family, key))
        if found is None:
            found = self._keys[(family, key)] = self.ix.lookup(family, key)
        return found

    def char_rows(self, word: str, family: str = "grams") -> np.ndarray:
        found = self._chars.get((word, family))
        if found is None:
            found = self._chars[(word, family)] = self.ix.char_rows(word, family)
        return found

    def word_rows(self, word: str) -> list[np.ndarray]:
        """Every row list through which ``word`` can match (what :meth:`_Scorer.word` reads)."""
        key = word_key(word)
        out = [self.lookup("words", key)[0], self.lookup("meta", key)[0]]
        if len(word) > 1 and analysis.is_cjk(word):
            out += [self.char_rows(word, "grams"), self.char_rows(word, "metagrams")]
        return out


def candidate_rows(lookups: _Lookups, query: CompiledQuery) -> np.ndarray:
    """The rows that hold anything the query searches (a word of a term, unit, synonym or part, or a
    term's characters): no other row can match or cover enough of it, so scoring looks at these only."""
    seen = np.zeros(lookups.ix.size, bool)

    def add_term(term: Term) -> None:
        if term.phrase:  # what contains() looks at: pairs within each run of CJK characters
            exact = _phrase_candidates(lookups.ix, term.text)
            if exact is not None:
                seen[exact] = True
        elif term.cjk:
            seen[lookups.char_rows(term.cjk)] = True
        for w in dict.fromkeys(term.words):
            for rows in lookups.word_rows(w):
                seen[rows] = True
        for unit in term.units:
            for w in (unit.word, *unit.parts):
                for rows in lookups.word_rows(w):
                    seen[rows] = True
            for alt in unit.alternatives:
                add_term(alt)

    for group in query.groups:
        for term in group:
            add_term(term)
    return np.flatnonzero(seen)


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
        idf = math.log(self.docs / (df + 1)) + 1
        return idf * (tfs * (K1 + 1)) / (tfs + K1 * ((1 - B) + B * lengths / avg))

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
        elif term.words:
            rows = self.reads.lookup("words", word_key(term.words[0]))[0]
            for w in term.words[1:]:
                rows = rows[np.isin(rows, self.reads.lookup("words", word_key(w))[0])]
            candidates.append(rows)
        if term.cjk:
            pairs = self.reads.char_rows(term.cjk)
            if term.cjk == term.core and ngrams.term_keys(term.core).size == 1:
                sure = np.union1d(sure, pairs)  # one pair is the text itself
            else:
                candidates.append(pairs)
        exact = _phrase_candidates(ix, term.text)
        if exact is not None:  # every row that can hold the phrase; the word rows above are a subset
            candidates = [exact]
        match[self.place(sure)[0]] = True
        for rows in candidates:
            at = self.place(rows)[0]  # only this scorer's rows are read
            todo = at[~match[at]]
            for pos, row in zip(todo.tolist(), self.global_rows(todo).tolist()):
                if _contains(ix.text(row), term.core):
                    match[pos] = True
        return match

    def unit(self, unit: Unit, parts: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(score, match, stand-in rows) of one unit: its word, or a synonym, or (``parts``: at ``STANDIN``
        of their score) its parts; the third is the rows only a part matched (``None``: none)."""
        cached = self._units.get((unit, parts))
        if cached is not None:
            return cached
        score, _content, match = self.word(unit.word)
        stand = None
        if unit.alternatives or (parts and unit.parts):
            score, match = score.copy(), match.copy()
            for alt in unit.alternatives:
                s, m = self.term(alt)[:2]
                np.maximum(score, s, out=score)
                match |= m
            if parts and unit.parts:
                missing = ~match
                stand = np.zeros(self.n, bool)
                for part in unit.parts:
                    s, _c, m = self.word(part)
                    m = m & missing
                    score[m] += STANDIN * s[m]
                    stand |= m
                match |= stand
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
        if term.phrase:
            match = self.contains(term)
            score = PHRASE_BOOST * sum(self.word(w)[0] for w in dict.fromkeys(term.words))
            score = np.where(match, score, 0).astype(np.float32)
            return _TermScore(score, match, match.astype(np.float32), score)
        units = term.units or tuple(Unit(w) for w in term.needed)
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
            # a unit no passage holds counts as the rarest: missing it is missing most of the question
            weights = [math.log(1 + self.docs / (int(np.count_nonzero(m)) + 1)) for _s, m, _stand in parts]
            total = sum(weights) or 1.0
            cover = np.zeros(self.n, np.float32)
            for w, (_s, m, stand) in zip(weights, parts):
                if w:
                    cover[m] += np.float32(w / total)
                    if stand is not None:  # a part standing in covers only its share
                        cover[stand] -= np.float32((1 - STANDIN) * w / total)
        else:
            cover = match.astype(np.float32)
            if parts[0][2] is not None:
                cover[parts[0][2]] = STANDIN
        return _TermScore(np.where(match, score, 0).astype(np.float32), match, cover, score)

    def contiguity_bonus(self, terms: list[Term], rows: np.ndarray, texts: list[bytes]) -> np.ndarray:
        """For the candidates ``rows`` (folded ``texts``): a multi-word term found contiguously scores its
        words' passage-text score again, ``PHRASE_BOOST`` times (what a phrase query over positions adds)."""
        bonus = np.zeros(rows.size, np.float32)
        for term in terms:
            if term.phrase or len(term.words) < 2 or not term.core:
                continue
            content = sum(self.word(w)[1][rows] for w in dict.fromkeys(term.words))
            for i, text in enumerate(texts):
                if content[i] and _contains(text, term.core):
                    bonus[i] += PHRASE_BOOST * content[i]
        return bonus

    @staticmethod
    def figure_factor(terms: list[Term], texts: list[bytes]) -> np.ndarray:
        """1 + ``FIGURE_BONUS`` for candidates stating a figure right after a query word (``综合交通投资
        43.68亿元``, ``新增5G基站1.52万座``): the passage that answers "how much", not one that names it."""
        words = sorted({w for t in terms for w in (t.core, *t.needed)
                        if len(w) > 1 and not _NUMBER.fullmatch(w)}, key=len, reverse=True)
        factor = np.ones(len(texts), np.float32)
        if not words or not FIGURE_BONUS:
            return factor
        pattern = _figure_pattern(tuple(words))
        for i, text in enumerate(texts):
            if pattern.search(text.decode("utf-8", "replace")):
                factor[i] += FIGURE_BONUS
        return factor


_NUMBER = re.compile(r"[\d.%]+")


@lru_cache(maxsize=256)
def _figure_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """A query word, at most one more letter (``为``, ``达``), then a digit."""
    return re.compile("(?:" + "|".join(map(re.escape, words)) + r")[^\W\d]?\d")


class _Evaluation(NamedTuple):
    match: np.ndarray  # over the scorer's rows (``scorer.global_rows`` maps back)
    score: np.ndarray
    partial: bool
    scorer: _Scorer

    def matched(self) -> np.ndarray:
        """The global rows that match."""
        return self.scorer.global_rows(np.flatnonzero(self.match))


def evaluate(index: TextIndex, query: CompiledQuery, allowed: np.ndarray | None,
             prefer: np.ndarray | None = None, every_row: bool = False) -> _Evaluation:
    """Which rows match and their first-pass scores: every group; else (soft matching) those holding
    enough of the query's units, ranked by how much; flagged partial. ``prefer``: a per-row factor.
    Only the :func:`candidate_rows` are scored (``every_row``: all of them, the same answer slower)."""
    lookups = _Lookups(index)
    scorer = _Scorer(index, None if every_row else candidate_rows(lookups, query), lookups)
    options = query.options
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
    scores, matches, covers, raws = _groups(scorer, query, parts=False)
    total = sum(scores) if prefer is None else sum(scores) * prefer
    strict = np.logical_and.reduce(matches) & mask
    # every term held: that is the answer, unless the query names a year or a plan, whose passages may
    # word one of the terms otherwise (a communiqué's table row under a heading): then soft matching too
    if strict.any() and (prefer is None or not options.soft):
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


class _Version:
    """One index version, opened: Whoosh (stored passages), the text index, the manifest."""

    def __init__(self, path: Path, manifest: dict, reader, text: TextIndex, docnums: np.ndarray) -> None:
        self.path, self.manifest, self.reader, self.text = path, manifest, reader, text
        self._reader_lock = threading.Lock()  # a Whoosh reader seeks and reads: one thread at a time
        weakref.finalize(self, reader.close)  # when the last request using this version is done
        self._docnums = docnums  # text-index row → Whoosh docnum
        files = [rec for rec in manifest.get("files", {}).values() if rec.get("fid") and rec.get("doc_id")]
        self.doc_by_fid = {rec["fid"]: rec["doc_id"] for rec in files}
        self.fid_by_doc = {rec["doc_id"]: rec["fid"] for rec in files}
        self._year_fids: dict[int, list[int]] | None = None
        self._year_factors: dict[tuple[int, ...], np.ndarray] = {}  # read-only once made
        self._speller = False  # not built yet
        self._speller_lock = threading.Lock()

    @classmethod
    def open(cls, path: Path) -> _Version:
        """Open a version, its file sizes checked against the manifest first (a few stats: a truncated
        file is damage, never a different answer); anything unreadable is ``IndexDamagedError``."""
        manifest = read_manifest(path)
        damage = verify_version(path, {**manifest, "checksums": {
            rel: entry for rel, entry in (manifest.get("checksums") or {}).items() if not rel.startswith("docs/")}})
        if damage:  # (documents' JSON files are checked when read)
            raise IndexDamagedError(f"index version damaged: {'; '.join(damage[:3])}: run `kb check`, then `kb build`")
        import warnings

        with warnings.catch_warnings():  # Whoosh leaves a damaged segment's file open when it fails
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                return cls._open(path, manifest)
            except KbError:
                raise
            except _DAMAGE as exc:
                why = f"{type(exc).__name__}: {str(exc)[:200]}"
            # the traceback holding those files is gone here: close them now, quietly
            _collect_leaked_files()
        raise IndexDamagedError(f"index version {path.name} is damaged: it cannot be opened ({why}); "
                                "run `kb check`, then `kb build`")

    @classmethod
    def _open(cls, path: Path, manifest: dict) -> _Version:
        files = manifest.get("files", {}).values()
        live = {rec["fid"] for rec in files if rec.get("fid") and rec.get("doc_id")}
        text = TextIndex(path, manifest.get("segments", []), live)
        # plain reads, not mmap: the pages a mapping touches count as the server's memory, and with
        # a reader per thread every segment was mapped once per thread (~100 MB each at scale)
        reader = FileStorage(str(path), supports_mmap=False, readonly=True).open_index().reader()
        # Whoosh numbers documents by segment; rows are joined to them through the pnum column
        pnums, docnums = [], []
        for sub, offset in reader.leaf_readers():
            column = np.fromiter(sub.column_reader("pnum"), dtype=np.uint64, count=sub.doc_count_all())
            alive = np.fromiter(sub.all_doc_ids(), dtype=np.int64)
            pnums.append(column[alive])
            docnums.append(alive + offset)
        pnums_all = np.concatenate(pnums) if pnums else np.empty(0, np.uint64)
        docnums_all = np.concatenate(docnums) if docnums else np.empty(0, np.int64)
        order = np.argsort(pnums_all, kind="stable")
        pnums_sorted, docnums_sorted = pnums_all[order], docnums_all[order]
        at = np.minimum(np.searchsorted(pnums_sorted, text.pnums), max(pnums_sorted.size - 1, 0))
        found = pnums_sorted[at] == text.pnums if pnums_sorted.size else np.zeros(text.size, bool)
        text.live &= found  # a row Whoosh does not hold cannot be shown
        text.live_count = int(text.live.sum())
        return cls(path, manifest, reader, text, np.where(found, docnums_sorted[at] if pnums_sorted.size else 0, -1))

    def stored(self, row: int) -> dict:
        """The stored Whoosh fields of a row's passage."""
        with self._reader_lock:
            return self.reader.stored_fields(int(self._docnums[row]))

    def allowed(self, doc_ids: tuple[str, ...], years: tuple[int, int] | None,
                dates: tuple[int, int] | None = None, types: tuple[str, ...] = (),
                places: tuple[str, ...] = ()) -> np.ndarray | None:
        """Rows the ``doc:``, ``year:`` (reported on) and ``date:`` (published) filters let through,
        and the type and place facets."""
        if not doc_ids and years is None and dates is None and not types and not places:
            return None
        fids = set(self.fid_by_doc.values())
        if doc_ids:
            fids &= {self.fid_by_doc[d] for d in doc_ids if d in self.fid_by_doc}
        docs = self.manifest.get("docs", {})
        if types:
            fids = {f for f in fids if docs.get(self.doc_by_fid[f], {}).get("type", "") in types}
        if places:
            fids = {f for f in fids if docs.get(self.doc_by_fid[f], {}).get("place", "") in places}
        if dates is not None:
            lo, hi = dates
            fids = {f for f in fids if lo <= _year(docs.get(self.doc_by_fid[f], {}).get("date", "")) <= hi}
        ok = np.isin(self.text.fids, np.fromiter(fids, dtype=np.int64, count=len(fids)))
        if years is not None:
            lo, hi = years
            about = np.zeros(self.text.size, bool)
            for y in range(lo, min(hi, lo + 200) + 1):
                about |= self.rows_about(y)
            ok &= about
        return ok

    def doc_years(self, doc_id: str) -> tuple[int, ...]:
        """The years a document reports on (older indexes: its date's year and the one before)."""
        d = self.manifest.get("docs", {}).get(doc_id, {})
        if "years" in d:
            return tuple(d["years"])
        y = _year(d.get("date", ""))
        return (y - 1, y) if y > 0 else ()

    def _fids_reporting(self, year: int, only: bool = False, planned: bool = False) -> np.ndarray:
        """Files of documents reporting on ``year`` (``only``: on that year alone; ``planned``: as the
        second of two years, the year a work report plans after reviewing the one before)."""
        cache = self._year_fids
        if cache is None:
            cache = self._year_fids = {}
            for fid, doc_id in self.doc_by_fid.items():
                years = self.doc_years(doc_id)
                for y in years:
                    cache.setdefault((y, ""), []).append(fid)
                if len(years) == 1:
                    cache.setdefault((years[0], "only"), []).append(fid)
                if len(years) == 2 and years[1] == years[0] + 1:
                    cache.setdefault((years[1], "planned"), []).append(fid)
        kind = "only" if only else "planned" if planned else ""
        return np.array(sorted(cache.get((year, kind), ())), dtype=np.int64)

    def rows_about(self, year: int) -> np.ndarray:
        """Rows about ``year``: their section says so, or (no section year) their document reports on it."""
        in_doc = np.isin(self.text.fids, self._fids_reporting(year))
        row_years = self.row_years
        if row_years is None:
            return in_doc
        return (row_years == year) | ((row_years == 0) & in_doc)

    @property
    def row_years(self) -> np.ndarray | None:
        years = getattr(self.text, "row_years", None)
        return years if years is not None and years.any() else None

    def year_preference(self, years: tuple[int, ...]) -> np.ndarray | None:
        """Per-row score factor for a query naming ``years``: ``YEAR_SECTION`` where the passage's section
        reports on one, ``YEAR_DOCUMENT`` where its document does (``YEAR_OTHER_SECTION`` if the passage's
        own section is about another year), 1 elsewhere."""
        if not years:
            return None
        key = tuple(sorted(years[:4]))
        cached = self._year_factors.get(key)
        if cached is None:
            if len(self._year_factors) > 64:
                self._year_factors.clear()
            cached = self._year_factors[key] = self._year_factor(key)
        return cached

    def plan_preference(self, plans: tuple[int, ...]) -> np.ndarray | None:
        """Per-row factor for a query naming five-year plans: ``PLAN_DOCUMENT`` in the plan documents
        themselves (type 规划纲要, reporting on every year of the plan's period), 1 elsewhere; ``None``
        when no such document is indexed: ``十一五`` → the 第十一个五年规划纲要 (2006–2010), before the
        work reports that mention it."""
        fids: list[int] = []
        docs = self.manifest.get("docs", {})
        for n in plans[:4]:
            lo, hi = plan_period(n)
            for fid, doc_id in self.doc_by_fid.items():
                d = docs.get(doc_id, {})
                years = set(d.get("years") or ())
                if d.get("type") == PLAN_TYPE and all(y in years for y in range(lo, hi + 1)):
                    fids.append(fid)
        if not fids:
            return None
        in_plan = np.isin(self.text.fids, np.array(sorted(set(fids)), dtype=np.int64))
        return np.where(in_plan, np.float32(PLAN_DOCUMENT), np.float32(1.0))

    def _year_factor(self, years: tuple[int, ...]) -> np.ndarray:
        factor = np.ones(self.text.size, np.float32)
        row_years = self.row_years
        for y in years:
            in_doc = np.isin(self.text.fids, self._fids_reporting(y))
            f = np.where(in_doc, np.float32(YEAR_DOCUMENT), np.float32(1.0))
            # a work report dated 2007 reviews 2006 and plans 2007: for 2007's figures, the 2008 report
            f[np.isin(self.text.fids, self._fids_reporting(y, planned=True))] = YEAR_PLANNED
            # a document about that one year (a communiqué, a year's summary) is about it throughout
            f[np.isin(self.text.fids, self._fids_reporting(y, only=True))] = YEAR_SECTION
            if row_years is not None:
                f = np.where(row_years == y, np.float32(YEAR_SECTION),
                             np.where((row_years != 0) & in_doc, np.float32(YEAR_OTHER_SECTION), f))
            np.maximum(factor, f, out=factor)
        return factor

    def speller(self):
        """The spelling corrector over this version's vocabulary (``None`` where the index has none)."""
        with self._speller_lock:
            if self._speller is False:
                self._speller = None
                try:
                    from kb.spell import Speller
                    vocabulary = self.text.vocabulary()
                    if vocabulary:
                        self._speller = Speller(vocabulary)
                except (ImportError, AttributeError, OSError):
                    self._speller = None
            return self._speller

    def facets(self, rows: np.ndarray) -> tuple[Facet, ...]:
        """Matching passages per document, the most first."""
        if rows.size == 0:
            return ()
        values, counts = np.unique(self.text.fids[rows], return_counts=True)
        order = np.argsort(-counts, kind="stable")[:FACET_LIMIT]
        docs = self.manifest.get("docs", {})
        out = []
        for i in order:
            doc_id = self.doc_by_fid.get(int(values[i]))
            if doc_id is not None:
                out.append(Facet(doc_id, docs.get(doc_id, {}).get("title", doc_id), int(counts[i])))
        return tuple(out)

    def doc_meta(self, key: str) -> dict[int, str]:
        """File id → a document field (``type``, ``place``, ``date``), for facets and sorting."""
        cache = self.__dict__.setdefault("_doc_meta", {})  # read-only once made, like _year_factors
        if key not in cache:
            docs = self.manifest.get("docs", {})
            if key == "years":
                cache[key] = {fid: self.doc_years(doc_id) for fid, doc_id in self.doc_by_fid.items()}
            else:
                cache[key] = {fid: docs.get(doc_id, {}).get(key, "") for fid, doc_id in self.doc_by_fid.items()}
        return cache[key]

    def value_facets(self, rows: np.ndarray) -> tuple[tuple[FacetValue, ...], ...]:
        """Year (reported on), type and place facets of the matching rows (:mod:`kb.facets`)."""
        doc_years = self.doc_meta("years")
        return (facets.year_facet(rows, self.text.fids, self.row_years, doc_years),
                facets.value_facet(rows, self.text.fids, self.doc_meta("type")),
                facets.value_facet(rows, self.text.fids, self.doc_meta("place")))


# what reading damaged index files raises (numpy, Whoosh's structs and zlib, JSON, short reads)
_DAMAGE = (OSError, ValueError, IndexError, KeyError, TypeError, EOFError, AttributeError, AssertionError,
           ArithmeticError, MemoryError, __import__("struct").error, __import__("zlib").error,
           __import__("pickle").UnpicklingError, __import__("whoosh.index").index.IndexError)


def _collect_leaked_files() -> None:
    """Whoosh leaves a damaged segment's file open when reading it fails: close it now, quietly (its
    ResourceWarning would otherwise surface at some later, unrelated moment)."""
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def _guarded(method):
    """A KnowledgeBase method whose index reads fail on damage as ``IndexDamagedError``, not a traceback."""
    import functools

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except KbError:
            raise
        except _DAMAGE as exc:
            why = f"{type(exc).__name__}: {str(exc)[:200]}"
        _collect_leaked_files()  # (outside the except clause: see _Version.open)
        raise IndexDamagedError(f"the index could not be read ({why}): it may be damaged; "
                                "run `kb check`, then `kb build`")

    return wrapper


def _year(date: str) -> int:
    return int(date[:4]) if date[:4].isdigit() else -1


def _shown_path(path: str) -> str:
    """A failed file as the status page names it: its folder and name, not the machine's whole path.

    >>> _shown_path("/srv/kb/corpus/reports/bad.docx")
    'reports/bad.docx'
    """
    p = Path(path)
    return f"{p.parent.name}/{p.name}" if p.parent.name else p.name


class KnowledgeBase:
    """An opened index: search, documents, tables of contents, passages."""

    def __init__(self, index_dir: str | Path, options: SearchOptions = DEFAULT) -> None:
        self.index_dir = Path(index_dir)
        self.options = options
        self._lock = threading.Lock()
        self._version: Path | None = None
        self._open: _Version | None = None
        self._manifest: dict = {}
        self._checked = 0.0
        self._failed: tuple[Path | None, float, str] = (None, 0.0, "")  # a version that would not open
        self._refresh(force=True)

    # --- versions -------------------------------------------------------------------------------
    def _refresh(self, force: bool = False) -> None:
        """Open the version ``CURRENT`` names, if it is not the one open (checked at most twice a second)."""
        now = time.monotonic()
        if not force and now - self._checked < 0.5:
            return
        self._checked = now
        try:
            version = current_version(self.index_dir)
        except IndexMissingError:
            if self._open is not None:  # CURRENT damaged or gone: keep serving the version open
                return
            raise
        if version == self._version and not force:
            return
        failed, when, why = self._failed
        if version == failed and self._open is not None and now - when < 30:
            return  # a damaged new version is retried every 30 s, not twice a second
        with self._lock:
            if version == self._version and not force:
                return
            try:
                opened = _Version.open(version)
            except IndexDamagedError as exc:
                self._failed = (version, now, str(exc))
                if self._open is None:
                    raise
                import sys  # the last good version stays served; the server's log says why

                if failed != version or why != str(exc):
                    print(f"kb: not switching to {version.name}: {exc}; still serving {self.version}", file=sys.stderr)
                return
            self._open, self._manifest, self._version = opened, opened.manifest, version

    def _current(self) -> _Version:
        """The open version, after moving to a new one if ``kb build`` swapped it in."""
        self._refresh()
        opened = self._open
        assert opened is not None
        return opened

    @property
    def version(self) -> str:
        """The name of the version searches use now: read from the one opened object, so it can never
        name another version than a search started at the same moment (``_open`` and ``_version`` are
        assigned one after the other, and another thread could search in between)."""
        opened = self._open
        return opened.path.name if opened is not None else ""

    # --- search ---------------------------------------------------------------------------------
    @_guarded
    def search(self, q: str, page: int = 1, doc: str | None = None, page_size: int = PAGE_SIZE,
               options: SearchOptions | None = None, exact: bool = False, *, group: bool = False,
               sort: str = "relevance", years: tuple[int, int] | None = None, types: tuple[str, ...] = (),
               places: tuple[str, ...] = ()) -> SearchResult:
        """Answer one query; never raises for odd input except ``QueryError`` for over-long text.

        ``exact``: search the words as typed (no spelling or pinyin correction): the page's link
        "search the original" after a correction. ``group``: one hit per document, its best passage,
        with ``doc_hits`` and ``more`` (:mod:`kb.grouping`). ``sort="date"``: newest document first.
        ``years``, ``types``, ``places``: facet filters given beside the query (``years`` as ``year:``)."""
        started = time.perf_counter()
        page = max(1, min(int(page or 1), MAX_PAGE))
        raw = q or ""
        options = options or self.options
        if exact:
            options = dataclasses.replace(options, spelling=False, pinyin=False)
        parsed = parse_query(raw)
        if doc:  # a filter given beside the query, never pasted into it
            parsed = dataclasses.replace(parsed, doc_ids=(doc,))
        if years is not None:
            parsed = dataclasses.replace(parsed, years=years)
        query = compile_query(parsed, options)
        if not query.groups:
            notice = parsed.notice
            if parsed.groups:
                notice = (f"“{raw.strip()[:40]}”只有提问用语，没有要查的内容。请写出要查的事项，例如“综合交通投资"
                          f"完成多少”。 / Only question words: add what to look up.")
            return SearchResult(query=raw, total=0, took_ms=_ms(started), page=page, page_size=page_size,
                                notice=notice)
        opened = self._current()  # this request's version, whatever a build swaps in meanwhile
        query, corrected = _respell(opened, query)
        found = evaluate(opened.text, query, opened.allowed(query.doc_ids, query.years, query.dates, types, places),
                         _preference(opened, query))
        matched = found.matched()
        first_pass = found.score[found.match]  # aligned with matched
        counts = grouping.doc_hit_counts(matched, opened.text.fids) if group else {}
        shown = len(counts) if group else int(matched.size)
        page = max(1, min(page, -(-shown // page_size) or 1))  # past the last page: the last page
        first = (page - 1) * page_size
        marks = list(query.marks)
        by_date = opened.doc_meta("date") if sort == "date" else None
        if group:
            rows, scores = rank(query, found, max(page * page_size * 3, RERANK))
            score_of = dict(zip(matched.tolist(), first_pass.tolist()))
            score_of.update(zip(rows.tolist(), scores.tolist()))
            order = grouping.document_order(rows, matched, opened.text.fids, first_pass, dates=by_date)
            hits = []
            for rank_no, fid in enumerate(order[first:first + page_size].tolist(), start=first + 1):
                best, *rest = grouping.rows_of(fid, rows, matched, opened.text.fids, first_pass).tolist()
                more = tuple(_hit(opened, r, score_of.get(r, 0.0), 0, marks) for r in rest)
                hits.append(dataclasses.replace(_hit(opened, best, score_of.get(best, 0.0), rank_no, marks),
                                                doc_hits=counts.get(fid, 1), more=more))
        else:
            if by_date is not None:
                by_score = np.argsort(-first_pass, kind="stable")
                rows = grouping.date_order(matched[by_score], opened.text.fids, by_date)[:page * page_size]
                score_of = dict(zip(matched.tolist(), first_pass.tolist()))
                scores = np.array([score_of[r] for r in rows.tolist()], np.float32)
            else:
                rows, scores = rank(query, found, page * page_size)
            hits = [_hit(opened, row, score, rank_no, marks) for rank_no, (row, score)
                    in enumerate(zip(rows[first:].tolist(), scores[first:].tolist()), start=first + 1)]
        year_facet, type_facet, place_facet = opened.value_facets(matched)
        notice = parsed.notice
        if parsed.groups and len(parsed.groups) == 1 and not query.prefer_years and \
                all(understand.year_mentions(analysis.fold(a.text))[0] for a in parsed.groups[0]):
            notice = notice or (f"只输入了年份：显示写到 {raw.strip()[:20]} 的段落。加上要查的事项更准，例如“{raw.strip()[:20]}"
                                f" 综合交通投资”。 / Only a year: add what to look up.")
        return SearchResult(query=raw, total=int(matched.size), took_ms=_ms(started), page=page,
                            page_size=page_size, hits=tuple(hits), partial=found.partial,
                            facets=opened.facets(matched), notice=notice, terms=query.marks,
                            corrected=corrected, also=query.also, grouped=group,
                            documents=len(counts) if group else len(np.unique(opened.text.fids[matched])),
                            years=year_facet, types=type_facet, places=place_facet,
                            sort="date" if by_date is not None else "relevance")

    # --- documents ------------------------------------------------------------------------------
    @_guarded
    def docs(self) -> list[dict]:
        self._refresh()
        docs = self._manifest.get("docs", {}).values()
        return sorted(({**{k: d[k] for k in ("doc_id", "title", "date", "source", "path", "passages")},
                        "place": d.get("place", ""), "type": d.get("type", ""), "years": d.get("years", [])}
                       for d in docs),
                      key=lambda d: (d["title"], d["doc_id"]))

    @_guarded
    def document(self, doc_id: str) -> dict:
        """The stored document: metadata, body, sections, passages (``NotFoundError`` if unknown)."""
        self._refresh()
        if doc_id not in self._manifest.get("docs", {}):
            gone = _load_redirects(str(self._version))["gone"].get(doc_id)
            if gone is not None:
                raise GoneError(f"document {doc_id!r} was removed", gone.get("title", ""), gone.get("date", ""))
            raise NotFoundError(f"no document with id {doc_id!r}")
        return _load_doc_json(str(self._version), doc_id)

    def status(self) -> dict:
        """The served version: its name, when it was built, document and passage counts, failed files."""
        self._refresh()
        m = self._manifest
        docs = m.get("docs", {})
        return {"version": self.version, "built": m.get("created", ""), "documents": len(docs),
                "passages": sum(d.get("passages", 0) for d in docs.values()),
                "failed": [{"path": _shown_path(e.get("path", "")), "reason": e.get("reason", "")}
                           for e in m.get("errors", [])]}

    def original(self, doc_id: str) -> Path:
        """The file a document was read from, as the manifest records it (never a path from a request).

        ``NotFoundError`` for an unknown id, or when the file is gone or changed since the build
        (what would be served is then no longer what was indexed).
        """
        self._refresh()
        if doc_id not in self._manifest.get("docs", {}):
            raise NotFoundError(f"no document with id {doc_id!r}")
        for key, rec in self._manifest.get("files", {}).items():
            if rec.get("doc_id") != doc_id:
                continue
            path = Path(key)
            try:
                st = path.stat()
            except OSError:
                break
            if path.is_file() and st.st_size == rec.get("size"):
                return path
            break
        raise NotFoundError(f"the original file of {doc_id!r} is no longer where it was indexed from")

    @_guarded
    def toc(self, doc_id: str) -> dict:
        data = self.document(doc_id)
        d = data["document"]
        return {"doc_id": d["doc_id"], "title": d["title"], "date": d["date"], "source": d["source"],
                "preface": data["preface"], "sections": [_toc_entry(s) for s in data["sections"]]}

    def resolve(self, passage_id: str) -> tuple[dict, bool]:
        """The passage a permalink names, and whether it is a successor: after an edit changed the
        passage (and so its id), the passage that took its place (:mod:`kb.successors`).
        ``GoneError`` when its document was removed, ``NotFoundError`` when the id was never known."""
        try:
            return self.passage(passage_id), False
        except GoneError:
            raise
        except NotFoundError:
            redirects = _load_redirects(str(self._version))
            successor = redirects["passages"].get(passage_id)
            if successor is None:
                raise
        return self.passage(successor), True

    @_guarded
    def passage(self, passage_id: str) -> dict:
        doc_id, _, _key = passage_id.rpartition(".")
        if not doc_id:
            raise NotFoundError(f"no passage with id {passage_id!r}")
        try:
            data = self.document(doc_id)
        except GoneError:
            raise
        except NotFoundError:
            raise NotFoundError(f"no passage with id {passage_id!r}") from None
        for p in data["passages"]:
            if p["passage_id"] == passage_id:
                d = data["document"]
                return {"passage_id": passage_id, "doc_id": doc_id, "doc_title": d["title"], "date": d["date"],
                        "source": d["source"], "anchor": p["anchor"], "section_path": p["section_path"],
                        "section_anchor": p["section_anchor"], "text": data["body"][p["start"]:p["end"]],
                        "url": f"/p/{passage_id}", "doc_url": f"/doc/{doc_id}#{p['anchor']}"}
        raise NotFoundError(f"no passage with id {passage_id!r}")


def _folded_text(opened: _Version, row: int) -> str | None:
    """A row's text as the index keeps it, folded (``None`` if it cannot be read)."""
    try:
        return opened.text.text(row).decode("utf-8")
    except (UnicodeDecodeError, OSError, IndexError):
        return None


def _preference(opened: _Version, query: CompiledQuery) -> np.ndarray | None:
    """The per-row factor of what the query names beside its words: years, five-year plans."""
    factors = [f for f in (opened.year_preference(query.prefer_years) if query.options.years else None,
                           opened.plan_preference(query.prefer_plans) if query.prefer_plans else None)
               if f is not None]
    if not factors:
        return None
    return factors[0] if len(factors) == 1 else np.multiply.reduce(factors)


def _hit(opened: _Version, row: int, score: float, rank_no: int, marks: list[str]) -> Hit:
    """A text-index row, read from Whoosh, as a hit with its snippet marked."""
    stored = opened.stored(row)
    data = stored.get("data") or {}
    text = stored.get("content", "")
    return Hit(
        passage_id=stored["passage_id"],
        doc_id=stored["doc_id"],
        doc_title=data.get("t", ""),
        date=data.get("d", ""),
        section_path=tuple(data.get("sp", ())),
        text=text,
        snippet_html=snippet_html(text, marks, folded=_folded_text(opened, row)),
        anchor=data.get("a", ""),
        score=float(score),
        rank=rank_no,
        source=opened.manifest.get("docs", {}).get(stored["doc_id"], {}).get("source", ""),
    )


def _respell(opened: _Version, query: CompiledQuery) -> tuple[CompiledQuery, str]:
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
                    fixes[term.text] = (better,)
                    shown.append(better)
    if not fixes:
        return query, ""
    return understand.respelled(query, fixes), " ".join(shown)


def _in_context(scorer: _Scorer, candidates: list[str], options: SearchOptions) -> str | None:
    """The correction whose words most passages hold together (``棚户区住房改照`` → ``…改造``, not the
    more frequent ``…改革``); ``None`` when no passage holds any of them whole."""
    best, best_rows = None, 0
    for text in candidates:
        term = understand.make_term(text, False, True, dataclasses.replace(options, synonyms=False))
        if term is None:
            continue
        rows = int(np.count_nonzero(scorer.term(term).match & scorer.ix.live))
        if rows > best_rows:
            best, best_rows = text, rows
    return best


def _toc_entry(s: dict) -> dict:
    entry = {"number": s["number"], "title": s["title"], "anchor": s["anchor"], "repaired": s["repaired"],
             "children": [_toc_entry(c) for c in s["children"]]}
    if s["anchor"] == "s0":
        entry["preface"] = True
    return entry


@lru_cache(maxsize=64)
def _load_doc_json(version: str, doc_id: str) -> dict:
    path = Path(version) / "docs" / f"{doc_id}.json"
    where = f"{Path(version).name}/docs/{doc_id}.json"
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
        data["document"], data["passages"], data["body"]  # noqa: B018  (a document, not any JSON)
    except FileNotFoundError as exc:
        raise IndexDamagedError(f"index damaged: {where} is missing: run `kb check`, then `kb build`") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexDamagedError(f"{where} is damaged ({type(exc).__name__}): run `kb check`, then `kb build`") from exc
    return data


@lru_cache(maxsize=4)
def _load_redirects(version: str) -> dict:
    return read_redirects(Path(version))


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


__all__ = ["KnowledgeBase", "compile_query", "QueryError"]
