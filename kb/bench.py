"""``kb bench``: build, incremental rebuild, query latency, cold start and memory for kb and two baselines.

One run measures three systems on the same corpus copy and the same query set:

- **kb**: :func:`kb.indexer.build_index` and :meth:`kb.search.KnowledgeBase.search` (whatever they
  currently are: only the public functions are called);
- **naive**: jieba's stock ``jieba.analyse.ChineseAnalyzer`` in a plain Whoosh schema (``id`` +
  stored ``content``), one index document per non-empty line, Whoosh's default ``QueryParser`` and
  default highlighter;
- **fts5**: SQLite FTS5 with the ``trigram`` tokenizer over kb's own passages
  (:func:`kb.loaders.load_document` + :func:`kb.chunker.chunk`), ``snippet()`` for highlighting.

Every build and query phase runs in a child process (``python -m kb.bench _phase SPEC OUT``) so its
peak memory is its own and the parent stays small; cold start runs the real command line.
The result is a :class:`BenchReport`: a text table (ratios are the headline), JSON and Markdown.

>>> percentile([1.0, 2.0, 3.0, 4.0], 50)
2.5
>>> [(c.alts, c.negated) for c in parse_simple_query('交通 "重点工程" -太龙 公交 OR 出租车')]
[(['交通'], False), (['重点工程'], False), (['太龙'], True), (['公交', '出租车'], False)]
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import os
import platform
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from kb.errors import KbError

REPO = Path(__file__).resolve().parent.parent
SYSTEMS = ("kb", "naive", "fts5")
QUICK_SAMPLE = 100  # lawtext-gov files in --quick: keeps `make bench` to a couple of minutes
COLD_QUERY = "高质量发展"
TOP_K = 10  # one result page, as the UI shows it
FTS5_MIN_SQLITE = (3, 34, 0)  # the trigram tokenizer
EDIT_TEXT = "\n\n基准测试追加段落：这一段由 kb bench 追加，用于测量只改动一个文件时的增量构建。\n"

Log = Callable[[str], None]
Searcher = Callable[[str], list[tuple[str, str]]]  # query → [(id, snippet html)]


class BenchError(KbError):
    """A benchmark phase failed (the message carries the tail of the child's stderr)."""


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


@dataclass
class FormatSpeed:
    """How fast kb reads one file format: files, their size and pages, and the seconds it took."""

    format: str
    files: int = 0
    mb: float = 0.0
    pages: int = 0
    seconds: float = 0.0
    failed: int = 0

    @property
    def mb_per_s(self) -> float:
        return self.mb / self.seconds if self.seconds else 0.0

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


FORMAT_SAMPLE = 8  # text documents turned into .docx (and, with LibreOffice, .pdf and .doc) per run


def format_samples(texts: list[Path], out: Path, log: Log | None = None) -> list[Path]:
    """The same documents in the office formats: .docx written with python-docx (title styled, one
    paragraph a line), then .pdf and .doc printed from it by LibreOffice when it is installed."""
    import docx

    from kb.loaders import load_document
    from kb.readers import legacy

    say = log or (lambda _msg: None)
    out.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    for k, path in enumerate(texts[:FORMAT_SAMPLE]):
        try:
            doc = load_document(path, path.parent)
        except KbError:
            continue
        d = docx.Document()
        d.add_paragraph(doc.title, style="Title")
        for line in doc.body.split("\n"):
            if line.strip():
                d.add_paragraph(line.lstrip("#").strip())
        target = out / f"sample-{k}.docx"
        d.save(str(target))
        made.append(target)
    binary = legacy.soffice()
    if binary is None:
        say("LibreOffice not installed: no .pdf/.doc samples (apt-get install libreoffice-writer-nogui)")
        return made
    for fmt in ("pdf", "doc"):
        profile = out / f".profile-{fmt}"
        try:
            subprocess.run([binary, "--headless", "--norestore", f"-env:UserInstallation={profile.resolve().as_uri()}",
                            "--convert-to", fmt, "--outdir", str(out)] + [str(p) for p in made if p.suffix == ".docx"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=300, check=False)
        except (subprocess.TimeoutExpired, OSError) as exc:
            say(f"LibreOffice could not make .{fmt} samples: {exc}")
        shutil.rmtree(profile, ignore_errors=True)
        made += sorted(out.glob(f"sample-*.{fmt}"))
    return made


def ingest_by_format(files: list[Path]) -> list[FormatSpeed]:
    """Time :func:`kb.loaders.load_document` + :func:`kb.chunker.chunk` on each file, grouped by suffix.

    .doc/.wps/.rtf are timed as a build reads them: one LibreOffice batch conversion (its time
    shared among them) and the read of each converted file.
    """
    from kb.chunker import chunk
    from kb.loaders import load_document
    from kb.readers import legacy

    speeds: dict[str, FormatSpeed] = {}
    olds = [f for f in files if f.suffix.lower() in legacy.SUFFIXES]
    converted: dict[Path, Path] = {}
    convert_s = 0.0
    tmp = Path(tempfile.mkdtemp(prefix="kb-bench-convert-"))
    try:
        if olds and legacy.soffice():
            t0 = time.perf_counter()
            converted = legacy.convert_batch(olds, tmp)
            convert_s = time.perf_counter() - t0
        for path in files:
            fmt = path.suffix.lower().lstrip(".") or "(none)"
            row = speeds.setdefault(fmt, FormatSpeed(fmt))
            t0 = time.perf_counter()
            try:
                chunk(load_document(path, path.parent, converted=converted.get(path)))
            except KbError:
                row.failed += 1
                continue
            row.seconds += time.perf_counter() - t0
            if path in converted:
                row.seconds += convert_s / len(converted)
            row.files += 1
            row.mb += path.stat().st_size / 2**20
            row.pages += _pages(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return sorted(speeds.values(), key=lambda f: f.format)


def _pages(path: Path) -> int:
    """Pages of a PDF or OFD file (0 for the formats without pages)."""
    import pypdfium2 as pdfium

    from kb.errors import LoadError

    try:
        if path.suffix.lower() == ".pdf":
            pdf = pdfium.PdfDocument(str(path))
            try:
                return len(pdf)
            finally:
                pdf.close()
        if path.suffix.lower() == ".ofd":
            from kb.readers.ofd import read_ofd

            return read_ofd(path).pages
    except (LoadError, OSError, pdfium.PdfiumError):
        return 0
    return 0


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


# --- inputs: corpus and queries ----------------------------------------------------------------

def _first_existing(*candidates: Path) -> Path | None:
    return next((p for p in candidates if p.is_dir()), None)


def default_corpus(quick: bool) -> tuple[list[Path], int | None]:
    """(corpus roots, sample size): lawtext-gov (sampled in quick mode), else reports + gbk, else corpus/."""
    shared = _first_existing(Path("../shared/corpora"), REPO.parent / "shared" / "corpora")
    lawtext = _first_existing(shared / "lawtext-gov") if shared else None
    if lawtext:
        return [lawtext], (QUICK_SAMPLE if quick else None)
    if shared and quick and (shared / "reports").is_dir():
        return [d for d in (shared / "reports", shared / "gbk") if d.is_dir()], None
    return [_first_existing(Path("corpus"), REPO / "corpus") or Path("corpus")], None


def read_query_file(path: Path) -> list[str]:
    """Queries of a file: one a line, ``#`` comments skipped; for ``.tsv`` the first column."""
    out = []
    for raw in Path(path).read_text(encoding="utf-8-sig").splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        q = raw.split("\t", 1)[0].strip() if path.suffix == ".tsv" or "\t" in raw else raw.strip()
        if q:
            out.append(q)
    return out


def default_query_files() -> list[Path]:
    """The seed eval file, every ``tests/*.tsv`` eval file, then the committed list."""
    files = []
    for candidate in (Path("../shared/eval/seed-queries.tsv"), REPO.parent / "shared" / "eval" / "seed-queries.tsv"):
        if candidate.is_file():
            files.append(candidate)
            break
    files += sorted((REPO / "tests").glob("*.tsv"))
    files.append(Path(str(resources.files("kb") / "data" / "bench_queries.txt")))
    return files


def load_queries(files: list[Path]) -> tuple[list[str], dict]:
    """Unique queries in file order, and where they came from (count per file, sha1 of the list)."""
    seen: dict[str, None] = {}
    sources: dict[str, int] = {}
    for path in files:
        before = len(seen)
        for q in read_query_file(path):
            seen.setdefault(q, None)
        sources[path.name] = len(seen) - before
    queries = list(seen)
    digest = hashlib.sha1("\n".join(queries).encode()).hexdigest()[:12]
    return queries, {"count": len(queries), "sources": sources, "sha1": digest}


def copy_corpus(roots: list[Path], dest: Path, sample: int | None) -> tuple[list[Path], list[Path]]:
    """Copy the corpus files (or an evenly spread sample of them) under ``dest``: (new roots, files)."""
    from kb.indexer import iter_corpus

    found = list(iter_corpus([Path(r) for r in roots]))
    if sample and sample < len(found):
        stride = len(found) / sample
        found = [found[int(i * stride)] for i in range(sample)]
    new_roots = [dest / f"{i}-{Path(r).resolve().name}" for i, r in enumerate(roots)]
    index_of = {Path(r): i for i, r in enumerate(roots)}
    files = []
    for path, root in found:
        target = new_roots[index_of[root]] / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)  # not copy2: the shared corpus is read-only and we edit one file
        files.append(target)
    for r in new_roots:
        r.mkdir(parents=True, exist_ok=True)
    return new_roots, files


def change_one_file(files: list[Path]) -> Path:
    """Append a paragraph to the median-sized UTF-8 file (any file if none is UTF-8); return it."""
    def utf8(p: Path) -> bool:
        try:
            p.read_bytes().decode("utf-8")
            return True
        except UnicodeDecodeError:
            return False

    pool = sorted((p for p in files if utf8(p)), key=lambda p: (p.stat().st_size, str(p)))
    if pool:
        target = pool[len(pool) // 2]
        data = EDIT_TEXT.encode("utf-8")
    else:
        target = sorted(files, key=lambda p: (p.stat().st_size, str(p)))[len(files) // 2]
        data = b"\n\nkb bench: appended to measure an incremental build.\n"
    with open(target, "ab") as fh:
        fh.write(data)
    return target


def dir_size_mb(path: Path) -> float:
    """Bytes of every file under ``path`` (hard links counted once), in MB."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for p in Path(path).rglob("*"):
        if p.is_file():
            st = p.stat()
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total / 2**20


# --- memory sampling ---------------------------------------------------------------------------

def _descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (via /proc/<pid>/task/*/children)."""
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                kids = Path(f"/proc/{p}/task/{t}/children").read_text().split()
            except OSError:
                continue
            for k in kids:
                out.append(int(k))
                stack.append(int(k))
    return out


def _pss_kb(pid: int) -> int:
    """Proportional set size of one process (shared pages split between sharers), else its RSS."""
    for name, key in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
        try:
            for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
                if line.startswith(key):
                    return int(line.split()[1])
        except (OSError, ValueError):
            continue
    return 0


class TreeSampler:
    """Samples the summed PSS of a process and its descendants in a thread; ``peak_mb`` after stop."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = sum(_pss_kb(p) for p in [self.pid] + _descendants(self.pid))
            self.peak_kb = max(self.peak_kb, total)
            self._stop.wait(self.interval)

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024


# --- child phases ------------------------------------------------------------------------------

def run_phase(spec: dict, work: Path) -> PhaseResult:
    """Run one phase in a fresh ``python -m kb.bench _phase`` process; raise ``BenchError`` if it fails."""
    tag = f"{spec['phase']}-{spec['system']}-{time.monotonic_ns()}"
    spec_path, out_path, err_path = (work / f"{tag}.{ext}" for ext in ("spec.json", "out.json", "stderr"))
    spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    started = time.perf_counter()
    with open(err_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "kb.bench", "_phase", str(spec_path), str(out_path)],
                                stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        with TreeSampler(proc.pid) as sampler:
            rc = proc.wait()
    wall = time.perf_counter() - started
    if rc != 0 or not out_path.is_file():
        tail = err_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise BenchError(f"bench phase {spec['phase']} of {spec['system']} failed (exit {rc}):\n{tail}")
    info = json.loads(out_path.read_text(encoding="utf-8"))
    return PhaseResult(info=info, wall_s=wall, main_hwm_mb=info.pop("_hwm_mb"),
                       children_hwm_mb=info.pop("_children_hwm_mb"), tree_peak_mb=sampler.peak_mb)


def _cpu_s() -> float:
    """User + system seconds of this process and of its children that have been waited for."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _phase_main(spec_path: str, out_path: str) -> None:
    """Child entry point: do one phase, write its figures and own memory high-water marks as JSON."""
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    cpu_before = _cpu_s()
    if spec["phase"] == "build":
        roots, index = [Path(r) for r in spec["roots"]], Path(spec["index"])
        if spec["system"] == "kb":
            info = build_kb(roots, index, spec["full"], workers=spec.get("workers"))
        else:
            info = BUILDERS[spec["system"]](roots, index, spec["full"])
    elif spec["phase"] == "query":
        info = query_phase(spec["system"], Path(spec["index"]), spec["queries"], spec["repeat"])
    else:
        raise SystemExit(f"unknown phase {spec['phase']}")
    info["cpu_s"] = _cpu_s() - cpu_before
    info["_hwm_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    info["_children_hwm_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    Path(out_path).write_text(json.dumps(info, ensure_ascii=False), encoding="utf-8")


# --- kb --------------------------------------------------------------------------------------

def build_kb(roots: list[Path], index: Path, full: bool, workers: int | None = None) -> dict:
    """kb's own build, through the public function (``workers=None``: kb's default)."""
    from kb.indexer import build_index

    started = time.perf_counter()
    report = build_index(roots, index, full=full, workers=workers)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "documents": report.documents, "passages": report.passages,
            "errors": len(report.errors), "indexed": report.added + report.changed}


def open_kb(index: Path) -> Searcher:
    """kb's search, one ``KnowledgeBase`` reused: hits with ``snippet_html`` computed."""
    from kb.search import KnowledgeBase

    kb = KnowledgeBase(index)

    def run(q: str) -> list[tuple[str, str]]:
        return [(h.passage_id, h.snippet_html) for h in kb.search(q, page=1).hits]

    return run


# --- naive: jieba ChineseAnalyzer + plain Whoosh ---------------------------------------------

def _import_jieba():
    """``jieba`` and its stock analyzer, with its import-time warnings and log lines silenced."""
    import logging
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jieba
        from jieba.analyse import ChineseAnalyzer
    jieba.setLogLevel(60)
    logging.getLogger("jieba").setLevel(60)
    return jieba, ChineseAnalyzer


def _scan(roots: list[Path], old: dict) -> tuple[dict, list[tuple[str, Path, Path]], list[str]]:
    """(file key → [size, mtime_ns], new or changed files, keys gone or changed) against ``old``."""
    from kb.indexer import iter_corpus

    files: dict[str, list[int]] = {}
    todo = []
    for path, root in iter_corpus(roots):
        key = f"{roots.index(root)}:{path.relative_to(root).as_posix()}"
        st = path.stat()
        files[key] = [st.st_size, st.st_mtime_ns]
        if old.get(key) != files[key]:
            todo.append((key, path, root))
    stale = [k for k in old if k not in files or old[k] != files[k]]
    return files, todo, stale


def _lines_of(path: Path, root: Path) -> list[str] | None:
    """The non-empty lines of a document as kb's loader decodes it (``None`` when it cannot be read)."""
    from kb.errors import LoadError
    from kb.loaders import load_document

    try:
        doc = load_document(path, root)
    except LoadError:
        return None
    return [line.strip() for line in doc.body.split("\n") if line.strip()]


def build_naive(roots: list[Path], index: Path, full: bool) -> dict:
    """One Whoosh document per non-empty line, analysed by jieba's ChineseAnalyzer; default writer."""
    _jieba, ChineseAnalyzer = _import_jieba()  # noqa: N806 - a class
    from whoosh import index as whoosh_index
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.query import Prefix

    manifest = index / "bench-files.json"
    started = time.perf_counter()
    if full or not manifest.is_file():
        shutil.rmtree(index, ignore_errors=True)
        index.mkdir(parents=True)
        schema = Schema(id=ID(stored=True, unique=True), content=TEXT(stored=True, analyzer=ChineseAnalyzer()))
        ix = whoosh_index.create_in(str(index), schema)
        old: dict = {}
    else:
        ix = whoosh_index.open_dir(str(index))
        old = json.loads(manifest.read_text(encoding="utf-8"))
    files, todo, stale = _scan(roots, old)
    writer = ix.writer()
    for key in stale:
        writer.delete_by_query(Prefix("id", key + "#"))
    lines = errors = 0
    for key, path, root in todo:
        doc_lines = _lines_of(path, root)
        if doc_lines is None:
            errors += 1
            continue
        for n, line in enumerate(doc_lines):
            writer.add_document(id=f"{key}#{n}", content=line)
        lines += len(doc_lines)
    writer.commit()
    manifest.write_text(json.dumps(files), encoding="utf-8")
    seconds = time.perf_counter() - started
    total = ix.doc_count()
    ix.close()
    return {"seconds": seconds, "documents": len(files) - errors, "passages": total, "errors": errors,
            "indexed": len(todo)}


def open_naive(index: Path) -> Searcher:
    """Default ``QueryParser`` on ``content``, one searcher reused, ``hit.highlights("content")``."""
    _import_jieba()
    from whoosh import index as whoosh_index
    from whoosh.qparser import QueryParser

    ix = whoosh_index.open_dir(str(index))
    searcher = ix.searcher()
    parser = QueryParser("content", ix.schema)

    def run(q: str) -> list[tuple[str, str]]:
        results = searcher.search(parser.parse(q), limit=TOP_K)
        return [(hit["id"], hit.highlights("content")) for hit in results]

    return run


# --- fts5: SQLite FTS5 trigram over kb's passages --------------------------------------------

def sqlite_has_trigram() -> bool:
    return sqlite3.sqlite_version_info >= FTS5_MIN_SQLITE


FTS5_SCHEMA = """
CREATE VIRTUAL TABLE passages USING fts5(passage_id UNINDEXED, doc_id UNINDEXED, content, tokenize='trigram');
CREATE TABLE files(key TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, lo INTEGER, hi INTEGER);
"""


def build_fts5(roots: list[Path], index: Path, full: bool) -> dict:
    """kb's passages (load_document + chunk) into one FTS5 trigram table; one transaction; optimise."""
    from kb.chunker import chunk
    from kb.errors import LoadError
    from kb.loaders import load_document

    db = index / "fts5.db"
    started = time.perf_counter()
    if full or not db.is_file():
        shutil.rmtree(index, ignore_errors=True)
        index.mkdir(parents=True)
        con = sqlite3.connect(db)
        con.executescript(FTS5_SCHEMA)
    else:
        con = sqlite3.connect(db)
    old = {k: [s, m] for k, s, m in con.execute("SELECT key, size, mtime_ns FROM files")}
    ranges = {k: (lo, hi) for k, lo, hi in con.execute("SELECT key, lo, hi FROM files")}
    files, todo, stale = _scan(roots, old)
    errors = 0
    with con:
        for key in stale:
            lo, hi = ranges[key]
            con.execute("DELETE FROM passages WHERE rowid BETWEEN ? AND ?", (lo, hi))
            con.execute("DELETE FROM files WHERE key = ?", (key,))
        next_id = (con.execute("SELECT coalesce(max(hi), 0) FROM files").fetchone()[0] or 0) + 1
        for key, path, root in todo:
            try:
                passages = chunk(load_document(path, root)).passages
            except LoadError:
                errors += 1
                continue
            rows = [(next_id + i, p.passage_id, p.doc_id, p.text) for i, p in enumerate(passages)]
            con.executemany("INSERT INTO passages(rowid, passage_id, doc_id, content) VALUES (?, ?, ?, ?)", rows)
            size, mtime = files[key]
            con.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?)", (key, size, mtime, next_id,
                                                                     next_id + max(len(rows), 1) - 1))
            next_id += max(len(rows), 1)
        if full:
            con.execute("INSERT INTO passages(passages) VALUES ('optimize')")
    total = con.execute("SELECT count(*) FROM passages").fetchone()[0]
    con.close()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "documents": len(files) - errors, "passages": total, "errors": errors,
            "indexed": len(todo)}


@dataclass
class Clause:
    """Alternatives (``A OR B``) that must match, or must not (``-A``)."""

    alts: list[str]
    negated: bool = False


_QTOKEN = re.compile(r'-?"[^"]*"?|\S+')


def parse_simple_query(q: str) -> list[Clause]:
    """Split on spaces into ANDed clauses; ``"…"`` keeps a phrase, ``-x`` excludes, ``OR`` joins."""
    clauses: list[Clause] = []
    pending_or = False
    for tok in _QTOKEN.findall(q):
        if tok == "OR" and clauses and not clauses[-1].negated:
            pending_or = True
            continue
        negated = tok.startswith("-") and len(tok) > 1
        term = (tok[1:] if negated else tok).strip('"').strip()
        if not term:
            continue
        if pending_or and not negated:
            clauses[-1].alts.append(term)
        else:
            clauses.append(Clause([term], negated))
        pending_or = False
    return clauses


def _fts_quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def fts5_sql(q: str) -> tuple[str, list[str], bool, list[str]] | None:
    """(SQL, params, ranked by MATCH, terms to mark) for a query, or ``None`` when it has no term.

    Terms of three characters or more go into one MATCH expression (ranked by bm25, ``snippet()``);
    shorter ones cannot use trigrams and become ``LIKE '%term%'`` conditions.
    """
    clauses = parse_simple_query(q)
    match_parts, negated_match, where, params = [], [], [], []
    marks = [t for c in clauses if not c.negated for t in c.alts]
    for c in clauses:
        if all(len(t) >= 3 for t in c.alts):
            expr = " OR ".join(_fts_quote(t) for t in c.alts)
            expr = f"({expr})" if len(c.alts) > 1 else expr
            (negated_match if c.negated else match_parts).append(expr)
            continue
        conds = []
        for t in c.alts:
            if len(t) >= 3:
                conds.append("rowid IN (SELECT rowid FROM passages WHERE passages MATCH ?)")
                params.append(_fts_quote(t))
            else:
                # the unary + keeps FTS5 from planning the LIKE through its trigram index, where a
                # pattern of under three characters matches nothing (SQLite 3.40); this is a row scan
                conds.append("+content LIKE ?")
                params.append(f"%{t}%")
        cond = "(" + " OR ".join(conds) + ")"
        where.append(f"NOT {cond}" if c.negated else cond)
    if not match_parts and not where:
        return None
    ranked = bool(match_parts)
    if ranked:
        expr = " AND ".join(match_parts) + "".join(f" NOT {n}" for n in negated_match)
        where.insert(0, "passages MATCH ?")
        params.insert(0, expr)
        cols = "passage_id, snippet(passages, 2, '<mark>', '</mark>', '…', 64)"
        order = " ORDER BY rank"
    else:
        for n in negated_match:
            where.append("NOT (rowid IN (SELECT rowid FROM passages WHERE passages MATCH ?))")
            params.append(n)
        cols, order = "passage_id, content", ""
    sql = f"SELECT {cols} FROM passages WHERE {' AND '.join(where)}{order} LIMIT {TOP_K}"
    return sql, params, ranked, marks


def like_snippet(text: str, terms: list[str], radius: int = 64) -> str:
    """A window around the first matched term, escaped and marked (``snippet()`` needs a MATCH)."""
    first = min((i for i in (text.find(t) for t in terms) if i >= 0), default=0)
    start = max(0, first - radius)
    window = html.escape(text[start:first + radius * 2], quote=False)
    for t in sorted(set(terms), key=len, reverse=True):
        window = window.replace(html.escape(t, quote=False), f"<mark>{html.escape(t, quote=False)}</mark>")
    return ("…" if start else "") + window


def open_fts5(index: Path) -> Searcher:
    """One read-only connection reused; MATCH + ``snippet()``, LIKE + a Python window for short terms."""
    con = sqlite3.connect(f"file:{index / 'fts5.db'}?mode=ro", uri=True)

    def run(q: str) -> list[tuple[str, str]]:
        plan = fts5_sql(q)
        if plan is None:
            return []
        sql, params, ranked, marks = plan
        rows = con.execute(sql, params).fetchall()
        if ranked:
            return [(pid, snip) for pid, snip in rows]
        return [(pid, like_snippet(text, marks)) for pid, text in rows]

    return run


BUILDERS: dict[str, Callable[[list[Path], Path, bool], dict]] = {
    "kb": build_kb, "naive": build_naive, "fts5": build_fts5}
OPENERS: dict[str, Callable[[Path], Searcher]] = {"kb": open_kb, "naive": open_naive, "fts5": open_fts5}


# --- query phase and cold start ----------------------------------------------------------------

def query_phase(system: str, index: Path, queries: list[str], repeat: int) -> dict:
    """Open once, one untimed warm-up pass, then ``repeat`` timed passes: per-query milliseconds."""
    run = OPENERS[system](index)
    hits: dict[str, int] = {}
    errors: dict[str, str] = {}
    for q in queries:
        try:
            hits[q] = len(run(q))
        except Exception as exc:  # a baseline choking on one query is a finding, not a crash
            errors[q] = f"{type(exc).__name__}: {exc}"
            hits[q] = 0
    times: dict[str, list[float]] = {q: [] for q in queries}
    cpu: dict[str, list[float]] = {q: [] for q in queries}
    for _ in range(repeat):
        for q in queries:
            started, cpu_started = time.perf_counter(), time.process_time()
            try:
                run(q)
            except Exception:  # noqa: S110 - recorded in the warm-up pass
                pass
            times[q].append((time.perf_counter() - started) * 1000)
            cpu[q].append((time.process_time() - cpu_started) * 1000)
    return {"times_ms": times, "cpu_ms": cpu, "hits": hits, "errors": errors}


def _search_main(system: str, index: str, query: str) -> None:
    """Cold-start entry for the baselines: open, answer one query with snippets, print, exit."""
    for n, (pid, snip) in enumerate(OPENERS[system](Path(index))(query), start=1):
        print(f"{n}. [{pid}] {snip[:200]}")


def cold_command(system: str, index: Path, query: str) -> list[str]:
    """The command line whose wall time is the cold start: ``kb search`` for kb, the same for baselines."""
    if system == "kb":
        script = Path(sys.executable).parent / "kb"
        base = [str(script)] if script.is_file() else [sys.executable, "-m", "kb.cli"]
        return base + ["search", query, "--index", str(index)]
    return [sys.executable, "-m", "kb.bench", "_search", system, str(index), query]


def cold_start(system: str, index: Path, runs: int) -> list[float]:
    """Wall seconds of ``runs`` fresh processes answering ``COLD_QUERY`` (page cache warm)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.run(cold_command(system, index, COLD_QUERY), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=300)
        times.append(time.perf_counter() - started)
        if proc.returncode != 0:
            raise BenchError(f"cold start of {system} failed (exit {proc.returncode}):\n"
                             + proc.stderr.decode("utf-8", "replace")[-2000:])
    return times


# --- orchestration -----------------------------------------------------------------------------

def machine_info() -> dict:
    """CPU, memory, Python, SQLite, date and the kb commit measured."""
    model = ""
    try:
        model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                      if ln.startswith("model name")), "")
    except OSError:
        pass
    mem_gb = 0.0
    try:
        kb_total = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem_gb = round(kb_total / 2**20, 1)
    except (OSError, IndexError, ValueError):
        pass
    commit = os.environ.get("KB_BENCH_REVISION", "")  # set when measuring a snapshot copy of kb/
    for where in () if commit else (REPO, Path.cwd()):  # a snapshot copy of kb/ has no .git: fall back to the working folder
        try:
            commit = subprocess.run(["git", "-C", str(where), "describe", "--always", "--dirty"],
                                    capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            commit = ""
        if commit:
            break
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "cpus": os.cpu_count(), "cpu_model": model or "?",
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "mem_gb": mem_gb, "python": platform.python_version(), "platform": platform.platform(),
            "sqlite": sqlite3.sqlite_version, "kb_commit": commit or "?"}


def _apply_build(res: SystemResult, phase: PhaseResult, mb: float) -> None:
    res.build_s = phase.info["seconds"]
    res.build_cpu_s = phase.info["cpu_s"]
    res.build_mb_s = mb / res.build_s if res.build_s else 0.0
    res.documents, res.passages = phase.info["documents"], phase.info["passages"]
    res.peak_build_mb = phase.peak_mb
    res.memory["build"] = _memory(phase)
    if phase.info.get("errors"):
        res.notes.append(f"{phase.info['errors']} file(s) could not be read and were skipped")


def _apply_query(res: SystemResult, phase: PhaseResult) -> None:
    times = phase.info["times_ms"]
    flat = [t for ts in times.values() for t in ts]
    res.p50_ms, res.p95_ms, res.p99_ms = (percentile(flat, q) for q in (50, 95, 99))
    res.p95_cpu_ms = percentile([t for ts in phase.info["cpu_ms"].values() for t in ts], 95)
    res.mean_ms = sum(flat) / len(flat) if flat else 0.0
    res.queries = len(times)
    res.queries_with_hits = sum(1 for n in phase.info["hits"].values() if n > 0)
    res.query_errors = len(phase.info["errors"])
    res.slowest = sorted(((q, max(ts)) for q, ts in times.items()), key=lambda x: -x[1])[:10]
    res.query_ms, res.query_hits = times, dict(phase.info["hits"])
    res.peak_query_mb = phase.peak_mb
    res.memory["query"] = _memory(phase)
    for q, err in list(phase.info["errors"].items())[:5]:
        res.notes.append(f"query `{q}` failed: {err}")


def apply_common_p95(results: dict[str, SystemResult]) -> list[str]:
    """Set ``p95_common_ms`` over the queries every measured system answers; return those queries.

    A system that finds nothing for a query answers it fast: this row compares like with like.
    """
    measured = [r for r in results.values() if r.query_hits]
    if not measured:
        return []
    common = [q for q in measured[0].query_hits if all(r.query_hits.get(q, 0) > 0 for r in measured)]
    for r in measured:
        r.p95_common_ms = percentile([t for q in common for t in r.query_ms.get(q, [])], 95)
    return common


def _memory(phase: PhaseResult) -> dict:
    return {"main_hwm_mb": phase.main_hwm_mb, "children_hwm_mb": phase.children_hwm_mb,
            "tree_peak_mb": phase.tree_peak_mb, "wall_s": phase.wall_s, "cpu_s": phase.info.get("cpu_s", 0.0)}


def run_bench(corpus_dirs: list[Path] | None = None, query_files: list[Path] | None = None,
              out_dir: Path = Path("bench-results"), quick: bool = False, skip_baselines: bool = False,
              repeat: int | None = None, sample: int | None = None, cold_runs: int = 3,
              workers: int | None = None, log: Log | None = None) -> BenchReport:
    """Measure kb (and the baselines) on one corpus copy and one query set; write JSON + Markdown."""
    say = log or (lambda _msg: None)
    if corpus_dirs:
        roots = [Path(d) for d in corpus_dirs]
    else:
        roots, default_sample = default_corpus(quick)
        sample = sample if sample is not None else default_sample
    for r in roots:
        if not r.is_dir():
            raise BenchError(f"corpus folder not found: {r}")
    repeat = repeat or (1 if quick else 3)
    queries, qinfo = load_queries(list(query_files) if query_files else default_query_files())
    if not queries:
        raise BenchError("no queries to run")
    notes = [f"cold start = wall time of a fresh process answering `{COLD_QUERY}` with snippets "
             f"(median of {cold_runs}; page cache warm); kb runs `kb search`, baselines "
             "`python -m kb.bench _search`.",
             "peak mem = max(kernel high-water mark of the phase process, sampled PSS sum of the process and "
             "its workers); builds and query runs each in a fresh child process.",
             "query latency covers parse + search + top-10 snippets in one long-lived process per system; "
             "incremental = the same build call after appending one paragraph to one file.",
             "CPU rows: user + system seconds of the build process and its workers, and per-query process CPU "
             "time; less sensitive than wall time to other load on a shared machine."]
    if workers is not None:
        notes.append(f"kb built with workers={workers} (kb's default when not given: its own choice)")
    systems = ["kb"] if skip_baselines else list(SYSTEMS)
    if "fts5" in systems and not sqlite_has_trigram():
        systems.remove("fts5")
        notes.append(f"fts5 skipped: SQLite {sqlite3.sqlite_version} has no trigram tokenizer (needs 3.34)")
    results = {s: SystemResult(s) for s in systems}
    _describe_baselines(results)
    load_start = [round(x, 2) for x in os.getloadavg()]
    failed: set[str] = set()

    def attempt(system: str, what: str, fn: Callable[[], None]) -> None:
        """Run one measurement; a failure is reported in the table and notes, the others go on."""
        if system in failed:
            return
        try:
            fn()
        except BenchError as exc:
            failed.add(system)
            results[system].status = f"FAILED at {what}"
            results[system].notes.append(f"FAILED at {what}: {str(exc)[-1500:]}")
            say(f"[{system}] FAILED at {what}: {str(exc).splitlines()[-1] if str(exc) else exc}")

    formats: list[FormatSpeed] = []
    work = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    try:
        say(f"copying corpus {', '.join(map(str, roots))} to {work}")
        new_roots, files = copy_corpus(roots, work / "corpus", sample)
        if not files:
            raise BenchError(f"no corpus files under {', '.join(map(str, roots))}")
        mb = sum(f.stat().st_size for f in files) / 2**20
        say(f"{len(files)} files, {mb:.1f} MB; {len(queries)} queries; systems: {', '.join(systems)}")
        indexes = {s: work / f"index-{s}" for s in systems}

        def build_spec(s: str, full: bool) -> dict:
            return {"phase": "build", "system": s, "roots": [str(r) for r in new_roots], "index": str(indexes[s]),
                    "full": full, "workers": workers}

        def full_build(s: str) -> None:
            say(f"[{s}] full build …")
            _apply_build(results[s], run_phase(build_spec(s, True), work), mb)
            results[s].index_mb = dir_size_mb(indexes[s])
            say(f"[{s}] built in {results[s].build_s:.1f} s, {results[s].passages} passages, "
                f"{results[s].index_mb:.1f} MB on disk")

        def queries_and_cold_start(s: str) -> None:
            say(f"[{s}] {len(queries)} queries: warm-up + {repeat} timed pass(es) …")
            _apply_query(results[s], run_phase({"phase": "query", "system": s, "index": str(indexes[s]),
                                                "queries": queries, "repeat": repeat}, work))
            say(f"[{s}] p50 {results[s].p50_ms:.1f} ms, p95 {results[s].p95_ms:.1f} ms")
            results[s].cold_runs_s = cold_start(s, indexes[s], cold_runs)
            results[s].cold_start_s = percentile(results[s].cold_runs_s, 50)
            say(f"[{s}] cold start {results[s].cold_start_s:.2f} s")

        def incremental(s: str) -> None:
            phase = run_phase(build_spec(s, False), work)
            res = results[s]
            res.incremental_s = phase.info["seconds"]
            res.incremental_pct = 100 * res.incremental_s / res.build_s if res.build_s else 0.0
            res.memory["incremental"] = _memory(phase)
            if phase.info.get("indexed") != 1:
                res.notes.append(f"incremental build re-read {phase.info.get('indexed')} files, not 1")
            say(f"[{s}] incremental {res.incremental_s:.2f} s ({res.incremental_pct:.1f}% of full)")

        for s in systems:
            attempt(s, "full build", lambda s=s: full_build(s))
        for s in systems:
            attempt(s, "queries", lambda s=s: queries_and_cold_start(s))
        common = apply_common_p95(results)
        qinfo["answered_by_all"] = len(common)
        changed = change_one_file(files)
        say(f"changed {changed.relative_to(work / 'corpus')}")
        for s in systems:
            attempt(s, "incremental build", lambda s=s: incremental(s))
        say("ingestion by format: making .docx/.pdf/.doc samples of the corpus …")
        texts = [f for f in files if f.suffix.lower() in (".txt", ".md", ".markdown")]
        samples = format_samples(texts, work / "formats", say)
        formats = ingest_by_format(files + samples)
        for f in formats:
            say(f"[{f.format}] {f.files} files, {f.mb_per_s:.2f} MB/s" + (f", {f.pages_per_s:.1f} pages/s" if f.pages else ""))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = BenchReport(
        systems=results, machine=dict(machine_info(), loadavg_start=load_start), notes=notes,
        corpus={"roots": [str(r) for r in roots], "files": len(files), "mb": mb, "sample": sample,
                "changed_file": str(changed.relative_to(work / "corpus"))},
        queries=qinfo, config={"quick": quick, "repeat": repeat, "cold_runs": cold_runs, "top_k": TOP_K,
                               "skip_baselines": skip_baselines, "kb_workers": workers},
        formats=formats)
    write_reports(report, Path(out_dir))
    return report


def _describe_baselines(results: dict[str, SystemResult]) -> None:
    """The notes that say exactly what each baseline does."""
    if "naive" in results:
        results["naive"].notes.append(
            "jieba.analyse.ChineseAnalyzer, Schema(id=ID, content=TEXT(stored)), one Whoosh document per "
            "non-empty line of each document body (decoded by kb's loader), default writer, "
            "QueryParser('content'), hit.highlights('content').")
    if "fts5" in results:
        results["fts5"].notes.append(
            "FTS5 tokenize='trigram' over kb's passages (load_document + chunk), one transaction, optimize; "
            "terms of 3+ characters are MATCHed (bm25 rank, snippet()); shorter terms cannot use trigrams and "
            "fall back to unranked LIKE '%term%' (a table scan; a Python window marks the snippet).")


def write_reports(report: BenchReport, out_dir: Path) -> None:
    """``bench-<stamp>.json`` and ``.md`` in ``out_dir``, plus ``latest.json``/``latest.md`` copies."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    json_path, md_path = out_dir / f"bench-{stamp}.json", out_dir / f"bench-{stamp}.md"
    report.json_path, report.md_path = str(json_path), str(md_path)
    json_path.write_text(json.dumps(report.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")
    md_path.write_text(report.to_markdown(), encoding="utf-8")
    shutil.copyfile(json_path, out_dir / "latest.json")
    shutil.copyfile(md_path, out_dir / "latest.md")


def main(argv: list[str]) -> None:
    """``python -m kb.bench _phase SPEC OUT`` | ``_search SYSTEM INDEX QUERY`` (internal entry points)."""
    if argv[:1] == ["_phase"] and len(argv) == 3:
        _phase_main(argv[1], argv[2])
    elif argv[:1] == ["_search"] and len(argv) == 4:
        _search_main(argv[1], argv[2], argv[3])
    else:
        raise SystemExit("usage: python -m kb.bench _phase SPEC OUT | _search SYSTEM INDEX QUERY  "
                         "(run benchmarks with `kb bench`)")


if __name__ == "__main__":
    main(sys.argv[1:])
