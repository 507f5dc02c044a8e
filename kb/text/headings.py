"""The heading grammar: a line → its heading level, number and marker (第一部分, 一、, （一）, 1., （1）, #, **bold**), or None."""

from __future__ import annotations

import re
from dataclasses import dataclass


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
_MAX_LEVEL = 4  # deepest heading level: （1）, and markdown #### and below
_LOST_PAREN = re.compile(r"^[)）]\s*(?=[\u4e00-\u9fff“\"《])")


# "三）改革开放…": the opening bracket of (三) was lost (a scraper put it on a line of its own)
_LOST_OPEN = re.compile(rf"^({_CN_NUM})\s*[)）]\s*(?=[\u4e00-\u9fff“\"《])")


# back matter: attachments and glossaries stand beside the report's parts, not under its last point
_BACK_MATTER = re.compile(r"^(?:附件|附录)\s*[\d一二三四五六七八九十]*\s*[:：]?$"
                          r"|^[^。；;！!？?，,]{0,20}(?:名词解释|名词注释|注释|注解|用语说明|词语说明)(?:[^。；;！!？?，,]{0,10}说明)?[:：]?$")


# a byline, dateline or venue line under the title, never a section heading
_BYLINE = re.compile(r"(?:市长|省长|州长|主席|区长|县长|盟长|总理|书记)[\s—·]*[\u4e00-\u9fff·][\u4e00-\u9fff·\s]{0,9}$"
                     r"|人民代表大会|会议上$|^\d{4}年\d{1,2}月\d{1,2}日|电$|^新华社|工作报告$")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
_BOLD_LINE = re.compile(r"^\*\*(.+?)\*\*$")
_SENTENCE_END = re.compile(r"[。！？!?；;]")
_TITLE_STOP = re.compile(r"[。！？!?；;：:]")
_DEFINITION = re.compile(r"[：:]\s*\S{2,}")
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
            return _make(level, m.group(1), inner[: m.end()].strip(), rest, text, marked=md is not None)
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


def _make(level: int, number: str, marker: str, rest: str, line: str, marked: bool = False) -> HeadingLine:
    """A numbered heading line → its ``HeadingLine``.

    >>> _make(2, "七", "（七）", "人口和就业。", "### （七）人口和就业。", marked=True).run_in
    False
    >>> _make(1, "六", "六、", "将第二机械工业部改名为核工业部。", "六、将第二机械工业部改名为核工业部。").run_in
    True
    """
    # "1.“两重”：是指…" (a term and its definition) goes on as body text, like "（一）标题。正文…"; so
    # does a heading that is a whole sentence ("六、将第二机械工业部改名为核工业部。"): in a decision's
    # list of items it is all the text there is, and must be found. A line marked up as a heading
    # (``### （七）人口和就业。``) whose only stop is its last character is a heading, and no more.
    said = rest.rstrip().rstrip("。！？!?；;") if marked else rest
    run_in = len(line) > 60 or bool(_SENTENCE_END.search(said)) or bool(_DEFINITION.search(rest))
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
