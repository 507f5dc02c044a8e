"""Result shaping (kb/query/grouping.py, kb/engine/facets.py through KnowledgeBase.search): one hit per document,
facet counts that match what a click on them shows, sorting by date, and page numbers past the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.build.indexer import build_index
from kb.search import KnowledgeBase

DOCS = {
    "wl-2023.txt": """温岭市交通运输局2023年度工作总结
发布日期:2024-06-07 信息来源:市交通局
一、2023年工作回顾
全年完成公路建设投资10亿元，公交线路优化调整8条，公交站点新建20个，群众出行更便捷。
新开公交线路3条，公交车辆更新50辆，公交服务满意度提高。
二、2024年工作思路
继续推进公交一体化，计划新建公交站点30个。
""",
    "sd-2021.txt": """山东省2021年政府工作报告
2021年2月1日
一、2020年工作回顾
全省公交优先战略深入实施，城乡公交一体化率达到90%。
二、2021年重点任务
推进农村公路建设，完成改造一千公里。
""",
    "cd-2019.txt": """成都市2019年交通工作计划
2019年3月1日
一、总体要求
全力推进公交都市建设，新增公交专用道50公里。
""",
}


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    corpus = tmp_path_factory.mktemp("corpus")
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    index = tmp_path_factory.mktemp("index")
    report = build_index([corpus], index, workers=1)
    assert not report.errors and report.documents == 3
    return KnowledgeBase(index)


def test_grouped_hits_are_one_per_document(kb: KnowledgeBase) -> None:
    flat = kb.search("公交")
    grouped = kb.search("公交", group=True)
    assert len({h.doc_id for h in flat.hits}) < len(flat.hits)  # the flat list repeats documents
    assert len({h.doc_id for h in grouped.hits}) == len(grouped.hits) == grouped.documents == 3
    assert sum(h.doc_hits for h in grouped.hits) == grouped.total == flat.total
    wl = next(h for h in grouped.hits if h.doc_id == "wl-2023")
    in_flat = [h.passage_id for h in flat.hits if h.doc_id == "wl-2023"]
    assert wl.doc_hits == len(in_flat) >= 2 and len(wl.more) == len(in_flat) - 1
    assert [wl.passage_id, *(m.passage_id for m in wl.more)] == in_flat  # best first, as ungrouped
    assert grouped.hits[0].passage_id == flat.hits[0].passage_id  # the best passage leads, as ungrouped
    assert wl.source == "市交通局"


def test_grouped_json_has_doc_hits_and_more(kb: KnowledgeBase) -> None:
    data = kb.search("公交", group=True).to_json()
    assert data["grouped"] is True and data["documents"] == 3
    wl = next(h for h in data["hits"] if h["doc_id"] == "wl-2023")
    assert wl["doc_hits"] == len(wl["more"]) + 1 >= 2
    assert all(set(m) >= {"passage_id", "snippet_html", "url"} for m in wl["more"])
    assert wl["more"][0]["url"].startswith("/p/wl-2023.")


def test_facets_count_what_a_click_shows(kb: KnowledgeBase) -> None:
    result = kb.search("公交", group=True)
    years = {v.value: v.count for v in result.years}
    # reported on, not published: the 温岭 2023 summary, published 2024, counts for 2023
    assert years == {"2023": 2, "2020": 1, "2019": 1}
    assert [v.value for v in result.years] == sorted(years, reverse=True)  # newest first
    for v in result.years:
        assert kb.search("公交", years=(int(v.value), int(v.value))).total == v.count
    for v in result.types:
        assert kb.search("公交", types=(v.value,)).total == v.count
    for v in result.places:
        assert kb.search("公交", places=(v.value,)).total == v.count
    assert {v.value for v in result.places} >= {"温岭市", "山东省", "成都市"}
    combined = kb.search("公交", years=(2023, 2023), places=("温岭市",))
    assert combined.total == years["2023"] and {h.doc_id for h in combined.hits} == {"wl-2023"}
    assert kb.search("公交", years=(2023, 2023), places=("山东省",)).total == 0
    data = result.to_json()["facets"]
    assert set(data) == {"year", "type", "place", "doc"}
    assert data["year"][0] == {"value": "2023", "count": 2}
    assert {"value", "count"} <= data["doc"][0].keys()


def test_sort_by_date_puts_the_newest_document_first(kb: KnowledgeBase) -> None:
    grouped = kb.search("公交", group=True, sort="date")
    assert [h.doc_id for h in grouped.hits] == ["wl-2023", "sd-2021", "cd-2019"]
    assert grouped.sort == "date"
    flat = kb.search("公交", sort="date")
    dates = [h.date for h in flat.hits]
    assert dates == sorted(dates, reverse=True)


def test_a_page_past_the_end_is_the_last_page(kb: KnowledgeBase) -> None:
    result = kb.search("公交", page=999, page_size=2, group=True)
    assert result.pages == 2 and result.page == 2 and len(result.hits) == 1
    flat = kb.search("公交", page=999, page_size=2)
    assert flat.page == flat.pages == 2 and len(flat.hits) == 2
