"""Corpus files on disk: a path in a corpus folder → its bytes read safely (no FIFO, no escape), its id and name."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from kb.errors import FileChangedError, FileVanishedError, LoadError


TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
OFFICE_SUFFIXES = (".docx", ".pdf", ".ofd", ".doc", ".wps", ".rtf")
SUFFIXES = TEXT_SUFFIXES + OFFICE_SUFFIXES
MAX_BYTES = 32 * 1024 * 1024  # a larger text "document" is a dump or a mistake, not a report
MAX_OFFICE_BYTES = 256 * 1024 * 1024  # a PDF or Word file carries images; its text is capped by the readers
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_ID_CHARS = 120  # docs/<doc_id>.json must fit a file name (255 bytes), and an id a URL


# shown escaped wherever a path is printed: C0/C1 controls (a newline would forge a log line) and the
# bidirectional overrides and isolates (U+202E shows the rest of a line reversed)
_UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable_path(path: object) -> str:
    """A path as it may be printed in a log line, a message or a page: undecodable bytes as ``\\xNN``,
    control and bidi characters as ``\\n``, ``\\x1b``, ``\\u202e``; always encodable as UTF-8.

    >>> printable_path("a\\nerror: forged.txt")
    'a\\\\nerror: forged.txt'
    >>> printable_path(os.fsdecode(b"bad-\\xff.txt")), printable_path("\\u202etxt.exe")
    ('bad-\\\\xff.txt', '\\\\u202etxt.exe')
    """
    text = os.fsencode(os.fspath(path) if isinstance(path, os.PathLike) else str(path)).decode(
        "utf-8", "backslashreplace")
    return _UNSAFE_CHARS.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


@dataclass(frozen=True, slots=True)
class RawFile:
    """The bytes of one corpus file, read once, with the size and modification time of what was read
    and its SHA-1 (so what is indexed and what is recorded as indexed are the same bytes)."""

    data: bytes
    size: int
    mtime_ns: int
    sha1: str


def read_corpus_file(path: Path, roots: tuple[Path, ...] | list[Path] = (), max_bytes: int = MAX_OFFICE_BYTES) -> RawFile:
    """Read a corpus file safely: a regular file only (never a FIFO, device or socket), opened without
    following a final symbolic link, and, when ``roots`` are given, only if the file actually opened
    lies inside one of them (a symlink inside the corpus may point at another corpus file, never out).

    A file that changes while it is read is refused (``LoadError``), to be read again by the next build.
    """
    path = Path(path)
    target = path
    try:
        if path.is_symlink():  # checked again below, on the file actually opened
            try:
                target = Path(os.path.realpath(path, strict=True))
            except FileNotFoundError as exc:
                raise LoadError(path, "dangling symbolic link (its target does not exist); skipped") from exc
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as exc:
        raise FileVanishedError(path, "vanished before it could be read (deleted or renamed during the build)") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LoadError(path, "symbolic link loop; skipped") from exc
        raise LoadError(path, f"cannot read: {exc.strerror or exc}") from exc
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise LoadError(path, f"not a regular file ({_file_kind(before.st_mode)}); skipped")
        if roots:
            opened = _opened_path(fd) or Path(os.path.realpath(target))
            if not any(_inside(opened, r) for r in roots):
                raise LoadError(path, "symbolic link to a file outside the corpus folder; refused")
        if before.st_size > max_bytes:
            raise LoadError(path, f"file is {before.st_size / 2**20:.0f} MB, over the {max_bytes // 2**20} MB limit")
        chunks, total = [], 0
        while total <= max_bytes:
            block = os.read(fd, 1 << 20)
            if not block:
                break
            chunks.append(block)
            total += len(block)
        if total > max_bytes:
            raise FileChangedError(path, f"file grew over the {max_bytes // 2**20} MB limit while being read")
        after = os.fstat(fd)
    except OSError as exc:
        raise LoadError(path, f"cannot read: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or len(data) != after.st_size:
        raise FileChangedError(path, "changed while being read; it will be read again by the next build")
    return RawFile(data, len(data), before.st_mtime_ns, hashlib.sha1(data).hexdigest())


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISDIR, "folder"), (stat.S_ISLNK, "symbolic link")):
        if test(mode):
            return name
    return "special file"


def _opened_path(fd: int) -> Path | None:
    """Where the kernel says an open file lives (Linux ``/proc/self/fd``): immune to a symlink swapped
    in after the path was checked."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return None


def _inside(path: Path, root: Path) -> bool:
    real_root = Path(os.path.realpath(root))
    return path == real_root or real_root in path.parents


def doc_id_for(path: Path, root: Path | None) -> str:
    """A stable, URL-safe id from the path inside its corpus folder.

    >>> doc_id_for(Path("corpus/reports/gwr-2023.txt"), Path("corpus"))
    'reports--gwr-2023'
    >>> doc_id_for(Path("c/白城市/2021.md"), Path("c"))
    'd-52f1c855ac11'
    """
    try:
        rel = Path(path).relative_to(root) if root else Path(Path(path).name)
    except ValueError:
        rel = Path(Path(path).name)
    stem = rel.with_suffix("").as_posix()
    parts = stem.split("/")
    if all(_SAFE_ID.match(p) for p in parts) and len(stem) <= MAX_ID_CHARS:
        return "--".join(parts).lower()
    # any other name (non-ASCII, not UTF-8 at all, 255 characters, 90 folders deep): a hash of its bytes
    return "d-" + hashlib.sha1(os.fsencode(rel.as_posix())).hexdigest()[:12]


def display_path(path: Path, root: Path | None) -> str:
    """Where a document came from, as shown to users: inside its corpus folder, named by that folder
    (never an absolute path of the machine serving it).

    >>> display_path(Path("/srv/kb/corpus/reports/gwr-2023.txt"), Path("/srv/kb/corpus"))
    'corpus/reports/gwr-2023.txt'
    >>> display_path(Path("/tmp/x/a.txt"), None)
    'a.txt'
    """
    path = Path(path)
    if root is not None:
        try:
            rel = path.absolute().relative_to(Path(root).absolute())
            return printable_path((Path(Path(root).resolve().name) / rel).as_posix())
        except ValueError:
            pass
    return printable_path(path.name)
