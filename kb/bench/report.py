"""Results and their report: one phase's figures, one system's, the table with kb's ratios to each
baseline, and its text, JSON and Markdown forms.

>>> percentile([1.0, 2.0, 3.0, 4.0], 50)
2.5
>>> _width("交通ab"), _pad("交通", 6, left=True)
(6, '交通  ')
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from kb.bench.common import SYSTEMS, TOP_K
from kb.bench.formats import FormatSpeed

# --- results -----------------------------------------------------------------------------------

@dataclass
class PhaseResult:
    """One child-process phase: what it reported, its wall time and its peak memory."""

    info: dict
    wall_s: float
    main_hwm_mb: float  # kernel high-water mark of the phase process
    children_hwm_mb: float  # largest high-water mark among its waited-for workers
    tree_peak_mb: float  # sampled peak of the summed PSS of the process and all its descendants

    @property
    def peak_mb(self) -> float:
        return max(self.main_hwm_mb, self.tree_peak_mb)


@dataclass
class SystemResult:
    """Every figure for one system; zero means not measured."""

    name: str
    status: str = "ok"  # or "FAILED at <phase>" (the notes hold the error)
    documents: int = 0
    passages: int = 0
    build_s: float = 0.0
    build_cpu_s: float = 0.0  # user + system time of the build process and its workers
    build_mb_s: float = 0.0
    index_mb: float = 0.0
    incremental_s: float = 0.0
    incremental_pct: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    mean_ms: float = 0.0
    cold_start_s: float = 0.0
    cold_runs_s: list[float] = field(default_factory=list)
    peak_build_mb: float = 0.0
    peak_query_mb: float = 0.0
    queries: int = 0
    queries_with_hits: int = 0
    query_errors: int = 0
    p95_common_ms: float = 0.0  # p95 over the queries every measured system answers with hits
    p95_cpu_ms: float = 0.0  # p95 of per-query CPU time: less sensitive to other load on the machine
    slowest: list[tuple[str, float]] = field(default_factory=list)
    query_ms: dict[str, list[float]] = field(default_factory=dict)  # per query, one figure per timed pass
    query_hits: dict[str, int] = field(default_factory=dict)
    memory: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    """A table row: the ``SystemResult`` attribute, its label, format and which direction is better."""

    key: str
    label: str
    fmt: str
    better: str  # "lower", "higher" or "" (no ratio)


ROWS = (
    Row("build_s", "full build s", "{:.1f}", "lower"),
    Row("build_cpu_s", "full build CPU s", "{:.1f}", "lower"),
    Row("build_mb_s", "build MB/s (input)", "{:.2f}", "higher"),
    Row("index_mb", "index size MB", "{:.1f}", "lower"),
    Row("incremental_s", "incremental (1 file) s", "{:.2f}", "lower"),
    Row("incremental_pct", "incremental % of full", "{:.1f}%", ""),
    Row("p50_ms", "query p50 ms", "{:.2f}", "lower"),
    Row("p95_ms", "query p95 ms", "{:.2f}", "lower"),
    Row("p99_ms", "query p99 ms", "{:.2f}", "lower"),
    Row("p95_common_ms", "p95 ms, queries all answer", "{:.2f}", "lower"),
    Row("p95_cpu_ms", "query p95 CPU ms", "{:.2f}", "lower"),
    Row("cold_start_s", "cold start s", "{:.2f}", "lower"),
    Row("peak_build_mb", "peak mem build MB", "{:.0f}", "lower"),
    Row("peak_query_mb", "peak mem query MB", "{:.0f}", "lower"),
)


@dataclass
class BenchReport:
    """A whole run: per-system results plus what was measured, where and how."""

    systems: dict[str, SystemResult]
    machine: dict
    corpus: dict
    queries: dict
    config: dict
    notes: list[str] = field(default_factory=list)
    json_path: str = ""
    md_path: str = ""
    formats: list[FormatSpeed] = field(default_factory=list)  # kb's ingestion speed per file format

    def formats_table(self) -> str:
        """Ingestion (load + chunk) speed per format, as the CLI prints it under the main table."""
        if not self.formats:
            return ""
        rows = [["format", "files", "MB", "pages", "seconds", "MB/s", "pages/s"]]
        for f in self.formats:
            rows.append([f.format, str(f.files), f"{f.mb:.2f}", str(f.pages or ""), f"{f.seconds:.2f}",
                         f"{f.mb_per_s:.2f}", f"{f.pages_per_s:.1f}" if f.pages else ""])
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                 for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "ingestion by format (load_document + chunk, one process)\n" + "\n".join(lines)

    @property
    def failed(self) -> list[str]:
        """Systems with a phase that could not be measured."""
        return [name for name, res in self.systems.items() if res.status != "ok"]

    def ratio(self, key: str, other: str) -> float | None:
        """How many times better kb is than ``other`` on ``key`` (>1: kb is better), or ``None``."""
        row = next(r for r in ROWS if r.key == key)
        if not row.better or other not in self.systems or "kb" not in self.systems:
            return None
        mine, theirs = getattr(self.systems["kb"], key), getattr(self.systems[other], key)
        if mine <= 0 or theirs <= 0:
            return None
        return theirs / mine if row.better == "lower" else mine / theirs

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        others = [s for s in SYSTEMS if s != "kb" and s in self.systems]
        header = ["metric"] + [s for s in SYSTEMS if s in self.systems] + [f"kb vs {o}" for o in others]
        rows = []
        for row in ROWS:
            cells = [row.label]
            for name in header[1:1 + len(self.systems)]:
                value = getattr(self.systems[name], row.key)
                cells.append(row.fmt.format(value) if value else "n/a")
            for other in others:
                r = self.ratio(row.key, other)
                cells.append(f"{r:.2f}x" if r is not None else "")
            rows.append(cells)
        hits = ["queries with hits"] + [f"{s.queries_with_hits}/{s.queries}" for s in self.systems.values()]
        rows.append(hits + [""] * len(others))
        rows.append(["status"] + [s.status for s in self.systems.values()] + [""] * len(others))
        return header, rows

    def table(self) -> str:
        """The plain-text table the CLI prints."""
        header, rows = self._cells()
        widths = [max(_width(r[i]) for r in [header] + rows) for i in range(len(header))]
        lines = ["  ".join(_pad(c, w, left=i == 0) for i, (c, w) in enumerate(zip(r, widths)))
                 for r in [header] + rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines) + "\n" + RATIO_LEGEND

    def markdown_table(self) -> str:
        header, rows = self._cells()
        out = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out)

    def to_json(self) -> dict:
        ratios = {o: {r.key: self.ratio(r.key, o) for r in ROWS if r.better}
                  for o in self.systems if o != "kb"}
        return {"machine": self.machine, "config": self.config, "corpus": self.corpus, "queries": self.queries,
                "systems": {k: asdict(v) for k, v in self.systems.items()}, "ratios_kb_better_by": ratios,
                "ingest_by_format": [dict(asdict(f), mb_per_s=f.mb_per_s, pages_per_s=f.pages_per_s)
                                     for f in self.formats],
                "notes": self.notes}

    def to_markdown(self) -> str:
        m, c, q = self.machine, self.corpus, self.queries
        parts = [
            f"# kb bench — {m['date']}",
            "",
            f"Machine: {m['cpu_model']}, {m['cpus']} CPUs, {m['mem_gb']} GB RAM; Python {m['python']}; "
            f"SQLite {m['sqlite']}; kb {m['kb_commit']}; load average at start {m.get('loadavg_start')}, "
            f"at end {m.get('loadavg_end')} (other work on the machine skews timings).",
            f"Corpus: {', '.join(c['roots'])} — {c['files']} files, {c['mb']:.1f} MB"
            + (f" (sample of {c['sample']})" if c.get("sample") else "") + f"; changed file: `{c['changed_file']}`.",
            f"Queries: {q['count']} ({', '.join(f'{k}: {v}' for k, v in q['sources'].items())}); "
            f"sha1 {q['sha1']}; {self.config['repeat']} timed pass(es) after one warm-up pass; top {TOP_K} with "
            f"snippets; {q.get('answered_by_all', 0)} queries get hits from every system.",
            "",
            self.markdown_table(),
            "",
            RATIO_LEGEND,
            "",
            "## Notes",
            "",
        ]
        parts += [f"- {n}" for n in self.notes]
        for s in self.systems.values():
            parts += [f"- **{s.name}**: {n}" for n in s.notes]
        if self.formats:
            parts += ["", "## Ingestion by format", "", "```", self.formats_table(), "```"]
        parts += ["", "## Slowest queries", ""]
        for s in self.systems.values():
            slow = ", ".join(f"`{qq}` {ms:.0f} ms" for qq, ms in s.slowest[:8])
            parts.append(f"- **{s.name}**: {slow}")
        parts += ["", "## Memory detail (MB)", "",
                  "| system | phase | process HWM | largest worker HWM | process tree PSS peak |",
                  "|---|---|---:|---:|---:|"]
        for s in self.systems.values():
            for phase, d in s.memory.items():
                parts.append(f"| {s.name} | {phase} | {d['main_hwm_mb']:.0f} | {d['children_hwm_mb']:.0f} | "
                             f"{d['tree_peak_mb']:.0f} |")
        return "\n".join(parts) + "\n"


RATIO_LEGEND = ("kb vs X = how many times better kb is (X/kb for times, sizes, memory; kb/X for MB/s): "
                ">1 means kb wins.")


def _width(s: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)


def _pad(s: str, width: int, left: bool) -> str:
    fill = " " * (width - _width(s))
    return s + fill if left else fill + s


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile with linear interpolation (numpy's default method)."""
    s = sorted(values)
    if not s:
        return 0.0
    k = (len(s) - 1) * q / 100
    lo = math.floor(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)
