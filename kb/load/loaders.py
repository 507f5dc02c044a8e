"""A file path → ``Document``: bytes decoded, page chrome and front matter read off as metadata.

:func:`load_document` picks the reader by the file's first bytes (``%PDF``, ZIP, OLE, ``{\\rtf``),
then by suffix: text (``.txt``, ``.md``, ``.html``) is decoded here; Word, PDF, OFD and the
LibreOffice formats are read by :mod:`kb.load.readers` into text in the same heading grammar, so every
format goes through the same title, date and chunking rules.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "plan.txt").write_bytes("当前位置:首页 > 计划\\n\\n某局2024年计划\\n\\n发布日期:2024-06-07 15:56 信息来源:市交通局\\n\\n一、总体要求\\n正文。".encode("gbk"))
>>> doc = load_document(root / "plan.txt", root)
>>> doc.doc_id, doc.title, doc.date, doc.source
('plan', '某局2024年计划', '2024-06-07', '市交通局')
>>> doc.body
'一、总体要求\\n正文。'
"""

from __future__ import annotations

import re
from pathlib import Path

from kb.errors import LoadError
from kb.models import Document
from kb.load.readers import Extracted, sniff
from kb.load.files import MAX_BYTES, OFFICE_SUFFIXES, RawFile, SUFFIXES, read_corpus_file
from kb.load.decode import decode, html_to_text
from kb.load.chrome import _from_text, split_front_matter


def load_document(path: Path, root: Path | None = None, raw: RawFile | None = None, *,
                  converted: Path | None = None) -> Document:
    """Read one corpus file into a ``Document``; raise ``LoadError`` naming the file when it cannot.

    ``raw``: the file's bytes, already read with :func:`read_corpus_file` (the build does, to hash
    exactly what it indexes); else the file is read here, inside ``root`` when one is given.
    ``converted`` is a .docx LibreOffice already made of a .doc/.wps/.rtf file (the indexer converts
    them in one batch, :func:`kb.load.readers.legacy.convert_batch`). The office readers open the path
    again, once :func:`read_corpus_file` has found it a regular file inside the corpus.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise LoadError(path, f"unsupported file type {suffix or '(none)'}; kb reads {', '.join(SUFFIXES)}")
    if raw is None:
        raw = read_corpus_file(path, (root,) if root is not None else ())
    head = raw.data[:1024]
    kind = sniff(head)
    if kind != "text" or suffix in OFFICE_SUFFIXES:
        extracted = _read_office(path, kind, head, converted)
        if extracted is not None:
            doc = _from_text(extracted.text, {}, extracted.title, path, root, chrome=False,
                             fallback_title=extracted.fallback_title,
                             fallback_date=extracted.date or extracted.fallback_date)
            if not doc.body.strip():
                raise LoadError(path, "no text in the document (empty, or only images)")
            return doc
    if raw.size > MAX_BYTES:
        raise LoadError(path, f"file is {raw.size / 2**20:.0f} MB, over the {MAX_BYTES // 2**20} MB limit")
    text = decode(raw.data, path)
    if suffix in OFFICE_SUFFIXES:  # an "office" file that is really a web page saved under that name
        suffix = ".html"
    if suffix in (".html", ".htm"):
        title_hint, text = html_to_text(text)
    else:
        title_hint = ""
    meta, text = split_front_matter(text)
    doc = _from_text(text, meta, title_hint, path, root)
    if not doc.body.strip():
        raise LoadError(path, "no text after removing page chrome (empty document)")
    return doc


def _read_office(path: Path, kind: str, head: bytes, converted: Path | None) -> Extracted | None:
    """The reader for the file's content; ``None`` for a web page saved as .doc (read as HTML)."""
    from kb.load.readers import legacy

    suffix = path.suffix.lower()
    if kind == "pdf":
        from kb.load.readers.pdf import read_pdf

        return read_pdf(path)
    if kind == "zip":
        if suffix == ".ofd" or _zip_has(path, "OFD.xml"):
            from kb.load.readers.ofd import read_ofd

            return read_ofd(path)
        from kb.load.readers.docx import read_docx

        return read_docx(path)
    if kind in ("ole", "rtf"):
        return legacy.read_legacy(path, converted)
    if re.match(rb"\s*(?:\xef\xbb\xbf)?\s*<(?:!doctype|html|\?xml|meta|head)", head, re.I) and suffix in (".doc", ".wps"):
        return None
    expected = {".pdf": "a PDF (%PDF)", ".docx": "a ZIP package", ".ofd": "a ZIP package", ".rtf": "RTF ({\\rtf)",
                ".doc": "a Word (OLE) file", ".wps": "a WPS (OLE) file"}[suffix]
    raise LoadError(path, f"corrupt file: a {suffix} file that is not {expected} (damaged or misnamed)")


def _zip_has(path: Path, name: str) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            return name in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
