"""Passages: a section's body → passages of 80–400 characters, split at 一是/二是, sentence ends, then clauses; lossless."""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left, bisect_right

from kb.models import Document, Passage
from kb.chunk.sections import _Node
from kb.chunk.tables import table_leads


TARGET_MIN = 80
TARGET_MAX = 400
HARD_MAX = 600
_SUBPOINT = re.compile(r"(?:(?<=[。；;！？!?:：\n])|^)\s*(?:[一二三四五六七八九十]|十[一二三四五六七八九])是")
_SENTENCE_SPLIT = re.compile(r"(?<=[。！？!?；;])(?![”’」』)）])|(?<=[。！？!?；;][”’」』)）])")
_CLAUSE_SPLIT = re.compile(r"(?<=[，,、：:])")


def _emit_passages(doc: Document, nodes: list[_Node], out: list[Passage], path: tuple[str, ...],
                   seen: dict[str, int]) -> None:
    for node in nodes:
        here = path + ((node.label,) if node is not None and node.anchor != "s0" else ())
        spans = _pack(doc.body, node.units)
        for (start, end), lead in zip(spans, table_leads(doc.body, node.units, spans)):
            text = doc.body[start:end]
            digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
            seen[digest] = seen.get(digest, 0) + 1
            key = digest if seen[digest] == 1 else f"{digest}-{seen[digest]}"
            out.append(Passage(
                passage_id=f"{doc.doc_id}.{key}",
                doc_id=doc.doc_id,
                anchor=f"p-{key}",
                ordinal=len(out),
                text=text,
                start=start,
                end=end,
                section_path=here,
                section_anchor=node.anchor,
                lead=lead,
            ))
        _emit_passages(doc, node.children, out, here, seen)


def _pack(body: str, units: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Paragraph spans → passage spans: split the long ones, join short neighbours."""
    pieces: list[tuple[int, int]] = []
    for start, end in units:
        pieces.extend(_split(body, start, end))
    merged: list[tuple[int, int]] = []
    for start, end in pieces:
        if merged:
            p_start, p_end = merged[-1]
            cur, nxt = p_end - p_start, end - start
            if (cur < TARGET_MIN or nxt < TARGET_MIN) and (end - p_start) <= TARGET_MAX:
                merged[-1] = (p_start, end)
                continue
        merged.append((start, end))
    return merged


def _split(body: str, start: int, end: int) -> list[tuple[int, int]]:
    """One paragraph span → spans of at most ``TARGET_MAX`` (``HARD_MAX`` for unbreakable text)."""
    if end - start <= TARGET_MAX:
        return [(start, end)]
    text = body[start:end]
    cuts = [m.start() for m in _SUBPOINT.finditer(text) if m.start() > 0]
    spans = _spans(start, text, cuts)
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if e - s <= TARGET_MAX:
            out.append((s, e))
        else:
            out.extend(_greedy(body, s, e, _SENTENCE_SPLIT, TARGET_MAX))
    return _trim(body, out)


def _greedy(body: str, start: int, end: int, splitter: re.Pattern[str], limit: int) -> list[tuple[int, int]]:
    """Cut ``body[start:end]`` where ``splitter`` allows into spans of at most ``limit``; cut what is still too long.

    The cuts are balanced: a 450-character paragraph becomes two of about 225, not 400 + 50, so no
    stub too short to stand as a passage is left at the end. Each cut is the boundary nearest to an
    even share of what remains, within ``limit`` of the previous cut.
    """
    text = body[start:end]
    bounds = [start + m.start() for m in splitter.finditer(text) if 0 < m.start() < len(text)]
    out: list[tuple[int, int]] = []
    cur = start
    while end - cur > limit:
        lo, hi = bisect_right(bounds, cur), bisect_right(bounds, cur + limit)
        if lo == hi:  # one unbroken run longer than the limit: take it whole, a finer splitter cuts it
            nxt = bounds[lo] if lo < len(bounds) else end
            out.append((cur, nxt))
            cur = nxt
            continue
        target = cur + (end - cur) / -(-(end - cur) // limit)
        at = min(max(bisect_left(bounds, target, lo, hi), lo), hi - 1)  # the boundary nearest the target
        if at + 1 < hi and abs(bounds[at + 1] - target) < abs(bounds[at] - target):
            at += 1
        if at > lo and abs(bounds[at - 1] - target) <= abs(bounds[at] - target):
            at -= 1
        cut = bounds[at]
        out.append((cur, cut))
        cur = cut
    if cur < end:
        out.append((cur, end))
    final: list[tuple[int, int]] = []
    for s, e in out:
        if e - s <= HARD_MAX:
            final.append((s, e))
        elif splitter is _SENTENCE_SPLIT:
            final.extend(_greedy(body, s, e, _CLAUSE_SPLIT, TARGET_MAX))
        else:
            final.extend((i, min(i + TARGET_MAX, e)) for i in range(s, e, TARGET_MAX))
    return final


def _spans(offset: int, text: str, cuts: list[int]) -> list[tuple[int, int]]:
    points = [0] + sorted(set(cuts)) + [len(text)]
    return [(offset + a, offset + b) for a, b in zip(points, points[1:]) if b > a]


def _trim(body: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for s, e in spans:
        while s < e and body[s].isspace():
            s += 1
        while e > s and body[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out
