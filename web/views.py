"""Routes: the HTML pages (blueprint ``pages``) and the JSON API (blueprint ``api``, under ``/api``).

Every id in a URL is looked up in the index manifest by the request's pinned version
(``web.db.get_version()``, one :class:`kb.search.PinnedVersion` per request); no route
opens a file named by the request. Unknown ids raise ``NotFoundError``, which ``web.create_app``
turns into a 404 page or ``{"error": ...}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, send_file, url_for

from kb.query import doclist
from kb.errors import NotFoundError, QueryError
from kb.models import SearchResult
from kb.query.parse import parse_query
from kb.search import MAX_PAGE
from web.db import get_version
from web.render import (PATH_SEPARATOR, citation, document_view, empty_query_tip, matched_sentence, query_terms,
                        suggestions, without_doc_filter)

pages = Blueprint("pages", __name__)
api = Blueprint("api", __name__, url_prefix="/api")

# what a browser needs to open or save each format (mimetypes lacks .ofd/.wps and guesses .md oddly)
ORIGINAL_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".doc": "application/msword", ".wps": "application/vnd.ms-works", ".rtf": "application/rtf",
    ".pdf": "application/pdf", ".ofd": "application/ofd", ".txt": "text/plain", ".md": "text/markdown",
    ".markdown": "text/markdown", ".html": "text/html", ".htm": "text/html",
}

EXAMPLE_QUERIES = ("综合交通投资", "四好农村路", "营商环境", '"城乡公交" 一体化', "安全生产 -事故", "year:2023 公路")


# --- helpers ---------------------------------------------------------------------------------------

def get_document(doc_id: str) -> dict:
    """The stored document, or 404 (the flaskr ``get_post``)."""
    return get_version().document(doc_id)


def get_passage(passage_id: str) -> dict:
    """The passage, or 404."""
    return get_version().passage(passage_id)


def _page_arg() -> int:
    raw = request.args.get("page", "1")
    try:
        return max(1, min(int(raw), MAX_PAGE))
    except ValueError:
        return 1


def _query_args() -> tuple[str, int, str]:
    return request.args.get("q", ""), _page_arg(), request.args.get("doc", "").strip()


# what a search page's URL may carry beside q: kept by every link that changes one of them
SEARCH_ARGS = ("q", "doc", "year", "type", "place", "sort", "group", "exact", "page")


def search_args(**changes: Any) -> dict[str, str]:
    """The current search's URL parameters with ``changes`` applied (``None`` drops one); the page
    goes back to 1 unless given, since other filters mean other pages."""
    args = {k: request.args.get(k, "") for k in SEARCH_ARGS}
    args["page"] = ""
    args.update({k: "" if v is None else str(v) for k, v in changes.items()})
    return {k: v for k, v in args.items() if v}


def search_url(**changes: Any) -> str:
    return url_for("pages.search", **search_args(**changes))


def _year_arg(raw: str | None = None) -> tuple[int, int] | None:
    """``?year=2023`` or ``?year=2020-2023`` → the ``year:`` filter (read by the query parser)."""
    raw = request.args.get("year", "") if raw is None else raw
    if not raw.strip():
        return None
    return parse_query(f"year:{raw.strip()[:20]}").years


def _facet_args() -> dict[str, Any]:
    """The facet filters and display options of a search request, as ``KnowledgeBase.search`` takes them."""
    kind = request.args.get("type", "").strip()
    place = request.args.get("place", "").strip()
    return {"years": _year_arg(), "types": (kind,) if kind else (), "places": (place,) if place else (),
            "sort": "date" if request.args.get("sort") == "date" else "relevance"}


def _grouped(doc_id: str) -> bool:
    """One hit per document unless asked for passages (``group=passage``) or searching one document."""
    return request.args.get("group", "") != "passage" and not doc_id


def public_url(path: str) -> str:
    """``path`` under the configured public address (``kb serve --public-url``, ``KB_PUBLIC_URL``);
    relative when none is set (the page's script completes it from the address it was opened at).
    The request's Host header is never used: behind a proxy, or bound to 127.0.0.1, it is no address
    a colleague can open."""
    base = (current_app.config.get("KB_PUBLIC_URL") or "").rstrip("/")
    return f"{base}{path}" if base else path


def _exact_arg() -> bool:
    """``?exact=1``: search the words as typed, no spelling or pinyin correction."""
    return request.args.get("exact", "") not in ("", "0")


def _known_doc(doc_id: str) -> dict | None:
    return get_version().doc(doc_id)


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
    """The search page; with no query, a start page with example queries and the newest documents."""
    q, page, doc_id = _query_args()
    kb = get_version()
    doc = _known_doc(doc_id)
    notice = ""
    if doc_id and doc is None:
        notice = f"没有编号为“{doc_id}”的文档，已在全部文档中搜索。"
    elif doc is not None and not q.strip():
        notice = f"输入关键词，将只在《{doc['title'] or doc_id}》中搜索。"
    result: SearchResult | None = None
    status = 200
    facet_args = _facet_args()
    if q.strip():
        try:
            result = kb.search(q, page=page, doc=doc["doc_id"] if doc else None, exact=_exact_arg(),
                               group=_grouped(doc["doc_id"] if doc else ""), **facet_args)
        except QueryError:
            status = 400  # over-long: say so in Chinese, keep what was typed in the box
            notice = f"查询过长（{len(q)} 字），请缩短到 500 字以内后再搜索。"
            result = SearchResult(query=q, total=0, took_ms=0.0, page=1, page_size=10)
    docs = doclist.filter_docs(kb.docs(), sort="date")[:START_DOCS] if result is None else []
    tip = empty_query_tip(q) if result is not None and not result.total and status == 200 else ""
    terms = list(result.terms) if result else []
    return render_template(
        "search.html", q=q, result=result, doc=doc, notice=notice, tip=tip, docs=docs,
        doc_count=len(kb.docs()), examples=EXAMPLE_QUERIES,
        page_numbers=_page_numbers(result.page, result.pages) if result else [],
        suggestions=suggestions(q) if result is not None and (result.partial or not result.total) and not tip else [],
        separator=PATH_SEPARATOR, search_url=search_url, search_args=search_args, all_docs_q=without_doc_filter(q),
        year=request.args.get("year", ""), kind=request.args.get("type", ""), place=request.args.get("place", ""),
        sort=facet_args["sort"], grouped=_grouped(doc["doc_id"] if doc else ""),
        cite=lambda hit, short: citation(matched_sentence(hit.text, terms) if short else hit.text, hit.doc_title,
                                         hit.section_path, hit.date, public_url(hit.url), hit.source),
        public_url=public_url), status


START_DOCS = 20  # the start page lists the newest documents; /docs lists them all


@pages.get("/docs")
def docs_page() -> Any:
    """The document list: filter by year reported on, type and place, search titles, newest first, paginate."""
    kb = get_version()
    args = _docs_args()
    listing = doclist.browse(kb.docs(), **args)
    return render_template("docs.html", listing=listing, args=args, q=request.args.get("q", ""),
                           docs_url=lambda **changes: url_for("pages.docs_page", **_docs_url_args(**changes)),
                           page_numbers=_page_numbers(listing.page, listing.pages))


def _docs_args() -> dict[str, Any]:
    year = request.args.get("year", "").strip()
    return {"year": int(year) if year.isdigit() and len(year) == 4 else None,
            "kind": request.args.get("type", "").strip(), "place": request.args.get("place", "").strip(),
            "q": request.args.get("q", "")[:100], "sort": "title" if request.args.get("sort") == "title" else "date",
            "page": _page_arg()}


def _docs_url_args(**changes: Any) -> dict[str, str]:
    args = {k: request.args.get(k, "") for k in ("q", "year", "type", "place", "sort")}
    args.update({k: "" if v is None else str(v) for k, v in changes.items()})
    return {k: v for k, v in args.items() if v}


BACK_ARGS = ("q", "doc", "year", "type", "place", "sort", "group", "exact", "page")


@pages.get("/doc/<doc_id>")
def document(doc_id: str) -> Any:
    """One document with its table of contents; ``?q=`` marks the query's terms; the other search
    parameters (filters, page) come along so that "返回搜索结果" returns to the same results."""
    q = request.args.get("q", "")
    data = get_document(doc_id)
    view = document_view(data, query_terms(q))
    back = {k: request.args.get(k, "") for k in BACK_ARGS if request.args.get(k, "")}
    return render_template("doc.html", view=view, q=q, separator=PATH_SEPARATOR,
                           back_url=url_for("pages.search", **back) if q else "",
                           moved=request.args.get("moved", "") == "1",
                           permalink_base=public_url("/p/"))


@pages.get("/doc/<doc_id>/original")
def original(doc_id: str) -> Any:
    """The file the document was read from, as an attachment: the path comes from the manifest only."""
    path = get_version().original(doc_id)
    mimetype = ORIGINAL_TYPES.get(path.suffix.lower(), "application/octet-stream")
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=path.name, max_age=0)


@pages.get("/p/<passage_id>")
def permalink(passage_id: str) -> Any:
    """The permanent link of a passage: 302 to its place in the document (keeps ``?q=`` and the
    search's filters). An id an edit replaced lands on its successor, with the notice 该段落已更新."""
    p, moved = get_version().resolve(passage_id)
    args = {k: request.args.get(k, "") for k in BACK_ARGS if request.args.get(k, "")}
    if moved:
        args["moved"] = "1"
    target = url_for("pages.document", doc_id=p["doc_id"], **args, _anchor=p["anchor"])
    return redirect(target, code=302)


def _status() -> dict:
    """The served index and, under ``kb serve --watch``, the watcher's last look and build."""
    data = get_version().status()
    watcher = current_app.config.get("KB_WATCHER")
    data["watch"] = watcher.state.to_json() if watcher is not None else {"watching": False}
    return data


@pages.get("/status")
def status() -> Any:
    return render_template("status.html", status=_status())


@pages.get("/favicon.ico")
def favicon() -> Any:
    """Browsers ask for /favicon.ico whatever the page links: the SVG icon, not a 404."""
    icon = Path(current_app.static_folder or "static") / "favicon.svg"
    return Response(icon.read_bytes(), mimetype="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


@pages.get("/healthz")
def healthz() -> Any:
    kb = get_version()
    return jsonify(status="ok", version=kb.version, documents=len(kb.docs()))


# --- JSON API --------------------------------------------------------------------------------------

@api.get("/search")
def api_search() -> Any:
    q, page, doc_id = _query_args()
    if doc_id and _known_doc(doc_id) is None:
        raise NotFoundError(f"no document with id {doc_id!r}")
    result = get_version().search(q, page=page, doc=doc_id or None, exact=_exact_arg(), group=_grouped(doc_id),
                             **_facet_args())
    return jsonify(result.to_json())


@api.get("/docs")
def api_docs() -> Any:
    """All documents (a list, as ``kb docs --json``), or with ``year``, ``type``, ``place``, ``q``,
    ``sort=date|title`` and ``page`` the matching ones; ``X-Total-Count`` says how many matched."""
    args = _docs_args()
    docs = get_version().docs()
    filtered = bool(request.args) and any(request.args.get(k) for k in ("year", "type", "place", "q", "sort", "page"))
    if filtered:
        listing = doclist.browse(docs, **args)
        chosen, total = listing.docs, listing.total
    else:
        chosen, total = docs, len(docs)
    response = jsonify([{**d, "url": url_for("pages.document", doc_id=d["doc_id"])} for d in chosen])
    response.headers["X-Total-Count"] = str(total)
    return response


@api.get("/docs/<doc_id>")
def api_doc(doc_id: str) -> Any:
    kb = get_version()
    toc = kb.toc(doc_id)
    meta = _known_doc(doc_id) or {}
    data = get_document(doc_id)
    return jsonify({**toc, "breadcrumb": data["document"].get("breadcrumb", ""), "path": meta.get("path", ""),
                    "passages": meta.get("passages", len(data["passages"])),
                    "url": url_for("pages.document", doc_id=doc_id)})


@api.get("/status")
def api_status() -> Any:
    return jsonify(_status())


@api.get("/passages/<passage_id>")
def api_passage(passage_id: str) -> Any:
    """The passage (an edited one's successor, with ``moved_from``), with its citation as 复制引用 copies it."""
    p, moved = get_version().resolve(passage_id)
    url = public_url(p["url"])
    out = {**p, "citation": citation(p["text"], p["doc_title"], p["section_path"], p["date"], url, p["source"])}
    if moved:
        out["moved_from"] = passage_id
    return jsonify(out)
