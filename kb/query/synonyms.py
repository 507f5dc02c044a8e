"""Synonyms and abbreviations, applied at query time: ``治超`` also searches ``超限超载``.

Documents name one thing several ways: a programme by its slogan (``放管服``) or by what it stands for
(``简政放权、放管结合、优化服务``), a plan as ``“十四五”`` or ``第十四个五年规划``, a road as ``G228`` or
``228国道``. :func:`load_synonyms` reads the table; :meth:`SynonymTable.expand` gives, for one query
term, the other forms to search as well (folded, as :func:`kb.text.analysis.fold` folds text; never the
term itself; at most :data:`MAX_EXPANSIONS`).

The table is ``kb/data/synonyms.txt`` (its header documents the format: one group of equivalent
forms a line, ``治超 = 治理车辆超限超载 = 超限超载``), then every file named by ``KB_SYNONYMS``
(``os.pathsep``-separated, as ``KB_USERDICT`` is). A bad line is skipped with a
:class:`SynonymFileWarning` naming the file and line; a missing or unreadable file likewise. The
table is cached and read again only when a file changes. Nothing here touches the index: a new line
works on the next query, with no rebuild.

Two families are rules rather than lines:

- five-year plans, 一五 … 十五五: ``十一五`` = ``十一五规划`` = ``第十一个五年规划`` (also the
  ``计划`` forms, ``十一五时期``, ``十一五期间``); up to the tenth the name was 计划 (``九五计划`` =
  ``第九个五年计划``). A bare ``十五`` is a number and a bare ``六五`` … ``九五`` mostly names a
  legal-education campaign (``“七五”普法``): those expand only with 计划/规划/时期/期间 and are never
  given as a form to search;
- road numbers: ``G228`` = ``228国道`` = ``国道228``, ``S204`` = ``204省道`` = ``省道204`` (three digits:
  ``S1线`` is a railway line, ``G15`` an expressway).

>>> table = SynonymTable.parse(["治超 = 治理车辆超限超载 = 超限超载", "放管服 = 简政放权、放管结合、优化服务"])
>>> table.expand("治超")
('治理车辆超限超载', '超限超载')
>>> table.expand("“放管服”")
('简政放权、放管结合、优化服务',)
>>> table.expand("十四五")
('第十四个五年规划', '第十四个五年计划', '十四五规划', '十四五时期', '十四五期间', '十四五计划')
>>> table.expand("第十个五年计划")
('十五计划', '十五时期', '十五期间', '十五规划')
>>> table.expand("十五"), table.expand("七五")
((), ())
>>> table.expand("G228")
('228国道', '国道228')
"""

from __future__ import annotations

import os
import re
import threading
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable

from kb.text.analysis import fold
from kb.text.ngrams import SEE_THROUGH

MAX_EXPANSIONS = 6
MAX_FORM_CHARS = 80  # a form is a term, not a paragraph
MAX_GROUP_FORMS = 12

# a table's key ignores what search sees through, and the commas of a list too (not a search rule)
_IGNORED_IN_KEYS = frozenset(SEE_THROUGH + "、，,;；·")


class SynonymFileWarning(UserWarning):
    """A synonym file or line kb could not use (it is skipped; the rest of the table works)."""


def _key(text: str) -> str:
    """What two forms must share to be the same entry: folded, without quotes, brackets, list marks."""
    return "".join(ch for ch in fold(text) if ch not in _IGNORED_IN_KEYS)


# --- rules: five-year plans ---------------------------------------------------------------------

_NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十",
             "十一", "十二", "十三", "十四", "十五"]
_ORDINAL = {name: n for n, name in enumerate(_NUMERALS, start=1)}
_PLAN_FULL = re.compile(r"^第(十[一二三四五]|[一二三四五六七八九十])个五年(计划|规划)$")
_PLAN_SHORT = re.compile(r"^(十[一二三四五]|[一二三四五六七八九十])五(计划|规划|时期|期间)?$")
FIRST_GUIHUA = 11  # 第十一个五年规划 (2006–2010): from here on a 规划, before it a 计划


def plan_number(term: str) -> int | None:
    """Which five-year plan a (folded, unquoted) term names, or ``None``.

    >>> plan_number("第十一个五年规划"), plan_number("十三五"), plan_number("九五计划"), plan_number("十五时期")
    (11, 13, 9, 10)
    >>> plan_number("十五"), plan_number("六五"), plan_number("十六五"), plan_number("十五五")
    (None, None, None, 15)
    """
    m = _PLAN_FULL.match(term)
    if m:
        return _ORDINAL[m.group(1)]
    m = _PLAN_SHORT.match(term)
    if m:
        n = _ORDINAL[m.group(1)]
        if m.group(2) or n >= FIRST_GUIHUA:  # a bare 十五 / 七五 is no plan name
            return n
    return None


def plan_forms(n: int) -> tuple[str, ...]:
    """The names documents give the ``n``-th five-year plan, the usual ones first.

    >>> plan_forms(11)
    ('十一五', '第十一个五年规划', '第十一个五年计划', '十一五规划', '十一五时期', '十一五期间', '十一五计划')
    >>> plan_forms(10)
    ('十五计划', '第十个五年计划', '十五时期', '十五期间', '十五规划')
    """
    short = f"{_NUMERALS[n - 1]}五"
    full = f"第{_NUMERALS[n - 1]}个五年"
    if n >= FIRST_GUIHUA:
        return (short, f"{full}规划", f"{full}计划", f"{short}规划", f"{short}时期", f"{short}期间",
                f"{short}计划")
    return (f"{short}计划", f"{full}计划", f"{short}时期", f"{short}期间", f"{short}规划")


def plan_period(n: int) -> tuple[int, int]:
    """The years the ``n``-th five-year plan covers (1963–1965 were years of adjustment between the
    second and the third).

    >>> plan_period(1), plan_period(2), plan_period(3), plan_period(11), plan_period(15)
    ((1953, 1957), (1958, 1962), (1966, 1970), (2006, 2010), (2026, 2030))
    """
    start = 1953 + 5 * (n - 1) if n <= 2 else 1966 + 5 * (n - 3)
    return start, start + 4


# a plan name inside longer text (``十三五国内生产总值``), not inside a number (``二十五``)
PLAN_IN_TEXT = re.compile(
    r"(?<![一二三四五六七八九十百千万零〇两\d])(?:第(?:十[一二三四五]|[一二三四五六七八九十])个五年(?:计划|规划)"
    r"|(?:十[一二三四五]|[一二三四五六七八九十])五(?:计划|规划|时期|期间)?)")


def plan_mentions(text: str) -> tuple[tuple[int, ...], str]:
    """The plans a folded text names, and the text with each name set apart by spaces (so the name is
    one unit of the query, not cut by jieba into ``十三`` + ``五``).

    >>> plan_mentions("十三五国内生产总值翻一番")
    ((13,), ' 十三五 国内生产总值翻一番')
    >>> plan_mentions("二十五个"), plan_mentions("十五个项目")
    (((), '二十五个'), ((), '十五个项目'))
    """
    found: list[int] = []

    def mark(m: re.Match[str]) -> str:
        n = plan_number(m.group(0))
        if n is None:
            return m.group(0)
        found.append(n)
        return f" {m.group(0)} "

    out = PLAN_IN_TEXT.sub(mark, text)
    return (tuple(dict.fromkeys(found)), out) if found else ((), text)


# --- rules: road numbers ------------------------------------------------------------------------

_ROAD = re.compile(r"^(?:([gs])(\d{3})|(\d{3})(国道|省道)|(国道|省道)(\d{3})线?)$")


def road_forms(term: str) -> tuple[str, ...]:
    """``g228`` / ``228国道`` / ``国道228(线)`` → all three forms; ``()`` for anything else."""
    m = _ROAD.match(term)
    if not m:
        return ()
    if m.group(1):
        kind, digits = ("国道" if m.group(1) == "g" else "省道"), m.group(2)
    elif m.group(3):
        kind, digits = m.group(4), m.group(3)
    else:
        kind, digits = m.group(5), m.group(6)
    letter = "g" if kind == "国道" else "s"
    return (f"{letter}{digits}", f"{digits}{kind}", f"{kind}{digits}")


# --- the table ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SynonymTable:
    """Groups of equivalent forms (folded), indexed by their keys; plus the plan and road rules."""

    groups: tuple[tuple[str, ...], ...] = ()
    _index: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)
    _keys: list[tuple[str, ...]] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, list[int]] = {}
        for gid, group in enumerate(self.groups):
            keys = tuple(_key(form) for form in group)
            self._keys.append(keys)
            for k in keys:
                ids = index.setdefault(k, [])
                if gid not in ids:
                    ids.append(gid)
        self._index.update({k: tuple(v) for k, v in index.items()})

    def __len__(self) -> int:
        return len(self.groups)

    @classmethod
    def parse(cls, lines: Iterable[str], source: str = "<lines>") -> SynonymTable:
        """A table from lines in the file format; bad lines warned about (``source:N: …``) and skipped."""
        return cls(tuple(_parse_lines(lines, source)))

    def expand(self, term: str) -> tuple[str, ...]:
        """The other forms to search along with ``term`` (folded; not ``term``; ≤ ``MAX_EXPANSIONS``)."""
        key = _key(term) if term else ""
        if not key:
            return ()
        out: dict[str, None] = {}
        seen = {key}
        for gid in self._index.get(key, ()):
            for form, k in zip(self.groups[gid], self._keys[gid]):
                if k not in seen:
                    seen.add(k)
                    out[form] = None
        n = plan_number(key)
        extra = plan_forms(n) if n else road_forms(key)
        for form in extra:
            if form not in seen:
                seen.add(form)
                out[form] = None
        return tuple(out)[:MAX_EXPANSIONS]


def _parse_lines(lines: Iterable[str], source: str) -> list[tuple[str, ...]]:
    groups: list[tuple[str, ...]] = []
    for lineno, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        problem = ""
        forms: list[str] = []
        if "=" not in line and "＝" not in line:
            problem = "no '=' between forms"
        else:
            parts = [p.strip() for p in re.split(r"[=＝]", line)]
            if any(not p for p in parts):
                problem = "an empty form (two '=' in a row, or one at an end)"
            elif any(len(p) > MAX_FORM_CHARS for p in parts):
                problem = f"a form longer than {MAX_FORM_CHARS} characters"
            elif len(parts) > MAX_GROUP_FORMS:
                problem = f"more than {MAX_GROUP_FORMS} forms"
            else:
                for p in parts:
                    folded = " ".join(fold(p).split())
                    if _key(folded) and all(_key(folded) != _key(f) for f in forms):
                        forms.append(folded)
                if len(forms) < 2:
                    problem = "fewer than two different forms"
        if problem:
            warnings.warn(f"{source}:{lineno}: skipped ({problem}): {raw.strip()[:100]}",
                          SynonymFileWarning, stacklevel=3)
            continue
        groups.append(tuple(forms))
    return groups


def synonym_file_paths() -> list[Path]:
    """The shipped table, then any file named by ``KB_SYNONYMS`` (``os.pathsep``-separated)."""
    paths = [_shipped()]
    extra = os.environ.get("KB_SYNONYMS", "")
    paths += [Path(p) for p in extra.split(os.pathsep) if p]
    return paths


@lru_cache(maxsize=1)
def _shipped() -> Path:
    """The shipped table's path, found once (``importlib.resources`` took ~80 µs a query word)."""
    return Path(str(resources.files("kb") / "data" / "synonyms.txt"))


def _stamp(path: Path) -> tuple[str, int, int]:
    try:
        st = path.stat()
    except OSError:
        return (str(path), -1, -1)
    return (str(path), st.st_mtime_ns, st.st_size)


_load_lock = threading.Lock()


def load_synonyms() -> SynonymTable:
    """The table from :func:`synonym_file_paths`, cached until one of the files changes."""
    stamps = tuple(_stamp(p) for p in synonym_file_paths())
    with _load_lock:  # one thread reads (and warns); the others get the cached table
        return _load(stamps)


@lru_cache(maxsize=4)
def _load(stamps: tuple[tuple[str, int, int], ...]) -> SynonymTable:
    groups: list[tuple[str, ...]] = []
    for name, mtime, _size in stamps:
        if mtime < 0:
            warnings.warn(f"{name}: synonym file not found (skipped)", SynonymFileWarning, stacklevel=3)
            continue
        try:
            text = Path(name).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            warnings.warn(f"{name}: synonym file not read (skipped): {exc}", SynonymFileWarning,
                          stacklevel=3)
            continue
        groups.extend(_parse_lines(text.splitlines(), name))
    return SynonymTable(tuple(groups))
