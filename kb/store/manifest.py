"""An index folder → its served version: which version ``CURRENT`` names, its manifest, and whether
every file of it is whole. What the query path (:mod:`kb.search`, ``web/``, ``kb search``) needs
of the index folder, without importing the build (:mod:`kb.build.indexer` writes what this reads).

>>> current_version(Path("/nonexistent-index"), required=False) is None
True
>>> verify_version(Path("/nonexistent-index/v-1"))[0].startswith("v-1/manifest.json cannot be read")
True
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

from kb.errors import IndexDamagedError, IndexMissingError
from kb.store.components import IndexComponent, VersionComponent

MANIFEST = VersionComponent.MANIFEST.value
_VERSION_NAME = re.compile(r"v-[A-Za-z0-9T._-]{1,80}")


def current_version(index_dir: Path, required: bool = True) -> Path | None:
    """The folder of the version being served, or ``None``/``IndexMissingError`` when there is none.

    A ``CURRENT`` that is not a version name, or names a version that is not there, is damage
    (``IndexDamagedError``, raised even when not ``required``: a build then starts afresh)."""
    index_dir = Path(index_dir)
    try:
        raw = IndexComponent.CURRENT.path(index_dir).read_bytes()
    except FileNotFoundError:
        raw = None
    except OSError as exc:
        raise IndexDamagedError(f"index/CURRENT cannot be read ({exc.strerror}): run `kb build --full`") from exc
    if raw is None or not raw.strip():
        if required:
            raise IndexMissingError(f"no index in the folder {index_dir.name or index_dir}: run `kb build` "
                                    "(or `make serve`) first")
        return None
    name = raw.decode("utf-8", "replace").strip()
    if not _VERSION_NAME.fullmatch(name):
        raise IndexDamagedError("index/CURRENT is damaged (it does not name a version): run `kb build --full`")
    path = index_dir / name
    if not (path / MANIFEST).is_file():
        raise IndexDamagedError(f"index damaged: index/CURRENT names {name}, which is missing or has no manifest: "
                                "run `kb build --full`")
    return path


_SELF_SUM = b', "self_sha1": "'


def manifest_bytes(data: dict) -> bytes:
    """A manifest as written: its JSON, the SHA-1 of everything before it as the last key, so a byte
    changed anywhere in it is found (:func:`read_manifest`), and any JSON reader still reads it.

    >>> raw = manifest_bytes({"docs": {}, "files": {}})
    >>> raw[:40]
    b'{"docs": {}, "files": {}, "self_sha1": "'
    >>> json.loads(raw)["self_sha1"] == __import__("hashlib").sha1(b'{"docs": {}, "files": {}').hexdigest()
    True
    """
    import hashlib

    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    assert body.endswith(b"}") and len(body) > 2
    head = body[:-1]
    return head + _SELF_SUM + hashlib.sha1(head).hexdigest().encode("ascii") + b'"}'


def _self_sum_differs(raw: bytes) -> bool:
    """Whether a manifest written with its own SHA-1 (:func:`manifest_bytes`) no longer matches it
    (one written before: never)."""
    import hashlib

    at = raw.rfind(_SELF_SUM)
    if at < 0 or not raw.rstrip().endswith(b'"}'):
        return False
    claimed = raw[at + len(_SELF_SUM):].rstrip()[:-2]
    return hashlib.sha1(raw[:at]).hexdigest().encode("ascii") != claimed


def read_manifest(version_dir: Path) -> dict:
    """The version's manifest; ``IndexDamagedError`` when it is missing, truncated, changed (its own
    SHA-1 differs) or not a manifest."""
    where = f"{Path(version_dir).name}/{MANIFEST}"
    try:
        raw = (Path(version_dir) / MANIFEST).read_bytes()
        data = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise IndexDamagedError(f"{where} cannot be read ({exc.strerror}): run `kb build --full`") from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise IndexDamagedError(f"{where} is damaged ({type(exc).__name__}): run `kb build --full`") from exc
    if not isinstance(data, dict) or not isinstance(data.get("docs"), dict) or \
            not isinstance(data.get("files"), dict):
        raise IndexDamagedError(f"{where} is damaged (not a kb manifest): run `kb build --full`")
    if _self_sum_differs(raw):
        raise IndexDamagedError(f"{where} is damaged (content changed: checksum differs): run `kb build --full`")
    return data


def version_files(version_dir: Path) -> Iterator[tuple[str, Path]]:
    """Every file of a version but the manifest itself (and Whoosh's lock file), as (relative name, path)."""
    for folder, _dirs, names in os.walk(version_dir):
        for name in names:
            path = Path(folder) / name
            rel = path.relative_to(version_dir).as_posix()
            if rel != MANIFEST and not name.endswith("WRITELOCK"):
                yield rel, path


def sha1_path(path: Path) -> str:
    import hashlib

    digest = hashlib.sha1()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def verify_version(version_dir: Path, manifest: dict | None = None, full: bool = False) -> list[str]:
    """What is damaged in a version: files missing, of the wrong size, or (``full``) with the wrong
    SHA-1, as ``name: what`` lines relative to the index folder; ``[]`` when whole. A version written
    before checksums were kept is checked for its manifest only."""
    version_dir = Path(version_dir)
    try:
        manifest = manifest if manifest is not None else read_manifest(version_dir)
    except IndexDamagedError as exc:
        return [str(exc)]
    sums = manifest.get("checksums")
    if not isinstance(sums, dict):
        return []
    damage = []
    for rel, entry in sums.items():
        path = version_dir / rel
        try:
            size = path.stat().st_size
        except OSError:
            damage.append(f"{version_dir.name}/{rel}: missing")
            continue
        if size != entry[0]:
            damage.append(f"{version_dir.name}/{rel}: {size} bytes, {entry[0]} expected (truncated or overwritten)")
        elif full:
            try:
                if sha1_path(path) != entry[1]:
                    damage.append(f"{version_dir.name}/{rel}: content changed (checksum differs)")
            except OSError as exc:
                damage.append(f"{version_dir.name}/{rel}: cannot be read ({exc.strerror})")
    return damage


# A version being opened: files up to SMALL_FILE bytes are checked (SHA-1) before it is used, the rest
# after it opened, unless they are CHECK_NOW_BYTES in all (a small index: all before it is used).
SMALL_FILE = 1 << 20
CHECK_NOW_BYTES = 32 << 20


class VersionCheck:
    """The files of a version against the sizes and SHA-1s its manifest holds, as the query path opens it.

    :meth:`now`: every file's size (a few stats). :meth:`start`: on a daemon thread, the SHA-1 of the
    small files first (the per-row arrays, keys and offsets read whole, the vocabulary, the permalink
    map; every file of a small index): ``first_done`` is set after them, so a version is opened
    meanwhile and used only after :meth:`wait_first`. Then the large ones (postings, text, Whoosh
    segments: read piece by piece, where a flipped byte would otherwise give a different answer):
    ``done`` is set when all is checked, and ``damage`` says what is wrong (``[]``: whole). Documents'
    JSON files are checked as they are read (:func:`checked_bytes`).

    >>> check = VersionCheck(Path("/nonexistent-index/v-1"), {"checksums": {}})
    >>> check.now(), check.start().wait_first(), check.done.is_set()
    ([], [], True)
    """

    def __init__(self, version_dir: Path, manifest: dict) -> None:
        self.version_dir = Path(version_dir)
        sums = manifest.get("checksums")
        self.sums = {rel: e for rel, e in (sums if isinstance(sums, dict) else {}).items()
                     if not rel.startswith("docs/")}
        self.damage: list[str] = []
        self.first_done = threading.Event()
        self.done = threading.Event()
        self.seconds = 0.0  # how long the checksums took, in all
        small = [rel for rel, e in self.sums.items() if e[0] <= SMALL_FILE]
        large = [rel for rel, e in self.sums.items() if e[0] > SMALL_FILE]
        if sum(self.sums[rel][0] for rel in large) <= CHECK_NOW_BYTES:
            small, large = small + large, []
        self._first, self._later = small, large

    def now(self) -> list[str]:
        """Every file's size against the manifest: what is missing or cut short (``[]``: go on)."""
        return verify_version(self.version_dir, {"checksums": self.sums})

    def start(self) -> VersionCheck:
        """Check the checksums on a thread (at once when there is nothing to check)."""
        if not self._first and not self._later:
            self.first_done.set()
            self.done.set()
        else:
            threading.Thread(target=self._run, name=f"kb-check-{self.version_dir.name}", daemon=True).start()
        return self

    def wait_first(self, timeout: float = 120) -> list[str]:
        """What is damaged among the small files, once they are checked."""
        self.first_done.wait(timeout)
        return list(self.damage)

    def _run(self) -> None:
        import time

        started = time.perf_counter()
        try:
            self.damage = self._sha1_damage(self._first)
            self.first_done.set()
            if not self.damage:
                self.damage = self._sha1_damage(self._later)
        finally:
            self.seconds = time.perf_counter() - started
            self.first_done.set()
            self.done.set()

    def _sha1_damage(self, names: list[str]) -> list[str]:
        damage = []
        for rel in names:
            try:
                if sha1_path(self.version_dir / rel) != self.sums[rel][1]:
                    damage.append(f"{self.version_dir.name}/{rel}: content changed (checksum differs)")
            except OSError as exc:
                damage.append(f"{self.version_dir.name}/{rel}: cannot be read ({exc.strerror})")
        return damage


def checked_bytes(path: Path, entry: tuple | list | None, where: str) -> bytes:
    """A small file of a version, read whole and checked against its manifest entry ``(size, sha1)``
    (none: an index from before checksums); ``IndexDamagedError`` when it differs.

    >>> import tempfile, hashlib
    >>> with tempfile.NamedTemporaryFile() as fh:
    ...     _ = fh.write(b"{}"); fh.flush()
    ...     ok = checked_bytes(Path(fh.name), (2, hashlib.sha1(b"{}").hexdigest()), "v-1/docs/d.json")
    ...     try:
    ...         checked_bytes(Path(fh.name), (2, "0" * 40), "v-1/docs/d.json")
    ...     except IndexDamagedError as exc:
    ...         print(ok, exc)
    b'{}' v-1/docs/d.json is damaged (content changed: checksum differs): run `kb check`, then `kb build`
    """
    import hashlib

    data = Path(path).read_bytes()
    if entry and (len(data) != entry[0] or hashlib.sha1(data).hexdigest() != entry[1]):
        what = "content changed: checksum differs" if len(data) == entry[0] else f"{len(data)} bytes, {entry[0]} expected"
        raise IndexDamagedError(f"{where} is damaged ({what}): run `kb check`, then `kb build`")
    return data


def check_index(index_dir: Path) -> tuple[str, list[str]]:
    """``kb check``: (the served version's name, what is damaged in it: full checksums)."""
    version = current_version(index_dir)  # IndexDamagedError for a garbage CURRENT
    assert version is not None
    return version.name, verify_version(version, full=True)
