"""The web UI and JSON API: ``create_app()`` → a Flask app over one :class:`kb.search.KnowledgeBase`.

Flaskr-style: no app object at import; configuration from ``from_mapping`` defaults, then the test
config. Pages live in :mod:`web.views` (blueprints ``pages`` and ``api``), the index handle in
:mod:`web.db` (``get_version()``), what the document page shows in :mod:`web.render`.

Errors are turned into pages here and nowhere else: an unknown id is a 404, an over-long query a 400
with its message, a missing index a 503 saying to run ``kb build``; under ``/api/`` the same errors
come back as ``{"error": ...}`` JSON. A passage or document since removed is a 410 naming its title.
Any other exception is a bug: Flask logs its traceback and the reader gets a 500 page in Chinese
without it (under ``TESTING`` it propagates, so a test shows the traceback).

>>> app = create_app({"KB_INDEX": "/nonexistent", "TESTING": True})   # doctest: +SKIP
>>> app.test_client().get("/").status_code                            # doctest: +SKIP
503
"""

from __future__ import annotations

import os
from typing import Any

from pathlib import Path

from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from kb.errors import GoneError, IndexDamagedError, IndexMissingError, NotFoundError, QueryError

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app; ``KB_INDEX`` (default: env ``KB_INDEX`` or ``index``) names the index folder."""
    app = Flask(__name__)
    # an id is one path segment: "/doc//x" is not found, not redirected to another id
    app.url_map.merge_slashes = False
    app.config.from_mapping(
        KB_INDEX=os.environ.get("KB_INDEX", "index"),
        # the address colleagues open (citations and copied links use it); unset: the page's own origin
        KB_PUBLIC_URL=os.environ.get("KB_PUBLIC_URL", ""),
        MAX_CONTENT_LENGTH=1 << 20,  # only GETs are served; anything bigger is not ours
    )
    if test_config:
        app.config.from_mapping(test_config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # readable Chinese in the API

    from web import db, views

    db.init_app(app)
    app.register_blueprint(views.pages)
    app.register_blueprint(views.api)
    _register_errors(app)

    @app.after_request
    def _secure(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _error(status: int, title: str, message: str, *, detail: str | None = None, template: str = "error.html",
           headers: dict[str, str] | None = None) -> tuple[Any, int, dict[str, str]]:
    """The error as a page, or as ``{"error": detail or message, "status": ...}`` for API clients."""
    if _wants_json():
        return jsonify(error=detail or message, status=status), status, headers or {}
    body = render_template(template, status=status, title=title, message=message,
                           index_name=Path(str(current_app.config["KB_INDEX"])).name or "index")
    return body, status, headers or {}


def _register_errors(app: Flask) -> None:
    @app.errorhandler(NotFoundError)
    def _not_found(exc: NotFoundError):
        return _error(404, "找不到页面", "没有这个文档或段落，链接可能已失效。", detail=str(exc))

    @app.errorhandler(GoneError)
    def _gone(exc: GoneError):
        what = f"《{exc.title}》" if exc.title else "这份文档"
        date = f"（{exc.date}）" if exc.date else ""
        return _error(410, "文档已删除", f"{what}{date}已从知识库中删除，这个链接指向的段落不再提供。",
                      detail=f"{exc} ({exc.title})" if exc.title else str(exc))

    @app.errorhandler(QueryError)
    def _bad_query(exc: QueryError):
        return _error(400, "查询无法处理", str(exc))

    @app.errorhandler(IndexMissingError)
    def _no_index(exc: IndexMissingError):
        return _error(503, "索引尚未建立", str(exc), template="missing_index.html", headers={"Retry-After": "30"})

    @app.errorhandler(IndexDamagedError)
    def _damaged(exc: IndexDamagedError):  # messages name files relative to the index folder, never a path
        app.logger.error("index damaged: %s", exc)
        return _error(503, "索引已损坏", "索引文件已损坏或不完整，暂时无法搜索。请管理员运行 kb check 查看损坏的文件，"
                      "再运行 kb build 重建；重建完成后刷新本页即可。", detail=f"index damaged: {exc}",
                      headers={"Retry-After": "30"})

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        titles = {400: "请求有误", 404: "找不到页面", 405: "不支持的请求方法", 413: "请求过大", 500: "服务器出错"}
        messages = {404: "没有这个页面，链接可能已失效。", 405: "这个地址只支持 GET 请求。",
                    500: "处理这个请求时服务器出错了，错误已记入服务器日志。请稍后再试；一再出现时请告诉管理员。"}
        status = exc.code or 500
        methods = getattr(exc, "valid_methods", None)  # a 405 says what is allowed
        allow = {"Allow": ", ".join(methods)} if methods else {}
        return _error(status, titles.get(status, "出错了"), messages.get(status, exc.description or exc.name),
                      detail=exc.description or exc.name, headers=allow)
