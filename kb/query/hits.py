"""Hits: an opened version's rows → ``Hit`` records with marked snippets; per-row factors of years, plans,
places; the rows where a figure is a target."""

from __future__ import annotations

import numpy as np

from kb.query.highlight import snippet_html
from kb.models import Hit
from kb.query.understand import CompiledQuery
from kb.query.version import _Version


def _folded_text(opened: _Version, row: int) -> str | None:
    """A row's text as the index keeps it, folded (``None`` if it cannot be read)."""
    try:
        return opened.text.text(row).decode("utf-8")
    except (UnicodeDecodeError, OSError, IndexError):
        return None


def _preference(opened: _Version, query: CompiledQuery) -> np.ndarray | None:
    """The per-row factor of what the query names beside its words: years, five-year plans."""
    factors = [f for f in (opened.year_preference(query.prefer_years) if query.options.years else None,
                           opened.plan_preference(query.prefer_plans) if query.prefer_plans else None)
               if f is not None]
    if not factors:
        return None
    return factors[0] if len(factors) == 1 else np.multiply.reduce(factors)


def _place_boost(opened: _Version, query: CompiledQuery) -> np.ndarray | None:
    """The per-row factor of the places the query's words name; naming none, the country's own
    documents a little first (``NATIONAL_PRIOR``: "2017年末 农村贫困人口" asks about the country);
    ``None`` when neither applies."""
    if not query.options.places:
        return None
    words = {u.word for group in query.groups for term in group for u in term.units}
    words |= {term.core for group in query.groups for term in group}
    named = opened.place_preference(tuple(words))
    return named if named is not None else opened.national_prior()


def _targets(opened: _Version, query: CompiledQuery) -> np.ndarray | None:
    """Rows where a figure after ``达到``/``完成``/``实现`` is a target, not a result: a plan's passages,
    unless the query names a plan (``十四五 达到``: then its targets are what is asked)."""
    return None if query.prefer_plans else opened.plan_rows()


def stand_ins(query: CompiledQuery) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The query's compounds that parts may stand in for, each with its parts (``工业产值``: 工业, 产值)."""
    if not query.options.soft:
        return ()
    return tuple(dict.fromkeys((u.word, u.parts) for g in query.groups for t in g for u in t.units if u.parts))


def marks_for(folded: str | None, marks: list[str], parts_of: tuple[tuple[str, tuple[str, ...]], ...]) -> list[str]:
    """What a hit's snippet marks: the query's ``marks``, and the parts of a compound that this passage
    holds only in parts, so the reader sees what matched.

    >>> parts = (("工业产值", ("工业", "产值")),)
    >>> marks_for("乡镇工业突飞猛进，产值达到207亿元", ["乡镇", "工业产值"], parts)
    ['乡镇', '工业产值', '工业', '产值']
    >>> marks_for("乡镇工业产值207亿元，工业增长", ["乡镇", "工业产值"], parts)
    ['乡镇', '工业产值']
    """
    if not parts_of or folded is None:
        return marks
    extra = [p for word, parts in parts_of if word not in folded for p in parts if p in folded]
    return marks + [p for p in dict.fromkeys(extra) if p not in marks] if extra else marks


def _hit(opened: _Version, row: int, score: float, rank_no: int, marks: list[str],
         parts_of: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> Hit:
    """A text-index row (its fields from Whoosh, its text from the text index) as a hit with its snippet
    marked (``parts_of``: the query's :func:`stand_ins`)."""
    stored = opened.stored(row)
    data = stored.get("data") or {}
    folded = _folded_text(opened, row)  # read once: the snippet marks it, the text is put back from it
    marks = marks_for(folded, marks, parts_of)
    text = opened.passage_text(row, stored, folded)
    doc = opened.manifest.get("docs", {}).get(stored["doc_id"], {})  # title and date: once per document
    return Hit(
        passage_id=stored["passage_id"],
        doc_id=stored["doc_id"],
        doc_title=doc.get("title", data.get("t", "")),
        date=doc.get("date", data.get("d", "")),
        section_path=tuple(data.get("sp", ())),
        text=text,
        snippet_html=snippet_html(text, marks, folded=folded),
        anchor=data.get("a", ""),
        score=float(score),
        rank=rank_no,
        source=doc.get("source", ""),
    )
