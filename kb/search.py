"""A query string → ``SearchResult``: ranked, highlighted passages with section paths and facets.

How a query matches (see :mod:`kb.query` for the syntax):

- each term is cut into words by the same analyzer as the documents; every word must occur in the
  passage, its document title or its section headings, either as a whole word or as a run of
  characters (the bigram fields), so ``七连创`` is found in ``七连创为全年``;
- a ``"phrase"`` must occur contiguously (after folding);
- ranking is BM25F over all four fields: whole words and contiguous terms score above bigram-only
  matches, passage text above headings and title;
- when no passage holds every term, the best partial matches come back flagged ``partial``.

:class:`KnowledgeBase` keeps one opened index and per-thread searchers, and reopens them between
requests when ``kb build`` has swapped in a new version.

>>> kb = KnowledgeBase("index")                              # doctest: +SKIP
>>> kb.search("综合交通投资").hits[0].section_path           # doctest: +SKIP
('二、坚持高质量发展,奋力书写交通高分答卷', '(一)聚焦“两城两湖”,建设全域快速路网')
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
from whoosh.filedb import compound as _whoosh_compound
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import BufferFile
from whoosh import query as wq
from whoosh.collectors import TopCollector
from whoosh.matching import ListMatcher, NullMatcher
from whoosh.scoring import BM25F

from kb import analysis
from kb.ngrams import PNUM_SHIFT, NgramIndex, term_keys
from kb.errors import NotFoundError, QueryError
from kb.highlight import snippet_html
from kb.indexer import current_version, read_manifest
from kb.models import Facet, Hit, SearchResult
from kb.query import Alternative, ParsedQuery, parse_query
from kb.schema import FIELD_BOOSTS

PAGE_SIZE = 10
MAX_PAGE = 100
FACET_LIMIT = 20
PHRASE_BOOST = 2.0
# a word phrase costs O(words × postings): pasted text ("的" × 500) took seconds to minutes. Longer
# phrases match on their first MAX_PHRASE_WORDS words (~20 characters), or on all their characters.
MAX_PHRASE_WORDS = 12


class _ViewFile:
    """A read-only file over a memoryview, without copying it."""

    def __init__(self, buf: memoryview) -> None:
        self._buf = buf
        self._pos = 0

    def read(self, n: int | None = -1) -> bytes:
        end = len(self._buf) if n is None or n < 0 else min(self._pos + n, len(self._buf))
        out = bytes(self._buf[self._pos:end])
        self._pos = end
        return out

    def readline(self) -> bytes:
        rest = bytes(self._buf[self._pos:])
        line = rest[: rest.find(b"\n") + 1 or len(rest)]
        self._pos += len(line)
        return line

    def seek(self, pos: int, whence: int = 0) -> int:
        self._pos = pos + (0, self._pos, len(self._buf))[whence]
        return self._pos

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self._buf = memoryview(b"")


class _MappedBufferFile(BufferFile):
    """Whoosh's ``BufferFile`` reads a memory-mapped compound segment through a ``BytesIO`` copy of
    each part it opens: ~600 MB of private memory per searcher at lawtext-gov scale. This one reads
    the mapping in place (pages shared with the OS cache). Whoosh is pinned at 2.7.5, which this fits."""

    def __init__(self, buf, name=None, onclose=None):
        super().__init__(b"", name=name, onclose=onclose)
        self._buf = buf
        self.file = _ViewFile(memoryview(buf))


_whoosh_compound.BufferFile = _MappedBufferFile


class BigramQuery(wq.Query):
    """Passages holding every character pair of ``text`` (from the :mod:`kb.ngrams` side index).

    With ``verify`` the passage text must hold ``text`` contiguously (phrases, exclusions); without
    it, co-occurrence of all pairs inside one short passage is taken as a match, scored below words.
    """

    def __init__(self, text: str, boost: float = 1.0, verify: bool = False) -> None:
        self.text = text
        self.boost = boost
        self.verify = verify

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, BigramQuery) and (self.text, self.boost, self.verify) ==
                (other.text, other.boost, other.verify))

    def __hash__(self) -> int:
        return hash((BigramQuery, self.text, self.boost, self.verify))

    def __repr__(self) -> str:
        return f"BigramQuery({self.text!r}, boost={self.boost}, verify={self.verify})"

    def __unicode__(self) -> str:
        return f"bigrams:{self.text}"

    __str__ = __unicode__

    def _pnums(self, searcher) -> np.ndarray:
        top = searcher.get_parent()
        cache = getattr(top, "kb_lookups", None)
        if cache is None:
            return np.empty(0, np.uint64)
        if self.text not in cache:  # once per query, not once per segment
            cache[self.text] = top.kb_ngrams.lookup(self.text)
        return cache[self.text]

    def estimate_size(self, ixreader) -> int:
        return ixreader.doc_count_all()

    def _docnums(self, searcher, reader, wanted: np.ndarray) -> np.ndarray:
        """This segment's live docnums holding the pairs (and the text itself, when verifying)."""
        cache = getattr(searcher.get_parent(), "kb_lookups", {})
        key = (self.text, self.verify, id(reader))
        if key in cache:  # the same query is matched twice: for the top hits, then for the count
            return cache[key]
        docnums = np.nonzero(np.isin(_segment_pnums(reader), wanted))[0]
        if reader.has_deletions():
            docnums = np.array([d for d in docnums.tolist() if not reader.is_deleted(d)], dtype=np.int64)
        # one pair (two characters) is the text itself; longer text may hold its pairs apart
        if self.verify and docnums.size and term_keys(self.text).size > 1:
            docnums = np.array([d for d in docnums.tolist()
                                if self.text in analysis.fold(reader.stored_fields(d).get("content", ""))],
                               dtype=np.int64)
        cache[key] = docnums
        return docnums

    def matcher(self, searcher, context=None):
        wanted = self._pnums(searcher)
        reader = searcher.reader()
        if wanted.size == 0 or reader.doc_count_all() == 0:
            return NullMatcher()
        docnums = self._docnums(searcher, reader, wanted)
        if docnums.size == 0:
            return NullMatcher()
        n = max(searcher.get_parent().doc_count_all(), 1)
        df = max(int(wanted.size), 1)
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return ListMatcher(docnums.tolist(), all_weights=self.boost * idf * 1.2)


class _CountingCollector(TopCollector):
    """Top N by score, and every matching global docnum in ``ids``."""

    def prepare(self, top_searcher, q, context):
        super().prepare(top_searcher, q, context)
        self.ids: list[int] = []

    def _collect(self, global_docnum, score):
        self.ids.append(global_docnum)
        return super()._collect(global_docnum, score)


def _collect(searcher, q: wq.Query, limit: int):
    collector = _CountingCollector(limit=limit, usequality=False, replace=0)  # no pruning: count every match
    searcher.search_with_collector(q, collector)
    return collector.results(), np.unique(np.array(collector.ids, dtype=np.int64))


def _global_pnums(searcher) -> np.ndarray:
    """docnum → pnum across all segments of the searcher, built once per searcher."""
    cached = getattr(searcher, "kb_pnums", None)
    if cached is None:
        parts = [_segment_pnums(sub.reader()) for sub, _offset in searcher.leaf_searchers()]
        cached = np.concatenate(parts) if parts else np.empty(0, np.uint64)
        searcher.kb_pnums = cached
    return cached


def _segment_pnums(reader) -> np.ndarray:
    """docnum → pnum for one segment reader, read once from the column and kept on the reader."""
    cached = getattr(reader, "_kb_pnums", None)
    if cached is None:
        cached = np.fromiter(reader.column_reader("pnum"), dtype=np.uint64, count=reader.doc_count_all())
        reader._kb_pnums = cached
    return cached


def _word_match(word: str) -> wq.Query:
    """One word anywhere in the passage, its title or headings: as a word, or as characters."""
    options: list[wq.Query] = [
        wq.Term("content", word, boost=FIELD_BOOSTS["content"]),
        wq.Term("meta", word, boost=FIELD_BOOSTS["meta"]),
    ]
    if analysis.is_cjk(word) and len(word) > 1:
        options.append(BigramQuery(word, boost=FIELD_BOOSTS["bigram"]))
    return wq.Or(options)


def _alternative_query(alt: Alternative) -> tuple[wq.Query | None, list[str]]:
    """(required query, strings to highlight) for one term or phrase."""
    folded = analysis.fold(alt.text).strip()
    words = [t.text for t in analysis.words(folded, folded=True)]
    if not words:
        return None, []
    word_phrase = wq.Phrase("content", words[:MAX_PHRASE_WORDS], boost=PHRASE_BOOST) if len(words) > 1 else \
        wq.Term("content", words[0], boost=PHRASE_BOOST)
    if alt.phrase:
        required = wq.Or([word_phrase, BigramQuery(_cjk_only(folded), FIELD_BOOSTS["bigram"], verify=True)]) \
            if _cjk_only(folded) else word_phrase
        return required, [folded] + words
    # jieba leaves unknown names in single characters (来甬 → 来/甬) and may cut the text
    # differently (新来/甬): runs of single characters are required together, through the bigrams;
    # a lone single character of a longer term helps ranking but is not required
    needed = [w for w in _join_single_chars(words) if not (len(w) == 1 and analysis.is_cjk(w))] or words
    needed = list(dict.fromkeys(needed))  # a repeated word adds nothing to an And, but costs superlinear time
    required = wq.And([_word_match(w) for w in needed]) if len(needed) > 1 else _word_match(needed[0])
    bonus: list[wq.Query] = []
    if len(words) > 1:
        bonus.append(word_phrase)
        if _cjk_only(folded):
            bonus.append(BigramQuery(_cjk_only(folded), boost=FIELD_BOOSTS["bigram"] * PHRASE_BOOST))
    marks = [folded] + needed
    return (wq.AndMaybe(required, wq.Or(bonus)) if bonus else required), marks


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


def _cjk_only(folded: str) -> str:
    """The term with what the bigram index does not hold (spaces, ASCII, punctuation) taken out."""
    return "".join(ch for ch in folded if analysis.is_cjk(ch)) if len(folded) > 1 else ""


def _exclusion_query(alt: Alternative) -> wq.Query | None:
    folded = analysis.fold(alt.text).strip()
    words = [t.text for t in analysis.words(folded, folded=True)]
    if not words:
        return None
    options: list[wq.Query] = [wq.Term("content", words[0]) if len(words) == 1
                               else wq.Phrase("content", words[:MAX_PHRASE_WORDS])]
    if analysis.is_cjk(folded) and len(folded) > 1:
        options.append(BigramQuery(folded, verify=True))
    return wq.Or(options)


def compile_query(parsed: ParsedQuery) -> tuple[wq.Query | None, wq.Query | None, list[str], list[wq.Query]]:
    """``ParsedQuery`` → (all-terms query, any-term query, strings to mark, per-group queries)."""
    group_queries: list[wq.Query] = []
    marks: list[str] = []
    for group in parsed.groups:
        alts = []
        for alt in group:
            q, alt_marks = _alternative_query(alt)
            if q is not None:
                alts.append(q)
                marks.extend(alt_marks)
        if alts:
            group_queries.append(alts[0] if len(alts) == 1 else wq.Or(alts))
    if not group_queries:
        return None, None, [], []
    strict: wq.Query = group_queries[0] if len(group_queries) == 1 else wq.And(group_queries)
    loose: wq.Query = group_queries[0] if len(group_queries) == 1 else wq.Or(group_queries)
    excluded = [q for q in (_exclusion_query(a) for a in parsed.excluded) if q is not None]
    filters: list[wq.Query] = []
    if parsed.doc_ids:
        filters.append(wq.Or([wq.Term("doc_id", d) for d in parsed.doc_ids]))
    if parsed.years:
        lo, hi = parsed.years
        filters.append(wq.Or([wq.Term("year", str(y)) for y in range(lo, hi + 1)]))
    if filters:
        flt = wq.And(filters) if len(filters) > 1 else filters[0]
        strict, loose = wq.Require(strict, flt), wq.Require(loose, flt)
    if excluded:
        neg = wq.Or(excluded) if len(excluded) > 1 else excluded[0]
        strict, loose = wq.AndNot(strict, neg), wq.AndNot(loose, neg)
    return strict, loose, list(dict.fromkeys(m for m in marks if m)), group_queries



class KnowledgeBase:
    """An opened index: search, documents, tables of contents, passages."""

    def __init__(self, index_dir: str | Path) -> None:
        self.index_dir = Path(index_dir)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._version: Path | None = None
        self._ix = None
        self._ngrams: NgramIndex | None = None
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
            ix = FileStorage(str(version), readonly=True).open_index()
            manifest = read_manifest(version)
            grams = NgramIndex(version)
            self._ix, self._manifest, self._ngrams, self._version = ix, manifest, grams, version

    def _searcher(self):
        self._refresh()
        local = self._local
        ix = self._ix
        if getattr(local, "ix", None) is not ix:
            old = getattr(local, "searcher", None)
            if old is not None:
                old.close()
            local.searcher = ix.searcher(weighting=BM25F(B=0.75, K1=1.2))
            local.searcher.kb_ngrams = self._ngrams
            local.ix = ix
        local.searcher.kb_lookups = {}
        return local.searcher

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
        strict, loose, marks, groups = compile_query(parsed)
        if strict is None:
            return SearchResult(query=raw, total=0, took_ms=_ms(started), page=page, page_size=page_size,
                                notice=parsed.notice)
        searcher = self._searcher()
        # one pass: Whoosh scores every match for the top hits, and the collector keeps every docnum
        # for the count and the facets. No block-max skipping (usequality=False): Whoosh 2.7's
        # IntersectionMatcher asserts under Require with it (fuzzing found 'YEAR:2020"1'), and our
        # bigram leaves rule it out for most queries anyway.
        results, matched = _collect(searcher, strict, page * page_size)
        partial = False
        if matched.size == 0 and len(groups) > 1:
            results, matched = _collect(searcher, loose, page * page_size)
            partial = matched.size > 0
        total = int(matched.size)
        hits = []
        first = (page - 1) * page_size
        for rank, hit in enumerate(results[first:first + page_size], start=first + 1):
            stored = hit.fields()
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
                score=float(hit.score or 0.0),
                rank=rank,
            ))
        facets = self._facets(searcher, matched)
        return SearchResult(query=raw, total=total, took_ms=_ms(started), page=page, page_size=page_size,
                            hits=tuple(hits), partial=partial, facets=facets, notice=parsed.notice,
                            terms=tuple(marks))

    def _facets(self, searcher, docnums: np.ndarray) -> tuple[Facet, ...]:
        """Matching passages per document, the most first, from the pnum column (no stored fields read)."""
        if docnums.size == 0:
            return ()
        fids = _global_pnums(searcher)[docnums] >> np.uint64(PNUM_SHIFT)
        values, counts = np.unique(fids, return_counts=True)
        order = np.argsort(-counts, kind="stable")[:FACET_LIMIT]
        by_fid = self._doc_by_fid()
        docs = self._manifest.get("docs", {})
        out = []
        for i in order:
            doc_id = by_fid.get(int(values[i]))
            if doc_id is not None:
                out.append(Facet(doc_id, docs.get(doc_id, {}).get("title", doc_id), int(counts[i])))
        return tuple(out)

    def _doc_by_fid(self) -> dict[int, str]:
        manifest = self._manifest
        cached = manifest.get("_doc_by_fid")
        if cached is None:
            cached = {rec["fid"]: rec["doc_id"] for rec in manifest.get("files", {}).values()
                      if rec.get("fid") and rec.get("doc_id")}
            manifest["_doc_by_fid"] = cached
        return cached

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
