"""Candidate lines for ``kb/data/synonyms.txt``, mined from the corpora: review them, never paste blind.

Three ways documents define their own abbreviations:

- an abbreviation followed by what it stands for, in brackets: ``“放管服”（简政放权、放管结合、优化服务）``
  or ``三去一降一补（去产能、去库存、去杠杆、降成本、补短板）``. Kept when the bracket lists at least
  two items and every character of the abbreviation (numerals aside) occurs in the items, in order
  (``放管服`` → 简政**放**权、放**管**结合、优化**服**务); an abbreviation with one such character
  (``五险``, ``两癌``) must also count its items with its numerals;
- a glossary line or an aside, ``[12]放管服：指简政放权、放管结合、优化服务。`` or ``“五清”即清垃圾、…``,
  with the same check on the listed items (a definition that is not a list is skipped);
- a full name followed by ``（以下简称“X”）``, ``（简称X）``…: kept when the characters of ``X`` occur in
  order in the words before the bracket; the full name is taken from the first character of ``X``
  (``长江三角洲区域一体化发展（以下简称长三角一体化）``). Names not built from their own characters
  (``GDP``) are left to hand-written lines.

Usage::

    .venv/bin/python scripts/seed_synonyms.py [--min-count 2] [--examples] [DIR ...]

With no DIR: ``../shared/corpora/lawtext-gov``, ``../shared/corpora/reports`` and ``corpus/``. Prints
``COUNT<TAB>KIND<TAB>X = FULL`` lines, most frequent first (``--examples``: one file each), on stdout.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "corpora"
DEFAULT_DIRS = [SHARED / "lawtext-gov", SHARED / "reports", REPO / "corpus"]
SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")

CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
NUMERALS = set("一二三四五六七八九十两双百千万多几")
# abbreviation + bracketed list: “X”（a、b、c） or X（a、b、c） (X's start is found below)
_LISTED = re.compile(rf"(“[{CJK}0-9]{{2,8}}”|[{CJK}0-9]{{2,12}})[（(]([{CJK}0-9、，“”]{{5,80}})[）)]")
# full name + （以下简称“X”） / （简称X） / （下称“X”）
_NAMED = re.compile(rf"([{CJK}0-9（）()·]{{3,40}})[（(](?:以下|下文)?(?:简称|称|下称)[为：:]?"
                    rf"[“\"]?([{CJK}A-Za-z0-9]{{2,12}})[”\"]?[）)]")
# glossary: [12]X：指a、b、c。  /  “X”，即a、b、c。
_GLOSSED = re.compile(rf"(?:^|[\]\s。；])(?:\d+[.、．]\s*)?“?([{CJK}0-9]{{2,8}})”?[：:]\s*(?:是)?指"
                      rf"([^。；\n]{{4,90}})[。；\n]"
                      rf"|“([{CJK}0-9]{{2,8}})”，?即([^。；\n]{{4,90}})[。；，\n]", re.M)
_TAIL = re.compile(r"(?:等|共)?[一二三四五六七八九十两0-9]*(?:个|项|大|类|种)?(?:方面|行动|工程|工作|措施|领域)?$")


def _in_order(short: str, long: str) -> bool:
    """Every character of ``short`` occurs in ``long``, in the same order."""
    pos = 0
    for ch in short:
        pos = long.find(ch, pos)
        if pos < 0:
            return False
        pos += 1
    return True


_VALUE = {"一": 1, "二": 2, "两": 2, "双": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def _counted(abbr: str) -> int:
    """The items an abbreviation's numerals count: 三品一标 → 4, 五险 → 5 (0 when it has none)."""
    return sum(_VALUE.get(ch, 0) for ch in abbr)


def _letters(abbr: str) -> str:
    """The characters of an abbreviation that must come from its expansion (numerals are counts)."""
    return "".join(ch for ch in abbr if ch not in NUMERALS and not ch.isdigit())


def spelled_items(abbr: str, body: str) -> list[str] | None:
    """The items of ``body`` (``a、b和c``) when they spell out ``abbr``; ``None`` when they do not."""
    if "，" in body or "：" in body:
        return None
    items = [i.strip("“”") for i in body.split("、")]
    last = re.split(r"[和及与]", items[-1], maxsplit=1)  # the last item may be "x和y" / "x及y"
    if len(last) == 2 and all(2 <= len(x) <= 14 for x in last):
        items[-1:] = [last[0], last[1]]
    items[-1] = _TAIL.sub("", items[-1]) or items[-1]
    items = [i for i in items if i]
    if len(items) < 2 or any(len(i) < 2 or len(i) > 14 for i in items):
        return None
    joined = "".join(items)
    letters = _letters(abbr)
    if not letters or abbr in joined or not (abbr[0] in NUMERALS or abbr[0] in joined):
        return None
    if not _in_order(letters, joined):
        return None
    # one letter (五险, 两癌) is weak evidence: then the numerals must count the items (三去一降一补: 5)
    if len(letters) < 2 and _counted(abbr) != len(items):
        return None
    return items


def glossed_candidates(text: str) -> list[tuple[str, str]]:
    """``(abbreviation, 'a、b、c')`` for each ``X：指a、b、c。`` / ``“X”即a、b、c`` that spells out X."""
    out = []
    for m in _GLOSSED.finditer(text):
        abbr, body = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        items = spelled_items(abbr, body)
        if items:
            out.append((abbr, "、".join(items)))
    return out


def listed_candidates(text: str) -> list[tuple[str, str]]:
    """``(abbreviation, 'a、b、c')`` for each ``X（a、b、c）`` whose items spell out X."""
    out = []
    for m in _LISTED.finditer(text):
        head, body = m.group(1), m.group(2).replace("，", "、")
        if head.startswith("“"):
            options = [head.strip("“”")]
        else:  # unquoted: the longest tail of the run (up to 8 characters) the items spell out
            options = [head[i:] for i in range(max(0, len(head) - 8), len(head) - 1)]
        for abbr in options:
            items = spelled_items(abbr, body)
            if items:
                out.append((abbr, "、".join(items)))
                break
    return out


def named_candidates(text: str) -> list[tuple[str, str]]:
    """``(abbreviation, full name)`` for each ``FULL（以下简称“X”）`` whose full name spells out X."""
    out = []
    for m in _NAMED.finditer(text):
        before, abbr = m.group(1), m.group(2)
        if not re.search(rf"[{CJK}]", abbr) or not _in_order(abbr, before):
            continue
        # the shortest tail of ``before`` that starts with X's first character and still spells X
        start = before.rfind(abbr[0])
        while start >= 0 and not _in_order(abbr, before[start:]):
            start = before.rfind(abbr[0], 0, start)
        if start < 0:
            continue
        full = before[start:]
        if full != abbr and len(full) > len(abbr):
            out.append((abbr, full))
    return out


def files(dirs: list[Path]):
    for root in dirs:
        if root.is_file():
            yield root
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix.lower() in SUFFIXES:
                yield path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", nargs="*", type=Path)
    parser.add_argument("--min-count", type=int, default=2)
    parser.add_argument("--examples", action="store_true", help="name one file holding each candidate")
    args = parser.parse_args(argv)
    dirs = args.dirs or [d for d in DEFAULT_DIRS if d.exists()]
    counts: Counter[tuple[str, str, str]] = Counter()
    example: dict[tuple[str, str, str], Path] = {}
    per_abbr: defaultdict[str, set[str]] = defaultdict(set)
    n = 0
    for path in files(dirs):
        try:
            text = unicodedata.normalize("NFKC", path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            print(f"skipped {path}: {exc}", file=sys.stderr)
            continue
        n += 1
        # NFKC turns （ into (: put the Chinese brackets back for the patterns and the output
        text = text.replace("(", "（").replace(")", "）").replace(",", "，")
        for kind, found in (("listed", listed_candidates(text)), ("glossed", glossed_candidates(text)),
                            ("named", named_candidates(text))):
            for abbr, full in found:
                key = (kind, abbr, full)
                counts[key] += 1
                example.setdefault(key, path)
                per_abbr[abbr].add(full)
    print(f"# {n} files read from {', '.join(str(d) for d in dirs)}", file=sys.stderr)
    for (kind, abbr, full), count in counts.most_common():
        if count < args.min_count:
            continue
        line = f"{count}\t{kind}\t{abbr} = {full}"
        if len(per_abbr[abbr]) > 1:
            line += f"\t({len(per_abbr[abbr])} expansions seen)"
        if args.examples:
            line += f"\t{example[(kind, abbr, full)]}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
