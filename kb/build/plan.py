"""Plan a build: corpus folders + the served manifest → the files to index, to keep and to delete."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kb.errors import LoadError
from kb.load.files import SUFFIXES, doc_id_for, printable_path, read_corpus_file


@dataclass
class FileError:
    """A corpus file that did not go in, and why; ``path`` is printable (:func:`kb.load.files.printable_path`).
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


@dataclass
class _Plan:
    to_index: list[tuple[Path, Path, str]]  # (path, root, key)
    kept: dict[str, dict]  # key → manifest file record, for unchanged files
    deleted: list[str]  # doc ids to remove
    roots: list[Path] = field(default_factory=list)  # the corpus folders: nothing outside them is read
    outside_ok: bool = False  # --follow-outside-links: except what a symlink leads to
    added: set[str] = field(default_factory=set)  # keys of to_index new to the index
    changed: set[str] = field(default_factory=set)  # … and those whose old version they replace

    def uncount(self, report: BuildReport, key: str) -> None:
        """A file of ``to_index`` failed: it was not added (or, changed, its old version is now deleted)."""
        if key in self.changed:
            report.changed -= 1
            report.deleted += 1
        elif key in self.added:
            report.added -= 1


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
            plan.changed.add(key)
            report.changed += 1
        elif rec is None or not rec.get("doc_id"):  # new, or failed before and changed since
            plan.added.add(key)
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
            plan.added.add(key)
            report.added += 1
            plan.to_index.append((path, root, key))
    report.unchanged = sum(1 for rec in plan.kept.values() if rec.get("doc_id"))
    return plan
