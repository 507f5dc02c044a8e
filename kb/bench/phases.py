"""Each build and query phase in a child process of its own (``python -m kb.bench _phase SPEC OUT``),
its peak memory sampled over the process tree (PSS of every descendant)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

from kb.bench.common import BenchError
from kb.bench.report import PhaseResult
from kb.bench.systems import build_kb, BUILDERS
from kb.bench.timing import query_phase

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
