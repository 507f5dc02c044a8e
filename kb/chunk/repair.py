"""Repair: a body's lines → heading lines joined, lost markers and series parents inferred, glossaries flattened."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.text.headings import HeadingLine, _BYLINE, _CJK, _MAX_LEVEL, _SENTENCE_END, cn_to_int, heading_of


_REPAIR_STYLE = {0: "第{}部分", 1: "{}、", 2: "（{}）", 3: "{}.", 4: "（{}）"}
_GLOSSARY = re.compile(r"名词解释|名词注释|注释|注解|用语说明|词语说明")


@dataclass
class _Line:
    start: int
    end: int
    text: str
    heading: HeadingLine | None


def _lines(body: str) -> list[_Line]:
    out: list[_Line] = []
    pos = 0
    for raw in body.split("\n"):
        end = pos + len(raw)
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            out.append(_Line(pos + lead, pos + lead + len(stripped), stripped, heading_of(stripped)))
        pos = end + 1
    return out


def _join_broken_headings(lines: list[_Line]) -> None:
    """``二、“十四五”主要战略任务和`` / ``二〇三五年远景目标``: a heading the scraper broke over two lines.

    A heading that ends in a joining word (和, 及, 与, 的, 、) goes on in the next line when that line
    is short and no sentence; the two become one heading line (both are left out of passages).
    """
    i = 0
    while i + 1 < len(lines):
        h, nxt = lines[i].heading, lines[i + 1]
        if h is not None and not h.run_in and h.title.endswith(("和", "及", "与", "的", "、")) and \
                nxt.heading is None and 2 <= len(nxt.text) <= 20 and _CJK.search(nxt.text) and \
                not re.search(r"[。！？!?；;：:，,]", nxt.text):
            lines[i] = _Line(lines[i].start, nxt.end, lines[i].text + nxt.text,
                             HeadingLine(h.level, h.number, h.marker, h.title + nxt.text, False, h.repaired))
            del lines[i + 1]
        i += 1


def _is_bare_heading_candidate(line: _Line) -> bool:
    """A line that could be a heading whose marker is missing: short, no sentence punctuation."""
    text = line.text
    return (
        line.heading is None
        and 6 <= len(text) <= 40
        and _CJK.search(text) is not None
        and not re.search(r"[。！？!?；;：:]", text)
        and not re.match(r"^([一二三四五六七八九十]是|[-—>*\[（(［]|\d+[.．]\d)", text)  # 1.5亿元… is an amount
        and not _BYLINE.search(text)
    )


def _is_title_like(line: _Line) -> bool:
    """A bare candidate that reads as a title on its own: no commas, no spaces, not a byline."""
    text = line.text
    return _is_bare_heading_candidate(line) and len(text) <= 20 and not re.search(r"[，,、\s]", text)


def _is_body(lines: list[_Line], i: int) -> bool:
    return 0 <= i < len(lines) and (lines[i].heading is None or lines[i].heading.run_in)


def _infer_series_parents(lines: list[_Line]) -> None:
    """Find the unnumbered part headings above numbered series.

    Many reports number only their points — ``（一）…（六）`` after a bare line ``2024年工作回顾``,
    ``（一）…（十）`` after ``2025年工作安排`` — or restart ``一、`` under each part. When the top
    numbered level restarts at one (or is ``（一）``, so its parents cannot be numbered, or two
    title-like lines stand before the first series: ``过去五年工作回顾`` … ``2022年工作安排`` /
    ``一、…``), the bare line standing before each series is its parent: the last candidate line before the series,
    and any title-like line (short, no commas) between series. They become unnumbered headings one
    level up; nothing is renumbered.
    """
    numbered = [(i, ln.heading) for i, ln in enumerate(lines) if ln.heading is not None and ln.heading.number]
    if not numbered:
        return
    top = min(h.level for _i, h in numbered)
    if top == 0:
        return
    groups: list[tuple[int, list[int]]] = []  # (index after the explicit parent, series starts)
    begin = 0
    for i, ln in enumerate(lines):
        h = ln.heading
        if h is None:
            continue
        if h.level < top:
            begin = i + 1
        elif h.level == top and h.number and cn_to_int(h.number) == 1:
            if not groups or groups[-1][0] != begin:
                groups.append((begin, []))
            groups[-1][1].append(i)
    for begin, starts in groups:
        titled = [i for i in _parents_in(lines, begin, starts[0], last_too=False) if _is_title_like(lines[i])]
        if not (len(starts) >= 2 or (top >= 2 and begin == 0) or (begin == 0 and len(titled) >= 2)):
            continue
        chosen = _parents_in(lines, begin, starts[0], last_too=True)
        end = next((i for i in range(starts[-1] + 1, len(lines))
                    if lines[i].heading is not None and lines[i].heading.level < top), len(lines))
        for k, start in enumerate(starts):  # the regions between series begin after their last point
            nxt = starts[k + 1] if k + 1 < len(starts) else end
            last = _last_heading_at_or_above(lines, start, nxt, top)
            chosen += _parents_in(lines, last + 1, nxt, last_too=nxt != end)
        chosen = sorted(set(chosen))
        for i in chosen:
            lines[i].heading = HeadingLine(top - 1, "", "", lines[i].text, False)


def _last_heading_at_or_above(lines: list[_Line], lo: int, hi: int, level: int) -> int:
    return max((i for i in range(lo, hi) if lines[i].heading is not None and lines[i].heading.level <= level),
               default=lo - 1)


def _parents_in(lines: list[_Line], lo: int, hi: int, last_too: bool) -> list[int]:
    """Candidate parent lines in ``lines[lo:hi]``: title-like ones, and the last candidate if asked."""
    found = [i for i in range(lo, hi)
             if _is_bare_heading_candidate(lines[i])
             and (i == 0 or _is_body(lines, i - 1)) and (_is_body(lines, i + 1) or i + 1 == hi)]
    if not found:
        return []
    chosen = [i for k, i in enumerate(found)
              if _is_title_like(lines[i]) or _heads_a_series(lines, i, found[k + 1] if k + 1 < len(found) else None)]
    if last_too and found[-1] not in chosen:
        chosen.append(found[-1])
    return sorted(chosen)


def _heads_a_series(lines: list[_Line], i: int, next_candidate: int | None) -> bool:
    """Line ``i`` is the last candidate before a heading that opens a numbered series (``1.``, ``（一）``)."""
    stop = next_candidate if next_candidate is not None else len(lines)  # scan no further than needed
    nxt = next((j for j in range(i + 1, stop) if lines[j].heading is not None), None)
    if nxt is None:
        return False
    h = lines[nxt].heading
    return bool(h.number) and cn_to_int(h.number) == 1


def _fill_single_gaps(lines: list[_Line]) -> None:
    """``（三）`` … ``（五）`` with one line in between that can only be the lost ``（四）``.

    A heading line may end in ``。`` like a sentence, so :func:`_infer_lost_headings` passes it by.
    Where exactly one number is missing between two siblings and exactly one short line between
    them could carry it (at most 40 characters, no sentence end but the last), that line is it.
    """
    open_at: dict[int, int] = {}  # level → index of the last numbered heading at that level
    for i, line in enumerate(lines):
        h = line.heading
        if h is None:
            continue
        for lvl in [k for k in open_at if k > h.level]:
            del open_at[lvl]
        prev_i = open_at.get(h.level)
        open_at[h.level] = i
        if prev_i is None or not h.number or not lines[prev_i].heading.number:
            continue
        if cn_to_int(h.number) != cn_to_int(lines[prev_i].heading.number) + 2:
            continue
        between = lines[prev_i + 1:i]
        if any(ln.heading is not None and ln.heading.level <= h.level for ln in between):
            continue
        found = [k for k in range(prev_i + 1, i)
                 if lines[k].heading is None and 6 <= len(lines[k].text) <= 40
                 and _CJK.search(lines[k].text) and not _SENTENCE_END.search(lines[k].text[:-1])
                 and not _BYLINE.search(lines[k].text)
                 and _is_body(lines, k - 1) and _is_body(lines, k + 1) and k + 1 < i]
        if len(found) == 1:
            k = found[0]
            lines[k].heading = HeadingLine(h.level, "", "", lines[k].text.rstrip("。."), False, repaired=True)


def _infer_lost_headings(lines: list[_Line]) -> None:
    """Give a heading to a bare line that sits where a numbered sibling is missing.

    The line must come after body text inside a section of level ≥ 2, be followed by body text, and
    the numbering must leave a gap for it: the next sibling of that level is neither number + 1 nor
    a restart at one (then the line heads a new series and :func:`_infer_series_parents` decides).
    A title-like line after the last numbered point of the document closes it as an unnumbered
    top-level section (``加强政府自身建设`` after ``（八）``): no later sibling shows a gap to fill.
    """
    numbered_levels = [ln.heading.level for ln in lines if ln.heading is not None and ln.heading.number]
    top = min(numbered_levels) if numbered_levels else 1
    # the next heading at level ≤ L after each line; a heading made below is always behind every
    # later lookup, so these stay right and the pass stays linear on documents of many bare lines
    next_at: list[list[HeadingLine | None]] = []
    for level in range(_MAX_LEVEL + 1):
        ahead: list[HeadingLine | None] = [None] * len(lines)
        found: HeadingLine | None = None
        for j in range(len(lines) - 1, -1, -1):
            ahead[j] = found
            h = lines[j].heading
            if h is not None and h.level <= level:
                found = h
        next_at.append(ahead)
    last_at: dict[int, HeadingLine] = {}
    deepest: HeadingLine | None = None
    for i, line in enumerate(lines):
        h = line.heading
        if h is not None:
            for lvl in [k for k in last_at if k > h.level]:
                del last_at[lvl]
            last_at[h.level] = h
            deepest = h
            continue
        if deepest is None or deepest.level < 2 or not _is_bare_heading_candidate(line):
            continue
        if not (_is_body(lines, i - 1) and i + 1 < len(lines) and lines[i + 1].heading is None):
            continue
        sibling = last_at.get(deepest.level, deepest)
        nxt = next_at[min(deepest.level, _MAX_LEVEL)][i]
        if nxt is None:
            if _is_title_like(line) and top < deepest.level:
                line.heading = HeadingLine(top, "", "", line.text, False)
                last_at = {top: line.heading}
                deepest = line.heading
            continue
        if nxt.level == deepest.level and nxt.number:
            follows = bool(sibling.number) and cn_to_int(nxt.number) == cn_to_int(sibling.number) + 1
            if follows or cn_to_int(nxt.number) == 1:
                continue
        line.heading = HeadingLine(deepest.level, "", "", line.text, False, repaired=True)
        last_at[deepest.level] = line.heading
        deepest = line.heading


def _flatten_glossaries(lines: list[_Line]) -> None:
    """In a glossary (``名词解释``, ``注释``) the numbered entries ``1.术语：释义`` are a list, not sections.

    They become body text, so the definitions pack into passages of useful size under the
    glossary heading instead of forty one-line sections in the table of contents.
    """
    inside = False
    for line in lines:
        h = line.heading
        if h is None:
            continue
        if h.level == 0 and not h.number:
            inside = bool(_GLOSSARY.search(h.title))
        elif inside and h.level >= 3 and h.number:
            line.heading = None
        elif h.level <= 2:
            inside = False
