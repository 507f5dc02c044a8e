"""The loader and chunker over every real document in ``../shared/corpora`` (176 reports, 5 GBK files).

Per file (parametrised by file name, so a failure names the file): it loads; has a specific title
(not generic, not chrome, not the file name); at least three sections; sound passages (see
:mod:`chunk_checks`: lossless, one section each, non-empty, at most ``HARD_MAX``, unique ids); no
page chrome inside a passage; the same ids from a second chunking. The GBK files decode exactly as
an independent ``gb18030`` decoding. Over the corpus: the passage-size distribution, and the shape
of the trees the repair mechanisms produce on documents where they used to go wrong.

Each file is loaded and chunked once per session (cached); the whole module runs in a few seconds.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from functools import lru_cache
from pathlib import Path

import pytest

from chunk_checks import PAGE_CHROME, chrome_in_passages, flatten, invariant_problems
from conftest import SHARED
from kb.chunk.passages import HARD_MAX, TARGET_MAX, TARGET_MIN
from kb.chunk.chunker import chunk
from kb.load.decode import decode
from kb.load.loaders import load_document
from kb.models import Chunked

REPORTS = SHARED / "corpora" / "reports"
GBK = SHARED / "corpora" / "gbk"
REPORT_FILES = sorted(p.name for p in REPORTS.glob("*.txt")) if REPORTS.is_dir() else []
GBK_FILES = sorted(p.name for p in GBK.glob("*.txt")) if GBK.is_dir() else []
ALL_FILES = [REPORTS / n for n in REPORT_FILES] + [GBK / n for n in GBK_FILES]
_ABSENT = [pytest.param(None, marks=pytest.mark.skip(reason=f"real corpora not found under {SHARED}/corpora"))]

GENERIC_TITLE = re.compile(r"^(?:\d{4}\s*年)?(?:省|市|自治区)?(?:人民)?(?:政府工作报告|工作报告|工作总结|工作计划)$")


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


@lru_cache(maxsize=None)
def chunked(path: Path) -> Chunked:
    return chunk(load_document(path, path.parent))


def _each_file():
    return pytest.mark.parametrize("path", ALL_FILES or _ABSENT, ids=_ids(ALL_FILES) if ALL_FILES else None)


def test_corpus_is_all_there(shared_dir: Path) -> None:
    """176 reports and 5 GBK originals, as SOURCES.md lists them."""
    assert (len(REPORT_FILES), len(GBK_FILES)) == (176, 5)


@_each_file()
def test_loads_with_specific_title(path: Path) -> None:
    """A title that names the document: not empty, generic, the file name, or page chrome."""
    doc = chunked(path).document
    assert doc.title and len(doc.title) <= 80, doc.title
    assert not GENERIC_TITLE.match(doc.title), doc.title
    assert doc.title != path.stem
    assert not any(mark in doc.title for mark in PAGE_CHROME + ("首页", "http", "**", "<")), doc.title
    assert re.search(r"报告|总结|计划", doc.title), doc.title
    assert doc.date[:4].isdigit() and 1990 < int(doc.date[:4]) < 2030, doc.date


@_each_file()
def test_at_least_three_sections(path: Path) -> None:
    assert len(flatten(chunked(path).sections)) >= 3


@_each_file()
def test_passages_sound(path: Path) -> None:
    """Lossless, within one section, non-empty, at most HARD_MAX, unique ids (see chunk_checks)."""
    c = chunked(path)
    assert c.passages
    assert invariant_problems(c) == []


@_each_file()
def test_no_page_chrome_in_passages(path: Path) -> None:
    assert chrome_in_passages(chunked(path)) == []


@_each_file()
def test_ids_stable(path: Path) -> None:
    """A second load and chunk of the file gives the same passage ids, anchors and sections."""
    first = chunked(path)
    again = chunk(load_document(path, path.parent))
    assert [(p.passage_id, p.anchor) for p in again.passages] == [(p.passage_id, p.anchor) for p in first.passages]
    assert again.sections == first.sections


# --- GBK ----------------------------------------------------------------------------------------

def _independent(raw: bytes) -> str:
    """The GBK file as a reader would see it: gb18030 decoding, any line end, R's ``<U+XXXX>`` escapes read."""
    text = raw.decode("gb18030").replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"<U\+([0-9A-Fa-f]{4})>", lambda m: chr(int(m.group(1), 16)), text)


def _norm_line(line: str) -> str:
    line = "".join(ch for ch in line if unicodedata.category(ch) != "Cf")  # zero-width joiners and the like
    return re.sub(r"\s+", " ", line.replace("\u3000", " ").replace("\u00a0", " ")).strip()


@pytest.mark.parametrize("name", GBK_FILES or [pytest.param(None, marks=pytest.mark.skip(reason="no GBK corpus"))])
def test_gbk_text_equals_its_decoding(name: str) -> None:
    """Not UTF-8; ``decode`` is exactly gb18030 with line ends normalised; every body line is a line of
    the independent decoding, in order, and the body keeps nearly all of its Chinese text."""
    raw = (GBK / name).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert decode(raw) == raw.decode("gb18030").replace("\r\n", "\n").replace("\r", "\n")
    independent = [_norm_line(ln) for ln in _independent(raw).split("\n")]
    independent = [ln for ln in independent if ln]
    body = [_norm_line(ln) for ln in chunked(GBK / name).document.body.split("\n") if ln.strip()]
    it = iter(independent)
    missing = [ln for ln in body if not any(ln == other for other in it)]
    assert missing == [], f"body lines not found in order in the gb18030 decoding: {missing[:3]}"
    cjk = re.compile(r"[\u4e00-\u9fff]")
    kept = len(cjk.findall("".join(body))) / len(cjk.findall("".join(independent)))
    assert kept > 0.95, kept
    assert "<U+" not in chunked(GBK / name).document.body


# --- the corpus as a whole ----------------------------------------------------------------------

def test_passage_size_distribution(shared_dir: Path, record_property) -> None:
    """Most passages are 80–400 characters; the rest are short sections or unbreakable sentences."""
    sizes = [len(p.text) for path in ALL_FILES for p in chunked(path).passages]
    share = sum(TARGET_MIN <= n <= TARGET_MAX for n in sizes) / len(sizes)
    short = sum(n < TARGET_MIN for n in sizes) / len(sizes)
    long = sum(n > TARGET_MAX for n in sizes) / len(sizes)
    summary = (f"{len(sizes)} passages: {share:.1%} in {TARGET_MIN}-{TARGET_MAX}, {short:.1%} shorter, "
               f"{long:.1%} longer; "
               f"median {statistics.median(sizes):.0f}, max {max(sizes)}")
    record_property("passage_sizes", summary)
    print(summary)
    assert share >= 0.95, summary
    assert max(sizes) <= HARD_MAX, summary
    # a short passage is short because its whole section is: it has no neighbour in its section
    lonely = 0
    for path in ALL_FILES:
        per_section: dict[str, int] = {}
        for p in chunked(path).passages:
            per_section[p.section_anchor] = per_section.get(p.section_anchor, 0) + 1
        lonely += sum(1 for p in chunked(path).passages
                      if len(p.text) < TARGET_MIN and per_section[p.section_anchor] == 1)
    assert lonely / max(1, sum(n < TARGET_MIN for n in sizes)) > 0.6, summary


def _tops(name: str) -> list[str]:
    return [s.title for s in chunked(REPORTS / name).sections if s.anchor != "s0"]


def _children(name: str, title: str) -> list[tuple[str, bool]]:
    section = next(s for s in chunked(REPORTS / name).sections if s.title == title)
    return [(k.number, k.repaired) for k in section.children]


@pytest.mark.parametrize("name, expected", [
    # only （一） numbered: unnumbered part lines become the top level
    ("gwr-city-lasashi-2025.txt", ["2024年工作回顾", "2025年工作安排"]),
    ("gwr-pref-baiyinshi-2021.txt", ["“十三五”时期工作回顾", "“十四五”时期总体部署", "2021年重点工作任务", "名词解释"]),
    ("gwr-pref-ziyangshi-2025.txt", ["2024年工作回顾", "2025年工作安排", "名词解释"]),
    ("gwr-pref-zhenjiangshi-2021.txt", ["打赢收官战，全面建成小康社会胜利在望", "开启新征程，“十四五”宏伟目标催人奋进",
                                        "奋战起步年，新征程新开局蹄疾步稳"]),
    # 一、 restarting under bare part lines
    ("gwr-pref-yunfushi-2022.txt", ["过去五年工作回顾", "今后五年的目标任务", "2022年工作安排", "附件", "注释"]),
    # a closing part after the last point, and back matter, beside the numbered parts
    ("gwr-city-guiyangshi-2025.txt", ["2024年工作回顾", "2025年工作安排", "加强政府自身建设"]),
    ("gwr-prov-hainansheng-2020.txt", ["2019年工作回顾", "2020年主要工作", "名词解释和说明"]),
    ("gwr2026-prov-guangdongsheng-2026-web.txt", ["2025年和“十四五”时期工作回顾", "“十五五”时期的主要目标和重点任务",
                                                   "2026年工作安排", "附件1", "附件2", "名词解释"]),
    # the page footer (related links, a teaser of the same report) is not a part of the report
    ("gwr2026-prov-sichuansheng-2026-web.txt", ["2025年工作回顾和“十四五”发展主要成绩", "“十五五”发展的主要考虑",
                                                 "2026年工作安排", "名词解释"]),
    ("gwr-prov-gansusheng-2019.txt", ["2018年工作回顾", "2019年工作任务"]),
])
def test_real_top_level(shared_dir: Path, name: str, expected: list[str]) -> None:
    assert _tops(name) == expected


def test_real_repairs(shared_dir: Path) -> None:
    """Lost markers are repaired from siblings where the numbering shows a gap, and nowhere else."""
    # （四） in 甘肃 2019 is a line ending in 。 between （三） and （五）
    assert _children("gwr-prov-gansusheng-2019.txt", "2019年工作任务") == \
        [(n, n == "四") for n in "一二三四五六七八九"] + [("十", False)]
    # 云南 2026: "（" on a line of its own, then "三）改革开放…": the marker is put back
    assert _children("gwr2026-prov-yunnansheng-2026-web.txt", "“十四五”时期和2025年工作回顾") == \
        [(n, False) for n in "一二三四五六七"]
    # 贵阳 2025 says 八个方面: no made-up （九）
    assert [n for n, _ in _children("gwr-city-guiyangshi-2025.txt", "2025年工作安排")] == list("一二三四五六七八")
    repaired = {path.name: [s.title for s in flatten(chunked(path).sections) if s.repaired] for path in ALL_FILES}
    assert {name: titles for name, titles in repaired.items() if titles} == {
        "gwr-prov-gansusheng-2019.txt": ["加快补齐基础设施短板，充分释放消费潜力，确保经济稳定增长"]}


def test_real_glossary_entries_are_passage_text(shared_dir: Path) -> None:
    """Glossary definitions are searchable text under 名词解释, not forty one-line sections."""
    c = chunked(REPORTS / "gwr2026-prov-sichuansheng-2026-web.txt")
    glossary = next(s for s in c.sections if s.title == "名词解释")
    assert glossary.children == ()
    text = "".join(p.text for p in c.passages if p.section_anchor == glossary.anchor)
    assert "“两重”：是指国家重大战略实施和重点领域安全能力建设" in text


@pytest.mark.parametrize("name, title, date, source", [
    ("gwr-prov-henansheng-2021.txt", "2021年河南省政府工作报告", "2021", ""),
    ("gwr-prov-jiangxisheng-2025.txt", "2025年江西省政府工作报告", "2025", ""),
    ("gwr-city-wulumuqishi-2021.txt", "2021年乌鲁木齐市政府工作报告", "2021-01-12", ""),
    ("gwr-city-guangzhoushi-2024.txt", "2024年广州市政府工作报告", "2024-01-15", ""),
    ("gwr-city-ningboshi-2025.txt", "2025年宁波市政府工作报告", "2025-01-08", ""),
    ("gwr-prov-gansusheng-2019.txt", "2019年甘肃省政府工作报告", "2019", ""),
    ("gwr2026-prov-ningxia-2026-web.txt", "2026年宁夏回族自治区政府工作报告", "2026-02-09", "宁夏日报客户端"),
    ("gwr2026-prov-shaanxisheng-2026-web.txt", "陕西省2026年政府工作报告", "2026-02-02", "陕西省人民政府"),
])
def test_real_metadata(shared_dir: Path, name: str, title: str, date: str, source: str) -> None:
    doc = chunked(REPORTS / name).document
    assert (doc.title, doc.date, doc.source) == (title, date, source)


def test_real_web_chrome_stays_out_of_the_body(shared_dir: Path) -> None:
    """Labels and values on separate lines, breadcrumbs without 当前位置, footers: none of it is body."""
    ningxia = chunked(REPORTS / "gwr2026-prov-ningxia-2026-web.txt").document
    assert ningxia.breadcrumb == "首页 > 政务信息 > 宁夏要闻"
    assert not any(s in ningxia.body for s in ("宁夏日报客户端", "阅读量", "发表时间"))
    shaanxi = chunked(REPORTS / "gwr2026-prov-shaanxisheng-2026-web.txt").document
    assert shaanxi.breadcrumb == "首页 > 政府信息公开 > 政府工作报告 > 省政府工作报告"
    assert "政府信息公开" not in shaanxi.body and "分享" not in shaanxi.body
    sichuan = chunked(REPORTS / "gwr2026-prov-sichuansheng-2026-web.txt").document
    assert not any(s in sichuan.body for s in ("李莎莎", "热议", "相关链接", "解读省政府工作报告"))
    assert sichuan.body.endswith("贯通生产、销售、流通、使用、回收等各个环节，推进系统治理、源头治理、综合治理。")


def test_real_gbk_titles_and_structure(shared_dir: Path) -> None:
    """The State Council reports: titles and dates from their datelines; 2006's R escapes read."""
    titles = {name: (chunked(GBK / name).document.title, chunked(GBK / name).document.date) for name in GBK_FILES}
    assert titles == {
        "gwr-national-2006-gbk.txt": ("2006年国务院政府工作报告", "2006-03-15"),
        "gwr-national-2015-gbk.txt": ("2015年国务院政府工作报告", "2015-03-05"),
        "gwr-national-2016-gbk.txt": ("2016年国务院政府工作报告", "2016-03-05"),
        "gwr-national-2017-gbk.txt": ("2017年国务院政府工作报告", "2017-03-05"),
        "gwr-national-2018-gbk.txt": ("2018年国务院政府工作报告", "2018-03-05"),
    }
    c2006 = chunked(GBK / "gwr-national-2006-gbk.txt")
    assert [s.title for s in c2006.sections[1].children][:2] == ["着力解决经济运行中的突出问题", "积极推进经济结构调整和增长方式转变"]
    assert [s.title for s in chunked(GBK / "gwr-national-2015-gbk.txt").sections[1:]] == [
        "2014年工作回顾", "2015年工作总体部署", "把改革开放扎实推向纵深", "协调推动经济稳定增长和结构优化",
        "持续推进民生改善和社会建设", "切实加强政府自身建设"]
