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
from kb.errors import NotFoundError, QueryError
from kb.highlight import snippet_html
from kb.indexer import current_version, read_manifest
from kb.models import Facet, Hit, SearchResult
from kb.query import ParsedQuery, parse_query
from kb.textindex import TextIndex, word_key

PAGE_SIZE = 10
MAX_PAGE = 100
FACET_LIMIT = 20


# --- compiling a query ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Term:
    """One alternative of a query group, analysed: what must match, what is marked."""

    text: str  # folded
    words: tuple[str, ...]  # its jieba words
    needed: tuple[str, ...]  # the words a passage must hold (runs of single characters joined)
    phrase: bool
    core: str  # the text without spaces, quotes and brackets: what "contiguous" means

    @property
    def cjk(self) -> str:
        """Its CJK characters, when there are two or more (for character-pair lookups)."""
        chars = "".join(ch for ch in self.text if analysis.is_cjk(ch))
        return chars if len(chars) > 1 else ""


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...]
    doc_ids: tuple[str, ...]
    years: tuple[int, int] | None
    marks: tuple[str, ...]  # folded strings to highlight


def _term(text: str, phrase: bool) -> Term | None:
    folded = analysis.fold(text).strip()
    words = [t.text for t in analysis.words(folded, folded=True)]
    if not words:
        return None
    # jieba leaves unknown names in single characters (来甬 → 来/甬) and may cut the text
    # differently (新来/甬): runs of single characters are required together, through the pairs;
    # a lone single character of a longer term helps ranking but is not required
    needed = [w for w in _join_single_chars(words) if not (len(w) == 1 and analysis.is_cjk(w))] or words
    core = "".join(ch for ch in folded if ch not in ngrams.TRANSPARENT and not ch.isspace())
    return Term(folded, tuple(words), tuple(dict.fromkeys(needed)), phrase, core)


def _join_single_chars(words: list[str]) -> list[str]:
    """``['来', '甬', '大学生']`` → ``['来甬', '大学生']``: adjacent one-character CJK words as one run."""
    out: list[str] = []
    in_run = False
    for word in words:
        single = len(word) == 1 and analysis.is_cjk(word)
        if single and in_run:
            out[-1] += word
        else:
            out.append(word)
        in_run = single
    return out


def compile_query(parsed: ParsedQuery) -> CompiledQuery:
    """``ParsedQuery`` → analysed terms, and the strings a hit marks.

    >>> q = compile_query(parse_query('治超 "一超四罚" -太龙'))
    >>> [[t.needed for t in g] for g in q.groups], [t.core for t in q.excluded], q.marks
    ([[('治超',)], [('一超四罚',)]], ['太龙'], ('治超', '一超四罚'))
    """
    groups: list[tuple[Term, ...]] = []
    marks: list[str] = []
    for group in parsed.groups:
        terms = tuple(t for t in (_term(a.text, a.phrase) for a in group) if t is not None)
        if terms:
            groups.append(terms)
            for t in terms:
                marks.append(t.text)
                if not t.phrase:
                    marks.extend(t.needed)
    excluded = tuple(t for t in (_term(a.text, True) for a in parsed.excluded) if t is not None)
    return CompiledQuery(tuple(groups), excluded, parsed.doc_ids, parsed.years,
                         tuple(dict.fromkeys(m for m in marks if m)))


# --- scoring --------------------------------------------------------------------------------------

# Whole words count for more than character-pair-only matches; passage text as much as title/headings.
FIELD_BOOSTS = {"words": 1.0, "meta": 1.0, "grams": 0.35}
PHRASE_BOOST = 2.0  # a term found contiguously, or a quoted phrase
B, K1 = 0.75, 1.2  # BM25, as Whoosh's BM25F defaults
RERANK = 100  # the best first-pass candidates are re-scored with what only the text shows
FIGURE_BONUS = 0.5  # a passage stating a figure right after a query word: score × 1.5

_GAP = b"(?:" + b"|".join(re.escape(c.encode()) for c in ngrams.TRANSPARENT + "\t\n\r\u3000") + b")*"


@lru_cache(maxsize=1024)
def _loose_pattern(core: str) -> re.Pattern[bytes]:
    """``岭路先锋`` → a pattern that also finds ``“岭”路先锋`` (quotes, brackets, spaces between)."""
    return re.compile(_GAP.join(re.escape(ch.encode()) for ch in core))


def _contains(hay: bytes, core: str) -> bool:
    return core.encode() in hay or _loose_pattern(core).search(hay) is not None


class _Scorer:
    """Dense per-row score and match vectors for one query over one :class:`TextIndex`.

    BM25F as Whoosh computes it (idf ``log(N / (df + 1)) + 1``), per family, summed with the boosts.
    """

    def __init__(self, index: TextIndex) -> None:
        self.ix = index
        self.n = index.size
        self.docs = max(index.live_count, 1)
        self._words: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

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
        rows, tfs = ix.lookup("words", key)
        if rows.size:
            score[rows] = FIELD_BOOSTS["words"] * self._bm25(tfs, ix.word_lengths[rows], ix.avg_words, rows.size)
            match[rows] = True
        content = score.copy()
        rows, tfs = ix.lookup("meta", key)
        if rows.size:
            score[rows] += FIELD_BOOSTS["meta"] * self._bm25(tfs, ix.meta_lengths[rows], ix.avg_meta, rows.size)
            match[rows] = True
        if len(word) > 1 and analysis.is_cjk(word):
            for family in ("grams", "metagrams"):  # a name jieba cuts differently (鄂尔多斯 in 鄂尔多斯市)
                rows = ix.char_rows(word, family)
                if rows.size:
                    score[rows] += self._pairs_weight(rows.size)
                    match[rows] = True
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
            sure = ix.lookup("words", word_key(term.core))[0]
        elif term.words:
            rows = ix.lookup("words", word_key(term.words[0]))[0]
            for w in term.words[1:]:
                rows = rows[np.isin(rows, ix.lookup("words", word_key(w))[0])]
            candidates.append(rows)
        if term.cjk:
            pairs = ix.char_rows(term.cjk)
            if term.cjk == term.core and ngrams.term_keys(term.core).size == 1:
                sure = np.union1d(sure, pairs)  # one pair is the text itself
            else:
                candidates.append(pairs)
        match[sure] = True
        for rows in candidates:
            for row in rows[~match[rows]].tolist():
                if _contains(ix.text(row), term.core):
                    match[row] = True
        return match

    def term(self, term: Term) -> tuple[np.ndarray, np.ndarray]:
        """(score, match) of one alternative; score is zero where it does not match."""
        if term.phrase:
            match = self.contains(term)
            score = PHRASE_BOOST * sum(self.word(w)[0] for w in dict.fromkeys(term.words))
            return np.where(match, score, 0).astype(np.float32), match
        parts = [self.word(w) for w in term.needed]
        match = parts[0][2].copy()
        score = parts[0][0].copy()
        for s, _c, m in parts[1:]:
            match &= m
            score += s
        if len(term.words) > 1 and term.cjk:  # all the term's pairs in one passage: likely the term itself
            rows = self.ix.char_rows(term.cjk)
            if rows.size:
                score[rows] += PHRASE_BOOST * self._pairs_weight(rows.size)
        score[~match] = 0
        return score, match

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
    match: np.ndarray
    score: np.ndarray
    partial: bool
    scorer: _Scorer


def evaluate(index: TextIndex, query: CompiledQuery, allowed: np.ndarray | None) -> _Evaluation:
    """Which rows match (every group; else any group, flagged partial) and their first-pass scores."""
    scorer = _Scorer(index)
    mask = index.live.copy()
    if allowed is not None:
        mask &= allowed
    for term in query.excluded:
        mask &= ~scorer.contains(term)
    group_scores, group_matches = [], []
    for group in query.groups:
        score = np.zeros(index.size, np.float32)
        match = np.zeros(index.size, bool)
        for term in group:
            s, m = scorer.term(term)
            score += s
            match |= m
        group_scores.append(score)
        group_matches.append(match)
    total = sum(group_scores)
    strict = np.logical_and.reduce(group_matches) & mask
    if strict.any() or len(group_matches) < 2:
        return _Evaluation(strict, total, False, scorer)
    loose = np.logical_or.reduce(group_matches) & mask
    return _Evaluation(loose, total, bool(loose.any()), scorer)


def rank(query: CompiledQuery, found: _Evaluation, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """The best ``limit`` matching rows and their scores, best first: the first pass picks at least
    ``RERANK`` candidates, which the text itself then re-scores (contiguity, figures)."""
    rows = np.nonzero(found.match)[0]
    scores = found.score[rows]
    pool = max(RERANK, limit)
    if rows.size > pool:
        best = np.argpartition(-scores, pool - 1)[:pool]
        rows, scores = rows[best], scores[best]
    terms = [t for g in query.groups for t in g]
    texts = [found.scorer.ix.text(row) for row in rows.tolist()]  # read once, for both
    scores = (scores + found.scorer.contiguity_bonus(terms, rows, texts)) * _Scorer.figure_factor(terms, texts)
    order = np.lexsort((rows, -scores))[:limit]
    return rows[order], scores[order]


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

    @classmethod
    def open(cls, path: Path) -> _Version:
        manifest = read_manifest(path)
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

    def allowed(self, doc_ids: tuple[str, ...], years: tuple[int, int] | None) -> np.ndarray | None:
        """Rows the ``doc:`` and ``year:`` filters let through (``None``: no filter)."""
        if not doc_ids and years is None:
            return None
        fids = set(self.fid_by_doc.values())
        if doc_ids:
            fids &= {self.fid_by_doc[d] for d in doc_ids if d in self.fid_by_doc}
        if years is not None:
            docs = self.manifest.get("docs", {})
            lo, hi = years
            fids = {f for f in fids if lo <= _year(docs.get(self.doc_by_fid[f], {}).get("date", "")) <= hi}
        return np.isin(self.text.fids, np.fromiter(fids, dtype=np.int64, count=len(fids)))

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


def _year(date: str) -> int:
    return int(date[:4]) if date[:4].isdigit() else -1


class KnowledgeBase:
    """An opened index: search, documents, tables of contents, passages."""

    def __init__(self, index_dir: str | Path) -> None:
        self.index_dir = Path(index_dir)
        self._lock = threading.Lock()
        self._version: Path | None = None
        self._open: _Version | None = None
        self._manifest: dict = {}
        self._checked = 0.0
        self._refresh(force=True)

    # --- versions -------------------------------------------------------------------------------
    def _refresh(self, force: bool = False) -> None:
        """Open the version ``CURRENT`` names, if it is not the one open (checked at most twice a second)."""
        now = time.monotonic()
        if not force and now - self._checked < 0.5:
            return
        self._checked = now
        version = current_version(self.index_dir)
        if version == self._version and not force:
            return
        with self._lock:
            if version == self._version and not force:
                return
            opened = _Version.open(version)
            self._open, self._manifest, self._version = opened, opened.manifest, version

    def _current(self) -> _Version:
        """The open version, after moving to a new one if ``kb build`` swapped it in."""
        self._refresh()
        opened = self._open
        assert opened is not None
        return opened

    @property
    def version(self) -> str:
        return self._version.name if self._version else ""

    # --- search ---------------------------------------------------------------------------------
    def search(self, q: str, page: int = 1, doc: str | None = None, page_size: int = PAGE_SIZE) -> SearchResult:
        """Answer one query; never raises for odd input except ``QueryError`` for over-long text."""
        started = time.perf_counter()
        page = max(1, min(int(page or 1), MAX_PAGE))
        raw = q or ""
        parsed = parse_query(raw)
        if doc:  # a filter given beside the query, never pasted into it
            parsed = dataclasses.replace(parsed, doc_ids=(doc,))
        query = compile_query(parsed)
        if not query.groups:
            return SearchResult(query=raw, total=0, took_ms=_ms(started), page=page, page_size=page_size,
                                notice=parsed.notice)
        opened = self._current()  # this request's version, whatever a build swaps in meanwhile
        found = evaluate(opened.text, query, opened.allowed(query.doc_ids, query.years))
        rows, scores = rank(query, found, page * page_size)
        first = (page - 1) * page_size
        hits = []
        marks = list(query.marks)
        for rank_no, (row, score) in enumerate(zip(rows[first:].tolist(), scores[first:].tolist()), start=first + 1):
            stored = opened.stored(row)
            data = stored.get("data") or {}
            text = stored.get("content", "")
            hits.append(Hit(
                passage_id=stored["passage_id"],
                doc_id=stored["doc_id"],
                doc_title=data.get("t", ""),
                date=data.get("d", ""),
                section_path=tuple(data.get("sp", ())),
                text=text,
                snippet_html=snippet_html(text, marks),
                anchor=data.get("a", ""),
                score=float(score),
                rank=rank_no,
            ))
        matched = np.nonzero(found.match)[0]
        return SearchResult(query=raw, total=int(matched.size), took_ms=_ms(started), page=page,
                            page_size=page_size, hits=tuple(hits), partial=found.partial,
                            facets=opened.facets(matched), notice=parsed.notice, terms=query.marks)

    # --- documents ------------------------------------------------------------------------------
    def docs(self) -> list[dict]:
        self._refresh()
        docs = self._manifest.get("docs", {}).values()
        return sorted(({k: d[k] for k in ("doc_id", "title", "date", "source", "path", "passages")} for d in docs),
                      key=lambda d: (d["title"], d["doc_id"]))

    def document(self, doc_id: str) -> dict:
        """The stored document: metadata, body, sections, passages (``NotFoundError`` if unknown)."""
        self._refresh()
        if doc_id not in self._manifest.get("docs", {}):
            raise NotFoundError(f"no document with id {doc_id!r}")
        return _load_doc_json(str(self._version), doc_id)

    def toc(self, doc_id: str) -> dict:
        data = self.document(doc_id)
        d = data["document"]
        return {"doc_id": d["doc_id"], "title": d["title"], "date": d["date"], "source": d["source"],
                "preface": data["preface"], "sections": [_toc_entry(s) for s in data["sections"]]}

    def passage(self, passage_id: str) -> dict:
        doc_id, _, _key = passage_id.rpartition(".")
        if not doc_id:
            raise NotFoundError(f"no passage with id {passage_id!r}")
        try:
            data = self.document(doc_id)
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


def _toc_entry(s: dict) -> dict:
    entry = {"number": s["number"], "title": s["title"], "anchor": s["anchor"], "repaired": s["repaired"],
             "children": [_toc_entry(c) for c in s["children"]]}
    if s["anchor"] == "s0":
        entry["preface"] = True
    return entry


@lru_cache(maxsize=64)
def _load_doc_json(version: str, doc_id: str) -> dict:
    path = Path(version) / "docs" / f"{doc_id}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


__all__ = ["KnowledgeBase", "compile_query", "QueryError"]
