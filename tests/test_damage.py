"""A damaged index: truncate, corrupt or delete any file of the served version, or point CURRENT at a
missing or garbage version.

- a search gives a clear ``IndexDamagedError`` (503 on the web, JSON under ``/api/``), never a
  traceback; a truncated or missing file is caught on open (sizes against the manifest), and so is a
  same-size corruption (SHA-1s: of small files on open, of large ones on a thread after it, a new
  version swapped in only once found whole), so it never gives a different answer;
- ``kb check`` names what is damaged; ``kb build`` finds it (checksums) and rebuilds in full;
- a server holding the last good version keeps serving it when CURRENT moves to a damaged one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kb.errors import IndexDamagedError, KbError
from kb.build.indexer import build_index
from kb.store.manifest import verify_version
from kb.store.components import doc_file
from kb.search import KnowledgeBase

REPO = Path(__file__).resolve().parent.parent
MISSION = REPO / "corpus" / "wenling-transport-bureau-2023-work-summary.txt"
QUERIES = ("交通", '"高质量发展"', "综合交通投资")


def answers(index_dir: Path) -> list[tuple[int, list[str]]]:
    kb = KnowledgeBase(index_dir)
    return [(r.total, [h.passage_id for h in r.hits]) for r in (kb.search(q, page_size=20) for q in QUERIES)]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list]:
    root = tmp_path_factory.mktemp("damage")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(MISSION, corpus / "mission.txt")
    (corpus / "plan.txt").write_text("某县2024年交通工作计划\n\n一、总体情况\n推动高质量发展，完成道路建设任务。\n",
                                     encoding="utf-8")
    build_index([corpus], root / "index", workers=1)
    return corpus, root / "index", answers(root / "index")


def version_of(index_dir: Path) -> Path:
    return index_dir / (index_dir / "CURRENT").read_text().strip()


def kinds(version: Path) -> list[str]:
    """One file of each kind the version holds (postings, text, per-row arrays, vocabulary, Whoosh, docs,
    the manifest)."""
    seg = next(p for p in version.iterdir() if p.name.startswith("seg-"))
    names = [f"{seg.name}/{n}" for n in ("text.bin", "text_offsets.npy", "words.rows.npy", "words.keys.npy",
                                         "words.offsets.npy", "grams.rows.npy", "pnums.npy", "vocab.txt")]
    names += [p.name for p in version.iterdir() if p.suffix in (".seg", ".toc")]
    return names + [doc_file("mission"), "manifest.json"]


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "delete":
        path.unlink()
    elif how == "garbage":
        path.write_bytes(os.urandom(len(data)))
    else:  # flip one byte in the middle
        flipped = bytearray(data)
        flipped[len(flipped) // 2] ^= 0x5A
        path.write_bytes(bytes(flipped))


@pytest.mark.parametrize("how", ["truncate", "delete", "garbage", "flip"])
def test_each_kind_of_index_file_damaged_gives_a_clear_error_and_build_repairs_it(
        good: tuple[Path, Path, list], tmp_path: Path, how: str) -> None:
    corpus, source, expected = good
    for rel in kinds(version_of(source)):
        index_dir = tmp_path / f"{how}-{rel.replace('/', '_')}"
        shutil.copytree(source, index_dir)
        damage(version_of(index_dir) / rel, how)
        with pytest.raises(IndexDamagedError) as caught:
            answers(index_dir)
            KnowledgeBase(index_dir).document("mission")
        assert "damaged" in str(caught.value) and str(index_dir) not in str(caught.value), str(caught.value)
        found = verify_version(version_of(index_dir), full=True)
        assert found and rel in found[0], (rel, how, found)
        report = build_index([corpus], index_dir, workers=1)
        assert report.damage and report.full and not report.up_to_date, (rel, how)
        assert answers(index_dir) == expected, (rel, how)
        assert not verify_version(version_of(index_dir), full=True)


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00garbage", b"v-missing\n", b"../../etc\n"])
def test_a_garbage_or_dangling_current_is_a_clear_error_and_full_build_recovers(
        good: tuple[Path, Path, list], tmp_path: Path, content: bytes) -> None:
    corpus, source, expected = good
    index_dir = tmp_path / "index"
    shutil.copytree(source, index_dir)
    (index_dir / "CURRENT").write_bytes(content)
    with pytest.raises(KbError):
        KnowledgeBase(index_dir)
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONIOENCODING="utf-8")
    cli = [sys.executable, "-m", "kb.cli"]
    done = subprocess.run([*cli, "search", "交通", "--index", str(index_dir)], capture_output=True, text=True, env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr and "kb build" in done.stderr, done.stderr
    done = subprocess.run([*cli, "build", "--full", "--workers", "1", "--index", str(index_dir), "--corpus", str(corpus)],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert answers(index_dir) == expected


@pytest.mark.parametrize("content", [b"", b"{\"docs\": ", b"\xff\xfe garbage", b"[]", b"{\"files\": 3}"])
def test_a_garbage_manifest_is_a_clear_error_and_build_recovers(good: tuple[Path, Path, list], tmp_path: Path,
                                                               content: bytes) -> None:
    corpus, source, expected = good
    index_dir = tmp_path / "index"
    shutil.copytree(source, index_dir)
    (version_of(index_dir) / "manifest.json").write_bytes(content)
    with pytest.raises(IndexDamagedError, match="manifest"):
        KnowledgeBase(index_dir)
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONIOENCODING="utf-8")
    check = subprocess.run([sys.executable, "-m", "kb.cli", "check", "--index", str(index_dir)],
                           capture_output=True, text=True, env=env)
    assert check.returncode == 1 and "manifest" in check.stderr and "Traceback" not in check.stderr, check.stderr
    report = build_index([corpus], index_dir, workers=1)
    assert report.full and report.damage
    assert answers(index_dir) == expected


def test_the_server_keeps_serving_its_last_good_version(good: tuple[Path, Path, list], tmp_path: Path) -> None:
    from web import create_app

    _corpus, source, expected = good
    index_dir = tmp_path / "index"
    shutil.copytree(source, index_dir)
    serving = KnowledgeBase(index_dir)
    app = create_app({"KB_INDEX": str(index_dir), "TESTING": True}).test_client()
    assert app.get("/api/search?q=交通").status_code == 200
    # a new version that is damaged is swapped in (a build killed and a disk fault, say)
    bad = index_dir / "v-99999999T000000-1-000001"
    shutil.copytree(version_of(index_dir), bad)
    seg = next(p for p in bad.iterdir() if p.name.startswith("seg-"))
    damage(seg / "text.bin", "truncate")
    (index_dir / "CURRENT").write_text(bad.name + "\n")
    serving._checked = 0.0
    assert [(r.total, [h.passage_id for h in r.hits]) for r in (serving.search(q, page_size=20) for q in QUERIES)] \
        == expected
    app_kb = app.application.extensions["kb"].kb
    app_kb._checked = 0.0
    assert app.get("/api/search?q=交通").status_code == 200  # still the version it had open
    # a server started now has no good version: a clear 503, in Chinese on pages, JSON on the API
    fresh = create_app({"KB_INDEX": str(index_dir), "TESTING": True}).test_client()
    page = fresh.get("/search?q=交通")
    assert page.status_code == 503 and "索引已损坏" in page.get_data(as_text=True)
    assert str(tmp_path) not in page.get_data(as_text=True)
    api = fresh.get("/api/search?q=交通")
    assert api.status_code == 503 and "damaged" in api.get_json()["error"]
    for name in ("Content-Security-Policy", "X-Content-Type-Options"):
        assert name in page.headers
    # CURRENT itself garbage: the open version is still served
    (index_dir / "CURRENT").write_bytes(b"\x00\xff")
    serving._checked = 0.0
    assert serving.search("交通").total == expected[0][0]


@pytest.fixture
def checked_later(monkeypatch: pytest.MonkeyPatch):
    """Large files (here: over 2 KB) checked on a thread after the version opened, as at scale."""
    import threading

    import kb.store.manifest

    monkeypatch.setattr(kb.store.manifest, "SMALL_FILE", 2048)
    monkeypatch.setattr(kb.store.manifest, "CHECK_NOW_BYTES", 0)
    gate = threading.Event()  # checking the large files waits for it: the test decides when it is done
    real = kb.store.manifest.VersionCheck._sha1_damage

    def held(self, names):
        if names and names is self._later:
            gate.wait(30)
        return real(self, names)

    monkeypatch.setattr(kb.store.manifest.VersionCheck, "_sha1_damage", held)
    return gate


def large_file(version: Path) -> str:
    seg = next(p for p in version.iterdir() if p.name.startswith("seg-"))
    return f"{seg.name}/text.bin"


def test_a_flipped_byte_in_a_large_file_found_after_opening_is_a_clear_error(
        good: tuple[Path, Path, list], tmp_path: Path, checked_later) -> None:
    from web import create_app

    _corpus, source, _expected = good
    index_dir = tmp_path / "index"
    shutil.copytree(source, index_dir)
    rel = large_file(version_of(index_dir))
    assert (version_of(index_dir) / rel).stat().st_size > 2048
    damage(version_of(index_dir) / rel, "flip")
    kb = KnowledgeBase(index_dir)  # opens: sizes and small files whole, the large ones not yet checked
    assert not kb._open.check.done.is_set()
    checked_later.set()
    assert kb._open.check.done.wait(30) and rel in kb._open.check.damage[0]
    with pytest.raises(IndexDamagedError, match="checksum differs"):
        kb.search("交通")
    with pytest.raises(IndexDamagedError):
        kb.document("mission")
    # the server waits for the check before it answers: never an answer from the damaged version
    app = create_app({"KB_INDEX": str(index_dir), "TESTING": True}).test_client()
    page = app.get("/search?q=交通")
    assert page.status_code == 503 and "索引已损坏" in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True) and str(tmp_path) not in page.get_data(as_text=True)
    api = app.get("/api/search?q=交通")
    assert api.status_code == 503 and "damaged" in api.get_json()["error"]


def test_a_new_version_is_swapped_in_only_once_its_large_files_are_checked_whole(
        good: tuple[Path, Path, list], tmp_path: Path, checked_later, capsys: pytest.CaptureFixture) -> None:
    corpus, source, expected = good
    index_dir = tmp_path / "index"
    shutil.copytree(source, index_dir)
    checked_later.set()
    serving = KnowledgeBase(index_dir)
    assert serving._open.check.done.wait(30) and not serving._open.check.damage
    checked_later.clear()
    # a damaged version swapped in: the one open goes on answering, also after the check found it
    bad = index_dir / "v-99999999T000000-1-000001"
    shutil.copytree(version_of(index_dir), bad)
    damage(bad / large_file(bad), "flip")
    (index_dir / "CURRENT").write_text(bad.name + "\n")
    serving._checked = 0.0
    assert [(r.total, [h.passage_id for h in r.hits]) for r in (serving.search(q, page_size=20) for q in QUERIES)] \
        == expected and serving.version != bad.name  # opened, being checked: not served yet
    checked_later.set()
    assert serving._pending.check.done.wait(30)
    serving._checked = 0.0
    assert serving.search("交通").total == expected[0][0] and serving.version != bad.name
    assert f"not switching to {bad.name}: damaged" in capsys.readouterr().err
    serving._checked = 0.0
    assert serving.search("交通").total == expected[0][0] and serving._pending is None  # never reopened
    # a whole new version is swapped in once checked
    (corpus / "extra.txt").write_text("某县交通补充说明\n\n一、情况\n独特词庚推进。\n", encoding="utf-8")
    try:
        checked_later.clear()
        build_index([corpus], index_dir, workers=1)
        serving._checked = 0.0
        assert not serving.search("独特词庚").hits  # still the version open: the new one is being checked
        checked_later.set()
        assert serving._pending.check.done.wait(30)
        serving._checked = 0.0
        assert serving.search("独特词庚").hits and serving.version == version_of(index_dir).name
    finally:
        (corpus / "extra.txt").unlink()


def test_a_changed_byte_in_the_manifest_that_still_parses_is_found(good: tuple[Path, Path, list],
                                                                   tmp_path: Path) -> None:
    """A title changed by one character is still a JSON manifest: its own SHA-1 finds it."""
    corpus, source, expected = good
    index_dir = tmp_path / "index"
    shutil.copytree(source, index_dir)
    path = version_of(index_dir) / "manifest.json"
    raw = path.read_bytes()
    title = "某县2024年交通工作计划".encode()
    assert title in raw
    path.write_bytes(raw.replace(title, "某县2025年交通工作计划".encode()))
    __import__("json").loads(path.read_bytes())  # still a manifest to any JSON reader
    with pytest.raises(IndexDamagedError, match="manifest.json is damaged .content changed"):
        KnowledgeBase(index_dir)
    assert "manifest.json" in verify_version(version_of(index_dir), full=True)[0]
    report = build_index([corpus], index_dir, workers=1)
    assert report.damage and report.full
    assert answers(index_dir) == expected


# --- a bug is not damage ---------------------------------------------------------------------------

def _broken_scoring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scoring fails as a programming error would, on an index whose files are whole."""
    import kb.engine.scoring

    def bug(*args, **kwargs):
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")

    monkeypatch.setattr(kb.engine.scoring._Scorer, "term", bug)


def test_a_type_error_inside_scoring_is_raised_as_it_is_not_reported_as_damage(
        good: tuple[Path, Path, list], monkeypatch: pytest.MonkeyPatch) -> None:
    _corpus, index_dir, _answers = good
    kb = KnowledgeBase(index_dir, wait_for_checks=True)
    _broken_scoring(monkeypatch)
    with pytest.raises(TypeError, match="unsupported operand"):
        kb.search("综合交通投资")
    with pytest.raises(TypeError, match="unsupported operand"):
        kb.pin().search("综合交通投资")


def test_a_bug_on_the_web_is_a_logged_500_page_in_chinese_without_a_traceback(
        good: tuple[Path, Path, list], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from web import create_app

    _corpus, index_dir, _answers = good
    app = create_app({"KB_INDEX": str(index_dir), "PROPAGATE_EXCEPTIONS": False})
    _broken_scoring(monkeypatch)
    with app.test_client() as c, caplog.at_level("ERROR"):
        page = c.get("/search?q=综合交通投资")
        api = c.get("/api/search?q=综合交通投资")
    body = page.get_data(as_text=True)
    assert page.status_code == 500 and "服务器出错" in body and "错误已记入服务器日志" in body
    assert "Traceback" not in body and "unsupported operand" not in body and "索引已损坏" not in body
    assert api.status_code == 500 and api.get_json()["status"] == 500
    assert "unsupported operand" not in api.get_data(as_text=True) and "damaged" not in api.get_data(as_text=True)
    logged = [r for r in caplog.records if r.exc_info and "unsupported operand" in str(r.exc_info[1])]
    assert len(logged) == 2, caplog.text
