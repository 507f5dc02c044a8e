"""Chunked documents → the text index kb searches: postings held in numpy arrays, in segments.

Three posting families, each ``key → passages`` (a key is a word hash or a character pair):

=========  ==============================================================  ==============
family     what a passage is filed under                                   with
=========  ==============================================================  ==============
words      its jieba words (:func:`kb.text.analysis.words`)                     term frequency
meta       the words and sub-words of its document title and section path  term frequency
grams      each pair of adjacent CJK characters (:mod:`kb.text.ngrams`)         —
metagrams  each pair of adjacent CJK characters of title and section path  —
=========  ==============================================================  ==============

Whoosh is the index of record (the passages stored, and indexed by kb's analyzer: :mod:`kb.engine.schema`);
these postings are its accelerator, filed by the same workers from the same words
(:class:`Filed`), because scoring a Whoosh posting costs microseconds of Python, which made common
words take ~1 s to search. Here a posting is a few bytes of a sorted array: written in bulk, scored
with vector arithmetic. Whoosh's ``And`` of a query's words finds the passages :meth:`TextIndex.word_rows`
finds (``tests/test_whoosh_index.py``).

A **segment** is what one indexing worker wrote (a new one every ``SEGMENT_ROWS`` passages): a
folder of ``.npy`` arrays, the folded passage text (``text.bin``, for phrase checks and
re-ranking) and the vocabulary (``vocab.*``: the words behind the ``words`` hashes, with their
document frequencies, for :mod:`kb.query.spell`). Keys, offsets and per-row arrays are loaded; postings
and text are read with ``pread`` when a query asks for them. Rows are numbered in the order the
worker saw the passages; each row's ``pnum`` (``file_id << 20 | ordinal``) ties it to Whoosh.
Segments never change once written; an incremental build adds one, a file that changed gets a new
file id, and rows of files no longer in the manifest are dead (skipped, and dropped when their
segment is merged).

>>> word_key("治超") == word_key("治超"), word_key("治超") == word_key("治堵")
(True, False)
"""

from __future__ import annotations

import hashlib
import os
import threading
import weakref
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from kb.text import ngrams
from kb.engine import unfold
from kb.errors import IndexDamagedError
from kb.models import Passage
from kb.store.components import SegmentComponent, postings_file

FAMILIES = ("words", "meta", "grams", "metagrams")
WITH_TF = ("words", "meta")
TF_MAX = np.iinfo(np.uint16).max
TEXT_GAP = 16 << 10  # passages' texts this close are read in one piece (the bytes between are read too)
TEXT_RUN = 1 << 20  # … up to this much at a time


@lru_cache(maxsize=65536)
def word_key(word: str) -> int:
    """A stable 64-bit key for a folded word (the same in every process and every run)."""
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def is_indexed(anchor: str) -> bool:
    """Passages repeated inside one document (anchor ``p3-2``) are shown but indexed once."""
    return anchor.count("-") <= 1


@dataclass(frozen=True, slots=True)
class Filed:
    """One searchable passage as the text index filed it: its ``words`` (:func:`kb.text.analysis.words` of its
    folded text, in order) and its ``meta`` words (title, section path, place and kind); the Whoosh
    document of the passage is written from these same tokens (:func:`kb.build.workers.index_rows`)."""

    passage: Passage
    words: list[str]
    meta: list[str]


# numpy reads an .npy header with ast.literal_eval, and CPython 3.11 keeps the AST constructor's
# recursion depth in interpreter-wide state: two request threads opening a version at once could fail
# with "SystemError: AST constructor recursion depth mismatch" (cpython gh-106905). One at a time.
_NPY_HEADERS = threading.Lock()


def load_array(path: Path, mmap_mode: str | None = None) -> np.ndarray:
    """``np.load`` of one ``.npy`` file, its header parsed by one thread at a time."""
    with _NPY_HEADERS:
        return np.load(path, mmap_mode=mmap_mode)


# --- vocabulary: the words behind the hashes, for spelling correction (kb.query.spell) ---------------------

VOCAB_WORDS = SegmentComponent.VOCAB_WORDS.value  # the words, one a line, in the order of their keys …
VOCAB_KEYS = SegmentComponent.VOCAB_KEYS.value  # … their keys (word_key, ascending) …
VOCAB_DFS = SegmentComponent.VOCAB_DFS.value  # … and the passages (rows) whose words hold each


def read_vocabulary(directory: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A segment's vocabulary as (words, their keys ascending, their document frequencies); empty for
    a segment saved without one (or with a damaged one)."""
    directory = Path(directory)
    try:
        keys, dfs = load_array(directory / VOCAB_KEYS), load_array(directory / VOCAB_DFS)
        words = (directory / VOCAB_WORDS).read_text(encoding="utf-8").split("\n")[:-1]
    except (OSError, ValueError):
        return [], np.empty(0, np.uint64), np.empty(0, np.uint32)
    if not (len(words) == keys.size == dfs.size):
        return [], np.empty(0, np.uint64), np.empty(0, np.uint32)
    return words, keys, dfs


def _combined_vocabulary(directories: list[Path]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The vocabularies of several segments as one: each word once (keys ascending), dfs summed."""
    parts = [read_vocabulary(d) for d in directories]
    parts = [p for p in parts if p[0]]
    if len(parts) <= 1:
        return parts[0] if parts else ([], np.empty(0, np.uint64), np.empty(0, np.uint32))
    words = [w for p in parts for w in p[0]]
    keys, first, inverse = np.unique(np.concatenate([p[1] for p in parts]), return_index=True, return_inverse=True)
    dfs = np.bincount(inverse, weights=np.concatenate([p[2] for p in parts]), minlength=keys.size)
    return [words[i] for i in first.tolist()], keys, dfs.astype(np.uint32)


class _OnDisk:
    """A file read piece by piece with ``pread``: the pages stay in the OS cache, shared, instead of
    counting as this process's memory as a memory map's touched pages do. Safe across threads."""

    def __init__(self, path: Path, offset: int = 0, dtype: np.dtype | None = None) -> None:
        self.offset, self.dtype = offset, dtype
        self.name = f"{Path(path).parent.parent.name}/{Path(path).parent.name}/{Path(path).name}"
        self.fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self.fd)

    def bytes(self, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        data = os.pread(self.fd, end - start, self.offset + start)
        if len(data) != end - start:  # the file was truncated under us: never a shorter answer
            raise IndexDamagedError(f"{self.name} is shorter than its index says (truncated): "
                                    "run `kb check`, then `kb build`")
        return data

    def items(self, start: int, end: int) -> np.ndarray:
        assert self.dtype is not None
        size = self.dtype.itemsize
        return np.frombuffer(self.bytes(start * size, end * size), dtype=self.dtype)

    @classmethod
    def npy(cls, path: Path) -> _OnDisk:
        """The data of a one-dimensional ``.npy`` file."""
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            with _NPY_HEADERS:
                _shape, _fortran, dtype = read_header(fh)
            return cls(path, fh.tell(), dtype)


class Segment:
    """One segment: keys, offsets and per-row arrays in memory; postings and text read on demand."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory)
        self.pnums = load_array(SegmentComponent.PNUMS.path(self.path))
        self.lengths = load_array(SegmentComponent.LENGTHS.path(self.path))
        self.text_offsets = load_array(SegmentComponent.TEXT_OFFSETS.path(self.path))
        self.size = int(self.pnums.size)
        years = SegmentComponent.YEARS.path(self.path)  # a segment saved before passages had years: all unknown
        self.years = load_array(years) if years.is_file() else np.zeros(self.size, np.int16)
        self._text = _OnDisk(SegmentComponent.TEXT.path(self.path))
        unfold_offsets = SegmentComponent.UNFOLD_OFFSETS.path(self.path)  # none: an older index (Whoosh stored it)
        self.unfold_offsets = load_array(unfold_offsets) if unfold_offsets.is_file() else None
        if self.unfold_offsets is not None:
            self._unfold_at = _OnDisk.npy(SegmentComponent.UNFOLD_AT.path(self.path))
            self._unfold_chars = _OnDisk.npy(SegmentComponent.UNFOLD_CHARS.path(self.path))
        self._postings = {}
        for family in FAMILIES:
            tfs = self.path / postings_file(family, "tfs")
            self._postings[family] = (load_array(self.path / postings_file(family, "keys")),
                                      load_array(self.path / postings_file(family, "offsets")),
                                      _OnDisk.npy(self.path / postings_file(family, "rows")),
                                      _OnDisk.npy(tfs) if tfs.is_file() else None)

    def lookup(self, family: str, key: int) -> tuple[np.ndarray, np.ndarray | None]:
        keys, offsets, rows, tfs = self._postings[family]
        i = int(keys.searchsorted(np.uint64(key)))  # the method: np.searchsorted's wrapper cost ~5 µs a call
        if i >= keys.size or int(keys[i]) != key:
            return _NO_ROWS, (None if tfs is None else _NO_TFS)
        a, b = int(offsets[i]), int(offsets[i + 1])
        return rows.items(a, b), (None if tfs is None else tfs.items(a, b))

    def all_postings(self, family: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(key of each posting, rows, tfs) of a whole family, memory-mapped: for merging segments."""
        keys, offsets, _rows, _tfs = self._postings[family]
        load = lambda name: load_array(self.path / name, mmap_mode="r")  # noqa: E731
        tfs = self.path / postings_file(family, "tfs")
        return (np.repeat(keys, np.diff(offsets)), load(postings_file(family, "rows")),
                load(tfs.name) if tfs.is_file() else None)

    def passage_text(self, row: int) -> bytes:
        return self._text.bytes(int(self.text_offsets[row]), int(self.text_offsets[row + 1]))

    def changes(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """Where a row's original text differs from its folded text, and its characters there
        (:mod:`kb.engine.unfold`)."""
        if self.unfold_offsets is None:
            raise IndexDamagedError(f"{self.path.name} has no {SegmentComponent.UNFOLD_OFFSETS.value}")
        a, b = int(self.unfold_offsets[row]), int(self.unfold_offsets[row + 1])
        return self._unfold_at.items(a, b), self._unfold_chars.items(a, b)

    def text_bytes(self, start: int, end: int) -> bytes:
        """Bytes ``start:end`` of the segment's folded text (several passages' at once)."""
        return self._text.bytes(start, end)


_NO_ROWS = np.empty(0, np.uint32)
_NO_TFS = np.empty(0, np.uint16)


class TextIndex:
    """All segments of one index version as one list of rows; rows of dead files masked out.

    ``live_fids`` are the file ids the version's manifest holds; a row whose file is not among
    them belongs to a changed or deleted file.
    """

    def __init__(self, version_dir: Path, segment_names: list[str], live_fids: set[int]) -> None:
        self.segments = [Segment(Path(version_dir) / name) for name in segment_names]
        sizes = [s.size for s in self.segments]
        self.bases = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        self.size = int(self.bases[-1])
        self.pnums = np.concatenate([s.pnums for s in self.segments]) if self.segments else np.empty(0, np.uint64)
        self.fids = (self.pnums >> np.uint64(ngrams.PNUM_SHIFT)).astype(np.int64)
        self.live = np.isin(self.fids, np.fromiter(live_fids, dtype=np.int64, count=len(live_fids)))
        lengths = (np.concatenate([np.asarray(s.lengths) for s in self.segments]).astype(np.float32)
                   if self.segments else np.zeros((0, 2), np.float32))
        self.word_lengths, self.meta_lengths = lengths[:, 0], lengths[:, 1]
        # the year each row's section reports on (``一、2019年工作回顾``), 0 where no heading states one
        self.row_years = (np.concatenate([s.years for s in self.segments]).astype(np.int16, copy=False)
                          if self.segments else np.empty(0, np.int16))
        self.live_count = int(self.live.sum())
        n = max(self.live_count, 1)
        self.avg_words = float(self.word_lengths[self.live].sum() / n) or 1.0
        self.avg_meta = float(self.meta_lengths[self.live].sum() / n) or 1.0
        self._vocabulary: dict[str, int] | None = None
        self._vocabulary_lock = threading.Lock()

    def vocabulary(self) -> dict[str, int]:
        """Word → document frequency (passages), summed over the segments' vocabularies (rows of dead
        files included until their segment is merged); read on first use, then kept. Empty for an
        index whose segments were saved without one. Treat it as read-only."""
        vocabulary = self._vocabulary
        if vocabulary is None:
            with self._vocabulary_lock:
                vocabulary = self._vocabulary
                if vocabulary is None:
                    words, _keys, dfs = _combined_vocabulary([seg.path for seg in self.segments])
                    vocabulary = self._vocabulary = dict(zip(words, dfs.tolist()))
        return vocabulary

    def lookup(self, family: str, key: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(global rows ascending, term frequencies or None) of one key, dead rows included."""
        rows, tfs = [], []
        for seg, base in zip(self.segments, self.bases):
            r, t = seg.lookup(family, key)
            if r.size:
                wide = r.astype(np.int64)
                wide += base
                rows.append(wide)
                tfs.append(t)
        if not rows:
            return np.empty(0, np.int64), (np.empty(0, np.float32) if family in WITH_TF else None)
        if len(rows) == 1:
            return rows[0], (None if tfs[0] is None else tfs[0].astype(np.float32))
        return np.concatenate(rows), (None if tfs[0] is None else np.concatenate(tfs).astype(np.float32))

    def word_rows(self, words: list[str]) -> np.ndarray:
        """Live rows whose passage text holds every one of the folded ``words`` as a whole word (the
        ``words`` family only): what Whoosh's ``And([Term("content", w) …])`` finds in the same version."""
        if not words:
            return np.empty(0, np.int64)
        result = self.live
        for word in dict.fromkeys(words):
            found = np.zeros(self.size, bool)
            found[self.lookup("words", word_key(word))[0]] = True
            result = result & found
        return np.flatnonzero(result)

    def char_rows(self, folded: str, family: str = "grams", lookup=None) -> np.ndarray:
        """Rows holding every character pair (or lone character) of ``folded`` in their text (or, with
        ``family="metagrams"``, in their title and headings); rarest pair first. ``lookup``: what reads
        a key's rows (a query's memo, :class:`kb.engine.candidates._Lookups`: words share pairs)."""
        keys = ngrams.query_keys(folded)
        if keys.size == 0:
            return np.empty(0, np.int64)
        lists = sorted(((lookup or self.lookup)(family, int(k))[0] for k in keys), key=len)
        result = lists[0]
        for other in lists[1:]:
            if result.size == 0:
                break
            at = np.minimum(np.searchsorted(other, result), other.size - 1)
            result = result[other[at] == result] if other.size else other
        return result

    def text(self, row: int) -> bytes:
        """The folded text of one passage, UTF-8."""
        segment, local = self._segment_of(row)
        return segment.passage_text(local)

    def _segment_of(self, row: int) -> tuple[Segment, int]:
        seg = int(np.searchsorted(self.bases, row, side="right")) - 1
        return self.segments[seg], row - int(self.bases[seg])

    def changes(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """What folding changed in one passage's text (:meth:`Segment.changes`)."""
        segment, local = self._segment_of(row)
        return segment.changes(local)

    def has_originals(self) -> bool:
        """Whether every segment puts its passages' original text back (an older index's Whoosh stored it)."""
        return all(s.unfold_offsets is not None for s in self.segments)

    def original(self, row: int, folded: str | None = None) -> str:
        """One passage's text as written: its folded text (``folded``, when already read) with what
        folding changed put back (:func:`kb.engine.unfold.restore`; a change that does not fit is damage)."""
        segment, local = self._segment_of(row)
        try:
            if folded is None:
                folded = segment.passage_text(local).decode("utf-8")
            return unfold.restore(folded, *segment.changes(local))
        except ValueError as exc:
            raise IndexDamagedError(f"{segment.path.name}: the text of row {local} cannot be put back ({exc}): "
                                    "run `kb check`, then `kb build`") from exc

    def texts(self, rows: np.ndarray) -> list[bytes]:
        """The folded texts of many passages, in the order of ``rows``: what :meth:`text` gives each,
        read with one ``pread`` per run of passages lying close together in a segment's ``text.bin``."""
        rows = np.asarray(rows, dtype=np.int64)
        out: list[bytes] = [b""] * int(rows.size)
        for data, lo, at, starts, ends in self._runs(rows):
            for i, s, e in zip(at, starts, ends):
                out[i] = data[s - lo:e - lo]
        return out

    def holding(self, rows: np.ndarray, holds) -> np.ndarray:
        """Which of ``rows`` pass ``holds(data, start, end)``, their folded text being
        ``data[start:end]``: read as :meth:`texts` reads them, without copying each passage out (a
        phrase's candidates, ~12,000 for ``"高质量发展"`` at lawtext-gov scale, are mostly whole
        documents' runs of passages: one ``pread`` a run, then a bounded ``find`` a passage)."""
        rows = np.asarray(rows, dtype=np.int64)
        held: list[int] = []
        for data, lo, at, starts, ends in self._runs(rows):
            held.extend(i for i, s, e in zip(at, starts, ends) if holds(data, s - lo, e - lo))
        out = np.zeros(rows.size, bool)
        out[held] = True
        return out

    def _runs(self, rows: np.ndarray):
        """(bytes read, their offset, positions in ``rows``, starts, ends; the last three as lists) per
        run of passages lying within ``TEXT_GAP`` of each other in one segment's text (at most
        ``TEXT_RUN`` bytes a read). The runs are found with array operations, so what a run costs in
        Python is its ``pread`` (~5,700 runs for ``"居民人均可支配收入"``: 24 → 9 ms)."""
        if not rows.size:
            return
        segs = np.searchsorted(self.bases, rows, side="right") - 1
        for seg in np.unique(segs).tolist():
            segment = self.segments[seg]
            at = np.flatnonzero(segs == seg)
            local = rows[at] - int(self.bases[seg])
            starts, ends = segment.text_offsets[local].astype(np.int64), segment.text_offsets[local + 1].astype(np.int64)
            order = np.argsort(starts, kind="stable")
            at, starts, ends = at[order], starts[order], ends[order]
            reach = np.maximum.accumulate(ends)
            # a new run where the next passage starts too far on
            begins = np.flatnonzero(np.concatenate(([True], starts[1:] - reach[:-1] > TEXT_GAP)))
            stops = np.append(begins[1:], starts.size)
            his = np.maximum.reduceat(ends, begins)
            at_l, starts_l, ends_l = at.tolist(), starts.tolist(), ends.tolist()
            for b, k, hi in zip(begins.tolist(), stops.tolist(), his.tolist()):
                lo = starts_l[b]
                if hi - lo > TEXT_RUN:  # too long for one read: each passage on its own
                    for j in range(b, k):
                        yield (segment.text_bytes(starts_l[j], ends_l[j]), starts_l[j],
                               at_l[j:j + 1], starts_l[j:j + 1], ends_l[j:j + 1])
                else:
                    yield segment.text_bytes(lo, hi), lo, at_l[b:k], starts_l[b:k], ends_l[b:k]
