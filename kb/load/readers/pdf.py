"""A ``.pdf`` → :class:`~kb.load.readers.Extracted` through pypdfium2 (PDFium's text layer).

Characters are read one by one with their boxes and laid out again by :mod:`kb.load.readers.layout`:
PDFium's own text output puts spaces between CJK characters and digits and breaks every visual
line, and both would spoil search (``43.68 亿元``) and passages. The outline (bookmarks) gives the
sections when the file has one; otherwise the headings are found in the text, as for a .txt file.
A PDF whose pages hold no characters is a scan (``no text layer (scanned?)``); OCR is not kb's job.
"""

from __future__ import annotations

import re
from pathlib import Path

from kb.errors import LoadError
from kb.load.readers import Extracted
from kb.load.readers.layout import Glyph, Page, body_text, lines_of
from kb.load.readers.limits import check_pages

_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})(\d{2})")


def read_pdf(path: Path, *, max_pages: int | None = None) -> Extracted:
    """Read a PDF's text layer; ``LoadError`` for an encrypted, corrupt, over-long or scanned file."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise LoadError(path, "encrypted PDF (needs a password); save an unprotected copy") from exc
        raise LoadError(path, f"corrupt file: not a readable PDF ({exc})") from exc
    try:
        count = len(pdf)
        check_pages(count, path, max_pages=max_pages)
        pages: list[Page] = []
        chars = 0
        for index in range(count):
            page = pdf[index]
            try:
                width, height = page.get_size()
                textpage = page.get_textpage()
                try:
                    glyphs = _glyphs(textpage, raw, height)
                finally:
                    textpage.close()
            finally:
                page.close()
            chars += len(glyphs)
            pages.append(Page(lines_of(glyphs), width, height))
        if count and not chars:
            raise LoadError(path, "no text layer (scanned?): kb reads a PDF's text, not its images")
        outline = _outline(pdf)
        meta = _metadata(pdf)
    except pdfium.PdfiumError as exc:
        raise LoadError(path, f"corrupt file: cannot read the PDF ({exc})") from exc
    finally:
        pdf.close()
    created = _PDF_DATE.match(meta.get("CreationDate", "") or "")
    text = body_text(pages, outline)
    if count and not text.strip():  # only a page number or a running header over the scanned image
        raise LoadError(path, "no text layer (scanned?): kb reads a PDF's text, not its images")
    return Extracted(
        text=text,
        fallback_title=(meta.get("Title") or "").strip(),
        fallback_date="-".join(created.groups()) if created else "",
        pages=count,
    )


def _glyphs(textpage, raw, height: float) -> list[Glyph]:
    out: list[Glyph] = []
    for i in range(textpage.count_chars()):
        code = raw.FPDFText_GetUnicode(textpage.raw, i)
        if not code or code in (0xFFFE, 0xFFFF) or raw.FPDFText_IsGenerated(textpage.raw, i) == 1:
            continue  # generated: the spaces and line breaks PDFium inserts itself
        ch = chr(code)
        if not ch.strip() or 0xD800 <= code <= 0xDFFF:
            continue
        # the loose box spans the glyph's advance and the font's height, not its ink: "1" is as wide
        # as "8", and a line's characters share one centre whatever their shapes
        left, bottom, right, top = textpage.get_charbox(i, loose=True)
        size = raw.FPDFText_GetFontSize(textpage.raw, i) or (top - bottom) or 10.0
        out.append(Glyph(left, right, height - (top + bottom) / 2, float(size), ch))
    return out


def _outline(pdf) -> list[tuple[str, int, int]]:
    """(title, level, page index) of each bookmark that points at a page."""
    import pypdfium2 as pdfium

    items = []
    try:
        for item in pdf.get_toc():
            dest = item.get_dest()
            index = dest.get_index() if dest is not None else None
            title = item.get_title()
            if index is not None and title:
                items.append((title, item.level, index))
    except pdfium.PdfiumError:  # a broken outline is no reason to lose the text: the text has headings too
        return []
    return items


def _metadata(pdf) -> dict[str, str]:
    import pypdfium2 as pdfium

    try:
        return pdf.get_metadata_dict(skip_empty=True)
    except (pdfium.PdfiumError, UnicodeDecodeError):
        return {}
