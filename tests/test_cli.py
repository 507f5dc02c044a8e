"""kb/cli.py: the ``kb`` command, driven through click's ``CliRunner`` on ``kb.cli.main``.

``toc``/``docs``/``search`` read the session index (``built_index``); ``build`` runs on small
corpora in temporary folders. The JSON shapes are the ones DESIGN.md promises; the mission
document's table of contents is checked exactly.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conftest import DATA, MISSION_DOC, MISSION_PATH
from kb.cli import main

TOC_KEYS = {"number", "title", "anchor", "repaired", "children"}
DOC_KEYS = {"doc_id", "title", "date", "source", "path", "passages", "place", "type", "years"}
HIT_KEYS = {"passage_id", "doc_id", "doc_title", "date", "section_path", "text", "snippet_html", "url"}

# (number, title, repaired, children) of the mission document, preface first
MISSION_TOC = [
    ("", "前言", False, []),
    ("一", "坚持党建引领,奋力书写交通特色答卷", False, [
        ("一", "坚持政治统领,践行“两个维护”更加坚决", False, []),
        ("二", "扛起政治责任,落实全面从严治党主体责任更加坚决", True, []),
        ("三", "打造“岭”路先锋,交通党建品牌更富特色", True, []),
    ]),
    ("二", "坚持高质量发展,奋力书写交通高分答卷", False, [
        ("一", "聚焦“两城两湖”,建设全域快速路网", False, []),
        ("二", "聚焦营商环境,助力高质量发展", False, []),
        ("三", "聚焦共同富裕,推动交通融合发展", True, []),
        ("四", "聚焦乡村振兴,升级“四好农村路”", True, []),
        ("五", "聚焦除险保安,严控安全生产形势", False, []),
    ]),
    ("三", "坚持以民为本,奋力书写交通满意答卷", False, []),
]


def kb(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def kb_json(*args: str | Path) -> object:
    result = kb(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _shape(entries: list[dict]) -> list[tuple]:
    return [(e["number"], e["title"], e["repaired"], _shape(e["children"])) for e in entries]


def _walk(entries: list[dict]):
    for e in entries:
        yield e
        yield from _walk(e["children"])


# --- toc ----------------------------------------------------------------------------------------

def test_toc_json_mission(built_index: Path) -> None:
    """Exactly: preface; 一、 with (一)(二)(三); 二、 with (一)…(五); 三、; four repaired; the metadata."""
    data = kb_json("toc", MISSION_DOC, "--index", built_index)
    assert {"doc_id", "title", "sections"} <= set(data)
    assert (data["doc_id"], data["title"], data["date"], data["source"]) == (
        MISSION_DOC, "温岭市交通运输局2023年度工作总结", "2024-06-07", "市交通局")
    assert _shape(data["sections"]) == MISSION_TOC
    entries = list(_walk(data["sections"]))
    for e in entries:
        assert set(e) - {"preface"} == TOC_KEYS
        assert isinstance(e["repaired"], bool) and isinstance(e["children"], list)
    assert data["sections"][0].get("preface") is True and data["sections"][0]["anchor"] == "s0"
    assert [e["anchor"] for e in entries] == ["s0", "s1", "s1-1", "s1-2", "s1-3", "s2", "s2-1", "s2-2", "s2-3",
                                             "s2-4", "s2-5", "s3"]
    assert sum(e["repaired"] for e in entries) == 4


def test_toc_text_mission(built_index: Path) -> None:
    """The human form: title and date, the preface, one line per section, the four repairs marked."""
    result = kb("toc", MISSION_DOC, "--index", built_index)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "温岭市交通运输局2023年度工作总结  (2024-06-07)"
    assert lines[1].strip().startswith("(preface)")
    assert [ln.strip().split("  ")[0] for ln in lines if "[repaired]" in ln] == [
        "二 扛起政治责任,落实全面从严治党主体责任更加坚决", "三 打造“岭”路先锋,交通党建品牌更富特色",
        "三 聚焦共同富裕,推动交通融合发展", "四 聚焦乡村振兴,升级“四好农村路”"]
    assert len(lines) == 1 + 12


def test_toc_unknown_document(built_index: Path) -> None:
    result = kb("toc", "no-such-doc", "--index", built_index)
    assert result.exit_code == 1 and "no document with id 'no-such-doc'" in result.stderr


@pytest.mark.parametrize("name", ["gwr-city-lasashi-2025", "gwr-national-2015-gbk", "gwr2026-prov-ningxia-2026-web"])
def test_toc_json_real_reports(built_index: Path, name: str) -> None:
    """Real reports: a tree of well-formed entries, titles free of page chrome and markup."""
    data = kb_json("toc", name, "--index", built_index)
    entries = list(_walk(data["sections"]))
    assert len(entries) >= 3
    for e in entries:
        assert set(e) - {"preface"} == TOC_KEYS
        assert e["title"] and not any(s in e["title"] for s in ("当前位置", "发布日期", "**", "<", "【"))


# --- docs ---------------------------------------------------------------------------------------

def test_docs_json_shape(built_index: Path) -> None:
    rows = kb_json("docs", "--index", built_index)
    assert isinstance(rows, list) and len(rows) >= 182
    for row in rows:
        assert set(row) == DOC_KEYS
        assert isinstance(row["passages"], int) and row["passages"] > 0
        assert all(isinstance(row[k], str) for k in DOC_KEYS - {"passages", "years"})
        assert all(isinstance(y, int) for y in row["years"])
    mission = next(r for r in rows if r["doc_id"] == MISSION_DOC)
    assert (mission["title"], mission["date"], mission["source"]) == ("温岭市交通运输局2023年度工作总结", "2024-06-07", "市交通局")
    assert len({r["doc_id"] for r in rows}) == len(rows)
    # where a document came from, inside its corpus folder: never the serving machine's absolute path
    assert mission["path"] == "corpus/" + MISSION_PATH.name
    assert not [r["path"] for r in rows if Path(r["path"]).is_absolute() or ".." in Path(r["path"]).parts]


def test_docs_text(built_index: Path) -> None:
    result = kb("docs", "--index", built_index)
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith(MISSION_DOC + "\t"))
    assert line.split("\t")[1] == "2024-06-07" and line.endswith("\t温岭市交通运输局2023年度工作总结")


def test_docs_without_index(tmp_path: Path) -> None:
    result = kb("docs", "--index", tmp_path / "none")
    assert result.exit_code == 1 and "kb build" in result.stderr


# --- search -------------------------------------------------------------------------------------

def test_search_json_shape(built_index: Path) -> None:
    data = kb_json("search", "综合交通投资", "--index", built_index, "--limit", "5")
    assert {"query", "total", "took_ms", "page", "hits"} <= set(data)
    assert data["query"] == "综合交通投资" and data["page"] == 1 and data["total"] >= len(data["hits"]) > 0
    assert len(data["hits"]) <= 5
    for hit in data["hits"]:
        assert HIT_KEYS <= set(hit)
        assert hit["url"] == f"/p/{hit['passage_id']}" and hit["passage_id"].startswith(hit["doc_id"] + ".")
        assert isinstance(hit["section_path"], list)
    assert any(h["doc_id"] == MISSION_DOC for h in data["hits"])


def test_search_doc_filter_and_text(built_index: Path) -> None:
    """``--doc`` keeps one document; the text form shows document › section path and the passage id."""
    data = kb_json("search", "岭路先锋", "--doc", MISSION_DOC, "--index", built_index)
    assert data["hits"] and {h["doc_id"] for h in data["hits"]} == {MISSION_DOC}
    result = kb("search", "岭路先锋", "--doc", MISSION_DOC, "--index", built_index, "--limit", "3")
    assert result.exit_code == 0
    assert "温岭市交通运输局2023年度工作总结 › " in result.stdout and f"[{MISSION_DOC}." in result.stdout


# --- build --------------------------------------------------------------------------------------

@pytest.fixture()
def small_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for path in (MISSION_PATH, DATA / "fixture-plan-2024.txt", DATA / "fixture-utf16-bom.txt"):
        shutil.copy2(path, folder / path.name)
    return folder


def test_build_ok_then_up_to_date(small_corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    first = kb("build", "--corpus", small_corpus, "--index", index, "--workers", "1")
    assert first.exit_code == 0, first.output
    assert "built full: 3 documents" in first.stderr and "failed 0" in first.stderr
    assert "error:" not in first.stderr
    second = kb("build", "--corpus", small_corpus, "--index", index, "--workers", "1", "--quiet")
    assert second.exit_code == 0 and second.stderr.startswith("index up to date: 3 documents")


def test_build_bad_file_exit_1_with_error_line(small_corpus: Path, tmp_path: Path) -> None:
    """A binary and an undecodable file: one ``error: <path>: <reason>`` line each, exit 1, the rest served."""
    (small_corpus / "photo.txt").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4)
    (small_corpus / "broken.md").write_bytes(b"\x81\x20\xff\xfe" * 40)
    index = tmp_path / "index"
    result = kb("build", "--corpus", small_corpus, "--index", index, "--workers", "1", "-q")
    assert result.exit_code == 1
    errors = sorted(ln for ln in result.stderr.splitlines() if ln.startswith("error: "))
    assert errors == [f"error: {small_corpus / 'broken.md'}: cannot decode as utf-8 or gb18030",
                      f"error: {small_corpus / 'photo.txt'}: binary file (contains NUL bytes), not text"]
    assert "built full: 3 documents" in result.stderr and "failed 2" in result.stderr
    assert {r["doc_id"] for r in kb_json("docs", "--index", index)} == {
        MISSION_DOC, "fixture-plan-2024", "fixture-utf16-bom"}


def test_build_strict_keeps_current(small_corpus: Path, tmp_path: Path) -> None:
    """``--strict`` with a bad file: exit 1, says nothing was swapped in, CURRENT unchanged."""
    index = tmp_path / "index"
    assert kb("build", "--corpus", small_corpus, "--index", index, "--workers", "1", "-q").exit_code == 0
    current = (index / "CURRENT").read_text()
    (small_corpus / "empty.txt").write_bytes(b"")
    result = kb("build", "--corpus", small_corpus, "--index", index, "--workers", "1", "-q", "--strict")
    assert result.exit_code == 1
    assert "empty.txt" in result.stderr and "nothing was swapped in" in result.stderr
    assert (index / "CURRENT").read_text() == current


def test_build_deleted_file_gone_from_docs(small_corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    kb("build", "--corpus", small_corpus, "--index", index, "--workers", "1", "-q")
    (small_corpus / "fixture-utf16-bom.txt").unlink()
    result = kb("build", "--corpus", small_corpus, "--index", index, "--workers", "1", "-q")
    assert result.exit_code == 0 and "deleted 1" in result.stderr
    assert "fixture-utf16-bom" not in {r["doc_id"] for r in kb_json("docs", "--index", index)}


def test_build_missing_corpus_folder(tmp_path: Path) -> None:
    result = kb("build", "--corpus", tmp_path / "nowhere", "--index", tmp_path / "index")
    assert result.exit_code == 1 and "corpus folder not found" in result.stderr


def test_serve_public_url_must_be_an_address(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kb.cli import main
    from kb.build.indexer import build_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("某文档\n一、总则\n" + "交通运输工作稳步推进。" * 10, encoding="utf-8")
    build_index([corpus], tmp_path / "index", workers=1)
    result = CliRunner().invoke(main, ["serve", "--index", str(tmp_path / "index"), "--public-url", "kb.example.org"])
    assert result.exit_code == 2 and "http:// or https://" in result.output
    assert "--public-url" in CliRunner().invoke(main, ["serve", "--help"]).output
