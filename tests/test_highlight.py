"""kb/query/highlight.py: passage text + matched terms → an escaped HTML snippet with ``<mark>`` on the matches.

A snippet is what the user reads to judge a hit, so it must mark exactly the matched text (never a
neighbouring character), never mark what does not match, merge touching marks into one, escape
everything that came from the document, stay short (≤ ``SNIPPET_CHARS`` visible characters, cut at
sentence ends 。！？；), and hold the match. Matching is on folded text, so a Simplified term marks a
Traditional or full-width passage. kb.search folds its terms before calling :func:`snippet_html`; the
tests here do the same unless they say otherwise.

The properties parse the ``<mark>`` elements back out of the HTML and compare the marked characters
with every occurrence of every term in the folded text. Each bug these tests
found is pinned by a test of its own.
"""

from __future__ import annotations

import doctest
import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kb.query.highlight
from kb.text.analysis import fold
from kb.query.highlight import SNIPPET_CHARS, find_spans, mark_html, snippet_html
from kb.text.ngrams import SEE_THROUGH

MARK = re.compile(r"<mark>(.*?)</mark>", re.S)
ELLIPSIS = "…"
SENTENCE_END = re.compile(r"(?:[。！？!?；;]+[”’」』)）]?|\n)$")

# Simplified and Traditional forms, ASCII and full-width letters, and the characters HTML must escape.
TERM_ALPHABET = "交通投资发展發展運輸运输路治超abAB&<>ＡＢ"
TEXT_ALPHABET = TERM_ALPHABET + "的是，、 \"'"
TERMS = st.lists(st.text(alphabet=st.sampled_from(TERM_ALPHABET), min_size=1, max_size=4), min_size=1, max_size=4)
SENTENCE = st.builds(lambda body, end: body + end,
                     st.text(alphabet=st.sampled_from(TEXT_ALPHABET), min_size=20, max_size=70),
                     st.sampled_from(["。", "！", "？", "；", "。”", "\n"]))


def parse(snippet: str) -> tuple[str, list[tuple[int, int]]]:
    """(visible text, marked spans in it) of a snippet; fails on any tag but ``<mark>``."""
    assert "</mark><mark>" not in snippet, snippet
    assert "<" not in MARK.sub(lambda m: m.group(1), snippet), ("unescaped markup", snippet)
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in MARK.finditer(snippet):
        plain.append(html.unescape(snippet[pos:m.start()]))
        start = sum(map(len, plain))
        inner = html.unescape(m.group(1))
        assert inner, ("empty mark", snippet)
        plain.append(inner)
        spans.append((start, start + len(inner)))
        pos = m.end()
    plain.append(html.unescape(snippet[pos:]))
    return "".join(plain), spans


def occurrences(folded: str, terms: list[str], through: bool = False) -> set[int]:
    """Every character position inside some occurrence (overlapping too) of a folded term; with
    ``through``, also occurrences with quotes, brackets or spaces between the term's characters."""
    covered: set[int] = set()
    for term in terms:
        at = folded.find(term)
        while at != -1:
            covered.update(range(at, at + len(term)))
            at = folded.find(term, at + 1)
        if through:
            pattern = f"[{re.escape(SEE_THROUGH)}]*".join(re.escape(ch) for ch in term)
            for m in re.finditer(f"(?=({pattern}))", folded):
                covered.update(range(m.start(1), m.end(1)))
    return covered


def check_marked(marked: set[int], folded: str, terms: list[str], window: range) -> None:
    """Every marked character lies in a match (through quotes allowed); every plain match is marked."""
    within = set(window)
    assert marked <= occurrences(folded, terms, through=True), "marked text matching no term"
    assert occurrences(folded, terms) & within <= marked, "a match left unmarked"


def test_doctests() -> None:
    """The ``>>>`` examples in the module's docstrings hold."""
    result = doctest.testmod(kb.query.highlight)
    assert result.attempted > 0 and result.failed == 0


# --- exactly the matches --------------------------------------------------------------------------

@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(TEXT_ALPHABET), max_size=150), TERMS)
def test_marks_are_exactly_the_matches(text: str, terms: list[str]) -> None:
    """Short text (no cutting): every marked character is in a match and every match is marked.

    Quotes, brackets and spaces are transparent (``岭路先锋`` marks ``“岭”路先锋``), so a mark may hold them."""
    folded_terms = [fold(t) for t in terms]
    snippet = snippet_html(text, folded_terms)
    plain, spans = parse(snippet)
    assert plain == text
    marked = {i for s, e in spans for i in range(s, e)}
    check_marked(marked, fold(text), folded_terms, range(len(text)))


@settings(max_examples=200, deadline=None)
@given(st.lists(SENTENCE, min_size=SNIPPET_CHARS // 20, max_size=40), TERMS, st.integers(0, 39))
def test_long_snippet(sentences: list[str], terms: list[str], at: int) -> None:
    """Long text (8+ sentences of 21+ characters): ≤ SNIPPET_CHARS visible, whole sentences, holds a
    match, marks exactly the matches in the window."""
    folded_terms = [fold(t) for t in terms]
    # one sentence certainly holds a term
    sentences = list(sentences)
    i = at % len(sentences)
    sentences[i] = terms[0] + sentences[i]
    text = "".join(sentences)
    snippet = snippet_html(text, folded_terms)
    plain, spans = parse(snippet)
    assert len(text) > SNIPPET_CHARS
    lead, trail = plain.startswith(ELLIPSIS), plain.endswith(ELLIPSIS)  # the text holds no …
    body = plain[1 if lead else 0:len(plain) - (1 if trail else 0)]
    spans = [(s - (1 if lead else 0), e - (1 if lead else 0)) for s, e in spans]
    assert len(body) <= SNIPPET_CHARS, snippet
    starts = [m.start() for m in re.finditer(re.escape(body), text)] if body else []
    # the window is whole sentences: it starts at the text's start or after a sentence end, and
    # ends at a sentence end or the text's end
    good = [o for o in starts
            if (o == 0) == (not lead) and (o + len(body) == len(text)) == (not trail)
            and (o == 0 or SENTENCE_END.search(text[:o]))
            and (o + len(body) == len(text) or SENTENCE_END.search(text[:o + len(body)]))]
    assert good, ("not a window of whole sentences", text, snippet)
    offset = good[0]
    marked = {offset + i for s, e in spans for i in range(s, e)}
    check_marked(marked, fold(text), folded_terms, range(offset, offset + len(body)))
    assert spans, ("the snippet holds no match", text, terms, snippet)


# --- merging and escaping -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "terms", "expected"), [
    ("交通投资", ["交通", "投资"], "<mark>交通投资</mark>"),  # touching: one mark
    ("abab", ["ab"], "<mark>abab</mark>"),
    ("aaa", ["aa"], "<mark>aaa</mark>"),  # overlapping occurrences
    ("综合交通投资", ["交通投资", "投资"], "综合<mark>交通投资</mark>"),  # nested
    ("交通，投资", ["交通", "投资"], "<mark>交通</mark>，<mark>投资</mark>"),
    ("交通投资", ["", "路"], "交通投资"),  # empty and absent terms mark nothing
    ("", ["交通"], ""),
])
def test_marks_merge(text: str, terms: list[str], expected: str) -> None:
    """Touching or overlapping matches are one ``<mark>``; separate ones stay separate."""
    assert snippet_html(text, terms) == expected


@pytest.mark.parametrize(("text", "terms", "expected"), [
    ("<script>alert(1)</script>交通投资", ["交通投资"],
     "&lt;script&gt;alert(1)&lt;/script&gt;<mark>交通投资</mark>"),
    ("a&b <i>x</i>", ["b"], "a&amp;<mark>b</mark> &lt;i&gt;x&lt;/i&gt;"),
    ("<b>交通</b>", ["<b>"], "<mark>&lt;b&gt;</mark>交通&lt;/b&gt;"),  # a marked term is escaped too
    ("&amp;交通", ["&amp;"], "<mark>&amp;amp;</mark>交通"),
])
def test_output_is_escaped(text: str, terms: list[str], expected: str) -> None:
    """Everything from the document is escaped; the only markup is ``<mark>``."""
    assert snippet_html(text, terms) == expected


def test_script_in_long_text_is_escaped() -> None:
    """Escaping holds in a cut snippet too."""
    text = "前文内容。" * 40 + "<script>alert('交通')</script>交通投资。" + "后文内容。" * 40
    snippet = snippet_html(text, ["交通投资"])
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet
    parse(snippet)


# --- folding --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "terms", "expected"), [
    ("發展交通，發展經濟", ["发展"], "<mark>發展</mark>交通，<mark>發展</mark>經濟"),  # Simplified term, Traditional text
    ("ＡＢＣ abc AbC", ["abc"], "<mark>ＡＢＣ</mark> <mark>abc</mark> <mark>AbC</mark>"),
    ("G228国道", ["g228"], "<mark>G228</mark>国道"),
    ("发展交通", [fold("發展")], "<mark>发展</mark>交通"),  # a Traditional query, folded as kb.search does
    ("打造“岭”路先锋", ["岭路先锋"], "打造“<mark>岭”路先锋</mark>"),  # through quotes
    ("打造「嶺」路先鋒", ["岭路先锋"], "打造「<mark>嶺」路先鋒</mark>"),
])
def test_marks_on_folded_text(text: str, terms: list[str], expected: str) -> None:
    """Matching is on the folded passage: the marks wrap the original characters."""
    assert snippet_html(text, terms) == expected


@pytest.mark.parametrize(("text", "terms", "expected"), [
    ("发展交通，发展经济", ["發展"], "<mark>发展</mark>交通，<mark>发展</mark>经济"),
    ("abc", ["ＡＢＣ"], "<mark>abc</mark>"),
    ("g228国道", ["G228"], "<mark>g228</mark>国道"),
])
def test_unfolded_term_marks_folded_text(text: str, terms: list[str], expected: str) -> None:
    """A Traditional, full-width or upper-case term marks the passage (the module docstring's promise)."""
    assert snippet_html(text, terms) == expected


def test_quoted_occurrence_marked_beside_a_plain_one() -> None:
    """Every occurrence is marked, the quoted one too, when the plain form also occurs."""
    assert snippet_html("岭路先锋，“岭”路先锋", ["岭路先锋"]) == "<mark>岭路先锋</mark>，“<mark>岭”路先锋</mark>"


def test_marks_after_dotted_capital_i() -> None:
    """A character whose lower case is longer does not shift the marks after it."""
    assert snippet_html("İstanbul交通投资", ["交通"]) == "İstanbul<mark>交通</mark>投资"


# --- cutting long text ----------------------------------------------------------------------------

def test_long_text_is_cut_at_sentence_ends() -> None:
    """A long passage: whole sentences around the match, ≤ SNIPPET_CHARS, with … at each cut."""
    filler = "".join(f"第{i}句话讲的是一般性的工作安排内容。" for i in range(100))
    text = filler + "全面推进四好农村路建设！" + filler
    snippet = snippet_html(text, ["四好农村路"])
    plain, spans = parse(snippet)
    assert plain.startswith(ELLIPSIS) and plain.endswith(ELLIPSIS)
    body = plain[1:-1]
    assert len(body) <= SNIPPET_CHARS
    assert body.endswith(("。", "！")) and body.startswith("第")
    assert "<mark>四好农村路</mark>" in snippet
    offset = text.index(body)
    assert text[offset - 1] == "。"


@pytest.mark.parametrize("end", ["。", "！", "？", "；", "!", "?", ";"])
def test_each_sentence_end_cuts(end: str) -> None:
    """Each of 。！？； (and their ASCII forms) ends a sentence the window may stop at."""
    text = f"一般内容一般内容一般内容{end}" * 30 + f"治超站建成投用{end}" + f"其他内容其他内容{end}" * 30
    snippet = snippet_html(text, ["治超"])
    plain, _ = parse(snippet)
    body = plain.strip(ELLIPSIS)
    assert len(body) <= SNIPPET_CHARS and "治超站建成投用" in body
    assert body.endswith(end) and text[text.index(body) - 1] == end


def test_one_long_sentence_is_cut_around_the_match() -> None:
    """A sentence longer than the limit is cut around its match, never through the mark."""
    text = "的" * 500 + "交通投资" + "的" * 500
    snippet = snippet_html(text, ["交通投资"])
    plain, spans = parse(snippet)
    assert plain.startswith(ELLIPSIS) and plain.endswith(ELLIPSIS)
    assert len(plain) - 2 <= SNIPPET_CHARS
    assert "<mark>交通投资</mark>" in snippet


def test_no_match_gives_the_start() -> None:
    """No term in a long passage: its first sentences, unmarked."""
    text = "你好。" * 100
    snippet = snippet_html(text, ["不在"])
    assert "<mark>" not in snippet and snippet.startswith("你好。") and snippet.endswith(ELLIPSIS)
    assert len(snippet) - 1 <= SNIPPET_CHARS


@pytest.mark.parametrize("limit", [20, 60, 160, 300])
def test_limit(limit: int) -> None:
    """The window follows the limit it is given."""
    text = "".join(f"第{i}项工作有序推进。" for i in range(80)) + "治超站建成投用。"
    plain, spans = parse(snippet_html(text, ["治超"], limit=limit))
    assert len(plain.strip(ELLIPSIS)) <= limit and spans


# --- past 32,768 characters -----------------------------------------------------------------------

def _long_text(sentence: str, size: int = 40_000) -> tuple[str, int]:
    """About ``size`` characters of ``sentence``, then 治超站建成投用。 near the end: (text, where 治超 is)."""
    text = sentence * (size // len(sentence)) + "治超站建成投用。" + sentence * 3
    return text, text.index("治超")


def test_find_spans_past_32k() -> None:
    """Spans are exact at any offset: a 40,000-character text with the term near its end."""
    text, at = _long_text("交通建设稳步推进。")
    assert at > 32_768
    assert find_spans(text, ["治超"]) == [(at, at + 2)]
    assert find_spans(text, ["治超", "建成"]) == [(at, at + 2), (at + 3, at + 5)]


def test_mark_html_past_32k() -> None:
    """Marking the whole text puts the mark on exactly 治超, past 32,768."""
    text, at = _long_text("交通建设稳步推进。")
    marked = mark_html(text, find_spans(text, ["治超"]))
    assert marked == text[:at] + "<mark>治超</mark>" + text[at + 2:]
    window = mark_html(text[at - 10:at + 10], find_spans(text, ["治超"]), offset=at - 10)
    assert window == text[at - 10:at] + "<mark>治超</mark>" + text[at + 2:at + 10]


@pytest.mark.parametrize("sentence", [
    "全市交通运输系统坚持稳中求进工作总基调，持续推进综合交通基础设施建设，不断提升服务水平和治理能力。",
    "交通建设稳步推进。",  # ~4,500 short sentences: a tie-break by sentence index once outweighed the match
])
def test_snippet_past_32k(sentence: str) -> None:
    """A 40,000-character passage with the only match near its end: the snippet shows and marks it."""
    text, at = _long_text(sentence)
    assert at > 32_768
    snippet = snippet_html(text, ["治超"])
    assert "<mark>治超</mark>站建成投用。" in snippet
    plain, spans = parse(snippet)
    assert len(plain.strip(ELLIPSIS)) <= SNIPPET_CHARS



def test_a_compound_held_only_in_parts_marks_its_parts(tmp_path) -> None:
    """A hit matched through the parts of a compound (``工业产值``: ``…工业突飞猛进…的产值达到…``) marks
    those parts; a hit holding the compound whole marks the compound, not its parts elsewhere."""
    from corpus_fixtures import built
    from kb.search import KnowledgeBase

    apart = {"a.md": "# 甲省报告\n\n乡镇工业突飞猛进，一九八五年的产值达到二百零七亿元。\n"}
    whole = {"b.md": "# 乙省报告\n\n全省工业产值突破千亿元，工业结构持续优化。\n"}
    (tmp_path / "apart").mkdir()
    (tmp_path / "whole").mkdir()
    hit = KnowledgeBase(built(tmp_path / "apart", apart)).search("工业产值").hits[0]
    assert re.findall(r"<mark>(.*?)</mark>", hit.snippet_html) == ["工业", "产值"]
    hit = KnowledgeBase(built(tmp_path / "whole", {**apart, **whole})).search("工业产值").hits[0]
    assert "千亿元" in hit.text and re.findall(r"<mark>(.*?)</mark>", hit.snippet_html) == ["工业产值"]
