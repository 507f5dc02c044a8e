"""kb/query/spell.py and the vocabulary behind it (kb/engine/textindex.py): typos and pinyin → words the index holds.

Small vocabularies check the rules (same sound first, frequent words only, nothing to correct when
every word is known, bounded work on gibberish); the session index (``built_index``) checks them on
real text; small builds check that a vocabulary is written by every build and survives merges.
"""

from __future__ import annotations

import doctest
import shutil
import threading
from pathlib import Path

import pytest

import kb.query.spell
from conftest import DATA, MISSION_PATH
from kb.text import analysis
from kb.build import indexer
from kb.engine import textindex
from kb.chunk.chunker import chunk
from kb.build.indexer import build_index
from kb.store.manifest import current_version, read_manifest
from kb.models import Document
from kb.query.spell import Speller
from kb.engine.segwriter import SegmentBuilder
from kb.engine.textindex import TextIndex

VOCAB = {"综合": 120, "交通": 900, "投资": 400, "融资": 600, "治超": 30, "治理": 500, "超限": 40,
         "四好农村路": 12, "农村": 300, "公路": 250, "绿色": 20, "银行": 8, "稀有": 2, "路网": 50}


def test_doctests() -> None:
    result = doctest.testmod(kb.query.spell)
    assert result.attempted > 0 and result.failed == 0


# --- correct --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("typo", "fixed"), [
    ("综合交通投姿", "综合交通投资"),  # 姿 zī → 资 zī, though 融资 is more frequent
    ("治钞", "治超"),  # 钞 chāo → 超, though 治理 is far more frequent
    ("四好农村陆", "四好农村路"),
    ("绿涩", "绿色"),
    ("路罔", "路网"),
])
def test_one_character_replaced_same_sound_first(typo: str, fixed: str) -> None:
    assert Speller(VOCAB).correct(typo) == fixed


def test_another_character_when_none_sounds_the_same() -> None:
    """No same-sounding word: the most frequent word through that character (a typo by shape)."""
    assert Speller({"治超": 30, "超限": 40}).correct("治趋") == "治超"


def test_user_dictionary_terms_are_offered_however_rare() -> None:
    """一超四罚 is in kb/data/userdict.txt: one passage is enough, and the longer word wins over 司法."""
    assert Speller({"一超四罚": 1, "司法": 500, "四法": 0}).correct("一超四法") == "一超四罚"
    assert Speller({"一超四罚": 1}).from_pinyin("yichaosifa") == ["一超四罚"]
    assert Speller({"一超四罚": 1}).correct("一超四法") == "一超四罚"
    assert Speller({"超四罚则": 1}).correct("超四罚责") is None  # not a user term: too rare
    assert Speller({"一超四罚": 1, "一超四法": 900}).correct("一超四罚") is None  # a user term is known


@pytest.mark.parametrize("text", ["综合交通投资", "治超", "四好农村路", "交通", "公路治超"])
def test_known_words_are_not_corrected(text: str) -> None:
    assert Speller(VOCAB).correct(text) is None


def test_only_frequent_words_and_much_more_frequent_than_the_original() -> None:
    speller = Speller({"稀有": 2, "投资": 400, "投姿": 100})
    assert speller.correct("稀友") is None  # 稀有 is held by fewer than MIN_DF passages
    assert speller.correct("投姿") is None  # 投资 is not RATIO times as frequent as 投姿
    assert Speller({"投资": 400, "投姿": 1}).correct("投姿") == "投资"


@pytest.mark.parametrize("text", ["", "asdkjhqwe", "asdkjhqwe" * 55, "。，、", "2024", "阿" * 500,
                                  "的" * 20, "\x00\x00"])
def test_nothing_to_correct_returns_none(text: str) -> None:
    speller = Speller(VOCAB)
    speller.tables()
    assert speller.correct(text) is None


# --- from_pinyin ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("latin", "words"), [
    ("zhichao", ["治超"]),
    ("zhi chao", ["治超"]),
    ("ZhiChao", ["治超"]),
    ("sihaonongcunlu", ["四好农村路"]),
    ("si'hao nong-cun lu", ["四好农村路"]),
    ("lvse", ["绿色"]),
    ("luse", ["绿色"]),  # ü typed as u
    ("yinhang", ["银行"]),  # 行 read háng, not its usual xíng
    ("xiyou", []),  # 稀有: too rare to be offered
    ("jiaotongtouzi", ["交通 投资"]),  # no one word: two words that spell it
])
def test_from_pinyin(latin: str, words: list[str]) -> None:
    assert Speller(VOCAB).from_pinyin(latin) == words


def test_from_pinyin_most_frequent_first_three_at_most() -> None:
    speller = Speller({"市场": 50, "试场": 5, "市长": 9, "视察": 30, "市厂": 4, "实场": 3})
    assert speller.from_pinyin("shichang") == ["市场", "市长", "试场"]  # 长 read cháng; 视察 is shicha


@pytest.mark.parametrize("latin", ["", "asdkjhqwe", "asdkjhqwe" * 55, "a" * 500, "shi" * 100, "治超",
                                   "zhichao1", "x"])
def test_from_pinyin_gibberish_returns_nothing(latin: str) -> None:
    speller = Speller(VOCAB)
    speller.tables()
    assert speller.from_pinyin(latin) == []


def test_from_pinyin_work_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every prefix of ``shishishi…`` is a word of some vocabulary: the search stops at MAX_STEPS
    (counted in lookups, not timed: a loaded machine must not fail it)."""
    import kb.query.spell as spell

    chars = "是市事时式试室适使世视实施师"
    vocabulary = {a + b: 5 for a in chars for b in chars}
    vocabulary.update({a + b + c: 5 for a in chars for b in chars for c in chars})
    speller = Speller(vocabulary)
    speller.tables()
    assert len(speller.from_pinyin("shi" * 3)) == 3
    calls = []
    real = spell.bisect_left
    monkeypatch.setattr(spell, "bisect_left", lambda *a: calls.append(1) or real(*a))
    speller.from_pinyin("shi" * 20)
    # the limit is checked between prefixes: at most one syllable's characters past it
    assert 0 < len(calls) <= spell.MAX_STEPS + max(len(c) for c in speller.tables().by_syllable.values())


def test_empty_vocabulary_corrects_nothing() -> None:
    speller = Speller({})
    assert speller.correct("综合交通投姿") is None and speller.from_pinyin("zhichao") == []


def test_tables_built_once_across_threads() -> None:
    speller = Speller(VOCAB)
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(speller.tables())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(t) for t in seen}) == 1
    assert speller.correct("治钞") == "治超"


# --- the vocabulary a segment saves --------------------------------------------------------------

def _segment(tmp_path: Path, *bodies: str) -> Path:
    builder = SegmentBuilder()
    for n, body in enumerate(bodies, start=1):
        builder.add(chunk(Document(doc_id=f"d{n}", path=f"d{n}.txt", title="标题", body=body)), fid=n)
    builder.write(tmp_path / "seg")
    return tmp_path / "seg"


def _read(seg: Path) -> dict[str, int]:
    words, keys, dfs = textindex.read_vocabulary(seg)
    assert keys.tolist() == sorted(keys.tolist()) == [textindex.word_key(w) for w in words]
    return dict(zip(words, dfs.tolist()))


def test_a_segment_saves_its_cjk_words_with_document_frequencies(tmp_path: Path) -> None:
    seg = _segment(tmp_path, "一、治超\n全年治超检测12万辆次，治超站3个。\n二、投资\n完成综合交通投资43.68亿元。",
                   "一、治超\n推进治超工作。")
    vocab = _read(seg)
    assert vocab["治超"] == 2  # passages (rows), not occurrences
    assert vocab["投资"] == 1 and vocab["综合"] == 1
    assert "12" not in vocab and "亿元" in vocab and "，" not in vocab
    assert all(analysis.is_cjk(w) and 2 <= len(w) <= 8 for w in vocab)
    assert "标题" not in vocab  # a title word, with no rows in the passages' own words


def test_user_dictionary_terms_are_listed_whatever_their_form(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analysis, "user_words", lambda: frozenset({"g228"}))
    vocab = _read(_segment(tmp_path, "一、治超\nG228治超站建成。"))
    assert vocab["g228"] == 1 and vocab["治超"] == 1


@pytest.mark.parametrize("damage", ["missing", "short"])
def test_an_index_without_vocabulary_files_has_an_empty_vocabulary(tmp_path: Path, damage: str) -> None:
    seg = _segment(tmp_path, "一、治超\n全年治超检测12万辆次。")
    if damage == "missing":  # a segment written before vocabularies were
        for name in (textindex.VOCAB_WORDS, textindex.VOCAB_KEYS, textindex.VOCAB_DFS):
            (seg / name).unlink()
    else:
        (seg / textindex.VOCAB_WORDS).write_text("治超\n", encoding="utf-8")
    index = TextIndex(tmp_path, ["seg"], {1})
    assert index.vocabulary() == {}
    assert Speller(index.vocabulary()).correct("治钞") is None


def test_vocabulary_sums_the_segments(tmp_path: Path) -> None:
    for n, body in enumerate(["一、治超\n全年治超检测。", "一、治超\n推进治超工作。\n二、其他\n治超站。"]):
        builder = SegmentBuilder()
        builder.add(chunk(Document(doc_id=f"d{n}", path=f"d{n}.txt", title="标题", body=body)), fid=n + 1)
        builder.write(tmp_path / f"seg{n}")
    index = TextIndex(tmp_path, ["seg0", "seg1"], {1, 2})
    vocabulary = index.vocabulary()
    assert vocabulary["治超"] == 3 and vocabulary["推进"] == 1 and vocabulary["检测"] == 1
    assert index.vocabulary() is vocabulary  # read once


def _vocabulary(index_dir: Path) -> dict[str, int]:
    version = current_version(index_dir)
    manifest = read_manifest(version)
    live = {rec["fid"] for rec in manifest["files"].values() if rec.get("fid") and rec.get("doc_id")}
    return TextIndex(version, manifest["segments"], live).vocabulary()


def test_vocabulary_survives_incremental_builds_and_merges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Incremental builds add segments; merging them counts the words again over live rows only, so
    the merged vocabulary is the one a full build of the same files gives."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in (MISSION_PATH, DATA / "fixture-plan-2024.txt"):
        shutil.copy2(path, corpus / path.name)
    index_dir = tmp_path / "index"
    monkeypatch.setattr(indexer, "MAX_SEGMENTS", 1)  # every incremental build merges all segments
    build_index([corpus], index_dir, workers=1)
    first = _vocabulary(index_dir)
    assert first["投资"] >= 3 and first["治超"] >= 1
    (corpus / "added.txt").write_text("追加文件\n一、治超\n独门词语治超站。\n二、其他\n独门词语另一段。",
                                      encoding="utf-8")
    plan = corpus / "fixture-plan-2024.txt"
    plan.write_text(plan.read_text(encoding="utf-8") + "\n结尾新增一句独门词语。", encoding="utf-8")
    report = build_index([corpus], index_dir, workers=1)
    assert (report.added, report.changed) == (1, 1)
    segments = read_manifest(current_version(index_dir))["segments"]
    assert len(segments) == 1 and segments[0].endswith("-merged")
    merged = _vocabulary(index_dir)
    assert merged["治超"] == first["治超"] + 1
    full = tmp_path / "full"
    build_index([corpus], full, workers=1, full=True)
    assert merged == _vocabulary(full)


# --- on the session index ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_speller(built_index: Path) -> Speller:
    vocabulary = _vocabulary(built_index)
    assert len(vocabulary) > 1000
    speller = Speller(vocabulary)
    speller.tables()
    return speller


@pytest.mark.parametrize(("typo", "fixed"), [
    ("综合交通投姿", "综合交通投资"),
    ("综合交通头资", "综合交通投资"),
    ("四好农村陆", "四好农村路"),
    ("治钞", "治超"),
    ("一超四法", "一超四罚"),
])
def test_real_index_corrects_a_typo(real_speller: Speller, typo: str, fixed: str) -> None:
    assert real_speller.correct(typo) == fixed


@pytest.mark.parametrize(("latin", "first"), [
    ("zhichao", "治超"), ("zhi chao", "治超"), ("sihaonongcunlu", "四好农村路"), ("jiaotong", "交通"),
    ("touzi", "投资"), ("zonghe", "综合"), ("yichaosifa", "一超四罚"),
])
def test_real_index_reads_pinyin(real_speller: Speller, latin: str, first: str) -> None:
    """Words of the mission document (温岭市交通运输局2023年度工作总结), typed as pinyin."""
    assert real_speller.from_pinyin(latin)[0] == first


def test_real_index_leaves_known_words_and_gibberish_alone(real_speller: Speller) -> None:
    for text in ("综合交通投资", "四好农村路", "交通运输"):
        assert real_speller.correct(text) is None, text
    assert real_speller.correct("asdkjhqwe" * 55) is None
    assert real_speller.from_pinyin("asdkjhqwe" * 55) == []

