"""A stored document (``KnowledgeBase.document()``) + query terms → what the document page shows.

The chunker keeps every passage inside one section and the passages in document order, with the
sections in pre-order, so the page is the section tree with each section's own passages under its
heading. Every piece of text is HTML-escaped here (:func:`kb.highlight.mark_html`); the only tags
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

from collections import defaultdict
from dataclasses import dataclass, field

from kb.errors import QueryError
from kb.highlight import find_spans, mark_html
from kb.query import parse_query
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


def citation(text: str, title: str, section_path: tuple[str, ...] | list[str], date: str, url: str) -> str:
    """The text 复制引用 puts on the clipboard.

    >>> print(citation("全年完成投资。", "工作总结", ["一、总结", "(一)投资"], "2024-06-07", "http://x/p/d.1"))
    全年完成投资。
    ——《工作总结》，一、总结 › (一)投资，2024-06-07
    http://x/p/d.1
    """
    source = "，".join(part for part in (f"《{title}》", PATH_SEPARATOR.join(section_path), date) if part)
    return f"{text.strip()}\n——{source}\n{url}"


def suggestions(q: str) -> list[str]:
    """Shorter queries to try when no passage holds every term: the query with one term left out.

    >>> suggestions("交通 投资 火星")
    ['投资 火星', '交通 火星', '交通 投资']
    """
    words = q.split()
    if len(words) < 2:
        return []
    return [" ".join(words[:i] + words[i + 1:]) for i in range(len(words))][:6]
