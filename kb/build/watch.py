"""A watched corpus: files added, changed or deleted → an incremental build in the background.

``kb serve --watch`` starts a :class:`CorpusWatcher` beside the server. Every ``interval`` seconds it
lists the corpus folders with ``os.scandir`` (name, size, mtime of each file kb reads: no new
dependency, and a few thousand files list in milliseconds). When the listing changed and then held
still for one more look (a file still being copied in is not read half-written), it runs
:func:`kb.build.indexer.build_index`, which reads only what changed and swaps the new version in
atomically; the server moves to it between requests, so no request is lost. The watcher's state
(last look, last build, its summary and the files that failed) is what ``/status`` shows.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "a.txt").write_text("x"); _ = (root / ".hidden.txt").write_text("y"); _ = (root / "b.png").write_text("z")
>>> sorted(pathlib.Path(k).name for k in snapshot([root]))
['a.txt']
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kb.errors import KbError
from kb.load.files import SUFFIXES

Snapshot = dict[str, tuple[int, int]]  # path → (size, mtime_ns)


def snapshot(roots: list[Path]) -> Snapshot:
    """Every file kb would read under ``roots`` (hidden files and folders skipped, as the build does)."""
    out: Snapshot = {}
    stack = [Path(r) for r in roots]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=True):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=True) and os.path.splitext(entry.name)[1].lower() in SUFFIXES:
                    st = entry.stat()
                    out[entry.path] = (st.st_size, st.st_mtime_ns)
            except OSError:
                continue  # removed while we looked: the next look sees it gone
    return out


@dataclass
class WatchState:
    """What the watcher last did, for ``/status``."""

    watching: bool = False
    building: bool = False
    files: int = 0
    last_check: float = 0.0
    last_build: float = 0.0
    last_summary: str = ""
    last_error: str = ""
    builds: int = 0
    failed: list[dict] = field(default_factory=list)  # [{"path", "reason"}] of the last build

    def to_json(self) -> dict:
        def stamp(t: float) -> str:
            return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t)) if t else ""

        return {"watching": self.watching, "building": self.building, "files": self.files,
                "last_check": stamp(self.last_check), "last_build": stamp(self.last_build),
                "last_summary": self.last_summary, "last_error": self.last_error, "builds": self.builds}


class CorpusWatcher:
    """Polls the corpus folders and rebuilds the index when they change (one daemon thread)."""

    def __init__(self, roots: list[Path], index_dir: Path, *, interval: float = 2.0, workers: int | None = None,
                 log: Callable[[str], None] | None = None, follow_outside_links: bool = False) -> None:
        self.roots = [Path(r) for r in roots]
        self.follow_outside_links = follow_outside_links  # (kb serve --watch --follow-outside-links)
        self.index_dir = Path(index_dir)
        self.interval = interval
        self.workers = workers
        self.log = log or (lambda _msg: None)
        self.state = WatchState()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._built: Snapshot | None = None  # the listing the index was last brought up to date with

    def start(self) -> CorpusWatcher:
        self.state.watching = True
        self._thread = threading.Thread(target=self._run, name="kb-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.state.watching = False

    def check(self) -> bool:
        """One look; build when the corpus changed since the last build. True when it built."""
        seen = snapshot(self.roots)
        self.state.last_check = time.time()
        self.state.files = len(seen)
        if self._built is not None and seen == self._built:
            return False
        if self._built is not None:  # changed: wait until it holds still (a copy in progress)
            self._stop.wait(min(self.interval, 1.0))
            again = snapshot(self.roots)
            if again != seen:
                return False  # still changing: look again next time
        self.build(seen)
        return True

    def build(self, seen: Snapshot | None = None) -> None:
        from kb.build.indexer import build_index

        seen = snapshot(self.roots) if seen is None else seen
        self.state.building = True
        try:
            report = build_index(self.roots, self.index_dir, workers=self.workers, wait=True,
                                 follow_outside_links=self.follow_outside_links)
        except KbError as exc:
            self.state.last_error = str(exc)
            self.log(f"kb: watched build failed: {exc}")
            self._built = seen  # not retried until something changes again
            return
        finally:
            self.state.building = False
        self._built = seen
        self.state.last_error = ""
        self.state.last_summary = report.summary()
        self.state.failed = [{"path": e.path, "reason": e.reason} for e in report.errors]
        if not report.up_to_date:
            self.state.last_build = time.time()
            self.state.builds += 1
            self.log(f"kb: {report.summary()}")
            for err in report.errors:
                self.log(f"error: {err.path}: {err.reason}")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception as exc:  # the watcher must outlive one odd failure; it is reported, not hidden
                self.state.last_error = f"{type(exc).__name__}: {exc}"
                self.log(f"kb: watcher error: {self.state.last_error}")
            self._stop.wait(self.interval)
