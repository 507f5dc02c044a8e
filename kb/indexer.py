"""Corpus folders → index folder: incremental, parallel, atomic.

Layout of the index folder::

    index/CURRENT          name of the version being served (replaced atomically)
    index/v-<stamp>/       a complete version: Whoosh files, manifest.json, docs/<doc_id>.json
    index/tmp-<stamp>/     a build in progress (removed, or left by a killed build and cleaned up)
    index/.lock            held by the one build allowed at a time

A build never touches the version being served: it writes a new version folder (starting from
hard links to the current one when only some files changed), then swaps ``CURRENT``. A reader sees
the old version or the new one, never a mix; a build killed at any point leaves ``CURRENT`` alone.

Loading, chunking and analysis run in worker processes; the main process only writes postings.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index

from kb import analysis
from kb.chunker import chunk
from kb.errors import BuildFailedError, IndexBusyError, IndexMissingError, KbError, LoadError
from kb.loaders import SUFFIXES, load_document
from kb.models import Chunked, Section
from kb.schema import build_schema

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
KEEP_VERSIONS = 2  # the current one and the one before it, for readers still holding it


@dataclass
class FileError:
    path: str
    reason: str


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

    def summary(self) -> str:
        mode = "full" if self.full else "incremental"
        if self.up_to_date:
            return f"index up to date: {self.documents} documents, {self.passages} passages ({self.seconds:.2f} s)"
        rate = self.bytes_read / 2**20 / self.seconds if self.seconds else 0.0
        return (f"built {mode}: {self.documents} documents, {self.sections} sections, {self.passages} passages "
                f"in {self.seconds:.1f} s ({rate:.1f} MB/s); added {self.added}, changed {self.changed}, "
                f"deleted {self.deleted}, unchanged {self.unchanged}, failed {len(self.errors)}")


ProgressFn = Callable[[int, int, str], None]


def build_index(corpus_dirs: Iterable[Path], index_dir: Path, *, full: bool = False, strict: bool = False,
                workers: int | None = None, progress: ProgressFn | None = None,
                wait: bool = False) -> BuildReport:
    """Bring ``index_dir`` up to date with the files under ``corpus_dirs``."""
    started = time.perf_counter()
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    roots = [Path(d) for d in corpus_dirs]
    for root in roots:
        if not root.is_dir():
            raise KbError(f"corpus folder not found: {root}")
    with _build_lock(index_dir, wait=wait):
        _clean_stale(index_dir)
        current = current_version(index_dir, required=False)
        old = read_manifest(current) if current else None
        if old and (old.get("fingerprint") != analysis.dictionary_fingerprint()
                    or old.get("format") != FORMAT_VERSION):
            old = None  # the analyzer or the layout changed: tokens in the old index are stale
        report = BuildReport(full=full or old is None)
        plan = _plan(roots, None if report.full else old, report)
        if not report.full and not plan.to_index and not plan.deleted and current is not None:
            report.up_to_date = True
            report.documents = len(old["docs"])
            report.passages = sum(d["passages"] for d in old["docs"].values())
            report.seconds = time.perf_counter() - started
            return report
        stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
        tmp = index_dir / f"tmp-{stamp}"
        try:
            report = _write_version(tmp, current, old, plan, report, workers, progress, strict)
            final = index_dir / f"v-{stamp}"
            os.replace(tmp, final)
            _fsync_dir(index_dir)
            _set_current(index_dir, final.name)
            report.version = final.name
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _prune(index_dir, keep=final.name)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Plan:
    to_index: list[tuple[Path, Path, str]]  # (path, root, key)
    kept: dict[str, dict]  # key → manifest file record, for unchanged files
    deleted: list[str]  # doc ids to remove


def _file_key(path: Path) -> str:
    return str(path.resolve())


def iter_corpus(roots: list[Path]) -> Iterator[tuple[Path, Path]]:
    """Every readable-looking corpus file as (path, root), in a stable order; hidden files skipped."""
    for root in roots:
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if any(part.startswith(".") for part in rel.parts):
                continue
            if path.is_file() and path.suffix.lower() in SUFFIXES:
                yield path, root


def _plan(roots: list[Path], old: dict | None, report: BuildReport) -> _Plan:
    old_files: dict[str, dict] = dict(old["files"]) if old else {}
    plan = _Plan([], {}, [])
    for path, root in iter_corpus(roots):
        key = _file_key(path)
        rec = old_files.pop(key, None)
        try:
            st = path.stat()
        except OSError:
            st = None
        if rec and st and rec["size"] == st.st_size and rec["mtime_ns"] == st.st_mtime_ns:
            plan.kept[key] = rec
            if rec.get("error"):  # failed before and not touched since: say so again, don't retry
                report.errors.append(FileError(str(path), rec["error"]))
            continue
        if rec and st and rec.get("doc_id"):
            try:
                if _sha1_file(path) == rec["sha1"]:
                    plan.kept[key] = dict(rec, mtime_ns=st.st_mtime_ns)  # touched, not changed
                    continue
            except OSError:
                pass
            plan.deleted.append(rec["doc_id"])
            report.changed += 1
        elif rec is None:
            report.added += 1
        plan.to_index.append((path, root, key))
    for rec in old_files.values():
        if rec.get("doc_id"):
            plan.deleted.append(rec["doc_id"])
            report.deleted += 1
    report.unchanged = sum(1 for rec in plan.kept.values() if rec.get("doc_id"))
    return plan


def _sha1_file(path: Path) -> str:
    import hashlib

    digest = hashlib.sha1()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_version(tmp: Path, current: Path | None, old: dict | None, plan: _Plan, report: BuildReport,
                   workers: int | None, progress: ProgressFn | None, strict: bool) -> BuildReport:
    docs_dir = tmp / "docs"
    if report.full or current is None:
        docs_dir.mkdir(parents=True)
        ix = whoosh_index.create_in(str(tmp), build_schema())
        kept_docs: dict[str, dict] = {}
    else:
        _link_copy(current, tmp)
        ix = whoosh_index.open_dir(str(tmp))
        kept_docs = {k: v for k, v in old["docs"].items() if k not in set(plan.deleted)}
        for doc_id in plan.deleted:
            (docs_dir / f"{doc_id}.json").unlink(missing_ok=True)
    files = dict(plan.kept)
    docs = dict(kept_docs)
    writer = ix.writer(limitmb=256)
    try:
        for doc_id in plan.deleted:
            writer.delete_by_term("doc_id", doc_id)
        total = len(plan.to_index)
        for done, (item, result) in enumerate(_prepare_all(plan.to_index, workers), start=1):
            path, root, key = item
            if progress:
                progress(done, total, str(path))
            if isinstance(result, FileError):
                report.errors.append(result)
                try:
                    st = path.stat()
                    files[key] = {"doc_id": None, "error": result.reason, "size": st.st_size,
                                  "mtime_ns": st.st_mtime_ns, "path": str(path)}
                except OSError:
                    pass  # gone or unreadable: it is retried next time
                continue
            doc_json, rows, raw_sha1, size, mtime_ns = result
            doc_id = doc_json["document"]["doc_id"]
            if doc_id in docs:
                other = docs[doc_id].get("path", "?")
                report.errors.append(FileError(str(path), f"same document id '{doc_id}' as {other}; skipped"))
                continue
            for row in rows:
                writer.add_document(**row)
            (docs_dir / f"{doc_id}.json").write_text(json.dumps(doc_json, ensure_ascii=False), encoding="utf-8")
            docs[doc_id] = _doc_summary(doc_json)
            files[key] = {"doc_id": doc_id, "sha1": raw_sha1, "size": size, "mtime_ns": mtime_ns,
                          "path": str(path)}
            report.bytes_read += size
        if strict and report.errors:
            writer.cancel()
            raise BuildFailedError(f"{len(report.errors)} file(s) could not be indexed (--strict): "
                                   + "; ".join(f"{e.path}: {e.reason}" for e in report.errors[:5]))
        # a full build ends in one segment; an incremental one lets Whoosh merge small segments
        writer.commit(optimize=report.full)
    except BaseException:
        if not getattr(writer, "is_closed", True):
            writer.cancel()
        raise
    finally:
        ix.close()
    report.documents = len(docs)
    report.passages = sum(d["passages"] for d in docs.values())
    report.sections = sum(d["sections"] for d in docs.values())
    manifest = {
        "format": FORMAT_VERSION,
        "fingerprint": analysis.dictionary_fingerprint(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "files": files,
        "docs": docs,
        "errors": [asdict(e) for e in report.errors],
    }
    _write_json_durably(tmp / MANIFEST, manifest)
    return report


def _prepare_all(items: list[tuple[Path, Path, str]], workers: int | None):
    """Yield (item, prepared-or-FileError) in input order, preparing in worker processes."""
    if not items:
        return
    n = workers if workers is not None else min(os.cpu_count() or 1, 4)
    args = [(str(p), str(r)) for p, r, _k in items]
    if n <= 1 or len(items) < 4:
        for item, arg in zip(items, args):
            yield item, prepare_file(*arg)
        return
    with ProcessPoolExecutor(max_workers=n) as pool:
        for item, result in zip(items, pool.map(_prepare_star, args, chunksize=4)):
            yield item, result


def _prepare_star(arg: tuple[str, str]):
    return prepare_file(*arg)


def prepare_file(path_str: str, root_str: str):
    """Worker: one file → (doc JSON, index rows, sha1, size, mtime) or a ``FileError``."""
    path, root = Path(path_str), Path(root_str)
    try:
        st = path.stat()
        raw_sha1 = _sha1_file(path)
        document = load_document(path, root)
        chunked = chunk(document)
    except LoadError as exc:
        return FileError(path_str, exc.reason)
    except OSError as exc:
        return FileError(path_str, f"cannot read: {exc.strerror or exc}")
    except Exception as exc:  # a bug on one odd file must not lose the others; it is reported by name
        return FileError(path_str, f"internal error while reading: {type(exc).__name__}: {exc}")
    return chunked_to_json(chunked), index_rows(chunked), raw_sha1, st.st_size, st.st_mtime_ns


def index_rows(chunked: Chunked) -> list[dict]:
    """The Whoosh documents for one chunked document, text fields pre-analysed."""
    doc = chunked.document
    year = str(doc.year) if doc.year else ""
    rows = []
    meta_cache: dict[tuple[str, ...], tuple[list[str], list[str]]] = {}
    for p in chunked.passages:
        folded = analysis.fold(p.text)
        meta = meta_cache.get(p.section_path)
        if meta is None:
            meta_text = analysis.fold(" ".join((doc.title,) + p.section_path))
            meta = ([t.text for t in analysis.words(meta_text, folded=True)],
                    [t.text for t in analysis.bigrams(meta_text, folded=True)])
            meta_cache[p.section_path] = meta
        rows.append({
            "passage_id": p.passage_id,
            "doc_id": p.doc_id,
            "year": year,
            "content": [t.text for t in analysis.words(folded, folded=True)],
            "_stored_content": p.text,
            "content_bi": [t.text for t in analysis.bigrams(folded, folded=True)],
            "meta": meta[0],
            "meta_bi": meta[1],
            "data": {"t": doc.title, "d": doc.date, "sp": list(p.section_path), "a": p.anchor,
                     "sa": p.section_anchor, "o": p.ordinal},
        })
    return rows


def section_to_json(s: Section) -> dict:
    return {"number": s.number, "marker": s.marker, "title": s.title, "anchor": s.anchor, "level": s.level,
            "repaired": s.repaired, "children": [section_to_json(c) for c in s.children]}


def chunked_to_json(chunked: Chunked) -> dict:
    doc = chunked.document
    return {
        "document": {"doc_id": doc.doc_id, "path": doc.path, "title": doc.title, "date": doc.date,
                     "source": doc.source, "breadcrumb": doc.breadcrumb, "sha1": doc.sha1, "size": doc.size},
        "body": doc.body,
        "preface": chunked.preface,
        "sections": [section_to_json(s) for s in chunked.sections],
        "passages": [{"passage_id": p.passage_id, "anchor": p.anchor, "start": p.start, "end": p.end,
                      "section_anchor": p.section_anchor, "section_path": list(p.section_path)}
                     for p in chunked.passages],
    }


def _doc_summary(doc_json: dict) -> dict:
    d = doc_json["document"]

    def count(sections: list[dict]) -> int:
        return sum(1 + count(s["children"]) for s in sections)

    return {"doc_id": d["doc_id"], "title": d["title"], "date": d["date"], "source": d["source"],
            "path": d["path"], "passages": len(doc_json["passages"]),
            "sections": count([s for s in doc_json["sections"] if s["anchor"] != "s0"])}


# --- version folders ---------------------------------------------------------------------------

def current_version(index_dir: Path, required: bool = True) -> Path | None:
    """The folder of the version being served, or ``None``/``IndexMissingError`` when there is none."""
    index_dir = Path(index_dir)
    try:
        name = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except OSError:
        name = ""
    path = index_dir / name if name else None
    if path is None or not name.startswith("v-") or not (path / MANIFEST).is_file():
        if required:
            raise IndexMissingError(f"no index in {index_dir}: run `kb build` (or `make serve`) first")
        return None
    return path


def read_manifest(version_dir: Path) -> dict:
    return json.loads((Path(version_dir) / MANIFEST).read_text(encoding="utf-8"))


def _set_current(index_dir: Path, name: str) -> None:
    tmp = index_dir / f"CURRENT.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / "CURRENT")
    _fsync_dir(index_dir)


def _write_json_durably(path: Path, data: dict) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
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


def _prune(index_dir: Path, keep: str) -> None:
    versions = sorted((p for p in index_dir.iterdir() if p.is_dir() and p.name.startswith("v-")),
                      key=lambda p: p.stat().st_mtime)
    old = [p for p in versions if p.name != keep]
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
