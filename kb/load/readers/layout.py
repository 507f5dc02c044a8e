"""Positioned characters (a PDF's text layer, an OFD's TextCodes) → body text in paragraphs.

Both formats place glyphs on a page; neither says where a paragraph ends. This module:

1. groups glyphs into lines by their vertical centre and orders each line left to right, so a line
   split across text objects (a quote set in another font) reads as one line;
2. drops page chrome: lines repeated at the top or bottom of most pages (the issuing office, the
   document number) and page numbers (``— 1 —``, ``- 2 -``, ``第 3 页``, ``4/10``);
3. joins the lines of a paragraph, across pages too: a line that reaches the right margin goes on
   in the next line unless that one is indented (Chinese paragraphs start two characters in), is a
   heading, or stands apart. Nothing is inserted between CJK characters; two Latin words get a space;
4. writes outline (bookmark) entries as headings the chunker reads (``#`` when no marker).

>>> g = [Glyph(10 + 10 * i, 20 + 10 * i, 50, 10, ch) for i, ch in enumerate("一、总体")]
>>> [ln.text for ln in lines_of(g + [Glyph(300, 310, 795, 10, "3")])]
['一、总体', '3']
>>> is_page_number("— 12 —"), is_page_number("第 3 页 共 9 页"), is_page_number("12.5亿元")
(True, True, False)
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_PAGE_NUMBER = re.compile(r"^(?:[—–\-－_~·•\s]*[\d０-９]{1,4}[—–\-－_~·•\s]*"
                          r"|第\s*[\d０-９]{1,4}\s*页(?:\s*[,，/]?\s*共\s*[\d０-９]{1,4}\s*页)?"
                          r"|[\d０-９]{1,4}\s*/\s*[\d０-９]{1,4}|page\s*\d{1,4}(?:\s*of\s*\d{1,4})?)$", re.I)
_ASCII_WORD = re.compile(r"[A-Za-z0-9]")
_CHROME_BAND = 0.12  # top and bottom share of a page where headers and footers stand


@dataclass(frozen=True, slots=True)
class Glyph:
    """One character: left and right edge, vertical centre (y grows down the page), size."""

    x0: float
    x1: float
    y: float
    size: float
    ch: str


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    x0: float
    x1: float
    y: float
    size: float


@dataclass
class Page:
    lines: list[Line]
    width: float
    height: float


def is_page_number(text: str) -> bool:
    return bool(_PAGE_NUMBER.match(text.strip()))


def lines_of(glyphs: list[Glyph]) -> list[Line]:
    """Glyphs of one page → lines, top to bottom, each read left to right."""
    rows: list[list[Glyph]] = []
    for g in sorted((g for g in glyphs if g.ch.strip()), key=lambda g: g.y):
        if rows:
            row = rows[-1]
            centre = sum(r.y for r in row) / len(row)
            height = max(max(r.size for r in row), g.size)
            if abs(g.y - centre) <= 0.45 * height:
                row.append(g)
                continue
        rows.append([g])
    out: list[Line] = []
    for row in rows:
        row.sort(key=lambda g: g.x0)
        size = Counter(round(g.size, 1) for g in row).most_common(1)[0][0]
        text = [row[0].ch]
        for prev, g in zip(row, row[1:]):
            gap = g.x0 - prev.x1
            if gap > 0.25 * size and _ASCII_WORD.match(prev.ch) and _ASCII_WORD.match(g.ch):
                text.append(" ")
            text.append(g.ch)
        out.append(Line("".join(text), row[0].x0, max(g.x1 for g in row), sum(g.y for g in row) / len(row), size))
    return out


def strip_chrome(pages: list[Page]) -> list[Page]:
    """Drop page numbers and the header/footer lines repeated on most pages."""
    def band(page: Page, line: Line) -> bool:
        return line.y < page.height * _CHROME_BAND or line.y > page.height * (1 - _CHROME_BAND)

    def key(text: str) -> str:
        return re.sub(r"[\d０-９]+", "#", re.sub(r"\s+", "", text))

    counts: Counter[str] = Counter()
    for page in pages:
        edge = page.lines[:2] + page.lines[-2:]
        counts.update({key(ln.text) for ln in edge if band(page, ln)})
    repeated = {k for k, n in counts.items() if len(pages) >= 2 and n >= max(2, (len(pages) + 1) // 2)}
    out = []
    for page in pages:
        kept = []
        for idx, ln in enumerate(page.lines):
            at_edge = idx < 2 or idx >= len(page.lines) - 2
            if at_edge and band(page, ln) and (is_page_number(ln.text) or key(ln.text) in repeated):
                continue
            kept.append(ln)
        out.append(Page(kept, page.width, page.height))
    return out


def body_text(pages: list[Page], outline: list[tuple[str, int, int]] | None = None) -> str:
    """Pages of lines → paragraphs separated by blank lines.

    ``outline`` lists (title, level from 0, page index) bookmarks: the line holding a bookmark's title
    becomes a heading of that level; a title not found on its page is put at the page's top.
    """
    from kb.text.headings import heading_of  # the heading grammar the chunker reads too

    pages = strip_chrome(pages)
    heads = _place_outline(pages, outline or [])
    all_lines = [ln for p in pages for ln in p.lines]
    if not all_lines:
        return ""
    right = max(ln.x1 for ln in all_lines)
    left = min(ln.x0 for ln in all_lines)
    paragraphs: list[str] = []
    current: list[str] = []
    prev: Line | None = None
    prev_full = False
    for p_idx, page in enumerate(pages):
        for l_idx, ln in enumerate(page.lines):
            head = heads.get((p_idx, l_idx))
            if head is not None:
                if current:
                    paragraphs.append("".join(current))
                    current = []
                if head[0]:
                    h = heading_of(head[0])
                    paragraphs.append(head[0] if h is not None and not h.run_in else "#" * min(head[1] + 2, 6)
                                      + " " + head[0])
                prev, prev_full = None, False
                continue
            text = ln.text.strip()
            indented = ln.x0 > left + 1.2 * ln.size
            apart = prev is not None and prev.y < ln.y and ln.y - prev.y > 2.2 * max(ln.size, prev.size)
            if current and prev_full and not indented and not apart and heading_of(text) is None:
                if _ASCII_WORD.match(current[-1][-1:]) and _ASCII_WORD.match(text[:1]):
                    current.append(" ")
                current.append(text)
            else:
                if current:
                    paragraphs.append("".join(current))
                current = [text]
            prev_full = ln.x1 >= right - 1.5 * ln.size and heading_of("".join(current)) is None
            prev = ln
        prev = None  # the next page's first line: no vertical gap to measure
    if current:
        paragraphs.append("".join(current))
    return "\n\n".join(p for p in paragraphs if p)


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _place_outline(pages: list[Page], outline: list[tuple[str, int, int]]) -> dict[tuple[int, int], tuple[str, int]]:
    """(page, line) → (heading text, level); the lines a heading wraps onto map to ("", level)."""
    heads: dict[tuple[int, int], tuple[str, int]] = {}
    for title, level, page_idx in outline:
        want = _compact(title)
        if not want or not 0 <= page_idx < len(pages):
            continue
        found = False
        for p in (page_idx, page_idx + 1):
            if p >= len(pages):
                break
            lines = pages[p].lines
            for i, ln in enumerate(lines):
                if (p, i) in heads:
                    continue
                got = _compact(ln.text)
                if not got or not want.startswith(got):
                    continue
                j, text = i, got
                while text != want and j + 1 < len(lines) and want.startswith(text + _compact(lines[j + 1].text)):
                    j += 1
                    text += _compact(lines[j].text)
                if text != want:
                    continue
                heads[(p, i)] = ("".join(lines[k].text.strip() for k in range(i, j + 1)), level)
                for k in range(i + 1, j + 1):
                    heads[(p, k)] = ("", level)
                found = True
                break
            if found:
                break
        if not found:  # a bookmark whose text is not on its page: still a section, at the page's top
            page = pages[page_idx]
            marker = Line("", page.width, page.width, -1.0, 1.0)
            page.lines.insert(0, marker)
            shifted = {}
            for (pp, ii), v in heads.items():
                shifted[(pp, ii + 1 if pp == page_idx else ii)] = v
            heads = shifted
            heads[(page_idx, 0)] = (title.strip(), level)
    return heads
