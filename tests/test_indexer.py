"""kb/build/indexer.py: corpus folders → index folder (incremental, atomic), read back through KnowledgeBase.

Small corpora are copied into a temporary folder and built with one worker so each test stays well
under a second; the session index (``built_index``, two workers, every real report) is checked for
a clean build and for what it holds.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import DATA, MISSION_DOC, MISSION_PATH
from kb.errors import BuildFailedError, IndexBusyError, IndexMissingError, KbError, NotFoundError
from kb.build import workers
from kb.build.indexer import MAX_SEGMENTS, build_index
from kb.build.plan import BuildReport
from kb.store.manifest import current_version, read_manifest
from kb.search import KnowledgeBase

SMALL = [MISSION_PATH, DATA / "fixture-plan-2024.txt", DATA / "fixture-notes-2023.md", DATA / "fixture-gbk-crlf.txt"]
SMALL_IDS = {MISSION_DOC, "fixture-plan-2024", "fixture-notes-2023", "fixture-gbk-crlf"}


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for path in SMALL:
        shutil.copy2(path, folder / path.name)
    return folder


@pytest.fixture()
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


def build(corpus: Path, index_dir: Path, **kwargs) -> BuildReport:
    return build_index([corpus], index_dir, workers=1, **kwargs)


def passage_ids(index_dir: Path) -> dict[str, list[str]]:
    """doc_id → its passage ids, as stored in the index being served."""
    kb = KnowledgeBase(index_dir)
    return {d["doc_id"]: [p["passage_id"] for p in kb.document(d["doc_id"])["passages"]] for d in kb.docs()}


def _rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    st = path.stat()  # a later mtime even on filesystems with coarse timestamps
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


# --- the session index --------------------------------------------------------------------------

def test_session_index_built_cleanly(built_index: Path, built_index_report: BuildReport) -> None:
    """Every real report, the mission document and the fixtures went in, with no file errors."""
    report = built_index_report
    assert report.errors == []
    n_data = len([p for p in DATA.iterdir() if p.suffix in (".txt", ".md", ".html")])
    assert report.documents == 176 + 5 + 1 + n_data
    assert report.full and report.added == report.documents and report.passages > 10000
    assert current_version(built_index).name == report.version


def test_session_index_holds_the_mission_document(built_index: Path) -> None:
    kb = KnowledgeBase(built_index)
    row = next(d for d in kb.docs() if d["doc_id"] == MISSION_DOC)
    assert row == {"doc_id": MISSION_DOC, "title": "温岭市交通运输局2023年度工作总结", "date": "2024-06-07",
                   "source": "市交通局", "path": row["path"], "passages": row["passages"],
                   "place": "温岭市", "type": "工作总结", "years": [2023]}
    assert Path(row["path"]).name == MISSION_PATH.name and row["passages"] > 10
    stored = kb.document(MISSION_DOC)
    for p in stored["passages"]:
        text = stored["body"][p["start"]:p["end"]]
        assert text.strip() and not any(s in text for s in ("发布日期", "当前位置", "政府信息公开", "信息来源"))


# --- incremental builds -------------------------------------------------------------------------

def test_build_twice_second_is_up_to_date(corpus: Path, index_dir: Path) -> None:
    first = build(corpus, index_dir)
    assert (first.full, first.added, first.documents, first.errors) == (True, 4, 4, [])
    version = current_version(index_dir)
    second = build(corpus, index_dir)
    assert second.up_to_date and second.documents == 4 and second.passages == first.passages
    assert current_version(index_dir) == version  # nothing rewritten
    assert "index up to date" in second.summary()


def test_touched_but_unchanged_file_is_not_reindexed(corpus: Path, index_dir: Path) -> None:
    build(corpus, index_dir)
    path = corpus / "fixture-plan-2024.txt"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10**9))
    report = build(corpus, index_dir)
    assert report.up_to_date and report.changed == 0


def test_change_one_file_reindexes_only_it(corpus: Path, index_dir: Path) -> None:
    """One edited file: changed == 1, its new text is stored, every other document keeps its ids."""
    build(corpus, index_dir)
    before = passage_ids(index_dir)
    _rewrite(corpus / "fixture-plan-2024.txt", "拓宽融资渠道。", "拓宽融资渠道，用好专项债券。")
    report = build(corpus, index_dir)
    assert (report.changed, report.added, report.deleted, report.unchanged, report.up_to_date) == (1, 0, 0, 3, False)
    after = passage_ids(index_dir)
    assert set(after) == SMALL_IDS
    for doc_id in SMALL_IDS - {"fixture-plan-2024"}:
        assert after[doc_id] == before[doc_id]
    assert after["fixture-plan-2024"] != before["fixture-plan-2024"]
    assert "用好专项债券" in KnowledgeBase(index_dir).document("fixture-plan-2024")["body"]
    hits = KnowledgeBase(index_dir).search("专项债券").hits
    assert hits and hits[0].doc_id == "fixture-plan-2024"


def test_add_file(corpus: Path, index_dir: Path) -> None:
    build(corpus, index_dir)
    shutil.copy2(DATA / "fixture-utf8-bom.txt", corpus / "fixture-utf8-bom.txt")
    report = build(corpus, index_dir)
    assert (report.added, report.changed, report.unchanged, report.documents) == (1, 0, 4, 5)
    assert "fixture-utf8-bom" in passage_ids(index_dir)


def test_many_incremental_builds_lose_no_passage(corpus: Path, index_dir: Path) -> None:
    """Each build adds a segment and Whoosh merges small ones; a ninth text-index segment makes kb
    merge the two smallest: every passage must stay searchable."""
    build(corpus, index_dir)
    for i in range(8):
        (corpus / f"added-{i}.txt").write_text(f"第{i}号文件\n一、总体要求\n独特词语编号{i}号的正文。", encoding="utf-8")
        build(corpus, index_dir)
        segments = read_manifest(current_version(index_dir))["segments"]
        assert len(segments) == min(i + 2, MAX_SEGMENTS)
        assert any(name.endswith("-merged") for name in segments) == (i + 2 > MAX_SEGMENTS)
    kb = KnowledgeBase(index_dir)
    opened = kb._current()
    indexed = {fields["passage_id"] for fields in opened.reader.all_stored_fields()}
    searchable = {opened.stored(row)["passage_id"] for row in np.nonzero(opened.text.live)[0].tolist()}
    expected = {p["passage_id"] for d in kb.docs() for p in kb.document(d["doc_id"])["passages"]
                if p["anchor"].count("-") == 1}  # repeats inside one document are indexed once
    assert indexed == expected == searchable
    for i in range(8):
        assert kb.search(f"独特词语编号{i}号").total == 1


def test_a_worker_writes_a_new_segment_every_segment_rows(corpus: Path, index_dir: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker's memory is bounded: past SEGMENT_ROWS passages it writes what it has and starts anew."""
    monkeypatch.setattr(workers, "SEGMENT_ROWS", 5)
    report = build(corpus, index_dir)
    segments = read_manifest(current_version(index_dir))["segments"]
    assert 1 < len(segments) <= MAX_SEGMENTS
    kb = KnowledgeBase(index_dir)
    assert kb._current().text.live_count == report.passages - _repeats(kb)
    assert kb.search("综合交通投资").hits[0].text.startswith("一是交通投资")
    assert kb.search("专精特新企业").hits


def test_a_segment_stays_within_segment_rows_and_files_its_rows_narrow(corpus: Path, index_dir: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker starts a new segment before a document would carry it past SEGMENT_ROWS (a document is
    never split), so a segment's row numbers fit the narrowest type: at lawtext-gov scale ``uint16``
    (2**16 rows), half the bytes of ``uint32``; here, under 256 rows, ``uint8``, term frequencies too."""
    monkeypatch.setattr(workers, "SEGMENT_ROWS", 12)
    build(corpus, index_dir)
    version = current_version(index_dir)
    names = read_manifest(version)["segments"]
    assert len(names) > 1
    for name in names:
        pnums = np.load(version / name / "pnums.npy")
        documents = set((pnums >> np.uint64(20)).tolist())
        assert len(pnums) <= 12 or len(documents) == 1 or name.endswith("merged"), (name, len(pnums))
        for family in ("words", "meta", "grams", "metagrams"):
            assert np.load(version / name / f"{family}.rows.npy").dtype == np.uint8, (name, family)
        assert np.load(version / name / "words.tfs.npy").dtype == np.uint8
    kb = KnowledgeBase(index_dir)
    assert kb.search("综合交通投资").hits[0].text.startswith("一是交通投资")


def _repeats(kb: KnowledgeBase) -> int:
    return sum(1 for d in kb.docs() for p in kb.document(d["doc_id"])["passages"] if p["anchor"].count("-") > 1)


def test_a_segment_of_dead_rows_is_dropped(corpus: Path, index_dir: Path) -> None:
    """When every file of a segment changed, its rows are all dead: the next build removes it."""
    build(corpus, index_dir)
    first = read_manifest(current_version(index_dir))["segments"]
    for path in corpus.iterdir():
        st = path.stat()
        path.write_bytes(path.read_bytes() + "\n结尾新增一句。".encode("gb18030" if "gbk" in path.name else "utf-8"))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    report = build(corpus, index_dir)
    assert report.changed == 4
    segments = read_manifest(current_version(index_dir))["segments"]
    assert not set(first) & set(segments) and len(segments) == 1
    kb = KnowledgeBase(index_dir)
    assert kb._current().text.size == kb._current().text.live_count  # no dead row left
    assert kb.search("综合交通投资").hits[0].doc_id == MISSION_DOC


def test_delete_file_removes_document(corpus: Path, index_dir: Path) -> None:
    build(corpus, index_dir)
    assert KnowledgeBase(index_dir).search("专精特新企业").hits
    (corpus / "fixture-gbk-crlf.txt").unlink()
    report = build(corpus, index_dir)
    assert (report.deleted, report.documents) == (1, 3)
    kb = KnowledgeBase(index_dir)
    assert "fixture-gbk-crlf" not in {d["doc_id"] for d in kb.docs()}
    assert all(h.doc_id != "fixture-gbk-crlf" for h in kb.search("专精特新企业").hits)
    with pytest.raises(NotFoundError):
        kb.document("fixture-gbk-crlf")


def test_full_rebuild_gives_same_ids(corpus: Path, index_dir: Path) -> None:
    build(corpus, index_dir)
    before = passage_ids(index_dir)
    report = build(corpus, index_dir, full=True)
    assert report.full and not report.up_to_date
    assert passage_ids(index_dir) == before


# --- bad files ----------------------------------------------------------------------------------

def _add_bad_files(corpus: Path) -> dict[str, str]:
    """Write files that are not documents; name → a word their error reason must contain."""
    (corpus / "scan.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    (corpus / "garbled.txt").write_bytes(b"\x81\x20\xff\xfe\x81\x7f" * 50)
    (corpus / "empty.md").write_bytes(b"")
    return {"scan.txt": "binary", "garbled.txt": "cannot decode", "empty.md": "empty"}


def test_bad_files_named_with_reasons_others_indexed(corpus: Path, index_dir: Path) -> None:
    bad = _add_bad_files(corpus)
    report = build(corpus, index_dir)
    reasons = {Path(e.path).name: e.reason for e in report.errors}
    assert set(reasons) == set(bad)
    for name, word in bad.items():
        assert word in reasons[name], (name, reasons[name])
    assert report.documents == 4 and set(passage_ids(index_dir)) == SMALL_IDS
    again = build(corpus, index_dir)  # not retried while untouched, but still reported
    assert again.up_to_date and {Path(e.path).name for e in again.errors} == set(bad)


def test_fixed_bad_file_is_indexed_next_time(corpus: Path, index_dir: Path) -> None:
    _add_bad_files(corpus)
    build(corpus, index_dir)
    fixed = corpus / "empty.md"
    fixed.write_text("---\ntitle: 补上的文件\n---\n一、总体\n现在有内容了。\n", encoding="utf-8")
    st = fixed.stat()
    os.utime(fixed, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    report = build(corpus, index_dir)
    assert "empty" in passage_ids(index_dir)
    assert {Path(e.path).name for e in report.errors} == {"scan.txt", "garbled.txt"}


def test_strict_fails_and_keeps_current(corpus: Path, index_dir: Path) -> None:
    """--strict with a bad file: BuildFailedError, CURRENT and the served version untouched, no temp left."""
    build(corpus, index_dir)
    current = (index_dir / "CURRENT").read_text()
    before = passage_ids(index_dir)
    _rewrite(corpus / "fixture-plan-2024.txt", "拓宽融资渠道。", "拓宽融资渠道，严格资金监管。")
    _add_bad_files(corpus)
    with pytest.raises(BuildFailedError, match="scan.txt"):
        build(corpus, index_dir, strict=True)
    assert (index_dir / "CURRENT").read_text() == current
    assert passage_ids(index_dir) == before
    assert not [p for p in index_dir.iterdir() if p.name.startswith("tmp-")]


def test_same_document_id_in_two_folders(tmp_path: Path, corpus: Path, index_dir: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy2(MISSION_PATH, other / MISSION_PATH.name)
    report = build_index([corpus, other], index_dir, workers=1)
    assert report.documents == 4
    assert [(Path(e.path).parent.name, "same document id" in e.reason) for e in report.errors] == [("other", True)]
    # while the clash lasts, the skipped file is reported again but not read again: nothing to rebuild
    again = build_index([corpus, other], index_dir, workers=1)
    assert again.up_to_date and [Path(e.path).parent.name for e in again.errors] == ["other"]
    # once the file holding the id is gone, the other one goes in
    (corpus / MISSION_PATH.name).unlink()
    freed = build_index([corpus, other], index_dir, workers=1)
    assert (freed.errors, freed.deleted, freed.documents) == ([], 1, 4)
    docs = {d["doc_id"]: d["path"] for d in KnowledgeBase(index_dir).docs()}
    assert docs[MISSION_DOC] == f"other/{MISSION_PATH.name}"


# --- refusals -----------------------------------------------------------------------------------

def test_missing_corpus_folder(tmp_path: Path, index_dir: Path) -> None:
    with pytest.raises(KbError, match="corpus folder not found"):
        build_index([tmp_path / "nowhere"], index_dir)


def test_missing_index(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="kb build"):
        KnowledgeBase(tmp_path / "no-index")


def test_second_build_refused_while_one_runs(corpus: Path, index_dir: Path) -> None:
    """The build lock: a build that finds it held says so instead of writing."""
    build(corpus, index_dir)
    with open(index_dir / ".lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        started = time.monotonic()
        with pytest.raises(IndexBusyError, match="another build"):
            build(corpus, index_dir, full=True)
        assert time.monotonic() - started < 5
    assert build(corpus, index_dir).up_to_date


def test_a_documents_text_is_stored_once_and_read_back_whole(corpus: Path, index_dir: Path) -> None:
    """The original text is stored once: each passage's by the text index (folded, plus what folding
    changed), and in the document's JSON only what lies between passages (headings, blank lines).
    ``document()`` puts the body back together exactly as it was read; a passage missing is damage,
    not a gap."""
    from kb.load.loaders import load_document
    from kb.store.components import doc_file
    from kb.store.records import json_of
    from kb.errors import IndexDamagedError

    build(corpus, index_dir)
    version = current_version(index_dir)
    kb = KnowledgeBase(index_dir)
    for d in kb.docs():
        raw = json_of((version / doc_file(d["doc_id"])).read_bytes())
        assert "body" not in raw
        whole = kb.document(d["doc_id"])
        gaps = "".join(raw["gaps"])
        texts = [whole["body"][p["start"]:p["end"]] for p in whole["passages"]]
        assert len(gaps) + sum(map(len, texts)) == len(whole["body"])
        assert not [t for t in texts if len(t) >= 10 and t in gaps], d["doc_id"]  # no passage stored twice
    for path in corpus.iterdir():
        doc = load_document(path, corpus)
        assert kb.document(doc.doc_id)["body"] == doc.body, path.name
    # a passage's text gone from Whoosh (here: from what the version read) is reported as damage
    opened = kb._current()
    opened._bodies.clear()
    real = opened.passage_texts
    opened.passage_texts = lambda doc_id: dict(list(real(doc_id).items())[1:])  # type: ignore[method-assign]
    with pytest.raises(IndexDamagedError, match="cannot be put back together"):
        kb.document(MISSION_DOC)


def test_a_segments_live_documents_are_read_as_whoosh_lists_them(corpus: Path, index_dir: Path) -> None:
    """Opening a version reads which Whoosh documents are alive in one piece (``alive_docs``), not one
    ``is_deleted`` call each: the same numbers as ``all_doc_ids()``, with and without deletions."""
    from whoosh.index import open_dir

    from kb.engine.whooshread import alive_docs

    build(corpus, index_dir)
    changed = sorted(corpus.iterdir())[0]
    st = changed.stat()
    changed.write_bytes(changed.read_bytes() + "\n结尾新增一句。".encode("gb18030" if "gbk" in changed.name else "utf-8"))
    os.utime(changed, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert build(corpus, index_dir).changed == 1
    with open_dir(str(current_version(index_dir))).reader() as reader:
        leaves = [sub for sub, _offset in reader.leaf_readers()]
        assert any(sub.has_deletions() for sub in leaves)  # the changed file's old passages
        for sub in leaves:
            assert alive_docs(sub).tolist() == list(sub.all_doc_ids())
