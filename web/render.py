"""A stored document (``KnowledgeBase.document()``) + query terms → what the document page shows.

The chunker keeps every passage inside one section and the passages in document order, with the
sections in pre-order, so the page is the section tree with each section's own passages under its
heading. Every piece of text is HTML-escaped here (:func:`kb.query.highlight.mark_html`); the only tags
in the ``*_html`` strings are our own ``<mark>``, which is why the templates may mark them safe.

>>> view = document_view({"document": {"doc_id": "d", "title": "T", "date": "", "source": "",
...     "breadcrumb": ""}, "body": "一、总则\\n<b>交通</b>投资。", "preface": False,
...     "sections": [{"number": "一", "marker": "一、", "title": "总则", "anchor": "s1", "level": 1,
...                   "repaired": False, "children": []}],
...     "passages": [{"passage_id": "d.aa", "anchor": "p-aa", "start": 5, "end": 17,
...                   "section_anchor": "s1", "section_path": ["一、总则"]}]}, ["交通"])
>>> view.sections[0].passages[0].lines_html
('&lt;b&gt;<mark>交通</mark>&lt;/b&gt;投资。',)
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from kb.errors import QueryError
from kb.query.highlight import find_spans, mark_html
from kb.query.parse import parse_query
from kb.search import compile_query

PATH_SEPARATOR = " › "
PREFACE_LABEL = "前言"


@dataclass(frozen=True, slots=True)
class PassageView:
    passage_id: str
    anchor: str
    text: str
    lines_html: tuple[str, ...]  # escaped, query terms in <mark>
    section_path: tuple[str, ...]
    marked: bool  # holds at least one query term


@dataclass(slots=True)
class SectionView:
    anchor: str
    depth: int  # 0 for a top-level section: rendered as <h2>, then <h3>, <h4>, <h5>
    marker: str
    title: str
    title_html: str
    repaired: bool
    preface: bool
    passages: list[PassageView] = field(default_factory=list)
    children: list[SectionView] = field(default_factory=list)
    prev: SectionView | None = None  # neighbouring top-level sections, for the page-turn links
    next: SectionView | None = None

    @property
    def path(self) -> str:
        """The section path its passages cite (one copy per section, not per passage)."""
        return PATH_SEPARATOR.join(self.passages[0].section_path) if self.passages else ""

    @property
    def heading_tag(self) -> str:
        return f"h{min(self.depth + 2, 5)}"

    @property
    def label(self) -> str:
        return PREFACE_LABEL if self.preface else f"{self.marker}{self.title}"


@dataclass(frozen=True, slots=True)
class DocumentView:
    doc_id: str
    title: str
    title_html: str
    date: str
    source: str
    breadcrumb: str
    sections: tuple[SectionView, ...]
    passage_count: int
    marked_count: int  # passages holding a query term


def query_terms(q: str) -> list[str]:
    """The folded strings a search for ``q`` marks (same as ``SearchResult.terms``), without searching."""
    if not q or not q.strip():
        return []
    try:
        return list(compile_query(parse_query(q)).marks)
    except QueryError:
        return []


def marked(text: str, terms: list[str]) -> str:
    """``text`` escaped, with every occurrence of the terms in ``<mark>``."""
    return mark_html(text, find_spans(text, terms) if terms else [])


def _lines_html(text: str, terms: list[str]) -> tuple[tuple[str, ...], bool]:
    spans = find_spans(text, terms) if terms else []
    out: list[str] = []
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            out.append(mark_html(line, spans, offset=pos))
        pos += len(line) + 1
    return tuple(out), bool(spans)


def document_view(data: dict, terms: list[str] | None = None) -> DocumentView:
    """Build the page model of one stored document, marking ``terms`` (folded strings)."""
    terms = terms or []
    doc = data["document"]
    body: str = data["body"]
    by_section: dict[str, list[PassageView]] = defaultdict(list)
    marked_count = 0
    for p in data["passages"]:
        text = body[p["start"]:p["end"]]
        lines, hit = _lines_html(text, terms)
        marked_count += hit
        by_section[p["section_anchor"]].append(PassageView(
            passage_id=p["passage_id"], anchor=p["anchor"], text=text, lines_html=lines,
            section_path=tuple(p["section_path"]), marked=hit))

    def build(s: dict, depth: int) -> SectionView:
        preface = s["anchor"] == "s0" and s.get("level", 1) == 0
        view = SectionView(anchor=s["anchor"], depth=depth, marker=s["marker"], title=s["title"],
                           title_html=marked(s["title"], terms), repaired=bool(s["repaired"]), preface=preface,
                           passages=by_section.get(s["anchor"], []))
        view.children = [build(c, depth + 1) for c in s["children"]]
        return view

    roots = [build(s, 0) for s in data["sections"]]
    for before, after in zip(roots, roots[1:]):
        before.next, after.prev = after, before
    return DocumentView(doc_id=doc["doc_id"], title=doc["title"], title_html=marked(doc["title"], terms),
                        date=doc.get("date", ""), source=doc.get("source", ""),
                        breadcrumb=doc.get("breadcrumb", ""), sections=tuple(roots),
                        passage_count=len(data["passages"]), marked_count=marked_count)


def citation(text: str, title: str, section_path: tuple[str, ...] | list[str], date: str, url: str,
             source: str = "") -> str:
    """The text 复制引用 puts on the clipboard: the passage (or the sentence that matched), where it is
    from with a labelled date and the 信息来源, and the permalink. ``kb.js`` builds the same on the
    document page (``citeFrom``), so the page need not carry a copy of every passage.

    >>> print(citation("全年完成投资。", "工作总结", ["一、总结", "(一)投资"], "2024-06-07", "http://x/p/d.1", "市交通局"))
    全年完成投资。
    ——《工作总结》，一、总结 › (一)投资，发布日期：2024-06-07，信息来源：市交通局
    http://x/p/d.1
    """
    parts = (f"《{title}》", PATH_SEPARATOR.join(section_path), f"发布日期：{date}" if date else "",
             f"信息来源：{source}" if source else "")
    shown = "\n".join(line for line in text.split("\n") if line.strip()).strip()  # the lines the page shows
    return f"{shown}\n——{'，'.join(part for part in parts if part)}\n{url}"


_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])")


def matched_sentence(text: str, terms: list[str] | tuple[str, ...]) -> str:
    """The sentence of ``text`` holding the first query term (the short citation); the whole text
    when no term is found or the passage is one sentence.

    >>> matched_sentence("全年完成投资。新建公交站点20个。群众满意。", ["公交"])
    '新建公交站点20个。'
    >>> matched_sentence("没有句号的一段", ["公交"])
    '没有句号的一段'
    """
    spans = find_spans(text, list(terms)) if terms else []
    if not spans:
        return text.strip()
    start = spans[0][0]
    pos = 0
    for sentence in _SENTENCE_END.split(text):
        if pos <= start < pos + len(sentence):
            return sentence.strip() or text.strip()
        pos += len(sentence)
    return text.strip()


def empty_query_tip(q: str) -> str:
    """What to say when a query holds nothing to search for, by what it does hold; ``""`` otherwise.

    >>> empty_query_tip("-事故")
    '只有排除词（-事故）：请再写上要查的词，例如“安全生产 -事故”。'
    >>> empty_query_tip("year:2023")
    '只有筛选条件（year:2023）：请再写上要查的词，例如“year:2023 公路”；或在文档列表中按条件浏览。'
    >>> empty_query_tip("，。！")
    '查询中只有标点符号，没有可搜索的文字：请输入汉字、字母或数字。'
    >>> empty_query_tip("交通")
    ''
    """
    try:
        parsed = parse_query(q)
    except QueryError:
        return ""
    if parsed.groups or not q.strip():
        return ""
    if parsed.excluded:
        words = " ".join(f"-{a.text}" for a in parsed.excluded)
        return f"只有排除词（{words}）：请再写上要查的词，例如“安全生产 {words}”。"
    filters = [w for w in q.split() if ":" in w or "：" in w]
    if parsed.doc_ids or parsed.years or parsed.dates:
        shown = " ".join(filters)
        return f"只有筛选条件（{shown}）：请再写上要查的词，例如“{shown} 公路”；或在文档列表中按条件浏览。"
    return "查询中只有标点符号，没有可搜索的文字：请输入汉字、字母或数字。"


_DOC_FILTER = re.compile(r"(?:^|\s)(?:doc|文档):\S+", re.I)


def without_doc_filter(q: str) -> str:
    """``q`` with any ``doc:ID`` typed into it removed (the link "全部文档").

    >>> without_doc_filter("治超 doc:wl-2023 非现场")
    '治超 非现场'
    """
    return " ".join(_DOC_FILTER.sub(" ", q).split())


def suggestions(q: str) -> list[str]:
    """Shorter queries to try when no passage holds every term: the query with one term left out.

    >>> suggestions("交通 投资 火星")
    ['投资 火星', '交通 火星', '交通 投资']
    """
    words = q.split()
    if len(words) < 2:
        return []
    return [" ".join(words[:i] + words[i + 1:]) for i in range(len(words))][:6]
