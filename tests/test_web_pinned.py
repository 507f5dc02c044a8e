"""One version per request (``web.db.get_version()``, kept in ``flask.g``): a build swapping
``CURRENT`` in the middle of a request changes nothing that request answers, and one request reads a
document's JSON once."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

import kb.query.pinned
import kb.search
from kb.build.indexer import build_index
from kb.store.manifest import read_manifest
from web import create_app

OLD = """交通运输局2023年度工作总结
一、治超工作
深化治超非现执法，全年查处超限超载车辆1200辆，货车违法超限率控制在0.5%以内，治超工作成效明显。
二、公交工作
优化公交线路8条，新建公交站点20个，城乡公交一体化水平持续提升，群众出行更加便捷舒适。
"""
NEW = """交通运输局2024年度工作总结（修订）
一、治超工作
全年查处超限超载车辆1500辆，治超工作成效明显。
二、公交工作
优化公交线路10条，群众出行更加便捷舒适。
三、农村公路
完成农村公路改造100公里，四好农村路建设扎实推进，路网通达水平进一步提高。
四、安全生产
安全生产形势总体平稳，全年未发生较大以上安全生产事故。
"""
REMOVED = "将被删除的文档\n一、总则\n" + "交通运输工作稳步推进，城乡公交一体化水平持续提升。" * 6


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(index folder, old version, new version): the new one edits ``report`` and removes ``removed``."""
    root = tmp_path_factory.mktemp("pinned")
    corpus, index = root / "corpus", root / "index"
    corpus.mkdir()
    (corpus / "report.txt").write_text(OLD, encoding="utf-8")
    (corpus / "removed.txt").write_text(REMOVED, encoding="utf-8")
    build_index([corpus], index, workers=1)
    old = index / (index / "CURRENT").read_text(encoding="utf-8").strip()
    (corpus / "report.txt").write_text(NEW, encoding="utf-8")
    (corpus / "removed.txt").unlink()
    build_index([corpus], index, workers=1)
    new = index / (index / "CURRENT").read_text(encoding="utf-8").strip()
    assert old != new and old.is_dir()
    return index, old, new


def _doc_id(version: Path, title_part: str) -> str:
    docs = read_manifest(version)["docs"]
    return next(d for d, rec in docs.items() if title_part in rec["title"])


def _serve(index: Path, version: Path) -> Flask:
    (index / "CURRENT").write_text(version.name, encoding="utf-8")
    app = create_app({"KB_INDEX": str(index), "TESTING": True})
    with app.test_client() as c:
        assert c.get("/healthz").get_json()["version"] == version.name
    return app


def _swap_to(app: Flask, index: Path, version: Path) -> None:
    """``CURRENT`` names ``version``, and the app's KnowledgeBase has moved to it."""
    (index / "CURRENT").write_text(version.name, encoding="utf-8")
    served = app.extensions["kb"].get()
    deadline = time.monotonic() + 30
    while served.version != version.name:
        assert time.monotonic() < deadline, "the new version was never swapped in"
        served._refresh(force=True)
        time.sleep(0.02)


def _counting_loads(monkeypatch: pytest.MonkeyPatch, after_first: Callable[[], None] | None = None) -> list[str]:
    """Every document JSON read from now on, by doc id; ``after_first`` runs once, after the first read."""
    loads: list[str] = []
    real = kb.query.pinned.read_document

    def load(version: Path, doc_id: str, entry: tuple | None = None) -> dict:
        data = real(version, doc_id, entry)
        loads.append(doc_id)
        if len(loads) == 1 and after_first is not None:
            after_first()
        return data

    monkeypatch.setattr(kb.query.pinned, "read_document", load)
    return loads


def test_swap_in_the_middle_of_a_request_answers_from_the_old_version(
        two_versions: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """``/api/docs/<id>`` reads the table of contents, the manifest's row and the document: a build
    swapped in right after the first read must not give the new version's counts beside the old
    version's contents (nor a 404 or 500 for a document the new version removed)."""
    index, old, new = two_versions
    report, removed = _doc_id(old, "交通运输局"), _doc_id(old, "将被删除")
    expected = {d: read_manifest(old)["docs"][d] for d in (report, removed)}
    assert read_manifest(new)["docs"][report]["passages"] != expected[report]["passages"]
    assert removed not in read_manifest(new)["docs"]
    for doc_id in (report, removed):
        app = _serve(index, old)
        _counting_loads(monkeypatch, after_first=lambda app=app: _swap_to(app, index, new))
        with app.test_client() as c:
            r = c.get(f"/api/docs/{doc_id}")
            assert r.status_code == 200, (doc_id, r.status_code, r.get_data(as_text=True)[:300])
            body = r.get_json()
            assert (body["title"], body["passages"]) == (expected[doc_id]["title"], expected[doc_id]["passages"])
            assert app.extensions["kb"].get().version == new.name  # the swap did happen under it
            # the next request is the new version's: the edited document, or a removed one's 410
            after = c.get(f"/api/docs/{doc_id}")
            if doc_id == report:
                assert after.status_code == 200 and after.get_json()["title"] == read_manifest(new)["docs"][report]["title"]
            else:
                assert after.status_code == 410


def test_one_request_reads_a_document_once(two_versions: tuple[Path, Path, Path],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    index, old, _new = two_versions
    app = _serve(index, old)
    doc_id = _doc_id(old, "交通运输局")
    loads = _counting_loads(monkeypatch)
    with app.test_client() as c:
        passage = c.get(f"/api/docs/{doc_id}").get_json()
        assert loads == [doc_id]
        assert c.get(f"/doc/{doc_id}?q=治超").status_code == 200
        assert loads == [doc_id] * 2  # once per request: a later request reads it anew
        first = kb.search.KnowledgeBase(index).document(doc_id)["passages"][0]["passage_id"]
        loads.clear()
        assert c.get(f"/api/passages/{first}").status_code == 200
        assert c.get(f"/p/{first}").status_code == 302
        assert loads == [doc_id] * 2
    assert passage["doc_id"] == doc_id
