"""A query file → search-quality figures: hit@1, hit@3 and MRR over the first page of results.

The file has one ``query<TAB>expected`` line per query; ``expected`` holds ``|``-separated
substrings, any of which marks a passage as the one wanted. Lines starting with ``#`` are comments.

>>> parse_eval_lines(["# c", "铁路投资\\t8.38亿元|8.38亿", ""])
[EvalCase(query='铁路投资', expected=('8.38亿元', '8.38亿'), line=2)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kb.text.analysis import fold
from kb.errors import KbError
from kb.models import SearchResult

DEPTH = 10


@dataclass(frozen=True, slots=True)
class EvalCase:
    query: str
    expected: tuple[str, ...]
    line: int


@dataclass
class EvalReport:
    n: int = 0
    hit1: float = 0.0
    hit3: float = 0.0
    mrr: float = 0.0
    misses: list[dict] = field(default_factory=list)  # rank > 1: query, rank (None = not found), top hit

    def summary(self) -> str:
        return f"hit@1 {self.hit1:.2f} hit@3 {self.hit3:.2f} mrr {self.mrr:.2f} n {self.n}"

    def to_json(self) -> dict:
        return {"hit@1": round(self.hit1, 4), "hit@3": round(self.hit3, 4), "mrr": round(self.mrr, 4),
                "n": self.n, "misses": self.misses}


def parse_eval_lines(lines: Iterable[str]) -> list[EvalCase]:
    cases = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\n").rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        query, sep, expected = line.partition("\t")
        if not sep or not query.strip() or not expected.strip():
            raise KbError(f"line {number}: expected 'query<TAB>expected', got {line!r}")
        cases.append(EvalCase(query.strip(), tuple(e for e in expected.strip().split("|") if e), number))
    return cases


def evaluate(path: Path, search: Callable[[str], SearchResult]) -> EvalReport:
    """Run every case through ``search`` and score the rank of the first wanted passage."""
    try:
        cases = parse_eval_lines(Path(path).read_text(encoding="utf-8").splitlines())
    except OSError as exc:
        raise KbError(f"cannot read {path}: {exc.strerror or exc}") from exc
    report = EvalReport(n=len(cases))
    if not cases:
        return report
    h1 = h3 = rr = 0.0
    for case in cases:
        result = search(case.query)
        wanted = [fold(e) for e in case.expected]
        rank = next((i for i, hit in enumerate(result.hits[:DEPTH], start=1)
                     if any(w in fold(hit.text) for w in wanted)), None)
        if rank == 1:
            h1 += 1
        if rank is not None and rank <= 3:
            h3 += 1
        if rank is not None:
            rr += 1 / rank
        if rank != 1:
            top = result.hits[0].text[:60] if result.hits else ""
            report.misses.append({"line": case.line, "query": case.query, "expected": "|".join(case.expected),
                                  "rank": rank, "top": top})
    report.hit1, report.hit3, report.mrr = h1 / len(cases), h3 / len(cases), rr / len(cases)
    return report
