"""The UI in a real browser: Playwright drives Debian's Chromium against the app served by waitress.

Covers what only a browser shows: typing a query and seeing marked hits, keyboard navigation, landing
on a passage from a hit (hash, viewport, marks, TOC current section), the copy-citation button and
the clipboard, TOC and previous/next links, the folded TOC on a phone, markup in a document staying
text, and no CSP violations. Screenshots go to ``test-artifacts/``.

Skipped when ``/usr/bin/chromium`` (or the playwright package) is missing, unless
``KB_REQUIRE_BROWSER=1`` (set by CI), which turns that into a failure.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import waitress
from flask import Flask

from web_fixtures import HOSTILE_DOC, MISSION_DOC, several_documents, REPO, web_app, web_corpus, web_index  # noqa: F401, F811
from web import create_app

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = REPO / "test-artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000


def _unavailable(reason: str) -> None:
    if os.environ.get("KB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} — KB_REQUIRE_BROWSER=1, so the browser tests must run", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install -y chromium fonts-wqy-microhei)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class _Served:
    """An app served by waitress in a thread on a free port, as ``kb serve`` serves it, until :meth:`close`."""

    def __init__(self, app: Flask, name: str) -> None:
        self.srv = waitress.create_server(app, host="127.0.0.1", port=0, threads=4, ident="kb-test")
        self.url = f"http://127.0.0.1:{self.srv.effective_port}"
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.srv.run()
        except OSError:  # select() on a socket close() has just closed, from this thread's loop: stopping
            if not self._closing.is_set():
                raise

    def close(self) -> None:
        self._closing.set()
        self.srv.close()
        self._thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(web_app: Flask) -> Iterator[str]:
    """``kb serve`` in a thread: waitress on a free port over the session's test index."""
    served = _Served(web_app, "kb-test-waitress")
    try:
        yield served.url
    finally:
        served.close()


class Page:
    """A Playwright page plus what the test must check at the end: console errors (CSP violations) and dialogs."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.set_default_timeout(TIMEOUT_MS)
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def wait(self, expression: str, arg: Any = None) -> None:
        """Poll ``expression`` from the test side until it is truthy (TIMEOUT_MS at most).

        Not ``page.wait_for_function``: when its predicate is not true on the first try, Playwright
        re-evaluates it inside the page with ``eval``, which the app's CSP (no 'unsafe-eval') refuses;
        a test then fails on timing alone. ``page.evaluate`` runs over the DevTools protocol, outside CSP.
        """
        from playwright.sync_api import Error

        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while True:
            try:
                if self.page.evaluate(expression, arg):
                    return
            except Error as e:  # a navigation replaced the page between two polls: try the new one
                if "context was destroyed" not in str(e) and "navigat" not in str(e):
                    raise
            if time.monotonic() > deadline:
                raise AssertionError(f"still false after {TIMEOUT_MS} ms: {expression}")
            self.page.wait_for_timeout(50)

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name))


def _open(browser: Any, base: str, viewport: dict[str, int], **options: Any) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport, locale="zh-CN", base_url=base, **options)
    try:
        page = Page(context.new_page(), base)
        yield page
        assert page.errors == [], page.errors
        assert page.dialogs == [], page.dialogs
    finally:
        context.close()


@pytest.fixture()
def desktop(browser: Any, server: str) -> Iterator[Page]:
    yield from _open(browser, server, DESKTOP, permissions=["clipboard-read", "clipboard-write"])


@pytest.fixture()
def phone(browser: Any, server: str) -> Iterator[Page]:
    yield from _open(browser, server, PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)


IN_VIEWPORT = """(id) => {
  const r = document.getElementById(id).getBoundingClientRect();
  return r.top >= 0 && r.top < window.innerHeight * 0.5 && r.bottom > 0;
}"""
TOC_MARKS_SECTION_OF = """(id) => {
  const cur = document.querySelector('.toc-nav a.current');
  if (!cur || cur.getAttribute('aria-current') !== 'location') return false;
  for (let s = document.getElementById(id).closest('section.sec'); s; s = s.parentElement.closest('section.sec'))
    if (s.id === cur.dataset.section) return true;
  return false;
}"""
FOCUSED_HIT = "() => Array.from(document.querySelectorAll('.hit-link')).indexOf(document.activeElement)"


@pytest.mark.usefixtures("several_documents")
def test_search_keyboard_open_hit_and_copy_citation(desktop: Page) -> None:
    page = desktop.page
    desktop.goto("/")
    assert desktop.js("document.activeElement.id") == "q"  # focused on load
    page.keyboard.type("综合交通投资")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=*")
    assert page.locator(".hit").count() >= 2
    assert page.locator(".hit .snippet mark").count() > 0
    marked = page.locator(".hit .snippet mark").all_inner_texts()
    assert all(m in "综合交通投资" for m in marked), marked
    assert page.locator(".summary").inner_text().startswith("找到")
    desktop.shot("search-desktop.png")

    # arrows move through the hits, Enter opens the focused one
    page.keyboard.press("ArrowDown")
    assert desktop.js(FOCUSED_HIT) == 0
    page.keyboard.press("ArrowDown")
    assert desktop.js(FOCUSED_HIT) == 1
    page.keyboard.press("ArrowUp")
    assert desktop.js(FOCUSED_HIT) == 0
    href = page.locator(".hit-link").first.get_attribute("href")
    passage_id = href.split("?")[0].rsplit("/", 1)[1]
    page.keyboard.press("Enter")
    page.wait_for_url("**/doc/**#p-*")

    # landed on the passage: hash, :target, in view, terms marked, TOC marks its section
    anchor = page.url.split("#", 1)[1]
    assert "q=" in page.url
    assert desktop.js("document.querySelector(':target').id") == anchor
    assert desktop.js(IN_VIEWPORT, anchor)
    assert page.locator(f"#{anchor} mark").count() > 0
    desktop.wait(TOC_MARKS_SECTION_OF, arg=anchor)
    desktop.shot("doc-desktop.png")

    # 复制引用 copies text, 《title》, section path, date and the absolute permalink
    title = page.locator("h1").inner_text()
    passage = page.locator(f"#{anchor}")
    passage.hover()
    passage.locator(".copy-cite").click()
    passage.locator(".copy-status", has_text="已复制").wait_for()
    copied = desktop.js("navigator.clipboard.readText()")
    first_line = passage.locator("p").first.inner_text()
    assert copied.startswith(first_line[:30])
    assert f"——《{title}》" in copied
    assert copied.endswith(f"\n{desktop.base}/p/{passage_id}")
    assert copied == api_citation(desktop, passage_id)  # the script builds what web/render.py writes

    # without the async clipboard API (plain http on another host) the hidden-textarea fallback copies
    other = page.locator(".passage").nth(0)
    page.evaluate("Object.defineProperty(navigator, 'clipboard', {value: undefined, configurable: true})")
    other.hover()
    other.locator(".copy-cite").click()
    other.locator(".copy-status", has_text="已复制").wait_for()
    assert page.locator("textarea.copy-buffer").count() == 0
    reader = page.context.new_page()
    try:
        reader.goto(desktop.base + "/healthz")
        copied = reader.evaluate("navigator.clipboard.readText()")
    finally:
        reader.close()
    other_id = other.locator(".p-link").get_attribute("href").rsplit("/", 1)[1]
    assert copied == api_citation(desktop, other_id)


def api_citation(page: Page, passage_id: str) -> str:
    """The citation web/render.py writes for a passage, its relative link made absolute as the page does."""
    cite = page.js(f"fetch('/api/passages/{passage_id}').then(r => r.json()).then(d => d.citation)")
    assert cite.endswith(f"\n/p/{passage_id}")
    return cite[:-len(f"/p/{passage_id}")] + f"{page.base}/p/{passage_id}"


def test_toc_links_section_links_and_slash_key(desktop: Page) -> None:
    page = desktop.page
    desktop.goto(f"/doc/{MISSION_DOC}")
    assert desktop.js("document.querySelector('.toc').open")
    assert page.locator(".marker.repaired").first.get_attribute("title") == "编号已修复"

    # a TOC link jumps to its section, which the TOC then marks as current
    page.locator('.toc-nav a[data-section="s2-3"]').click()
    page.wait_for_url("**#s2-3")
    assert desktop.js(IN_VIEWPORT, "s2-3")
    desktop.wait("document.querySelector('.toc-nav a.current').dataset.section === 's2-3'")

    # previous/next section links
    page.locator("#s1 > .sec-nav .sec-next").click()
    page.wait_for_url("**#s2")
    assert desktop.js(IN_VIEWPORT, "s2")
    desktop.wait("document.querySelector('.toc-nav a.current').dataset.section.startsWith('s2')")

    # "/" focuses the search box from anywhere; Enter searches
    page.locator("h1").click()
    page.keyboard.press("/")
    assert desktop.js("document.activeElement.id") == "q"
    page.keyboard.type("四好农村路")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=*")
    assert page.locator(".hit-link").count() > 0


def test_phone_layout_folds_the_toc(phone: Page) -> None:
    page = phone.page
    phone.goto("/search?q=" + "综合交通投资")
    assert page.locator(".hit .snippet mark").count() > 0
    assert fits_screen(phone)
    phone.shot("search-phone.png")

    href = page.locator(".hit-link").first.get_attribute("href")
    phone.goto(href)
    page.wait_for_url("**/doc/**#p-*")
    anchor = page.url.split("#", 1)[1]
    assert not phone.js("document.querySelector('.toc').open")  # folded away on a narrow screen
    phone.wait(IN_VIEWPORT, arg=anchor)  # and the passage is still in view
    phone.wait(TOC_MARKS_SECTION_OF, arg=anchor)
    assert page.locator(".toc-current").inner_text()  # the folded TOC names the current section
    assert fits_screen(phone)
    phone.shot("doc-phone.png")

    page.locator(".toc summary").click()
    assert phone.js("document.querySelector('.toc').open")
    link = page.locator(".toc-nav a").nth(1)
    target = link.get_attribute("data-section")
    link.click()
    page.wait_for_url(f"**#{target}")
    assert not phone.js("document.querySelector('.toc').open")


def fits_screen(page: Page) -> bool:
    """Nothing wider than the screen: no sideways scrolling on a phone."""
    return page.js("document.documentElement.scrollWidth <= window.innerWidth")


def test_markup_in_a_document_stays_text(desktop: Page) -> None:
    page = desktop.page
    desktop.goto(f"/doc/{HOSTILE_DOC}")
    text = page.locator("main").inner_text()
    assert '恶意脚本<script>alert("xss")</script>不应执行' in text
    assert "<img src=x onerror=alert(2)>图片标签" in text
    assert page.locator("h1").inner_text() == '<script>alert("title")</script>恶意标题测试'
    assert page.locator("main img, main b, main style, main a[href^='javascript']").count() == 0
    desktop.goto("/search?q=" + '<script>alert(1)</script>')
    assert page.locator("#q").input_value() == "<script>alert(1)</script>"
    # dialogs and CSP violations are checked when the page fixture closes


# --- the archive: grouped results, facets, citing from a card, permalinks after edits, the document list ----

def _serve(app: Flask) -> tuple[_Served, str]:
    served = _Served(app, "kb-test-waitress-2")
    return served, served.url


@pytest.mark.usefixtures("several_documents")
def test_grouped_results_expand_and_facets_combine(desktop: Page) -> None:
    page = desktop.page
    desktop.goto("/search?q=" + "交通")
    docs = [h.get_attribute("data-doc") for h in page.locator(".hit").all()]
    assert len(docs) == len(set(docs)) > 1  # one card per document
    first = page.locator(".hit").first
    more = first.locator("details.more")
    assert more.locator("summary").inner_text().startswith("本文还有")
    assert not more.locator(".more-list").is_visible()
    more.locator("summary").click()
    assert more.locator(".more-link").first.is_visible()
    assert more.locator(".snippet mark").count() > 0
    assert desktop.js("document.querySelector('.facet-bar').open")  # open beside the results on a wide screen
    desktop.shot("grouped-desktop.png")

    # a year facet: the count on the link is what the page then finds
    year = page.locator('.facet a[href*="year=2023"]')
    count = int(year.locator(".count").inner_text())
    year.click()
    page.wait_for_url("**year=2023*")
    assert f"找到 {count} 个段落" in page.locator(".summary").inner_text()
    # combined with a type
    kind = page.locator('.facet a[href*="type="]').first
    kind_count = int(kind.locator(".count").inner_text())
    kind.click()
    page.wait_for_url("**type=*")
    assert "year=2023" in page.url
    assert f"找到 {kind_count} 个段落" in page.locator(".summary").inner_text()
    assert page.locator(".active-filters .chip").count() == 2
    page.locator(".active-filters .chip").first.click()  # × on the year
    page.wait_for_url(lambda url: "year=" not in url and "type=" in url)
    # sort by date: newest document first
    page.locator(".view-options a", has_text="日期").click()
    page.wait_for_url("**sort=date*")
    dates = page.locator(".hit-date").all_inner_texts()
    assert dates == sorted(dates, reverse=True)
    # the flat list, on request
    page.locator(".view-options a", has_text="逐段").click()
    page.wait_for_url("**group=passage*")
    assert page.locator("details.more").count() == 0


def test_phone_facets_are_a_folded_bar_above_the_results(phone: Page) -> None:
    page = phone.page
    phone.goto("/search?q=" + "交通")
    bar = page.locator(".facet-bar")
    assert not phone.js("document.querySelector('.facet-bar').open")
    box, hits = bar.bounding_box(), page.locator(".hits").bounding_box()
    assert box["y"] + box["height"] <= hits["y"] and box["height"] < 80  # above the hits, one line
    assert fits_screen(phone)
    phone.shot("facets-phone.png")
    bar.locator("summary").click()
    assert page.locator('.facet a[href*="year=2023"]').is_visible()
    phone.shot("facets-phone-open.png")
    page.locator('.facet a[href*="year=2023"]').click()
    page.wait_for_url("**year=2023*")
    assert page.locator(".active-filters .chip").count() == 1


def test_copy_citation_and_link_from_a_result_card(desktop: Page) -> None:
    page = desktop.page
    desktop.goto("/search?q=" + "综合交通投资")
    card = page.locator(".hit").first
    passage_id = card.locator(".permalink").get_attribute("href").rsplit("/", 1)[1]
    link = f"{desktop.base}/p/{passage_id}"
    card.locator(".copy-short").click()
    card.locator(".copy-status", has_text="已复制").wait_for()
    short = desktop.js("navigator.clipboard.readText()")
    sentence, source, url = short.split("\n")
    snippet = card.locator(":scope > .snippet").inner_text()
    assert "综合交通投资" in sentence and len(sentence) < len(snippet) + 5
    assert sentence.endswith(("。", "；", ";", "!", "！", "?", "？")) or sentence in snippet
    assert source.startswith("——《温岭市交通运输局2023年度工作总结》，")
    assert "发布日期：2024-06-07" in source and source.endswith("信息来源：市交通局")
    assert url == link
    card.locator(".copy-full").click()
    full = desktop.js("navigator.clipboard.readText()")
    assert full == api_citation(desktop, passage_id)
    assert len(full) > len(short)
    card.locator(".copy-link").click()
    assert desktop.js("navigator.clipboard.readText()") == link


def test_copied_links_use_the_public_address(browser: Any, web_index: Path) -> None:
    app = create_app({"KB_INDEX": str(web_index), "TESTING": True, "KB_PUBLIC_URL": "https://kb.example.org"})
    srv, base = _serve(app)
    try:
        for page in _open(browser, base, DESKTOP, permissions=["clipboard-read", "clipboard-write"]):
            page.goto("/search?q=" + "综合交通投资")
            card = page.page.locator(".hit").first
            passage_id = card.locator(".permalink").get_attribute("href").rsplit("/", 1)[1]
            card.locator(".copy-link").click()
            assert page.js("navigator.clipboard.readText()") == f"https://kb.example.org/p/{passage_id}"
            card.locator(".copy-short").click()
            assert page.js("navigator.clipboard.readText()").endswith(f"\nhttps://kb.example.org/p/{passage_id}")
            page.goto(f"/p/{passage_id}")
            target = page.page.locator(".passage:target")
            target.hover()
            target.locator(".copy-plink").click()
            assert page.js("navigator.clipboard.readText()") == f"https://kb.example.org/p/{passage_id}"
    finally:
        srv.close()


def _served_version_is(base: str, index: Path, timeout: float = 10.0) -> None:
    """Wait until the server answers from the version ``index/CURRENT`` names (it looks for a new one
    at most twice a second, between requests)."""
    import json
    import time
    import urllib.request

    want = (index / "CURRENT").read_text(encoding="utf-8").strip()
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(f"{base}/api/status") as response:
            if json.load(response)["version"] == want:
                return
        assert time.monotonic() < deadline, f"the server never moved to {want}"
        time.sleep(0.1)


def test_a_copied_link_still_lands_after_an_edit(browser: Any, tmp_path: Path) -> None:
    from kb.build.indexer import build_index
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    text = (REPO / "corpus" / f"{MISSION_DOC}.txt").read_text(encoding="utf-8")
    (corpus / f"{MISSION_DOC}.txt").write_text(text, encoding="utf-8")
    (corpus / "other.txt").write_text("另一份文档\n一、总则\n" + "交通运输工作稳步推进。" * 10, encoding="utf-8")
    build_index([corpus], index, workers=1)
    srv, base = _serve(create_app({"KB_INDEX": str(index), "TESTING": True}))
    try:
        for page in _open(browser, base, DESKTOP, permissions=["clipboard-read", "clipboard-write"]):
            page.goto("/search?q=" + "治超非现场执法试点县")
            card = page.page.locator(".hit").first
            card.locator(".copy-link").click()
            copied = page.js("navigator.clipboard.readText()")
            (corpus / f"{MISSION_DOC}.txt").write_text(text.replace("治超非现场执法试点县", "治超非现场执法试点县(市)"),
                                                       encoding="utf-8")
            build_index([corpus], index, workers=1)
            _served_version_is(base, index)
            page.page.goto(copied)
            page.page.wait_for_url("**moved=1#p-*")
            anchor = page.page.url.split("#", 1)[1]
            assert "治超非现场执法试点县(市)" in page.page.locator(f"#{anchor}").inner_text()
            assert page.js(IN_VIEWPORT, anchor)
            below = page.js("(id) => document.getElementById(id).getBoundingClientRect().top >= "
                            "document.querySelector('.doc-bar').getBoundingClientRect().bottom - 1", anchor)
            assert below  # the passage starts below the sticky bar, not under it
            notice = page.page.locator(".notice-moved")
            assert "该段落已更新" in notice.inner_text()
            assert page.js("() => { const r = document.querySelector('.notice-moved').getBoundingClientRect(); "
                           "return r.top >= 0 && r.bottom <= window.innerHeight; }")  # in view after landing
            page.shot("permalink-moved.png")
            (corpus / f"{MISSION_DOC}.txt").unlink()
            build_index([corpus], index, workers=1)
            _served_version_is(base, index)
            response = page.page.goto(copied)
            assert response.status == 410
            assert "温岭市交通运输局2023年度工作总结" in page.page.locator("main").inner_text()
            page.errors.clear()  # the 410 itself is logged as a failed resource load
    finally:
        srv.close()


def test_document_list_newest_first_filter_and_search(phone: Page) -> None:
    page = phone.page
    phone.goto("/docs")
    first = page.locator(".doc-row-title").first
    assert first.inner_text() == "温岭市交通运输局2023年度工作总结"  # newest first: near the top, not number 119
    assert first.bounding_box()["y"] < 844
    assert fits_screen(phone)
    phone.shot("docs-phone.png")
    page.locator(".facet-bar summary").click()
    page.locator('.facet a[href*="type="]').first.click()
    page.wait_for_url("**type=*")
    chosen = page.locator(".doc-row").count()
    assert chosen >= 1 and f"共 {chosen} 篇" in page.locator(".summary").inner_text()
    phone.goto("/docs")
    page.locator("#doc-q").fill("温岭")
    page.locator("#doc-q").press("Enter")
    page.wait_for_url("**q=*")
    assert page.locator(".doc-row-title").all_inner_texts() == ["温岭市交通运输局2023年度工作总结"]


def test_document_page_header_matches_and_back_to_results(desktop: Page) -> None:
    page = desktop.page
    desktop.goto("/search?q=" + "交通" + "&year=2023&sort=date")
    page.locator(".hit-link").first.click()
    page.wait_for_url("**/doc/**#p-*")
    bar = page.locator(".doc-bar")
    box = bar.bounding_box()
    assert box["y"] >= 0 and box["y"] < 5 and bar.is_visible()  # landed deep in the text, the header still shows
    assert "温岭市交通运输局2023年度工作总结" in bar.inner_text() and "2024-06-07" in bar.inner_text()
    assert "市交通局" in bar.inner_text()
    pos = page.locator(".match-pos")
    start = pos.inner_text()
    total = int(start.split("/")[1])
    at = int(start.split("/")[0])
    page.keyboard.press("n")
    assert pos.inner_text() == f"{at % total + 1} / {total}"
    assert desktop.js("document.querySelector('.current-match') !== null")
    page.keyboard.press("Shift+N")
    assert pos.inner_text() == f"{at} / {total}"
    page.locator(".match-next").click()
    page.locator(".match-next").click()
    assert pos.inner_text() == f"{(at + 1) % total + 1} / {total}"
    current = desktop.js("document.querySelector('.current-match').id")
    assert desktop.js("(id) => { const r = document.getElementById(id).getBoundingClientRect(); "
                      "return r.top > 0 && r.bottom < window.innerHeight; }", current)
    desktop.shot("doc-matches-desktop.png")
    page.locator(".doc-bar-back").click()
    page.wait_for_url("**/search?*")
    assert "year=2023" in page.url and "sort=date" in page.url and "q=" in page.url


def test_phone_document_header_and_no_js_toc(phone: Page, browser: Any, server: str) -> None:
    page = phone.page
    phone.goto("/search?q=" + "综合交通投资")
    phone.goto(page.locator(".hit-link").first.get_attribute("href"))
    page.wait_for_url("**/doc/**#p-*")
    anchor = page.url.split("#", 1)[1]
    phone.wait(IN_VIEWPORT, arg=anchor)
    bar = page.locator(".doc-bar")
    assert bar.is_visible() and "温岭市交通运输局2023年度工作总结" in bar.inner_text()
    toc = page.locator(".toc-pane").bounding_box()
    box = bar.bounding_box()
    assert abs(box["y"] - (toc["y"] + toc["height"])) < 3  # right under the folded TOC bar
    passage = page.locator(f"#{anchor}").bounding_box()
    assert passage["y"] >= box["y"] + box["height"] - 2  # not hidden under the bars
    phone.shot("doc-phone-header.png")
    for nojs in _open(browser, server, PHONE, is_mobile=True, java_script_enabled=False):
        nojs.goto(f"/doc/{MISSION_DOC}")
        first = nojs.page.locator(".doc h1").bounding_box()
        assert first["y"] < PHONE["height"] * 0.75  # the TOC does not push the text a screen down
        nojs.shot("doc-phone-nojs.png")


def test_results_as_you_type_wait_for_ime_composition(desktop: Page) -> None:
    page = desktop.page
    desktop.goto("/search?q=" + "交通")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/search?" in r.url else None)
    box = page.locator("#q")
    box.fill("")
    page.keyboard.type("四好农村路", delay=30)
    desktop.wait("() => document.querySelector('.summary') && location.search.includes('%E5%9B%9B')")
    page.locator(".hit .snippet mark").first.wait_for()
    assert page.locator(".hit .snippet mark").first.inner_text() in "四好农村路"
    assert len(requests) <= 2  # debounced: not a request per character
    assert desktop.js("document.activeElement.id") == "q"  # typing goes on
    # mid-composition (pinyin being typed) nothing is searched; the composed word is
    requests.clear()
    desktop.js("""() => {
      const q = document.getElementById('q');
      q.dispatchEvent(new CompositionEvent('compositionstart', {data: ''}));
      q.value = '治 chao';
      q.dispatchEvent(new InputEvent('input', {data: 'chao', isComposing: true, inputType: 'insertCompositionText'}));
    }""")
    page.wait_for_timeout(700)
    assert requests == []
    desktop.js("""() => {
      const q = document.getElementById('q');
      q.value = '治超';
      q.dispatchEvent(new InputEvent('input', {data: '治超', isComposing: true, inputType: 'insertCompositionText'}));
      q.dispatchEvent(new CompositionEvent('compositionend', {data: '治超'}));
    }""")
    desktop.wait("() => location.search.includes('%E6%B2%BB%E8%B6%85')")
    page.locator(".hit").first.wait_for()
    assert len(requests) == 1
    # Enter shows results too, and the back button returns to the previous query's page
    box.fill("四好农村路")
    box.press("Enter")
    desktop.wait("() => document.title.startsWith('四好农村路')")
    assert page.locator(".hit").count() > 0
