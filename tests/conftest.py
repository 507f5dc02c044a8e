"""Fixtures shared by the whole suite.

- ``shared_dir``: ``../shared`` beside the repository (real corpora, evaluation queries); skips the
  test with a clear message when that folder is not there.
- ``built_index``: ONE index per test session, built in a temporary folder from ``corpus/``,
  ``tests/data/`` and the real reports (``../shared/corpora/reports`` and ``../shared/corpora/gbk``)
  with two worker processes. Tests only read it; a test that needs to change an index builds its
  own small one. ``built_index_report`` is the ``BuildReport`` of that build.
- ``archive_index``: the index of the archive (``../shared/corpora/lawtext-gov`` + ``corpus/``), for the
  archive eval floors. Its build takes minutes, so it starts, as a ``kb build`` process of its own,
  as soon as the tests are collected, and runs beside the rest of the suite: niced and with one
  worker when the whole suite runs (the suite itself uses about one core), with two when only a few
  tests were chosen. The tests that use it are moved to the end of the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from kb.build.plan import BuildReport
from kb.build.indexer import build_index

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
DATA = REPO / "tests" / "data"
SHARED = REPO.parent / "shared"
MISSION_DOC = "wenling-transport-bureau-2023-work-summary"
MISSION_PATH = CORPUS / f"{MISSION_DOC}.txt"


def shared_path() -> Path:
    """``../shared``, or a skip naming what is missing (usable outside fixtures, e.g. in parametrize)."""
    if not (SHARED / "corpora" / "reports").is_dir():
        pytest.skip(f"shared data not found at {SHARED} (expected ../shared/corpora/reports beside the repo)")
    return SHARED


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` relative to the repository root; the test is skipped when it is absent."""
    return shared_path()


@pytest.fixture(scope="session")
def _built(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> tuple[Path, BuildReport]:
    index_dir = tmp_path_factory.mktemp("built-index")
    roots = [CORPUS, DATA, shared_dir / "corpora" / "reports", shared_dir / "corpora" / "gbk"]
    report = build_index(roots, index_dir, workers=2)
    return index_dir, report


@pytest.fixture(scope="session")
def built_index(_built: tuple[Path, BuildReport]) -> Path:
    """Path of the session's index over corpus/, tests/data/ and the real reports (read it, don't change it)."""
    return _built[0]


@pytest.fixture(scope="session")
def built_index_report(_built: tuple[Path, BuildReport]) -> BuildReport:
    """The ``BuildReport`` of the session index's build."""
    return _built[1]


ARCHIVE_FIXTURE = "archive_index"
_archive: dict[str, object] = {}


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the archive index's build in the background when a collected test needs it, and run
    those tests last."""
    needing = [item for item in items if ARCHIVE_FIXTURE in getattr(item, "fixturenames", ())]
    if not needing or not (SHARED / "corpora" / "lawtext-gov").is_dir():
        return
    items[:] = [item for item in items if item not in needing] + needing
    whole_suite = len(items) > 50
    folder = Path(tempfile.mkdtemp(prefix="kb-archive-index-"))
    log = (folder / "build.log").open("wb")
    command = [sys.executable, "-c", "from kb.cli import main; main()", "build", "-q",
               "--corpus", str(SHARED / "corpora" / "lawtext-gov"), "--corpus", str(CORPUS),
               "--index", str(folder / "index"), "--workers", "1" if whole_suite else "2"]
    _archive.update(folder=folder, log=log, process=subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
        preexec_fn=(lambda: os.nice(10)) if whole_suite else None))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    process = _archive.get("process")
    if isinstance(process, subprocess.Popen):
        if process.poll() is None:
            process.kill()
        process.wait()
        _archive["log"].close()  # type: ignore[union-attr]
        shutil.rmtree(_archive["folder"], ignore_errors=True)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def archive_index(shared_dir: Path) -> Path:
    """The archive's index (lawtext-gov + corpus/), built beside the suite; the build's own output
    is the failure message when it did not succeed."""
    process = _archive.get("process")
    if not isinstance(process, subprocess.Popen):
        pytest.skip("the archive corpus (../shared/corpora/lawtext-gov) is not there")
    rc = process.wait(timeout=1800)
    folder = _archive["folder"]
    assert isinstance(folder, Path)
    assert rc == 0, f"kb build of the archive exited {rc}:\n" + (folder / "build.log").read_text(errors="replace")
    return folder / "index"
