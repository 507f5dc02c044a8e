"""kb.whooshio pins what Whoosh's private writing calls do on the exactly pinned Whoosh version: when
Whoosh is upgraded, this is the test that says whether the adapter still holds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import whoosh
from whoosh.fields import ID, TEXT, Schema
from whoosh.index import LockError, create_in, open_dir
from whoosh.query import Every, Term
from whoosh.writing import SegmentWriter

from kb import whooshio

from conftest import REPO


def test_whoosh_is_pinned_exactly_to_the_version_the_adapter_was_checked_on() -> None:
    pins = re.findall(r'"whoosh-reloaded==([\d.]+)"', (REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert pins == [".".join(map(str, whooshio.WHOOSH_VERSION))]
    assert whoosh.__version__ == whooshio.WHOOSH_VERSION


def test_the_private_calls_it_uses_are_there() -> None:
    for name in ("_finalize_segment", "_close_segment", "_merge_segments", "_commit_toc", "_finish"):
        assert callable(getattr(SegmentWriter, name, None)), name
    import inspect

    assert "_lk" in inspect.signature(SegmentWriter.__init__).parameters


def test_only_the_adapter_calls_whooshs_private_writing_api() -> None:
    private = re.compile(r"SegmentWriter|_finalize_segment|_close_segment|_merge_segments|_commit_toc|\._finish\(|"
                         r"\._added\b|_lk=")
    users = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "kb").rglob("*.py")
                   if private.search(p.read_text(encoding="utf-8")))
    assert users == ["kb/whooshio.py"]


def _folder(tmp_path: Path) -> Path:
    create_in(str(tmp_path), Schema(key=ID(stored=True, unique=True), group=ID(stored=True),
                                    body=TEXT(stored=True))).close()
    return tmp_path


def _keys(folder: Path) -> list[str]:
    ix = open_dir(str(folder))
    try:
        with ix.searcher() as s:
            return sorted(s.stored_fields(d)["key"] for d in Every().docs(s))
    finally:
        ix.close()


def _segments(folder: Path) -> int:
    ix = open_dir(str(folder))
    try:
        return len(ix._segments())
    finally:
        ix.close()


def test_side_writers_write_at_once_and_one_commit_takes_all(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    with whooshio.SideWriter(folder) as a, whooshio.SideWriter(folder) as b:  # both open: no lock taken
        for i in range(3):
            a.add(key=f"a{i}", group="a", body="alpha words")
            b.add(key=f"b{i}", group="b", body="beta words")
    with whooshio.SideWriter(folder) as empty:
        pass
    assert len(a.segments) == len(b.segments) == 1 and empty.segments == []
    assert _keys(folder) == []  # nothing is visible before the commit
    whooshio.commit(folder, a.segments + b.segments + empty.segments, merge=False)
    assert _keys(folder) == ["a0", "a1", "a2", "b0", "b1", "b2"]
    assert _segments(folder) == 2
    assert not list(folder.glob("*.tmp"))  # the writers' temporary folder is gone after the commit
    ix = open_dir(str(folder))
    ix.writer().cancel()  # the lock is free again
    ix.close()


def test_a_failing_side_writer_leaves_no_segment(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    with pytest.raises(RuntimeError):
        with whooshio.SideWriter(folder) as w:
            w.add(key="x", group="x", body="x")
            raise RuntimeError("worker failed")
    assert w.segments == []
    whooshio.commit(folder, w.segments)
    assert _keys(folder) == []


def test_commit_deletes_merges_and_pauses_holding_the_lock(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    for n in range(5):  # five small commits: five segments
        with whooshio.SideWriter(folder) as w:
            w.add(key=f"k{n}", group=f"g{n}", body="some words")
        whooshio.commit(folder, w.segments, merge=n < 4)  # (fewer than five are never merged)
    assert _segments(folder) == 5
    held = []

    def pause() -> None:
        ix = open_dir(str(folder))
        try:
            with pytest.raises(LockError):
                ix.writer()
            held.append(True)
        finally:
            ix.close()

    with whooshio.SideWriter(folder) as w:
        w.add(key="new", group="g9", body="fresh words")
    whooshio.commit(folder, w.segments, deleted=[("group", "g1")], merge=True, pause=pause)
    assert held == [True]
    assert _keys(folder) == ["k0", "k2", "k3", "k4", "new"]
    assert _segments(folder) == 2  # the five small old segments merged into one, plus the new one
    ix = open_dir(str(folder))
    try:
        with ix.searcher() as s:
            assert len(s.search(Term("body", "fresh"))) == 1 and len(s.search(Term("body", "words"))) == 5
    finally:
        ix.close()
