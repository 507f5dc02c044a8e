"""Permalinks that survive edits (kb/build/successors.py at build time, KnowledgeBase.resolve when serving):
an edited passage's old id lands on its successor, through further builds, incremental or full; a
removed document's ids are gone (410), not unknown."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.errors import GoneError, NotFoundError
from kb.build.indexer import build_index
from kb.search import KnowledgeBase
from kb.store.redirects import REDIRECTS, read_redirects

TEXT = """温岭市交通运输局2023年度工作总结
一、治超工作
深化治超非现执法，全年查处超限超载车辆1200辆，货车违法超限率控制在0.5%以内，治超工作成效明显。
二、公交工作
优化公交线路8条，新建公交站点20个，城乡公交一体化水平持续提升，群众出行更加便捷舒适。
三、其他
完成农村公路改造100公里，四好农村路建设扎实推进，路网通达水平进一步提高。
"""


def _passage_with(kb: KnowledgeBase, doc_id: str, needle: str) -> str:
    data = kb.document(doc_id)
    return next(p["passage_id"] for p in data["passages"] if needle in data["body"][p["start"]:p["end"]])


def _built(tmp_path: Path) -> tuple[Path, Path]:
    """The mission-like document and one other, built: (corpus folder, index folder)."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "wl.txt").write_text(TEXT, encoding="utf-8")
    (corpus / "other.txt").write_text("另一份文档\n一、总则\n" + "交通运输工作稳步推进。" * 10, encoding="utf-8")
    build_index([corpus], index, workers=1)
    return corpus, index


def test_an_edited_passage_keeps_its_link(tmp_path: Path) -> None:
    corpus, index = _built(tmp_path)
    kb = KnowledgeBase(index)
    old_id = _passage_with(kb, "wl", "非现执法")
    bus_id = _passage_with(kb, "wl", "公交线路")

    (corpus / "wl.txt").write_text(TEXT.replace("非现执法", "非现场执法"), encoding="utf-8")
    build_index([corpus], index, workers=1)
    kb = KnowledgeBase(index)
    with pytest.raises(NotFoundError):
        kb.passage(old_id)  # the id is a hash of the text: it changed
    p, moved = kb.resolve(old_id)
    assert moved and "非现场执法" in p["text"] and p["doc_id"] == "wl"
    assert kb.resolve(bus_id) == (kb.passage(bus_id), False)  # untouched passages are themselves

    # a second edit of the same passage, then a full rebuild: the first link still lands
    (corpus / "wl.txt").write_text(TEXT.replace("非现执法", "非现场执法").replace("1200辆", "1300辆"),
                                   encoding="utf-8")
    build_index([corpus], index, workers=1)
    build_index([corpus], index, workers=1, full=True)
    kb = KnowledgeBase(index)
    p, moved = kb.resolve(old_id)
    assert moved and "1300辆" in p["text"]
    mid = _passage_with(kb, "wl", "1300辆")
    assert read_redirects(index / (index / "CURRENT").read_text().strip())["passages"][old_id] == mid

    # a passage deleted outright lands on the one after it
    (corpus / "wl.txt").write_text(TEXT.replace("非现执法", "非现场执法").replace("1200辆", "1300辆").replace(
        "优化公交线路8条，新建公交站点20个，城乡公交一体化水平持续提升，群众出行更加便捷舒适。\n", ""), encoding="utf-8")
    build_index([corpus], index, workers=1)
    kb = KnowledgeBase(index)
    p, moved = kb.resolve(bus_id)
    assert moved and "农村公路" in p["text"]

    with pytest.raises(NotFoundError) as never:
        kb.resolve("wl.0000000000")
    assert not isinstance(never.value, GoneError)


def test_a_removed_document_is_gone_with_its_title(tmp_path: Path) -> None:
    corpus, index = _built(tmp_path)
    pid = _passage_with(KnowledgeBase(index), "wl", "公交线路")
    (corpus / "wl.txt").unlink()
    build_index([corpus], index, workers=1)
    kb = KnowledgeBase(index)
    with pytest.raises(GoneError) as gone:
        kb.resolve(pid)
    assert gone.value.title == "温岭市交通运输局2023年度工作总结"
    with pytest.raises(GoneError):
        kb.document("wl")
    # and back again: the id is live, no longer gone
    (corpus / "wl.txt").write_text(TEXT, encoding="utf-8")
    build_index([corpus], index, workers=1)
    kb = KnowledgeBase(index)
    assert kb.resolve(pid)[1] is False
    assert read_redirects(index / (index / "CURRENT").read_text().strip())["gone"] == {}


def test_the_served_version_is_never_written_through(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "wl.txt").write_text(TEXT, encoding="utf-8")
    build_index([corpus], index, workers=1)
    (corpus / "wl.txt").write_text(TEXT.replace("非现执法", "非现场执法"), encoding="utf-8")
    build_index([corpus], index, workers=1)
    first = (index / "CURRENT").read_text().strip()
    before = (index / first / REDIRECTS).read_text()
    (corpus / "wl.txt").write_text(TEXT.replace("非现执法", "非现场执法").replace("100公里", "120公里"), encoding="utf-8")
    build_index([corpus], index, workers=1)
    if (index / first).exists():  # the previous version, kept for readers still on it
        assert (index / first / REDIRECTS).read_text() == before
