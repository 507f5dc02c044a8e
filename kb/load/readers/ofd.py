"""An ``.ofd`` (GB/T 33190, the format for electronic official documents) → :class:`~kb.load.readers.Extracted`.

An OFD file is a ZIP of XML parts: ``OFD.xml`` names the document (``DocBody/DocInfo``: title,
creation date) and its root ``Document.xml``, which lists the pages and the outline
(``Outlines/OutlineElem``, each pointing at a page by ``PageID``). Each page's ``Content.xml`` holds
``TextObject``s with a ``Boundary`` (x y w h, in mm, y down) and ``TextCode``s: a run of characters
starting at (X, Y) inside the boundary, each next character ``DeltaX`` further right
(``g 3 4.2`` repeats 4.2 three times). The characters are handed to :mod:`kb.load.readers.layout` as
glyphs, which puts a line split over several objects (a quote in another font) back together.

Template pages (a document's printed header and footer) are page chrome and are not read.

A small ElementTree reader rather than a library: the one maintained permissive choice (ofdkit) is
alpha and has no outline API, and easyofd is AGPL and pulls ~300 MB; kb needs text, positions,
DocInfo and outlines, about 150 lines over the standard library.

>>> _deltas("g 3 4.2 5", 5)
[4.2, 4.2, 4.2, 5.0]
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from kb.errors import LoadError
from kb.load.readers import Extracted
from kb.load.readers.layout import Glyph, Page, body_text, lines_of
from kb.load.readers.limits import check_pages, check_zip, read_member

_NS = re.compile(r"^\{[^}]*\}")
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def read_ofd(path: Path, *, max_pages: int | None = None) -> Extracted:
    """Read an OFD package's first document; ``LoadError`` for a corrupt, oversized or bomb file."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise LoadError(path, f"corrupt file: not a readable ZIP/OFD package ({exc})") from exc
    with zf:
        check_zip(zf, path)
        names = set(zf.namelist())
        if "OFD.xml" not in names:
            raise LoadError(path, "corrupt file: no OFD.xml in the package (not an OFD file)")

        def xml(name: str) -> ET.Element:
            name = name.lstrip("/")
            if name not in names:
                raise LoadError(path, f"corrupt file: part {name} is missing")
            try:
                return ET.fromstring(read_member(zf, name, path))
            except ET.ParseError as exc:
                raise LoadError(path, f"corrupt file: broken XML in {name} ({exc})") from exc

        ofd = xml("OFD.xml")
        body = _child(ofd, "DocBody")
        if body is None or _child(body, "DocRoot") is None:
            raise LoadError(path, "corrupt file: OFD.xml names no document (DocBody/DocRoot)")
        info = _child(body, "DocInfo")
        title = _text(info, "Title")
        created = _DATE.search(_text(info, "CreationDate") or _text(info, "ModDate"))
        root_name = _text(body, "DocRoot").lstrip("/")
        base = posixpath.dirname(root_name)
        document = xml(root_name)
        default_box = _box(_find(document, "CommonData", "PageArea", "PhysicalBox"))
        page_els = [el for el in document.iter() if _tag(el) == "Page" and el.get("BaseLoc")]
        check_pages(len(page_els), path, max_pages=max_pages)
        page_ids: dict[str, int] = {}
        pages: list[Page] = []
        for index, el in enumerate(page_els):
            page_ids[el.get("ID", "")] = index
            content = xml(_resolve(base, el.get("BaseLoc", "")))
            box = _box(_find(content, "Area", "PhysicalBox")) or default_box or (0.0, 0.0, 210.0, 297.0)
            pages.append(Page(lines_of(_glyphs(content)), box[2], box[3]))
        outline: list[tuple[str, int, int]] = []
        outlines = _child(document, "Outlines")
        if outlines is not None:
            _walk_outline(outlines, 0, page_ids, outline)
    return Extracted(text=body_text(pages, outline), title=title.strip(),
                     date="%04d-%02d-%02d" % tuple(int(g) for g in created.groups()) if created else "",
                     pages=len(pages))


def _tag(el: ET.Element) -> str:
    return _NS.sub("", el.tag)


def _child(el: ET.Element | None, name: str) -> ET.Element | None:
    if el is None:
        return None
    return next((c for c in el if _tag(c) == name), None)


def _find(el: ET.Element | None, *names: str) -> ET.Element | None:
    for name in names:
        el = _child(el, name)
    return el


def _text(el: ET.Element | None, name: str) -> str:
    found = _child(el, name)
    return (found.text or "").strip() if found is not None else ""


def _box(el: ET.Element | None) -> tuple[float, float, float, float] | None:
    if el is None or not el.text:
        return None
    try:
        x, y, w, h = (float(v) for v in el.text.split()[:4])
    except ValueError:
        return None
    return x, y, w, h


def _resolve(base: str, loc: str) -> str:
    return posixpath.normpath(loc.lstrip("/") if loc.startswith("/") else posixpath.join(base, loc))


def _deltas(spec: str, count: int) -> list[float]:
    """``DeltaX``/``DeltaY`` → the gaps between ``count`` characters (``g N d`` is N times d)."""
    out: list[float] = []
    parts = spec.split()
    i = 0
    while i < len(parts) and len(out) < count - 1:
        if parts[i] == "g" and i + 2 < len(parts):
            out.extend([float(parts[i + 2])] * int(float(parts[i + 1])))
            i += 3
        else:
            out.append(float(parts[i]))
            i += 1
    return out[: max(count - 1, 0)]


def _glyphs(content: ET.Element) -> list[Glyph]:
    glyphs: list[Glyph] = []
    for obj in content.iter():
        if _tag(obj) != "TextObject":
            continue
        box = _box_attr(obj.get("Boundary", ""))
        size = float(obj.get("Size", "0") or 0) or 3.5
        ox, oy = (box[0], box[1]) if box else (0.0, 0.0)
        x = y = 0.0
        for code in obj:
            if _tag(code) != "TextCode":
                continue
            text = code.text or ""
            if not text:
                continue
            try:
                x = float(code.get("X", x))
                y = float(code.get("Y", y))
                dx = _deltas(code.get("DeltaX", ""), len(text))
            except ValueError:
                dx = []
            pos = x
            for k, ch in enumerate(text):
                step = dx[k] if k < len(dx) else size
                # Y is the baseline; a line's centre stands about a third of the size above it
                glyphs.append(Glyph(ox + pos, ox + pos + step, oy + y - 0.35 * size, size, ch))
                pos += step
    return glyphs


def _box_attr(value: str) -> tuple[float, float, float, float] | None:
    try:
        x, y, w, h = (float(v) for v in value.split()[:4])
    except ValueError:
        return None
    return x, y, w, h


def _walk_outline(parent: ET.Element, level: int, page_ids: dict[str, int], out: list[tuple[str, int, int]]) -> None:
    for el in parent:
        if _tag(el) != "OutlineElem":
            continue
        actions = _child(el, "Actions")  # its own, not those of the entries nested in it
        dest = next((d for d in actions.iter() if _tag(d) == "Dest" and d.get("PageID")), None) \
            if actions is not None else None
        page = page_ids.get(dest.get("PageID", "")) if dest is not None else None
        title = el.get("Title", "")
        if title and page is not None:
            out.append((title, level, page))
        _walk_outline(el, level + 1, page_ids, out)
