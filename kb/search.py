"""A query string → ``SearchResult``: ranked, highlighted passages with section paths and facets.

How a query matches (see :mod:`kb.query.parse` for the syntax):

- each term is cut into words by the same analyzer as the documents; every word must occur in the
  passage, its document title or its section headings, either as a whole word or as a run of
  characters (the ``grams`` postings), so ``七连创`` is found in ``七连创为全年``;
- a ``"phrase"`` must occur contiguously in the passage (after folding; quotes, brackets and spaces
  between its characters do not count), and so must an excluded ``-term``;
- when no passage holds every term, the best partial matches come back flagged ``partial``.

Ranking is BM25F, computed with numpy over the postings of :mod:`kb.engine.textindex`
(:mod:`kb.engine.scoring`, then :mod:`kb.query.rerank`, reached through the engine interface
:class:`kb.engine.interface.Engine`, implemented by :class:`kb.engine.local.NumpyEngine`): every matching
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
import threading
import time
from pathlib import Path

import numpy as np

from kb.text import analysis
from kb.query import grouping, understand
from kb.errors import IndexDamagedError, IndexMissingError, QueryError
from kb.models import SearchResult
from kb.query.parse import ParsedQuery, parse_query
from kb.query.respell import respell
from kb.engine.interface import Engine
from kb.engine.local import NumpyEngine
from kb.engine.scoring import RERANK
from kb.store.manifest import current_version
from kb.query.understand import DEFAULT, CompiledQuery, SearchOptions
from kb.query.guard import guarded
from kb.query.pinned import PinnedVersion
from kb.query.version import _Version
from kb.query.hits import _hit, _place_boost, _preference, _targets, stand_ins

PAGE_SIZE = 10
MAX_PAGE = 100


# --- compiling a query: kb.query.understand ------------------------------------------------------------

def compile_query(parsed: ParsedQuery, options: SearchOptions = DEFAULT) -> CompiledQuery:
    """``ParsedQuery`` → analysed terms, and the strings a hit marks (see :mod:`kb.query.understand`).

    >>> q = compile_query(parse_query('治超 "一超四罚" -太龙'), SearchOptions(synonyms=False))
    >>> [[t.needed for t in g] for g in q.groups], [t.core for t in q.excluded], q.marks
    ([[('治超',)], [('一超四罚',)]], ['太龙'], ('治超', '一超四罚'))
    """
    return understand.compile_query(parsed, options)


class KnowledgeBase:
    """An opened index: search, documents, tables of contents, passages."""

    def __init__(self, index_dir: str | Path, options: SearchOptions = DEFAULT, *,
                 wait_for_checks: bool = False, warm: bool = False) -> None:
        """``wait_for_checks``: a search waits until the large files of the version first opened are
        checked (the server: ~0.5 s after it opens the 842 MB lawtext-gov index; ``kb search`` does not).
        A version swapped in later is served only once checked whole, the last one staying served.
        ``warm``: each version opened readies its spelling corrector on a thread (the server), so the
        first query with a typo does not wait ~0.8 s for the vocabulary."""
        self.index_dir = Path(index_dir)
        self.wait_for_checks = wait_for_checks
        self.warm = warm
        self._pending: _Version | None = None  # opened, its large files being checked
        self._bad: set[Path] = set()  # versions whose checksums differ: never opened again
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
        """Open the version ``CURRENT`` names, if it is not the one open (looked at most twice a
        second); swap it in once its files are checked; ``IndexDamagedError`` when the version open
        was found damaged and there is no other."""
        self._look(force)
        pending = self._pending
        if pending is not None and pending.check.done.is_set():
            with self._lock:
                if self._pending is pending:
                    self._pending = None
                    if pending.check.damage:
                        self._not_switching(pending.path, pending.check.damage)
                    else:
                        self._open, self._manifest, self._version = pending, pending.manifest, pending.path
        opened = self._open
        if opened is not None and self.wait_for_checks:
            opened.check.done.wait(120)
        if opened is not None and opened.check.damage:
            self._bad.add(opened.path)
            raise IndexDamagedError(f"index version damaged: {'; '.join(opened.check.damage[:3])}: "
                                    "run `kb check`, then `kb build`")

    def _not_switching(self, version: Path, damage: list[str]) -> None:
        import sys

        self._bad.add(version)
        print(f"kb: not switching to {version.name}: damaged: {'; '.join(damage[:3])}; still serving "
              f"{self.version}", file=sys.stderr)

    def _look(self, force: bool = False) -> None:
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
        if self._open is not None and (version in self._bad or self._pending and self._pending.path == version):
            return  # found damaged (for good: a version never changes), or being checked
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
            if self.warm:
                threading.Thread(target=opened.warm, name="kb-warm", daemon=True).start()
            if self._open is not None and not opened.check.done.is_set():
                self._pending = opened  # the version open stays served until this one is checked whole
                return
            self._open, self._manifest, self._version = opened, opened.manifest, version

    def _current(self) -> _Version:
        """The open version, after moving to a new one if ``kb build`` swapped it in."""
        self._refresh()
        opened = self._open
        assert opened is not None
        return opened

    @property
    def opened(self) -> _Version | None:
        """The version open now (``None`` before the first one opened)."""
        return self._open

    @property
    def version(self) -> str:
        """The name of the version searches use now: read from the one opened object, so it can never
        name another version than a search started at the same moment (``_open`` and ``_version`` are
        assigned one after the other, and another thread could search in between)."""
        opened = self._open
        return opened.path.name if opened is not None else ""

    # --- search ---------------------------------------------------------------------------------
    @guarded
    def search(self, q: str, page: int = 1, doc: str | None = None, page_size: int = PAGE_SIZE,
               options: SearchOptions | None = None, exact: bool = False, *, group: bool = False,
               sort: str = "relevance", years: tuple[int, int] | None = None, types: tuple[str, ...] = (),
               places: tuple[str, ...] = (), at: _Version | None = None) -> SearchResult:
        """Answer one query; never raises for odd input except ``QueryError`` for over-long text.

        ``exact``: search the words as typed (no spelling or pinyin correction): the page's link
        "search the original" after a correction. ``group``: one hit per document, its best passage,
        with ``doc_hits`` and ``more`` (:mod:`kb.query.grouping`). ``sort="date"``: newest document first.
        ``years``, ``types``, ``places``: facet filters given beside the query (``years`` as ``year:``).
        ``at``: the version to search (a request's :meth:`pin`); by default the one served now."""
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
            elif parsed.excluded and not notice:
                notice = (f"“{raw.strip()[:40]}”只有要排除的词（前面带 -），没有要查的内容。请在前面写出要查的事项，"
                          f"例如“快速路 -太龙”。 / Only exclusions: add what to look up.")
            return SearchResult(query=raw, total=0, took_ms=_ms(started), page=page, page_size=page_size,
                                notice=notice)
        opened = at if at is not None else self._current()  # whatever a build swaps in meanwhile
        query, corrected = respell(opened, query)
        engine: Engine = NumpyEngine(opened.text)  # the search backend, behind its interface
        found = engine.search(query, opened.allowed(query.doc_ids, query.years, query.dates, types, places),
                              _preference(opened, query), boost=_place_boost(opened, query))
        matched = found.matched()
        first_pass = found.score[found.match]  # aligned with matched
        counts = grouping.doc_hit_counts(matched, engine.fids) if group else {}
        shown = len(counts) if group else int(matched.size)
        page = max(1, min(page, -(-shown // page_size) or 1))  # past the last page: the last page
        first = (page - 1) * page_size
        marks = list(query.marks)
        parts_of = stand_ins(query)  # a passage holding a compound only in parts marks them too
        by_date = opened.doc_meta("date") if sort == "date" else None
        if group:
            rows, scores = engine.rank(query, found, max(page * page_size * 3, RERANK), _targets(opened, query))
            score_of = dict(zip(matched.tolist(), first_pass.tolist()))
            score_of.update(zip(rows.tolist(), scores.tolist()))
            order = grouping.document_order(rows, matched, engine.fids, first_pass, dates=by_date)
            hits = []
            for rank_no, fid in enumerate(order[first:first + page_size].tolist(), start=first + 1):
                best, *rest = grouping.rows_of(fid, rows, matched, engine.fids, first_pass).tolist()
                more = tuple(_hit(opened, r, score_of.get(r, 0.0), 0, marks, parts_of) for r in rest)
                hits.append(dataclasses.replace(_hit(opened, best, score_of.get(best, 0.0), rank_no, marks, parts_of),
                                                doc_hits=counts.get(fid, 1), more=more))
        else:
            if by_date is not None:
                by_score = np.argsort(-first_pass, kind="stable")
                rows = grouping.date_order(matched[by_score], engine.fids, by_date)[:page * page_size]
                score_of = dict(zip(matched.tolist(), first_pass.tolist()))
                scores = np.array([score_of[r] for r in rows.tolist()], np.float32)
            else:
                rows, scores = engine.rank(query, found, page * page_size, _targets(opened, query))
            hits = [_hit(opened, row, score, rank_no, marks, parts_of) for rank_no, (row, score)
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
                            documents=len(counts) if group else engine.documents(matched),
                            years=year_facet, types=type_facet, places=place_facet,
                            sort="date" if by_date is not None else "relevance")

    # --- documents: through one pinned version ------------------------------------------------------
    def pin(self) -> PinnedVersion:
        """The version served at this moment, for one request to read everything from (the web app
        keeps it in ``flask.g``): a build swapping ``CURRENT`` meanwhile changes nothing it answers."""
        return PinnedVersion(self, self._current())

    def docs(self) -> list[dict]:
        return self.pin().docs()

    def document(self, doc_id: str) -> dict:
        """The stored document: metadata, body, sections, passages (``NotFoundError`` if unknown)."""
        return self.pin().document(doc_id)

    def status(self) -> dict:
        """The served version: its name, when it was built, document and passage counts, failed files."""
        return self.pin().status()

    def original(self, doc_id: str) -> Path:
        """The file a document was read from (:meth:`PinnedVersion.original`)."""
        return self.pin().original(doc_id)

    def toc(self, doc_id: str) -> dict:
        return self.pin().toc(doc_id)

    def resolve(self, passage_id: str) -> tuple[dict, bool]:
        """The passage a permalink names, and whether it is a successor (:meth:`PinnedVersion.resolve`)."""
        return self.pin().resolve(passage_id)

    def passage(self, passage_id: str) -> dict:
        return self.pin().passage(passage_id)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


__all__ = ["KnowledgeBase", "compile_query", "QueryError"]
