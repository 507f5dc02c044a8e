"""One opened index version → what searching it needs besides the postings: the passages' stored
fields (Whoosh's) and text (the text index's), the documents' years, types and places, and the per-row factors a query's year, plan or
place gives (made once per version, read-only after).

``_Version.open(path)`` checks the version against its manifest first (:class:`kb.store.manifest.VersionCheck`):
a truncated file or a flipped byte is ``IndexDamagedError``, never a different answer.
:class:`kb.search.KnowledgeBase` keeps one open and swaps in the next.
"""

from __future__ import annotations

import threading
import weakref
from pathlib import Path

import numpy as np
from whoosh.filedb.filestore import FileStorage

from kb.text import analysis
from kb.engine import facets
from kb.store.doctext import join_body, passage_key, section_paths
from kb.errors import IndexDamagedError, KbError
from kb.models import PLAN_TYPE, Facet, FacetValue
from kb.text.places import NATIONAL_WORDS, place_words
from kb.engine.scoring import (NATIONAL_PRIOR, PLACE_DOCUMENT, PLAN_DOCUMENT, YEAR_DOCUMENT, YEAR_OTHER_SECTION,
                               YEAR_PERIOD, YEAR_PLANNED, YEAR_PLANNED_SECTION, YEAR_SECTION)
from kb.store.manifest import VersionCheck, read_manifest
from kb.query.synonyms import plan_period
from kb.query.targets import target_rows
from kb.engine.textindex import TextIndex
from kb.engine.whooshread import alive_docs, pnum_column
from kb.store.damage import _DAMAGE, _collect_leaked_files

FACET_LIMIT = 20

def _year(date: str) -> int:
    return int(date[:4]) if date[:4].isdigit() else -1


class _Version:
    """One index version, opened: Whoosh (stored passages), the text index, the manifest."""

    def __init__(self, path: Path, manifest: dict, reader, text: TextIndex, docnums: np.ndarray) -> None:
        self.path, self.manifest, self.reader, self.text = path, manifest, reader, text
        self._reader_lock = threading.Lock()  # a Whoosh reader seeks and reads: one thread at a time
        weakref.finalize(self, reader.close)  # when the last request using this version is done
        self._docnums = docnums  # text-index row → Whoosh docnum
        self._originals = text.has_originals()  # passages' text from the text index, not Whoosh's stored fields
        files = [rec for rec in manifest.get("files", {}).values() if rec.get("fid") and rec.get("doc_id")]
        self.doc_by_fid = {rec["fid"]: rec["doc_id"] for rec in files}
        self.fid_by_doc = {rec["doc_id"]: rec["fid"] for rec in files}
        self._year_fids: dict[int, list[int]] | None = None
        self._year_factors: dict[tuple[int, ...], np.ndarray] = {}  # read-only once made
        self._plan_factors: dict[tuple[int, ...], np.ndarray | None] = {}  # the same, for plans named
        self._place_fids: dict[str, list[int]] | None = None  # folded place word → files of that place
        self._place_factors: dict[object, np.ndarray | None] = {}  # the same, for places named
        self._bodies: dict[str, dict] = {}  # the last documents made whole (kb.store.doctext)
        self._speller = False  # not built yet
        self._speller_lock = threading.Lock()
        self.check = VersionCheck(path, {}).start()  # replaced by open(): its files' checksums

    @classmethod
    def open(cls, path: Path) -> _Version:
        """Open a version, its file sizes and small files' checksums checked against the manifest first
        (a truncated file or a flipped byte is damage, never a different answer), the large files'
        checksums on a thread after it opened (``check``: :class:`kb.store.manifest.VersionCheck`); anything
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
            alive = alive_docs(sub)
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

    def with_body(self, doc_id: str, data: dict) -> dict:
        """A document's JSON made whole (:mod:`kb.store.doctext`): its ``body`` joined from the JSON's gaps and
        Whoosh's passages, each passage's ``section_path`` from the section tree (kept for the last few
        documents); an index of an older format stored both. Pieces that do not fit together are
        damage (``IndexDamagedError``), never a different text."""
        if "body" in data:
            return data
        whole = self._bodies.get(doc_id)
        if whole is None:
            try:
                body = join_body(data["gaps"], data["passages"], self.passage_texts(doc_id))
                paths = section_paths(data["sections"])
                passages = [{**p, "section_path": paths[p["section_anchor"]]} for p in data["passages"]]
            except (KeyError, ValueError, TypeError) as exc:
                raise IndexDamagedError(f"index damaged: the text of document {doc_id} cannot be put back "
                                        f"together ({type(exc).__name__}: {exc}): run `kb check`, then `kb build`") from exc
            whole = {**data, "body": body, "passages": passages}
            if len(self._bodies) >= 16:
                self._bodies.pop(next(iter(self._bodies)))
            self._bodies[doc_id] = whole
        return whole

    def passage_texts(self, doc_id: str) -> dict[str, str]:
        """A document's passage texts as written, by key (:func:`kb.store.doctext.passage_key`):
        what :func:`kb.store.doctext.join_body` puts the body back together from."""
        fid = self.fid_by_doc.get(doc_id)
        if fid is None:
            return {}
        rows = np.flatnonzero((self.text.fids == fid) & self.text.live).tolist()
        with self._reader_lock:
            stored = [self.reader.stored_fields(int(self._docnums[row])) for row in rows]
        return {passage_key(f["passage_id"]): self.passage_text(row, f) for row, f in zip(rows, stored)}

    def passage_text(self, row: int, stored: dict, folded: str | None = None) -> str:
        """A row's passage text as written: the text index's, from its ``folded`` text when already read
        (``stored``, the row's Whoosh fields, held it in an older index)."""
        return self.text.original(row, folded) if self._originals else stored.get("content", "")

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

    def plan_rows(self) -> np.ndarray | None:
        """Per row: a plan's passage stating targets (:func:`kb.query.targets.target_rows`); ``None``: no plan."""
        if "_plan_rows" not in self.__dict__:  # made once per version, read-only after
            years = self.doc_meta("years")
            starts = {fid: (years.get(fid) or (0,))[0] for fid, t in self.doc_meta("type").items() if t == PLAN_TYPE}
            self._plan_rows = target_rows(self.text.fids, self.row_years, starts)
        return self._plan_rows

    def national_prior(self) -> np.ndarray | None:
        """Per-row factor for a query naming no place: ``NATIONAL_PRIOR`` in the national issuers'
        documents (国务院, 国家统计局), 1 elsewhere; ``None`` when there are none. Once per version."""
        if "national" not in self._place_factors:
            country = self.place_preference(NATIONAL_WORDS[:1])
            self._place_factors["national"] = None if country is None else np.where(
                country > 1, np.float32(NATIONAL_PRIOR), np.float32(1.0))
        return self._place_factors["national"]

    def _plan_factor(self, plans: tuple[int, ...]) -> np.ndarray | None:
        types, years = self.doc_meta("type"), self.doc_meta("years")
        periods = [set(range(lo, hi + 1)) for lo, hi in map(plan_period, plans)]
        fids = [fid for fid, t in types.items() if t == PLAN_TYPE and any(p <= set(years[fid]) for p in periods)]
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
                    from kb.query.spell import Speller
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
        """Year (reported on), type and place facets of the matching rows (:mod:`kb.engine.facets`)."""
        cache = self.__dict__.setdefault("_value_codes", {})
        if "years" not in cache:
            cache["years"] = facets.FileYears.of(self.doc_meta("years"))
        per_file = facets.file_counts(rows, self.text.fids)  # gathered once for the three
        return (facets.year_facet(rows, self.text.fids, self.row_years, cache["years"], per_file_all=per_file),
                facets.value_facet(per_file, self.value_codes("type")),
                facets.value_facet(per_file, self.value_codes("place")))

    def value_codes(self, key: str) -> facets.ValueCodes:
        """:meth:`doc_meta` as codes for counting facets; made once per version."""
        cache = self.__dict__.setdefault("_value_codes", {})
        if key not in cache:
            cache[key] = facets.ValueCodes.of(self.doc_meta(key))
        return cache[key]


# what reading damaged index files raises (numpy, Whoosh's structs and zlib, JSON, short reads)
