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
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from kb.text import analysis, ngrams
from kb.query.understand import CompiledQuery, Term, Unit
from kb.engine.textindex import TextIndex, word_key

# --- scoring --------------------------------------------------------------------------------------

# Whole words count for more than character-pair-only matches; passage text as much as title/headings.
FIELD_BOOSTS = {"words": 1.0, "meta": 1.0, "grams": 0.35}
PHRASE_BOOST = 2.0  # a term found contiguously, or a quoted phrase
B, K1 = 0.75, 1.2  # BM25, as Whoosh's BM25F defaults
RERANK = 100  # the best first-pass candidates are re-scored with what only the text shows
FIGURE_BONUS = 0.5  # a passage stating a figure right after a query word: score × 1.5
STANDIN = 0.4  # a part of a missing word (总产 for 总产量) scores this share of a whole word
PARTS_MAX_SHARE = 0.02  # a word in more than this share of passages needs no stand-ins
STANDIN_ALL = 0.8  # … and all its parts in one passage (原煤 … 产量 for 原煤产量) cover this share of it
MIN_COVER = 0.5  # with no passage holding every term: those holding at least this share (idf-weighted)
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

_GAP = b"(?:" + b"|".join(re.escape(c.encode()) for c in ngrams.TRANSPARENT + "\t\n\r\u3000") + b")*"


@lru_cache(maxsize=1024)
def _loose_pattern(core: str) -> re.Pattern[bytes]:
    """``岭路先锋`` → a pattern that also finds ``“岭”路先锋`` (quotes, brackets, spaces between)."""
    return re.compile(_GAP.join(re.escape(ch.encode()) for ch in core))


def _contains(hay: bytes, core: str) -> bool:
    return core.encode() in hay or _loose_pattern(core).search(hay) is not None


def _stretches(term: Term) -> list[tuple[str, tuple[str, ...]]]:
    """The stretches of a term typed without spaces, each with its words: the whole term, or, for a
    typed question whose filler words were dropped (``张家界 接待游客 万人次``), each piece of two or more
    words, which the contiguity bonus then finds on its own (``接待游客8162.09万人次``).

    >>> from kb.query.understand import make_term
    >>> _stretches(make_term("张家界 接待游客 万人次", False))
    [('接待游客', ('接待', '游客'))]
    >>> _stretches(make_term("综合交通投资", False))
    [('综合交通投资', ('综合', '交通', '投资'))]
    """
    words = tuple(dict.fromkeys(term.words))
    if " " not in term.text:
        return [(term.core, words)]
    out = []
    for piece in term.text.split():
        core = "".join(ch for ch in piece if ch not in ngrams.TRANSPARENT)
        held = tuple(w for w in words if w in core)
        if len(held) > 1 and core:
            out.append((core, held))
    return out


MAX_RUN_WORDS = 12


def longest_run(words: tuple[str, ...], text: bytes) -> tuple[str, ...]:
    """The longest run of two or more consecutive query ``words`` that ``text`` holds written together
    (``()``: none): what a typed question shares with a passage as one stretch, whether the words
    around it were filler (``多少``) or are written differently.

    >>> longest_run(("棚户区", "住房", "改造", "开工", "套"), "棚户区住房改造开工8471套".encode())
    ('棚户区', '住房', '改造', '开工')
    >>> longest_run(("张家界", "接待", "游客", "万人次"), "接待入境游客137万人次".encode())
    ()
    """
    words = words[:MAX_RUN_WORDS]  # bounded: a 500-character question is looked at by its start
    for size in range(len(words) - 1, 1, -1):
        for at in range(len(words) - size + 1):
            run = words[at:at + size]
            if "".join(run).encode() in text:
                return run
    return ()


def _phrase_candidates(ix: TextIndex, folded: str) -> np.ndarray | None:
    """Every row whose text can hold ``folded`` contiguously: the rows filed under each pair of adjacent
    CJK characters it holds (``None`` when it holds none, e.g. ``"G228"``).

    The pairs are taken within each run of CJK characters, so a fragment with punctuation
    (``实加大对科技创新、小微企``) or cut mid-word is looked up by what the passage surely holds; a lone
    character is left out (in the passage it may stand in a pair, filed under that pair only). Its
    jieba words are no guide: ``实`` and ``小微企`` are not words of ``落实加大对科技创新、小微企业``.
    The rows are then checked against the stored text (:func:`_contains`).
    """
    keys = ngrams.query_keys(folded)
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
        self._counts: dict[Unit, int] = {}

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

    def unit_count(self, unit: Unit) -> int:
        """About how many rows hold the unit (its word in text, title or headings, as characters, or a
        synonym; not its parts) over the whole index: the most any one of those ways finds."""
        found = self._counts.get(unit)
        if found is None:  # its longest row list: a count without building the union
            found = self._counts[unit] = max((r.size for r in _unit_lists(self, unit, parts=False)), default=0)
        return found

    def word_rows(self, word: str) -> list[np.ndarray]:
        """Every row list through which ``word`` can match (what :meth:`_Scorer.word` reads)."""
        key = word_key(word)
        out = [self.lookup("words", key)[0], self.lookup("meta", key)[0]]
        if len(word) > 1 and analysis.is_cjk(word):
            out += [self.char_rows(word, "grams"), self.char_rows(word, "metagrams")]
        return out


def candidate_rows(lookups: _Lookups, query: CompiledQuery) -> np.ndarray:
    """The rows that can match the query, so scoring looks at these only: those holding anything it
    searches (a word of a term, unit, synonym or part, or a term's characters) — and, with soft
    matching, only those holding one of its *essential* units (MaxScore, as Lucene and tantivy prune):

    A row matches when it holds every group, or (soft) when its coverage, the mean over groups of the
    idf-weighted share of a term's units it holds, reaches ``MIN_COVER``. Each unit can add at most
    its share to a row's coverage; the most common units whose shares sum to less than ``MIN_COVER``
    cannot make a match on their own, so a row holding none of the others is no candidate. For
    ``海南 2019年政府工作报告 分解任务`` that leaves out the ~200,000 rows that only hold 政府, 工作 or
    报告 (every work report's title). Exact: the same rows and scores as scoring every row (tested).
    """
    terms = [term for group in query.groups for term in group]
    if not query.options.soft or not query.groups:
        return term_rows(lookups, terms)
    shares: list[tuple[float, float, list[np.ndarray]]] = []  # (rows read, coverage share, row lists)
    groups = len(query.groups)
    for group in query.groups:
        for term in group:
            units = term.units or tuple(Unit(w) for w in term.needed)
            if term.phrase or not units:
                lists = [term_rows(lookups, [term])]
                shares.append((float(lists[0].size), 1.0 / groups, lists))
                continue
            if len(units) == 1:  # the term is its unit (or a part standing in)
                lists = _unit_lists(lookups, units[0], parts=True)
                shares.append((float(sum(r.size for r in lists)), 1.0 / groups, lists))
                continue
            weights = [unit_weight(lookups, u) for u in units]
            total = sum(weights) or 1.0
            for unit, weight in zip(units, weights):
                lists = _unit_lists(lookups, unit, parts=True)
                shares.append((float(sum(r.size for r in lists)), weight / total / groups, lists))
    shares.sort(key=lambda s: -s[0])  # the most common first: left out while their shares allow
    left_out = 0.0
    seen = np.zeros(lookups.ix.size, bool)
    for _cost, share, lists in shares:
        if left_out + share < MIN_COVER - _COVER_MARGIN:
            left_out += share
            continue
        for rows in lists:
            seen[rows] = True
    return np.flatnonzero(seen)


_COVER_MARGIN = 1e-3  # coverage is summed in float32: never leave out what rounding could let through


def uses_parts(lookups: _Lookups, unit: Unit) -> bool:
    """Do a unit's parts stand in for it? Only for a word few passages hold (at most ``PARTS_MAX_SHARE``
    of them): 办件量 or 粮食总产量, not 生产总值, whose parts (生产, 总值) would only cost time."""
    return bool(unit.parts) and lookups.unit_count(unit) <= PARTS_MAX_SHARE * max(lookups.ix.live_count, 1)


def _unit_lists(lookups: _Lookups, unit: Unit, parts: bool) -> list[np.ndarray]:
    """The row lists through which a unit can match: its word, its synonyms (``parts``: its parts too,
    when they stand in for it)."""
    words = (unit.word, *unit.parts) if parts and uses_parts(lookups, unit) else (unit.word,)
    lists = [rows for w in words for rows in lookups.word_rows(w)]
    return lists + [term_rows(lookups, [alt]) for alt in unit.alternatives]


def unit_weight(lookups: _Lookups, unit: Unit) -> float:
    """A unit's weight in a term's coverage: ``log(1 + N / (rows holding it + 1))`` over the whole index
    (:meth:`_Lookups.unit_count`); a unit no passage holds counts as the rarest: missing it is missing
    most of the question."""
    count = lookups.unit_count(unit)
    return math.log(1 + max(lookups.ix.live_count, 1) / (count + 1))


def term_rows(lookups: _Lookups, terms: list[Term]) -> np.ndarray:
    """The rows holding anything ``terms`` search (what :func:`candidate_rows` collects per term)."""
    seen = np.zeros(lookups.ix.size, bool)

    def add_term(term: Term) -> None:
        if term.phrase:  # what contains() looks at: pairs within each run of CJK characters
            exact = _phrase_candidates(lookups.ix, term.text)
            if exact is not None:  # every row that can hold the phrase (its words' rows only score)
                seen[exact] = True
                return
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

    for term in terms:
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
            if term.cjk == term.core and ngrams.query_keys(term.core).size == 1:
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
            for pos, text in zip(todo.tolist(), ix.texts(self.global_rows(todo))):
                if _contains(text, term.core):
                    match[pos] = True
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
                    score[m] += STANDIN * s[m]
                    held[m] += 1
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
            score = np.where(match, score, 0).astype(np.float32)
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
                    cover[m] += np.float32(w / total)
                    if stand is not None:  # parts standing in cover only their share
                        cover -= np.where(stand > 0, (1 - stand) * np.float32(w / total), np.float32(0))
        else:
            cover = match.astype(np.float32)
            if parts[0][2] is not None:
                cover = np.where(parts[0][2] > 0, parts[0][2], cover)
        return _TermScore(np.where(match, score, 0).astype(np.float32), match, cover, score)

    def contiguity_bonus(self, terms: list[Term], rows: np.ndarray, texts: list[bytes]) -> np.ndarray:
        """For the candidates ``rows`` (folded ``texts``): a multi-word term found contiguously scores its
        words' passage-text score again, ``PHRASE_BOOST`` times (what a phrase query over positions adds)."""
        bonus = np.zeros(rows.size, np.float32)
        for term in terms:
            if term.phrase or len(term.words) < 2 or not term.core:
                continue
            content = {w: self.word(w)[1][rows] for w in dict.fromkeys(term.words)}
            stretches = _stretches(term)
            for i, text in enumerate(texts):
                found = False
                for core, words in stretches:  # the term, or each piece typed between filler words
                    if _contains(text, core):
                        bonus[i] += PHRASE_BOOST * sum(float(content[w][i]) for w in words)
                        found = True
                if not found and len(term.words) > 2:  # else its longest run held together, by its share
                    run = longest_run(term.words, text)
                    share = len(run) / len(term.words)
                    bonus[i] += PHRASE_BOOST * share * sum(float(content[w][i]) for w in dict.fromkeys(run))
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


# a figure in Chinese numerals, as older documents write them: 四二七·四亿元, 八千亿斤, 三千六百五十亿斤
_CN_FIGURE = r"[〇零一二三四五六七八九十两][〇零一二三四五六七八九十百千·]+[万亿]?[元吨斤个项人户亩台辆座件所家公千米]"


@lru_cache(maxsize=256)
def _figure_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """A query word, at most one more letter (``为``, ``达``) or a table's spaces, then a figure: a digit,
    or Chinese numerals with a unit.

    >>> p = _figure_pattern(("基本建设投资", "原煤"))
    >>> [bool(p.search(t)) for t in ("基本建设投资为四二七·四亿元", "原煤 12.98 亿吨", "基本建设投资一批", "原煤产量")]
    [True, True, False, False]
    """
    return re.compile("(?:" + "|".join(map(re.escape, words)) + r")[^\W\d]?\s*(?:\d|" + _CN_FIGURE + ")")


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
