"""One opened version, pinned for one request → its documents, tables of contents, passages, status.

The manifest, documents and passages a request reads all come from the one version it pinned
(:meth:`kb.search.KnowledgeBase.pin`; the web app keeps it in ``flask.g``), so a build swapping
``CURRENT`` meanwhile changes nothing it answers; each document's JSON is read once per pin and made
whole by the version (:meth:`kb.query.version._Version.with_body`: the body from Whoosh's passages).

>>> _shown_path("/srv/kb/corpus/reports/bad.docx")
'reports/bad.docx'
"""

from __future__ import annotations

from pathlib import Path

from kb.errors import GoneError, NotFoundError
from kb.models import SearchResult
from kb.query.guard import guarded
from kb.query.version import _Version
from kb.store.components import doc_file
from kb.store.records import _toc_entry, read_document
from kb.store.redirects import _load_redirects


class PinnedVersion:
    """One opened version, pinned: each document's JSON is read once (a second ``document()`` of the
    same id is the same dict).

    >>> kb = KnowledgeBase("index")                                   # doctest: +SKIP
    >>> at = kb.pin()                                                 # doctest: +SKIP
    >>> at.toc("d")["title"] == at.document("d")["document"]["title"]  # doctest: +SKIP
    True
    """

    def __init__(self, kb, opened: _Version) -> None:
        self.kb, self.opened = kb, opened
        self.manifest: dict = opened.manifest
        self._documents: dict[str, dict] = {}

    @property
    def version(self) -> str:
        return self.opened.path.name

    def search(self, q: str, **kwargs) -> SearchResult:
        """:meth:`kb.search.KnowledgeBase.search` on this version."""
        return self.kb.search(q, at=self.opened, **kwargs)

    @guarded
    def docs(self) -> list[dict]:
        docs = self.manifest.get("docs", {}).values()
        return sorted(({**{k: d[k] for k in ("doc_id", "title", "date", "source", "path", "passages")},
                        "place": d.get("place", ""), "type": d.get("type", ""), "years": d.get("years", [])}
                       for d in docs),
                      key=lambda d: (d["title"], d["doc_id"]))

    def doc(self, doc_id: str) -> dict | None:
        """The document's row of :meth:`docs`, or ``None`` for an unknown id."""
        return next((d for d in self.docs() if d["doc_id"] == doc_id), None) if doc_id else None

    @guarded
    def document(self, doc_id: str) -> dict:
        """The stored document: metadata, body, sections, passages (``NotFoundError`` if unknown)."""
        data = self._documents.get(doc_id)
        if data is not None:
            return data
        if doc_id not in self.manifest.get("docs", {}):
            gone = _load_redirects(str(self.opened.path))["gone"].get(doc_id)
            if gone is not None:
                raise GoneError(f"document {doc_id!r} was removed", gone.get("title", ""), gone.get("date", ""))
            raise NotFoundError(f"no document with id {doc_id!r}")
        entry = (self.manifest.get("checksums") or {}).get(doc_file(doc_id))
        data = read_document(self.opened.path, doc_id, tuple(entry) if entry else None)
        data = self._documents[doc_id] = self.opened.with_body(doc_id, data)
        return data

    def status(self) -> dict:
        """The version: its name, when it was built, document and passage counts, failed files."""
        m = self.manifest
        docs = m.get("docs", {})
        return {"version": self.version, "built": m.get("created", ""), "documents": len(docs),
                "passages": sum(d.get("passages", 0) for d in docs.values()),
                "failed": [{"path": _shown_path(e.get("path", "")), "reason": e.get("reason", "")}
                           for e in m.get("errors", [])]}

    def original(self, doc_id: str) -> Path:
        """The file a document was read from, as the manifest records it (never a path from a request).

        ``NotFoundError`` for an unknown id, or when the file is gone or changed since the build
        (what would be served is then no longer what was indexed).
        """
        if doc_id not in self.manifest.get("docs", {}):
            raise NotFoundError(f"no document with id {doc_id!r}")
        for key, rec in self.manifest.get("files", {}).items():
            if rec.get("doc_id") != doc_id:
                continue
            path = Path(key)
            try:
                st = path.stat()
            except OSError:
                break
            if path.is_file() and st.st_size == rec.get("size"):
                return path
            break
        raise NotFoundError(f"the original file of {doc_id!r} is no longer where it was indexed from")

    @guarded
    def toc(self, doc_id: str) -> dict:
        data = self.document(doc_id)
        d = data["document"]
        return {"doc_id": d["doc_id"], "title": d["title"], "date": d["date"], "source": d["source"],
                "preface": data["preface"], "sections": [_toc_entry(s) for s in data["sections"]]}

    def resolve(self, passage_id: str) -> tuple[dict, bool]:
        """The passage a permalink names, and whether it is a successor: after an edit changed the
        passage (and so its id), the passage that took its place (:mod:`kb.build.successors`).
        ``GoneError`` when its document was removed, ``NotFoundError`` when the id was never known."""
        try:
            return self.passage(passage_id), False
        except GoneError:
            raise
        except NotFoundError:
            redirects = _load_redirects(str(self.opened.path))
            successor = redirects["passages"].get(passage_id)
            if successor is None:
                raise
        return self.passage(successor), True

    @guarded
    def passage(self, passage_id: str) -> dict:
        doc_id, _, _key = passage_id.rpartition(".")
        if not doc_id:
            raise NotFoundError(f"no passage with id {passage_id!r}")
        try:
            data = self.document(doc_id)
        except GoneError:
            raise
        except NotFoundError:
            raise NotFoundError(f"no passage with id {passage_id!r}") from None
        for p in data["passages"]:
            if p["passage_id"] == passage_id:
                d = data["document"]
                return {"passage_id": passage_id, "doc_id": doc_id, "doc_title": d["title"], "date": d["date"],
                        "source": d["source"], "anchor": p["anchor"], "section_path": p["section_path"],
                        "section_anchor": p["section_anchor"], "text": data["body"][p["start"]:p["end"]],
                        "url": f"/p/{passage_id}", "doc_url": f"/doc/{doc_id}#{p['anchor']}"}
        raise NotFoundError(f"no passage with id {passage_id!r}")


def _shown_path(path: str) -> str:
    """A failed file as the status page names it: its folder and name, not the machine's whole path.

    >>> _shown_path("/srv/kb/corpus/reports/bad.docx")
    'reports/bad.docx'
    """
    p = Path(path)
    return f"{p.parent.name}/{p.name}" if p.parent.name else p.name

