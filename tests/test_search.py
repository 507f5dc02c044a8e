"""kb/search.py on a corpus written for the purpose: what matches (words, character runs, phrases,
exclusions, filters, Traditional queries, partial matches) and how the ranking mechanisms order it.

Each ranking test also switches its mechanism off and checks the order then changes, so a test
cannot pass because of some other signal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import kb.engine.scoring as scoring
import kb.query.rerank as rerank
from corpus_fixtures import built
from kb.build.indexer import build_index
from kb.search import KnowledgeBase

REPORT_2023 = """某市2023年政府工作报告
2023年12月30日
一、过去一年工作回顾
全市实现地区生产总值7062.5亿元、增长6.3%，财政收入稳步增长，经济运行稳中向好，发展质量持续提升，人民生活不断改善，各项事业全面进步。一年来，我们坚持稳中求进工作总基调，扎实推进重大项目建设，持续优化营商环境，城乡面貌焕然一新，民生保障更加有力，社会大局和谐稳定。
二、2024年工作安排
建议2024年主要预期目标为：地区生产总值增长6%左右，规上工业增加值增长6%以上，城乡居民收入与经济增长同步。
（一）公共交通
优化调整公交线路，新开公交线路12条，公交站点覆盖率达到95%，群众出行更加便捷。
（二）道路治理
开展治超专项行动，“岭”路先锋党建品牌持续擦亮，交通治堵取得明显成效，七连创为全年工作开了好头。
（三）站点建设
新建公交站点40个，改造道路线路标志标线200公里，完善慢行系统。
"""

PLAN_2021 = """某县2021年交通工作计划
2021年2月1日
一、总体要求
全力推进四好农村路建设，完成农村公路改造一百公里，持续深化放管服改革。
二、重点任务
推进公交线路优化，开展治超检测，实现治超站点全覆盖。
三、路网养护
加强道路安全管理，全面排查隐患路段，完成危桥改造十座，安装护栏五十公里，通行条件持续改善，群众满意度提高。
四、其他
安全第一，道路畅通，安全生产。
"""


ORDOS = """鄂尔多斯市2022年政府工作报告
一、过去一年工作回顾
全年地区生产总值完成5400亿元，增长4.8%。
"""


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    corpus = tmp_path_factory.mktemp("corpus")
    (corpus / "report-2023.txt").write_text(REPORT_2023, encoding="utf-8")
    (corpus / "plan-2021.txt").write_text(PLAN_2021, encoding="utf-8")
    (corpus / "ordos-2022.txt").write_text(ORDOS, encoding="utf-8")
    index = tmp_path_factory.mktemp("index")
    report = build_index([corpus], index, workers=1)
    assert not report.errors and report.documents == 3
    return KnowledgeBase(index)


def texts(kb: KnowledgeBase, q: str) -> list[str]:
    return [h.text for h in kb.search(q, page_size=50).hits]


def first(kb: KnowledgeBase, q: str) -> str:
    hits = kb.search(q).hits
    assert hits, f"no hit for {q!r}"
    return hits[0].text


# --- what matches ------------------------------------------------------------------------------

@pytest.mark.parametrize("q, wanted", [
    ("七连创", "七连创为全年"),  # jieba cuts 七连/创为 in context: found through character pairs
    ("岭路先锋", "“岭”路先锋"),  # quotes inside the term do not break it
    ("治堵", "交通治堵"),
    ("治超", "治超专项行动"),  # a user-dictionary word
    ("7062.5亿元", "7062.5亿元"),
    ("95%", "覆盖率达到95%"),
])
def test_terms_found_however_jieba_cuts_the_passage(kb: KnowledgeBase, q: str, wanted: str) -> None:
    assert any(wanted in t for t in texts(kb, q))


@pytest.mark.parametrize("q, simplified", [("治超專項行動", "治超专项行动"), ("經濟運行", "经济运行"),
                                           ("公交線路", "公交线路")])
def test_traditional_queries_find_simplified_text(kb: KnowledgeBase, q: str, simplified: str) -> None:
    assert texts(kb, q) == texts(kb, simplified) and texts(kb, q)


def test_every_term_must_match(kb: KnowledgeBase) -> None:
    found = texts(kb, "公交线路 12条")
    assert found and all("公交线路" in t and "12条" in t for t in found)


def test_phrase_is_contiguous(kb: KnowledgeBase) -> None:
    # 公交 and 站点 occur in three passages, contiguous in two of them
    loose = texts(kb, "公交 站点")
    phrase = texts(kb, '"公交站点"')
    assert len(loose) == 3 and len(phrase) == 2
    assert all("公交站点" in t for t in phrase)
    assert not any("公交站点" in t for t in set(loose) - set(phrase))


def test_phrase_ignores_quotes_and_brackets_between_characters(kb: KnowledgeBase) -> None:
    assert any("“岭”路先锋" in t for t in texts(kb, '"岭路先锋"'))


def test_exclusion_removes_passages_holding_the_term(kb: KnowledgeBase) -> None:
    both = texts(kb, "治超")
    without = texts(kb, "治超 -党建")
    assert len(without) == len(both) - 1
    assert all("党建" not in t for t in without)
    assert texts(kb, "治超 -黨建") == without  # excluded terms are folded too


def test_or_takes_either(kb: KnowledgeBase) -> None:
    either = set(texts(kb, "四好农村路 OR 七连创"))
    assert either == set(texts(kb, "四好农村路")) | set(texts(kb, "七连创")) and len(either) == 2


def test_document_title_words_count_for_its_passages(kb: KnowledgeBase) -> None:
    # 某县 is only in the 2021 plan's title: every hit is from that document
    result = kb.search("某县 治超")
    assert result.hits and {h.doc_id for h in result.hits} == {"plan-2021"}


@pytest.mark.parametrize("q", ["鄂尔多斯 地区生产总值", "鄂爾多斯 地區生產總值", "尔多斯 5400亿元"])
def test_title_words_match_however_jieba_cuts_the_title(kb: KnowledgeBase, q: str) -> None:
    """The title's 鄂尔多斯市 is one dictionary word, whose search-mode sub-words stop at three
    characters: 鄂尔多斯 is found through the title's character pairs."""
    result = kb.search(q)
    assert not result.partial and [h.doc_id for h in result.hits] == ["ordos-2022"]


def test_year_and_doc_filters(kb: KnowledgeBase) -> None:
    assert {h.doc_id for h in kb.search("公交线路", page_size=50).hits} == {"plan-2021", "report-2023"}
    assert {h.doc_id for h in kb.search("公交线路 year:2021", page_size=50).hits} == {"plan-2021"}
    assert {h.doc_id for h in kb.search("公交线路 year:2022-2024", page_size=50).hits} == {"report-2023"}
    assert {h.doc_id for h in kb.search("公交线路 doc:report-2023", page_size=50).hits} == {"report-2023"}
    assert kb.search("公交线路 doc:no-such-doc").total == 0


def test_nothing_holds_every_term_gives_flagged_partial_matches(kb: KnowledgeBase) -> None:
    result = kb.search("治超 量子计算")
    assert result.partial and result.hits
    assert all("治超" in h.text for h in result.hits)
    assert not kb.search("治超").partial


def test_total_and_facets_count_the_same_passages(kb: KnowledgeBase) -> None:
    result = kb.search("公交")
    assert result.total == sum(f.count for f in result.facets) == len(texts(kb, "公交"))
    assert [f.doc_id for f in result.facets] == ["report-2023", "plan-2021"]  # the most matches first


def test_hits_are_marked_and_scored_in_order(kb: KnowledgeBase) -> None:
    hits = kb.search("治超").hits
    assert all("<mark>治超</mark>" in h.snippet_html for h in hits)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and [h.rank for h in hits] == list(range(1, len(hits) + 1))


# --- how it ranks ------------------------------------------------------------------------------

def test_a_passage_stating_the_figure_ranks_first(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both passages name 地区生产总值; the one that says how much it was answers the question."""
    q = "地区生产总值 doc:report-2023"
    assert first(kb, q).startswith("全市实现地区生产总值7062.5亿元")
    monkeypatch.setattr(rerank, "FIGURE_BONUS", 0.0)
    assert first(kb, q).startswith("建议2024年")  # the shorter passage, without the mechanism


def test_a_term_found_contiguously_ranks_above_its_words_apart(kb: KnowledgeBase,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """道路安全 (the words 道路 + 安全): side by side in a long passage, apart in a short one."""
    assert "道路安全管理" in first(kb, "道路安全")
    monkeypatch.setattr(scoring, "PHRASE_BOOST", 0.0)  # no bonus for the term's words together
    assert first(kb, "道路安全").startswith("安全第一")  # BM25 alone prefers the short passage


def test_whole_words_rank_above_character_runs(kb: KnowledgeBase) -> None:
    """治超 is a dictionary word in two passages; no passage holds it only as characters, so compare
    the score a word match gets with what the same passage gets from the characters alone."""
    scorer = scoring._Scorer(kb._open.text)
    score, content, match = scorer.word("治超")
    rows = np.nonzero(match)[0]
    assert rows.size == 2 and (content[rows] > 0).all()  # found as a word in the text of both
    pairs_only = scorer._pairs_weight(rows.size)
    assert (content[rows] > pairs_only).all()


def test_scoring_only_the_candidate_rows_gives_the_answer_scoring_every_row_gives(built_index: Path) -> None:
    """The fast path (vectors over the rows holding a query word) against the plain one (every row)."""
    from kb.evaluate import parse_eval_lines
    from kb.engine.scoring import evaluate
    from kb.query.hits import _preference
    from kb.query.understand import compile_query, parse_query

    kb = KnowledgeBase(built_index)
    opened = kb._current()
    cases = [c for name in ("typed", "archive", "mixed", "heldout") for c in parse_eval_lines(
        (Path(__file__).parent / f"eval-{name}.tsv").read_text(encoding="utf-8").splitlines())]
    queries = [c.query for c in cases] + ["综合交通投资 -太龙", "\"重点工程\" 2023", "公交 OR 出租车",
                                          "海南 2019年政府工作报告 分解任务", "温岭 2023年 工作 报告 交通",
                                          # every term held only apart, or excluded, or filtered out: the
                                          # conjunctive rows hold no match and the full candidates answer
                                          "数字 政府", "\"交通 投资\" 温岭", "交通 投资 -交通", "交通 投资 year:1990"]
    for q in queries:
        query = compile_query(parse_query(q))
        allowed = opened.allowed(query.doc_ids, query.years, query.dates)
        fast = evaluate(opened.text, query, allowed, _preference(opened, query))
        slow = evaluate(opened.text, query, allowed, _preference(opened, query), every_row=True)
        assert np.array_equal(fast.matched(), slow.matched()), q
        assert np.allclose(fast.score[fast.match], slow.score[slow.match]), q
        assert fast.partial == slow.partial, q


def test_the_query_path_imports_no_build_code() -> None:
    """The server and ``kb search`` load the searcher and the web app, never the loaders, chunker,
    document model or the indexer's workers (kb.store.manifest reads the index folder for them)."""
    import subprocess
    import sys

    code = ("import sys, kb.search, web; print(sorted(m for m in ('kb.build.indexer', 'kb.load.loaders', 'kb.chunk.chunker', "
            "'kb.chunk.docmeta', 'kb.load.readers', 'kb.engine.whooshio', 'multiprocessing') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent.parent)
    assert out.stdout.strip() == "[]", out.stdout


def test_counting_a_spelling_candidate_s_rows_agrees_with_scoring_it(built_index: Path) -> None:
    """``_rows_holding`` (sorted row lists intersected) counts what ``_Scorer.term(...).match`` holds."""
    import dataclasses

    from kb.query import understand
    from kb.evaluate import parse_eval_lines
    from kb.engine.candidates import _Lookups, term_rows
    from kb.engine.scoring import _Scorer
    from kb.query.respell import _rows_holding

    opened = KnowledgeBase(built_index)._current()
    reads = _Lookups(opened.text)
    everything = _Scorer(opened.text, None, reads)
    options = dataclasses.replace(understand.DEFAULT, synonyms=False)
    pieces = {p for name in ("typed", "mixed") for c in parse_eval_lines(
        (Path(__file__).parent / f"eval-{name}.tsv").read_text(encoding="utf-8").splitlines())
        for p in c.query.replace('"', " ").split()}
    counted = 0
    for piece in sorted(pieces):
        term = understand.make_term(piece, False, True, options)
        if term is None:
            continue
        scoped = _Scorer(opened.text, term_rows(reads, [term]), reads)
        expected = int(np.count_nonzero(scoped.term(term).match & scoped.local(opened.text.live)))
        assert _rows_holding(everything, term) == expected, piece
        counted += expected > 0
    assert counted > 50  # most pieces are found: the comparison is not between empty answers


def test_a_warm_knowledge_base_readies_the_spelling_tables_on_a_thread(built_index: Path) -> None:
    import threading

    kb = KnowledgeBase(built_index, warm=True)
    for thread in [t for t in threading.enumerate() if t.name == "kb-warm"]:
        thread.join(30)
    speller = kb._current()._speller
    assert speller and speller._tables is not None  # built before any query asked for a correction
    cold = KnowledgeBase(built_index)
    assert cold._current()._speller is False  # (not built until a query needs it)


def test_only_a_word_few_passages_hold_has_its_parts_stand_in(built_index: Path) -> None:
    from kb.engine.candidates import PARTS_MAX_SHARE, _Lookups, uses_parts
    from kb.query.understand import Unit

    kb = KnowledgeBase(built_index)
    reads = _Lookups(kb._current().text)
    common, rare = Unit("工作", ("工", "作")), Unit("办件量", ("办件", "件量"))
    assert reads.unit_count(common) > PARTS_MAX_SHARE * reads.ix.live_count and not uses_parts(reads, common)
    assert uses_parts(reads, rare) and not uses_parts(reads, Unit("办件量"))


def test_reading_many_passages_at_once_gives_each_its_own_text(built_index: Path) -> None:
    """``TextIndex.texts`` reads runs of nearby passages in one piece: the same bytes as one by one,
    in the order asked, repeats included."""
    kb = KnowledgeBase(built_index)
    ix = kb._current().text
    rng = np.random.default_rng(7)
    for rows in (np.arange(ix.size), rng.choice(ix.size, 300), np.array([ix.size - 1, 0, 0, 5]), np.array([], np.int64)):
        assert ix.texts(rows) == [ix.text(int(r)) for r in rows]


def test_a_table_s_spaced_out_word_states_its_figure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A communiqué's table spaces its rows out (``原 油 1.44 亿吨``); the analyzer reads ``原油`` there, and
    so does the reranker: the table states the figure right after the query word, a plan only names it."""
    index = built(tmp_path, {
        "table.md": "---\ntitle: 1993年\ndate: 1994-02-28\n---\n\n## 二、工业\n\n主要工业产品产量如下：\n\n"
                    "原 油 1.44 亿吨\n\n原 煤 11.4 亿吨\n\n发 电 量 8200 亿千瓦小时\n",
        "plan.md": "---\ntitle: 1993年工作安排\ndate: 1993-01-10\n---\n\n## 一、能源\n\n"
                   "原油生产要稳定东部、发展西部，加强勘探，原油的产量和储量都要有所增长。\n"})
    assert "1.44" in KnowledgeBase(index).search("原油").hits[0].text
    monkeypatch.setattr(rerank, "_as_read", lambda text: text)  # the text as stored: 原 … 油 is no word
    assert "勘探" in KnowledgeBase(index).search("原油").hits[0].text
