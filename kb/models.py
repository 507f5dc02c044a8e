"""Frozen dataclasses that flow through the pipeline.

``Document`` (loaders) → ``Section`` tree + ``Passage`` list (chunker) → index → ``Hit`` /
``SearchResult`` (search). They hold plain data only, so every stage can be tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# the kinds of document kb tells apart (:mod:`kb.chunk.docmeta`); ``PLAN_TYPE`` is a five-year plan's own text
DOCTYPES = ("工作总结", "政府工作报告", "规划纲要", "统计公报", "机构改革方案", "其他")
PLAN_TYPE = "规划纲要"


@dataclass(frozen=True, slots=True)
class Document:
    """One source file, decoded, with page chrome and front matter read off as metadata.

    ``body`` is the text the chunker files into sections: line breaks normalised to ``\\n``,
    chrome lines removed, nothing else changed.
    """

    doc_id: str
    path: str
    title: str
    body: str
    date: str = ""  # ISO ``YYYY-MM-DD`` or ``YYYY-MM`` or ``YYYY`` when that is all we know
    source: str = ""
    breadcrumb: str = ""
    sha1: str = ""
    size: int = 0
    # what the document is (:mod:`kb.chunk.docmeta`): whose it is, what kind, which years it reports on
    place: str = ""  # the place or issuer: 山东省, 成都市, 温岭市, 国务院, 国家统计局
    doctype: str = ""  # 工作总结, 政府工作报告, 规划纲要, 统计公报, 机构改革方案 or 其他
    years: tuple[int, ...] = ()  # a work report for 2023 reviews 2022 and plans 2023: (2022, 2023)

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if self.date[:4].isdigit() else None


@dataclass(frozen=True, slots=True)
class Section:
    """A heading and what is filed under it.

    ``number`` is the bare numeral (``一``, ``二``, ``1``); ``marker`` the whole marker as a reader sees
    it (``一、``, ``（二）``, ``1.``); ``repaired`` is true where the marker was lost in the source and
    inferred from the siblings. ``title`` keeps the original text of the heading line.
    """

    anchor: str
    level: int
    number: str
    marker: str
    title: str
    repaired: bool = False
    children: tuple[Section, ...] = ()

    @property
    def label(self) -> str:
        """The heading as shown in a breadcrumb: marker + title."""
        return f"{self.marker}{self.title}" if self.marker and not self.title.startswith(self.marker) else self.title


@dataclass(frozen=True, slots=True)
class Passage:
    """A short run of body text inside exactly one section: the unit that search returns.

    ``start``/``end`` are offsets into ``Document.body``; ``text == body[start:end]``.
    ``section_path`` holds the labels from the top heading down; ``section_anchor`` the innermost one.
    """

    passage_id: str
    doc_id: str
    anchor: str
    ordinal: int
    text: str
    start: int
    end: int
    section_path: tuple[str, ...] = ()
    section_anchor: str = ""
    year: int | None = None  # the year its section reports on (``一、2019年工作回顾``), if a heading says
    lead: str = ""  # the caption of the table it continues (``主要产品产量``), filed with its headings


@dataclass(frozen=True, slots=True)
class Chunked:
    """What the chunker makes of one document."""

    document: Document
    sections: tuple[Section, ...]
    passages: tuple[Passage, ...]
    preface: bool = False  # body text stands before the first heading


@dataclass(frozen=True, slots=True)
class Hit:
    """One passage found by a query, ready to show."""

    passage_id: str
    doc_id: str
    doc_title: str
    date: str
    section_path: tuple[str, ...]
    text: str
    snippet_html: str
    anchor: str
    score: float
    rank: int
    source: str = ""  # the document's 信息来源, for citations
    doc_hits: int = 1  # grouped results: matching passages in this document, this one included
    more: tuple[Hit, ...] = ()  # grouped results: the document's next best passages

    @property
    def url(self) -> str:
        return f"/p/{self.passage_id}"

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "passage_id": self.passage_id,
            "doc_id": self.doc_id,
            "doc_title": self.doc_title,
            "date": self.date,
            "source": self.source,
            "section_path": list(self.section_path),
            "text": self.text,
            "snippet_html": self.snippet_html,
            "url": self.url,
            "score": round(self.score, 4),
            "doc_hits": self.doc_hits,
        }
        if self.more or self.doc_hits > 1:
            out["more"] = [{"passage_id": m.passage_id, "snippet_html": m.snippet_html, "url": m.url,
                            "section_path": list(m.section_path), "text": m.text} for m in self.more]
        return out


@dataclass(frozen=True, slots=True)
class Facet:
    doc_id: str
    doc_title: str
    count: int


@dataclass(frozen=True, slots=True)
class FacetValue:
    """One clickable value of a facet (a year reported on, a type, a place) and how many passages hold it."""

    value: str
    count: int


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The answer to one query: a page of hits and what the UI needs to describe it."""

    query: str
    total: int
    took_ms: float
    page: int
    page_size: int
    hits: tuple[Hit, ...] = ()
    partial: bool = False  # no passage held every term: these are the best partial matches
    facets: tuple[Facet, ...] = ()
    notice: str = ""  # e.g. the query was cut or read as plain terms
    terms: tuple[str, ...] = field(default=())  # folded terms to mark in a document view
    corrected: str = ""  # the query was read as this (a typo or pinyin corrected): "已显示“…”的结果"
    also: tuple[str, ...] = ()  # other forms searched too (synonyms, plan names, units): "也搜索了：…"
    grouped: bool = False  # one hit per document (``doc_hits``, ``more``); else one per passage
    documents: int = 0  # documents holding a match
    years: tuple[FacetValue, ...] = ()  # facets: the years the matching passages report on, newest first
    types: tuple[FacetValue, ...] = ()
    places: tuple[FacetValue, ...] = ()
    sort: str = "relevance"  # or "date": newest document first

    @property
    def pages(self) -> int:
        """Pages of hits (of documents when grouped), at most ``MAX_PAGE`` (100) as the search serves."""
        shown = self.documents if self.grouped else self.total
        return max(1, min(-(-shown // self.page_size), 100))

    def to_json(self) -> dict[str, object]:
        return {
            "query": self.query,
            "total": self.total,
            "took_ms": round(self.took_ms, 2),
            "page": self.page,
            "pages": self.pages,
            "page_size": self.page_size,
            "partial": self.partial,
            "notice": self.notice,
            "terms": list(self.terms),
            "corrected": self.corrected,
            "also": list(self.also),
            "grouped": self.grouped,
            "documents": self.documents,
            "sort": self.sort,
            "facets": {
                "year": [{"value": v.value, "count": v.count} for v in self.years],
                "type": [{"value": v.value, "count": v.count} for v in self.types],
                "place": [{"value": v.value, "count": v.count} for v in self.places],
                "doc": [{"value": f.doc_id, "label": f.doc_title, "doc_id": f.doc_id, "doc_title": f.doc_title,
                         "count": f.count} for f in self.facets],
            },
            "hits": [h.to_json() for h in self.hits],
        }
