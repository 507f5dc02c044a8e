#!/usr/bin/env python3
"""A bounded soak run on loopback: real ``kb serve`` under mixed real queries, index swaps and slow clients.

    python scripts/soak.py [--corpus DIR]... [--clients 16] [--slow-clients 150] [--rebuilds 2]
                           [--duration 60] [--keep DIR]

It builds an index from the corpus folders into a temporary folder (default: ``corpus/`` and
``../shared/corpora/reports`` when present), starts ``kb serve`` on a free port of 127.0.0.1, and runs
:mod:`scripts.loadtest` against it: ``--clients`` clients sending the evaluation files' real queries,
``--rebuilds`` full rebuilds swapping the index one after another, and ``--slow-clients`` sockets each
trickling one header byte every few seconds the whole time. It prints the load test's report (requests
served, errors, p50/p95/p99, server peak RSS, what became of the slow sockets) and exits 0 only when no
request failed, every rebuild succeeded and the server logged no traceback.

Bounded: the load lasts at most ``--duration`` seconds (plus the rebuilds' grace), the server is killed
at the end whatever happens, and nothing listens beyond loopback.
"""

from __future__ import annotations

import argparse
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPORA = [REPO / "corpus", REPO.parent / "shared" / "corpora" / "reports"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, action="append", default=None)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--slow-clients", type=int, default=150)
    p.add_argument("--rebuilds", type=int, default=2)
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--keep", type=Path, default=None, help="build the index here and keep it (default: a temp folder)")
    args = p.parse_args(argv)
    corpora = [c for c in (args.corpus or DEFAULT_CORPORA) if c.is_dir()]
    if not corpora:
        p.error("no corpus folder found")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONIOENCODING="utf-8")
    kb = [sys.executable, "-m", "kb.cli"]
    with tempfile.TemporaryDirectory(prefix="kb-soak-") as tmp:
        index_dir = args.keep or Path(tmp) / "index"
        corpus_args = [a for c in corpora for a in ("--corpus", str(c))]
        print(f"soak: building {index_dir} from {', '.join(map(str, corpora))}", file=sys.stderr, flush=True)
        subprocess.run([*kb, "build", "-q", "--index", str(index_dir), *corpus_args], env=env, check=False)
        port = free_port()
        log = Path(tmp) / "serve.log"
        with open(log, "w") as fh:
            server = subprocess.Popen([*kb, "serve", "--index", str(index_dir), "--host", "127.0.0.1",
                                       "--port", str(port)], stdout=fh, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        print(log.read_text(), file=sys.stderr)
                        return 1
                    time.sleep(0.2)
            rebuild = shlex.join([*kb, "build", "--full", "-q", "--index", str(index_dir), *corpus_args])
            done = subprocess.run([sys.executable, str(REPO / "scripts" / "loadtest.py"),
                                   "--url", f"http://127.0.0.1:{port}", "--clients", str(args.clients),
                                   "--requests", "1000000", "--duration", str(args.duration),
                                   "--server-pid", str(server.pid), "--index", str(index_dir),
                                   "--rebuild-cmd", rebuild, "--rebuilds", str(args.rebuilds),
                                   "--rebuild-delay", "3", "--slow-clients", str(args.slow_clients)],
                                  env=env, check=False)
        finally:
            server.kill()
            server.wait(10)
        served_log = log.read_text(encoding="utf-8", errors="replace")
        if "Traceback" in served_log:
            print("soak: the server logged a traceback:\n" + served_log[-3000:], file=sys.stderr)
            return 1
        return done.returncode


if __name__ == "__main__":
    sys.exit(main())
