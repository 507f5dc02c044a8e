"""The web UI and JSON API through Flask's test client: routes, status codes, JSON shapes, escaping, headers."""

from __future__ import annotations

import doctest
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import web
import web.render
from kb.search import KnowledgeBase
from web import CSP, create_app
from web_fixtures import HOSTILE_DOC, MISSION_DOC, several_documents, web_app, web_client, web_corpus, web_index  # noqa: F401, F811

SEARCH_KEYS = {"query", "total", "took_ms", "page", "hits"}
HIT_KEYS = {"passage_id", "doc_id", "doc_title", "date", "section_path", "text", "snippet_html", "url"}


@pytest.fixture(scope="module")
def kb(web_index: Path) -> KnowledgeBase:
    return KnowledgeBase(web_index)


@pytest.fixture(scope="module")
def mission(kb: KnowledgeBase) -> dict:
    return kb.document(MISSION_DOC)


def html(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


class _Audit(HTMLParser):
    """Collects what the CSP forbids or what would mean unescaped input: inline scripts, styles, handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.problems: list[str] = []
        self.ids: list[str] = []
        self.lang: str | None = None
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "script":
            self.scripts.append(a)
            if not a.get("src"):
                self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        if "id" in a and a["id"]:
            self.ids.append(a["id"])
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"{name}= on <{tag}>")
            if name in ("href", "src", "action") and value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL on <{tag}>")


def audit(page: str) -> _Audit:
    parser = _Audit()
    parser.feed(page)
    parser.close()
    assert parser.problems == [], parser.problems
    assert parser.lang == "zh-CN"
    assert [s.get("src") for s in parser.scripts] == ["/static/kb.js"]
    assert len(parser.ids) == len(set(parser.ids)), "duplicate ids"
    return parser


# --- app factory -------------------------------------------------------------------------------------

def test_no_app_object_at_import() -> None:
    assert not hasattr(web, "app")
    assert callable(web.create_app)


def test_config_defaults(web_app, monkeypatch, tmp_path: Path) -> None:
    assert web_app.config["MAX_CONTENT_LENGTH"] == 1 << 20
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "from-env"))
    assert create_app().config["KB_INDEX"] == str(tmp_path / "from-env")
    monkeypatch.delenv("KB_INDEX")
    assert create_app().config["KB_INDEX"] == "index"


def test_render_doctests() -> None:
    result = doctest.testmod(web.render)
    assert result.attempted > 0 and result.failed == 0


# --- search page -------------------------------------------------------------------------------------

def test_start_page_lists_documents_and_examples(web_client: FlaskClient, kb: KnowledgeBase) -> None:
    for url in ("/", "/search", "/search?q=", "/search?q=%20%20"):
        page = html(web_client, url)
        audit(page)
        assert "试试这些查询" in page
        assert re.search(r'<input id="q" name="q" type="search"[^>]*autofocus', page)
        assert '<label for="q"' in page
        for d in kb.docs():
            assert f'href="/doc/{d["doc_id"]}"' in page
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;恶意标题测试" in html(web_client, "/")


def test_search_page_shows_highlighted_hits(web_client: FlaskClient) -> None:
    page = html(web_client, "/search?q=" + quote("综合交通投资"))
    tags = audit(page).tags
    for landmark in ("header", "main", "aside", "nav", "footer") if "pager" in page else ("header", "main", "aside"):
        assert landmark in tags
    assert re.search(r"找到 <strong>\d+</strong> 个段落", page)
    assert "毫秒" in page
    assert "<mark>综合交通投资</mark>" in page
    # every hit links to its permalink, carrying the query so the document page marks it
    links = re.findall(r'class="hit-link" href="([^"]+)"', page)
    assert links and all(link.startswith("/p/") for link in links)
    assert parse_qs(urlsplit(links[0]).query)["q"] == ["综合交通投资"]
    assert f'href="/p/{MISSION_DOC}.' in page
    # the section breadcrumb and the facet counts
    assert "二、坚持高质量发展,奋力书写交通高分答卷 › (一)聚焦“两城两湖”,建设全域快速路网" in page
    assert "按文档筛选" in page
    assert re.search(r'<span class="count"[^>]*>\d+</span>', page)
    assert 'value="综合交通投资"' in page


def test_search_filter_by_document(web_client: FlaskClient) -> None:
    page = html(web_client, f"/search?q=%E4%BA%A4%E9%80%9A&doc={MISSION_DOC}")
    links = re.findall(r'class="hit-link" href="/p/([^"?]+)', page)
    assert links and all(link.startswith(MISSION_DOC + ".") for link in links)
    assert "仅在《温岭市交通运输局2023年度工作总结》中" in page
    assert f'<input type="hidden" name="doc" value="{MISSION_DOC}">' in page
    assert re.search(rf'href="/search\?q=%E4%BA%A4%E9%80%9A&amp;doc={MISSION_DOC}" aria-current="true"', page)
    start = html(web_client, f"/search?doc={MISSION_DOC}")  # no query yet: say where it will search
    assert "将只在《温岭市交通运输局2023年度工作总结》中搜索" in start
    assert f'<input type="hidden" name="doc" value="{MISSION_DOC}">' in start


def test_search_unknown_document_filter_searches_everything(web_client: FlaskClient) -> None:
    page = html(web_client, "/search?q=%E4%BA%A4%E9%80%9A&doc=no-such-doc")
    assert "没有编号为“no-such-doc”的文档" in page
    assert 'class="hit-link"' in page


def test_search_pagination(web_client: FlaskClient) -> None:
    # passages, ungrouped: the small test index has too few documents for a second page of them
    first = html(web_client, "/search?q=%E4%BA%A4%E9%80%9A&group=passage")
    assert '<nav class="pager" aria-label="分页">' in first
    assert 'rel="next" href="/search?q=%E4%BA%A4%E9%80%9A&amp;group=passage&amp;page=2"' in first
    second = html(web_client, "/search?q=%E4%BA%A4%E9%80%9A&group=passage&page=2")
    assert '<ol class="hits" start="11">' in second
    assert 'rel="prev"' in second
    assert set(re.findall(r'class="hit-link" href="([^"]+)"', first)).isdisjoint(
        re.findall(r'class="hit-link" href="([^"]+)"', second))
    # nonsense or out-of-range pages are answered, not errors
    for page in ("abc", "-3", "0", "99999999999999999999", "1e3", ""):
        html(web_client, f"/search?q=%E4%BA%A4%E9%80%9A&page={page}")
    # past the last page: the last page, never "第 100/94 页"
    pages = re.search(r"第 1/(\d+) 页", first).group(1)
    last = html(web_client, "/search?q=%E4%BA%A4%E9%80%9A&group=passage&page=999")
    assert f"第 {pages}/{pages} 页" in last and 'class="hit-link"' in last


def test_search_no_results(web_client: FlaskClient) -> None:
    page = html(web_client, "/search?q=" + quote("钚同位素离心机"))
    assert "没有找到与“<strong>钚同位素离心机</strong>”相关的段落" in page
    assert 'class="hit-link"' not in page


def test_search_partial_matches_say_so_and_suggest(web_client: FlaskClient) -> None:
    page = html(web_client, "/search?q=" + quote("综合交通投资 钚同位素离心机"))
    assert "没有同时包含所有词的段落，以下为部分匹配" in page
    assert 'class="hit-link"' in page
    suggestions = re.findall(r'class="suggestion" href="([^"]+)"', page)
    targets = [parse_qs(urlsplit(s.replace("&amp;", "&")).query)["q"][0] for s in suggestions]
    assert targets == ["钚同位素离心机", "综合交通投资"]


@pytest.mark.parametrize("q", ['"综合交通', "OR", "- -", "((", "doc:", "year:abc 交通", '交通 OR', '""', "-交通",
                               "\u200b", "交通\x00投资", "％", "a" * 500, "🚗 交通"])
def test_search_malformed_queries_are_answered(web_client: FlaskClient, q: str) -> None:
    assert web_client.get("/search", query_string={"q": q}).status_code == 200
    response = web_client.get("/api/search", query_string={"q": q})
    assert response.status_code == 200
    assert SEARCH_KEYS <= response.get_json().keys()


def test_search_too_long_query_is_a_400_with_the_message(web_client: FlaskClient) -> None:
    page = html(web_client, "/search?q=" + "交" * 501, status=400)
    assert "查询过长（501 字）" in page
    response = web_client.get("/api/search?q=" + "交" * 501)
    assert response.status_code == 400
    assert "查询过长" in response.get_json()["error"]


def test_hostile_query_is_escaped(web_client: FlaskClient) -> None:
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    for url, args in (("/search", {"q": hostile}), ("/doc/" + MISSION_DOC, {"q": hostile}),
                      ("/search", {"q": hostile, "doc": hostile}), ("/", {"doc": hostile})):
        response = web_client.get(url, query_string=args)
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        audit(page)
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    data = web_client.get("/api/search", query_string={"q": hostile}).get_json()
    assert data["query"] == hostile


def test_hostile_document_shows_markup_as_text(web_client: FlaskClient) -> None:
    page = html(web_client, f"/doc/{HOSTILE_DOC}")
    audit(page)
    assert '<p>恶意脚本&lt;script&gt;alert("xss")&lt;/script&gt;不应执行' in page  # text: quotes need no escaping
    assert 'data-title="&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;恶意标题测试"' in page  # attribute: they do
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "&lt;/p&gt;&lt;/div&gt;闭合标签" in page
    assert "&lt;style&gt;body{display:none}&lt;/style&gt;" in page
    assert "&lt;b&gt;总体&lt;/b&gt;要求" in page  # in the heading, the TOC and the citation
    assert "&lt;img src=x onerror=alert(&#34;source&#34;)&gt;" in page  # metadata
    for raw in ("<script>alert", "<img src", "<b>总体", "</p></div>", "<style>", '<a href="javascript'):
        assert raw not in page
    hits = html(web_client, "/search?q=" + quote("恶意脚本"))
    audit(hits)
    assert '<mark>恶意脚本</mark>&lt;script&gt;alert("xss")&lt;/script&gt;' in hits
    assert 'data-cite-full="恶意脚本&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;' in hits  # the card's citation
    assert "<script>alert" not in hits


def test_snippets_are_the_only_unescaped_html(web_client: FlaskClient) -> None:
    data = web_client.get("/api/search?q=" + quote("恶意脚本")).get_json()
    snippet = data["hits"][0]["snippet_html"]
    assert set(re.findall(r"<[^>]*>", snippet)) <= {"<mark>", "</mark>"}


# --- document page -----------------------------------------------------------------------------------

def test_document_page_has_every_passage_and_a_toc(web_client: FlaskClient, mission: dict) -> None:
    page = html(web_client, f"/doc/{MISSION_DOC}")
    parsed = audit(page)
    assert "<h1>温岭市交通运输局2023年度工作总结</h1>" in page
    assert "2024-06-07" in page and "市交通局" in page
    assert "首页 &gt; 政府信息公开" in page
    for p in mission["passages"]:
        assert p["anchor"] in parsed.ids
        assert f'href="/p/{p["passage_id"]}"' in page
    # the heading structure: top-level sections are h2, their children h3, all with their anchors
    assert re.search(r'<section class="sec sec-depth-0" id="s2"[^>]*>\s*<h2 class="sec-title">'
                     r'<span class="marker">二、</span>坚持高质量发展', page)
    assert re.search(r'id="s2-1"[^>]*>\s*<h3 class="sec-title"><span class="marker">\(一\)</span>', page)
    # TOC: every section, linked by anchor, inside a collapsible <details>
    assert '<details class="toc" open>' in page
    toc = page[page.index('<nav class="toc-nav"'):page.index("</nav>", page.index('<nav class="toc-nav"'))]
    for anchor in ("s0", "s1", "s1-1", "s1-2", "s1-3", "s2", "s2-1", "s2-5", "s3"):
        assert f'href="#{anchor}" data-section="{anchor}"' in toc
        assert anchor in parsed.ids
    assert ">前言</a>" in toc


def test_document_page_shows_repaired_markers(web_client: FlaskClient) -> None:
    page = html(web_client, f"/doc/{MISSION_DOC}")
    assert re.search(r'id="s1-2"[^>]*>\s*<h3 class="sec-title"><span class="marker repaired" title="编号已修复">'
                     r'\(二\)</span>扛起政治责任', page)
    assert page.count('title="编号已修复"') >= 2 * 4  # four repaired headings, in the text and the TOC


def test_document_page_copy_citation_data(web_client: FlaskClient, kb: KnowledgeBase, mission: dict) -> None:
    """What kb.js builds a citation from: the document's title, date and source once, each section's
    path once, the passage's own lines and permalink (no copy of every passage in attributes)."""
    page = html(web_client, f"/doc/{MISSION_DOC}")
    p = mission["passages"][6]
    assert ('data-title="温岭市交通运输局2023年度工作总结" data-date="2024-06-07" data-source="市交通局" '
            'data-base="/p/"') in page
    section = page[:page.index(f'id="{p["anchor"]}"')]
    path = re.findall(r'data-path="([^"]*)"', section)[-1]
    assert path == " › ".join(p["section_path"]) == "二、坚持高质量发展,奋力书写交通高分答卷 › (一)聚焦“两城两湖”,建设全域快速路网"
    block = page[page.index(f'id="{p["anchor"]}"'):]
    assert f'class="p-link" href="/p/{p["passage_id"]}"' in block[:block.index("</div>") + 6]
    assert "data-cite" not in page
    # the same citation, from the API, for comparison with the clipboard (test_browser)
    cite = web_client.get(f"/api/passages/{p['passage_id']}").get_json()["citation"]
    assert cite.startswith(kb.passage(p["passage_id"])["text"][:40])
    assert "——《温岭市交通运输局2023年度工作总结》，二、坚持高质量发展,奋力书写交通高分答卷 › (一)聚焦“两城两湖”" in cite
    assert "，发布日期：2024-06-07，信息来源：市交通局\n" in cite
    assert cite.endswith(f"\n/p/{p['passage_id']}")  # no public address set: relative, never the Host header


def test_public_url_is_used_for_links_and_citations(web_index: Path, mission: dict) -> None:
    app = create_app({"KB_INDEX": str(web_index), "TESTING": True, "KB_PUBLIC_URL": "https://kb.example.org"})
    client = app.test_client()
    p = mission["passages"][6]
    headers = {"Host": "evil.example.com"}
    cite = client.get(f"/api/passages/{p['passage_id']}", headers=headers).get_json()["citation"]
    assert cite.endswith(f"\nhttps://kb.example.org/p/{p['passage_id']}")
    page = client.get(f"/doc/{MISSION_DOC}", headers=headers).get_data(as_text=True)
    assert 'data-base="https://kb.example.org/p/"' in page and "evil.example.com" not in page
    hits = client.get("/search?q=" + quote("综合交通投资"), headers=headers).get_data(as_text=True)
    assert 'data-link="https://kb.example.org/p/' in hits and "evil.example.com" not in hits
    assert "\nhttps://kb.example.org/p/" in hits.replace("&#10;", "\n")


def test_document_page_is_small(web_client: FlaskClient) -> None:
    """No repeated citations: the seed document's page stays under 60 KB."""
    assert len(web_client.get(f"/doc/{MISSION_DOC}").data) <= 60_000


def test_document_page_marks_query_terms(web_client: FlaskClient) -> None:
    page = html(web_client, f"/doc/{MISSION_DOC}?q=" + quote("综合交通投资"))
    assert "<mark>综合交通投资</mark>43.68亿元" in page
    assert 'class="passage has-mark"' in page
    assert "已标出“<strong>综合交通投资</strong>”" in page
    assert 'href="/search?q=%E7%BB%BC%E5%90%88%E4%BA%A4%E9%80%9A%E6%8A%95%E8%B5%84">返回搜索结果' in page
    plain = html(web_client, f"/doc/{MISSION_DOC}")
    assert "<mark>" not in plain and "has-mark" not in plain
    # a Traditional-script query marks the Simplified text
    assert "<mark>综合交通投资</mark>" in html(web_client, f"/doc/{MISSION_DOC}?q=" + quote("綜合交通投資"))


def test_document_page_previous_and_next_sections(web_client: FlaskClient) -> None:
    page = html(web_client, f"/doc/{MISSION_DOC}")
    assert re.search(r'class="sec-prev" rel="prev" href="#s1">.*?一、坚持党建引领', page)
    assert re.search(r'class="sec-next" rel="next" href="#s3">.*?三、坚持以民为本', page)


def test_every_document_renders(web_client: FlaskClient, kb: KnowledgeBase) -> None:
    for d in kb.docs():
        audit(html(web_client, f"/doc/{d['doc_id']}"))


# --- permalinks --------------------------------------------------------------------------------------

def test_permalink_redirects_to_the_passage(web_client: FlaskClient, mission: dict) -> None:
    p = mission["passages"][3]
    response = web_client.get(f"/p/{p['passage_id']}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/doc/{MISSION_DOC}#{p['anchor']}"
    response = web_client.get(f"/p/{p['passage_id']}?q=" + quote("从严治党"))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/doc/{MISSION_DOC}?q=%E4%BB%8E%E4%B8%A5%E6%B2%BB%E5%85%9A#{p['anchor']}"
    assert web_client.get(f"/p/{p['passage_id']}", follow_redirects=True).status_code == 200


@pytest.mark.parametrize("url", [
    "/doc/no-such-doc", "/p/no-such-passage", f"/p/{MISSION_DOC}.0000000000", f"/p/{MISSION_DOC}", "/p/.",
    "/doc/..%2F..%2Fetc%2Fpasswd", "/doc/../../etc/passwd", "/doc/%2e%2e", "/doc/manifest", "/doc/..",
    "/p/../x", "/p/..%2F..%2Fmanifest.json", "/doc/CURRENT", "/static/../web/__init__.py", "/nowhere",
])
def test_unknown_ids_and_path_tricks_are_404_pages(web_client: FlaskClient, url: str) -> None:
    response = web_client.get(url)
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "找不到页面" in page
    assert "root:" not in page


@pytest.mark.parametrize("url", ["/api/docs/no-such-doc", "/api/passages/no-such.passage", "/api/docs/..%2Fmanifest",
                                 "/api/passages/..", "/api/nothing", "/api/search?q=x&doc=no-such-doc"])
def test_api_unknown_ids_are_404_json(web_client: FlaskClient, url: str) -> None:
    response = web_client.get(url)
    assert response.status_code == 404
    assert response.is_json and response.get_json()["error"]


# --- JSON API ----------------------------------------------------------------------------------------

def test_api_search_shape(web_client: FlaskClient) -> None:
    response = web_client.get("/api/search?q=" + quote("综合交通投资"))
    assert response.status_code == 200 and response.is_json
    data = response.get_json()
    assert SEARCH_KEYS | {"pages", "partial", "facets", "notice"} <= data.keys()
    assert data["query"] == "综合交通投资" and data["page"] == 1 and data["total"] >= len(data["hits"]) > 0
    assert isinstance(data["took_ms"], float)
    for hit in data["hits"]:
        assert HIT_KEYS <= hit.keys()
        assert hit["url"] == f"/p/{hit['passage_id']}"
        assert isinstance(hit["section_path"], list)
    top = data["hits"][0]
    assert top["doc_id"] == MISSION_DOC
    assert "<mark>综合交通投资</mark>" in top["snippet_html"]
    assert "综合交通投资43.68亿元" in top["text"]
    assert set(data["facets"]) == {"year", "type", "place", "doc"}
    assert {"value", "count", "doc_id", "doc_title"} <= data["facets"]["doc"][0].keys()
    assert data["facets"]["year"] and all(v.keys() == {"value", "count"} for v in data["facets"]["year"])
    # grouped by document: one hit per document, with its other passages
    assert len({h["doc_id"] for h in data["hits"]}) == len(data["hits"])
    assert top["doc_hits"] >= 1 and data["grouped"] is True
    flat = web_client.get("/api/search?group=passage&q=" + quote("综合交通投资")).get_json()
    assert flat["grouped"] is False and len(flat["hits"]) >= len(data["hits"])


def test_api_search_page_and_doc(web_client: FlaskClient) -> None:
    data = web_client.get(f"/api/search?q=%E4%BA%A4%E9%80%9A&doc={MISSION_DOC}&page=2").get_json()
    assert data["page"] == 2
    assert all(h["doc_id"] == MISSION_DOC for h in data["hits"])
    empty = web_client.get("/api/search").get_json()
    assert empty["total"] == 0 and empty["hits"] == []


def test_api_docs(web_client: FlaskClient, kb: KnowledgeBase) -> None:
    data = web_client.get("/api/docs").get_json()
    assert {d["doc_id"] for d in data} == {d["doc_id"] for d in kb.docs()}
    for d in data:
        assert {"doc_id", "title", "date", "source", "passages", "url"} <= d.keys()
        assert d["url"] == f"/doc/{d['doc_id']}"


def test_api_doc_metadata_and_toc(web_client: FlaskClient) -> None:
    data = web_client.get(f"/api/docs/{MISSION_DOC}").get_json()
    assert data["doc_id"] == MISSION_DOC
    assert data["title"] == "温岭市交通运输局2023年度工作总结"
    assert data["date"] == "2024-06-07" and data["source"] == "市交通局"
    assert data["breadcrumb"].startswith("首页 > ")
    assert data["passages"] > 10
    top = [s for s in data["sections"] if not s.get("preface")]
    assert [s["number"] for s in top] == ["一", "二", "三"]
    assert [(c["number"], c["repaired"]) for c in top[0]["children"]] == [("一", False), ("二", True), ("三", True)]
    assert {"number", "title", "anchor", "repaired", "children"} <= top[0].keys()


def test_api_passage(web_client: FlaskClient, mission: dict) -> None:
    p = mission["passages"][6]
    data = web_client.get(f"/api/passages/{p['passage_id']}").get_json()
    assert data["passage_id"] == p["passage_id"] and data["doc_id"] == MISSION_DOC
    assert data["text"] == mission["body"][p["start"]:p["end"]]
    assert data["url"] == f"/p/{p['passage_id']}"
    assert data["doc_url"] == f"/doc/{MISSION_DOC}#{p['anchor']}"
    assert data["section_path"] == p["section_path"]


def test_api_json_is_readable_chinese(web_client: FlaskClient) -> None:
    body = web_client.get(f"/api/docs/{MISSION_DOC}").get_data(as_text=True)
    assert "温岭市交通运输局" in body


# --- headers, methods, health, missing index ---------------------------------------------------------

@pytest.mark.parametrize("url", ["/", "/search?q=x", f"/doc/{MISSION_DOC}", "/api/search?q=x", "/api/docs",
                                 "/doc/nope", "/api/docs/nope", "/healthz", f"/p/{MISSION_DOC}.nope"])
def test_security_headers_everywhere(web_client: FlaskClient, url: str) -> None:
    response = web_client.get(url)
    assert response.headers["Content-Security-Policy"] == CSP
    assert "script-src 'self';" in CSP and "unsafe-inline" not in CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_static_assets(web_client: FlaskClient) -> None:
    for name, mimetype in (("kb.css", "text/css"), ("kb.js", "text/javascript"), ("favicon.svg", "image/svg+xml")):
        with web_client.get(f"/static/{name}") as response:
            assert response.status_code == 200
            assert response.mimetype == mimetype
            assert response.headers["X-Content-Type-Options"] == "nosniff"
    with web_client.get("/static/kb.css") as response:
        css = response.get_data(as_text=True)
    assert '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", "Noto Sans CJK SC"' in css


def test_only_get(web_client: FlaskClient) -> None:
    response = web_client.post("/search", data={"q": "x"})
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert web_client.post("/api/search").get_json()["status"] == 405
    assert web_client.head("/").status_code == 200


def test_healthz(web_client: FlaskClient, kb: KnowledgeBase) -> None:
    data = web_client.get("/healthz").get_json()
    assert data["status"] == "ok" and data["documents"] == len(kb.docs()) and data["version"].startswith("v-")


def test_missing_index_says_to_run_kb_build(tmp_path: Path) -> None:
    app = create_app({"KB_INDEX": str(tmp_path / "no-index"), "TESTING": True})
    client = app.test_client()
    for url in ("/", "/search?q=x", f"/doc/{MISSION_DOC}", "/p/x.y"):
        response = client.get(url)
        assert response.status_code == 503
        page = response.get_data(as_text=True)
        assert "索引尚未建立" in page and "kb build" in page
        audit(page)
    for url in ("/api/search?q=x", "/api/docs", "/healthz"):
        response = client.get(url)
        assert response.status_code == 503
        assert "kb build" in response.get_json()["error"]


def test_app_picks_up_an_index_built_after_start(tmp_path: Path, web_corpus: list[Path]) -> None:
    from kb.build.indexer import build_index

    index_dir = tmp_path / "later"
    client = create_app({"KB_INDEX": str(index_dir), "TESTING": True}).test_client()
    assert client.get("/").status_code == 503
    build_index(web_corpus[:1], index_dir, workers=1)
    assert client.get("/").status_code == 200
    assert client.get(f"/doc/{MISSION_DOC}").status_code == 200


# --- fuzzing: no user input makes a 500 --------------------------------------------------------------

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(max_size=40), page=st.one_of(st.none(), st.text(max_size=6), st.integers().map(str)),
       doc=st.one_of(st.none(), st.text(max_size=12), st.just(MISSION_DOC)))
def test_fuzzed_search_never_500(web_client: FlaskClient, q: str, page: str | None, doc: str | None) -> None:
    args = {k: v for k, v in (("q", q), ("page", page), ("doc", doc)) if v is not None}
    assert web_client.get("/search", query_string=args).status_code in (200, 400)
    assert web_client.get("/api/search", query_string=args).status_code in (200, 400, 404)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ident=st.text(min_size=1, max_size=30))
def test_fuzzed_ids_never_500(web_client: FlaskClient, ident: str) -> None:
    quoted = quote(ident, safe="")
    for prefix in ("/doc/", "/p/", "/api/docs/", "/api/passages/"):
        assert web_client.get(prefix + quoted).status_code in (200, 302, 404)


def test_search_page_says_what_else_was_searched(web_client: FlaskClient) -> None:
    page = html(web_client, "/search?q=" + quote("治超"))
    assert "也搜索了：" in page and "超限超载" in page


def test_corrected_query_is_shown_with_a_link_to_the_words_as_typed(web_client: FlaskClient) -> None:
    page = html(web_client, "/search?q=" + quote("zhichao"))
    assert "已显示“<strong>治超</strong>”的结果" in page
    link = re.search(r'仍要搜索\s*<a href="([^"]+)"', page)
    assert link and parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query) == {"q": ["zhichao"], "exact": ["1"]}
    as_typed = html(web_client, link.group(1).replace("&amp;", "&"))
    assert "已显示" not in as_typed
    data = web_client.get("/api/search?q=zhichao").get_json()
    assert data["corrected"] == "治超" and data["hits"]


# --- the original file -----------------------------------------------------------------------------

def test_original_file_downloads_from_the_manifest(web_client: FlaskClient) -> None:
    """``/doc/<id>/original``: the very bytes that were indexed, as an attachment, with their MIME type;
    the document page links to it."""
    from conftest import MISSION_PATH

    response = web_client.get(f"/doc/{MISSION_DOC}/original")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and MISSION_PATH.name in disposition
    assert response.get_data() == MISSION_PATH.read_bytes()
    response.close()  # the file is streamed: the response holds it open until closed
    page = html(web_client, f"/doc/{MISSION_DOC}")
    assert f'href="/doc/{MISSION_DOC}/original"' in page


def test_original_unknown_or_traversal_is_404(web_client: FlaskClient) -> None:
    for url in ("/doc/no-such-doc/original", "/doc/..%2F..%2Fetc%2Fpasswd/original", "/doc/../original"):
        assert web_client.get(url).status_code == 404, url


def test_original_docx_mime_and_gone_file(tmp_path: Path) -> None:
    """A Word file is served as Word (a Chinese file name kept); once deleted from the corpus, 404."""
    from office_fixtures import make_docx

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    source = make_docx(corpus / "工作总结.docx")
    from kb.build.indexer import build_index

    build_index([corpus], tmp_path / "index", workers=1)
    app = create_app({"KB_INDEX": str(tmp_path / "index"), "TESTING": True})
    doc_id = KnowledgeBase(tmp_path / "index").docs()[0]["doc_id"]
    with app.test_client() as client:
        response = client.get(f"/doc/{doc_id}/original")
        assert response.status_code == 200
        assert response.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        assert quote("工作总结.docx") in response.headers["Content-Disposition"]
        assert response.get_data() == source.read_bytes()
        response.close()
        source.unlink()
        assert client.get(f"/doc/{doc_id}/original").status_code == 404


def test_status_page_and_json(web_client: FlaskClient, kb: KnowledgeBase) -> None:
    """``/status`` and ``/api/status``: served version, counts, build time, failed files (none here);
    not watching when served without ``--watch``."""
    data = web_client.get("/api/status").get_json()
    assert data["version"] == kb.version and data["version"].startswith("v-")
    assert data["documents"] == len(kb.docs()) and data["passages"] == sum(d["passages"] for d in kb.docs())
    assert data["built"][:2] == "20" and data["failed"] == [] and data["watch"] == {"watching": False}
    page = html(web_client, "/status")
    assert f"{data['documents']} 篇" in page and "所有文件均已读入" in page and "kb serve --watch" in page


# --- the archive: grouping, facets, the document list, permalinks after edits, small defects ----------

def test_search_groups_hits_by_document(web_client: FlaskClient) -> None:
    page = html(web_client, "/search?q=" + quote("交通"))
    docs = re.findall(r'<li class="hit" data-doc="([^"]+)"', page)
    assert docs and len(docs) == len(set(docs))  # one card per document
    assert re.search(r"分布在 <strong>\d+</strong> 篇文档", page)
    assert re.search(r"<summary>本文还有 \d+ 段</summary>", page)
    assert 'class="more-link" href="/p/' in page
    flat = html(web_client, "/search?q=" + quote("交通") + "&group=passage")
    flat_docs = re.findall(r'<li class="hit" data-doc="([^"]+)"', flat)
    assert len(flat_docs) > len(set(flat_docs)) and "本文还有" not in flat


def test_facet_links_filter_and_combine(web_client: FlaskClient) -> None:
    page = html(web_client, "/search?q=" + quote("交通"))
    for key in ("year", "type", "place"):
        assert re.search(rf'href="/search\?q=%E4%BA%A4%E9%80%9A&amp;{key}=[^"]+"', page), key
    years = web_client.get("/api/search?q=" + quote("交通")).get_json()["facets"]["year"]
    y = next(v for v in years if v["value"] == "2023")
    filtered = web_client.get("/api/search?q=" + quote("交通") + "&year=2023").get_json()
    assert filtered["total"] == y["count"]
    # the 温岭 2023 summary, published 2024, is in year 2023
    assert MISSION_DOC in {h["doc_id"] for h in filtered["hits"]}
    places = filtered["facets"]["place"]
    both = web_client.get("/api/search", query_string={"q": "交通", "year": "2023", "place": places[0]["value"]}).get_json()
    assert both["total"] == places[0]["count"]
    chosen = html(web_client, "/search?q=" + quote("交通") + "&year=2023")
    assert 'class="chip" href="/search?q=%E4%BA%A4%E9%80%9A"' in chosen  # × removes the year
    assert "2023 年" in chosen and 'aria-current="true" class="current"' in chosen
    by_date = web_client.get("/api/search?q=" + quote("交通") + "&sort=date").get_json()
    dates = [h["date"] for h in by_date["hits"]]
    assert dates == sorted(dates, reverse=True) and by_date["sort"] == "date"


def test_all_documents_link_clears_a_typed_doc_filter(web_client: FlaskClient) -> None:
    page = html(web_client, "/search?q=" + quote(f"交通 doc:{MISSION_DOC}"))
    link = re.search(r'<a href="([^"]+)"[^>]*>全部文档</a>', page).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(link).query) == {"q": ["交通"]}


@pytest.mark.usefixtures("several_documents")
def test_document_list_filters_searches_sorts_and_pages(web_client: FlaskClient, kb: KnowledgeBase) -> None:
    page = html(web_client, "/docs")
    audit(page)
    titles = re.findall(r'class="doc-row-title" href="/doc/([^"]+)"', page)
    assert titles[0] == MISSION_DOC  # newest first (2024-06-07)
    assert set(titles) == {d["doc_id"] for d in kb.docs()}
    assert 'href="/docs?year=2023"' in page and 'href="/docs?type=' in page
    in_2023 = re.findall(r'class="doc-row-title" href="/doc/([^"]+)"', html(web_client, "/docs?year=2023"))
    assert in_2023[0] == MISSION_DOC and all(2023 in kb.document(d)["document"]["years"] for d in in_2023)
    assert re.findall(r'class="doc-row-title" href="/doc/([^"]+)"', html(web_client, "/docs?q=" + quote("溫嶺"))) == [MISSION_DOC]
    api = web_client.get("/api/docs?year=2023&sort=date")
    assert [d["doc_id"] for d in api.get_json()] == in_2023 and api.headers["X-Total-Count"] == str(len(in_2023))
    everything = web_client.get("/api/docs?sort=date").get_json()
    assert [d["date"] for d in everything] == sorted((d["date"] for d in everything), reverse=True)
    by_type = web_client.get("/api/docs?type=" + quote("政府工作报告")).get_json()
    assert by_type and all(d["type"] == "政府工作报告" for d in by_type)
    assert html(web_client, "/docs?page=999&year=abc")  # nonsense is answered
    from kb.query.doclist import browse
    listing = browse(kb.docs(), page=2, page_size=2)
    assert listing.page == 2 and listing.pages == -(-len(kb.docs()) // 2) and len(listing.docs) == 2


def test_over_long_query_says_so_in_chinese_and_keeps_the_box(web_client: FlaskClient) -> None:
    page = html(web_client, "/search?q=" + "交" * 501, status=400)
    assert "查询过长（501 字），请缩短到 500 字以内" in page
    assert "query too long" not in page
    assert f'value="{"交" * 501}"' in page


@pytest.mark.parametrize("q, tip", [
    ("，。！？", "只有标点符号"), ("-事故", "只有排除词（-事故）"), ("year:2023", "只有筛选条件（year:2023）"),
    (f"doc:{MISSION_DOC}", "只有筛选条件"),
])
def test_queries_with_nothing_to_search_get_their_own_tip(web_client: FlaskClient, q: str, tip: str) -> None:
    page = web_client.get("/search", query_string={"q": q}).get_data(as_text=True)
    assert tip in page
    assert "检查是否有错别字" not in page


def test_favicon(web_client: FlaskClient) -> None:
    response = web_client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"


def test_hit_links_and_back_link_keep_the_search(web_client: FlaskClient, mission: dict) -> None:
    page = html(web_client, "/search?q=" + quote("交通") + "&year=2023&sort=date")
    link = re.search(r'class="hit-link" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(link).query) == {"q": ["交通"], "year": ["2023"], "sort": ["date"]}
    response = web_client.get(link)
    target = response.headers["Location"]
    assert parse_qs(urlsplit(target).query) == {"q": ["交通"], "year": ["2023"], "sort": ["date"]}
    doc = html(web_client, target.split("#")[0])
    back = re.search(r'class="doc-bar-back" href="([^"]+)"', doc).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(back).query) == {"q": ["交通"], "year": ["2023"], "sort": ["date"]}
    paged = html(web_client, "/search?q=" + quote("交通") + "&group=passage&page=2")
    link = re.search(r'class="hit-link" href="([^"]+)"', paged).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(link).query)["page"] == ["2"]


def test_edited_passage_link_lands_with_a_notice_and_removed_document_is_410(tmp_path: Path) -> None:
    from kb.build.indexer import build_index
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    text = (Path(__file__).resolve().parent.parent / "corpus" / f"{MISSION_DOC}.txt").read_text(encoding="utf-8")
    (corpus / f"{MISSION_DOC}.txt").write_text(text, encoding="utf-8")
    (corpus / "other.txt").write_text("另一份文档\n一、总则\n" + "交通运输工作稳步推进。" * 10, encoding="utf-8")
    build_index([corpus], index, workers=1)
    client = create_app({"KB_INDEX": str(index), "TESTING": True}).test_client()
    old = client.get("/api/search?q=" + quote("治超非现场执法试点县")).get_json()["hits"][0]
    (corpus / f"{MISSION_DOC}.txt").write_text(text.replace("治超非现场执法试点县", "治超非现场执法试点县(市)"),
                                               encoding="utf-8")
    build_index([corpus], index, workers=1)
    client = create_app({"KB_INDEX": str(index), "TESTING": True}).test_client()
    response = client.get(old["url"])
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "moved=1" in location
    new = client.get("/api/search?q=" + quote("治超非现场执法试点县(市)")).get_json()["hits"][0]
    assert location.endswith("#" + client.get(f"/api/passages/{new['passage_id']}").get_json()["anchor"])
    assert new["passage_id"] != old["passage_id"]
    assert "该段落已更新" in client.get(location.split("#")[0]).get_data(as_text=True)
    assert client.get(f"/api/passages/{old['passage_id']}").get_json()["moved_from"] == old["passage_id"]
    (corpus / f"{MISSION_DOC}.txt").unlink()
    build_index([corpus], index, workers=1)
    client = create_app({"KB_INDEX": str(index), "TESTING": True}).test_client()
    for url in (old["url"], f"/doc/{MISSION_DOC}"):
        gone = client.get(url)
        assert gone.status_code == 410
        assert "《温岭市交通运输局2023年度工作总结》（2024-06-07）已从知识库中删除" in gone.get_data(as_text=True)
    assert client.get(f"/api/passages/{old['passage_id']}").status_code == 410
