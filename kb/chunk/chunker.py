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
from bisect import bisect_left, bisect_right
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
_MAX_LEVEL = 4  # deepest heading level: （1）, and markdown #### and below
_LOST_PAREN = re.compile(r"^[)）]\s*(?=[\u4e00-\u9fff“\"《])")
# "三）改革开放…": the opening bracket of (三) was lost (a scraper put it on a line of its own)
_LOST_OPEN = re.compile(rf"^({_CN_NUM})\s*[)）]\s*(?=[\u4e00-\u9fff“\"《])")
# back matter: attachments and glossaries stand beside the report's parts, not under its last point
_BACK_MATTER = re.compile(r"^(?:附件|附录)\s*[\d一二三四五六七八九十]*\s*[:：]?$"
                          r"|^[^。；;！!？?，,]{0,20}(?:名词解释|名词注释|注释|注解|用语说明|词语说明)(?:[^。；;！!？?，,]{0,10}说明)?[:：]?$")
_GLOSSARY = re.compile(r"名词解释|名词注释|注释|注解|用语说明|词语说明")
# a byline, dateline or venue line under the title, never a section heading
_BYLINE = re.compile(r"(?:市长|省长|州长|主席|区长|县长|盟长|总理|书记)[\s—·]*[\u4e00-\u9fff·][\u4e00-\u9fff·\s]{0,9}$"
                     r"|人民代表大会|会议上$|^\d{4}年\d{1,2}月\d{1,2}日|电$|^新华社|工作报告$")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
_BOLD_LINE = re.compile(r"^\*\*(.+?)\*\*$")
_SENTENCE_END = re.compile(r"[。！？!?；;]")
_TITLE_STOP = re.compile(r"[。！？!?；;：:]")
_DEFINITION = re.compile(r"[：:]\s*\S{2,}")
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
    half = _LOST_OPEN.match(inner)
    if half:
        return _make(2, half.group(1), f"（{half.group(1)}）", inner[half.end():], text)
    if _BACK_MATTER.match(inner):
        return HeadingLine(0, "", "", inner.rstrip(":："), False)
    if md:
        level = min(len(md.group(1)), 4) - 1
        return HeadingLine(level, "", "", inner, False)
    if bold and len(inner) <= 60 and not _BYLINE.search(inner) and not re.search(r"[：:！!。]$", inner):
        return HeadingLine(1, "", "", inner, False)  # not a bold byline, salutation or lead-in sentence
    return None


def _make(level: int, number: str, marker: str, rest: str, line: str) -> HeadingLine:
    # "1.“两重”：是指…" (a term and its definition) goes on as body text, like "（一）标题。正文…"; so
    # does a heading that is a whole sentence ("六、将第二机械工业部改名为核工业部。"): in a decision's
    # list of items it is all the text there is, and must be found
    run_in = len(line) > 60 or bool(_SENTENCE_END.search(rest)) or bool(_DEFINITION.search(rest))
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
    # per level of the children: how many there are and the last one (repairs number from it)
    by_level: dict[int, tuple[int, _Node]] = field(default_factory=dict)


@dataclass
class _Line:
    start: int
    end: int
    text: str
    heading: HeadingLine | None


def chunk(document: Document) -> Chunked:
    """Split one document into its section tree and passages."""
    lines = _lines(document.body)
    _join_broken_headings(lines)
    _infer_series_parents(lines)
    _infer_lost_headings(lines)
    _fill_single_gaps(lines)
    _flatten_glossaries(lines)
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
            parent.by_level[node.level] = (parent.by_level.get(node.level, (0, node))[0] + 1, node)
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


def _new_section(h: HeadingLine, parent: _Node) -> _Node:
    count, prev = parent.by_level.get(h.level, (0, None))
    number, marker = h.number, h.marker
    arabic = number.isdigit() if number else (prev.arabic if prev else h.level in (3, 4))
    if h.repaired:
        value = (cn_to_int(prev.number) if prev and prev.number else count) + 1
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
