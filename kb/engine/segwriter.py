"""Segment writer: chunked documents → a text-index segment on disk (sorted postings, vocabulary); segments merged."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import numpy as np

from kb.text import analysis, ngrams
from kb.engine import unfold
from kb.text.places import place_words
from kb.models import Chunked
from kb.engine.textindex import (FAMILIES, Filed, TF_MAX, TextIndex, VOCAB_DFS, VOCAB_KEYS, VOCAB_WORDS, WITH_TF,
                                 _combined_vocabulary, is_indexed, word_key)
from kb.store.components import SegmentComponent, postings_file


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
        # what folding changed in each row's text (kb.engine.unfold): the original is not stored again
        self.unfold_counts: list[int] = []
        self.unfold_at: list[np.ndarray] = []
        self.unfold_chars: list[np.ndarray] = []
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
        meta_cache: dict[tuple[tuple[str, ...], str], tuple[list[str], np.ndarray]] = {}
        spans, first_row = [], self.rows
        found: dict[str, list] = {f: [] for f in FAMILIES}
        filed: list[Filed] = []
        for p in chunked.passages:
            if not is_indexed(p.anchor):
                continue
            cached = meta_cache.get((p.section_path, p.lead))
            if cached is None:  # (a line break: no pair spans title and heading; a table's caption is one)
                heads = analysis.fold("\n".join((doc.title,) + p.section_path + ((p.lead,) if p.lead else ())))
                title_words = analysis.search_words(heads, folded=True)
                held = set(title_words)  # a place the title names already is not filed twice
                cached = meta_cache[(p.section_path, p.lead)] = (title_words + [w for w in doc_words if w not in held],
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
            self._unfold(*unfold.changes(doc.body[p.start:p.end], text))
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

    def _unfold(self, at: np.ndarray, chars: np.ndarray) -> None:
        self.unfold_counts.append(int(at.size))
        if at.size:
            self.unfold_at.append(at)
            self.unfold_chars.append(chars)

    def write(self, directory: Path) -> None:
        """Save the segment into ``directory`` (created; must not exist), emptying the builder."""
        directory.mkdir(parents=True)
        _save_unfold(directory, self.unfold_counts, self.unfold_at, self.unfold_chars)
        self.unfold_counts, self.unfold_at, self.unfold_chars = [], [], []
        np.save(SegmentComponent.PNUMS.path(directory), np.array(self.pnums, dtype=np.uint64))
        np.save(SegmentComponent.LENGTHS.path(directory), np.array(self.lengths, dtype=np.uint32).reshape(-1, 2))
        np.save(SegmentComponent.YEARS.path(directory), np.array(self.years, dtype=np.int16))
        offsets = np.zeros(len(self.texts) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in self.texts], out=offsets[1:])
        np.save(SegmentComponent.TEXT_OFFSETS.path(directory), offsets_array(offsets))
        with open(SegmentComponent.TEXT.path(directory), "wb") as fh:
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


def _save_unfold(directory: Path, counts: list[int], at: list[np.ndarray], chars: list[np.ndarray]) -> None:
    """Each row's changes (:mod:`kb.engine.unfold`): where they start, their positions, their characters."""
    offsets = np.zeros(len(counts) + 1, dtype=np.uint32)
    np.cumsum(counts, out=offsets[1:])
    np.save(SegmentComponent.UNFOLD_OFFSETS.path(directory), offsets)
    np.save(SegmentComponent.UNFOLD_AT.path(directory), narrowest(_cat(at, np.uint32)))
    np.save(SegmentComponent.UNFOLD_CHARS.path(directory), narrowest(_cat(chars, np.uint32)))


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
    distinct, offsets = keys[starts], offsets_array(np.append(starts, keys.size))
    rows, tfs = narrowest(rows), None if tfs is None else narrowest(tfs)
    np.save(directory / postings_file(family, "keys"), distinct)
    np.save(directory / postings_file(family, "offsets"), offsets)
    np.save(directory / postings_file(family, "rows"), rows)
    if tfs is not None:
        np.save(directory / postings_file(family, "tfs"), tfs)
    return distinct, offsets


def offsets_array(values) -> np.ndarray:
    """Ascending offsets (into a family's postings, a segment's text) as ``uint32`` while they fit,
    half the bytes of ``int64``; readers take them as numbers (``int(...)``, ``astype``).

    >>> offsets_array([0, 3, 7]).dtype.name, offsets_array([0, 1 << 32]).dtype.name
    ('uint32', 'int64')
    """
    values = np.asarray(values, dtype=np.int64)
    return values.astype(np.uint32) if not values.size or int(values[-1]) < 1 << 32 else values


def narrowest(values: np.ndarray) -> np.ndarray:
    """Unsigned values in the narrowest type holding them all: a segment's rows (at most ``2**16`` of
    them, ``kb.build.workers.SEGMENT_ROWS``) as ``uint16`` and its term frequencies as ``uint8``, half
    and a quarter of the bytes ``uint32``/``uint16`` take. Readers widen what they read (``astype``).

    >>> [narrowest(np.array(v, np.uint32)).dtype.name for v in ([0, 65535], [65536], [3, 255], [])]
    ['uint16', 'uint32', 'uint8', 'uint8']
    """
    top = int(values.max()) if values.size else 0
    for dtype in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(dtype).max:
            return values.astype(dtype, copy=False)
    return values


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


def segment_rows(directory: Path, live_fids: set[int]) -> tuple[int, int]:
    """(rows, live rows) of a saved segment."""
    pnums = np.load(SegmentComponent.PNUMS.path(directory), mmap_mode="r")
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
    np.save(SegmentComponent.PNUMS.path(out), index.pnums[keep])
    np.save(SegmentComponent.LENGTHS.path(out), np.stack([index.word_lengths[keep], index.meta_lengths[keep]], axis=1)
            .astype(np.uint32).reshape(-1, 2))
    np.save(SegmentComponent.YEARS.path(out), index.row_years[keep])
    lengths = np.zeros(keep.size, dtype=np.int64)
    counts, at, chars = [], [], []
    with open(SegmentComponent.TEXT.path(out), "wb") as fh:
        for i, row in enumerate(keep.tolist()):
            lengths[i] = fh.write(index.text(row))
            row_at, row_chars = index.changes(row)
            counts.append(int(row_at.size))
            at.append(row_at)
            chars.append(row_chars)
    _save_unfold(out, counts, at, chars)
    del counts, at, chars
    np.save(SegmentComponent.TEXT_OFFSETS.path(out), offsets_array(np.concatenate(([0], np.cumsum(lengths)))))
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
