"""The bench's inputs: which corpus (the whole lawtext-gov, or a sample with ``--quick``), the query
files, a private copy of the corpus, and the one file an incremental build sees changed.

>>> [p.name for p in default_query_files()][-1]  # the committed list comes last, always there
'bench_queries.txt'
>>> (REPO / "kb" / "bench" / "inputs.py").is_file()  # REPO: the repository, two folders up
True
"""

from __future__ import annotations

import hashlib
import shutil
from importlib import resources
from pathlib import Path

from kb.bench.common import EDIT_TEXT, QUICK_SAMPLE, REPO

# --- inputs: corpus and queries ----------------------------------------------------------------

def _first_existing(*candidates: Path) -> Path | None:
    return next((p for p in candidates if p.is_dir()), None)


def default_corpus(quick: bool) -> tuple[list[Path], int | None]:
    """(corpus roots, sample size): lawtext-gov (sampled in quick mode), else reports + gbk, else corpus/."""
    shared = _first_existing(Path("../shared/corpora"), REPO.parent / "shared" / "corpora")
    lawtext = _first_existing(shared / "lawtext-gov") if shared else None
    if lawtext:
        return [lawtext], (QUICK_SAMPLE if quick else None)
    if shared and quick and (shared / "reports").is_dir():
        return [d for d in (shared / "reports", shared / "gbk") if d.is_dir()], None
    return [_first_existing(Path("corpus"), REPO / "corpus") or Path("corpus")], None


def read_query_file(path: Path) -> list[str]:
    """Queries of a file: one a line, ``#`` comments skipped; for ``.tsv`` the first column."""
    out = []
    for raw in Path(path).read_text(encoding="utf-8-sig").splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        q = raw.split("\t", 1)[0].strip() if path.suffix == ".tsv" or "\t" in raw else raw.strip()
        if q:
            out.append(q)
    return out


def default_query_files() -> list[Path]:
    """The seed eval file, every ``tests/*.tsv`` eval file, then the committed list."""
    files = []
    for candidate in (Path("../shared/eval/seed-queries.tsv"), REPO.parent / "shared" / "eval" / "seed-queries.tsv"):
        if candidate.is_file():
            files.append(candidate)
            break
    files += sorted((REPO / "tests").glob("*.tsv"))
    files.append(Path(str(resources.files("kb") / "data" / "bench_queries.txt")))
    return files


def load_queries(files: list[Path]) -> tuple[list[str], dict]:
    """Unique queries in file order, and where they came from (count per file, sha1 of the list)."""
    seen: dict[str, None] = {}
    sources: dict[str, int] = {}
    for path in files:
        before = len(seen)
        for q in read_query_file(path):
            seen.setdefault(q, None)
        sources[path.name] = len(seen) - before
    queries = list(seen)
    digest = hashlib.sha1("\n".join(queries).encode()).hexdigest()[:12]
    return queries, {"count": len(queries), "sources": sources, "sha1": digest}


def copy_corpus(roots: list[Path], dest: Path, sample: int | None) -> tuple[list[Path], list[Path]]:
    """Copy the corpus files (or an evenly spread sample of them) under ``dest``: (new roots, files)."""
    from kb.build.plan import iter_corpus

    found = list(iter_corpus([Path(r) for r in roots]))
    if sample and sample < len(found):
        stride = len(found) / sample
        found = [found[int(i * stride)] for i in range(sample)]
    new_roots = [dest / f"{i}-{Path(r).resolve().name}" for i, r in enumerate(roots)]
    index_of = {Path(r): i for i, r in enumerate(roots)}
    files = []
    for path, root in found:
        target = new_roots[index_of[root]] / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)  # not copy2: the shared corpus is read-only and we edit one file
        files.append(target)
    for r in new_roots:
        r.mkdir(parents=True, exist_ok=True)
    return new_roots, files


def change_one_file(files: list[Path]) -> Path:
    """Append a paragraph to the median-sized UTF-8 file (any file if none is UTF-8); return it."""
    def utf8(p: Path) -> bool:
        try:
            p.read_bytes().decode("utf-8")
            return True
        except UnicodeDecodeError:
            return False

    pool = sorted((p for p in files if utf8(p)), key=lambda p: (p.stat().st_size, str(p)))
    if pool:
        target = pool[len(pool) // 2]
        data = EDIT_TEXT.encode("utf-8")
    else:
        target = sorted(files, key=lambda p: (p.stat().st_size, str(p)))[len(files) // 2]
        data = b"\n\nkb bench: appended to measure an incremental build.\n"
    with open(target, "ab") as fh:
        fh.write(data)
    return target


def dir_size_mb(path: Path) -> float:
    """Bytes of every file under ``path`` (hard links counted once), in MB."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for p in Path(path).rglob("*"):
        if p.is_file():
            st = p.stat()
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total / 2**20
