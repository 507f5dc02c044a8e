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

import os
import re
import shutil
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from whoosh import index as whoosh_index  # creating an empty index (public API); the rest: kb.engine.whooshio

from kb.text import analysis
from kb.build import successors
from kb.engine import segwriter, whooshio
from kb.errors import BuildFailedError, IndexDamagedError, KbError
from kb.store.manifest import MANIFEST, current_version, manifest_bytes, read_manifest, verify_version
from kb.load.files import doc_id_for, printable_path
from kb.load.readers import legacy
from kb.engine.merge import merge_plan
from kb.engine.schema import build_schema
from kb.store.folders import (_build_lock, _checksums, _clean_stale, _fsync_dir, _link_copy, _prune, _set_current,
                              _write_durably)
from kb.build.plan import BuildReport, FileError, PauseFn, ProgressFn, _Plan, _plan
from kb.build.workers import _Job, _run_workers
from kb.store.components import IndexComponent, VersionComponent, doc_file

FORMAT_VERSION = 13  # 13: a line marked up as a heading whose only stop ends it (### （七）人口和就业。) is a heading, not run-in text, and a run-in one enters its passage without its "## "; 12: a section reviewing a five-year plan is about its last year (一、“六五”计划执行情况 → 1985); 11: a table's continuation passages file its caption with their headings; 10: a passage's text stored once, by the text index (unfold.*), not in Whoosh too; 9: documents' JSON gzipped, Whoosh postings pickled with protocol 4; 8: a document's JSON keeps the text between passages only
# (kb.store.doctext); character pairs see through line breaks too (kb.text.ngrams.SEE_THROUGH);
# 7: Whoosh indexes content and heading (kb.engine.schema); 6: 全国 for national issuers;
# 5: place, type and years of documents, year of passages (kb.chunk.docmeta)
MAX_SEGMENTS = 8  # text-index segments a version holds at most: the smallest are merged


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
            (index_dir / f"{IndexComponent.CURRENT.value}.{os.getpid()}.tmp").unlink(missing_ok=True)
            raise
        _prune(index_dir, keep=final.name, previous=current.name if current else None)
    report.seconds = time.perf_counter() - started
    return report


def _write_version(tmp: Path, current: Path | None, old: dict | None, plan: _Plan, report: BuildReport,
                   workers: int | None, progress: ProgressFn | None, strict: bool,
                   pause: PauseFn | None = None) -> BuildReport:
    fresh = report.full or current is None or old is None
    if fresh:
        VersionComponent.DOCS.path(tmp).mkdir(parents=True)
        whoosh_index.create_in(str(tmp), build_schema()).close()
        docs: dict[str, dict] = {}
        next_fid = 1
        text_segments: list[str] = []
    else:
        _link_copy(current, tmp)
        deleted = set(plan.deleted)
        docs = {k: v for k, v in old["docs"].items() if k not in deleted}
        for doc_id in deleted:
            (tmp / doc_file(doc_id)).unlink(missing_ok=True)
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
            plan.uncount(report, key)
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
                plan.uncount(report, item.key)
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
    """The text-index segments of the version being written → after the merges :func:`merge_plan`
    picks from their sizes (at most ``MAX_SEGMENTS``): a group with live rows merged into one segment,
    a group with none dropped."""
    if not names:
        return names
    sizes = [segwriter.segment_rows(tmp / n, live) for n in names]
    kept, made = list(names), []
    for k, group in enumerate(merge_plan(sizes, max_segments=MAX_SEGMENTS)):
        chosen = [names[i] for i in group]
        kept = [n for n in kept if n not in chosen]
        if not any(sizes[i][1] for i in group):  # nothing alive in them: drop them
            for name in chosen:
                shutil.rmtree(tmp / name)
            continue
        merged = f"seg-{tmp.name.removeprefix('tmp-')}-merged" + (f"-{k}" if k else "")
        segwriter.merge_segments(tmp, chosen, live, into=merged)
        made.append(merged)
    return kept + made


# --- version folders ---------------------------------------------------------------------------

# --- checksums: every file of a version, its size and SHA-1, in the manifest (read by kb.store.manifest) ------
