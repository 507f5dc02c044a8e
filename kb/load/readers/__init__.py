"""Office and print formats → plain text in kb's heading grammar, for the one chunker.

Each module reads one family of files into an :class:`Extracted`: body text whose headings are
written the way :func:`kb.text.headings.heading_of` reads them (a marker such as ``一、``/``（一）``/``1.``,
or markdown ``#`` for a styled heading without one), plus the metadata the format keeps apart from
the body. :mod:`kb.load.loaders` picks the reader by the file's first bytes (:func:`sniff`), not only its
suffix, and turns the result into a ``Document`` exactly as it does a text file.

| module | reads |
|---|---|
| :mod:`kb.load.readers.docx` | Word 2007+ ``.docx`` (python-docx; numbering rendered from numbering.xml) |
| :mod:`kb.load.readers.pdf` | ``.pdf`` (pypdfium2; outline or text headings) |
| :mod:`kb.load.readers.ofd` | ``.ofd`` (GB/T 33190; ElementTree over the package's XML) |
| :mod:`kb.load.readers.legacy` | ``.doc``, ``.wps``, ``.rtf`` (LibreOffice headless → .docx) |
| :mod:`kb.load.readers.layout` | positioned lines (PDF, OFD) → paragraphs, page chrome removed |
| :mod:`kb.load.readers.limits` | the caps: ZIP members' uncompressed size, pages |

>>> sniff(b"%PDF-1.7\\n..."), sniff(b"PK\\x03\\x04..."), sniff(b"\\xd0\\xcf\\x11\\xe0\\xa1\\xb1\\x1a\\xe1"), sniff(b"{\\\\rtf1"), sniff("一、".encode())
('pdf', 'zip', 'ole', 'rtf', 'text')
"""

from __future__ import annotations

from dataclasses import dataclass

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File Binary: .doc, .wps, .xls …


@dataclass(frozen=True, slots=True)
class Extracted:
    """What a reader gives the loader.

    ``text`` is the body with ``\\n`` line ends and blank lines between paragraphs. ``title`` and
    ``date`` are what the format states outright (a Title-styled paragraph, OFD DocInfo);
    ``fallback_title``/``fallback_date`` (Word's core properties, a PDF's Info dictionary) are used
    only when neither these nor the body say.
    """

    text: str
    title: str = ""
    date: str = ""
    fallback_title: str = ""
    fallback_date: str = ""
    pages: int = 0  # for formats with pages: how many were read (kb bench reports pages/s)


def sniff(head: bytes) -> str:
    """The file family from its first bytes: ``pdf``, ``zip`` (docx, ofd), ``ole`` (doc, wps),
    ``rtf`` or ``text``."""
    if head.lstrip(b"\r\n\t \xef\xbb\xbf")[:5] == b"%PDF-":
        return "pdf"
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if head[:8] == OLE_MAGIC:
        return "ole"
    if head.lstrip(b"\xef\xbb\xbf \r\n")[:5] == b"{\\rtf":
        return "rtf"
    return "text"
