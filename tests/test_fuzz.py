"""Hypothesis fuzzing of the query path: ``parse_query``, ``KnowledgeBase.search`` and ``GET /api/search``.

Inputs mix CJK, ASCII, the query language's operators (quotes, ``-``, ``OR``, ``doc:``, ``year:``),
control characters, zero-width and bidi marks, emoji, any Unicode, and for the API raw bytes in the
URL. The properties: nothing raises but ``QueryError`` (and that only over the length limit), the
parse stays within its bounds, every answer is well formed with escaped snippets, the API answers 200
or a JSON 400 (never a 500), and every query answers in under 2 s (a generous bound for a noisy
machine; speed proper is ``kb bench``'s business). Example counts are modest so the file runs in
well under a minute.
"""

from __future__ import annotations

import re
import string
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.errors import QueryError
from kb.query.parse import MAX_ALTERNATIVES, MAX_GROUPS, MAX_QUERY_CHARS, parse_query
from kb.search import PAGE_SIZE, KnowledgeBase

try:
    from web import create_app
except ImportError:  # the web package is not there yet
    create_app = None

SLOW_S = 2.0
CJK = "交通发展建设经济改革民生的是一二三年月日岭路先锋七连创温岭铁路轨道投资亿元萬發運輸"
OPERATORS = list('"-+()（）*?:|&~^\\/\'＂“”　') + [" ", "\t", "\n"]
ODD = ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\u200b", "\u200e", "\u200f", "\u202e", "\u2067", "\ufeff",
       "🚄", "👍", "\U0001f3fd", "\u0301", "ﬁ", "Ⅻ", "㍿", "\U00020000", "\u3000"]
WORDS = ["OR", "AND", "NOT", "或", "或者", "|", "&&", "+", "-", "--", "doc:", "year:", "year:2023",
         "year:2020-2023", "year:2023..2019", "doc:wenling-transport-bureau-2023-work-summary", "doc:a,b,,c",
         "文档:", "年份:2023", "-交通", '"交通', '交通"', '"交通"', '-"重点工程"', "交通", "发展", "content:交通",
         "*", "?", "交*", "(", ")", "()", "<script>", "&amp;"]
COMMON = ["交通", "发展", "建设", "推进", "经济", "改革", "民生", "的", "a"]
ALPHABET = st.sampled_from(list(CJK) + list(string.ascii_letters + string.digits) + OPERATORS + ODD)
QUERIES = st.one_of(
    st.text(alphabet=ALPHABET, max_size=80),
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(alphabet=ALPHABET, min_size=1, max_size=6)),
             max_size=40).map(" ".join),
    st.text(max_size=40),
    st.text(alphabet=ALPHABET, min_size=MAX_QUERY_CHARS - 5, max_size=MAX_QUERY_CHARS + 5),
    # the shapes that once cost seconds to minutes: long OR chains of common words, one word repeated
    st.lists(st.sampled_from(COMMON), min_size=2, max_size=90).map(" OR ".join),
    st.tuples(st.sampled_from(COMMON), st.integers(1, 250), st.sampled_from(["", " ", '"'])).map(
        lambda t: (t[2] + t[0] * t[1] + t[2])[:MAX_QUERY_CHARS]),
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@pytest.fixture(scope="module")
def kb(built_index: Path) -> KnowledgeBase:
    return KnowledgeBase(built_index)


@pytest.fixture(scope="module")
def client(built_index: Path):
    if create_app is None:
        pytest.skip("web.create_app does not exist yet: /api/search cannot be fuzzed")
    app = create_app({"KB_INDEX": str(built_index), "TESTING": True})
    with app.test_client() as c:
        yield c


def timed(call):
    """(what ``call()`` returns, seconds it took)."""
    started = time.perf_counter()
    value = call()
    return value, time.perf_counter() - started


def _escaped(snippet_html: str) -> bool:
    """Only <mark> tags in a snippet: everything from the document is escaped text."""
    return "<" not in snippet_html.replace("<mark>", "").replace("</mark>", "")


@settings(max_examples=300, deadline=None)
@given(QUERIES)
def test_parse_query_never_fails_and_stays_bounded(q: str) -> None:
    try:
        parsed = parse_query(q)
    except QueryError as exc:
        assert len(q) > MAX_QUERY_CHARS and str(MAX_QUERY_CHARS) in str(exc)
        return
    assert len(q) <= MAX_QUERY_CHARS
    assert sum(len(g) for g in parsed.groups) <= MAX_GROUPS  # terms in all, OR alternatives counted
    assert all(1 <= len(g) <= MAX_ALTERNATIVES for g in parsed.groups)
    assert len(parsed.excluded) <= MAX_GROUPS and len(parsed.doc_ids) <= MAX_ALTERNATIVES
    for alt in [a for g in parsed.groups for a in g] + list(parsed.excluded):
        assert alt.text.strip() and not _CONTROL.search(alt.text), alt
    if parsed.years is not None:
        assert parsed.years[0] <= parsed.years[1]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(q=QUERIES, page=st.integers(min_value=-3, max_value=150), doc=st.sampled_from([None, "", "nope", "../x"]))
def test_search_never_fails_and_answers_quickly(kb: KnowledgeBase, q: str, page: int, doc: str | None) -> None:
    try:
        result, took = timed(lambda: kb.search(q, page=page, doc=doc))
    except QueryError:
        assert len(q) > MAX_QUERY_CHARS
        return
    if took >= SLOW_S:  # once slow may be a busy machine; a slow query is slow every time
        took = min(took, timed(lambda: kb.search(q, page=page, doc=doc))[1])
    assert took < SLOW_S, f"{q!r} took {took:.2f} s"
    assert len(q) <= MAX_QUERY_CHARS
    assert result.total >= 0 and len(result.hits) <= PAGE_SIZE and result.page >= 1
    for hit in result.hits:
        assert hit.passage_id.startswith(hit.doc_id + ".")
        assert _escaped(hit.snippet_html), hit.snippet_html


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(q=QUERIES, page=st.one_of(st.integers(-5, 500).map(str), st.text(max_size=8)))
def test_api_search_answers_json_never_500(client, q: str, page: str) -> None:
    response, took = timed(lambda: client.get("/api/search", query_string={"q": q, "page": page}))
    if took >= SLOW_S:  # once slow may be a busy machine; a slow query is slow every time
        took = min(took, timed(lambda: client.get("/api/search", query_string={"q": q, "page": page}))[1])
    assert response.status_code in (200, 400), (q, response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/json"
    data = response.get_json()
    if response.status_code == 400:
        assert len(q) > MAX_QUERY_CHARS and data["error"]
    else:
        assert took < SLOW_S, f"{q!r} took {took:.2f} s"
        assert {"query", "total", "hits"} <= data.keys()
        for hit in data["hits"]:
            assert _escaped(hit["snippet_html"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=60))
def test_api_search_survives_raw_bytes_in_the_url(client, raw: bytes) -> None:
    """Percent-encoded bytes that are not UTF-8 (or are control characters) in the query string."""
    encoded = "".join(f"%{b:02X}" for b in raw)
    response = client.get(f"/api/search?q={encoded}&page=%FF")
    assert response.status_code in (200, 400), (raw, response.status_code)
    assert response.mimetype == "application/json"
    assert "total" in response.get_json() or "error" in response.get_json()


def test_api_over_long_query_is_a_json_400_with_the_limit(client) -> None:
    response = client.get("/api/search", query_string={"q": "交" * 10_000})
    assert response.status_code == 400 and response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert str(MAX_QUERY_CHARS) in error and "too long" in error
