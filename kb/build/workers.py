"""Workers: files to index → Whoosh and text-index segments, one share per process, each file under a time budget."""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import queue
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kb.text import analysis, ngrams
from kb.engine import segwriter, textindex, whooshio
from kb.chunk.chunker import chunk
from kb.chunk.docmeta import describe
from kb.errors import FileChangedError, FileVanishedError, KbError, LoadError
from kb.load.files import MAX_OFFICE_BYTES, printable_path, read_corpus_file
from kb.load.loaders import load_document
from kb.models import Chunked
from kb.store.records import _doc_summary, chunked_to_json, document_bytes
from kb.build.plan import FileError, ProgressFn
from kb.store.components import doc_file


SEGMENT_ROWS = 1 << 16  # a worker starts a new segment after this many passages (rows fit uint16) …
SEGMENT_TEXT_BYTES = 64 << 20  # … or this much passage text (bounds a worker's memory: ~600 MB)
FILE_TIME_BUDGET = 120.0  # seconds to read, decode and chunk one file ($KB_FILE_TIME_BUDGET); then it is skipped


@dataclass
class _Job:
    path: Path
    root: Path
    key: str
    fid: int
    doc_id: str
    converted: Path | None = None  # the .docx LibreOffice made of a .doc/.wps/.rtf file
    roots: tuple[Path, ...] = ()
    outside_ok: bool = False  # --follow-outside-links: read even if the file opened is outside ``roots``


@dataclass
class _Item:
    key: str
    path: str
    fid: int
    outcome: dict | FileError  # the document summary, or why the file was skipped
    sha1: str = ""
    size: int | None = None
    mtime_ns: int | None = None


@dataclass
class _Share:
    items: list[_Item]
    segments: list  # Whoosh segments
    text_segments: list[str]  # folder names of text-index segments


def _run_workers(tmp: Path, jobs: list[_Job], workers: int | None, progress: ProgressFn | None) -> list[_Share]:
    """Index the jobs, each worker writing its own Whoosh and text-index segments into ``tmp``."""
    if not jobs:
        return []
    n = workers if workers is not None else (os.cpu_count() or 1)
    n = max(1, min(n, 8, (len(jobs) + 3) // 4))
    if n == 1:
        done = [0]

        def tick(path: str) -> None:
            done[0] += 1
            if progress:
                progress(done[0], len(jobs), path)

        return [_index_share(tmp, jobs, 0, tick)]
    # balance by size: largest first, each to the least loaded worker
    loads = [0] * n
    parts: list[list[_Job]] = [[] for _ in range(n)]
    for job in sorted(jobs, key=lambda j: _size(j.path), reverse=True):
        k = loads.index(min(loads))
        parts[k].append(job)
        loads[k] += _size(job.path) + 1
    ctx = mp.get_context("spawn")
    ticks = ctx.Queue()
    procs = [ctx.Process(target=_worker_main, args=(str(tmp), part, k, ticks), daemon=True)
             for k, part in enumerate(parts)]
    for proc in procs:
        proc.start()
    done = 0
    try:
        while done < len(jobs):
            try:
                path = ticks.get(timeout=0.5)
            except queue.Empty:
                if any(p.exitcode not in (None, 0) for p in procs):
                    _raise_if_disk_full(tmp)
                    raise KbError("an indexing worker died; nothing was swapped in") from None
                if all(p.exitcode == 0 for p in procs):
                    break
                continue
            done += 1
            if progress:
                progress(done, len(jobs), path)
        for proc in procs:
            proc.join()
        if any(p.exitcode != 0 for p in procs):
            _raise_if_disk_full(tmp)
            raise KbError("an indexing worker died; nothing was swapped in")
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join()
        ticks.close()
        ticks.join_thread()
    shares = []
    for k in range(n):
        result = tmp / f"share-{k}.pickle"
        with open(result, "rb") as fh:
            share = pickle.load(fh)
        result.unlink()
        if isinstance(share, OSError):
            raise share
        if isinstance(share, BaseException):
            raise KbError(f"indexing worker failed: {share}") from share
        shares.append(share)
    return shares


def _raise_if_disk_full(tmp: Path) -> None:
    """A worker that died on a disk with no room left most likely died of it: say so."""
    import errno

    try:
        if shutil.disk_usage(tmp).free < 1 << 20:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    except FileNotFoundError:
        pass


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _worker_main(tmp: str, jobs: list[_Job], worker: int, ticks) -> None:
    """Process entry point: index a share, leave the result as a pickle (or the exception)."""
    _die_with_parent()
    try:
        share: _Share | BaseException = _index_share(Path(tmp), jobs, worker, ticks.put)
    except OSError as exc:  # a full disk, a read-only folder: the parent says so plainly
        share = OSError(exc.errno, exc.strerror)
    except Exception as exc:  # handed to the parent, which raises it
        share = KbError(f"{type(exc).__name__}: {exc}")
    try:
        with open(Path(tmp) / f"share-{worker}.pickle", "wb") as fh:
            pickle.dump(share, fh)
    except OSError:  # no room even for the result: exit quietly, the parent finds out (no traceback)
        os._exit(3)


def _die_with_parent() -> None:
    """Have the kernel SIGKILL this worker when the build process dies (Linux ``PR_SET_PDEATHSIG``).

    Without it a build killed with SIGKILL left its workers indexing on for minutes, writing into a
    folder the next build was removing.
    """
    parent = mp.parent_process()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: no such guarantee
        return
    if parent is not None and os.getppid() != parent.pid:  # the build died before prctl took hold
        os._exit(1)


def _index_share(tmp: Path, jobs: list[_Job], worker: int, tick: Callable[[str], None]) -> _Share:
    """Load, chunk and analyse each file; write its passages and postings into segments of its own."""
    items: list[_Item] = []
    postings = segwriter.SegmentBuilder()
    text_segments: list[str] = []

    def flush() -> segwriter.SegmentBuilder:  # bounded memory: a segment every SEGMENT_ROWS passages
        name = f"seg-{tmp.name.removeprefix('tmp-')}-{worker}-{len(text_segments)}"
        postings.write(tmp / name)
        text_segments.append(name)
        writer.cut()  # the Whoosh segment ends where the text-index segment does
        return segwriter.SegmentBuilder()
    with whooshio.SideWriter(tmp, limitmb=128) as writer:
        for job in jobs:
            shown = printable_path(job.path)
            item = _Item(job.key, shown, job.fid, FileError(shown, "not read"))
            try:
                with _time_budget(job.path):
                    # read once: what is hashed and recorded is exactly what is indexed
                    raw = read_corpus_file(job.path, () if job.outside_ok else job.roots or (job.root,),
                                           max_bytes=MAX_OFFICE_BYTES)
                    item.size, item.mtime_ns, item.sha1 = raw.size, raw.mtime_ns, raw.sha1
                    chunked = describe(chunk(load_document(job.path, job.root, raw=raw, converted=job.converted)))
                if not chunked.passages:  # it would be listed, but no search could ever find it
                    raise LoadError(job.path, "only headings, no text under them (nothing to search)")
            except FileVanishedError as exc:
                item.outcome = FileError(shown, exc.reason, failed=False)
            except FileChangedError as exc:  # not recorded: the next build reads it again
                item.outcome = FileError(shown, exc.reason)
            except LoadError as exc:
                item.outcome = FileError(shown, exc.reason)
                if item.size is None:  # refused before reading: recorded, so the next build does not retry it
                    try:
                        st = job.path.stat()
                        item.size, item.mtime_ns = st.st_size, st.st_mtime_ns
                    except OSError:
                        pass
            except OSError as exc:
                item.outcome = FileError(shown, f"cannot read: {exc.strerror or exc}")
            except Exception as exc:  # a bug on one odd file must not lose the others; reported by name
                item.outcome = FileError(shown, f"internal error while reading: {type(exc).__name__}: {exc}")
            else:
                if postings.rows and postings.rows + len(chunked.passages) > SEGMENT_ROWS:
                    postings = flush()  # a segment's rows stay under SEGMENT_ROWS: they fit its row type
                filed = postings.add(chunked, job.fid, analysis.fold(chunked.document.body))
                for row in index_rows(chunked, job.fid, filed):  # the same words, not cut again
                    writer.add(**row)
                if postings.rows >= SEGMENT_ROWS or postings.text_bytes >= SEGMENT_TEXT_BYTES:
                    postings = flush()
                doc_json = chunked_to_json(chunked)
                (tmp / doc_file(job.doc_id)).write_bytes(document_bytes(doc_json))
                item.outcome = _doc_summary(doc_json)
            items.append(item)
            tick(shown)
    if postings.rows:
        flush()
    return _Share(items, writer.segments, text_segments)


def file_time_budget() -> float:
    """Seconds one file may take to be read, decoded and chunked (``$KB_FILE_TIME_BUDGET``, 0: no limit)."""
    try:
        return max(0.0, float(os.environ.get("KB_FILE_TIME_BUDGET", FILE_TIME_BUDGET)))
    except ValueError:
        return FILE_TIME_BUDGET


class _time_budget:
    """Raise ``LoadError`` in the block when it runs over :func:`file_time_budget` (``SIGALRM``: in a
    worker process, or the main thread of a one-process build; elsewhere, checked when the block ends).

    Only the pure steps (read, decode, chunk) run under it: an interruption there loses nothing. The
    analysis after it is linear in the passages (each at most a few hundred characters), so bounded too.
    """

    def __init__(self, path: Path) -> None:
        self.path, self.budget, self.started, self.previous = path, file_time_budget(), 0.0, None

    def _expired(self, *_args: object) -> None:
        raise LoadError(self.path, f"took over {self.budget:g} s to read and chunk (the time budget of one file, "
                                   "$KB_FILE_TIME_BUDGET); skipped")

    def __enter__(self) -> _time_budget:
        import threading

        self.started = time.monotonic()
        if self.budget and threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGALRM, self._expired)
            signal.setitimer(signal.ITIMER_REAL, self.budget)
        return self

    def __exit__(self, exc_type, *_exc: object) -> None:
        if self.previous is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        if exc_type is None and self.budget and time.monotonic() - self.started > self.budget:
            self._expired()


def index_rows(chunked: Chunked, fid: int, filed: list[textindex.Filed]) -> list[dict]:
    """The Whoosh documents for one chunked document, from the words its passages were ``filed``
    under in the text index (:meth:`kb.engine.segwriter.SegmentBuilder.add`): Whoosh indexes a list of
    strings as tokens (positions 0, 1, 2 …). The passage's text is stored once, by the text index
    (its folded text and what folding changed, :mod:`kb.engine.unfold`), not in Whoosh too."""
    return [{"passage_id": p.passage_id, "doc_id": p.doc_id, "pnum": (fid << ngrams.PNUM_SHIFT) | p.ordinal,
             "content": f.words, "heading": f.meta,
             "data": {"sp": list(p.section_path), "a": p.anchor,  # title and date: the manifest's, once per document
                      "sa": p.section_anchor, "o": p.ordinal, "y": p.year}}
            for f in filed for p in (f.passage,)]
