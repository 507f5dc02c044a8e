"""Query timing (each query ``repeat`` times in one process, p50/p95) and cold start (the real command
line, wall time of a fresh process answering one query)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from kb.bench.common import BenchError, COLD_QUERY
from kb.bench.systems import OPENERS

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
