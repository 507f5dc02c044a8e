"""kb/chunk/chunker.py: ``Document`` → section tree + passages.

One named test per edge case (MkDocs' search-plugin style), the mission document's exact tree,
the repair mechanisms seen in real reports (lost markers, unnumbered part headings, back matter,
glossaries), passage sizing, id stability, and a property test over generated documents. Every
chunking is also put through :func:`chunk_checks.invariant_problems` (lossless, one section per
passage, sizes, ids); the last tests show that checker catches broken chunkings.
"""

from __future__ import annotations

import dataclasses
import doctest
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kb.chunk.chunker
from chunk_checks import chrome_in_passages, flatten, invariant_problems, nonspace
from conftest import MISSION_PATH
from kb.chunk.passages import HARD_MAX, TARGET_MAX, TARGET_MIN
from kb.chunk.chunker import chunk
from kb.text.headings import heading_of
from kb.load.loaders import load_document
from kb.models import Chunked, Document


def make(body: str, title: str = "测试文件", doc_id: str = "t") -> Chunked:
    """Chunk ``body`` and check every invariant on the way."""
    chunked = chunk(Document(doc_id=doc_id, path=f"{doc_id}.txt", title=title, body=body))
    problems = invariant_problems(chunked)
    assert not problems, problems
    return chunked


def tree(sections) -> list[tuple]:
    """(marker, title, repaired, children) of a section tree, for exact comparison."""
    return [(s.marker, s.title, s.repaired, tree(s.children)) for s in sections]


def tops(chunked: Chunked) -> list[str]:
    return [s.title for s in chunked.sections if s.anchor != "s0"]


def sentence(n: int, word: str = "推进重点项目建设") -> str:
    """A sentence of about ``n`` characters ending in 。."""
    return (word * (n // len(word) + 1))[: n - 1] + "。"


@pytest.fixture(scope="module")
def mission() -> Chunked:
    return chunk(load_document(MISSION_PATH, MISSION_PATH.parent))


def test_doctests() -> None:
    """The ``>>>`` examples in the module's docstrings hold."""
    result = doctest.testmod(kb.chunk.chunker)
    assert result.attempted > 0 and result.failed == 0


# --- the mission document -----------------------------------------------------------------------

MISSION_TREE = [
    ("", "前言", False, []),
    ("一、", "坚持党建引领,奋力书写交通特色答卷", False, [
        ("(一)", "坚持政治统领,践行“两个维护”更加坚决", False, []),
        ("(二)", "扛起政治责任,落实全面从严治党主体责任更加坚决", True, []),
        ("(三)", "打造“岭”路先锋,交通党建品牌更富特色", True, []),
    ]),
    ("二、", "坚持高质量发展,奋力书写交通高分答卷", False, [
        ("(一)", "聚焦“两城两湖”,建设全域快速路网", False, []),
        ("(二)", "聚焦营商环境,助力高质量发展", False, []),
        ("(三)", "聚焦共同富裕,推动交通融合发展", True, []),
        ("(四)", "聚焦乡村振兴,升级“四好农村路”", True, []),
        ("(五)", "聚焦除险保安,严控安全生产形势", False, []),
    ]),
    ("三、", "坚持以民为本,奋力书写交通满意答卷", False, []),
]


def test_mission_tree(mission: Chunked) -> None:
    """Preface; 一、 with (一)(二)(三); 二、 with (一)…(五); 三、; exactly four repaired markers."""
    assert tree(mission.sections) == MISSION_TREE
    assert mission.preface
    numbers = [(s.number, [c.number for c in s.children]) for s in mission.sections]
    assert numbers == [("", []), ("一", ["一", "二", "三"]), ("二", ["一", "二", "三", "四", "五"]), ("三", [])]
    assert [s.anchor for s in flatten(mission.sections)] == ["s1", "s1-1", "s1-2", "s1-3", "s2", "s2-1", "s2-2",
                                                             "s2-3", "s2-4", "s2-5", "s3"]


def test_mission_passages(mission: Chunked) -> None:
    """Lossless, one section each, no chrome; the repaired sections hold their own text."""
    assert invariant_problems(mission) == []
    assert chrome_in_passages(mission) == []
    for p in mission.passages:  # neither the breadcrumb nor the 发布日期/信息来源 line
        for chrome in ("首页", "政府信息公开", "市级部门", "计划总结", "信息来源", "市交通局", "浏览次数", "15:56"):
            assert chrome not in p.text, (chrome, p.passage_id)
    by_section = {p.section_anchor: p for p in reversed(mission.passages)}
    assert by_section["s0"].text.startswith("2023年是全面贯彻落实党的二十大精神的开局之年")
    assert by_section["s1-3"].text.startswith("形成“1+4”的交通党建工作体系")
    assert by_section["s1-3"].section_path == ("一、坚持党建引领,奋力书写交通特色答卷", "(三)打造“岭”路先锋,交通党建品牌更富特色")
    assert by_section["s2-4"].text.startswith("农村公路管养体制改革国家级试点工作不断深化")


# --- named edge cases ---------------------------------------------------------------------------

def test_content_before_header() -> None:
    """Text before the first heading is the preface (anchor s0, no section path)."""
    c = make("各位代表：\n现在，我代表市人民政府向大会报告工作。\n一、工作回顾\n全年经济平稳。\n二、工作安排\n稳中求进。")
    assert c.preface and c.sections[0].anchor == "s0" and c.sections[0].title == "前言"
    first = c.passages[0]
    assert (first.section_anchor, first.section_path) == ("s0", ())
    assert first.text == "各位代表：\n现在，我代表市人民政府向大会报告工作。"
    assert tops(c) == ["工作回顾", "工作安排"]


def test_no_headings_at_all() -> None:
    """No heading anywhere: one preface section holding every passage."""
    body = "\n".join(sentence(150) for _ in range(5))
    c = make(body)
    assert [s.anchor for s in c.sections] == ["s0"] and c.preface
    assert {p.section_anchor for p in c.passages} == {"s0"}
    assert nonspace("".join(p.text for p in c.passages)) == nonspace(body)


def test_only_headings() -> None:
    """Headings and nothing else: the tree, and no (empty) passages."""
    c = make("一、总体要求\n（一）指导思想\n（二）主要目标\n二、重点任务\n三、保障措施")
    assert tree(c.sections) == [("一、", "总体要求", False, [("（一）", "指导思想", False, []), ("（二）", "主要目标", False, [])]),
                                ("二、", "重点任务", False, []), ("三、", "保障措施", False, [])]
    assert c.passages == () and not c.preface


def test_marker_lost_paren() -> None:
    """``)第二项`` lost ``(二``: numbered from its siblings in their own form, flagged, text kept."""
    c = make("一、总体\n(一)第一项\n正文一。\n)第二项,继续推进\n正文二。\n(三)第三项\n正文三。")
    assert tree(c.sections[0].children) == [("(一)", "第一项", False, []), ("(二)", "第二项,继续推进", True, []),
                                            ("(三)", "第三项", False, [])]
    assert c.passages[1].section_path == ("一、总体", "(二)第二项,继续推进")


def test_marker_lost_bare_line() -> None:
    """A bare line where ``（三）`` should be (the next heading is 二、) is （三）, repaired."""
    c = make("一、总体\n（一）第一项\n正文一。\n（二）第二项\n正文二。\n打造特色品牌,提升影响力\n正文三。\n二、其他\n正文四。")
    assert tree(c.sections[0].children)[-1] == ("（三）", "打造特色品牌,提升影响力", True, [])


def test_bare_line_not_repaired_when_numbering_has_no_gap() -> None:
    """（一） … bare line … （二）: no number is missing, so the line stays body text."""
    c = make("一、总体\n（一）第一项\n正文一。\n这是一句没有标点的短话\n（二）第二项\n正文二。")
    assert [k.number for k in c.sections[0].children] == ["一", "二"]
    assert "这是一句没有标点的短话" in c.passages[0].text


def test_heading_broken_over_two_lines() -> None:
    """``二、…任务和`` / ``二〇三五年远景目标``: one heading; a sentence after ``…的`` is not pulled in."""
    c = make("一、回顾\n正文。\n二、“十四五”主要战略任务和\n\n二〇三五年远景目标\n正文。\n三、推进政府的\n全面建设，加快发展。")
    assert [s.title for s in c.sections] == ["回顾", "“十四五”主要战略任务和二〇三五年远景目标", "推进政府的"]
    assert c.passages[-1].text == "全面建设，加快发展。"


def test_lost_open_paren() -> None:
    """``三）改革开放…`` lost its opening bracket: still （三）, not body text."""
    c = make("一、回顾\n（一）第一项。正文。\n（二）第二项。正文。\n三）改革开放持续深化。正文。\n二、安排\n正文。")
    assert [k.number for k in c.sections[0].children] == ["一", "二", "三"]


def test_single_gap_filled_by_sentence_like_line() -> None:
    """（三）…（五） with one short line between that ends in 。: it is the lost （四）."""
    c = make("二、任务\n（三）第三项工作\n" + sentence(120) + "\n加快补齐基础设施短板，确保经济稳定增长。\n" + sentence(120)
             + "\n（五）第五项工作\n" + sentence(100))
    assert tree(c.sections[0].children) == [("（三）", "第三项工作", False, []),
                                            ("（四）", "加快补齐基础设施短板，确保经济稳定增长", True, []),
                                            ("（五）", "第五项工作", False, [])]


def test_markdown_headings_and_bold() -> None:
    """``#`` headings nest by ``#`` count, or by their marker when they carry one; ``**bold**`` lines are headings."""
    c = make("# 总体要求\n正文甲。\n## 主要目标\n正文乙。\n### 具体指标\n正文丙。\n# 工作安排\n正文丁。")
    assert tree(c.sections) == [("", "总体要求", False, [("", "主要目标", False, [("", "具体指标", False, [])])]),
                                ("", "工作安排", False, [])]
    c = make("# 一、重点任务\n## （一）项目建设\n正文丁。\n### 1.前期工作\n正文。\n**二、保障措施**\n正文戊。\n**加强组织领导**\n正文己。")
    assert tree(c.sections) == [
        ("一、", "重点任务", False, [("（一）", "项目建设", False, [("1.", "前期工作", False, [])])]),
        ("二、", "保障措施", False, []),
        ("", "加强组织领导", False, []),
    ]
    md = load_document(MISSION_PATH.parent.parent / "tests" / "data" / "fixture-notes-2023.md",
                       MISSION_PATH.parent.parent / "tests" / "data")
    c = make(md.body, md.title, md.doc_id)
    assert tree(c.sections) == [
        ("一、", "2023年工作回顾", False, [("（一）", "夯实数据底座", False, []), ("（二）", "强化数据安全", False, [])]),
        ("二、", "2024年工作思路", False, []),
        ("", "名词解释", False, []),
    ]


def test_bold_byline_and_salutation_not_headings() -> None:
    """``**市长 某某**``, ``**各位代表：**``, a bold repeat of 政府工作报告 and a bold lead-in are not headings."""
    c = make("**政府工作报告**\n**市长 王某某**\n**各位代表：**\n现在我代表市政府报告工作。\n"
             "**为实现上述目标，重点做好以下工作：**\n**一、工作回顾**\n正文。")
    assert tops(c) == ["工作回顾"] and c.preface


def test_run_in_heading() -> None:
    """``（一）标题。正文…``: a heading whose line goes on as body text; the whole line is in a passage."""
    line = "（一）加快重点项目建设。全年计划完成交通投资12.5亿元，同比增长8%。"
    h = heading_of(line)
    assert h is not None and h.run_in and (h.number, h.title) == ("一", "加快重点项目建设")
    c = make("一、任务\n" + line + "\n（二）提升服务\n正文。")
    assert c.passages[0].text == line and c.passages[0].section_anchor == "s1-1"


def test_marked_up_heading_ending_in_a_stop_is_only_a_heading() -> None:
    """``### （七）人口和就业。`` (the 九五 plan writes its headings so) is a heading and not passage text;
    a marked-up line that goes on after its stop is run-in, and enters its passage without its ``##``."""
    c = make("## 三、宏观调控目标和政策\n### （七）人口和就业。\n“九五”期间，人口自然增长率控制在年均千分之十点八三。\n"
             "## 四、深入改革经济体制。扩大对外开放，国民经济稳定增长。")
    assert [p.section_path for p in c.passages] == [("三、宏观调控目标和政策", "（七）人口和就业"), ("四、深入改革经济体制",)]
    assert [p.text for p in c.passages] == ["“九五”期间，人口自然增长率控制在年均千分之十点八三。",
                                            "四、深入改革经济体制。扩大对外开放，国民经济稳定增长。"]
    assert not any("#" in p.text for p in c.passages)


def test_definition_entry_is_run_in() -> None:
    """``1.“两重”：是指…``: the term is the title, the definition stays body text."""
    h = heading_of("1.“两重”：是指国家重大战略实施和重点领域安全能力建设")
    assert h is not None and h.run_in and h.title == "“两重”"


def test_decimal_not_heading() -> None:
    """``1.5亿元…`` is a number, not the heading ``1.``; ``2024.`` or ``1.`` with nothing after are not headings."""
    for line in ("1.5亿元用于农村公路提升改造。", "2.3%的增长", "一是加强干部队伍建设。", "1.", "（一）", "12、"):
        assert heading_of(line) is None, line
    c = make("一、任务\n（一）加快建设。正文。\n1.5亿元用于农村公路提升改造，其余资金用于国省道改建。\n二、措施\n正文。")
    assert [k.number for k in c.sections[0].children] == ["一"]
    assert "1.5亿元" in c.passages[0].text


def test_subpoint_split() -> None:
    """A long paragraph splits at 一是/二是/三是 before anywhere else."""
    points = ["一是" + sentence(150, "优化城乡公交网络"), "二是" + sentence(150, "发展现代物流体系"),
              "三是" + sentence(150, "推进绿色交通发展")]
    c = make("一、任务\n" + "".join(points))
    assert [p.text for p in c.passages] == points


def test_subpoint_not_split_inside_words() -> None:
    """``是`` after a sentence end only: ``这就是…`` and ``还是…`` do not start sub-points."""
    text = sentence(200) + "这就是一是二是的问题，还是要" + sentence(220)
    c = make("一、任务\n" + text)
    assert all(not p.text.startswith(("是", "一是", "二是")) for p in c.passages)


def test_long_sentence_hard_max() -> None:
    """One sentence longer than HARD_MAX is cut at commas; with no commas at all, cut hard; never over."""
    comma_run = "，".join(["完善城乡交通基础设施网络"] * 80) + "。"
    solid = "交" * (HARD_MAX * 3 + 7)
    c = make("一、任务\n" + comma_run + "\n二、其他\n" + solid)
    assert max(len(p.text) for p in c.passages) <= HARD_MAX
    assert nonspace("".join(p.text for p in c.passages)) == nonspace(comma_run + solid)
    assert all(len(p.text) <= TARGET_MAX for p in c.passages if p.section_anchor == "s2")


def test_balanced_split_leaves_no_stub() -> None:
    """450 characters of sentences become two passages of similar size, not 400 + a 50-character stub."""
    para = "".join(sentence(45) for _ in range(10))
    c = make("一、任务\n" + para)
    sizes = [len(p.text) for p in c.passages]
    assert len(sizes) == 2 and min(sizes) >= 180, sizes


def test_short_paragraphs_joined_within_section_only() -> None:
    """Short neighbours in one section are joined; never across a heading."""
    c = make("一、甲\n短句一。\n短句二。\n短句三。\n二、乙\n短句四。")
    assert [(p.section_anchor, p.text) for p in c.passages] == [("s1", "短句一。\n短句二。\n短句三。"), ("s2", "短句四。")]


# --- mechanisms seen in real reports ------------------------------------------------------------

def test_unnumbered_part_headings_above_series() -> None:
    """Only （一） is numbered: the bare lines before each series are the parts (拉萨 2025, 资阳 2025)."""
    body = ("拉萨市市长 王某\n各位代表：\n现在报告工作。\n2024年工作回顾\n" + sentence(120) + "\n一年来，主要做了以下工作：\n"
            "（一）围绕生态立市。正文。\n（二）围绕文化兴市。正文。\n" + sentence(90) + "\n2025年工作安排\n" + sentence(80)
            + "\n（一）实施能级提升工程。正文。\n（二）实施改革攻坚工程。正文。\n（三）实施美丽家园工程。正文。")
    c = make(body)
    assert [(s.title, s.number, s.repaired, [k.number for k in s.children]) for s in c.sections[1:]] == [
        ("2024年工作回顾", "", False, ["一", "二"]), ("2025年工作安排", "", False, ["一", "二", "三"])]


def test_numbering_restart_makes_parents() -> None:
    """一、…三、 restarting under bare part lines (云浮 2022): the bare lines are parts, 一、 under them."""
    body = ("各位代表：\n现在报告工作。\n过去五年工作回顾\n" + sentence(150) + "\n今后五年的目标任务\n" + sentence(150)
            + "\n2022年工作安排\n" + sentence(100) + "\n一、做强园区经济。正文。\n二、做大镇域经济。正文。\n三、做优资源经济。正文。")
    c = make(body)
    assert [(s.title, [k.marker for k in s.children]) for s in c.sections[1:]] == [
        ("过去五年工作回顾", []), ("今后五年的目标任务", []), ("2022年工作安排", ["一、", "二、", "三、"])]


def test_trailing_title_line_closes_as_top_level() -> None:
    """``加强政府自身建设`` after the last （八）: a top-level part, not a made-up （九）."""
    c = make("一、回顾\n正文。\n二、安排\n（一）第一项。正文。\n（二）第二项。正文。\n加强政府自身建设\n" + sentence(120))
    assert [(s.marker, s.title) for s in c.sections] == [("一、", "回顾"), ("二、", "安排"), ("", "加强政府自身建设")]
    assert not any(s.repaired for s in flatten(c.sections))


def test_back_matter_is_top_level() -> None:
    """附件 and 名词解释 stand beside the parts, not under the last （十）; their 一、 list nests under them."""
    c = make("一、回顾\n正文。\n二、安排\n（一）第一项。正文。\n附件1\n2026年十件民生实事\n一、提高低保标准。正文。\n"
             "二、建设养老服务。正文。\n名词解释\n1.四好农村路：建好、管好、护好、运营好农村公路。\n2.两新：设备更新和以旧换新。")
    assert [(s.title, [k.marker for k in s.children]) for s in c.sections] == [
        ("回顾", []), ("安排", ["（一）"]), ("附件1", ["一、", "二、"]), ("名词解释", [])]
    glossary = [p for p in c.passages if p.section_anchor == c.sections[-1].anchor]
    assert len(glossary) == 1 and "四好农村路" in glossary[0].text and "两新" in glossary[0].text


def test_bylines_and_datelines_never_headings() -> None:
    """Speaker, venue and wire lines under the title are preface text even between numbered points."""
    c = make("一、回顾\n（一）第一项。正文。\n国务院总理 温家宝\n新华社北京2006年3月15日电\n（三）第三项。正文。")
    assert [(k.number, k.repaired) for k in c.sections[0].children] == [("一", False), ("三", False)]


# --- stability ----------------------------------------------------------------------------------

def test_ids_stable_across_runs(mission: Chunked) -> None:
    """The same document gives the same ids, anchors and spans every time."""
    again = chunk(mission.document)
    assert [(p.passage_id, p.anchor, p.start, p.end) for p in again.passages] == \
        [(p.passage_id, p.anchor, p.start, p.end) for p in mission.passages]
    assert again.sections == mission.sections


def _edited(doc: Document, old: str, new: str) -> Document:
    assert doc.body.count(old) == 1
    return dataclasses.replace(doc, body=doc.body.replace(old, new))


def test_edit_one_paragraph_keeps_other_ids(mission: Chunked) -> None:
    """Changing a paragraph in 二、(一) changes ids in that section only."""
    edited = chunk(_edited(mission.document, "全年完成综合交通投资43.68亿元", "全年完成综合交通投资44.01亿元"))
    before = {p.passage_id: p.section_anchor for p in mission.passages}
    after = {p.passage_id: p.section_anchor for p in edited.passages}
    changed_sections = {a for pid, a in before.items() if pid not in after} | \
        {a for pid, a in after.items() if pid not in before}
    assert changed_sections == {"s2-1"}
    untouched = [pid for pid, a in before.items() if a != "s2-1"]
    assert untouched and all(pid in after for pid in untouched)


def test_insert_paragraph_keeps_other_ids(mission: Chunked) -> None:
    """A new paragraph in 三、 leaves every passage id of the other sections as it was."""
    edited = chunk(_edited(mission.document, "三、坚持以民为本,奋力书写交通满意答卷\n",
                           "三、坚持以民为本,奋力书写交通满意答卷\n\n" + sentence(200, "新增一段群众满意度调查情况") + "\n"))
    kept = {p.passage_id for p in edited.passages}
    assert all(p.passage_id in kept for p in mission.passages if p.section_anchor != "s3")


def test_duplicate_paragraphs_get_distinct_ids() -> None:
    """The same text twice (a page scraped twice) gives two passages with different, stable ids."""
    c = make("一、甲\n" + sentence(200) + "\n二、乙\n" + sentence(200))
    first, second = c.passages
    assert first.text == second.text and first.passage_id != second.passage_id
    assert second.passage_id == first.passage_id + "-2"


# --- scale ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    "一、总体\n" + "推进重点项目建设取得新进展。" * 150_000,  # one 2 MB paragraph
    "\n".join(f"（{i % 9 + 1}）标题{i}\n正文。" for i in range(40_000)),  # 40k sections
    "一、总体\n（一）第一项\n正文。\n" + "\n".join(f"推进第{i}项重点项目,建设工作" for i in range(40_000)),
    "各位代表：\n" + "\n".join(f"推进第{i}项重点项目,建设工作" for i in range(40_000)) + "\n（一）一项。正文。\n（二）二项。正文。",
], ids=["2MB-paragraph", "40k-sections", "40k-bare-lines", "40k-lines-before-series"])
def test_large_documents_chunk_in_linear_time(body: str) -> None:
    """Inputs that took 3-13 s while a step was quadratic take well under a second (5 s: room for a busy machine)."""
    started = time.perf_counter()
    c = chunk(Document(doc_id="big", path="big.txt", title="T", body=body))
    assert time.perf_counter() - started < 5
    assert c.passages and max(len(p.text) for p in c.passages) <= HARD_MAX


def test_large_page_loads_in_linear_time(tmp_path) -> None:
    """A page repeating its footer buttons thousands of times is read in linear time too."""
    para = "推进重点项目建设取得新进展，" * 8 + "正文完。"  # longer than any footer line: nothing is cut
    (tmp_path / "big.txt").write_text("某县工作总结\n一、总体\n" + f"{para}\n打印本页\n" * 30_000, encoding="utf-8")
    started = time.perf_counter()
    doc = load_document(tmp_path / "big.txt", tmp_path)
    assert time.perf_counter() - started < 5 and doc.body.count("正文完。") == 30_000


# --- property test ------------------------------------------------------------------------------

_HEADINGS = st.sampled_from(["一、", "二、", "三、", "（一）", "（二）", "(三)", "1.", "2、", "（1）", "第一部分", "## ", "**", ")"])
_WORDS = st.sampled_from(["推进项目建设", "优化营商环境", "改善民生福祉", "1.5亿元", "增长8%", "“两城两湖”", "G228国道", "一是", "二是"])
_PUNCT = st.sampled_from(["。", "，", "；", ",", "：", "！", "", "\n", "\n\n", "\r\n"])


@st.composite
def documents(draw) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 25))):
        if draw(st.booleans()):
            marker = draw(_HEADINGS)
            title = "".join(draw(st.lists(_WORDS, min_size=1, max_size=3)))
            lines.append(f"**{title}**" if marker == "**" else marker + title)
        else:
            words = draw(st.lists(st.tuples(_WORDS, _PUNCT), min_size=1, max_size=120))
            lines.append("".join(w + p for w, p in words))
    return "\n".join(lines).replace("\r\n", "\n").strip("\n")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=documents())
def test_any_document_chunks_soundly(body: str) -> None:
    """Whatever the mix of headings and text: lossless, within sections, bounded, stable."""
    c = make(body)
    assert all(0 < len(p.text) <= HARD_MAX for p in c.passages)
    assert chunk(c.document).passages == c.passages


# --- the checker itself can fail ----------------------------------------------------------------

def _broken(c: Chunked, passages) -> Chunked:
    return dataclasses.replace(c, passages=tuple(passages))


def test_checker_catches_broken_chunkings() -> None:
    """Dropped text, a passage across a heading, overlap, a wrong section, oversize: each is reported."""
    c = make("一、甲\n" + sentence(200) + "\n" + sentence(200, "改善民生福祉") + "\n二、乙\n" + sentence(150))
    p0, p1, p2 = c.passages
    assert invariant_problems(_broken(c, [p0, p2]))  # a paragraph lost
    across = dataclasses.replace(p1, end=p2.end, text=c.document.body[p1.start:p2.end])
    assert invariant_problems(_broken(c, [p0, across]))  # one passage over the heading 二、
    overlap = dataclasses.replace(p1, start=p1.start - 5, text=c.document.body[p1.start - 5:p1.end])
    assert invariant_problems(_broken(c, [p0, overlap, p2]))
    assert invariant_problems(_broken(c, [p0, p1, dataclasses.replace(p2, section_anchor="s1")]))
    big = "一、甲\n" + "交" * (HARD_MAX + 1)
    doc = Document(doc_id="b", path="b.txt", title="T", body=big)
    whole = dataclasses.replace(chunk(doc).passages[0], end=len(big), text=big[3:])
    assert any("HARD_MAX" in m for m in invariant_problems(Chunked(doc, chunk(doc).sections, (whole,))))
    assert TARGET_MIN < TARGET_MAX < HARD_MAX


def test_chrome_check_finds_chrome() -> None:
    c = make("一、甲\n发布日期：2024-01-01 正文。")
    assert chrome_in_passages(c) == [f"'发布日期' in {c.passages[0].passage_id}"]


def test_a_passage_continuing_a_table_carries_its_caption() -> None:
    rows = "\n".join(f"产品{n} {n}.5 万吨 {n}.1" for n in range(60))  # longer than one passage
    body = f"## 二、工业\n\n全年工业平稳增长。\n\n主要产品产量如下：\n\n{rows}\n\n全年规模以上工业利润增长。\n"
    chunked = make(body + "\n## 三、其他\n\n" + "服务业平稳增长，" * 12 + "。\n")
    table = [p for p in chunked.passages if "万吨" in p.text]
    assert len(table) > 2 and "主要产品产量如下" in table[0].text and table[0].lead == ""  # it holds its caption
    assert {p.lead for p in table[1:]} == {"主要产品产量"}  # the rows cut off from it
    assert chunked.passages[-1].text.startswith("服务业") and chunked.passages[-1].lead == ""  # prose after
    grid = "\n".join(f"| 产品{n} | 万吨 | {n}.5 |" for n in range(40))
    md = make(f"## 三、工业\n\n| **表3 主要工业产品产量** | | |\n| --- | --- | --- |\n| 产品名称 | 单位 | 产量 |\n{grid}\n\n"
              "## 四、其他\n\n工业平稳。\n")
    leads = {p.lead for p in md.passages if "万吨" in p.text and "表3" not in p.text}
    assert leads == {"表3 主要工业产品产量 产品名称 单位 产量"}
    assert md.passages[-1].lead == ""


def test_a_communique_s_table_rows_carry_the_line_that_introduces_them(shared_dir) -> None:
    doc = load_document(shared_dir / "corpora" / "lawtext-gov" / "国家统计局年度统计" / "1990.md")
    rows = [p for p in chunk(doc).passages if "原煤 10．8 亿吨" in p.text]
    assert [p.lead for p in rows] == ["主要产品产量"]
