"""Query understanding on the session index (corpus/, tests/data, reports, gbk): years, filters, typed
questions, exclusions on titles and headings, bad input. See kb/query/understand.py and kb/search.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus_fixtures import built
from kb.errors import QueryError
from kb.search import KnowledgeBase
from kb.query.understand import SearchOptions, compile_query, parse_query

MISSION = "wenling-transport-bureau-2023-work-summary"


@pytest.fixture(scope="module")
def kb(built_index: Path) -> KnowledgeBase:
    return KnowledgeBase(built_index)


def test_a_typed_year_is_a_preference_not_a_required_word(kb: KnowledgeBase) -> None:
    q = compile_query(parse_query("二〇二三年 综合交通投资"))
    assert q.prefer_years == (2023,) and [t.text for g in q.groups for t in g] == ["综合交通投资"]
    with_year = kb.search("温岭 2023年 综合交通投资")
    assert with_year.hits[0].doc_id == MISSION
    # without the preference the year is a plain optional word: the same document still answers
    off = kb.search("温岭 2023年 综合交通投资", options=SearchOptions.without("years"))
    assert off.total >= 1


def test_year_filter_is_the_year_reported_on(kb: KnowledgeBase) -> None:
    docs = {d["doc_id"]: d for d in kb.docs()}
    result = kb.search("地区生产总值 year:2019", page_size=50)
    assert result.hits
    for hit in result.hits:
        assert 2019 in docs[hit.doc_id]["years"], (hit.doc_id, docs[hit.doc_id]["years"])


def test_date_filter_is_the_publication_year(kb: KnowledgeBase) -> None:
    result = kb.search("综合交通投资 date:2024", page_size=50)
    assert result.hits and all(h.date.startswith("2024") for h in result.hits)
    assert not kb.search("综合交通投资 date:1990").hits


def test_exclusion_also_applies_to_title_place_and_headings(kb: KnowledgeBase) -> None:
    docs = {d["doc_id"]: d for d in kb.docs()}
    result = kb.search("交通 -温岭", page_size=50)
    assert result.hits
    for hit in result.hits:
        assert "温岭" not in hit.text and "温岭" not in hit.doc_title
        assert "温岭" not in docs[hit.doc_id]["place"] and not any("温岭" in s for s in hit.section_path)
    on_text_only = kb.search("交通 -温岭", page_size=50, options=SearchOptions.without("meta_exclusion"))
    assert any(h.doc_id == MISSION for h in on_text_only.hits), "the mission document's text rarely repeats 温岭"


def test_an_unspaced_question_drops_filler_and_finds_the_passage(kb: KnowledgeBase) -> None:
    result = kb.search("温岭危桥改造完成了几座")
    assert result.hits and result.hits[0].doc_id == MISSION and "危桥" in result.hits[0].text
    assert not kb.search("温岭危桥改造完成了几座", options=SearchOptions.without("soft")).hits


def test_missing_compound_is_stood_in_for_by_its_parts(kb: KnowledgeBase) -> None:
    result = kb.search("行政审批窗口办件量")
    assert result.partial and result.hits and "办件" in result.hits[0].text


def test_filler_only_and_year_only_queries_get_a_helpful_message(kb: KnowledgeBase) -> None:
    filler = kb.search("多少 是什么")
    assert not filler.hits and "提问用语" in filler.notice
    year = kb.search("2023")
    assert year.hits and "只输入了年份" in year.notice
    only_not = kb.search("-交通 -温岭")
    assert not only_not.hits and "只有要排除的词" in only_not.notice


@pytest.mark.parametrize("query", ["asdkjhqwe zxcvbnm", "综合交通投资完成了多少" * 45, "2023" * 100, "-" * 300])
def test_odd_input_is_answered(kb: KnowledgeBase, query: str) -> None:
    result = kb.search(query[:500])
    assert result.total >= 0 and len(result.hits) <= 10


def test_unknown_mechanism_name_is_refused() -> None:
    with pytest.raises(QueryError):
        SearchOptions.without("years,nonsense")


def test_a_plan_name_is_one_unit_and_a_preference_for_the_plan_itself() -> None:
    # jieba cuts 十三五 as 十三 + 五; as a plan name it stays whole, with the forms documents use
    q = compile_query(parse_query("十三五国内生产总值翻一番"))
    units = [u.word for u in q.groups[0][0].units]
    assert q.prefer_plans == (13,) and units[0] == "十三五", units
    assert "第十三个五年规划" in [a.core for a in q.groups[0][0].units[0].alternatives]
    assert compile_query(parse_query("二十五个项目")).prefer_plans == ()
    assert compile_query(parse_query("十三五 国内生产总值"), SearchOptions.without("plans")).prefer_plans == ()
    # a bare 七五 is mostly “七五”普法 (2016–2020): the plan only beside a year of the plan's time
    seventh = compile_query(parse_query("七五 1990年 工农业总产值"))
    assert seventh.prefer_plans == (7,) and "第七个五年计划" in [a.core for a in seventh.groups[0][0].units[0].alternatives]
    assert compile_query(parse_query("七五 2018年 普法")).prefer_plans == ()
    assert compile_query(parse_query("七五普法 1990")).prefer_plans == ()


def test_a_plan_target_is_found_in_the_plan_not_in_reports_that_mention_it(tmp_path: Path) -> None:
    index = built(tmp_path, {
        "五年规划/2006-plan.md": "---\ntitle: 中华人民共和国国民经济和社会发展第十一个五年规划纲要\ndate: 2006-03-14\n---\n\n"
                             "## 第一章 主要目标\n\n"
                             "资源利用效率显著提高，森林覆盖率达到20%，耕地保有量保持1.2亿公顷。\n",
        "政府工作报告/2007-report.md": "---\ntitle: 某市2007年政府工作报告\ndate: 2007-01-20\n---\n\n## 一、2006年工作回顾\n\n"
                                 "“十一五”开局良好，全市森林覆盖率提高到“十一五”以来的最高水平，达到45%。“十一五”期间将继续植树造林。\n"})
    kb = KnowledgeBase(index)
    assert "规划纲要" in kb.search("十一五 森林覆盖率").hits[0].doc_title
    assert "规划纲要" in kb.search("十一五 森林覆盖率", options=SearchOptions.without("places")).hits[0].doc_title
    # without the preference the report that repeats the name comes first: the mechanism is what decides
    # (places off too: naming no place, the national plan would also come a little first as the country's)
    off = kb.search("十一五 森林覆盖率", options=SearchOptions.without("plans,places"))
    assert "政府工作报告" in off.hits[0].doc_title


def test_a_typo_is_corrected_to_the_word_that_goes_with_the_rest_of_the_query(tmp_path: Path) -> None:
    reform = "".join(f"（{n}）深化第{n}项改革。推进改革攻坚，改革成效明显，改革红利释放。\n\n" for n in "一二三四五六")
    index = built(tmp_path, {
        "a.md": f"# 甲市政府工作报告\n\n{reform}",
        "b.md": "# 乙市政府工作报告\n\n（一）住房。完成棚户区改造开工3200套，衢江铁路建成通车。\n\n"
                "（二）民生。棚户区改造持续推进。\n\n（三）保障。棚户区改造惠及万户。\n"})
    kb = KnowledgeBase(index)
    # 改革 is the more frequent neighbour of 改照; 改造 is the one passages hold beside 棚户区
    fixed = kb.search("棚户区改照开工")
    assert fixed.corrected == "棚户区改造开工" and "3200套" in fixed.hits[0].text
    # a name one passage holds, typed with a same-sounding character, is found through the rest
    name = kb.search("渠江铁路通车")
    assert name.corrected == "衢江铁路通车" and "衢江铁路" in name.hits[0].text


def test_a_year_s_figures_come_from_the_report_that_reviews_it(tmp_path: Path) -> None:
    index = built(tmp_path, {  # each reviews the year before
        f"{year}.md": f"---\ntitle: {year}年某省人民政府工作报告\ndate: {year}-01-20\n---\n\n"
                      f"农村经济稳步发展，粮食总产量{tons}，农民收入增长。\n"
        for year, tons in ((2006, "650万吨"), (2007, "701万吨"))})
    kb = KnowledgeBase(index)
    docs = {d["doc_id"]: d["years"] for d in kb.docs()}
    assert sorted(map(tuple, docs.values())) == [(2005, 2006), (2006, 2007)]
    assert "701万吨" in kb.search("2006 粮食总产量").hits[0].text
    assert "650万吨" in kb.search("2005 粮食总产量").hits[0].text


def test_a_year_s_review_comes_before_the_targets_set_for_it(tmp_path: Path) -> None:
    index = built(tmp_path, {
        "2009.md": "---\ntitle: 某市2009年政府工作报告\ndate: 2009-02-20\n---\n\n## 一、2008年工作回顾\n\n全市经济平稳运行。\n\n"
                   "## 二、2009年主要工作\n\n2009年的主要预期目标是：本市生产总值增长10%左右。\n",
        "2010.md": "---\ntitle: 某市2010年政府工作报告\ndate: 2010-02-20\n---\n\n## 一、过去一年工作回顾\n\n"
                   "全年本市生产总值达到8201亿元，增长10.7%，经济总量再上新台阶。\n\n## 二、2010年主要工作\n\n继续稳增长。\n"})
    kb = KnowledgeBase(index)
    # the 2009 report's section about 2009 sets its targets; the 2010 report reviews what was done
    assert "8201亿元" in kb.search("2009年 生产总值").hits[0].text
    import kb.query.version as front  # with planning sections weighed as sections reviewing the year: the targets

    original = front.YEAR_PLANNED_SECTION
    front.YEAR_PLANNED_SECTION = front.YEAR_SECTION
    try:
        assert "预期目标" in KnowledgeBase(index).search("2009年 生产总值").hits[0].text
    finally:
        front.YEAR_PLANNED_SECTION = original


def test_a_plan_s_review_of_the_last_plan_states_results_not_targets(tmp_path: Path) -> None:
    index = built(tmp_path, {"1986-七五计划.md": (
        "---\ntitle: 某省第七个五年计划\ndate: 1986-04-01\n---\n\n"
        "## 一、“六五”计划执行情况\n\n五年来乡镇企业发展很快，全省乡镇工业产值达到207亿元，比一九八〇年翻了两番多，"
        "成为农村经济的重要支柱。\n\n"
        "## 二、“七五”时期的主要任务\n\n到一九九〇年，全省工农业总产值力争翻一番，乡镇工业产值达到400亿元，农民收入稳步提高。\n")})
    kb = KnowledgeBase(index)
    assert [d["type"] for d in kb.docs()] == ["规划纲要"]
    # 达到 X in the plan's own tasks is a target; in its review of 1981–1985, what was done
    assert "207亿元" in kb.search("乡镇工业产值").hits[0].text


def test_a_place_named_prefers_that_place_s_documents(tmp_path: Path) -> None:
    index = built(tmp_path, {
        "政府工作报告-省自治区/山东省/2001.md": "---\ntitle: 政府工作报告（省九届人大四次会议 2001年）\ndate: 2001-02-10\n---\n\n"
                                   "五年取得重要科技成果1.79万项，科技进步贡献率提高。\n",
        "政府工作报告-省自治区/河北省/2001.md": "---\ntitle: 政府工作报告（2001年）\ndate: 2001-02-12\n---\n\n"
                                   "学习山东、江苏的经验，与山东合作，取得科技成果1200项，科技成果转化加快，山东客商投资增多。\n",
        "国家统计局年度统计/2022.md": "---\ntitle: 2022年\ndate: 2023-02-28\n---\n\n## 二、农业\n\n全年粮食产量68653万吨，比上年增加368万吨。\n",
        "政府工作报告-省自治区/河北省/2023.md": "---\ntitle: 政府工作报告（2023年）\ndate: 2023-01-12\n---\n\n"
                                   "粮食产量稳定，居全国前列；全国粮食生产先进省份，全国农业大省，粮食产量增长高于全国。\n"})
    kb = KnowledgeBase(index)
    assert "1.79万项" in kb.search("山东 科技成果").hits[0].text  # its folder names the place, its text never
    assert "68653万吨" in kb.search("全国粮食产量").hits[0].text  # the country's own statistics
    off = SearchOptions.without("places")
    assert "1200项" in kb.search("山东 科技成果", options=off).hits[0].text
    assert "68653万吨" not in kb.search("全国粮食产量", options=off).hits[0].text
    # naming no place, the country's own documents come a little first (NATIONAL_PRIOR); naming one, its own
    import numpy as np

    from kb.engine.scoring import NATIONAL_PRIOR, PLACE_DOCUMENT
    from kb.query.hits import _place_boost

    opened = kb._current()
    national = np.array([opened.doc_by_fid[int(f)].startswith(tuple(
        d["doc_id"] for d in kb.docs() if d["place"] == "国家统计局")) for f in opened.text.fids])
    plain = _place_boost(opened, compile_query(parse_query("粮食产量")))
    assert national.any() and (plain[national] == NATIONAL_PRIOR).all() and (plain[~national] == 1).all()
    named = _place_boost(opened, compile_query(parse_query("河北 粮食产量")))
    assert (named[national] == 1).all() and (named == PLACE_DOCUMENT).any()
    assert _place_boost(opened, compile_query(parse_query("粮食产量"), off)) is None


def test_words_typed_together_in_a_question_rank_passages_holding_them_together(tmp_path: Path) -> None:
    kb = KnowledgeBase(built(tmp_path, {"a.md": (
        "# 某市政府工作报告\n\n## 一、2019年工作回顾\n\n"
        "（一）开放。接待入境游客137.04万人次，增长178%，入境游客人均消费提高，游客满意度提升。\n\n"
        "（二）旅游。预计全年接待游客8162.09万人次，实现旅游总收入990亿元。\n")}))
    # the question's filler (多少) is dropped: 接待游客 is still one stretch the user typed
    assert "8162.09万人次" in kb.search("某市2019年接待游客多少万人次").hits[0].text


def test_the_longest_stretch_of_a_question_held_together_ranks_first(tmp_path: Path, monkeypatch) -> None:
    from kb.engine import scoring

    kb = KnowledgeBase(built(tmp_path, {"a.md": (
        "# 某市政府工作报告\n\n（一）住房。加强住房保障，棚户区和老旧小区改造提升，新开工安置房，"
        "住房改造惠及群众，棚户区居民满意，开工建设保障房3000套，改造住房一批，套型优化。\n\n"
        "（二）民生。筹集人才住房1.9万套，棚户区住房改造开工8471套，农村危房改造超额完成。\n")}))
    # a term not held together anywhere (as a corrected question is: 改照 → 改造, one run of words):
    # the passage holding its longest stretch together earns the bonus for that stretch
    import numpy as np

    from kb.query.understand import make_term

    opened = kb._current()
    scorer = scoring._Scorer(opened.text)
    rows = np.arange(opened.text.size)
    texts = [opened.text.text(int(r)) for r in rows]
    term = make_term("棚户区住房改造开工套", False)
    bonus = scorer.contiguity_bonus([term], rows, texts)
    held = [i for i, t in enumerate(texts) if "8471套".encode() in t]
    assert len(held) == 1 and bonus[held[0]] > 0 and bonus.argmax() == held[0]
    monkeypatch.setattr(scoring, "longest_run", lambda words, text: ())
    assert not scorer.contiguity_bonus([term], rows, texts).any()


def test_a_year_s_review_comes_before_a_plan_covering_it(tmp_path: Path, monkeypatch) -> None:
    import kb.query.version as front
    index = built(tmp_path, {
        "五年规划/1986-七五计划摘要.md": "---\ntitle: 中华人民共和国国民经济和社会发展第七个五年计划（摘要）\ndate: 1986-04-12\n---\n\n"
                               "## 第九章 能源\n\n1990年原煤产量达到10亿吨。\n",
        "政府工作报告/1991.md": "---\ntitle: 1991年政府工作报告\ndate: 1991-03-25\n---\n\n## 一、过去五年的回顾\n\n"
                          "能源生产稳定增长，煤炭、电力、石油工业全面发展，新建一批矿井、油田和电站，铁路运输紧张状况有所缓解，"
                          "节能工作取得成效，1990年原煤产量10.8亿吨，完成计划。\n"})
    docs = {d["path"].split("/")[-1]: d["years"] for d in KnowledgeBase(index).docs()}
    assert docs["1986-七五计划摘要.md"] == [1986, 1987, 1988, 1989, 1990] and docs["1991.md"] == [1990, 1991]
    # the plan covering 1986–1990 sets 1990's target; the next year's report says what was done
    assert "10.8亿吨" in KnowledgeBase(index).search("1990 原煤产量").hits[0].text
    monkeypatch.setattr(front, "YEAR_PERIOD", front.YEAR_DOCUMENT)  # the plan weighed as a year's report
    assert "10亿吨" in KnowledgeBase(index).search("1990 原煤产量").hits[0].text


def test_a_passage_holding_every_part_of_a_missing_word_covers_most_of_it(tmp_path: Path, monkeypatch) -> None:
    from kb.engine import scoring

    kb = KnowledgeBase(built(tmp_path, {"a.md": "# 某市统计公报\n\n（一）建设。城镇面貌明显改善。\n\n"
                                                 "（二）收入。城镇新增就业1.2万人，居民收入增长8%。\n"}))
    # no passage writes 城镇居民: the one holding both its parts (城镇, 居民) stands in for most of it,
    # the one holding only 城镇 for too little of it to be a match
    assert [h.text for h in kb.search("城镇居民").hits] == ["（二）收入。城镇新增就业1.2万人，居民收入增长8%。"]
    monkeypatch.setattr(scoring, "STANDIN_ALL", scoring.STANDIN)  # both parts counted as one
    assert not kb.search("城镇居民").hits


def test_a_figure_stated_by_a_verb_answers_how_much_but_a_plan_s_target_does_not(tmp_path: Path) -> None:
    index = built(tmp_path, {
        "2012.md": "---\ntitle: 某市2012年政府工作报告\ndate: 2012-02-10\n---\n\n## 一、2011年工作回顾\n\n"
                   "港口建设加快，全年货物吞吐量完成2.1亿吨，比上年增长8%。\n\n"
                   "## 二、2012年主要工作\n\n提升货物吞吐量，货物吞吐量增长要快于全省。\n",
        "plan.md": "---\ntitle: 某市国民经济和社会发展第十二个五年规划纲要\ndate: 2011-03-01\n---\n\n"
                   "## 一、发展目标\n\n到2015年，港口货物吞吐量达到3亿吨，货物吞吐量年均增长7%。\n"})
    kb = KnowledgeBase(index)
    assert [d["type"] for d in kb.docs() if d["doc_id"].startswith("plan")] == ["规划纲要"]
    assert "2.1亿吨" in kb.search("货物吞吐量").hits[0].text  # 完成 2.1亿吨: what was done, not a mention
    assert "3亿吨" in kb.search("十二五 货物吞吐量").hits[0].text  # a plan named: its target is what is asked
