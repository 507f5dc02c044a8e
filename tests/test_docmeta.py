"""kb/chunk/docmeta.py: what each document is (place, type, years, date) and each passage's year, read off
real documents of every corpus; and that a built index records them (manifest, doc JSON, Whoosh
stored data, the text index's per-row years, title words) and ``kb docs --json`` / ``/api/docs``
show them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from whoosh import index as whoosh_index

from conftest import CORPUS, MISSION_PATH, shared_path
from kb.engine import segwriter
from kb.chunk.chunker import chunk
from kb.cli import main
from kb.chunk.docmeta import describe, heading_year
from kb.text.places import short_place
from kb.build.indexer import build_index
from kb.store.manifest import current_version, read_manifest
from kb.load.loaders import load_document
from kb.text.ngrams import PNUM_SHIFT
from kb.search import KnowledgeBase
from kb.engine.textindex import TextIndex, word_key

LAWTEXT = "corpora/lawtext-gov"

# (corpus folder, file, place, type, years, date)
REAL = [
    (LAWTEXT, "政府工作报告-省自治区/山东省/2001.md", "山东省", "政府工作报告", (2000, 2001), "2001-02-10"),
    (LAWTEXT, "政府工作报告-省自治区/内蒙古自治区/2003.md", "内蒙古自治区", "政府工作报告", (2002, 2003), "2003-01-11"),
    (LAWTEXT, "政府工作报告-国务院/1954.md", "国务院", "政府工作报告", (1953, 1954), "1954-05-23"),
    (LAWTEXT, "政府工作报告-主要城市/北京市/2000.md", "北京市", "政府工作报告", (1999, 2000), "1999-12-29"),  # December
    # filed under the year it reviews: given on 2007-01-26, it plans 2007
    (LAWTEXT, "政府工作报告-省自治区/四川省/2006.md", "四川省", "政府工作报告", (2006, 2007), "2007-01-26"),
    # filed as 2014.md, but the title and the subtitle say 2012年1月31日: the file name is wrong
    (LAWTEXT, "政府工作报告-其他地市/邢台市/2014.md", "邢台市", "政府工作报告", (2011, 2012), "2012-01-31"),
    # the text says 2010年2月20日 for the 2003 report: the file name and the title win
    (LAWTEXT, "政府工作报告-省自治区/江苏省/2003.md", "江苏省", "政府工作报告", (2002, 2003), "2003"),
    (LAWTEXT, "政府工作报告-主要城市/海口市/2005.md", "海口市", "政府工作报告", (2004, 2005), "2005-03-22"),  # ２００５年
    (LAWTEXT, "国家统计局年度统计/1978.md", "国家统计局", "统计公报", (1978,), "1979-06-27"),  # 关于一九七八年…
    (LAWTEXT, "国家统计局年度统计/2024.md", "国家统计局", "统计公报", (2024,), "2025-02-28"),
    (LAWTEXT, "五年规划/1953-一五计划.md", "国务院", "规划纲要", tuple(range(1953, 1958)), "1953"),
    (LAWTEXT, "五年规划/1976-五五计划摘要.md", "国务院", "规划纲要", tuple(range(1976, 1986)), "1976"),
    (LAWTEXT, "五年规划/2006-十一五规划纲要.md", "国务院", "规划纲要", tuple(range(2006, 2011)), "2006-03-14"),
    # was dated 2035 (第十四个五年规划和2035年远景目标纲要)
    (LAWTEXT, "五年规划/2021-十四五规划纲要.md", "国务院", "规划纲要", tuple(range(2021, 2026)), "2021-03-13"),
    # was dated 1998 (the text heads the decision 1998年4月9日)
    (LAWTEXT, "国务院机构改革/1988.md", "国务院", "机构改革方案", (1988,), "1988"),
    (LAWTEXT, "国务院机构改革/2023.md", "国务院", "机构改革方案", (2023,), "2023-03-10"),
    ("corpora/reports", "gwr-city-chengdushi-2021.txt", "成都市", "政府工作报告", (2020, 2021), "2021-02-04"),
    ("corpora/reports", "gwr-pref-qiannanbuyizumiaozuzizhizhou-2025.txt", "黔南布依族苗族自治州", "政府工作报告",
     (2024, 2025), "2025-01-08"),
    ("corpora/reports", "gwr2026-prov-ningxia-2026-web.txt", "宁夏回族自治区", "政府工作报告", (2025, 2026), "2026-02-09"),
    ("corpora/reports", "gwr-pref-wenshanzhuangzumiaozuzizhizhou-2025.txt", "文山市", "政府工作报告", (2024, 2025),
     "2025-01-22"),  # the city's report, whatever the file name says
    ("corpora/gbk", "gwr-national-2006-gbk.txt", "国务院", "政府工作报告", (2005, 2006), "2006-03-15"),  # 新华社…电
]


def _described(folder: str, name: str):
    root = shared_path() / folder
    return describe(chunk(load_document(root / name, root)))


@pytest.mark.parametrize("folder,name,place,doctype,years,date", REAL, ids=[r[1] for r in REAL])
def test_real_documents(folder: str, name: str, place: str, doctype: str, years: tuple, date: str) -> None:
    doc = _described(folder, name).document
    assert (doc.place, doc.doctype, doc.years, doc.date) == (place, doctype, years, date)


def test_mission_document() -> None:
    doc = describe(chunk(load_document(MISSION_PATH, CORPUS))).document
    assert (doc.place, doc.doctype, doc.years, doc.date) == ("温岭市", "工作总结", (2023,), "2024-06-07")


def test_short_places() -> None:
    assert [short_place(p) for p in ("山东省", "成都市", "内蒙古自治区", "广西壮族自治区", "黔南布依族苗族自治州",
                                     "伊犁哈萨克自治州", "大理白族自治州", "海西蒙古族藏族自治州", "国务院", "国家统计局")] == \
        ["山东", "成都", "内蒙古", "广西", "黔南", "伊犁", "大理", "海西", "", ""]


def test_national_documents_dated_by_their_year() -> None:
    """Every plan, reform and communiqué: the date's year is the file name's (a plan adopted late, as
    六五 in December 1982, or a communiqué published the next year: one year on at most)."""
    root = shared_path() / LAWTEXT
    for folder, lag in (("五年规划", (0, 1)), ("国务院机构改革", (0,)), ("国家统计局年度统计", (1,))):
        for path in sorted((root / folder).glob("*.md")):
            doc = load_document(path, root)
            assert int(doc.date[:4]) - int(path.stem[:4]) in lag, (path.name, doc.date)


def _years_by_heading(chunked) -> dict[str, int | None]:
    return {p.section_path[0] if p.section_path else "": p.year for p in chunked.passages}


def test_section_years_chengdu() -> None:
    c = _described("corpora/reports", "gwr-city-chengdushi-2021.txt")
    by_top = _years_by_heading(c)
    assert by_top["一、“十三五”及2020年工作回顾"] == 2020
    assert [y for h, y in by_top.items() if "2021年" in h] == [2021]
    assert by_top[""] is None  # the preface: no heading above it
    for p in c.passages:  # a passage inherits from the nearest heading stating one of the document's years
        stated = [heading_year(h) for h in p.section_path]
        assert p.year == next((y for y in reversed(stated) if y in (2020, 2021)), None)


def test_section_years_in_chinese_numerals() -> None:
    c = _described(LAWTEXT, "政府工作报告-主要城市/佛山市/2000.md")
    by_top = _years_by_heading(c)
    assert (by_top["一九九九年工作回顾"], by_top["二〇〇〇年工作意见"]) == (1999, 2000)


def test_section_years_none_without_a_year() -> None:
    c = describe(chunk(load_document(MISSION_PATH, CORPUS)))
    assert {p.year for p in c.passages} == {None}  # its headings state no year (二、坚持高质量发展…)


def test_a_section_reviewing_a_five_year_plan_is_about_its_last_year() -> None:
    # the 九五 plan looks back on 八五 (1991–1995); the 2011 work report on 十一五 (2006–2010)
    plan = _years_by_heading(_described(LAWTEXT, "五年规划/1996-九五计划纲要.md"))
    assert plan["一、“八五”计划完成情况"] == 1995 and plan["二、国民经济和社会发展的指导方针和奋斗目标"] is None
    report = _years_by_heading(_described(LAWTEXT, "政府工作报告-国务院/2011.md"))
    assert report["一、“十一五”时期国民经济和社会发展的回顾"] == 2010 and report["三、2011年的工作"] == 2011
    # a review of part of the period is not about its last year
    assert heading_year("六五计划前两年的执行情况") is None


def test_heading_years() -> None:
    assert [heading_year(h) for h in ("（二）二〇二三年主要工作", "2008年以来的工作回顾", "2020年工作回顾和2021年工作安排",
                                      "三、“十四五”时期和2035年远景目标", "一、过去五年工作回顾")] == \
        [2023, None, None, None, None]


# --- a built index records them -----------------------------------------------------------------

SMALL = [(LAWTEXT, "政府工作报告-省自治区/山东省/2001.md"), (LAWTEXT, "国家统计局年度统计/1979.md"),
         (LAWTEXT, "国务院机构改革/1988.md"), ("corpora/reports", "gwr-city-chengdushi-2021.txt")]


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = tmp_path_factory.mktemp("docmeta-corpus")
    for folder, name in SMALL:
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shared_path() / folder / name, corpus / name)
    shutil.copy(MISSION_PATH, corpus / MISSION_PATH.name)
    index = tmp_path_factory.mktemp("docmeta-index")
    report = build_index([corpus], index, workers=1)
    assert report.errors == [] and report.documents == 5
    return index


def _by_title_start(docs: dict, start: str) -> dict:
    return next(d for d in docs.values() if d["path"].split("/", 1)[1].startswith(start))


def test_manifest_and_docs_json(small_index: Path) -> None:
    docs = read_manifest(current_version(small_index))["docs"]
    shandong = _by_title_start(docs, "政府工作报告-省自治区/山东省")
    assert (shandong["place"], shandong["type"], shandong["years"], shandong["date"]) == \
        ("山东省", "政府工作报告", [2000, 2001], "2001-02-10")
    reform = _by_title_start(docs, "国务院机构改革")
    assert (reform["place"], reform["type"], reform["years"], reform["date"]) == ("国务院", "机构改革方案", [1988], "1988")
    result = CliRunner().invoke(main, ["docs", "--index", str(small_index), "--json"], catch_exceptions=False)
    rows = {r["doc_id"]: r for r in json.loads(result.stdout)}
    for doc_id, d in docs.items():
        assert {k: rows[doc_id][k] for k in ("place", "type", "years", "date")} == \
            {k: d[k] for k in ("place", "type", "years", "date")}
    assert rows[MISSION_PATH.stem]["place"] == "温岭市" and rows[MISSION_PATH.stem]["years"] == [2023]


def test_api_docs_shows_them(small_index: Path) -> None:
    from web import create_app

    client = create_app({"KB_INDEX": str(small_index), "TESTING": True}).test_client()
    data = {d["doc_id"]: d for d in client.get("/api/docs").get_json()}
    assert (data[MISSION_PATH.stem]["place"], data[MISSION_PATH.stem]["type"]) == ("温岭市", "工作总结")


def test_passage_years_stored_everywhere(small_index: Path) -> None:
    """Doc JSON, Whoosh stored data ``y`` and the text index's ``row_years`` agree, row by row."""
    version = current_version(small_index)
    manifest = read_manifest(version)
    kb = KnowledgeBase(small_index)
    fid_of = {rec["doc_id"]: rec["fid"] for rec in manifest["files"].values() if rec.get("doc_id")}
    year_of_pnum, year_of_id = {}, {}
    for doc_id in manifest["docs"]:
        stored = kb.document(doc_id)
        assert {"place", "type", "years"} <= stored["document"].keys()
        for ordinal, p in enumerate(stored["passages"]):
            year_of_pnum[(fid_of[doc_id] << PNUM_SHIFT) | ordinal] = year_of_id[p["passage_id"]] = p["year"]
    chengdu = kb.document(next(d for d in manifest["docs"] if "chengdu" in d))
    assert {p["year"] for p in chengdu["passages"]} == {None, 2020, 2021}
    ix = whoosh_index.open_dir(str(version))
    with ix.searcher() as searcher:
        for fields in searcher.all_stored_fields():
            assert fields["data"]["y"] == year_of_id[fields["passage_id"]]
    ix.close()
    text = TextIndex(version, manifest["segments"], set(fid_of.values()))
    assert text.row_years.dtype == np.int16 and text.row_years.size == text.size
    for pnum, year in zip(text.pnums.tolist(), text.row_years.tolist()):
        assert year == (year_of_pnum[pnum] or 0)


def test_place_is_a_title_word(small_index: Path) -> None:
    """山东 is in neither the title (政府工作报告（省九届人大四次会议 2001年）) nor a heading of the
    Shandong report, only in its folder: its rows hold it, and 山东省, in the meta family."""
    version = current_version(small_index)
    manifest = read_manifest(version)
    fid = next(rec["fid"] for rec in manifest["files"].values() if "山东省" in rec["path"])
    assert "山东" not in manifest["docs"][next(d for d, v in manifest["docs"].items() if "山东省" in v["path"])]["title"]
    text = TextIndex(version, manifest["segments"], {r["fid"] for r in manifest["files"].values() if r.get("fid")})
    rows = set(np.flatnonzero(text.fids == fid).tolist())
    for word in ("山东", "山东省", "政府工作报告"):
        assert rows <= set(text.lookup("meta", word_key(word))[0].tolist()), word


def test_merge_keeps_row_years(small_index: Path, tmp_path: Path) -> None:
    version = tmp_path / "v"
    shutil.copytree(current_version(small_index), version)
    manifest = read_manifest(version)
    live = {r["fid"] for r in manifest["files"].values() if r.get("fid")}
    before = TextIndex(version, manifest["segments"], live)
    pairs = dict(zip(before.pnums.tolist(), before.row_years.tolist()))
    assert any(pairs.values())
    # a second segment saved before passages had years: read as all unknown
    name = manifest["segments"][0]
    shutil.copytree(version / name, version / "seg-old")
    (version / "seg-old" / "years.npy").unlink()
    old = TextIndex(version, ["seg-old"], live)
    assert old.row_years.size == old.size and not old.row_years.any()
    segwriter.merge_segments(version, [name], live, into="seg-merged")
    merged = TextIndex(version, ["seg-merged"], live)
    assert dict(zip(merged.pnums.tolist(), merged.row_years.tolist())) == pairs
