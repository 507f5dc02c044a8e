"""Fixtures shared by the whole suite.

- ``shared_dir``: ``../shared`` beside the repository (real corpora, evaluation queries); skips the
  test with a clear message when that folder is not there.
- ``built_index``: ONE index per test session, built in a temporary folder from ``corpus/``,
  ``tests/data/`` and the real reports (``../shared/corpora/reports`` and ``../shared/corpora/gbk``)
  with two worker processes. Tests only read it; a test that needs to change an index builds its
  own small one. ``built_index_report`` is the ``BuildReport`` of that build.
"""

from __future__ import annotations

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
