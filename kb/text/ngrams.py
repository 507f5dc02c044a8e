"""Folded text → character-bigram keys, the terms of the ``grams`` postings in :mod:`kb.engine.textindex`.

Words alone lose terms that jieba cuts differently in context (``七连创`` in ``七连创为`` is cut
``七连/创为``; ``岭路先锋`` in ``“岭”路先锋``). Character pairs recover them: every passage is filed under each pair of adjacent CJK characters it holds (a lone
CJK character stands for itself), and a term matches the passages holding all of its pairs.

A key is ``cp1 << 21 | cp2`` for a pair and ``cp`` for a lone character (code points < 2**21).
A passage number (``pnum``) is ``file_id << 20 | passage_ordinal``, stable for the life of a file.

>>> len(term_keys("七连创")), len(term_keys("a")), len(term_keys("站"))
(2, 0, 1)
>>> keys, spans = document_pairs("七连创为全年。治超。", [(0, 7), (7, 10)])
>>> sorted(set(spans.tolist())), bool(np.isin(term_keys("七连创"), keys[spans == 0]).all())
([0, 1], True)
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

PNUM_SHIFT = 20  # up to ~1M passages per file
_SHIFT = np.uint64(21)


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _is_cjk(cps: np.ndarray) -> np.ndarray:
    return ((cps >= 0x3400) & (cps <= 0x9FFF)) | ((cps >= 0xF900) & (cps <= 0xFAFF)) | (cps == 0x3007)


# The see-through rule, the one place it is written: quotes, brackets, spaces and line breaks between
# two characters do not part them. “岭”路先锋 holds 岭路 as the query 岭路先锋 does, and 交通\n投资 holds
# 交通投资: for the pairs filed (:func:`text_keys`), a term's core (:func:`see_through_core`), the
# phrase check against a passage's text (kb.scoring) and the marks of a snippet (kb.highlight).
# TRANSPARENT: the quotes, brackets and space; SEE_THROUGH: those and the rest of the white space a
# passage keeps (folding makes U+3000 a space, so it is here for text not yet folded).
TRANSPARENT = "“”‘’「」『』《》〈〉()（）【】[]\"' "
SEE_THROUGH = TRANSPARENT + "\t\n\r\u3000"
_SEE_THROUGH_CPS = np.array(sorted({ord(c) for c in SEE_THROUGH}), dtype=np.uint32)
_SEE_THROUGH_RUN = "[" + re.escape(SEE_THROUGH) + "]*"


def see_through_core(text: str) -> str:
    r"""``text`` without what the rule sees through: what must be written together.

    >>> see_through_core("“交通”\n投资　项目")
    '交通投资项目'
    """
    return "".join(ch for ch in text if ch not in SEE_THROUGH)


@lru_cache(maxsize=4096)
def see_through(term: str) -> re.Pattern[str]:
    r"""A pattern finding ``term``'s characters with anything the rule sees through between them.

    >>> [m.group() for m in see_through("交通投资").finditer("交通\n投资，交通　投资，“交通”投资，交通、投资")]
    ['交通\n投资', '交通\u3000投资', '交通”投资']
    """
    return re.compile(_SEE_THROUGH_RUN.join(re.escape(ch) for ch in term))


@lru_cache(maxsize=4096)
def see_through_bytes(term: str) -> re.Pattern[bytes]:
    """:func:`see_through` for UTF-8 text (a passage's folded text as the index keeps it).

    >>> see_through_bytes("岭路先锋").search("“岭”路先锋".encode()) is not None
    True
    """
    gap = b"(?:" + b"|".join(re.escape(c.encode()) for c in SEE_THROUGH) + b")*"
    return re.compile(gap.join(re.escape(ch.encode()) for ch in term))


def text_keys(folded: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every bigram/lone-character key of ``folded`` with the offsets where it starts and ends."""
    cps = _codepoints(folded)
    empty = np.empty(0, np.int64)
    if cps.size == 0:
        return np.empty(0, np.uint64), empty, empty
    at = np.nonzero(~np.isin(cps, _SEE_THROUGH_CPS))[0]
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


@lru_cache(maxsize=8192)
def query_keys(folded: str) -> np.ndarray:
    """:func:`term_keys` of a query's term, kept: a query looks the same terms up several times
    (candidates, scoring, phrase checks) and the next query often again. Read-only.

    >>> query_keys("七连创").tolist() == term_keys("七连创").tolist(), query_keys("七连创").flags.writeable
    (True, False)
    """
    keys = term_keys(folded)
    keys.setflags(write=False)
    return keys


def document_pairs(folded_body: str, spans: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """(keys, span index): one entry per distinct key per span; a pair never straddles two spans."""
    if not spans:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    keys, starts, ends = text_keys(folded_body)
    span_starts = np.fromiter((s for s, _ in spans), dtype=np.int64, count=len(spans))
    span_ends = np.fromiter((e for _, e in spans), dtype=np.int64, count=len(spans))
    idx = np.searchsorted(span_starts, starts, side="right") - 1
    valid = idx >= 0
    idx_c = np.where(valid, idx, 0)
    valid &= ends <= span_ends[idx_c]
    keys, idx = keys[valid], idx[valid].astype(np.uint64)
    # keys < 2**42 and span indexes < 2**20: one 62-bit number makes (span, key) unique cheaply
    packed = np.sort((idx << np.uint64(42)) | keys)  # sort + mask: np.unique's hashing took 2 s on 7M keys
    if packed.size:
        packed = packed[np.concatenate(([True], packed[1:] != packed[:-1]))]
    return packed & np.uint64((1 << 42) - 1), (packed >> np.uint64(42)).astype(np.int64)
