"""Candidates: a compiled query's terms → the rows holding them (postings, parts, runs of characters, coverage)."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from kb.text import analysis, ngrams
from kb.query.understand import CompiledQuery, Term, Unit
from kb.engine.textindex import TextIndex, word_key


PARTS_MAX_SHARE = 0.02  # a word in more than this share of passages needs no stand-ins
MIN_COVER = 0.5  # with no passage holding every term: those holding at least this share (idf-weighted)
STANDIN = 0.4  # a part of a missing word (总产 for 总产量) scores this share of a whole word


def _contains(hay: bytes, core: str) -> bool:
    """Whether ``hay`` holds ``core`` through the see-through rule (:func:`kb.text.ngrams.see_through`)."""
    return _holder(core)(hay, 0, len(hay))


def _holder(core: str):
    """:func:`_contains` as a test of ``hay[start:end]`` that copies nothing out of ``hay`` (a run of
    several passages' text, as :meth:`TextIndex.holding` reads it).

    >>> holds = _holder("岭路先锋")
    >>> run = "岭南路。“岭”路先锋".encode()
    >>> holds(run, 0, len("岭南路。".encode())), holds(run, len("岭南路。".encode()), len(run))
    (False, True)
    """
    needle, pattern = core.encode(), ngrams.see_through_bytes(core)
    return lambda hay, start, end: hay.find(needle, start, end) >= 0 or pattern.search(hay, start, end) is not None


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
        core = ngrams.see_through_core(piece)
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
        self._phrases: dict[str, np.ndarray | None] = {}

    def phrase_rows(self, folded: str) -> np.ndarray | None:
        """:func:`_phrase_candidates`, once a query (the candidate rows and the phrase check both ask)."""
        if folded not in self._phrases:
            self._phrases[folded] = _phrase_candidates(self.ix, folded)
        return self._phrases[folded]

    def lookup(self, family: str, key: int) -> tuple[np.ndarray, np.ndarray | None]:
        found = self._keys.get((family, key))
        if found is None:
            found = self._keys[(family, key)] = self.ix.lookup(family, key)
        return found

    def char_rows(self, word: str, family: str = "grams") -> np.ndarray:
        found = self._chars.get((word, family))
        if found is None:
            found = self._chars[(word, family)] = self.ix.char_rows(word, family, self.lookup)
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
                shares += _unit_items(lookups, units[0], 1.0 / groups)
                continue
            weights = [unit_weight(lookups, u) for u in units]
            total = sum(weights) or 1.0
            for unit, weight in zip(units, weights):
                shares += _unit_items(lookups, unit, weight / total / groups)
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


def conjunctive_rows(lookups: _Lookups, query: CompiledQuery) -> np.ndarray:
    """The rows that can hold every group of the query as written (no parts standing in): a row of
    each group's terms, a term's every unit (its word, in text, title or headings or as characters,
    or a synonym). The strict answer is among them, so when any of them matches it is the answer and
    scoring looks at these only: for ``数字 政府`` the few thousand rows holding both, not the ~100,000
    holding 政府 (the conjunctive pass of Lucene's and tantivy's boolean scorers). Never fewer rows
    than the strict answer holds (tested against scoring every row)."""
    held: np.ndarray | None = None
    for group in query.groups:
        any_term = np.zeros(lookups.ix.size, bool)
        for term in group:
            any_term |= _term_mask(lookups, term)
        held = any_term if held is None else held & any_term
        if not held.any():
            break
    return np.empty(0, np.int64) if held is None else np.flatnonzero(held)


def _term_mask(lookups: _Lookups, term: Term) -> np.ndarray:
    """Rows that can hold every unit of one term (a phrase: every row :func:`term_rows` finds)."""
    units = term.units or tuple(Unit(w) for w in term.needed)
    out = np.zeros(lookups.ix.size, bool)
    if term.phrase or not units:
        out[term_rows(lookups, [term])] = True
        return out
    out[:] = True
    for unit in units:
        one = np.zeros(lookups.ix.size, bool)
        for rows in _unit_lists(lookups, unit, parts=False):
            one[rows] = True
        out &= one
    return out


def _unit_items(lookups: _Lookups, unit: Unit, share: float) -> list[tuple[float, float, list[np.ndarray]]]:
    """A unit as :func:`candidate_rows` weighs it: (rows read, the most coverage a row among them can
    get, row lists). A unit whose parts stand in is two: the rows holding it or all its parts (its
    whole share) and those holding some part (``STANDIN`` of it). 国家经济贸易委员会 is in 5 rows and
    its parts 国家, 经济, 贸易, 委员 in ~127,000: a row holding one part but no other query word cannot
    reach ``MIN_COVER``, so those are left out as the most common units are."""
    whole = _unit_lists(lookups, unit, parts=False)
    if not uses_parts(lookups, unit):
        return [(float(sum(r.size for r in whole)), share, whole)]
    some = np.zeros(lookups.ix.size, bool)
    every = np.ones(lookups.ix.size, bool)
    for part in unit.parts:
        this = np.zeros(lookups.ix.size, bool)
        for rows in lookups.word_rows(part):
            this[rows] = True
        some |= this
        every &= this
    whole = whole + [np.flatnonzero(every)]
    return [(float(sum(r.size for r in whole)), share, whole),
            (float(np.count_nonzero(some)), share * STANDIN, [np.flatnonzero(some)])]


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
            exact = lookups.phrase_rows(term.text)
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
