"""kb/build/watch.py and ``kb serve --watch``: a file saved into the corpus becomes searchable by itself.

The watcher is driven step by step first (``check()``: added, changed, deleted, unchanged); then the
real command runs as a user would start it, a .docx is dropped into its corpus while requests keep
coming, and the figure in it is found within seconds, with ``/api/status`` saying so and no request
failing across the swap.
"""

from __future__ import annotations

import doctest
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

import kb.build.watch
from conftest import MISSION_DOC, MISSION_PATH
from kb.search import KnowledgeBase
from kb.build.watch import CorpusWatcher
from office_fixtures import make_docx


def test_doctests() -> None:
    result = doctest.testmod(kb.build.watch)
    assert result.attempted > 0 and result.failed == 0


def _docs(index: Path) -> set[str]:
    return {d["doc_id"] for d in KnowledgeBase(index).docs()}


def test_watcher_builds_on_added_changed_deleted(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(MISSION_PATH, corpus / MISSION_PATH.name)
    w = CorpusWatcher([corpus], index, interval=0.2, workers=1)
    assert w.check() is True  # the first look brings the index up to date
    assert _docs(index) == {MISSION_DOC}
    assert w.check() is False and w.state.builds == 1  # nothing changed: no build
    make_docx(corpus / "report.docx")
    assert w.check() is True
    assert _docs(index) == {MISSION_DOC, "report"}
    assert "added 1" in w.state.last_summary
    (corpus / "sub").mkdir()
    (corpus / "sub" / "bad.docx").write_bytes(b"PK\x03\x04 not really")
    assert w.check() is True
    assert [Path(f["path"]).name for f in w.state.failed] == ["bad.docx"]
    (corpus / "report.docx").unlink()
    assert w.check() is True
    assert _docs(index) == {MISSION_DOC}
    assert "deleted 1" in w.state.last_summary
    assert w.state.to_json()["builds"] == 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read().decode("utf-8"))


def test_serve_watch_finds_a_dropped_docx_within_seconds(tmp_path: Path) -> None:
    """``kb serve --watch`` as ``make serve`` runs it: drop a .docx, search it seconds later."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(MISSION_PATH, corpus / MISSION_PATH.name)
    port = _free_port()
    kb_bin = Path(sys.executable).with_name("kb")
    proc = subprocess.Popen([str(kb_bin), "serve", "--index", str(index), "--port", str(port), "--watch",
                             "--corpus", str(corpus), "--interval", "0.5"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    failures: list[str] = []
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 60
        while True:  # the first build runs before serving
            try:
                assert _get(base + "/api/status")["documents"] == 1
                break
            except (OSError, AssertionError):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(proc.stderr.read().decode() if proc.poll() is not None else "no server")
                time.sleep(0.2)

        def hammer() -> None:  # requests all through the rebuild and the swap: none may fail
            while not stop.is_set():
                try:
                    _get(base + "/api/search?q=" + quote("综合交通投资"))
                except Exception as exc:  # any failure is what this test looks for
                    failures.append(repr(exc))
                time.sleep(0.05)

        thread = threading.Thread(target=hammer)
        thread.start()
        dropped = time.monotonic()
        make_docx(tmp_path / "staged.docx")
        os.replace(tmp_path / "staged.docx", corpus / "新工作总结.docx")
        found = None
        while time.monotonic() - dropped < 30:
            hits = _get(base + "/api/search?q=" + quote("养护大中修工程"))["hits"]
            if any("完成量：35公里" in h["text"] for h in hits):  # the new document's table row, not the mission's
                found = time.monotonic() - dropped
                break
            time.sleep(0.25)
        stop.set()
        thread.join()
        assert found is not None, "the dropped .docx was not searchable within 30 s"
        assert found < 15, f"searchable only after {found:.1f} s"
        status = _get(base + "/api/status")
        assert status["documents"] == 2 and status["passages"] > 0
        assert status["watch"]["watching"] is True and status["watch"]["builds"] >= 2
        assert "added 1" in status["watch"]["last_summary"]
        assert status["failed"] == []
        with urllib.request.urlopen(base + "/status", timeout=10) as response:
            page = response.read().decode("utf-8")
        assert "文档</dt><dd>2 篇" in page and "所有文件均已读入" in page
        assert failures == []
    finally:
        stop.set()
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stderr.close()
