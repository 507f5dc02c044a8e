"""What each document is: whose it is (place or issuer), what kind, which years it reports on — and
which year each passage's section is about.

Read from the folder and file names (``政府工作报告-省自治区/山东省/2001.md``), the title, the first
lines (the venue ``在成都市第十七届人民代表大会…``, the byline ``国务院总理``) and the date; years
written in Chinese numerals (``一九七八年``, ``二〇二三年``) count.

>>> from kb.chunk.chunker import chunk
>>> from kb.models import Document
>>> body = "——2020年1月8日在某某市第十届人民代表大会第五次会议上\\n一、2019年工作回顾\\n全年完成投资12亿元。\\n二、2020年工作安排\\n（一）抓项目\\n开工建设一批项目。"
>>> c = describe(chunk(Document(doc_id="d", path="x/政府工作报告-主要城市/某某市/2020.md", title="政府工作报告",
...                             body=body, date="2020-01-08")))
>>> c.document.place, c.document.doctype, c.document.years
('某某市', '政府工作报告', (2019, 2020))
>>> [(p.section_path[-1:], p.year) for p in c.passages]
[((), None), (('一、2019年工作回顾',), 2019), (('（一）抓项目',), 2020)]
>>> d = describe(chunk(Document(doc_id="g", path="国家统计局年度统计/1979.md", date="1980-04-30",
...     title="中华人民共和国国家统计局关于一九七九年国民经济计划执行结果的公报", body="一九七九年，全国工农业总产值达到6175亿元。"))).document
>>> d.place, d.doctype, d.years
('国家统计局', '统计公报', (1979,))
>>> d = describe(chunk(Document(doc_id="p", path="五年规划/2006-十一五规划纲要.md", date="2006-03-14",
...     title="中华人民共和国国民经济和社会发展第十一个五年规划纲要", body="第一章 发展环境\\n正文。"))).document
>>> d.place, d.doctype, d.years
('国务院', '规划纲要', (2006, 2007, 2008, 2009, 2010))

What a query may call a place (``山东`` for ``山东省``) is :mod:`kb.text.places`, shared with the query path.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import PurePosixPath

from kb.text.headings import cn_to_int
from kb.text.places import _dominant_province  # a provincial report names its province most: "全省", "我省"
from kb.models import DOCTYPES, PLAN_TYPE, Chunked, Document

# what each kind of document calls itself, in its folder, title, file name or first lines
_KINDS = [
    ("政府工作报告", re.compile(r"政府工作报告|(?:^|[-_])gwr(?:\d{4})?-")),
    ("统计公报", re.compile(r"统计公报|计划执行结果的公报|统计局.{0,30}公报")),
    ("机构改革方案", re.compile(r"机构改革")),
    ("工作总结", re.compile(r"工作总结|年度总结|工作小结|work-summary")),
    ("规划纲要", re.compile(r"五年(?:计划|规划)|[一二三四五六七八九十]{1,3}五”?(?:计划|规划)|(?:规划|计划)纲要|十年规划")),
]
_SUFFIX = r"(?:省|市|特别行政区|自治区|自治州|地区|盟|州|县|区|旗)"
_PLACE_NAME = re.compile(rf"[\u4e00-\u9fff]{{2,12}}{_SUFFIX}")
# a candidate must be a name, not "全省" / "本市" / "自治区" (我代表自治区人民政府) or a phrase
_GENERIC = re.compile(rf"(?:[全本我各该此]|自治|城|新城|市|省|县|区){_SUFFIX}|.*(?:[在第届年我的了、，,（）() ]|代表|会议|关于|完成).*")
_NAME = rf"([\u4e00-\u9fff]{{2,12}}?{_SUFFIX})"
# (pattern, read in, issuer): the strongest context first. "joined" is the title and first lines run
# together (a venue broken over two lines); an issuer pattern gives that issuer, a place pattern its name
_PLACE_IN = [
    (re.compile(rf"在{_NAME}第[一二三四五六七八九十\d]{{1,4}}届"), "joined", ""),  # 在成都市第十七届人民代表大会
    (re.compile(rf"代表{_NAME}人民政府"), "joined", ""),
    (re.compile(rf"{_NAME}人民政府"), "joined", ""),  # 成都市人民政府市长 王凤朝
    (re.compile(r"国家统计局"), "title", "国家统计局"),
    (re.compile(r"^中华人民共和国|国务院"), "title", "国务院"),
    (re.compile(rf"^(?:[\d年度月日\s（）()]+)?{_NAME}(?![长委])"), "title", ""),  # 温岭市交通运输局2023年度工作总结
    (re.compile(rf"^{_NAME}第[一二三四五六七八九十\d]{{1,4}}届", re.M), "lines", ""),
    (re.compile(rf"^{_NAME}代?(?:省长|市长|州长|主席|区长|县长|盟长)", re.M), "lines", ""),  # 山东省省长 李春亭
    (re.compile(r"国家统计局"), "lines", "国家统计局"),
    (re.compile(r"在(?:中华人民共和国)?第[一二三四五六七八九十]{1,3}届全国人民代表大会|国务院总理|代表国务院"), "lines",
     "国务院"),  # 在第十届全国人民代表大会第四次会议上 / 国务院总理 温家宝
]

_CN_DIGIT = {"〇": "0", "○": "0", "零": "0", "一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6",
             "七": "7", "八": "8", "九": "9"}
_CN_YEAR = re.compile(r"(?<![〇○零一二三四五六七八九十百])[一二][〇○零九][〇○零一二三四五六七八九]{2}(?![〇○零一二三四五六七八九十百])")
_A_YEAR = re.compile(r"(?<![\d.])((?:19|20)\d\d)(?=\s*年(?!远景|代|前|以前|以来))")
_SPAN = re.compile(r"(?<!\d)((?:19|20)\d\d)\s*年?\s*(?:[—–\-－~～至到]+|——)\s*((?:19|20)\d\d)(?!\d)")
_PLAN_NUMBER = re.compile(r"第([一二三四五六七八九十]{1,3})个五年|([一二三四五六七八九十]{1,3})五”?(?:计划|规划)")


def describe(chunked: Chunked) -> Chunked:
    """The chunked document with its ``place``, ``doctype`` and ``years`` filled in, and each passage's
    ``year``: the year stated by the nearest heading above it that names one of the document's years
    (a ``（三）筹办2022年冬奥会`` in a report on 2019 does not make its passages about 2022)."""
    doc = chunked.document
    parts = PurePosixPath(doc.path.replace("\\", "/")).parts
    folders, stem = parts[:-1], PurePosixPath(parts[-1]).stem if parts else ""
    head = "\n".join([doc.title, doc.body[:1500]])
    doctype = _doctype(folders, doc.title, stem, doc.body[:400])
    place = _place(folders, doc.title, head) or _dominant_province(doc.body) or _national(doctype, doc.body[:5000])
    years = _years(doc, doctype, arabic_years(head), [heading_year(s.label) for s in chunked.sections])
    # a plan looks back on the year before its period too (``一、“六五”计划执行情况`` in the 七五 plan)
    first = years[0] - 1 if years and doctype == PLAN_TYPE else years[0] if years else 0
    year_of: dict[tuple[str, ...], int | None] = {}
    passages = []
    for p in chunked.passages:
        if p.section_path not in year_of:
            year_of[p.section_path] = next((y for y in map(heading_year, reversed(p.section_path))
                                            if y is not None and (not years or first <= y <= years[-1])), None)
        passages.append(replace(p, year=year_of[p.section_path]))
    document = replace(doc, place=place, doctype=doctype, years=years)
    return replace(chunked, document=document, passages=tuple(passages))


def arabic_years(text: str) -> str:
    """Years written in Chinese numerals rewritten in digits (the text gets shorter: not for offsets).

    >>> arabic_years("关于一九七八年国民经济计划（一九五三—一九五七）和二〇二三年、二○一○年")
    '关于1978年国民经济计划（1953—1957）和2023年、2010年'
    """
    return _CN_YEAR.sub(lambda m: "".join(_CN_DIGIT[c] for c in m.group(0)), text)


def heading_year(label: str) -> int | None:
    """The one year a heading states (``一、2019年工作回顾``, ``（二）二〇二三年主要工作``); ``None`` when
    it states none, a span (``2016—2020年``) or several. A heading reviewing a five-year plan as a whole
    (``一、“六五”计划执行情况``, ``“十三五”时期工作回顾``) is about the plan's last year, the one its
    figures are as of.

    >>> [heading_year(h) for h in ("一、2019年工作回顾", "2020年工作安排", "（二）二〇二三年主要工作",
    ...                             "过去五年（2016—2020年）工作回顾", "二、“十四五”时期和2035年远景目标")]
    [2019, 2020, 2023, None, None]
    >>> [heading_year(h) for h in ("一、“六五”计划执行情况", "“十三五”时期工作回顾", "六五计划前两年的执行情况",
    ...                             "“十五”时期国民经济和社会发展回顾", "“十四五”时期主要目标")]
    [1985, 2020, None, 2005, None]
    """
    text = arabic_years(label)
    if _SPAN.search(text):
        return None
    found = {int(y) for y in _A_YEAR.findall(text)}
    if not found and _PLAN_REVIEW.search(text) and not _PART_OF_PERIOD.search(text):
        plan = _PLAN_NAMED.search(text)
        if plan:
            n = cn_to_int(plan.group(1) or plan.group(2))
            return _plan_start(n) + 4
    return found.pop() if len(found) == 1 else None


# a heading looking back on a whole five-year plan: its name (quoted, or with 计划/规划/时期/期间) and a review
_PLAN_NAMED = re.compile(r"“([一二三四五六七八九十]{1,3})五”|(?<![一二三四五六七八九十])([一二三四五六七八九十]{1,3})五(?:计划|规划|时期|期间)")
_PLAN_REVIEW = re.compile(r"回顾|执行情况|完成情况|成就")
_PART_OF_PERIOD = re.compile(r"[前头][一两二三四]年|以来")


def _plan_start(n: int) -> int:
    """The first year of the ``n``-th five-year plan (1963–1965 were years of adjustment).

    >>> _plan_start(1), _plan_start(3), _plan_start(14)
    (1953, 1966, 2021)
    """
    return 1953 + 5 * (n - 1) if n <= 2 else 1966 + 5 * (n - 3)


def _doctype(folders: tuple[str, ...], title: str, stem: str, first: str) -> str:
    for text in ("/".join(folders), title, stem, first):
        for kind, pattern in _KINDS:
            if pattern.search(text):
                return kind
    return "其他"


def _place(folders: tuple[str, ...], title: str, head: str) -> str:
    for folder in reversed(folders):  # 政府工作报告-省自治区/山东省/2001.md, 国家统计局年度统计/1979.md
        if _PLACE_NAME.fullmatch(folder) and not _GENERIC.fullmatch(folder):
            return folder
        for issuer in ("国家统计局", "国务院"):
            if issuer in folder:
                return issuer
    texts = {"title": title, "lines": head, "joined": head.replace("\n", "")}
    for pattern, where, issuer in _PLACE_IN:
        for m in pattern.finditer(texts[where]):
            if issuer:
                return issuer
            if not _GENERIC.fullmatch(m.group(1)):
                return m.group(1)
    return ""


def _national(doctype: str, text: str) -> str:
    """A plan, report or communiqué that names no place but speaks of the whole country is national."""
    if doctype == "其他" or doctype == "工作总结":
        return ""
    if text.count("全国") <= len(re.findall(r"全(?:省|市|区|州|县|盟)", text)):
        return ""
    return "国家统计局" if doctype == "统计公报" else "国务院"


def _years(doc: Document, doctype: str, head: str, heading_years: list[int | None]) -> tuple[int, ...]:
    title = arabic_years(doc.title)
    year = int(doc.date[:4]) if doc.date[:4].isdigit() else None
    month = int(doc.date[5:7]) if doc.date[5:7].isdigit() else None
    stated = [int(y) for y in _A_YEAR.findall(title)] or [int(y) for y in re.findall(r"(?<!\d)((?:19|20)\d\d)(?!\d)", title)]
    if doctype == "政府工作报告":
        if year is None:
            return ()
        report = year + 1 if month is not None and month >= 10 else year  # given in December for next year
        if month is None and report + 1 in heading_years:  # a year from the file name, and "三、2006年工作"
            report += 1  # in 2005.md: the file is named for the year reviewed
        return (report - 1, report)
    if doctype == "规划纲要":
        span = _SPAN.search(title) or _SPAN.search(head[:300])
        if span:
            return tuple(range(int(span.group(1)), int(span.group(2)) + 1))
        number = _PLAN_NUMBER.search(title) or _PLAN_NUMBER.search(head[:300])
        if number:
            start = _plan_start(cn_to_int(number.group(1) or number.group(2)))
            return tuple(range(start, start + 5))
    if doctype == "统计公报":  # 1979.md, published 1980: on the year its title names, else the year before
        if stated:
            return (stated[0],)
        return (year - 1,) if year else ()
    if stated:
        return tuple(sorted(set(stated)))
    return (year,) if year else ()
