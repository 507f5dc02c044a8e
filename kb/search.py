"""A query string → ``SearchResult``: ranked, highlighted passages with section paths and facets.

How a query matches (see :mod:`kb.query` for the syntax):

- each term is cut into words by the same analyzer as the documents; every word must occur in the
  passage, its document title or its section headings, either as a whole word or as a run of
  characters (the ``grams`` postings), so ``七连创`` is found in ``七连创为全年``;
- a ``"phrase"`` must occur contiguously in the passage (after folding; quotes, brackets and spaces
  between its characters do not count), and so must an excluded ``-term``;
- when no passage holds every term, the best partial matches come back flagged ``partial``.

Ranking is BM25F, computed with numpy over the postings of :mod:`kb.textindex` (:mod:`kb.scoring`,
then :mod:`kb.rerank`): every matching
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
import threading
import time
import weakref
from functools import lru_cache
from pathlib import Path

import numpy as np
from whoosh.filedb.filestore import FileStorage

from kb import analysis
from kb.errors import GoneError, IndexDamagedError, IndexMissingError, KbError, NotFoundError, QueryError
from kb.highlight import snippet_html
from kb.store import VersionCheck, checked_bytes, current_version, read_manifest
from kb.successors import read_redirects
from kb import facets, grouping
from kb.models import PLAN_TYPE, Facet, FacetValue, Hit, SearchResult
from kb import understand
from kb.query import ParsedQuery, parse_query
from kb.understand import DEFAULT, CompiledQuery, SearchOptions, Term
from kb.places import NATIONAL_WORDS, place_words
from kb.whooshread import pnum_column
from kb.synonyms import plan_period
from kb.textindex import TextIndex
from kb.rerank import rank
from kb.scoring import (NATIONAL_PRIOR, PLACE_DOCUMENT, PLAN_DOCUMENT, RERANK, YEAR_DOCUMENT, YEAR_OTHER_SECTION, YEAR_PERIOD, YEAR_PLANNED, YEAR_PLANNED_SECTION,
                        YEAR_SECTION,
                        _Scorer, evaluate, term_rows)

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
        self._plan_factors: dict[tuple[int, ...], np.ndarray | None] = {}  # the same, for plans named
        self._place_fids: dict[str, list[int]] | None = None  # folded place word → files of that place
        self._place_factors: dict[object, np.ndarray | None] = {}  # the same, for places named
        self._speller = False  # not built yet
        self._speller_lock = threading.Lock()
        self.check = VersionCheck(path, {}).start()  # replaced by open(): its files' checksums

    @classmethod
    def open(cls, path: Path) -> _Version:
        """Open a version, its file sizes and small files' checksums checked against the manifest first
        (a truncated file or a flipped byte is damage, never a different answer), the large files'
        checksums on a thread after it opened (``check``: :class:`kb.store.VersionCheck`); anything
        unreadable is ``IndexDamagedError``."""
        manifest = read_manifest(path)
        check = VersionCheck(path, manifest)
        damage = check.now()
        if damage:  # (documents' JSON files are checked when read)
            raise IndexDamagedError(f"index version damaged: {'; '.join(damage[:3])}: run `kb check`, then `kb build`")
        import warnings

        with warnings.catch_warnings():  # Whoosh leaves a damaged segment's file open when it fails
            warnings.simplefilter("ignore", ResourceWarning)
            check.start()  # the small files' checksums on a thread, while the version opens
            try:
                opened = cls._open(path, manifest)
                damage = check.wait_first()
                if damage:
                    raise IndexDamagedError(f"index version damaged: {'; '.join(damage[:3])}: "
                                            "run `kb check`, then `kb build`")
                opened.check = check
                return opened
            except KbError:
                raise
            except _DAMAGE as exc:
                why = f"{type(exc).__name__}: {str(exc)[:200]}"
            # the traceback holding those files is gone here: close them now, quietly
            _collect_leaked_files()
        damage = check.wait_first()  # which file, when its checksum says so
        if damage:
            raise IndexDamagedError(f"index version damaged: {'; '.join(damage[:3])}: run `kb check`, then `kb build`")
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
            column = pnum_column(sub)
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

    def _fids_reporting(self, year: int, only: bool = False, planned: bool = False,
                        period: bool = False) -> np.ndarray:
        """Files of documents reporting on ``year`` (``only``: on that year alone; ``planned``: as the
        second of two years, the year a work report plans after reviewing the one before; ``period``:
        as one of three or more, a five-year plan's)."""
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
                if len(years) > 2:  # a plan or a review of a period: about each of its years only in part
                    for y in years:
                        cache.setdefault((y, "period"), []).append(fid)
        kind = "only" if only else "planned" if planned else "period" if period else ""
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
        own section is about another year), ``YEAR_PLANNED``/``YEAR_PLANNED_SECTION`` in a work report
        that only plans the year, 1 elsewhere."""
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
        work reports that mention it. Made once per version and set of plans."""
        key = tuple(sorted(plans[:4]))
        if key not in self._plan_factors:
            if len(self._plan_factors) > 64:
                self._plan_factors.clear()
            self._plan_factors[key] = self._plan_factor(key)
        return self._plan_factors[key]

    def place_preference(self, words: tuple[str, ...]) -> np.ndarray | None:
        """Per-row factor for a query naming places: ``PLACE_DOCUMENT`` in the documents of the places
        its ``words`` (folded) name (``山东`` → 山东省's reports, ``全国`` → the State Council's and the
        statistics bureau's), 1 elsewhere; ``None`` when no word names a place. Once per version and set."""
        if self._place_fids is None:
            by_word: dict[str, list[int]] = {}
            docs = self.manifest.get("docs", {})
            for fid, doc_id in self.doc_by_fid.items():
                for w in place_words(docs.get(doc_id, {}).get("place", "")):
                    by_word.setdefault(analysis.fold(w), []).append(fid)
            self._place_fids = by_word
        key = tuple(sorted({w for w in words if w in self._place_fids}))
        if not key:
            return None
        if key not in self._place_factors:
            if len(self._place_factors) > 64:
                self._place_factors.clear()
            fids = np.array(sorted({f for w in key for f in self._place_fids[w]}), dtype=np.int64)
            self._place_factors[key] = np.where(np.isin(self.text.fids, fids), np.float32(PLACE_DOCUMENT),
                                                np.float32(1.0))
        return self._place_factors[key]

    def national_prior(self) -> np.ndarray | None:
        """Per-row factor for a query naming no place: ``NATIONAL_PRIOR`` in the national issuers'
        documents (国务院, 国家统计局), 1 elsewhere; ``None`` when there are none. Once per version."""
        if "national" not in self._place_factors:
            country = self.place_preference(NATIONAL_WORDS[:1])
            self._place_factors["national"] = None if country is None else np.where(
                country > 1, np.float32(NATIONAL_PRIOR), np.float32(1.0))
        return self._place_factors["national"]

    def _plan_factor(self, plans: tuple[int, ...]) -> np.ndarray | None:
        fids: list[int] = []
        docs = self.manifest.get("docs", {})
        for n in plans:
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
            planned = np.isin(self.text.fids, self._fids_reporting(y, planned=True))
            f[planned] = YEAR_PLANNED
            # a plan for 1986–1990 states targets for 1990: below that year's communiqué or review
            f[np.isin(self.text.fids, self._fids_reporting(y, period=True))] = YEAR_PERIOD
            # a document about that one year (a communiqué, a year's summary) is about it throughout
            f[np.isin(self.text.fids, self._fids_reporting(y, only=True))] = YEAR_SECTION
            if row_years is not None:
                about = row_years == y  # a section planning the year states targets, not what was done
                f = np.where(about, np.where(planned, np.float32(YEAR_PLANNED_SECTION), np.float32(YEAR_SECTION)),
                             np.where((row_years != 0) & in_doc, np.float32(YEAR_OTHER_SECTION), f))
            np.maximum(factor, f, out=factor)
        return factor

    def warm(self) -> None:
        """Ready what a first query would otherwise wait for: the segmenter's dictionary and the
        spelling corrector's tables (~0.6 s at lawtext-gov scale). For a thread of its own."""
        try:
            analysis.words("综合交通投资")
            speller = self.speller()
            if speller is not None:
                speller.tables()
        except Exception:  # noqa: BLE001 - a warm-up that fails leaves the first query to do it
            pass

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
        values, counts = facets.per_file(self.text.fids[rows])
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
        cache = self.__dict__.setdefault("_value_codes", {})
        if "years" not in cache:
            cache["years"] = facets.FileYears.of(self.doc_meta("years"))
        return (facets.year_facet(rows, self.text.fids, self.row_years, cache["years"]),
                facets.value_facet(rows, self.text.fids, self.value_codes("type")),
                facets.value_facet(rows, self.text.fids, self.value_codes("place")))

    def value_codes(self, key: str) -> facets.ValueCodes:
        """:meth:`doc_meta` as codes for counting facets; made once per version."""
        cache = self.__dict__.setdefault("_value_codes", {})
        if key not in cache:
            cache[key] = facets.ValueCodes.of(self.doc_meta(key))
        return cache[key]


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
            elif parsed.excluded and not notice:
                notice = (f"“{raw.strip()[:40]}”只有要排除的词（前面带 -），没有要查的内容。请在前面写出要查的事项，"
                          f"例如“快速路 -太龙”。 / Only exclusions: add what to look up.")
            return SearchResult(query=raw, total=0, took_ms=_ms(started), page=page, page_size=page_size,
                                notice=notice)
        opened = self._current()  # this request's version, whatever a build swaps in meanwhile
        query, corrected = _respell(opened, query)
        found = evaluate(opened.text, query, opened.allowed(query.doc_ids, query.years, query.dates, types, places),
                         _preference(opened, query), boost=_place_boost(opened, query))
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
                            documents=len(counts) if group else int(facets.per_file(opened.text.fids[matched])[0].size),
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
        entry = (self._manifest.get("checksums") or {}).get(f"docs/{doc_id}.json")
        return _load_doc_json(str(self._version), doc_id, tuple(entry) if entry else None)

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


def _place_boost(opened: _Version, query: CompiledQuery) -> np.ndarray | None:
    """The per-row factor of the places the query's words name; naming none, the country's own
    documents a little first (``NATIONAL_PRIOR``: "2017年末 农村贫困人口" asks about the country);
    ``None`` when neither applies."""
    if not query.options.places:
        return None
    words = {u.word for group in query.groups for term in group for u in term.units}
    words |= {term.core for group in query.groups for term in group}
    named = opened.place_preference(tuple(words))
    return named if named is not None else opened.national_prior()


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


def _toc_entry(s: dict) -> dict:
    entry = {"number": s["number"], "title": s["title"], "anchor": s["anchor"], "repaired": s["repaired"],
             "children": [_toc_entry(c) for c in s["children"]]}
    if s["anchor"] == "s0":
        entry["preface"] = True
    return entry


@lru_cache(maxsize=64)
def _load_doc_json(version: str, doc_id: str, entry: tuple | None = None) -> dict:
    """A document's JSON, checked against its manifest ``entry`` (size, SHA-1) as it is read."""
    path = Path(version) / "docs" / f"{doc_id}.json"
    where = f"{Path(version).name}/docs/{doc_id}.json"
    try:
        data = json.loads(checked_bytes(path, entry, where).decode("utf-8"))
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
