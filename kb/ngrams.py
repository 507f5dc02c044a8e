"""Folded text → character-bigram keys, and the compact bigram → passages index built from them.

Whoosh indexes jieba *words*. Words alone lose terms that jieba cuts differently in context
(``七连创`` in ``七连创为`` is cut ``七连/创为``; ``岭路先锋`` in ``“岭”路先锋``). This side index
recovers them: every passage is filed under each pair of adjacent CJK characters it holds (a lone
CJK character stands for itself), and a term matches the passages holding all of its pairs.

It is built with numpy, not Whoosh postings: a bigram posting costs Whoosh ~3 µs of Python, which
made bigrams most of the build time; here it is a few nanoseconds. On disk a version holds three
arrays (loaded with ``mmap``): sorted unique ``keys``, ``offsets`` into ``pnums``, and ``pnums``.

A key is ``cp1 << 21 | cp2`` for a pair and ``cp`` for a lone character (code points < 2**21).
A passage number (``pnum``) is ``file_id << 20 | passage_ordinal``, stable for the life of a file.

>>> len(term_keys("七连创")), len(term_keys("a")), len(term_keys("站"))
(2, 0, 1)
>>> keys, pnums = document_pairs("七连创为全年。", [(0, 7)], file_id=3)
>>> int(pnums[0]) >> PNUM_SHIFT, bool(np.isin(term_keys("七连创"), keys).all())
(3, True)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PNUM_SHIFT = 20  # up to ~1M passages per file
_SHIFT = np.uint64(21)


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _is_cjk(cps: np.ndarray) -> np.ndarray:
    return ((cps >= 0x3400) & (cps <= 0x9FFF)) | ((cps >= 0xF900) & (cps <= 0xFAFF))


# Quotes and brackets do not break a pair: “岭”路先锋 holds 岭路 as the query 岭路先锋 does.
TRANSPARENT = "“”‘’「」『』《》〈〉()（）【】[]\"' "
_TRANSPARENT_CPS = np.array(sorted({ord(c) for c in TRANSPARENT}), dtype=np.uint32)


def text_keys(folded: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every bigram/lone-character key of ``folded`` with the offsets where it starts and ends."""
    cps = _codepoints(folded)
    empty = np.empty(0, np.int64)
    if cps.size == 0:
        return np.empty(0, np.uint64), empty, empty
    at = np.nonzero(~np.isin(cps, _TRANSPARENT_CPS))[0]
    cps = cps[at]
    if cps.size == 0:
        return np.empty(0, np.uint64), empty, empty
    cjk = _is_cjk(cps)
    pair = np.nonzero(cjk[:-1] & cjk[1:])[0]
    pair_keys = (cps[pair].astype(np.uint64) << _SHIFT) | cps[pair + 1].astype(np.uint64)
    prev_cjk = np.concatenate(([False], cjk[:-1]))
    next_cjk = np.concatenate((cjk[1:], [False]))
    lone = np.nonzero(cjk & ~prev_cjk & ~next_cjk)[0]
    keys = np.concatenate((pair_keys, cps[lone].astype(np.uint64)))
    starts = np.concatenate((at[pair], at[lone])).astype(np.int64)
    ends = np.concatenate((at[pair + 1] + 1, at[lone] + 1)).astype(np.int64)
    return keys, starts, ends


def term_keys(folded: str) -> np.ndarray:
    """The distinct keys a passage must hold to contain ``folded`` (empty: nothing to look up)."""
    keys, _, _ = text_keys(folded)
    return np.unique(keys)


def document_pairs(folded_body: str, spans: list[tuple[int, int]], file_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(keys, pnums): one entry per distinct key per passage; a pair never straddles two passages."""
    if not spans:
        return np.empty(0, np.uint64), np.empty(0, np.uint64)
    keys, starts, ends = text_keys(folded_body)
    span_starts = np.fromiter((s for s, _ in spans), dtype=np.int64, count=len(spans))
    span_ends = np.fromiter((e for _, e in spans), dtype=np.int64, count=len(spans))
    idx = np.searchsorted(span_starts, starts, side="right") - 1
    valid = idx >= 0
    idx_c = np.where(valid, idx, 0)
    valid &= ends <= span_ends[idx_c]
    keys, idx = keys[valid], idx[valid].astype(np.uint64)
    # keys < 2**42 and passage ordinals < 2**20: one 62-bit number makes (passage, key) unique cheaply
    packed = np.unique((idx << np.uint64(42)) | keys)
    local = packed >> np.uint64(42)
    keys = packed & np.uint64((1 << 42) - 1)
    pnums = (np.uint64(file_id) << np.uint64(PNUM_SHIFT)) | local
    return keys, pnums


def write_index(directory: Path, keys: np.ndarray, pnums: np.ndarray) -> None:
    """Sort (key, pnum) pairs by key and save the three arrays into ``directory``."""
    order = np.argsort(keys, kind="stable")
    keys_sorted = keys[order]
    pnums_sorted = pnums[order]
    unique, first = np.unique(keys_sorted, return_index=True)
    offsets = np.append(first, keys_sorted.size).astype(np.int64)
    np.save(directory / "ngram_keys.npy", unique)
    np.save(directory / "ngram_offsets.npy", offsets)
    np.save(directory / "ngram_pnums.npy", pnums_sorted)


def read_pairs(directory: Path) -> tuple[np.ndarray, np.ndarray]:
    """Expand a saved index back into (keys, pnums) pairs, for an incremental rebuild."""
    index = NgramIndex(directory)
    counts = np.diff(index.offsets)
    return np.repeat(np.asarray(index.keys), counts), np.asarray(index.pnums).copy()


class NgramIndex:
    """The saved arrays of one index version, memory-mapped."""

    def __init__(self, directory: Path) -> None:
        directory = Path(directory)
        if (directory / "ngram_keys.npy").is_file():
            self.keys = np.load(directory / "ngram_keys.npy", mmap_mode="r")
            self.offsets = np.load(directory / "ngram_offsets.npy", mmap_mode="r")
            self.pnums = np.load(directory / "ngram_pnums.npy", mmap_mode="r")
        else:
            self.keys = np.empty(0, np.uint64)
            self.offsets = np.zeros(1, np.int64)
            self.pnums = np.empty(0, np.uint64)

    def postings(self, key: np.uint64) -> np.ndarray:
        i = int(np.searchsorted(self.keys, key))
        if i >= self.keys.size or self.keys[i] != key:
            return np.empty(0, np.uint64)
        return np.asarray(self.pnums[self.offsets[i]:self.offsets[i + 1]])

    def lookup(self, folded: str) -> np.ndarray:
        """Sorted pnums of passages holding every key of ``folded`` (rarest keys first)."""
        keys = term_keys(folded)
        if keys.size == 0:
            return np.empty(0, np.uint64)
        lists = sorted((self.postings(k) for k in keys), key=len)
        result = np.unique(lists[0])
        for other in lists[1:]:
            if result.size == 0:
                break
            result = result[np.isin(result, other, assume_unique=False)]
        return result
