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
import re
import shutil
import threading
import weakref
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from kb.text import analysis, ngrams
from kb.text.places import place_words
from kb.errors import IndexDamagedError
from kb.models import Chunked, Passage

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


class SegmentBuilder:
    """Collects the postings of the documents one worker indexes, then writes them as a segment.

    >>> from kb.chunk.chunker import chunk; from kb.models import Document
    >>> b = SegmentBuilder()
    >>> filed = b.add(chunk(Document(doc_id="d", path="d.txt", title="T", body="一、治超\\n全年治超检测12万辆次。")), fid=1)
    >>> filed[0].words, filed[0].meta
    (['全年', '治超', '检测', '12', '万辆次'], ['t', '一', '治超'])
    >>> b.rows, b.pnums, b.texts[0].decode(), b.lengths
    (1, [1048576], '全年治超检测12万辆次。', [(5, 3)])
    """

    def __init__(self) -> None:
        self.rows = 0
        self.text_bytes = 0
        self.pnums: list[int] = []
        self.lengths: list[tuple[int, int]] = []  # (words, meta words) per row
        self.years: list[int] = []  # the year each row's section reports on, 0 unknown (kb.chunk.docmeta)
        self.texts: list[bytes] = []
        # one (keys, rows, tfs) array triple per family per document: few Python objects
        self._parts: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]] = {f: [] for f in FAMILIES}
        self._key_of: dict[str, int] = {}

    def _counted(self, words: list[str], row: int, out: list) -> None:
        counts = Counter(words)
        key_of = self._key_of
        keys = np.fromiter((key_of.get(w) or key_of.setdefault(w, word_key(w)) for w in counts),
                           dtype=np.uint64, count=len(counts))
        tfs = np.minimum(np.fromiter(counts.values(), dtype=np.int64, count=len(counts)), TF_MAX)
        out.append((keys, np.full(len(counts), row, dtype=np.uint32), tfs.astype(np.uint16)))

    def add(self, chunked: Chunked, fid: int, folded_body: str | None = None) -> list[Filed]:
        """File every searchable passage of one document under its words, title words and pairs;
        returns the words each was filed under, in row order.

        The document's place (and what a query may call it: 山东 for 山东省, 全国 for 国务院 and 国家统计局,
        :func:`kb.text.places.place_words`) and kind count as title words of every passage, so ``山东``
        finds a report whose title names no place but whose folder does.
        """
        doc = chunked.document
        body = folded_body if folded_body is not None else analysis.fold(doc.body)
        described = analysis.fold("\n".join(w for w in (*place_words(doc.place), doc.doctype) if w))
        doc_words = list(dict.fromkeys([w for w in described.split("\n") if w]
                                       + analysis.search_words(described, folded=True)))
        meta_cache: dict[tuple[str, ...], tuple[list[str], np.ndarray]] = {}
        spans, first_row = [], self.rows
        found: dict[str, list] = {f: [] for f in FAMILIES}
        filed: list[Filed] = []
        for p in chunked.passages:
            if not is_indexed(p.anchor):
                continue
            cached = meta_cache.get(p.section_path)
            if cached is None:  # (a line break: no pair spans title and heading)
                heads = analysis.fold("\n".join((doc.title,) + p.section_path))
                title_words = analysis.search_words(heads, folded=True)
                held = set(title_words)  # a place the title names already is not filed twice
                cached = meta_cache[p.section_path] = (title_words + [w for w in doc_words if w not in held],
                                                       ngrams.term_keys(heads))
            meta, meta_pairs = cached
            text = body[p.start:p.end]
            words = analysis.word_texts(text, folded=True)
            row = self.rows
            self._counted(words, row, found["words"])
            self._counted(meta, row, found["meta"])
            found["metagrams"].append((_pack(meta_pairs, np.full(meta_pairs.size, row, dtype=np.uint32)), None, None))
            self.pnums.append((fid << ngrams.PNUM_SHIFT) | p.ordinal)
            self.lengths.append((len(words), len(meta)))
            self.years.append(p.year or 0)
            encoded = text.encode("utf-8")
            self.texts.append(encoded)
            self.text_bytes += len(encoded)
            spans.append((p.start, p.end))
            filed.append(Filed(p, words, meta))
            self.rows += 1
        keys, span_index = ngrams.document_pairs(body, spans)
        found["grams"].append((_pack(keys, (span_index + first_row).astype(np.uint32)), None, None))
        for family, parts in found.items():
            if parts:
                with_tf = family in WITH_TF  # pairs come packed: (key, row) in one uint64
                self._parts[family].append((_cat([k for k, _, _ in parts], np.uint64),
                                            _cat([r for _, r, _ in parts], np.uint32) if with_tf else None,
                                            _cat([t for _, _, t in parts], np.uint16) if with_tf else None))
        return filed

    def write(self, directory: Path) -> None:
        """Save the segment into ``directory`` (created; must not exist), emptying the builder."""
        directory.mkdir(parents=True)
        np.save(directory / "pnums.npy", np.array(self.pnums, dtype=np.uint64))
        np.save(directory / "lengths.npy", np.array(self.lengths, dtype=np.uint32).reshape(-1, 2))
        np.save(directory / "years.npy", np.array(self.years, dtype=np.int16))
        offsets = np.zeros(len(self.texts) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in self.texts], out=offsets[1:])
        np.save(directory / "text_offsets.npy", offsets)
        with open(directory / "text.bin", "wb") as fh:
            fh.writelines(self.texts)
        self.texts = []
        for family in FAMILIES:
            parts, self._parts[family] = self._parts[family], []
            keys = _cat([k for k, _, _ in parts], np.uint64)
            if family in WITH_TF:
                rows, tfs = _cat([r for _, r, _ in parts], np.uint32), _cat([t for _, _, t in parts], np.uint16)
                del parts
                written = _write_postings(directory, family, keys, rows, tfs)
                if family == "words":
                    _write_vocabulary(directory, self._key_of, *written)
            else:
                del parts
                _write_packed(directory, family, keys)


def _cat(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype)


_ROW_BITS = 22  # pairs' keys are < 2**42: (key, row) packs into one uint64 while rows < 2**22


def _pack(keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return (keys.astype(np.uint64) << np.uint64(_ROW_BITS)) | rows.astype(np.uint64)


def _write_postings(directory: Path, family: str, keys: np.ndarray, rows: np.ndarray,
                    tfs: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Sort by key, rows ascending within a key (they were appended in row order), and save.
    Returns the family's (distinct keys, offsets), as saved."""
    if tfs is None and keys.size and int(keys.max()) < 1 << (64 - _ROW_BITS) and int(rows.max()) < 1 << _ROW_BITS:
        return _write_packed(directory, family, _pack(keys, rows))
    order = np.argsort(keys, kind="stable")
    keys, rows = keys[order], rows[order]
    tfs = tfs[order] if tfs is not None else None
    del order
    return _save_sorted(directory, family, keys, rows, tfs)


def _write_packed(directory: Path, family: str, packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Character pairs, the biggest family: one in-place sort of packed numbers, no index array."""
    packed.sort()
    rows = (packed & np.uint64((1 << _ROW_BITS) - 1)).astype(np.uint32)
    packed >>= np.uint64(_ROW_BITS)
    return _save_sorted(directory, family, packed, rows, None)


def _save_sorted(directory: Path, family: str, keys: np.ndarray, rows: np.ndarray,
                 tfs: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    starts = np.flatnonzero(np.diff(keys)) + 1 if keys.size else np.empty(0, np.int64)
    if keys.size:
        starts = np.concatenate(([0], starts))
    distinct, offsets = keys[starts], np.append(starts, keys.size).astype(np.int64)
    np.save(directory / f"{family}.keys.npy", distinct)
    np.save(directory / f"{family}.offsets.npy", offsets)
    np.save(directory / f"{family}.rows.npy", rows)
    if tfs is not None:
        np.save(directory / f"{family}.tfs.npy", tfs)
    return distinct, offsets


# --- vocabulary: the words behind the hashes, for spelling correction (kb.query.spell) ---------------------

VOCAB_WORDS = "vocab.txt"  # the words, one a line, in the order of their keys …
VOCAB_KEYS = "vocab.keys.npy"  # … their keys (word_key, ascending) …
VOCAB_DFS = "vocab.dfs.npy"  # … and the passages (rows) whose words hold each
_VOCAB_WORD = re.compile(r"[\u3007\u3400-\u9fff\uf900-\ufaff]{2,8}")


def _write_vocabulary(directory: Path, key_of: dict[str, int], keys: np.ndarray, offsets: np.ndarray) -> None:
    """Save a segment's vocabulary: its CJK words of 2–8 characters and the user-dictionary terms it
    holds, each with its document frequency in the ``words`` family (given as the family's distinct
    ``keys`` and ``offsets``). A word met only in titles and headings (``meta``) has none there."""
    fullmatch, user = _VOCAB_WORD.fullmatch, analysis.user_words()
    words = [w for w in key_of if fullmatch(w) is not None or w in user]
    _save_vocabulary(directory, words, np.fromiter((key_of[w] for w in words), dtype=np.uint64, count=len(words)),
                     keys, offsets)


def _save_vocabulary(directory: Path, words: list[str], word_keys: np.ndarray, keys: np.ndarray,
                     offsets: np.ndarray) -> None:
    """Save ``words`` (with their ``word_keys``) that the family ``keys``/``offsets`` holds, with their
    document frequencies."""
    if keys.size and word_keys.size:
        at = np.minimum(np.searchsorted(keys, word_keys), keys.size - 1)
        dfs = np.where(keys[at] == word_keys, offsets[at + 1] - offsets[at], 0)
    else:
        dfs = np.zeros(word_keys.size, np.int64)
    order = np.argsort(word_keys, kind="stable")
    order = order[dfs[order] > 0]
    np.save(directory / VOCAB_KEYS, word_keys[order])
    np.save(directory / VOCAB_DFS, dfs[order].astype(np.uint32))
    with open(directory / VOCAB_WORDS, "w", encoding="utf-8") as fh:
        fh.writelines(f"{words[i]}\n" for i in order.tolist())


def read_vocabulary(directory: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A segment's vocabulary as (words, their keys ascending, their document frequencies); empty for
    a segment saved without one (or with a damaged one)."""
    directory = Path(directory)
    try:
        keys, dfs = np.load(directory / VOCAB_KEYS), np.load(directory / VOCAB_DFS)
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
            _shape, _fortran, dtype = read_header(fh)
            return cls(path, fh.tell(), dtype)


class Segment:
    """One segment: keys, offsets and per-row arrays in memory; postings and text read on demand."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory)
        self.pnums = np.load(self.path / "pnums.npy")
        self.lengths = np.load(self.path / "lengths.npy")
        self.text_offsets = np.load(self.path / "text_offsets.npy")
        self.size = int(self.pnums.size)
        years = self.path / "years.npy"  # a segment saved before passages had years: all unknown
        self.years = np.load(years) if years.is_file() else np.zeros(self.size, np.int16)
        self._text = _OnDisk(self.path / "text.bin")
        self._postings = {}
        for family in FAMILIES:
            tfs = self.path / f"{family}.tfs.npy"
            self._postings[family] = (np.load(self.path / f"{family}.keys.npy"),
                                      np.load(self.path / f"{family}.offsets.npy"),
                                      _OnDisk.npy(self.path / f"{family}.rows.npy"),
                                      _OnDisk.npy(tfs) if tfs.is_file() else None)

    def lookup(self, family: str, key: int) -> tuple[np.ndarray, np.ndarray | None]:
        keys, offsets, rows, tfs = self._postings[family]
        i = int(np.searchsorted(keys, np.uint64(key)))
        if i >= keys.size or int(keys[i]) != key:
            return _NO_ROWS, (None if tfs is None else _NO_TFS)
        a, b = int(offsets[i]), int(offsets[i + 1])
        return rows.items(a, b), (None if tfs is None else tfs.items(a, b))

    def all_postings(self, family: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(key of each posting, rows, tfs) of a whole family, memory-mapped: for merging segments."""
        keys, offsets, _rows, _tfs = self._postings[family]
        load = lambda name: np.load(self.path / name, mmap_mode="r")  # noqa: E731
        tfs = self.path / f"{family}.tfs.npy"
        return (np.repeat(keys, np.diff(offsets)), load(f"{family}.rows.npy"),
                load(tfs.name) if tfs.is_file() else None)

    def passage_text(self, row: int) -> bytes:
        return self._text.bytes(int(self.text_offsets[row]), int(self.text_offsets[row + 1]))

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
                rows.append(r.astype(np.int64) + base)
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

    def char_rows(self, folded: str, family: str = "grams") -> np.ndarray:
        """Rows holding every character pair (or lone character) of ``folded`` in their text (or, with
        ``family="metagrams"``, in their title and headings); rarest pair first."""
        keys = ngrams.query_keys(folded)
        if keys.size == 0:
            return np.empty(0, np.int64)
        lists = sorted((self.lookup(family, int(k))[0] for k in keys), key=len)
        result = lists[0]
        for other in lists[1:]:
            if result.size == 0:
                break
            at = np.minimum(np.searchsorted(other, result), other.size - 1)
            result = result[other[at] == result] if other.size else other
        return result

    def text(self, row: int) -> bytes:
        """The folded text of one passage, UTF-8."""
        seg = int(np.searchsorted(self.bases, row, side="right")) - 1
        return self.segments[seg].passage_text(row - int(self.bases[seg]))

    def texts(self, rows: np.ndarray) -> list[bytes]:
        """The folded texts of many passages, in the order of ``rows``: what :meth:`text` gives each,
        read with one ``pread`` per run of passages lying close together in a segment's ``text.bin``
        (a phrase's candidates, ~12,000 for ``"高质量发展"`` at lawtext-gov scale, are mostly whole
        documents' runs of passages: read in ~22 ms, not ~60 ms one by one)."""
        rows = np.asarray(rows, dtype=np.int64)
        out: list[bytes] = [b""] * int(rows.size)
        for data, lo, at, starts, ends in self._runs(rows):
            for i, s, e in zip(at.tolist(), starts.tolist(), ends.tolist()):
                out[i] = data[s - lo:e - lo]
        return out

    def _runs(self, rows: np.ndarray):
        """(bytes read, their offset, positions in ``rows``, starts, ends) per run of passages lying
        within ``TEXT_GAP`` of each other in one segment's text (at most ``TEXT_RUN`` bytes a read)."""
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
            # a new run where the next passage starts too far on, or would make the read too long
            gap = np.concatenate(([True], starts[1:] - np.maximum.accumulate(ends)[:-1] > TEXT_GAP))
            begin = 0
            for k in np.flatnonzero(gap)[1:].tolist() + [int(starts.size)]:
                lo, hi = int(starts[begin]), int(ends[begin:k].max())
                if hi - lo > TEXT_RUN:  # too long for one read: each passage on its own
                    for j in range(begin, k):
                        yield (segment.text_bytes(int(starts[j]), int(ends[j])), int(starts[j]),
                               at[j:j + 1], starts[j:j + 1], ends[j:j + 1])
                else:
                    yield segment.text_bytes(lo, hi), lo, at[begin:k], starts[begin:k], ends[begin:k]
                begin = k


def segment_rows(directory: Path, live_fids: set[int]) -> tuple[int, int]:
    """(rows, live rows) of a saved segment."""
    pnums = np.load(Path(directory) / "pnums.npy", mmap_mode="r")
    fids = (np.asarray(pnums) >> np.uint64(ngrams.PNUM_SHIFT)).astype(np.int64)
    return int(pnums.size), int(np.isin(fids, np.fromiter(live_fids, dtype=np.int64, count=len(live_fids))).sum())


def merge_segments(version_dir: Path, names: list[str], live_fids: set[int], into: str) -> None:
    """Write the live rows of segments ``names`` as one new segment ``into``, then remove them."""
    version_dir = Path(version_dir)
    index = TextIndex(version_dir, names, live_fids)
    keep = np.nonzero(index.live)[0]
    new_row = np.full(index.size, -1, dtype=np.int64)
    new_row[keep] = np.arange(keep.size)
    out = version_dir / into
    out.mkdir()
    np.save(out / "pnums.npy", index.pnums[keep])
    np.save(out / "lengths.npy", np.stack([index.word_lengths[keep], index.meta_lengths[keep]], axis=1)
            .astype(np.uint32).reshape(-1, 2))
    np.save(out / "years.npy", index.row_years[keep])
    lengths = np.zeros(keep.size, dtype=np.int64)
    with open(out / "text.bin", "wb") as fh:
        for i, row in enumerate(keep.tolist()):
            lengths[i] = fh.write(index.text(row))
    np.save(out / "text_offsets.npy", np.concatenate(([0], np.cumsum(lengths))).astype(np.int64))
    for family in FAMILIES:
        keys_parts, rows_parts, tfs_parts = [], [], []
        for seg, base in zip(index.segments, index.bases):
            keys, rows, tfs = seg.all_postings(family)
            rows = new_row[np.asarray(rows).astype(np.int64) + base]
            alive = rows >= 0
            keys_parts.append(keys[alive])
            rows_parts.append(rows[alive].astype(np.uint32))
            if tfs is not None:
                tfs_parts.append(np.asarray(tfs)[alive])
        written = _write_postings(out, family, _cat(keys_parts, np.uint64), _cat(rows_parts, np.uint32),
                                  _cat(tfs_parts, np.uint16) if family in WITH_TF else None)
        if family == "words":  # the words of the merged vocabularies, counted again over live rows only
            words, word_keys, _dfs = _combined_vocabulary([seg.path for seg in index.segments])
            _save_vocabulary(out, words, word_keys, *written)
        del written
    del index
    for name in names:
        shutil.rmtree(version_dir / name)
