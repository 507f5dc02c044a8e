"""``Document`` → section tree + ``Passage``s with stable ids and anchors.

A small line parser in the manner of MkDocs' search plugin: every body line is filed under the
heading that precedes it. Headings come from Chinese numbering (``第一部分``, ``一、``, ``（一）``,
``1.``, ``（1）``), markdown ``#`` and whole-line ``**bold**``. Markers lost in scraping
(``)扛起政治责任…`` or a bare heading line between numbered siblings) are repaired from the siblings
and flagged ``repaired``; the original text is kept.

>>> from kb.models import Document
>>> body = "导语。\\n一、总体\\n(一)第一项\\n正文一。\\n)第二项\\n正文二。\\n二、其他\\n正文三。"
>>> c = chunk(Document(doc_id="d", path="d.txt", title="T", body=body))
>>> [(s.marker, s.title, [(k.number, k.repaired) for k in s.children]) for s in c.sections]
[('', '前言', []), ('一、', '总体', [('一', False), ('二', True)]), ('二、', '其他', [])]
>>> [(p.text, p.section_path) for p in c.passages][1:3]
[('正文一。', ('一、总体', '(一)第一项')), ('正文二。', ('一、总体', '(二)第二项'))]

Passages lie inside one section; long paragraphs split at ``一是/二是…`` sub-points, then at sentence
ends, aiming at 80–400 characters and never over ``HARD_MAX``. Short neighbours in one section are
joined. ``passage.text == document.body[passage.start:passage.end]`` and every non-blank character of
body text lands in exactly one passage.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from kb.models import Chunked, Document, Passage, Section

TARGET_MIN = 80
TARGET_MAX = 400
HARD_MAX = 600

_CN_DIGITS = "零〇一二三四五六七八九"
_CN_NUM = "[一二三四五六七八九十百零〇]+"

# (level, pattern, marker style). Levels are ranks, not depths: a (一) straight under the document
# is fine. The style rebuilds a repaired marker in the document's own form.
_MARKERS: list[tuple[int, re.Pattern[str], str]] = [
    (0, re.compile(rf"^第({_CN_NUM}|\d+)(部分|篇|编|章)[\s:：、]*"), "第{}部分"),
    (1, re.compile(rf"^第({_CN_NUM}|\d+)节[\s:：、]*"), "第{}节"),
    (1, re.compile(rf"^({_CN_NUM})\s*(?:[、．]|\.(?!\d))\s*"), "{}、"),
    (2, re.compile(rf"^[(（]\s*({_CN_NUM})\s*[)）]\s*"), "（{}）"),
    (3, re.compile(r"^(\d{1,2})\s*(?:[、．]|\.(?!\d))\s*(?=\S)"), "{}."),
    (4, re.compile(r"^[(（]\s*(\d{1,2})\s*[)）]\s*(?=\S)"), "（{}）"),
]
_REPAIR_STYLE = {0: "第{}部分", 1: "{}、", 2: "（{}）", 3: "{}.", 4: "（{}）"}
_LOST_PAREN = re.compile(r"^[)）]\s*(?=[\u4e00-\u9fff“\"《])")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
_BOLD_LINE = re.compile(r"^\*\*(.+?)\*\*$")
_SENTENCE_END = re.compile(r"[。！？!?；;]")
_TITLE_STOP = re.compile(r"[。！？!?；;：:]")
_SUBPOINT = re.compile(r"(?:(?<=[。；;！？!?:：\n])|^)\s*(?:[一二三四五六七八九十]|十[一二三四五六七八九])是")
_SENTENCE_SPLIT = re.compile(r"(?<=[。！？!?；;])(?![”’」』)）])|(?<=[。！？!?；;][”’」』)）])")
_CLAUSE_SPLIT = re.compile(r"(?<=[，,、：:])")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True, slots=True)
class HeadingLine:
    """What :func:`heading_of` reads off one line."""

    level: int
    number: str  # bare numeral: 一, 二, 1; "" for unnumbered headings
    marker: str
    title: str
    run_in: bool  # the line goes on as a paragraph: it is body text as well as a heading
    repaired: bool = False


def heading_of(line: str) -> HeadingLine | None:
    """Classify one line; ``None`` for a paragraph.

    >>> heading_of("（二）聚焦营商环境，助力高质量发展")
    HeadingLine(level=2, number='二', marker='（二）', title='聚焦营商环境，助力高质量发展', run_in=False, repaired=False)
    >>> heading_of("1.5亿元用于补贴。") is None, heading_of("一是加强干部队伍建设。") is None
    (True, True)
    >>> heading_of(")聚焦共同富裕,推动交通融合发展").repaired
    True
    """
    text = line.strip()
    if not text:
        return None
    md = _MD_HEADING.match(text)
    bold = _BOLD_LINE.match(text)
    inner = (md.group(2) if md else bold.group(1) if bold else text).strip().strip("*").strip()
    for level, pattern, _style in _MARKERS:
        m = pattern.match(inner)
        if m:
            rest = inner[m.end():]
            if not rest or not (_CJK.search(rest[:6]) or rest[:1] in "“\"《【"):
                return None
            return _make(level, m.group(1), inner[: m.end()].strip(), rest, text)
    lost = _LOST_PAREN.match(inner)
    if lost and len(inner) <= 60 and not _SENTENCE_END.search(inner[:-1]):
        return HeadingLine(2, "", "", inner[lost.end():], False, repaired=True)
    if md:
        level = min(len(md.group(1)), 4) - 1
        return HeadingLine(level, "", "", inner, False)
    if bold and len(inner) <= 60:
        return HeadingLine(1, "", "", inner, False)
    return None


def _make(level: int, number: str, marker: str, rest: str, line: str) -> HeadingLine:
    run_in = len(line) > 60 or bool(_SENTENCE_END.search(rest.rstrip("。.")))
    title = rest
    if run_in:
        stop = _TITLE_STOP.search(rest)
        title = rest[: stop.start()] if stop else rest
        if len(title) > 40:
            title = title[:40] + "…"
    return HeadingLine(level, number, marker, title.strip().rstrip("。"), run_in)


def cn_to_int(numeral: str) -> int:
    """A Chinese or Arabic numeral → int.

    >>> [cn_to_int(s) for s in ("三", "十", "十二", "二十一", "7")]
    [3, 10, 12, 21, 7]
    """
    if numeral.isdigit():
        return int(numeral)
    total, current = 0, 0
    for ch in numeral:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = _CN_DIGITS.index(ch) - 1 if ch not in "零〇" else 0
    return total + current


def int_to_cn(value: int) -> str:
    """An int → its Chinese numeral (below 100).

    >>> [int_to_cn(n) for n in (3, 10, 12, 21)]
    ['三', '十', '十二', '二十一']
    """
    digits = "零一二三四五六七八九"
    if value < 10:
        return digits[value]
    tens, ones = divmod(value, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


@dataclass
class _Node:
    level: int
    number: str
    marker: str
    title: str
    repaired: bool
    arabic: bool
    children: list[_Node] = field(default_factory=list)
    units: list[tuple[int, int]] = field(default_factory=list)  # body spans filed here
    anchor: str = ""
    label: str = ""


@dataclass
class _Line:
    start: int
    end: int
    text: str
    heading: HeadingLine | None


def chunk(document: Document) -> Chunked:
    """Split one document into its section tree and passages."""
    lines = _lines(document.body)
    _infer_lost_headings(lines)
    root = _Node(-1, "", "", document.title, False, False)
    preface = _Node(0, "", "", "前言", False, False)
    stack: list[_Node] = [root]
    for line in lines:
        h = line.heading
        if h is not None:
            while len(stack) > 1 and stack[-1].level >= h.level:
                stack.pop()
            parent = stack[-1]
            node = _new_section(h, parent)
            parent.children.append(node)
            stack.append(node)
            if not h.run_in:
                continue
        target = stack[-1] if len(stack) > 1 else preface
        target.units.append((line.start, line.end))
    _assign_anchors(root.children, "s")
    if preface.units:
        preface.anchor = "s0"
        root.children.insert(0, preface)
    passages: list[Passage] = []
    _emit_passages(document, root.children, passages, (), {})
    sections = tuple(_freeze(n) for n in root.children)
    return Chunked(document=document, sections=sections, passages=tuple(passages), preface=bool(preface.units))


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


def _is_bare_heading_candidate(line: _Line) -> bool:
    text = line.text
    return (
        line.heading is None
        and 6 <= len(text) <= 40
        and _CJK.search(text) is not None
        and not re.search(r"[。！？!?；;：:]", text)
        and not re.match(r"^([一二三四五六七八九十]是|[-—>*\[（(［])", text)
    )


def _infer_lost_headings(lines: list[_Line]) -> None:
    """Give a heading to a bare line that sits where a numbered sibling is missing.

    The line must come after body text inside a section of level ≥ 2, be followed by body text, and
    the numbering must leave a gap for it (the next sibling of that level is not simply number + 1).
    """
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
        prev_body = i > 0 and lines[i - 1].heading is None
        next_body = i + 1 < len(lines) and lines[i + 1].heading is None
        if not (prev_body and next_body):
            continue
        sibling = last_at.get(deepest.level, deepest)
        nxt = next((ln.heading for ln in lines[i + 1:] if ln.heading and ln.heading.level <= deepest.level), None)
        if nxt is not None and nxt.level == deepest.level and nxt.number and sibling.number and \
                cn_to_int(nxt.number) == cn_to_int(sibling.number) + 1:
            continue
        line.heading = HeadingLine(deepest.level, "", "", line.text, False, repaired=True)
        last_at[deepest.level] = line.heading
        deepest = line.heading


def _new_section(h: HeadingLine, parent: _Node) -> _Node:
    siblings = [c for c in parent.children if c.level == h.level]
    number, marker = h.number, h.marker
    arabic = number.isdigit() if number else (siblings[-1].arabic if siblings else h.level in (3, 4))
    if h.repaired:
        prev = siblings[-1] if siblings else None
        value = (cn_to_int(prev.number) if prev and prev.number else len(siblings)) + 1
        number = str(value) if arabic else int_to_cn(value)
        if prev and prev.marker and prev.number:
            marker = prev.marker.replace(prev.number, number, 1)  # the document's own form: (二) or （二）
        else:
            marker = _REPAIR_STYLE.get(h.level, "{}").format(number)
    return _Node(h.level, number, marker, h.title, h.repaired, arabic)


def _assign_anchors(nodes: list[_Node], prefix: str) -> None:
    for idx, node in enumerate(nodes, start=1):
        node.anchor = f"{prefix}{idx}" if prefix == "s" else f"{prefix}-{idx}"
        node.label = f"{node.marker}{node.title}"
        _assign_anchors(node.children, node.anchor)


def _freeze(node: _Node) -> Section:
    return Section(
        anchor=node.anchor,
        level=node.level,
        number=node.number,
        marker=node.marker,
        title=node.title,
        repaired=node.repaired,
        children=tuple(_freeze(c) for c in node.children),
    )


def _emit_passages(doc: Document, nodes: list[_Node], out: list[Passage], path: tuple[str, ...],
                   seen: dict[str, int]) -> None:
    for node in nodes:
        here = path + ((node.label,) if node is not None and node.anchor != "s0" else ())
        for start, end in _pack(doc.body, node.units):
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
    """Pack the pieces ``splitter`` cuts into spans of at most ``limit``; cut what is still too long."""
    text = body[start:end]
    bounds = [m.start() for m in splitter.finditer(text) if 0 < m.start() < len(text)]
    pieces = _spans(start, text, bounds)
    out: list[tuple[int, int]] = []
    for s, e in pieces:
        if out and e - out[-1][0] <= limit:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
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
