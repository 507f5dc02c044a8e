"""kb/query/synonyms.py and kb/data/synonyms.txt: the forms a query term also searches.

What is pinned: the shipped table parses cleanly and every group in it is usable; expansions are
folded, never the term itself, at most six; the five-year-plan rule works both ways (short ↔ full,
计划 up to the tenth plan, 规划 from the eleventh) and never expands or emits a bare 十五 / 六五…九五;
road numbers; ``KB_SYNONYMS`` adds files the way ``KB_USERDICT`` does; a bad line or file is skipped
with a warning naming it, and the rest of the table still works.
"""

from __future__ import annotations

import doctest
import os
import warnings
from pathlib import Path

import pytest

import kb.query.synonyms
from kb.text.analysis import fold
from kb.query.highlight import find_spans
from kb.query.synonyms import (MAX_EXPANSIONS, SynonymFileWarning, SynonymTable, load_synonyms, plan_forms,
                               plan_number, synonym_file_paths)

SHIPPED = Path(kb.query.synonyms.__file__).parent.parent / "data" / "synonyms.txt"
MISSION = Path(__file__).resolve().parent.parent / "corpus" / "wenling-transport-bureau-2023-work-summary.txt"
NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四", "十五"]


@pytest.fixture
def shipped(monkeypatch: pytest.MonkeyPatch) -> SynonymTable:
    """The shipped table alone (no ``KB_SYNONYMS`` from the environment), read with warnings as errors."""
    monkeypatch.delenv("KB_SYNONYMS", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SynonymFileWarning)
        return SynonymTable.parse(SHIPPED.read_text(encoding="utf-8").splitlines(), str(SHIPPED))


def test_doctests() -> None:
    result = doctest.testmod(kb.query.synonyms)
    assert result.attempted > 0 and result.failed == 0


# --- the shipped file ---------------------------------------------------------------------------

def test_shipped_file_parses_every_line(shipped: SynonymTable) -> None:
    """Every non-comment line is a group (no warning: the fixture turns warnings into errors)."""
    lines = [ln.split("#", 1)[0].strip() for ln in SHIPPED.read_text(encoding="utf-8").splitlines()]
    assert len(shipped) == sum(1 for ln in lines if ln) >= 60
    assert all(len(g) >= 2 for g in shipped.groups)


def test_shipped_file_is_the_default(monkeypatch: pytest.MonkeyPatch, shipped: SynonymTable) -> None:
    monkeypatch.delenv("KB_SYNONYMS", raising=False)
    assert synonym_file_paths() == [SHIPPED]
    assert load_synonyms().groups == shipped.groups


def test_shipped_groups_expand_each_way(shipped: SynonymTable) -> None:
    """Each form of each group finds the group's other forms (within the bound)."""
    for group in shipped.groups:
        for form in group:
            got = shipped.expand(form)
            assert form not in got and len(got) <= MAX_EXPANSIONS
            assert set(group) - {form} <= set(got) or len(got) == MAX_EXPANSIONS, (form, got)


@pytest.mark.parametrize(("term", "wanted"), [
    ("治超", {"超限超载", "治理车辆超限超载"}),
    ("超限超载", {"治超"}),
    ("放管服", {"简政放权、放管结合、优化服务"}),
    ("“放管服”", {"简政放权、放管结合、优化服务"}),  # quotes are ignored in the look-up
    ("簡政放權、放管結合、優化服務", {"放管服"}),  # Traditional, folded
    ("非现场执法", {"非现执法"}),
    ("GDP", {"地区生产总值", "国内生产总值"}),
    ("地区生产总值", {"gdp"}),
    ("四好农村路", {"建好、管好、护好、运营好农村公路"}),
])
def test_shipped_examples(shipped: SynonymTable, term: str, wanted: set[str]) -> None:
    assert wanted <= set(shipped.expand(term))


def test_two_groups_do_not_merge(shipped: SynonymTable) -> None:
    """GDP is in two groups; 地区生产总值 and 国内生产总值 are not each other's synonyms."""
    assert "国内生产总值" not in shipped.expand("地区生产总值")


def test_an_expansion_finds_the_mission_document(shipped: SynonymTable) -> None:
    """Real text: the summary writes 非现执法 once; a search for 非现场执法 can now mark it."""
    text = MISSION.read_text(encoding="utf-8")
    spans = find_spans(text, list(shipped.expand("非现场执法")))
    assert any(text[s:e] == "非现执法" for s, e in spans)


def test_expansions_are_folded_and_bounded(shipped: SynonymTable) -> None:
    for term in ["治超", "十四五", "G228", "gdp", "未知词", "", "   ", "#", "="]:
        got = shipped.expand(term)
        assert len(got) <= MAX_EXPANSIONS and len(set(got)) == len(got)
        assert all(fold(f) == f and f for f in got)
        assert fold(term) not in got
    assert shipped.expand("未知词") == ()


# --- five-year plans ----------------------------------------------------------------------------

@pytest.mark.parametrize("n", range(11, 16))
def test_plan_rule_guihua(shipped: SynonymTable, n: int) -> None:
    """十一五 … 十五五: short ↔ 第N个五年规划 (and the 计划 forms), both ways."""
    short, full = f"{NUMERALS[n - 1]}五", f"第{NUMERALS[n - 1]}个五年规划"
    assert full in shipped.expand(short)
    assert short in shipped.expand(full)
    for form in (f"{short}规划", f"{short}计划", f"{short}时期", f"{short}期间", f"第{NUMERALS[n - 1]}个五年计划",
                 f"“{short}”规划"):
        got = shipped.expand(form)
        assert short in got and full in got or form == full, (form, got)


@pytest.mark.parametrize("n", range(1, 11))
def test_plan_rule_jihua(shipped: SynonymTable, n: int) -> None:
    """一五 … 十五: X计划 ↔ 第N个五年计划, both ways; the bare short form is neither expanded nor given."""
    short, full = f"{NUMERALS[n - 1]}五", f"第{NUMERALS[n - 1]}个五年计划"
    assert full in shipped.expand(f"{short}计划")
    assert f"{short}计划" in shipped.expand(full)
    assert full in shipped.expand(f"{short}时期") and full in shipped.expand(f"“{short}”期间")
    assert shipped.expand(short) == ()
    assert short not in shipped.expand(full)


def test_plan_rule_examples(shipped: SynonymTable) -> None:
    assert set(shipped.expand("十一五")) >= {"第十一个五年规划", "十一五规划", "十一五计划", "第十一个五年计划"}
    assert "十一五" in shipped.expand("第十一个五年规划")
    assert "第十个五年计划" in shipped.expand("十五计划")
    assert "第十个五年计划" in shipped.expand("十五规划")
    assert "十五计划" in shipped.expand("第十个五年计划")
    assert "第十五个五年规划" in shipped.expand("十五五")  # the fifteenth, not the tenth
    assert "第十个五年计划" not in shipped.expand("十五五")


@pytest.mark.parametrize("term", ["十五", "六五", "七五", "八五", "九五", "“七五”普法", "十五年", "十六五",
                                  "十五个", "第十六个五年规划", "二十五"])
def test_plan_rule_leaves_numbers_alone(shipped: SynonymTable, term: str) -> None:
    """A bare 十五 is fifteen and 七五 mostly the legal-education campaign: no plan expansion."""
    assert plan_number(fold(term).strip("“”")) is None
    assert shipped.expand(term) == ()


def test_plan_forms_never_bare_ambiguous() -> None:
    bare = {f"{NUMERALS[n - 1]}五" for n in range(1, 11)}
    for n in range(1, 16):
        assert not bare & set(plan_forms(n))


# --- road numbers -------------------------------------------------------------------------------

def test_road_rule(shipped: SynonymTable) -> None:
    assert shipped.expand("G228") == ("228国道", "国道228")
    assert "g228" in shipped.expand("228国道") and "g228" in shipped.expand("国道228线")
    assert shipped.expand("S204") == ("204省道", "省道204")
    assert shipped.expand("S1") == () and shipped.expand("S1线") == () and shipped.expand("G15") == ()


# --- KB_SYNONYMS and bad input ------------------------------------------------------------------

def test_kb_synonyms_adds_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one = tmp_path / "one.txt"
    two = tmp_path / "two.txt"
    one.write_text("# ours\n甲乙工程 = 甲工程、乙工程\n", encoding="utf-8")
    two.write_text("温岭联络线 = 甬台温高速至沿海高速温岭联络线  # a comment\n", encoding="utf-8")
    monkeypatch.setenv("KB_SYNONYMS", os.pathsep.join([str(one), str(two)]))
    assert synonym_file_paths() == [SHIPPED, one, two]
    table = load_synonyms()
    assert table.expand("甲乙工程") == ("甲工程、乙工程",)
    assert table.expand("温岭联络线") == ("甬台温高速至沿海高速温岭联络线",)
    assert "超限超载" in table.expand("治超")  # the shipped lines still apply
    assert load_synonyms() is table  # cached


def test_an_edited_file_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "extra.txt"
    extra.write_text("甲 = 乙\n", encoding="utf-8")
    monkeypatch.setenv("KB_SYNONYMS", str(extra))
    assert load_synonyms().expand("甲") == ("乙",)
    extra.write_text("甲 = 乙 = 丙丙\n", encoding="utf-8")
    assert load_synonyms().expand("甲") == ("乙", "丙丙")


def test_bad_lines_are_skipped_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "bad.txt"
    extra.write_text("\n".join([
        "好词 = 好的词",         # 1: fine
        "没有等号的一行",        # 2: no '='
        "甲 = = 乙",             # 3: empty form
        "孤词 =",                # 4: empty form
        "同 = 同",               # 5: one form twice
        "长 = " + "长" * 200,    # 6: too long
        "好词二 ＝ 好的词二",    # 7: fine (full-width =)
    ]) + "\n", encoding="utf-8")
    monkeypatch.setenv("KB_SYNONYMS", str(extra))
    with pytest.warns(SynonymFileWarning) as record:
        table = load_synonyms()
    messages = [str(w.message) for w in record]
    for lineno in (2, 3, 4, 5, 6):
        assert any(f"bad.txt:{lineno}:" in m for m in messages), messages
    assert not any("bad.txt:1:" in m or "bad.txt:7:" in m for m in messages)
    assert table.expand("好词") == ("好的词",) and table.expand("好词二") == ("好的词二",)


def test_missing_or_undecodable_file_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("甲 = 乙\n".encode("gbk"))
    monkeypatch.setenv("KB_SYNONYMS", os.pathsep.join([str(tmp_path / "nope.txt"), str(gbk), ""]))
    with pytest.warns(SynonymFileWarning) as record:
        table = load_synonyms()
    messages = " | ".join(str(w.message) for w in record)
    assert "nope.txt" in messages and "gbk.txt" in messages
    assert "超限超载" in table.expand("治超")


# --- scripts/seed_synonyms.py -------------------------------------------------------------------

def _seed_module():
    import importlib.util
    path = Path(__file__).resolve().parent.parent / "scripts" / "seed_synonyms.py"
    spec = importlib.util.spec_from_file_location("seed_synonyms", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seed_script_finds_defined_abbreviations() -> None:
    seed = _seed_module()
    assert seed.glossed_candidates("[12]放管服：指简政放权、放管结合、优化服务。\n") == [
        ("放管服", "简政放权、放管结合、优化服务")]
    assert seed.glossed_candidates("[15]五险：指养老保险、医疗保险、失业保险、工伤保险和生育保险。") == [
        ("五险", "养老保险、医疗保险、失业保险、工伤保险、生育保险")]
    assert seed.listed_candidates("扎实推进“两新”（推动新一轮大规模设备更新和消费品以旧换新）工作") == [
        ("两新", "推动新一轮大规模设备更新、消费品以旧换新")]
    assert seed.listed_candidates("深入推进三去一降一补（去产能、去库存、去杠杆、降成本、补短板）") == [
        ("三去一降一补", "去产能、去库存、去杠杆、降成本、补短板")]
    assert seed.named_candidates("加快长江三角洲区域一体化发展（以下简称长三角一体化）") == [
        ("长三角一体化", "长江三角洲区域一体化发展")]


def test_seed_script_skips_what_is_no_abbreviation() -> None:
    seed = _seed_module()
    assert seed.listed_candidates("建成学校35个（其中新建30个、改扩建5个）") == []
    assert seed.glossed_candidates("[3]隐形冠军：指长期专注于某一细分行业产品的研发、生产和经营的中小企业。") == []
    assert seed.listed_candidates("“头雁”（牵头责任单位：市农牧局）") == []
