"""Typed document records: a chunked document ↔ docs/<doc_id>.json.gz (written, summarised, read back checked)."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

from kb.errors import IndexDamagedError
from kb.models import Chunked, Section
from kb.store.manifest import checked_bytes
from kb.store.components import doc_file
from kb.store.doctext import split_body


def section_to_json(s: Section) -> dict:
    return {"number": s.number, "marker": s.marker, "title": s.title, "anchor": s.anchor, "level": s.level,
            "repaired": s.repaired, "children": [section_to_json(c) for c in s.children]}


def chunked_to_json(chunked: Chunked) -> dict:
    doc = chunked.document
    return {
        "document": {"doc_id": doc.doc_id, "path": doc.path, "title": doc.title, "date": doc.date,
                     "source": doc.source, "breadcrumb": doc.breadcrumb, "sha1": doc.sha1, "size": doc.size,
                     "place": doc.place, "type": doc.doctype, "years": list(doc.years)},
        "gaps": split_body(doc.body, chunked.passages),  # the passages' own text is the text index's
        "preface": chunked.preface,
        "sections": [section_to_json(s) for s in chunked.sections],
        "passages": [{"passage_id": p.passage_id, "anchor": p.anchor, "start": p.start, "end": p.end,
                      "section_anchor": p.section_anchor, "year": p.year}  # its path: the section tree's
                     for p in chunked.passages],
    }


def _doc_summary(doc_json: dict) -> dict:
    d = doc_json["document"]

    def count(sections: list[dict]) -> int:
        return sum(1 + count(s["children"]) for s in sections)

    return {"doc_id": d["doc_id"], "title": d["title"], "date": d["date"], "source": d["source"],
            "path": d["path"], "place": d["place"], "type": d["type"], "years": d["years"],
            "passages": len(doc_json["passages"]),
            "sections": count([s for s in doc_json["sections"] if s["anchor"] != "s0"])}


def _toc_entry(s: dict) -> dict:
    entry = {"number": s["number"], "title": s["title"], "anchor": s["anchor"], "repaired": s["repaired"],
             "children": [_toc_entry(c) for c in s["children"]]}
    if s["anchor"] == "s0":
        entry["preface"] = True
    return entry


def document_bytes(doc_json: dict) -> bytes:
    """A document's JSON as its file holds it: gzipped, the same bytes for the same document (no
    time stamp), so an unchanged document's file is unchanged.

    >>> document_bytes({"a": "交通"}) == document_bytes({"a": "交通"}), json_of(document_bytes({"a": "交通"}))
    (True, {'a': '交通'})
    """
    return gzip.compress(json.dumps(doc_json, ensure_ascii=False).encode("utf-8"), compresslevel=6, mtime=0)


def json_of(data: bytes) -> dict:
    """A document file's bytes → its JSON (``OSError`` or ``ValueError`` when they are damaged:
    a truncated or garbled gzip too).

    >>> json_of(document_bytes({"a": 1})[:-3])
    Traceback (most recent call last):
    ...
    ValueError: not a whole gzipped JSON (EOFError: Compressed file ended before the end-of-stream marker was reached)
    """
    try:
        raw = gzip.decompress(data)
    except (EOFError, zlib.error) as exc:
        raise ValueError(f"not a whole gzipped JSON ({type(exc).__name__}: {exc})") from exc
    return json.loads(raw.decode("utf-8"))


def read_document(version: Path, doc_id: str, entry: tuple | None = None) -> dict:
    """A document's JSON, checked against its manifest ``entry`` (size, SHA-1) as it is read; read anew
    on each call (:class:`kb.query.pinned.PinnedVersion` keeps what one request read). Its body is
    joined back by the opened version (:meth:`kb.query.version._Version.with_body`)."""
    path = Path(version) / doc_file(doc_id)
    where = f"{Path(version).name}/{doc_file(doc_id)}"
    try:
        data = json_of(checked_bytes(path, entry, where))
        data["document"], data["passages"], data["gaps"] if "body" not in data else None  # noqa: B018  (a document, not any JSON)
    except FileNotFoundError as exc:
        raise IndexDamagedError(f"index damaged: {where} is missing: run `kb check`, then `kb build`") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexDamagedError(f"{where} is damaged ({type(exc).__name__}): run `kb check`, then `kb build`") from exc
    return data
