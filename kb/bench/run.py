"""``kb bench`` end to end: the machine, the phases in order for each system, the figures applied to
the report, the files written, and the internal entry points of ``python -m kb.bench``."""

from __future__ import annotations

import json
import os
import platform
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kb.bench.common import BenchError, COLD_QUERY, Log, REPO, SYSTEMS, TOP_K
from kb.bench.formats import format_samples, FormatSpeed, ingest_by_format
from kb.bench.inputs import change_one_file, copy_corpus, default_corpus, default_query_files, dir_size_mb, load_queries
from kb.bench.phases import _phase_main, run_phase
from kb.bench.report import BenchReport, percentile, PhaseResult, SystemResult
from kb.bench.systems import sqlite_has_trigram
from kb.bench.timing import _search_main, cold_start

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
