"""kb.engine.whooshio pins what Whoosh's private writing calls do on the exactly pinned Whoosh version: when
Whoosh is upgraded, this is the test that says whether the adapter still holds."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import whoosh
from whoosh.fields import ID, TEXT, Schema
from whoosh.index import LockError, create_in, open_dir
from whoosh.query import Every, Term
from whoosh.writing import SegmentWriter

from kb.engine import whooshio

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
    assert users == ["kb/engine/whooshio.py"]


def test_only_the_reading_adapter_reads_whooshs_internals() -> None:
    private = re.compile(r"\._dbfile\b|\._basepos\b|\._fixedlen\b|\._typecode\b")
    users = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "kb").rglob("*.py")
                   if private.search(p.read_text(encoding="utf-8")))
    assert users == ["kb/engine/whooshread.py"]


def test_the_pnum_column_read_in_one_piece_equals_reading_it_value_by_value(built_index: Path) -> None:
    """``kb.engine.whooshread.pnum_column`` reads Whoosh's column bytes directly (pinned Whoosh): the same numbers."""
    from kb.search import KnowledgeBase
    from kb.engine.whooshread import pnum_column

    kb = KnowledgeBase(built_index)  # (kept: the reader closes with it)
    reader = kb._current().reader
    compared = 0
    for sub, _offset in reader.leaf_readers():
        slow = np.fromiter(sub.column_reader("pnum"), dtype=np.uint64, count=sub.doc_count_all())
        fast = pnum_column(sub)
        assert fast.dtype == np.uint64 and np.array_equal(fast, slow)
        compared += slow.size
    assert compared > 1000


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


def _dump(folder: Path, blocks: bool = True) -> dict:
    """Everything a reader shows of an index: terms, postings (id, weight, value bytes), lengths, stored;
    with ``blocks`` (one segment), each posting block's statistics and each term's info too."""
    ix = open_dir(str(folder))
    try:
        with ix.reader() as r:
            postings = {}
            for fieldname, text in r.all_terms():
                m, got = r.postings(fieldname, text), []
                while m.is_active():
                    got.append((m.id(), m.weight(), m.value())
                               + ((m.block_max_weight(), m.block_min_length(), m.block_max_length()) if blocks else ()))
                    m.next()
                ti = r.term_info(fieldname, text)
                postings[(fieldname, text)] = (got, ti.weight(), ti.doc_frequency()) + (
                    (ti.min_length(), ti.max_length(), ti.max_weight(), ti.min_id(), ti.max_id()) if blocks else ())
            fields = [n for n in ix.schema.names() if ix.schema[n].scorable]
            return {"postings": postings, "stored": [r.stored_fields(d) for d in r.all_doc_ids()],
                    "lengths": {f: (r.field_length(f), [r.doc_field_length(d, f) for d in r.all_doc_ids()])
                                for f in fields},
                    "max": {f: r.max_field_length(f) for f in fields}}
    finally:
        ix.close()


def test_token_lists_write_the_segment_add_document_writes(tmp_path: Path) -> None:
    """A field given as a list of tokens: the bulk path writes what Whoosh's own add_document does."""
    schema = Schema(key=ID(stored=True, unique=True), body=TEXT(stored=True, phrase=True),
                    head=TEXT(phrase=False))
    words = ["综合", "交通", "投资", "交通", "43.68", "亿元", "交通"] * 3
    docs = [{"key": f"d{i}", "body": words[i % 5:i % 5 + 4 + i % 7] + ["x"] * (i % 11 == 0), "_stored_body": f"text {i}",
             "head": ["标题", "交通"] * (i % 3) + ["章节"]} for i in range(700)]  # 交通: several blocks
    docs.append({"key": "empty", "body": [], "_stored_body": "", "head": []})
    stock, bulk = tmp_path / "stock", tmp_path / "bulk"
    stock.mkdir(), bulk.mkdir()
    for folder in (stock, bulk):
        create_in(str(folder), schema).close()
    ix = open_dir(str(stock))
    with ix.writer() as w:
        for doc in docs:
            w.add_document(**doc)
    ix.close()
    with whooshio.SideWriter(bulk) as side:
        for doc in docs:
            side.add(**doc)
    whooshio.commit(bulk, side.segments)
    assert _dump(bulk) == _dump(stock)
    assert _dump(bulk)["postings"][("body", "交通".encode())]
    cut = tmp_path / "cut"  # the same documents in two segments (cut() between them): the same index
    cut.mkdir()
    create_in(str(cut), schema).close()
    with whooshio.SideWriter(cut) as side:
        for i, doc in enumerate(docs):
            if i == 350:
                side.cut()
            side.add(**doc)
    assert len(side.segments) == 2
    whooshio.commit(cut, side.segments, merge=False)
    assert _dump(cut, blocks=False) == _dump(stock, blocks=False)


def test_a_one_posting_block_is_filed_uncompressed_and_read_back(tmp_path: Path) -> None:
    """zlib makes a one-posting block larger (and costs a call each): it is filed as it is, the
    others compressed, and Whoosh's own reader reads both."""
    schema = Schema(key=ID(stored=True), body=TEXT(phrase=True))
    create_in(str(tmp_path), schema).close()
    with whooshio.SideWriter(tmp_path) as side:
        for i in range(5):
            side.add(key=f"d{i}", body=["常见", f"罕见{i}", "常见"])
    whooshio.commit(tmp_path, side.segments)
    with open_dir(str(tmp_path)).searcher() as searcher:
        reader = searcher.reader()
        rare, common = reader.postings("body", "罕见3"), reader.postings("body", "常见")
        assert (rare._compression, common._compression) == (0, 3)
        assert list(rare.all_ids()) == [3] and list(common.all_ids()) == [0, 1, 2, 3, 4]
        assert [searcher.stored_fields(n)["key"] for n in searcher.docs_for_query(Term("body", "罕见3"))] == ["d3"]
        assert dict(reader.postings("body", "常见").items_as("positions")) == {n: [0, 2] for n in range(5)}
