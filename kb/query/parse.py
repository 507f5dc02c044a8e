"""A search-box string → ``ParsedQuery``: the web-search habits staff already have.

Space means all terms; ``"…"`` an exact phrase; ``-word`` or ``-"…"`` excludes; ``A OR B`` takes
either; ``doc:ID`` filters to one document, ``year:2023`` (or ``year:2020-2023``) to passages about
that year (the year a document or its section reports on), ``date:2024`` to documents published
that year. A year typed as a word (``2023``, ``2023年``) is no filter: :mod:`kb.search` reads it
as a strong preference. Malformed input never fails: a lone quote, a dangling ``OR`` or a bare
``-`` is read as plain text or dropped.

>>> q = parse_query('快速路 -太龙 "重点工程" 公交 OR 出租车 year:2023')
>>> [[(a.text, a.phrase) for a in g] for g in q.groups]
[[('快速路', False)], [('重点工程', True)], [('公交', False), ('出租车', False)]]
>>> [a.text for a in q.excluded], q.years, parse_query('date:2020..2024 治超').dates
(['太龙'], (2023, 2023), (2020, 2024))
>>> parse_query('"unclosed  -  OR').groups
((Alternative(text='unclosed', phrase=False),),)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.errors import QueryError

MAX_QUERY_CHARS = 500
MAX_GROUPS = 16  # terms past this are dropped, with a notice: bounded work for pasted paragraphs
MAX_ALTERNATIVES = 8

_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')
_FILTER = re.compile(r"^(doc|year|年份|文档|date|日期|发布):(.+)$", re.I)
_YEAR_RANGE = re.compile(r"^((?:19|20)\d\d)(?:\s*(?:-|\.\.|~|到|至)\s*((?:19|20)\d\d))?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u2028-\u202e\ufeff\ud800-\udfff]")  # + lone surrogates
_OR_WORDS = {"OR", "|", "或", "或者"}


@dataclass(frozen=True, slots=True)
class Alternative:
    text: str
    phrase: bool = False


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """All ``groups`` must match (each an OR of alternatives); no ``excluded`` may; filters apply."""

    raw: str
    groups: tuple[tuple[Alternative, ...], ...] = ()
    excluded: tuple[Alternative, ...] = ()
    doc_ids: tuple[str, ...] = ()
    years: tuple[int, int] | None = None  # ``year:``: the year reported on
    notice: str = ""
    dates: tuple[int, int] | None = None  # ``date:``: the year of publication

    @property
    def empty(self) -> bool:
        return not self.groups

    def positive_texts(self) -> list[str]:
        return [alt.text for group in self.groups for alt in group]


def parse_query(raw: str, max_chars: int = MAX_QUERY_CHARS) -> ParsedQuery:
    """Read a search-box string; raise ``QueryError`` only for input over ``max_chars``."""
    if raw is None:
        raw = ""
    if len(raw) > max_chars:
        raise QueryError(f"查询过长（{len(raw)} 字），请缩短到 {max_chars} 字以内 / query too long "
                         f"({len(raw)} characters; the limit is {max_chars})")
    text = _CONTROL.sub(" ", raw).replace("＂", '"').replace("＂", '"')
    if text.count('"') % 2:  # a lone quote: read the text as plain terms
        text = text.replace('"', " ")
    items: list[tuple[str, Alternative | None, bool]] = []  # (kind, alternative, negated)
    doc_ids: list[str] = []
    years: tuple[int, int] | None = None
    dates: tuple[int, int] | None = None
    for m in _TOKEN.finditer(text):
        neg_phrase, phrase, word = m.group(1), m.group(2), m.group(3)
        if phrase is not None:
            cleaned = phrase.strip()
            if cleaned:
                items.append(("alt", Alternative(cleaned, True), bool(neg_phrase)))
            continue
        assert word is not None
        if word in _OR_WORDS:
            items.append(("or", None, False))
            continue
        if word in ("AND", "&&", "+"):
            continue
        flt = _FILTER.match(word)
        if flt:
            key, value = flt.group(1).lower(), flt.group(2).strip()
            if key in ("doc", "文档"):
                doc_ids.extend(v for v in value.split(",") if v)
                continue
            span = _YEAR_RANGE.match(value)
            if span:
                lo = int(span.group(1))
                hi = int(span.group(2) or lo)
                if key in ("date", "日期", "发布"):
                    dates = (min(lo, hi), max(lo, hi))
                else:
                    years = (min(lo, hi), max(lo, hi))
                continue
        negated = word.startswith("-") and len(word) > 1
        body = word[1:] if negated else word
        body = body.strip("()（）[]【】{}")
        if word.startswith("+"):
            body = body.lstrip("+")
        if not body or not re.search(r"\w", body):
            continue
        items.append(("alt", Alternative(body, False), negated))
    groups: list[list[Alternative]] = []
    excluded: list[Alternative] = []
    join_next = False
    for kind, alt, negated in items:
        if kind == "or":
            join_next = bool(groups)
            continue
        assert alt is not None
        if negated:
            excluded.append(alt)
            join_next = False
            continue
        if join_next and groups and len(groups[-1]) < MAX_ALTERNATIVES:
            groups[-1].append(alt)
        else:
            groups.append([alt])
        join_next = False
    # bounded work: a term or group given twice asks nothing more; then at most MAX_GROUPS terms in
    # all, counting each alternative of an OR (a 500-character OR chain took seconds)
    unique: dict[frozenset[Alternative], list[Alternative]] = {}
    for group in groups:
        unique.setdefault(frozenset(group), list(dict.fromkeys(group)))
    kept: list[list[Alternative]] = []
    terms = 0
    for group in unique.values():
        if kept and terms + len(group) > MAX_GROUPS:
            break
        kept.append(group)
        terms += len(group)
    notice = ""
    if len(kept) < len(unique):
        notice = f"只使用了前 {terms} 个词 / only the first {terms} terms were used"
    groups = kept
    excluded = list(dict.fromkeys(excluded))
    return ParsedQuery(
        raw=raw,
        groups=tuple(tuple(g) for g in groups),
        excluded=tuple(excluded[:MAX_GROUPS]),
        doc_ids=tuple(dict.fromkeys(doc_ids))[:MAX_ALTERNATIVES],
        years=years,
        notice=notice,
        dates=dates,
    )
