"""A ``ParsedQuery`` → ``CompiledQuery``: what staff mean by what they type, as analysed terms.

Each query term is cut into **units**, the words a passage should hold. Around them:

- a year typed as a word (``2023``, ``2023年``, ``二〇二三年``) is taken out of the terms and kept as
  ``prefer_years``: the ranker prefers passages *about* that year, whether or not they write it;
- filler words of a typed question (``多少``, ``是什么``, ``哪些``, ``情况``, ``一共``, ``完成了``,
  ``几座``…) are dropped, so ``温岭危桥改造完成了几座`` asks for ``温岭 危桥 改造``;
- a unit of three or more characters carries **parts** (``总产量`` → ``总产``, ``产量``; an unknown
  ``办件量`` → ``办件``, ``件量``) that stand in, at a lower score, where the whole word is missing;
- a term or unit with an entry in the synonym table (:mod:`kb.query.synonyms`, plan names such as
  ``十一五`` ↔ ``第十一个五年规划``) or a figure in other units (:mod:`kb.text.figures`, ``4368万`` ↔
  ``0.4368亿``) also searches those forms, listed in ``also`` for the page to say so.

Every mechanism can be switched off in :class:`SearchOptions` (``kb eval --without``), which is how
each one's contribution is measured.

>>> q = compile_query(parse_query("2023年温岭综合交通投资完成多少亿元"))
>>> q.prefer_years, [u.word for u in q.groups[0][0].units]
((2023,), ['温岭', '综合', '交通', '投资', '完成', '亿元'])
>>> [u.parts for u in compile_query(parse_query("粮食总产量")).groups[0][0].units]
[(), ('总产', '产量')]
>>> compile_query(parse_query("2023")).groups[0][0].text   # a year alone is what is searched
'2023'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from functools import lru_cache

from kb.text import analysis, ngrams
from kb.errors import QueryError
from kb.query.parse import ParsedQuery, parse_query
from kb.query.synonyms import plan_mentions, plan_number, plan_period

__all__ = ["SearchOptions", "Unit", "Term", "CompiledQuery", "compile_query", "parse_query", "make_term",
           "year_mentions"]


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """Which query-understanding mechanisms are on (all, by default)."""

    years: bool = True  # a year in the query is a preference for passages about it
    soft: bool = True  # filler dropped, parts stand in, best partial matches ranked by coverage
    synonyms: bool = True  # the synonym table and plan names
    figures: bool = True  # a figure also in other units
    spelling: bool = True  # one-character typos corrected from the index vocabulary
    pinyin: bool = True  # an all-Latin term read as pinyin
    proximity: bool = True  # terms close together rank higher
    meta_exclusion: bool = True  # -word also excludes passages whose title or headings hold it
    plans: bool = True  # a five-year plan named (十一五) prefers that plan's own document
    places: bool = True  # a place named (山东, 全国) prefers that place's own documents

    @classmethod
    def without(cls, names: str | list[str] | tuple[str, ...] = ()) -> SearchOptions:
        """``SearchOptions.without("years,spelling")`` → those two off.

        >>> SearchOptions.without("years").years, SearchOptions.without("").years
        (False, True)
        """
        if isinstance(names, str):
            names = [n for n in re.split(r"[,\s]+", names) if n]
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(names) - known)
        if unknown:
            raise QueryError(f"unknown mechanism(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**{n: False for n in names})


DEFAULT = SearchOptions()


@dataclass(frozen=True, slots=True)
class Unit:
    """One word a passage should hold, with what may stand in for it."""

    word: str
    parts: tuple[str, ...] = ()  # sub-words or character pairs: a lower-scored stand-in
    alternatives: tuple[Term, ...] = ()  # synonyms: as good as the word itself


@dataclass(frozen=True, slots=True)
class Term:
    """One alternative of a query group, analysed: what must match, what is marked."""

    text: str  # folded
    words: tuple[str, ...]  # its jieba words
    needed: tuple[str, ...]  # the words a passage must hold (runs of single characters joined)
    phrase: bool
    core: str  # the text without spaces, quotes and brackets: what "contiguous" means
    units: tuple[Unit, ...] = ()  # ``needed``, each with its stand-ins

    @property
    def cjk(self) -> str:
        """Its CJK characters, when there are two or more (for character-pair lookups)."""
        chars = "".join(ch for ch in self.text if analysis.is_cjk(ch))
        return chars if len(chars) > 1 else ""

    @property
    def latin(self) -> bool:
        """All letters a–z (pinyin, or an English word)."""
        return bool(_LATIN.fullmatch(self.text))


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...]
    doc_ids: tuple[str, ...]
    years: tuple[int, int] | None
    marks: tuple[str, ...]  # folded strings to highlight
    prefer_years: tuple[int, ...] = ()
    dates: tuple[int, int] | None = None
    also: tuple[str, ...] = ()  # synonyms and other forms searched too
    dropped: tuple[str, ...] = ()  # filler words left out
    prefer_plans: tuple[int, ...] = ()  # five-year plans named (十一五 → 11): their plan documents first
    options: SearchOptions = DEFAULT


_LATIN = re.compile(r"[a-z]+(?: [a-z]+)*")
# a year as staff type it: 1949–2060, alone or with 年/年度, not a figure (2000万, 2023.5)
_YEAR = re.compile(r"(?<![\d.])((?:19[4-9]|20[0-6])\d)(年度|年)?(?![\d.%万亿千百元个件项座条家人])")
_FILLER = re.compile("|".join([
    "是什么", "有哪些", "有多少", "是多少", "完成了", "怎么样", "怎样", "如何", "多少", "哪些", "什么",
    "情况", "一共", "请问", "有没有", "是否", r"几[座个条家项次件所处台辆万亿元]?",
]))
_PUNCT = re.compile(r"[?？!！,，。、;；:：]+")
MAX_PARTS = 4


def year_mentions(text: str) -> tuple[tuple[int, ...], str]:
    """Years typed in a folded term, and the term without them.

    >>> year_mentions("2023年温岭综合交通投资")
    ((2023,), ' 温岭综合交通投资')
    >>> year_mentions("2000万元"), year_mentions("2019-2023")
    (((), '2000万元'), ((2019, 2023), ' - '))
    """
    years = tuple(int(m.group(1)) for m in _YEAR.finditer(text))
    return years, _YEAR.sub(" ", text) if years else text


# 一五 … 九五 typed bare: mostly the 普法 campaigns (“七五”普法, 2016–2020) or a number, so a plan only
# when the query also names a year of the plan's time (below)
_BARE_PLAN = re.compile(r"(?<![一二三四五六七八九十百千万零〇两\d])([一二三四五六七八九])五"
                        r"(?!普法|年|个|月|天|日|折|成|倍|%|岁|万|亿|元|计划|规划|时期|期间|[一二三四五六七八九十〇零])")
_BARE_ORDINAL = {c: n for n, c in enumerate("一二三四五六七八九", start=1)}


def bare_plans(text: str, years: list[int]) -> str:
    """A bare ``七五`` read as the plan (``七五计划``) when one of the query's ``years`` falls in the plan's
    time: its five years, or the ten after, when reports look back on it (``七五 1990年 工农业总产值``).

    >>> bare_plans("七五", [1990]), bare_plans("七五", [2018]), bare_plans("七五普法", [1990]), bare_plans("七五", [])
    ('七五计划', '七五', '七五普法', '七五')
    """
    if not years:
        return text

    def promote(m: re.Match[str]) -> str:
        lo, hi = plan_period(_BARE_ORDINAL[m.group(1)])
        return m.group(0) + "计划" if any(lo - 1 <= y <= hi + 10 for y in years) else m.group(0)

    return _BARE_PLAN.sub(promote, text)


def make_term(text: str, phrase: bool, expand: bool = False, options: SearchOptions = DEFAULT) -> Term | None:
    """Folded or raw text → a ``Term`` (``None`` when nothing searchable is left).

    >>> t = make_term("来甬大学生", False)
    >>> t.needed, t.core
    (('来甬', '大学生'), '来甬大学生')
    """
    folded = analysis.fold(text).strip()
    if not phrase and plan_number(folded):  # a plan name is one unit (jieba cuts 十三五 as 十三 + 五)
        words = [folded]
    else:
        words = [t.text for t in analysis.words(folded, folded=True)]
    if not words:
        return None
    # jieba leaves unknown names in single characters (来甬 → 来/甬) and may cut the text
    # differently (新来/甬): runs of single characters are required together, through the pairs;
    # a lone single character of a longer term helps ranking but is not required
    needed = [w for w in _join_single_chars(words) if not (len(w) == 1 and analysis.is_cjk(w))] or words
    needed = list(dict.fromkeys(needed))
    core = ngrams.see_through_core(folded)
    units = tuple(_unit(w, options if expand else None) for w in needed) if not phrase else ()
    return Term(folded, tuple(words), tuple(needed), phrase, core, units)


def _unit(word: str, options: SearchOptions | None) -> Unit:
    if options is None:
        return Unit(word)
    parts: tuple[str, ...] = ()
    if options.soft and len(word) >= 3 and analysis.is_cjk(word) and not plan_number(word):
        parts = _parts(word)
    alternatives: tuple[Term, ...] = ()
    if options.synonyms and len(word) > 1:
        alternatives = tuple(t for t in (make_term(s, False) for s in _synonyms(word)) if t is not None)
    return Unit(word, parts, alternatives)


@lru_cache(maxsize=4096)
def _parts(word: str) -> tuple[str, ...]:
    """Sub-words jieba knows, else the character pairs.

    >>> _parts("总产量"), _parts("办件量")
    (('总产', '产量'), ('办件', '件量'))
    """
    subs = [w for w in analysis.search_words(word, folded=True) if 1 < len(w) < len(word)]
    if not subs:
        subs = [word[i:i + 2] for i in range(len(word) - 1)]
    return tuple(dict.fromkeys(subs))[:MAX_PARTS]


def _synonyms(text: str) -> tuple[str, ...]:
    try:
        from kb.query.synonyms import load_synonyms
    except ImportError:  # pragma: no cover - the table ships with kb
        return ()
    # a form holding the term itself (十三五规划 for 十三五) finds nothing the term does not
    return tuple(f for f in load_synonyms().expand(text) if text not in f)


def _figures(text: str) -> tuple[str, ...]:
    try:
        from kb.text.figures import equivalents
    except ImportError:  # pragma: no cover
        return ()
    return tuple(equivalents(text))


def _join_single_chars(words: list[str]) -> list[str]:
    """``['来', '甬', '大学生']`` → ``['来甬', '大学生']``: adjacent one-character CJK words as one run."""
    out: list[str] = []
    in_run = False
    for word in words:
        single = len(word) == 1 and analysis.is_cjk(word)
        if single and in_run:
            out[-1] += word
        else:
            out.append(word)
        in_run = single
    return out


def compile_query(parsed: ParsedQuery, options: SearchOptions = DEFAULT) -> CompiledQuery:
    """``ParsedQuery`` → analysed terms, preferred years, other forms, and the strings a hit marks.

    >>> q = compile_query(parse_query('治超 "一超四罚" -太龙'), SearchOptions(synonyms=False))
    >>> [[t.needed for t in g] for g in q.groups], [t.core for t in q.excluded], q.marks
    ([[('治超',)], [('一超四罚',)]], ['太龙'], ('治超', '一超四罚'))
    >>> q = compile_query(parse_query('温岭危桥改造完成了几座'))
    >>> q.groups[0][0].needed, q.dropped
    (('温岭', '危桥', '改造'), ('完成了', '几座'))
    """
    prefer: list[int] = []
    plans: list[int] = []
    dropped: list[str] = []
    texts: list[list[tuple[str, bool]]] = []
    named_years = [y for g in parsed.groups for a in g if not a.phrase
                   for y in year_mentions(analysis.fold(a.text))[0]] if options.plans else []
    for group in parsed.groups:
        alts = []
        for alt in group:
            text = analysis.fold(alt.text)
            if not alt.phrase:
                if options.years:
                    found, rest = year_mentions(text)
                    if found and (len(parsed.groups) > 1 or re.search(r"\w", rest)):
                        prefer.extend(found)
                        text = rest
                if options.synonyms or options.plans:
                    named, text = plan_mentions(bare_plans(text, named_years))
                    if options.plans:
                        plans.extend(named)
                if options.soft:
                    dropped.extend(m.group(0) for m in _FILLER.finditer(text))
                    text = _FILLER.sub(" ", text)
                text = _PUNCT.sub(" ", text)
            alts.append((text, alt.phrase))
        texts.append(alts)
    if not any(re.search(r"\w", t) for alts in texts for t, _ in alts):
        if prefer:  # only a year: search for it as a word
            texts = [[(analysis.fold(a.text), a.phrase) for a in g] for g in parsed.groups]
            prefer = []
        else:  # only filler words
            texts = []
    groups: list[tuple[Term, ...]] = []
    marks: list[str] = []
    also: list[str] = []
    for alts in texts:
        terms: list[Term] = []
        for text, phrase in alts:
            if not phrase and options.soft:
                # an unspaced question and a spaced one ask the same: each piece is a unit
                pieces = [make_term(p, False, True, options) for p in text.split()]
                pieces = [p for p in pieces if p is not None]
                term = _joined(pieces) if len(pieces) > 1 else (pieces[0] if pieces else None)
            else:
                term = make_term(text.strip(), phrase, True, options)
            if term is None:
                continue
            terms.append(term)
            if not phrase:
                # a one-word term's synonyms are its unit's alternatives already
                whole = options.synonyms and len(term.units) > 1
                for other in (_synonyms(term.text) if whole else ()) + \
                        (_figures(term.text) if options.figures else ()):
                    extra = make_term(other, False, True, options)
                    if extra is not None and extra not in terms:
                        terms.append(extra)
                        also.append(extra.text)
                for unit in term.units:
                    also.extend(a.text for a in unit.alternatives)
        if terms:
            groups.append(tuple(terms))
            for t in terms:
                marks.append(t.text)
                if not t.phrase:
                    marks.extend(t.needed)
                    marks.extend(a.text for u in t.units for a in u.alternatives)
    excluded = tuple(t for t in (make_term(a.text, True) for a in parsed.excluded) if t is not None)
    return CompiledQuery(tuple(groups), excluded, parsed.doc_ids, parsed.years,
                         tuple(dict.fromkeys(m for m in marks if m and m.strip())),
                         prefer_years=tuple(dict.fromkeys(prefer)), dates=parsed.dates,
                         prefer_plans=tuple(dict.fromkeys(plans)),
                         also=tuple(dict.fromkeys(a for a in also if a)), dropped=tuple(dropped),
                         options=options)


def _joined(pieces: list[Term]) -> Term:
    """Several terms of one alternative (a question cut by filler words) as one term of all their units."""
    return Term(" ".join(p.text for p in pieces), tuple(w for p in pieces for w in p.words),
                tuple(dict.fromkeys(w for p in pieces for w in p.needed)), False,
                "".join(p.core for p in pieces),
                tuple({u.word: u for p in pieces for u in p.units}.values()))


def respelled(query: CompiledQuery, replace_text: dict[str, tuple[str, ...]]) -> CompiledQuery:
    """The query with some terms (by folded text) replaced by other texts (spelling, pinyin)."""
    groups = []
    marks = list(query.marks)
    for group in query.groups:
        terms: list[Term] = []
        for term in group:
            if term.text in replace_text:
                for text in replace_text[term.text]:
                    new = make_term(text, False, True, query.options)
                    if new is not None:
                        terms.append(new)
                        marks.extend((new.text, *new.needed))
            else:
                terms.append(term)
        groups.append(tuple(terms))
    return replace(query, groups=tuple(groups), marks=tuple(dict.fromkeys(marks)))
