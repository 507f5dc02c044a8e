"""Tables: a section's lines and passages → the caption each passage inherits when it continues a table.

A statistical communiqué lists its figures in tables longer than a passage: ``主要产品产量如下：``
and then rows such as ``原煤 10．8 亿吨 2．5``, or a markdown table whose first row is its caption
(``表3 2015年主要工业产品产量及其增长速度``) and whose header names the columns (``产品名称 单位 产量``).
A passage cut from the middle of such a table holds rows only; the caption is what says they are
output figures. The indexer files it with the passage's headings (:mod:`kb.engine.segwriter`), so
``原煤 1990 产量`` finds the row, while the passage's text and section path stay as written.

>>> body = "主要产品产量如下：\\n纱 450 万吨\\n原煤 10．8 亿吨\\n全年工业平稳。"
>>> lines = [(0, 9), (10, 18), (19, 30), (31, 38)]
>>> table_leads(body, lines, [(0, 18), (19, 30), (31, 38)])
['', '主要产品产量', '']
"""

from __future__ import annotations

import re

_INTRO = re.compile(r"(.{2,60}?)(?:的?(?:情况|变化情况|增长情况))?如下[：:]\s*$")
_SEPARATOR = re.compile(r"^\|[\s|:\-]+\|?$")
_MARKUP = re.compile(r"<br\s*/?>|\*\*|\|")
MAX_LEAD = 80


def table_leads(body: str, lines: list[tuple[int, int]], spans: list[tuple[int, int]]) -> list[str]:
    """Per passage span (in order, over ``lines``, one section's body lines): the caption of the
    table the passage continues, or ``""`` (not in a table, or it holds the caption itself)."""
    state: dict[int, str] = {}  # line start → the lead of the table that line is a row of
    lead, caption, header_next, in_table = "", "", False, False
    for start, end in lines:
        line = body[start:end].strip()
        if line.startswith("|"):
            state[start] = lead
            if _SEPARATOR.match(line):
                header_next = True
                continue
            cells = _clean(line)
            if not in_table:  # a markdown table's first row: its caption (or its header)
                in_table, caption, lead = True, cells, cells
            elif header_next:  # the row after the separator: the column names
                lead = f"{caption} {cells}"[:MAX_LEAD].strip()
            header_next = False
            continue
        if in_table:
            in_table, caption, lead = False, "", ""
        intro = _INTRO.match(line)
        if intro and len(line) <= MAX_LEAD:
            state[start] = ""
            lead = _clean(intro.group(1))
            continue
        if "。" in line:  # prose: a plain table (rows without full stops) has ended
            lead = ""
        state[start] = lead
    return [state.get(s, "") for s, _e in spans]  # its first line's (a passage begun mid-line: prose, none)


def _clean(text: str) -> str:
    """A table row or lead line without markup: ``| <br> **表3  产量** | |`` → ``表3 产量``."""
    return re.sub(r"\s+", " ", _MARKUP.sub(" ", text)).strip()[:MAX_LEAD]
