"""Corpus folders → index folder: incremental, parallel, atomic.

Layout of the index folder::

    index/CURRENT          name of the version being served (replaced atomically)
    index/v-<stamp>/       a complete version: Whoosh files (the index of record: passages stored and
                           indexed, :mod:`kb.engine.schema`), seg-*/ (the accelerator's numpy postings,
                           :mod:`kb.engine.textindex`), manifest.json, docs/<doc_id>.json,
                           redirects.json (old passage ids → successors, :mod:`kb.build.successors`)
    index/tmp-<stamp>/     a build in progress (removed, or left by a killed build and cleaned up)
    index/.lock            held by the one build allowed at a time

A build never touches the version being served: it writes a new version folder (starting from
hard links to the current one when only some files changed), then swaps ``CURRENT``. A reader sees
the old version or the new one, never a mix; a build killed at any point leaves ``CURRENT`` alone.

Work is shared out to worker processes by file size; each loads, chunks and analyses its files
once and writes, from the same words, a Whoosh segment (the index of record: stored passages and
their postings, :mod:`kb.engine.schema`) and text-index segments (the accelerator's numpy postings,
:mod:`kb.engine.textindex`) of its own. The parent then commits the Whoosh segments in one new table of
contents (:mod:`kb.engine.whooshio`) and lists the text-index segments in the manifest, merging the
smallest when there are more than ``MAX_SEGMENTS``.
"""

from __future__ import annotations

import fcntl
import json
import multiprocessing as mp
import os
import pickle
import queue
import re
import shutil
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index  # creating an empty index (public API); the rest: kb.engine.whooshio

from kb.text import analysis, ngrams
from kb.build import successors
from kb.engine import textindex, whooshio
from kb.chunk.chunker import chunk
from kb.chunk.docmeta import describe
from kb.errors import (BuildFailedError, FileChangedError, FileVanishedError, IndexBusyError, IndexDamagedError,
                       IndexMissingError, KbError, LoadError)
from kb.store.manifest import (MANIFEST, check_index, current_version, manifest_bytes, read_manifest, sha1_path, verify_version,
                      version_files)
from kb.load.loaders import MAX_OFFICE_BYTES, SUFFIXES, doc_id_for, load_document, printable_path, read_corpus_file
from kb.load.readers import legacy
from kb.models import Chunked, Section
from kb.engine.schema import build_schema

FORMAT_VERSION = 7  # 7: Whoosh indexes content and heading (kb.engine.schema); 6: 全国 for national issuers;
# 5: place, type and years of documents, year of passages (kb.chunk.docmeta)
MAX_SEGMENTS = 8  # text-index segments a version holds at most: the smallest are merged
SEGMENT_ROWS = 100_000  # a worker starts a new segment after this many passages …
SEGMENT_TEXT_BYTES = 64 << 20  # … or this much passage text (bounds a worker's memory: ~600 MB)
KEEP_VERSIONS = 2  # the current one and the one before it, for readers still holding it
FILE_TIME_BUDGET = 120.0  # seconds to read, decode and chunk one file ($KB_FILE_TIME_BUDGET); then it is skipped


@dataclass
class FileError:
    """A corpus file that did not go in, and why; ``path`` is printable (:func:`kb.load.loaders.printable_path`).
    ``failed`` is false for a file that vanished during the build: reported, not a failure."""

    path: str
    reason: str
    failed: bool = True


@dataclass
class BuildReport:
    """What one build did; the CLI prints its summary line."""

    documents: int = 0
    sections: int = 0
    passages: int = 0
    seconds: float = 0.0
    bytes_read: int = 0
    added: int = 0
    changed: int = 0
    deleted: int = 0
    unchanged: int = 0
    full: bool = False
    up_to_date: bool = False
    version: str = ""
    errors: list[FileError] = field(default_factory=list)
    damage: list[str] = field(default_factory=list)  # what was found damaged in the served version (rebuilt)

    @property
    def failures(self) -> list[FileError]:
        return [e for e in self.errors if e.failed]

    def summary(self) -> str:
        mode = "full" if self.full else "incremental"
        repaired = (f"; the served version was damaged ({'; '.join(self.damage[:3])}), rebuilt in full"
                    if self.damage else "")
        if self.up_to_date:
            return f"index up to date: {self.documents} documents, {self.passages} passages ({self.seconds:.2f} s)"
        rate = self.bytes_read / 2**20 / self.seconds if self.seconds else 0.0
        return (f"built {mode}: {self.documents} documents, {self.sections} sections, {self.passages} passages "
                f"in {self.seconds:.1f} s ({rate:.1f} MB/s); added {self.added}, changed {self.changed}, "
                f"deleted {self.deleted}, unchanged {self.unchanged}, failed {len(self.failures)}{repaired}")


ProgressFn = Callable[[int, int, str], None]
PauseFn = Callable[[str], None]  # called with a moment of the build ("commit"): see build_index


def build_index(corpus_dirs: Iterable[Path], index_dir: Path, *, full: bool = False, strict: bool = False,
                workers: int | None = None, progress: ProgressFn | None = None,
                wait: bool = False, follow_outside_links: bool = False,
                pause: PauseFn | None = None) -> BuildReport:
    """Bring ``index_dir`` up to date with the files under ``corpus_dirs``.

    ``follow_outside_links``: read what symbolic links lead to outside the corpus folders (files, and
    folders walked into) instead of refusing them; loops and dangling links are still skipped.

    ``pause(moment)`` is called at fixed moments of the build (``"commit"``: the Whoosh writer held,
    inside the commit), so that a test can hold the build still there (``kb build --debug-pause``).

    A full disk or an index folder that cannot be written fails the build with ``BuildFailedError``
    saying so: the served version is left whole and served, and the new one's files are removed."""
    index_dir = Path(index_dir)
    try:
        return _build(corpus_dirs, index_dir, full=full, strict=strict, workers=workers, progress=progress,
                      wait=wait, follow_outside_links=follow_outside_links, pause=pause)
    except OSError as exc:
        raise BuildFailedError(_write_failure(index_dir, exc)) from exc


def _write_failure(index_dir: Path, exc: OSError) -> str:
    import errno

    where = f"the index folder {index_dir.name or index_dir}"
    short_write = exc.errno is None and re.search(r"\d+ requested and \d+ written", str(exc))  # numpy's ENOSPC
    if exc.errno in (errno.ENOSPC, errno.EDQUOT) or short_write:
        return (f"no space left on the disk of {where} ({exc.strerror or exc}); the new version was removed. "
                "Free space (a full build needs about as much again as the served version) and build again")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"{where} cannot be written ({exc.strerror}): make it writable, or pass --index"
    return f"writing {where} failed ({exc.strerror or exc})"


def _build(corpus_dirs: Iterable[Path], index_dir: Path, *, full: bool, strict: bool, workers: int | None,
           progress: ProgressFn | None, wait: bool, follow_outside_links: bool = False,
           pause: PauseFn | None = None) -> BuildReport:
    started = time.perf_counter()
    index_dir.mkdir(parents=True, exist_ok=True)
    roots = [Path(d) for d in corpus_dirs]
    for root in roots:
        if not root.is_dir():
            raise KbError(f"corpus folder not found: {printable_path(root)}")
    with _build_lock(index_dir, wait=wait):
        _clean_stale(index_dir)
        try:
            current = current_version(index_dir, required=False)
            old = read_manifest(current) if current else None
        except IndexDamagedError as exc:  # a garbage CURRENT or manifest: nothing of it can be reused
            current, old, damage = None, None, [str(exc)]
        else:
            damage = verify_version(current, old, full=True) if current and old else []
            if damage:
                old = None  # not one file of a damaged version is linked into the next one
        if old and (old.get("fingerprint") != analysis.dictionary_fingerprint()
                    or old.get("format") != FORMAT_VERSION):
            old = None  # the analyzer or the layout changed: tokens in the old index are stale
        report = BuildReport(full=full or old is None, damage=damage)
        plan = _plan(roots, None if report.full else old, report, follow_outside_links)
        if not report.full and not plan.to_index and not plan.deleted and current is not None:
            report.up_to_date = True
            report.documents = len(old["docs"])
            report.passages = sum(d["passages"] for d in old["docs"].values())
            report.seconds = time.perf_counter() - started
            return report
        stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
        tmp = index_dir / f"tmp-{stamp}"
        try:
            report = _write_version(tmp, current, old, plan, report, workers, progress, strict, pause)
            final = index_dir / f"v-{stamp}"
            os.replace(tmp, final)
            _fsync_dir(index_dir)
            _set_current(index_dir, final.name)
            report.version = final.name
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            (index_dir / f"CURRENT.{os.getpid()}.tmp").unlink(missing_ok=True)
            raise
        _prune(index_dir, keep=final.name, previous=current.name if current else None)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Plan:
    to_index: list[tuple[Path, Path, str]]  # (path, root, key)
    kept: dict[str, dict]  # key → manifest file record, for unchanged files
    deleted: list[str]  # doc ids to remove
    roots: list[Path] = field(default_factory=list)  # the corpus folders: nothing outside them is read
    outside_ok: bool = False  # --follow-outside-links: except what a symlink leads to


def _file_key(path: Path, root: Path) -> str:
    """The manifest's key of a corpus file: its absolute path, the corpus folder resolved but not the
    file (a symlink and its target are two files). A name that is not UTF-8 is keyed by its bytes."""
    key = str(Path(os.path.realpath(root)) / Path(path).relative_to(root))
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        key = "bytes:" + os.fsencode(key).hex()
    return key


def iter_corpus(roots: list[Path], skipped: list[FileError] | None = None,
                follow_outside_links: bool = False) -> Iterator[tuple[Path, Path]]:
    """Every corpus file as (path, root), in a stable order; hidden files and folders skipped.

    The corpus folder is untrusted input. Only regular files are listed: a FIFO, device or socket with
    a corpus suffix is skipped, and so is a symbolic link that loops, dangles, or leads out of every
    corpus folder; each of these is appended to ``skipped`` with the reason. A symlink to a file in a
    corpus folder is listed; symlinked folders are never walked into (a folder inside the corpus is
    walked anyway, one outside is refused). Any depth and any file name is walked.

    ``follow_outside_links``: a link out of every corpus folder is followed instead (a folder is walked
    into, each real folder once, so a link back up a walked folder is a loop, skipped).
    """
    real_roots = [Path(os.path.realpath(r)) for r in roots]
    walked_outside: set[Path] = set()

    def note(path: Path, reason: str) -> None:
        if skipped is not None:
            skipped.append(FileError(printable_path(path), reason))

    def inside(target: Path) -> bool:
        return any(target == r or r in target.parents for r in real_roots)

    for root in roots:
        found: list[Path] = []
        stack = [Path(root)]
        while stack:  # iterative: a folder 1,000 levels deep is no recursion limit
            folder = stack.pop()
            try:
                with os.scandir(folder) as entries:
                    listed = list(entries)
            except OSError as exc:
                note(folder, f"cannot list folder: {exc.strerror or exc}; skipped")
                continue
            for entry in listed:
                if entry.name.startswith("."):
                    continue
                path = folder / entry.name
                wanted = path.suffix.lower() in SUFFIXES
                try:
                    if entry.is_symlink():
                        try:
                            target = Path(os.path.realpath(path, strict=True))
                        except FileNotFoundError:
                            if wanted:
                                note(path, "dangling symbolic link (its target does not exist); skipped")
                            continue
                        except OSError as exc:  # ELOOP
                            if wanted:
                                note(path, f"symbolic link loop ({exc.strerror}); skipped")
                            continue
                        if target.is_dir():
                            if inside(target):
                                pass  # walked where it is
                            elif not follow_outside_links:
                                note(path, "symbolic link to a folder outside the corpus folder; refused")
                            elif target in walked_outside or any(target in w.parents for w in walked_outside):
                                note(path, "symbolic link loop (a folder walked already); skipped")
                            else:
                                walked_outside.add(target)
                                stack.append(path)
                            continue
                        if not wanted:
                            continue
                        if not inside(target) and not follow_outside_links:
                            note(path, "symbolic link to a file outside the corpus folder; refused")
                        elif not target.is_file():
                            note(path, "symbolic link to something not a regular file; skipped")
                        else:
                            found.append(path)
                    elif entry.is_dir(follow_symlinks=False):
                        stack.append(path)
                    elif wanted:
                        if entry.is_file(follow_symlinks=False):
                            found.append(path)
                        else:
                            note(path, f"not a regular file ({_kind(path)}); skipped")
                except OSError as exc:
                    note(path, f"cannot read: {exc.strerror or exc}; skipped")
        for path in sorted(found):
            yield path, root


def _kind(path: Path) -> str:
    import stat

    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return "unknown"
    return ("FIFO" if stat.S_ISFIFO(mode) else "device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "socket" if stat.S_ISSOCK(mode) else "special file")


def _plan(roots: list[Path], old: dict | None, report: BuildReport, follow_outside_links: bool = False) -> _Plan:
    old_files: dict[str, dict] = dict(old["files"]) if old else {}
    plan = _Plan([], {}, [], roots, follow_outside_links)
    clashed: list[tuple[Path, Path, str]] = []  # skipped for a doc id another file holds
    for path, root in iter_corpus(roots, report.errors, follow_outside_links):
        key = _file_key(path, root)
        rec = old_files.pop(key, None)
        try:
            st = path.stat()
        except OSError:
            st = None
        if rec and st and rec["size"] == st.st_size and rec["mtime_ns"] == st.st_mtime_ns:
            plan.kept[key] = rec
            if rec.get("clash"):
                clashed.append((path, root, key))
            elif rec.get("error"):  # failed before and not touched since: say so again, don't retry
                report.errors.append(FileError(printable_path(path), rec["error"]))
            continue
        if rec and st and rec.get("doc_id"):
            try:
                if read_corpus_file(path, () if plan.outside_ok else roots).sha1 == rec["sha1"]:
                    plan.kept[key] = dict(rec, mtime_ns=st.st_mtime_ns)  # touched, not changed
                    continue
            except LoadError:
                pass
            plan.deleted.append(rec["doc_id"])
            report.changed += 1
        elif rec is None or not rec.get("doc_id"):  # new, or failed before and changed since
            report.added += 1
        plan.to_index.append((path, root, key))
    for rec in old_files.values():
        if rec.get("doc_id"):
            plan.deleted.append(rec["doc_id"])
            report.deleted += 1
    # an unchanged file skipped for its id is tried again only once no other file holds that id
    held = {rec["doc_id"] for rec in plan.kept.values() if rec.get("doc_id")} - set(plan.deleted)
    held |= {doc_id_for(path, root) for path, root, _key in plan.to_index}
    for path, root, key in clashed:
        rec = plan.kept[key]
        if rec["clash"] in held:
            report.errors.append(FileError(printable_path(path), rec["error"]))
        else:
            del plan.kept[key]
            plan.to_index.append((path, root, key))
    report.unchanged = sum(1 for rec in plan.kept.values() if rec.get("doc_id"))
    return plan


def _write_version(tmp: Path, current: Path | None, old: dict | None, plan: _Plan, report: BuildReport,
                   workers: int | None, progress: ProgressFn | None, strict: bool,
                   pause: PauseFn | None = None) -> BuildReport:
    fresh = report.full or current is None or old is None
    if fresh:
        (tmp / "docs").mkdir(parents=True)
        whoosh_index.create_in(str(tmp), build_schema()).close()
        docs: dict[str, dict] = {}
        next_fid = 1
        text_segments: list[str] = []
    else:
        _link_copy(current, tmp)
        deleted = set(plan.deleted)
        docs = {k: v for k, v in old["docs"].items() if k not in deleted}
        for doc_id in deleted:
            (tmp / "docs" / f"{doc_id}.json").unlink(missing_ok=True)
        next_fid = int(old.get("next_fid", 1))
        text_segments = list(old.get("segments", []))
    files = dict(plan.kept)
    # ids are fixed before the work is shared out, so a clash is found whichever worker gets the file
    jobs: list[_Job] = []
    taken = set(docs)
    for path, root, key in plan.to_index:
        doc_id = doc_id_for(path, root)
        if doc_id in taken:
            other = docs.get(doc_id, {}).get("path") or next((printable_path(j.path) for j in jobs
                                                              if j.doc_id == doc_id), "?")
            reason = f"same document id '{doc_id}' as {other}; skipped"
            report.errors.append(FileError(printable_path(path), reason))
            try:  # recorded, so that the next builds do not read it again while the clash lasts
                st = path.stat()
                files[key] = {"doc_id": None, "fid": None, "error": reason, "clash": doc_id, "size": st.st_size,
                              "mtime_ns": st.st_mtime_ns, "path": printable_path(path)}
            except OSError:
                pass
            continue
        taken.add(doc_id)
        jobs.append(_Job(path, root, key, next_fid, doc_id, roots=tuple(plan.roots), outside_ok=plan.outside_ok))
        next_fid += 1
    converted = tmp / "converted"
    olds = [j for j in jobs if j.path.suffix.lower() in legacy.SUFFIXES]
    if olds:  # one LibreOffice call for all of them (~1.5 s start-up each otherwise)
        made = legacy.convert_batch([j.path for j in olds], converted)
        for job in olds:
            job.converted = made.get(job.path)
    try:
        shares = _run_workers(tmp, jobs, workers, progress)
    finally:
        shutil.rmtree(converted, ignore_errors=True)
    segments = []
    for share in shares:
        segments.extend(share.segments)
        text_segments.extend(share.text_segments)
        for item in share.items:
            if isinstance(item.outcome, FileError):
                report.errors.append(item.outcome)
                if item.size is not None:
                    files[item.key] = {"doc_id": None, "fid": None, "error": item.outcome.reason, "size": item.size,
                                       "mtime_ns": item.mtime_ns, "path": item.path}
                continue
            docs[item.outcome["doc_id"]] = item.outcome
            files[item.key] = {"doc_id": item.outcome["doc_id"], "fid": item.fid, "sha1": item.sha1,
                               "size": item.size, "mtime_ns": item.mtime_ns, "path": item.path}
            report.bytes_read += item.size or 0
    if strict and report.failures:
        raise BuildFailedError(f"{len(report.failures)} file(s) could not be indexed (--strict): "
                               + "; ".join(f"{e.path}: {e.reason}" for e in report.failures[:5]))
    whooshio.commit(tmp, segments, [] if fresh else [("doc_id", d) for d in plan.deleted], merge=not fresh,
                    pause=(lambda: pause("commit")) if pause else None)
    live = {rec["fid"] for rec in files.values() if rec.get("doc_id") and rec.get("fid")}
    text_segments = _merge_policy(tmp, text_segments, live)
    report.documents = len(docs)
    report.passages = sum(d["passages"] for d in docs.values())
    report.sections = sum(d["sections"] for d in docs.values())
    # old permalinks: removed passage ids → successors, carried from version to version (written
    # before the checksums, which cover every file of the version)
    old_docs = old["docs"] if old else (read_manifest(current).get("docs", {}) if current else {})
    successors.carry_forward(current, tmp, old_docs, docs, changed=None if fresh else plan.deleted)
    manifest = {
        "format": FORMAT_VERSION,
        "fingerprint": analysis.dictionary_fingerprint(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "next_fid": next_fid,
        "segments": text_segments,
        "files": files,
        "docs": docs,
        "errors": [asdict(e) for e in report.errors],
        "checksums": _checksums(tmp, current if not fresh else None, old if not fresh else None),
    }
    _write_durably(tmp / MANIFEST, manifest_bytes(manifest))  # with its own SHA-1: a changed byte is found
    return report


def _merge_policy(tmp: Path, names: list[str], live: set[int]) -> list[str]:
    """Keep at most ``MAX_SEGMENTS`` text-index segments: merge the smallest (the ones incremental
    builds add) together, with any segment whose rows are mostly dead (changed or deleted files)."""
    if not names:
        return names
    sizes = {n: textindex.segment_rows(tmp / n, live) for n in names}
    mostly_dead = [n for n in names if sizes[n][1] * 2 < sizes[n][0]]
    rest = sorted((n for n in names if n not in mostly_dead), key=lambda n: sizes[n][1])
    excess = len(names) - MAX_SEGMENTS + 1 if len(names) > MAX_SEGMENTS else 0
    chosen = mostly_dead + [n for n in rest[:max(0, excess - len(mostly_dead))]]
    if len(chosen) < 2 and not mostly_dead:
        return names
    if not any(sizes[n][1] for n in chosen):  # nothing alive in them: drop them
        for name in chosen:
            shutil.rmtree(tmp / name)
        return [n for n in names if n not in chosen]
    merged = f"seg-{tmp.name.removeprefix('tmp-')}-merged"
    textindex.merge_segments(tmp, chosen, live, into=merged)
    return [n for n in names if n not in chosen] + [merged]


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
    postings = textindex.SegmentBuilder()
    text_segments: list[str] = []

    def flush() -> None:  # bounded memory: a worker writes a segment every SEGMENT_ROWS passages
        name = f"seg-{tmp.name.removeprefix('tmp-')}-{worker}-{len(text_segments)}"
        postings.write(tmp / name)
        text_segments.append(name)
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
                filed = postings.add(chunked, job.fid, analysis.fold(chunked.document.body))
                for row in index_rows(chunked, job.fid, filed):  # the same words, not cut again
                    writer.add(**row)
                if postings.rows >= SEGMENT_ROWS or postings.text_bytes >= SEGMENT_TEXT_BYTES:
                    flush()
                    postings = textindex.SegmentBuilder()
                    writer.cut()  # the Whoosh segment ends where the text-index segment does
                doc_json = chunked_to_json(chunked)
                (tmp / "docs" / f"{job.doc_id}.json").write_text(json.dumps(doc_json, ensure_ascii=False),
                                                                 encoding="utf-8")
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
    under in the text index (:meth:`kb.engine.textindex.SegmentBuilder.add`): Whoosh indexes a list of
    strings as tokens (positions 0, 1, 2 …) and stores ``_stored_content``, the passage as written."""
    doc = chunked.document
    return [{"passage_id": p.passage_id, "doc_id": p.doc_id, "pnum": (fid << ngrams.PNUM_SHIFT) | p.ordinal,
             "content": f.words, "_stored_content": p.text, "heading": f.meta,
             "data": {"t": doc.title, "d": doc.date, "sp": list(p.section_path), "a": p.anchor,
                      "sa": p.section_anchor, "o": p.ordinal, "y": p.year}}
            for f in filed for p in (f.passage,)]


def section_to_json(s: Section) -> dict:
    return {"number": s.number, "marker": s.marker, "title": s.title, "anchor": s.anchor, "level": s.level,
            "repaired": s.repaired, "children": [section_to_json(c) for c in s.children]}


def chunked_to_json(chunked: Chunked) -> dict:
    doc = chunked.document
    return {
        "document": {"doc_id": doc.doc_id, "path": doc.path, "title": doc.title, "date": doc.date,
                     "source": doc.source, "breadcrumb": doc.breadcrumb, "sha1": doc.sha1, "size": doc.size,
                     "place": doc.place, "type": doc.doctype, "years": list(doc.years)},
        "body": doc.body,
        "preface": chunked.preface,
        "sections": [section_to_json(s) for s in chunked.sections],
        "passages": [{"passage_id": p.passage_id, "anchor": p.anchor, "start": p.start, "end": p.end,
                      "section_anchor": p.section_anchor, "section_path": list(p.section_path), "year": p.year}
                     for p in chunked.passages],
    }


def _doc_summary(doc_json: dict) -> dict:
    d = doc_json["document"]

    def count(sections: list[dict]) -> int:
        return sum(1 + count(s["children"]) for s in sections)

    return {"doc_id": d["doc_id"], "title": d["title"], "date": d["date"], "source": d["source"],
            "path": d["path"], "place": d["place"], "type": d["type"], "years": d["years"],
            "passages": len(doc_json["passages"]),
            "sections": count([s for s in doc_json["sections"] if s["anchor"] != "s0"])}


# --- version folders ---------------------------------------------------------------------------

# --- checksums: every file of a version, its size and SHA-1, in the manifest (read by kb.store.manifest) ------

def _checksums(version_dir: Path, previous: Path | None, old: dict | None) -> dict[str, list]:
    """{file: [size, sha1]} of a version being written; a file hard-linked from the previous version
    (the same inode) keeps the checksum recorded there instead of being read again."""
    known = (old or {}).get("checksums") or {}
    sums: dict[str, list] = {}
    for rel, path in version_files(version_dir):
        st = path.stat()
        entry = known.get(rel)
        if entry and previous is not None:
            try:
                prev = (previous / rel).stat()
                if (prev.st_ino, prev.st_dev, prev.st_size) == (st.st_ino, st.st_dev, st.st_size) == \
                        (st.st_ino, st.st_dev, entry[0]):
                    sums[rel] = entry
                    continue
            except OSError:
                pass
        sums[rel] = [st.st_size, sha1_path(path)]
    return sums


def _set_current(index_dir: Path, name: str) -> None:
    tmp = index_dir / f"CURRENT.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / "CURRENT")
    _fsync_dir(index_dir)


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_copy(src: Path, dst: Path) -> None:
    """Copy a version folder by hard links (Whoosh never rewrites a file it has written)."""

    def link(s: str, d: str) -> None:
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    shutil.copytree(src, dst, copy_function=link)
    # files this build rewrites must not be shared with the served version
    (dst / MANIFEST).unlink()


def _clean_stale(index_dir: Path) -> None:
    """Remove what a killed build left: temporary folders and pointer files (we hold the lock)."""
    for path in index_dir.iterdir():
        if path.name.startswith("tmp-") and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith("CURRENT.") and path.name.endswith(".tmp"):
            path.unlink(missing_ok=True)


def _prune(index_dir: Path, keep: str, previous: str | None = None) -> None:
    versions = sorted((p for p in index_dir.iterdir() if p.is_dir() and p.name.startswith("v-")),
                      key=lambda p: p.stat().st_mtime)
    # the version readers were on until the swap goes last (kept), even when a build killed between
    # its rename and the swap left a newer, never-served folder
    old = sorted((p for p in versions if p.name != keep), key=lambda p: p.name == previous)
    for path in old[: max(0, len(old) - (KEEP_VERSIONS - 1))]:
        shutil.rmtree(path, ignore_errors=True)


class _build_lock:
    """An exclusive ``flock`` on ``index/.lock``; the kernel drops it if the build is killed."""

    def __init__(self, index_dir: Path, wait: bool) -> None:
        self.path = index_dir / ".lock"
        self.wait = wait
        self.fh = None

    def __enter__(self) -> _build_lock:
        self.fh = open(self.path, "a+")
        flags = fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(self.fh, flags)
        except BlockingIOError:
            self.fh.seek(0)
            holder = self.fh.read().strip()
            self.fh.close()
            raise IndexBusyError(f"another build is running on {self.path.parent} ({holder or 'unknown pid'}); "
                                 "wait for it to finish or pass --wait") from None
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(f"pid {os.getpid()}\n")
        self.fh.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.fh is not None
        self.fh.seek(0)
        self.fh.truncate()
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()
