"""A passage's text stored once: its folded text, plus the few characters folding changed.

:func:`kb.text.analysis.fold` keeps the length of a text and changes few of its characters (on
lawtext-gov ~4.5%, mostly ``，`` → ``,`` and ``（`` → ``(``), so a segment keeps the folded text the
phrase check and the highlighter read (``text.bin``) and, for each passage, where its original
differs and what stood there (``unfold.*.npy``): the original is put back from them, exactly.

>>> at, chars = changes("交通，投资（亿元）ＡＢ", "交通,投资(亿元)ab")
>>> at.tolist(), "".join(map(chr, chars.tolist()))
([2, 5, 8, 9, 10], '，（）ＡＢ')
>>> restore("交通,投资(亿元)ab", at, chars)
'交通，投资（亿元）ＡＢ'
>>> changes("已折叠", "已折叠")[0].size, restore("已折叠", *changes("已折叠", "已折叠"))
(0, '已折叠')
"""

from __future__ import annotations

import numpy as np


def changes(original: str, folded: str) -> tuple[np.ndarray, np.ndarray]:
    """(positions, code points): where ``folded`` differs from ``original`` (the same length), and the
    original's characters there, both ``uint32``."""
    a = np.frombuffer(original.encode("utf-32-le"), np.uint32)
    b = np.frombuffer(folded.encode("utf-32-le"), np.uint32)
    if a.size != b.size:
        raise ValueError(f"folding changed the length of a text ({a.size} → {b.size} characters)")
    at = np.flatnonzero(a != b).astype(np.uint32)
    return at, a[at]


def restore(folded: str, at: np.ndarray, chars: np.ndarray) -> str:
    """The original text: ``folded`` with the characters :func:`changes` recorded put back (a position
    past the end is damage: ``ValueError``)."""
    if not len(at):
        return folded
    points = np.frombuffer(folded.encode("utf-32-le"), np.uint32).copy()
    at = np.asarray(at, dtype=np.int64)
    if int(at.max()) >= points.size:
        raise ValueError("a recorded change lies past the end of its passage")
    points[at] = np.asarray(chars, dtype=np.uint32)
    return points.tobytes().decode("utf-32-le")
