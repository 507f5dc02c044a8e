"""A Word ``.docx`` → :class:`~kb.load.readers.Extracted`: paragraphs and tables in body order.

python-docx keeps styles but not Word's automatic numbering (the ``一、`` Word draws before a
heading is not in the text), so the numbering is rendered here from numbering.xml the way Word
shows it: ``chineseCounting`` gives ``一、``/``（一）``, ``decimal`` gives ``1.``.

- A paragraph styled as a heading (or with an outline level) is a heading at that level: its
  text keeps its marker (typed or rendered), and one without a marker is written as markdown
  ``#`` so the chunker files text under it.
- Any other line is read by the chunker's grammar, so a bold ``一、…`` line is a heading too.
- A table becomes one line per row, each cell with its column's header: ``指标：投资；金额：43.68亿元``.
- Page headers, footers (and their page numbers), a Word table of contents and comments are not
  body text and are left out.
- The ``Title`` paragraph gives the title; the core properties' title and date are fallbacks.

>>> format_number(3, "chineseCounting"), format_number(12, "chineseCounting"), format_number(4, "decimal")
('三', '十二', '4')
>>> format_number(2, "upperLetter"), format_number(4, "lowerRoman"), format_number(3, "decimalEnclosedCircle")
('B', 'iv', '③')
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from kb.errors import LoadError
from kb.load.readers import Extracted
from kb.load.readers.limits import check_zip

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_NAME = re.compile(r"^(?:heading|标题)\s*(\d)$", re.I)
_TOC_NAME = re.compile(r"^(?:toc|目录)\s*\d", re.I)
_CN = "零一二三四五六七八九"
_CN_LEGAL = "零壹贰叁肆伍陆柒捌玖"
_TIANGAN = "甲乙丙丁戊己庚辛壬癸"
_DIZHI = "子丑寅卯辰巳午未申酉戌亥"
_ROMAN = [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"),
          (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]


def read_docx(path: Path) -> Extracted:
    """Read one .docx file; ``LoadError`` for a corrupt, oversized or not-a-Word ZIP."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        with zipfile.ZipFile(path) as zf:
            check_zip(zf, path)
            if "word/document.xml" not in zf.namelist() and not any(n.endswith("document.xml") for n in zf.namelist()):
                raise LoadError(path, "ZIP file is not a Word document (no word/document.xml)")
    except zipfile.BadZipFile as exc:
        raise LoadError(path, f"corrupt file: not a readable ZIP/.docx ({exc})") from exc
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise LoadError(path, f"corrupt file: cannot open as .docx ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # lxml's XMLSyntaxError and kin: the XML inside is broken
        if type(exc).__module__.startswith("lxml"):
            raise LoadError(path, f"corrupt file: broken XML inside the .docx ({exc})") from exc
        raise
    return _Reader(document).extract()


def format_number(value: int, fmt: str) -> str:
    """A counter value in one of Word's ``w:numFmt`` formats (unknown ones as decimal)."""
    if fmt in ("chineseCounting", "chineseCountingThousand", "japaneseCounting", "taiwaneseCounting",
               "taiwaneseCountingThousand", "ideographDigital", "taiwaneseDigital"):  # LibreOffice writes the last ones
        return _counting(value, _CN) if fmt != "ideographDigital" else "".join(_CN[int(d)] for d in str(value))
    if fmt == "chineseLegalSimplified":
        return _counting(value, _CN_LEGAL, ten="拾")
    if fmt == "ideographTraditional":
        return _TIANGAN[(value - 1) % 10]
    if fmt == "ideographZodiac":
        return _DIZHI[(value - 1) % 12]
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese") and 1 <= value <= 20:
        return chr(0x2460 + value - 1)
    if fmt == "decimalFullWidth":
        return "".join(chr(0xFF10 + int(d)) for d in str(value))
    if fmt in ("lowerLetter", "upperLetter"):
        letter = chr(ord("a") + (value - 1) % 26) * (1 + (value - 1) // 26)
        return letter.upper() if fmt == "upperLetter" else letter
    if fmt in ("lowerRoman", "upperRoman"):
        out, rest = "", value
        for amount, digits in _ROMAN:
            while rest >= amount:
                out, rest = out + digits, rest - amount
        return out.upper() if fmt == "upperRoman" else out
    if fmt == "decimalZero":
        return f"{value:02d}"
    if fmt in ("bullet", "none"):
        return ""
    return str(value)


def _counting(value: int, digits: str, ten: str = "十") -> str:
    if value < 10:
        return digits[value]
    if value < 100:
        tens, ones = divmod(value, 10)
        return ("" if tens == 1 and digits is _CN else digits[tens]) + ten + (digits[ones] if ones else "")
    return "".join(digits[int(d)] for d in str(value))


@dataclass
class _Level:
    fmt: str = "decimal"
    text: str = "%1."
    start: int = 1
    restart: int | None = None  # w:lvlRestart: restarts after this (1-based) level; default: any above


@dataclass
class _Numbering:
    """numbering.xml: each w:num's abstract definition, its overrides, and the running counters."""

    abstract_of: dict[str, str] = field(default_factory=dict)
    levels: dict[str, dict[int, _Level]] = field(default_factory=dict)
    overrides: dict[str, dict[int, int]] = field(default_factory=dict)  # numId → ilvl → startOverride
    counters: dict[str, list[int]] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)

    @classmethod
    def from_document(cls, document) -> _Numbering:
        out = cls()
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return out
        for absn in root.findall(f"{W}abstractNum"):
            aid = absn.get(f"{W}abstractNumId")
            levels: dict[int, _Level] = {}
            for lvl in absn.findall(f"{W}lvl"):
                levels[int(lvl.get(f"{W}ilvl", "0"))] = _level(lvl)
            out.levels[aid] = levels
        for num in root.findall(f"{W}num"):
            nid = num.get(f"{W}numId")
            ref = num.find(f"{W}abstractNumId")
            if ref is None:
                continue
            out.abstract_of[nid] = ref.get(f"{W}val")
            for ov in num.findall(f"{W}lvlOverride"):
                start = ov.find(f"{W}startOverride")
                if start is not None:
                    out.overrides.setdefault(nid, {})[int(ov.get(f"{W}ilvl", "0"))] = int(start.get(f"{W}val", "1"))
                lvl = ov.find(f"{W}lvl")
                if lvl is not None:  # a whole level redefined for this list only
                    out.levels.setdefault(f"num:{nid}", {})[int(ov.get(f"{W}ilvl", "0"))] = _level(lvl)
        return out

    def label(self, num_id: str, ilvl: int) -> str:
        """The next label of list ``num_id`` at level ``ilvl``, counters advanced as Word does."""
        aid = self.abstract_of.get(num_id)
        if aid is None or num_id == "0":
            return ""
        levels = {**self.levels.get(aid, {}), **self.levels.get(f"num:{num_id}", {})}
        if ilvl not in levels:
            return ""
        counters = self.counters.setdefault(aid, [0] * 9)
        starts = [levels[k].start if k in levels else 1 for k in range(9)]
        if num_id not in self.started:  # a list restarting by override starts from its own values
            self.started.add(num_id)
            for k, value in self.overrides.get(num_id, {}).items():
                if k < 9:
                    counters[k] = value - 1
                    starts[k] = value
        ilvl = min(ilvl, 8)
        counters[ilvl] = counters[ilvl] + 1 if counters[ilvl] else starts[ilvl]
        for deeper in range(ilvl + 1, 9):  # w:lvlRestart N: restart after level N (1-based); 0: never
            restart = levels[deeper].restart if deeper in levels else None
            if restart is None or (restart != 0 and ilvl + 1 <= restart):
                counters[deeper] = 0
        lvl = levels[ilvl]
        if lvl.fmt in ("bullet", "none"):
            return ""

        def fill(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            value = counters[k] or starts[k]
            return format_number(value, levels[k].fmt if k in levels else "decimal")

        return re.sub(r"%(\d)", fill, lvl.text)


def _level(lvl) -> _Level:
    def val(tag: str) -> str | None:
        el = lvl.find(f"{W}{tag}")
        return None if el is None else el.get(f"{W}val")

    restart = val("lvlRestart")
    return _Level(fmt=val("numFmt") or "decimal", text=val("lvlText") if val("lvlText") is not None else "",
                  start=int(val("start") or 1), restart=int(restart) if restart is not None else None)


class _Reader:
    def __init__(self, document) -> None:
        self.document = document
        self.numbering = _Numbering.from_document(document)
        self.lines: list[str] = []
        self.title = ""
        # python-docx's paragraph.style scans every style each time (~1.5 ms): look them up once
        self.styles: dict[str, object] = {}
        self.default_style = None
        for style in document.styles.element.findall(f"{W}style"):
            if style.get(f"{W}type") != "paragraph":
                continue
            self.styles[style.get(f"{W}styleId")] = style
            if style.get(f"{W}default") in ("1", "true", "on"):
                self.default_style = style
        self._chains: dict[str | None, tuple[str, list]] = {}

    def _style(self, p) -> tuple[str, list]:
        """(style name, the pPr of the style and of each style it is based on) of a paragraph."""
        ppr = p._p.pPr
        pstyle = ppr.find(f"{W}pStyle") if ppr is not None else None
        style_id = pstyle.get(f"{W}val") if pstyle is not None else None
        if style_id not in self._chains:
            el = self.styles.get(style_id) if style_id else self.default_style
            name, chain, seen = "", [], set()
            while el is not None and id(el) not in seen:
                seen.add(id(el))
                if not name:
                    n = el.find(f"{W}name")
                    name = n.get(f"{W}val", "") if n is not None else ""
                chain.append((el.find(f"{W}pPr"), el.find(f"{W}name")))
                based = el.find(f"{W}basedOn")
                el = self.styles.get(based.get(f"{W}val")) if based is not None else None
            self._chains[style_id] = (_ui_name(name), chain)
        return self._chains[style_id]

    def extract(self) -> Extracted:
        body = self.document.element.body
        self._walk(body)
        props = self.document.core_properties
        created = props.created or props.modified
        return Extracted(
            text="\n\n".join(ln for ln in self.lines if ln),
            title=self.title,
            fallback_title=(props.title or "").strip(),
            fallback_date=created.strftime("%Y-%m-%d") if created else "",
        )

    def _walk(self, parent) -> None:
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        for child in parent.iterchildren():
            if child.tag == f"{W}p":
                self._paragraph(Paragraph(child, self.document.part))
            elif child.tag == f"{W}tbl":
                self._table(Table(child, self.document.part))
            elif child.tag == f"{W}sdt":  # a content control: a Word TOC is page chrome, others are text
                gallery = child.find(f".//{W}docPartGallery")
                if gallery is not None and "Table of Contents" in (gallery.get(f"{W}val") or ""):
                    continue
                content = child.find(f"{W}sdtContent")
                if content is not None:
                    self._walk(content)

    def _paragraph(self, p) -> None:
        style_name, chain = self._style(p)
        if _TOC_NAME.match(style_name):
            return
        text = _clean(p.text)
        num_id, ilvl = self._num_pr(p, chain)
        label = self.numbering.label(num_id, ilvl) if num_id else ""  # counted even for an empty line
        if not text:
            return
        if style_name.lower() == "title" or style_name == "标题":
            if not self.title:
                self.title = text
                return
        level = self._outline_level(p, chain)
        line = label + text if label and not text.startswith(label) else text
        if level is not None:
            from kb.text.headings import heading_of  # the heading grammar the chunker reads too

            h = heading_of(line)
            if h is None or h.run_in:
                line = "#" * min(level + 2, 6) + " " + line
        self.lines.append(line)

    def _num_pr(self, p, chain: list) -> tuple[str, int]:
        """(numId, ilvl) of the paragraph, from its own properties or its style's."""
        sources = [p._p.pPr] + [ppr for ppr, _name in chain]
        num_id, ilvl = "", None
        for ppr in sources:
            if ppr is None:
                continue
            num = ppr.find(f"{W}numPr")
            if num is None:
                continue
            nid = num.find(f"{W}numId")
            lvl = num.find(f"{W}ilvl")
            if not num_id and nid is not None:
                num_id = nid.get(f"{W}val") or ""
            if ilvl is None and lvl is not None:
                ilvl = int(lvl.get(f"{W}val") or 0)
            if num_id and ilvl is not None:
                break
        return num_id, ilvl or 0

    def _outline_level(self, p, chain: list) -> int | None:
        """0 for a top heading …; ``None`` for body text (outline level 9 or none)."""
        sources = [p._p.pPr] + [ppr for ppr, _name in chain]
        names = [_ui_name(n.get(f"{W}val", "")) for _ppr, n in chain if n is not None]
        for ppr in sources:
            if ppr is None:
                continue
            el = ppr.find(f"{W}outlineLvl")
            if el is not None:
                value = int(el.get(f"{W}val") or 9)
                return None if value >= 9 else value
        for name in names:
            m = _HEADING_NAME.match(name)
            if m:
                return max(0, int(m.group(1)) - 1)
        return None

    def _table(self, table) -> None:
        rows: list[list[str]] = []
        for row in table.rows:
            cells, seen = [], set()
            for cell in row.cells:
                if id(cell._tc) in seen:  # a merged cell is listed once per grid column it spans
                    continue
                seen.add(id(cell._tc))
                cells.append(_clean(" ".join(par.text for par in cell.paragraphs)))
            if any(cells):
                rows.append(cells)
        if not rows:
            return
        if len(rows) == 1:
            self.lines.append("；".join(c for c in rows[0] if c))
            return
        header, data = rows[0], rows[1:]
        for cells in data:
            parts = []
            for k, value in enumerate(cells):
                if not value:
                    continue
                name = header[k] if k < len(header) else ""
                parts.append(f"{name}：{value}" if name and name != value else value)
            self.lines.append("；".join(parts))


def _ui_name(name: str) -> str:
    """Word stores built-in style names in lower case ("heading 1"); python-docx shows "Heading 1"."""
    return {"heading": "Heading", "title": "Title"}.get(name.split(" ")[0], name.split(" ")[0]) + \
        name[len(name.split(" ")[0]):] if name else name


_CJK_SPACE = re.compile(r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])[ \t]+|[ \t]+(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])")


def _clean(text: str) -> str:
    """One paragraph's text on one line: soft breaks joined, tabs and spacing next to CJK dropped."""
    text = text.replace("\u3000", " ").replace("\xa0", " ")
    text = re.sub(r"\s*\n\s*", " ", text)  # a soft line break: a space, dropped again beside CJK
    text = _CJK_SPACE.sub("", text)
    return re.sub(r"[ \t]+", " ", text).strip()
