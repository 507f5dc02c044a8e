"""The document list (``KnowledgeBase.docs()``) → one page of it: filtered, searched, sorted, counted.

A document is *about* the years it reports on (``years``, :mod:`kb.chunk.docmeta`; its publication year
when none is known), so ``year=2023`` lists the 温岭 2023 summary published in 2024. ``q`` matches
the title, place and file path after folding (Traditional, full-width, case), every word of it.
Newest first by default; facet counts are of the documents the other filters let through.

>>> docs = [{"doc_id": "a", "title": "温岭市2023年度工作总结", "date": "2024-06-07", "type": "工作总结",
...          "place": "温岭市", "years": [2023], "path": "a.txt"},
...         {"doc_id": "b", "title": "山东省政府工作报告", "date": "2021-02-01", "type": "政府工作报告",
...          "place": "山东省", "years": [2020, 2021], "path": "b.txt"}]
>>> [d["doc_id"] for d in filter_docs(docs, year=2023)], [d["doc_id"] for d in filter_docs(docs, q="溫嶺 總結")]
(['a'], ['a'])
>>> listing = browse(docs, page_size=1)
>>> [d["doc_id"] for d in listing.docs], listing.pages, [(v.value, v.count) for v in listing.years]
(['a'], 2, [('2023', 1), ('2021', 1), ('2020', 1)])
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from kb.text.analysis import fold
from kb.models import FacetValue

PAGE_SIZE = 30


@dataclass(frozen=True, slots=True)
class DocListing:
    """One page of the document list and the counts to narrow it."""

    docs: tuple[dict, ...]
    total: int
    page: int
    pages: int
    years: tuple[FacetValue, ...] = ()
    types: tuple[FacetValue, ...] = ()
    places: tuple[FacetValue, ...] = ()


def doc_years(d: dict) -> list[int]:
    """The years a listed document is about: those it reports on, else its publication year."""
    years = [int(y) for y in d.get("years") or ()]
    if not years and str(d.get("date", ""))[:4].isdigit():
        years = [int(d["date"][:4])]
    return years


def filter_docs(docs: list[dict], *, year: int | None = None, kind: str = "", place: str = "", q: str = "",
                sort: str = "date") -> list[dict]:
    """The documents matching every filter given, newest first (``sort="title"``: by title)."""
    words = [fold(w) for w in q.split()] if q else []
    out = []
    for d in docs:
        if year is not None and year not in doc_years(d):
            continue
        if kind and d.get("type", "") != kind:
            continue
        if place and d.get("place", "") != place:
            continue
        if words:
            hay = fold(" ".join(str(d.get(k, "")) for k in ("title", "place", "path", "doc_id")))
            if not all(w in hay for w in words):
                continue
        out.append(d)
    if sort == "title":
        return sorted(out, key=lambda d: (d.get("title", ""), d["doc_id"]))
    return sorted(out, key=lambda d: (str(d.get("date", "")), d.get("title", "")), reverse=True)


def browse(docs: list[dict], *, year: int | None = None, kind: str = "", place: str = "", q: str = "",
           sort: str = "date", page: int = 1, page_size: int = PAGE_SIZE) -> DocListing:
    """A page of :func:`filter_docs`, with year, type and place counts (each facet ignoring its own filter,
    so another value can be picked)."""
    chosen = filter_docs(docs, year=year, kind=kind, place=place, q=q, sort=sort)
    pages = max(1, -(-len(chosen) // page_size))
    page = max(1, min(page, pages))
    years: Counter[int] = Counter()
    for d in filter_docs(docs, kind=kind, place=place, q=q):
        years.update(set(doc_years(d)))
    kinds = Counter(d.get("type", "") for d in filter_docs(docs, year=year, place=place, q=q))
    places = Counter(d.get("place", "") for d in filter_docs(docs, year=year, kind=kind, q=q))
    return DocListing(
        docs=tuple(chosen[(page - 1) * page_size:page * page_size]), total=len(chosen), page=page, pages=pages,
        years=tuple(FacetValue(str(y), c) for y, c in sorted(years.items(), reverse=True)),
        types=tuple(FacetValue(v, c) for v, c in kinds.most_common() if v),
        places=tuple(FacetValue(v, c) for v, c in places.most_common() if v))
