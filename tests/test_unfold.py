"""A passage's text is stored once: the text index's folded text plus what folding changed
(:mod:`kb.engine.unfold`), put back exactly — through a build, an incremental build, a segment merge
and a search hit — and damage to those files is reported, never a different text."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from kb.build.indexer import build_index
from kb.engine import segwriter, unfold
from kb.engine.textindex import TextIndex
from kb.errors import IndexDamagedError
from kb.load.loaders import load_document
from kb.search import KnowledgeBase
from kb.store.manifest import current_version, read_manifest
from kb.text.analysis import fold

# Traditional characters, full-width letters, digits and punctuation, a Chinese-numeral year, a
# character outside the Basic Multilingual Plane: everything folding changes, beside what it keeps
WRITTEN = ("一、運輸工作回顧\n\n一九八四年起，全市綜合交通投資（含ＰＰＰ項目）達到４３．６８億元；"
           "G228國道改建完成！𠀋字保留。\n\n二、下一步\n\n繼續推進“四好農村路”建設，治超檢測１２萬輛次。\n")


def _corpus(folder: Path) -> Path:
    folder.mkdir()
    (folder / "traditional.txt").write_text(WRITTEN, encoding="utf-8")
    (folder / "plain.txt").write_text("一、总体情况\n\n今年完成了很多工作，道路建设投资十亿元。\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("original", [WRITTEN, "", "no change at all", "ＡＢＣ１２３％，。", "𠀋𠀋,，"])
def test_changes_put_back_give_the_original(original: str) -> None:
    folded = fold(original)
    at, chars = unfold.changes(original, folded)
    assert at.size == sum(a != b for a, b in zip(original, folded))
    assert unfold.restore(folded, at, chars) == original


def test_a_length_change_or_a_change_past_the_end_is_an_error() -> None:
    with pytest.raises(ValueError):
        unfold.changes("交通", "交")
    with pytest.raises(ValueError):
        unfold.restore("交通", np.array([5], np.uint32), np.array([ord("，")], np.uint32))


def test_documents_and_hits_read_back_as_written_after_builds_and_a_merge(tmp_path: Path) -> None:
    corpus, index = _corpus(tmp_path / "corpus"), tmp_path / "index"
    build_index([corpus], index, workers=1)
    kb = KnowledgeBase(index)
    doc = load_document(corpus / "traditional.txt", corpus)
    assert fold(doc.body) != doc.body  # the case this is about
    assert kb.document(doc.doc_id)["body"] == doc.body
    hit = next(h for h in kb.search("综合交通投资").hits if h.doc_id == doc.doc_id)
    assert hit.text in doc.body and "綜合交通投資（含ＰＰＰ項目）" in hit.text

    # an incremental build: a second segment; the unchanged document still reads back whole
    (corpus / "added.txt").write_text("一、新增\n\n新建公交候車亭３８處，修復６０座。\n", encoding="utf-8")
    build_index([corpus], index, workers=1)
    kb = KnowledgeBase(index)
    assert kb.document(doc.doc_id)["body"] == doc.body
    added = load_document(corpus / "added.txt", corpus)
    assert kb.document(added.doc_id)["body"] == added.body

    # the segments merged into one: every row's original text the same as before
    version = tmp_path / "v"
    shutil.copytree(current_version(index), version)
    manifest = read_manifest(version)
    live = {r["fid"] for r in manifest["files"].values() if r.get("fid")}
    before = TextIndex(version, manifest["segments"], live)
    assert len(manifest["segments"]) >= 2 and before.has_originals()
    texts = {p: before.original(r) for r, p in enumerate(before.pnums.tolist()) if before.live[r]}
    assert any(fold(t) != t for t in texts.values())
    segwriter.merge_segments(version, manifest["segments"], live, into="seg-merged")
    merged = TextIndex(version, ["seg-merged"], live)
    assert {p: merged.original(r) for r, p in enumerate(merged.pnums.tolist())} == texts


def test_damaged_changes_are_reported_not_shown(tmp_path: Path) -> None:
    corpus, index = _corpus(tmp_path / "corpus"), tmp_path / "index"
    build_index([corpus], index, workers=1)
    version = current_version(index)
    manifest = read_manifest(version)
    text = TextIndex(version, manifest["segments"], {r["fid"] for r in manifest["files"].values() if r.get("fid")})
    row = next(r for r in range(text.size) if text.changes(r)[0].size)
    seg = version / manifest["segments"][0]
    at_file = seg / "unfold.at.npy"
    data = np.load(at_file)
    data[:] = np.iinfo(data.dtype).max  # every change now points past its passage's end
    np.save(at_file, data)
    with pytest.raises(IndexDamagedError, match="cannot be put back"):
        TextIndex(version, manifest["segments"], set()).original(row)
    # and a fresh open of the version finds the file's checksum wrong
    with pytest.raises(IndexDamagedError):
        KnowledgeBase(index).search("综合交通投资")
