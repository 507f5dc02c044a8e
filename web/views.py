"""Routes: the HTML pages (blueprint ``pages``) and the JSON API (blueprint ``api``, under ``/api``).

Every id in a URL is looked up in the index manifest by :class:`kb.search.KnowledgeBase`; no route
opens a file named by the request. Unknown ids raise ``NotFoundError``, which ``web.create_app``
turns into a 404 page or ``{"error": ...}``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from kb.errors import NotFoundError
from kb.models import SearchResult
from kb.search import MAX_PAGE
from web.db import get_kb
from web.render import PATH_SEPARATOR, PassageView, citation, document_view, query_terms, suggestions

pages = Blueprint("pages", __name__)
api = Blueprint("api", __name__, url_prefix="/api")

START_PAGE_DOCS = 500  # documents listed on the start page; the rest are found by searching (or /api/docs)
EXAMPLE_QUERIES = ("综合交通投资", "四好农村路", "营商环境", '"城乡公交" 一体化', "安全生产 -事故", "year:2023 公路")


# --- helpers ---------------------------------------------------------------------------------------

def get_document(doc_id: str) -> dict:
    """The stored document, or 404 (the flaskr ``get_post``)."""
    return get_kb().document(doc_id)


def get_passage(passage_id: str) -> dict:
    """The passage, or 404."""
    return get_kb().passage(passage_id)


def _page_arg() -> int:
    raw = request.args.get("page", "1")
    try:
        return max(1, min(int(raw), MAX_PAGE))
    except ValueError:
        return 1


def _query_args() -> tuple[str, int, str]:
    return request.args.get("q", ""), _page_arg(), request.args.get("doc", "").strip()


def _exact_arg() -> bool:
    """``?exact=1``: search the words as typed, no spelling or pinyin correction."""
    return request.args.get("exact", "") not in ("", "0")


def _known_doc(doc_id: str) -> dict | None:
    if not doc_id:
        return None
    return next((d for d in get_kb().docs() if d["doc_id"] == doc_id), None)


def _page_numbers(page: int, pages: int, width: int = 2) -> list[int | None]:
    """Page links to show: first, last and a window around the current one; ``None`` is a gap."""
    pages = min(pages, MAX_PAGE)
    wanted = {1, pages, *range(page - width, page + width + 1)}
    out: list[int | None] = []
    for n in sorted(x for x in wanted if 1 <= x <= pages):
        if out and out[-1] is not None and n - out[-1] > 1:
            out.append(None)
        out.append(n)
    return out


# --- pages -----------------------------------------------------------------------------------------

@pages.get("/")
@pages.get("/search")
def search() -> Any:
    """The search page; with no query, a start page with example queries and the documents."""
    q, page, doc_id = _query_args()
    kb = get_kb()
    doc = _known_doc(doc_id)
    notice = ""
    if doc_id and doc is None:
        notice = f"没有编号为“{doc_id}”的文档，已在全部文档中搜索。"
    elif doc is not None and not q.strip():
        notice = f"输入关键词，将只在《{doc['title'] or doc_id}》中搜索。"
    result: SearchResult | None = None
    if q.strip():
        result = kb.search(q, page=page, doc=doc["doc_id"] if doc else None, exact=_exact_arg())
    docs = kb.docs() if result is None else []
    docs_total = len(docs)
    docs = docs[:START_PAGE_DOCS]  # 100,000 documents made a 16 MB start page
    return render_template(
        "search.html", q=q, result=result, doc=doc, notice=notice, docs=docs, docs_total=docs_total,
        examples=EXAMPLE_QUERIES,
        page_numbers=_page_numbers(result.page, result.pages) if result else [],
        suggestions=suggestions(q) if result is not None and (result.partial or not result.total) else [],
        separator=PATH_SEPARATOR)


@pages.get("/doc/<doc_id>")
def document(doc_id: str) -> Any:
    """One document with its table of contents; ``?q=`` marks the query's terms."""
    q = request.args.get("q", "")
    data = get_document(doc_id)
    view = document_view(data, query_terms(q))
    # never the request's Host header (a forged one rewrote every link): the configured address, else relative
    root = str(current_app.config.get("KB_PUBLIC_URL") or "").rstrip("/")

    def cite(p: PassageView) -> str:
        return citation(p.text, view.title, p.section_path, view.date,
                        root + url_for("pages.permalink", passage_id=p.passage_id))

    return render_template("doc.html", view=view, q=q, cite=cite, separator=PATH_SEPARATOR)


@pages.get("/p/<passage_id>")
def permalink(passage_id: str) -> Any:
    """The permanent link of a passage: 302 to its place in the document (keeps ``?q=``)."""
    p = get_passage(passage_id)
    q = request.args.get("q", "")
    target = url_for("pages.document", doc_id=p["doc_id"], q=q or None, _anchor=p["anchor"])
    return redirect(target, code=302)


@pages.get("/healthz")
def healthz() -> Any:
    kb = get_kb()
    return jsonify(status="ok", version=kb.version, documents=len(kb.docs()))


# --- JSON API --------------------------------------------------------------------------------------

@api.get("/search")
def api_search() -> Any:
    q, page, doc_id = _query_args()
    if doc_id and _known_doc(doc_id) is None:
        raise NotFoundError(f"no document with id {doc_id!r}")
    return jsonify(get_kb().search(q, page=page, doc=doc_id or None, exact=_exact_arg()).to_json())


@api.get("/docs")
def api_docs() -> Any:
    return jsonify([{**d, "url": url_for("pages.document", doc_id=d["doc_id"])} for d in get_kb().docs()])


@api.get("/docs/<doc_id>")
def api_doc(doc_id: str) -> Any:
    kb = get_kb()
    toc = kb.toc(doc_id)
    meta = _known_doc(doc_id) or {}
    data = get_document(doc_id)
    return jsonify({**toc, "breadcrumb": data["document"].get("breadcrumb", ""), "path": meta.get("path", ""),
                    "passages": meta.get("passages", len(data["passages"])),
                    "url": url_for("pages.document", doc_id=doc_id)})


@api.get("/passages/<passage_id>")
def api_passage(passage_id: str) -> Any:
    return jsonify(get_passage(passage_id))
