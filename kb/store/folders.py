"""Version folders: a version written → durable files, CURRENT swapped, old versions removed, one build at a time."""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

from kb.errors import IndexBusyError
from kb.store.manifest import MANIFEST, sha1_path, version_files
from kb.store.components import IndexComponent


KEEP_VERSIONS = 2  # the current one and the one before it, for readers still holding it


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
    tmp = index_dir / f"{IndexComponent.CURRENT.value}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, IndexComponent.CURRENT.path(index_dir))
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
        elif path.name.startswith(IndexComponent.CURRENT.value + ".") and path.name.endswith(".tmp"):
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
        self.path = IndexComponent.LOCK.path(index_dir)
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
