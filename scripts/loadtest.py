#!/usr/bin/env python3
"""A bounded load test of a running ``kb serve``: N client threads → ``GET /api/search`` on loopback.

    python scripts/loadtest.py --url http://127.0.0.1:8000 --clients 8 --requests 2000 --duration 60 \\
        [--server-pid PID] [--index index] \\
        [--rebuild-cmd "kb build --full --index index --corpus corpus" --rebuilds 2]

Each client keeps one HTTP/1.1 connection and sends queries from a fixed list (the first column of
``../shared/eval/seed-queries.tsv`` and ``tests/eval-mixed.tsv``, else a built-in list) in turn. A
request counts as an error unless it returns 200 with a JSON body holding ``total`` and ``hits``.

It reports requests served, errors (by kind, with samples), requests/s, latency p50/p95/p99 (for
all requests, and split by whether a rebuild was running when the request started) and, with
``--server-pid``, the server's peak resident memory (``VmHWM`` from ``/proc``) and the largest
``VmRSS``, PSS and anonymous memory sampled during the run (RSS counts a file page once per mapping,
and Whoosh maps each segment once per searcher: PSS is the truer figure).

With ``--rebuild-cmd`` the command (no shell; split like a shell would) is run ``--rebuilds`` times,
one after another, starting ``--rebuild-delay`` seconds into the run, to show that index swaps under
load fail no request. ``--stop-after-rebuilds S`` ends the run S seconds after the last rebuild.

With ``--slow-clients N`` it also holds N sockets open for the whole run, each sending one byte of a
request header every ``--slow-interval`` seconds (a slowloris): the others must still be answered.
It reports how many were still held at the end and how many the server closed (idle timeout).

Bounded: it stops after ``--requests`` requests or ``--duration`` seconds, whichever comes first
(a rebuild still running then gets ``--rebuild-grace`` more seconds, then is killed: kb builds are
atomic, so that is safe). It only ever connects to 127.0.0.1: any other host is refused.

Exit status: 0 when no request failed and every rebuild succeeded, 1 otherwise, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import shlex
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

REPO = Path(__file__).resolve().parent.parent
DEFAULT_QUERY_FILES = [REPO.parent / "shared" / "eval" / "seed-queries.tsv", REPO / "tests" / "eval-mixed.tsv"]
FALLBACK_QUERIES = ["交通", "综合交通投资", "发展", "建设", "公交 OR 出租车", '"重点工程"', "快速路 -太龙",
                    "乡村振兴", "year:2023 交通", "营商环境", "民生实事", "铁路及轨道交通投资"]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}


def read_queries(files: list[Path]) -> list[str]:
    """The first column of each non-comment line of the given TSV/text files, in order, deduplicated."""
    out: list[str] = []
    for path in files:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            q = line.split("\t", 1)[0].strip()
            if q:
                out.append(q)
    return list(dict.fromkeys(out)) or list(FALLBACK_QUERIES)


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(pct / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def latency_stats(values_s: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in values_s)
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2),
            "p99_ms": round(percentile(ms, 99), 2), "max_ms": round(ms[-1], 2) if ms else 0.0,
            "mean_ms": round(statistics.fmean(ms), 2) if ms else 0.0}


def proc_status_kb(pid: int, field: str, table: str = "status") -> int | None:
    """A ``kB`` field of /proc/PID/status (``VmRSS``, ``VmHWM``, ``RssAnon``, ``RssFile``) or of
    /proc/PID/smaps_rollup (``table="smaps_rollup"``: ``Pss``), or None when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/{table}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


class LoadTest:
    def __init__(self, args: argparse.Namespace, queries: list[str]) -> None:
        self.args = args
        self.queries = queries
        parts = urlsplit(args.url)
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.lock = threading.Lock()
        self.next_slot = 0
        self.stop = threading.Event()
        self.started = 0.0
        self.deadline = 0.0
        self.latencies: list[tuple[float, bool]] = []  # (seconds, a rebuild was running)
        self.errors: dict[str, int] = {}
        self.error_samples: list[str] = []
        self.totals: dict[str, set[bool]] = {}  # query → {had hits?} over the run
        self.rebuilding = threading.Event()
        self.rebuilds: list[dict] = []
        self.rss_max_kb: int | None = None
        self.pss_max_kb: int | None = None
        self.anon_max_kb: int | None = None
        self.slow_opened = 0
        self.slow_closed_by_server = 0
        self.slow_held_at_end = 0

    # --- clients ---------------------------------------------------------------------------------
    def _take_slot(self) -> int | None:
        with self.lock:
            if self.stop.is_set() or self.next_slot >= self.args.requests or time.monotonic() >= self.deadline:
                return None
            slot = self.next_slot
            self.next_slot += 1
            return slot

    def _record_error(self, kind: str, detail: str) -> None:
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1
            if len(self.error_samples) < 10:
                self.error_samples.append(f"{kind}: {detail[:200]}")

    def client(self) -> None:
        conn: http.client.HTTPConnection | None = None
        while True:
            slot = self._take_slot()
            if slot is None:
                break
            q = self.queries[slot % len(self.queries)]
            path = f"{self.prefix}/api/search?q={quote(q)}"
            during_rebuild = self.rebuilding.is_set()
            t0 = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.args.timeout)
                conn.request("GET", path, headers={"Accept": "application/json"})
                resp = conn.getresponse()
                body = resp.read()
                elapsed = time.perf_counter() - t0
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                self._record_error(type(exc).__name__, f"{q!r}: {exc}")
                if conn is not None:
                    conn.close()
                conn = None
                continue
            if resp.status != 200:
                self._record_error(f"HTTP {resp.status}", f"{q!r}: {body[:200]!r}")
                continue
            try:
                data = json.loads(body)
                total = int(data["total"])
                hits = data["hits"]
                if not isinstance(hits, list):
                    raise TypeError("hits is not a list")
            except (ValueError, KeyError, TypeError) as exc:
                self._record_error("bad JSON", f"{q!r}: {exc}: {body[:200]!r}")
                continue
            with self.lock:
                self.latencies.append((elapsed, during_rebuild))
                self.totals.setdefault(q, set()).add(total > 0)
        if conn is not None:
            conn.close()

    # --- rebuilds, memory ------------------------------------------------------------------------
    def rebuilder(self) -> None:
        if self.stop.wait(self.args.rebuild_delay):
            return
        cmd = shlex.split(self.args.rebuild_cmd)
        for n in range(self.args.rebuilds):
            if self.stop.is_set():
                break
            rec: dict = {"n": n + 1, "start_s": round(time.monotonic() - self.started, 2)}
            self.rebuilding.set()
            try:
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                limit = max(1.0, self.deadline + self.args.rebuild_grace - time.monotonic())
                try:
                    out, err = proc.communicate(timeout=limit)
                    rec["returncode"] = proc.returncode
                except subprocess.TimeoutExpired:
                    proc.kill()
                    out, err = proc.communicate()
                    rec["returncode"] = None
                    rec["killed"] = "still running at the deadline"
                rec["stderr_tail"] = (err or "").strip().splitlines()[-1:] if err else []
            except OSError as exc:
                rec["returncode"] = None
                rec["error"] = str(exc)
            finally:
                self.rebuilding.clear()
            rec["end_s"] = round(time.monotonic() - self.started, 2)
            rec["index_version"] = self.index_version()
            self.rebuilds.append(rec)
        if self.args.stop_after_rebuilds is not None and self.rebuilds:
            if not self.stop.wait(self.args.stop_after_rebuilds):
                self.stop.set()

    def index_version(self) -> str | None:
        if not self.args.index:
            return None
        try:
            return (Path(self.args.index) / "CURRENT").read_text(encoding="utf-8").strip()
        except OSError:
            return None

    def rss_sampler(self) -> None:
        while not self.stop.wait(0.25):
            pid = self.args.server_pid
            rss, anon = proc_status_kb(pid, "VmRSS"), proc_status_kb(pid, "RssAnon")
            pss = proc_status_kb(pid, "Pss", "smaps_rollup")
            if rss is not None:
                self.rss_max_kb = max(self.rss_max_kb or 0, rss)
            if anon is not None:
                self.anon_max_kb = max(self.anon_max_kb or 0, anon)
            if pss is not None:
                self.pss_max_kb = max(self.pss_max_kb or 0, pss)

    def slow_clients(self) -> None:
        """Hold ``--slow-clients`` sockets, trickling a request header one byte at a time."""
        socks: list[socket.socket] = []
        for _ in range(self.args.slow_clients):
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                s.sendall(b"G")
                socks.append(s)
            except OSError:
                break
        self.slow_opened = len(socks)
        header = b"ET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 10_000
        at = 0
        while not self.stop.wait(self.args.slow_interval):
            byte = header[at % len(header):at % len(header) + 1]
            at += 1
            for s in list(socks):
                try:
                    s.sendall(byte)
                except OSError:
                    socks.remove(s)
                    self.slow_closed_by_server += 1
                    s.close()
        self.slow_held_at_end = len(socks)
        for s in socks:
            s.close()

    # --- run -------------------------------------------------------------------------------------
    def run(self) -> dict:
        self.started = time.monotonic()
        self.deadline = self.started + self.args.duration
        version_before = self.index_version()
        helpers = []
        if self.args.server_pid:
            helpers.append(threading.Thread(target=self.rss_sampler, daemon=True))
        slow_thread = None
        if self.args.slow_clients:
            slow_thread = threading.Thread(target=self.slow_clients, daemon=True)
            slow_thread.start()
            time.sleep(min(2.0, 0.02 * self.args.slow_clients))  # the sockets are open before the load starts
        rebuild_thread = None
        if self.args.rebuild_cmd:
            rebuild_thread = threading.Thread(target=self.rebuilder, daemon=True)
            helpers.append(rebuild_thread)
        clients = [threading.Thread(target=self.client, name=f"client-{i}") for i in range(self.args.clients)]
        for t in helpers + clients:
            t.start()
        for t in clients:
            t.join()
        elapsed = time.monotonic() - self.started
        self.stop.set()
        if rebuild_thread is not None:  # bounded: the rebuild's own timeout is deadline + grace
            rebuild_thread.join()
        if slow_thread is not None:
            slow_thread.join(self.args.slow_interval + 10)
        return self.report(elapsed, version_before)

    def report(self, elapsed: float, version_before: str | None) -> dict:
        served = len(self.latencies)
        n_errors = sum(self.errors.values())
        result = {
            "url": self.args.url,
            "clients": self.args.clients,
            "queries": len(self.queries),
            "requests": served + n_errors,
            "served": served,
            "errors": n_errors,
            "error_kinds": self.errors,
            "error_samples": self.error_samples,
            "seconds": round(elapsed, 2),
            "req_per_s": round(served / elapsed, 1) if elapsed else 0.0,
            "latency": latency_stats([s for s, _ in self.latencies]),
            "latency_during_rebuild": latency_stats([s for s, r in self.latencies if r]),
            "latency_no_rebuild": latency_stats([s for s, r in self.latencies if not r]),
            # a query that found passages once and none another time: a sign of a half-built index
            "inconsistent_queries": sorted(q for q, seen in self.totals.items() if len(seen) > 1),
            "rebuilds": self.rebuilds,
            "rebuild_failures": sum(1 for r in self.rebuilds if r.get("returncode") != 0),
            "index_version_before": version_before,
            "index_version_after": self.index_version(),
            "slow_clients": {"opened": self.slow_opened, "closed_by_server": self.slow_closed_by_server,
                             "held_at_end": self.slow_held_at_end} if self.args.slow_clients else None,
        }
        if self.args.server_pid:
            hwm = proc_status_kb(self.args.server_pid, "VmHWM")
            result["server_pid"] = self.args.server_pid
            result["server_peak_rss_mb"] = round(hwm / 1024, 1) if hwm is not None else None
            result["server_max_sampled_rss_mb"] = round(self.rss_max_kb / 1024, 1) if self.rss_max_kb else None
            # RSS counts a file page once per mapping: Whoosh maps each segment once per searcher (one per
            # server thread), so PSS (each page once) and anonymous memory say what the process really uses
            result["server_max_sampled_pss_mb"] = round(self.pss_max_kb / 1024, 1) if self.pss_max_kb else None
            result["server_max_sampled_anon_mb"] = round(self.anon_max_kb / 1024, 1) if self.anon_max_kb else None
        return result


def format_report(r: dict) -> str:
    lat = r["latency"]
    lines = [
        f"{r['url']}: {r['clients']} clients, {r['queries']} distinct queries, {r['seconds']} s",
        f"requests {r['requests']}  served {r['served']}  errors {r['errors']}  {r['req_per_s']} req/s",
        f"latency ms  p50 {lat['p50_ms']}  p95 {lat['p95_ms']}  p99 {lat['p99_ms']}  max {lat['max_ms']}",
    ]
    if r["rebuilds"]:
        d, n = r["latency_during_rebuild"], r["latency_no_rebuild"]
        lines.append(f"  while rebuilding: n {d['n']}  p50 {d['p50_ms']}  p95 {d['p95_ms']}  p99 {d['p99_ms']}")
        lines.append(f"  otherwise:        n {n['n']}  p50 {n['p50_ms']}  p95 {n['p95_ms']}  p99 {n['p99_ms']}")
        for b in r["rebuilds"]:
            lines.append(f"  rebuild {b['n']}: {b['start_s']}-{b['end_s']} s, exit {b.get('returncode')}, "
                         f"now serving {b.get('index_version')}")
    if r.get("slow_clients"):
        sc = r["slow_clients"]
        lines.append(f"slow clients: {sc['opened']} opened, {sc['closed_by_server']} closed by the server "
                     f"(idle timeout), {sc['held_at_end']} still held at the end")
    if r.get("server_pid"):
        lines.append(f"server pid {r['server_pid']}: peak RSS {r['server_peak_rss_mb']} MB "
                     f"(largest sampled: RSS {r['server_max_sampled_rss_mb']} MB, "
                     f"PSS {r['server_max_sampled_pss_mb']} MB, anonymous {r['server_max_sampled_anon_mb']} MB)")
    if r["errors"]:
        lines.append("errors: " + ", ".join(f"{k} × {v}" for k, v in r["error_kinds"].items()))
        lines.extend("  " + s for s in r["error_samples"])
    if r["inconsistent_queries"]:
        lines.append(f"queries with and without hits across the run: {r['inconsistent_queries'][:5]}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="http://127.0.0.1:PORT (loopback only)")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--requests", type=int, default=2000, help="at most this many requests")
    p.add_argument("--duration", type=float, default=60.0, help="at most this many seconds of load")
    p.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, seconds")
    p.add_argument("--queries", type=Path, action="append", default=None,
                   help="query file (TSV: first column; repeatable)")
    p.add_argument("--server-pid", type=int, default=None, help="report this process's peak RSS from /proc")
    p.add_argument("--index", default=None, help="index folder: report the version (CURRENT) before/after")
    p.add_argument("--rebuild-cmd", default=None, help='e.g. "kb build --full --index index --corpus corpus"')
    p.add_argument("--rebuilds", type=int, default=1, help="how many times to run --rebuild-cmd, in turn")
    p.add_argument("--rebuild-delay", type=float, default=1.0, help="seconds of load before the first rebuild")
    p.add_argument("--rebuild-grace", type=float, default=120.0,
                   help="seconds a rebuild may outlast --duration before it is killed")
    p.add_argument("--stop-after-rebuilds", type=float, default=None,
                   help="end the run this many seconds after the last rebuild finished")
    p.add_argument("--slow-clients", type=int, default=0, help="sockets held open, trickling a header (0..500)")
    p.add_argument("--slow-interval", type=float, default=3.0, help="seconds between a slow client's bytes")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    args = p.parse_args(argv)
    parts = urlsplit(args.url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS or not parts.port:
        p.error(f"--url must be http://127.0.0.1:PORT (loopback only), not {args.url!r}")
    if not (1 <= args.clients <= 64) or args.requests < 1 or not (0 < args.duration <= 3600):
        p.error("--clients 1..64, --requests >= 1, --duration 0..3600 s")
    if args.rebuilds < 0 or args.rebuilds > 20:
        p.error("--rebuilds 0..20")
    if not (0 <= args.slow_clients <= 500) or args.slow_interval <= 0:
        p.error("--slow-clients 0..500, --slow-interval > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    queries = read_queries(args.queries if args.queries else DEFAULT_QUERY_FILES)
    result = LoadTest(args, queries).run()
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else format_report(result))
    return 0 if result["errors"] == 0 and result["rebuild_failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
