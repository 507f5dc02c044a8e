"""kb/load/loaders.py: a file path → ``Document``.

Decoding (UTF-8, UTF-8 BOM, UTF-16 BOM, GBK; CRLF and lone CR), the three formats (.txt, .md with
front matter, .html article text), page chrome read as metadata and kept out of the body, titles,
and the clear errors for files that are not documents. The fixture files are in ``tests/data/``
(see its README); bad files are written to a temporary folder here.
"""

from __future__ import annotations

import codecs
import doctest
from pathlib import Path

import pytest

import kb.load.loaders
from conftest import DATA, MISSION_DOC, MISSION_PATH
from kb.errors import LoadError
from kb.load.decode import decode, html_to_text
from kb.load.files import doc_id_for
from kb.load.loaders import load_document
from kb.load.chrome import split_front_matter


def _load(name: str):
    return load_document(DATA / name, DATA)


def _lines(body: str) -> list[str]:
    return [ln for ln in body.split("\n") if ln]


def test_doctests() -> None:
    """The ``>>>`` examples in the module's docstrings hold."""
    result = doctest.testmod(kb.load.loaders, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# --- metadata and chrome ------------------------------------------------------------------------

def test_mission_document_metadata() -> None:
    """The mission document: breadcrumb, title line, 发布日期/信息来源 read off and out of the body."""
    doc = load_document(MISSION_PATH, MISSION_PATH.parent)
    assert doc.doc_id == MISSION_DOC
    assert doc.title == "温岭市交通运输局2023年度工作总结"
    assert doc.date == "2024-06-07"
    assert doc.source == "市交通局"
    assert doc.breadcrumb == "首页 > 政府信息公开 > 市级部门 > 市交通运输局 > 法定主动公开内容 > 工作信息 > 计划总结"
    assert doc.body.startswith("2023年是全面贯彻落实党的二十大精神的开局之年")
    for chrome in ("当前位置", "发布日期", "信息来源", "浏览次数", "温岭市交通运输局2023年度工作总结"):
        assert chrome not in doc.body
    assert doc.body.endswith("当好“岭”路先锋。")


def test_page_chrome() -> None:
    """Breadcrumb, title, date/source line, font switcher and footer: metadata or dropped, never body."""
    doc = _load("fixture-plan-2024.txt")
    assert (doc.title, doc.date, doc.source) == ("某县交通运输局2024年工作计划", "2024-01-15", "县交通局")
    assert doc.breadcrumb == "首页 > 政务公开 > 计划总结"
    lines = _lines(doc.body)
    assert lines[0] == "2024年是实施“十四五”规划的关键之年。现将全年工作安排如下："
    assert lines[-1] == "强化资金保障，积极争取上级补助资金，拓宽融资渠道。"
    for chrome in ("当前位置", "首页", "发布日期", "浏览次数", "【字体", "扫一扫", "打印本页", "关闭窗口"):
        assert chrome not in doc.body, chrome


def test_chrome_label_and_value_on_separate_lines(tmp_path: Path) -> None:
    """Scraped pages put ``来源：`` and its value on two lines; both are chrome and the value is read."""
    body = ["一、工作回顾", "全省经济运行稳中有进，" * 8 + "主要目标顺利完成。", "二、工作安排",
            "坚持稳中求进工作总基调，" * 8 + "扎实推动高质量发展。", "三、自身建设", "深入推进依法行政。"]
    text = ("您的位置:\n首页\n>\n要闻\n要闻\n某省政府工作报告\n发表时间：\n2026-02-09 09:45:30\n来源：\n某省日报客户端\n"
            "阅读量：\n【字体：\n小\n中\n大\n】\n" + "\n".join(body) + "\n"
            "责任编辑：\n张三\n扫一扫在手机打开当前页\n相关链接>>\n某某新闻标题一\n各位代表：现在，我代表省人民政府报告工作。\n打印本页\n")
    (tmp_path / "web.txt").write_text(text, encoding="utf-8")
    doc = load_document(tmp_path / "web.txt", tmp_path)
    assert (doc.title, doc.date, doc.source, doc.breadcrumb) == ("某省政府工作报告", "2026-02-09", "某省日报客户端",
                                                                "首页 > 要闻")
    assert _lines(doc.body) == body


def test_footer_cut_only_when_nothing_but_short_lines_follow(tmp_path: Path) -> None:
    """A footer marker followed by a real paragraph is not the end of the page: nothing is cut."""
    para = "这是一段很长的正文，" * 12 + "结束。"
    text = f"某县工作总结\n一、总体\n正文。\n打印本页\n{para}\n"
    (tmp_path / "f.txt").write_text(text, encoding="utf-8")
    assert _lines(load_document(tmp_path / "f.txt", tmp_path).body) == ["一、总体", "正文。", para]


def test_header_buttons_are_not_a_footer(tmp_path: Path) -> None:
    """``打印本页`` above a document of short lines: the buttons go, the document stays."""
    items = [f"{n}.新建农村公路{n}公里" for n in range(1, 30)]
    text = "某县民生实事清单\n【打印本页】【关闭窗口】\n一、交通出行\n" + "\n".join(items) + "\n"
    (tmp_path / "list.txt").write_text(text, encoding="utf-8")
    assert _lines(load_document(tmp_path / "list.txt", tmp_path).body) == ["一、交通出行"] + items


def test_front_matter() -> None:
    """YAML front matter gives title/date/source and is not body; a bold repeat of the title is dropped."""
    doc = _load("fixture-notes-2023.md")
    assert (doc.title, doc.date, doc.source) == ("某市数据局2023年工作总结", "2023-12-28", "市数据局")
    assert doc.body.startswith("# 一、2023年工作回顾\n")
    assert "title:" not in doc.body and "---" not in doc.body and "某市数据局2023年工作总结" not in doc.body


def test_split_front_matter_only_at_start() -> None:
    """A ``---`` block later in the text is body text, and a file without front matter is unchanged."""
    assert split_front_matter("正文\n---\ntitle: x\n---\n") == ({}, "正文\n---\ntitle: x\n---\n")
    meta, rest = split_front_matter("---\ntitle: \"报告\"\nsource: https://example.gov.cn/a\n---\n正文")
    assert meta == {"title": "报告", "source": "https://example.gov.cn/a"} and rest == "正文"


def test_url_source_is_not_a_source(tmp_path: Path) -> None:
    """``source:`` holding the scraped URL says nothing about the issuing office."""
    (tmp_path / "u.md").write_text("---\ntitle: 某市报告\nsource: https://www.example.gov.cn/x.html\n---\n一、总体\n正文。\n",
                                   encoding="utf-8")
    assert load_document(tmp_path / "u.md", tmp_path).source == ""


# --- decoding -----------------------------------------------------------------------------------

def test_crlf_and_lone_cr() -> None:
    """CRLF and lone CR both end lines; no ``\\r`` survives."""
    doc = _load("fixture-gbk-crlf.txt")
    assert "\r" not in doc.body
    assert _lines(doc.body) == [
        "一、过去一年工作回顾", "全区经济运行总体平稳，地区生产总值增长5.1%。",
        "（一）产业升级取得新进展。新培育专精特新企业15家。", "（二）城乡面貌持续改善",
        "完成老旧小区改造23个，新增城市绿地12公顷。", "二、今年工作安排", "坚持稳中求进，着力扩大内需，推动高质量发展。",
        "三、加强政府自身建设", "深入推进依法行政，持续优化营商环境。",
    ]
    assert decode(b"a\r\nb\rc\n\rd") == "a\nb\nc\n\nd"


def test_gbk() -> None:
    """GBK bytes (not valid UTF-8) decode as GB18030; the title is read from the first line."""
    raw = (DATA / "fixture-gbk-crlf.txt").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert decode(raw) == raw.decode("gbk").replace("\r\n", "\n").replace("\r", "\n")
    doc = _load("fixture-gbk-crlf.txt")
    assert (doc.title, doc.date) == ("某区2022年政府工作报告", "2022")


def test_utf8_bom() -> None:
    """A UTF-8 BOM is not text: the title starts with its first character."""
    doc = _load("fixture-utf8-bom.txt")
    assert doc.title == "某街道2023年工作总结"
    assert "\ufeff" not in doc.body and "\r" not in doc.body
    assert _lines(doc.body)[:2] == ["一、工作成效", "社区治理水平持续提升，群众满意度达98%。"]


def test_utf16_bom() -> None:
    """UTF-16 with a BOM is read as text, not rejected as binary for its NUL bytes."""
    raw = (DATA / "fixture-utf16-bom.txt").read_bytes()
    assert raw.startswith(codecs.BOM_UTF16_LE) and b"\x00" in raw
    doc = _load("fixture-utf16-bom.txt")
    assert doc.title == "某镇2023年工作总结"
    assert _lines(doc.body) == ["一、基本情况", "全镇完成农村人居环境整治村12个。", "二、存在问题", "基础设施仍有短板。",
                                "三、下步打算", "持续推进美丽乡村建设。"]


def test_utf16_big_endian(tmp_path: Path) -> None:
    """UTF-16 BE with its BOM decodes too."""
    (tmp_path / "be.txt").write_bytes(codecs.BOM_UTF16_BE + "某文件标题\n一、总体\n正文。".encode("utf-16-be"))
    doc = load_document(tmp_path / "be.txt", tmp_path)
    assert (doc.title, doc.body) == ("某文件标题", "一、总体\n正文。")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom(tmp_path: Path, encoding: str) -> None:
    """UTF-16 saved without a BOM (its NUL bytes once made it "binary"): charset-normalizer reads it."""
    (tmp_path / "nobom.txt").write_bytes("某镇2023年工作总结\n一、基本情况\n全镇完成农村人居环境整治村12个。".encode(encoding))
    doc = load_document(tmp_path / "nobom.txt", tmp_path)
    assert (doc.title, doc.body) == ("某镇2023年工作总结", "一、基本情况\n全镇完成农村人居环境整治村12个。")


def test_big5_not_read_as_gb18030_mojibake(tmp_path: Path) -> None:
    """Big5 bytes decode as GB18030 without an error, into nonsense (籓芖跋ユ…); they are Big5."""
    text = "臺北市交通局2023年工作總結\n一、總體情況\n全年完成綜合交通投資43.68億元，同比增長12.5%。\n二、公路建設\n農村公路新改建120公里。"
    raw = text.encode("big5")
    assert raw.decode("gb18030") != text  # no error, just wrong
    (tmp_path / "big5.txt").write_bytes(raw)
    doc = load_document(tmp_path / "big5.txt", tmp_path)
    assert doc.title == "臺北市交通局2023年工作總結"
    assert "全年完成綜合交通投資43.68億元" in doc.body
    gbk = "某县交通运输局2024年工作计划\n一、总体要求\n全年完成综合交通投资43.68亿元。"
    assert decode(gbk.encode("gbk")) == gbk  # GBK stays GBK


def test_r_escapes_and_zero_width(tmp_path: Path) -> None:
    """``<U+00A0>`` written as text by R on Windows is the character; zero-width characters go."""
    raw = "某报告\n<U+00A0><U+00A0>一、总体情况\n各位代表：\u200d\n正文<U+3000>内容。".encode("gb18030")
    (tmp_path / "r.txt").write_bytes(raw)
    doc = load_document(tmp_path / "r.txt", tmp_path)
    assert doc.body == "一、总体情况\n各位代表：\n正文 内容。"


def test_lone_opening_bracket_joins_next_line(tmp_path: Path) -> None:
    """A scraper broke ``（三）`` over two lines: ``（`` / ``三）…``; the marker is put back together."""
    (tmp_path / "b.txt").write_text("某报告\n（二）第二项。正文。\n（\n三）第三项。正文。\n", encoding="utf-8")
    assert _lines(load_document(tmp_path / "b.txt", tmp_path).body) == ["（二）第二项。正文。", "（三）第三项。正文。"]


# --- formats ------------------------------------------------------------------------------------

def test_html_article_text() -> None:
    """HTML: the ``<article>`` text; head, script, style, header, nav, sidebar, footer all left out."""
    doc = _load("fixture-article-2023.html")
    assert (doc.title, doc.date, doc.source) == ("某县2023年工作总结", "2023-12-20", "县政府办公室")
    lines = _lines(doc.body)
    assert lines[0] == "## 一、主要成绩"
    assert "规上工业增加值增长9.1%，新增规上企业35家&高新技术企业12家。" in lines  # entities decoded
    for noise in ("脚本", "样式", "门户网站", "首页", "新闻中心", "导航栏目", "版权所有", "页脚", "发布日期", "<", "某县2023年工作总结"):
        assert noise not in doc.body, noise


def test_html_without_article_keeps_page_text() -> None:
    """No ``<article>``/``<main>``: the page text, still without scripts and navigation."""
    title, text = html_to_text("<html><head><title>T</title></head><body><nav>导航</nav><div>一、甲</div>"
                               "<script>x()</script><p>正文乙</p></body></html>")
    assert (title, text) == ("T", "一、甲\n正文乙")


def test_unsupported_suffix_rejected(tmp_path: Path) -> None:
    (tmp_path / "a.xlsx").write_bytes(b"PK\x03\x04")  # a spreadsheet is no document kb reads (a .pdf now is)
    with pytest.raises(LoadError, match="unsupported file type .xlsx"):
        load_document(tmp_path / "a.xlsx", tmp_path)


# --- titles -------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, title", [
    ("政  府  工  作  报  告\n\n——2021年1月28日在安徽省第十三届人民代表大会第四次会议上\n\n一、回顾\n正文。", "2021年安徽省政府工作报告"),
    ("3月5日，会议在北京开幕。总理作政府工作报告。新华社记者摄\n新华社北京3月16日电\n政府工作报告\n"
     "——2015年3月5日在第十二届全国人民代表大会第三次会议上\n各位代表：\n现在，我代表国务院，向大会报告政府工作。\n一、回顾\n正文。",
     "2015年国务院政府工作报告"),
    ("政府工作报告——2016年3月5日在第十二届全国人民代表大会第四次会议上国务院总理 李克强\n各位代表：\n"
     "现在，我代表国务院，向大会报告政府工作。\n一、回顾\n正文。", "2016年国务院政府工作报告"),
    ("某市2023年工作总结\n一、回顾\n正文。", "某市2023年工作总结"),
])
def test_title_from_body(tmp_path: Path, body: str, title: str) -> None:
    """Letter spacing removed, captions and datelines skipped, ``——`` subtitles off, venue added to a generic title."""
    (tmp_path / "t.txt").write_text(body, encoding="utf-8")
    assert load_document(tmp_path / "t.txt", tmp_path).title == title


@pytest.mark.parametrize("front, body, title", [
    ("2025年政府工作报告", "政府工作报告\n2025年1月8日在宁波市\n第十六届人民代表大会第五次会议上\n宁波市市长 某某\n各位代表：",
     "2025年宁波市政府工作报告"),
    ("政府工作报告", "<!-- 省长某某在河南省第十三届人民代表大会第四次会议上作政府工作报告 -->\n各位代表：", "2021年河南省政府工作报告"),
    ("政府工作报告", "各位代表：\n现在，我代表江西省人民政府向大会报告工作。", "2021年江西省政府工作报告"),
    ("2021年自治区政府工作报告", "各位代表：\n我代表自治区人民政府向大会报告工作。全区新疆" + "新疆" * 6, "2021年新疆维吾尔自治区政府工作报告"),
    ("2024年广州市政府工作报告2024年广州市政府工作报告", "各位代表：", "2024年广州市政府工作报告"),
])
def test_generic_title_made_specific(tmp_path: Path, front: str, body: str, title: str) -> None:
    """``政府工作报告`` names every report alike: the venue (and year) come from the text."""
    (tmp_path / "gwr-2021.md").write_text(f"---\ntitle: {front}\n---\n{body}\n一、回顾\n正文。\n", encoding="utf-8")
    assert load_document(tmp_path / "gwr-2021.md", tmp_path).title == title


def test_title_falls_back_to_file_name(tmp_path: Path) -> None:
    """No short line before the text begins: the file name is the title, never a sentence."""
    (tmp_path / "plain-notes.txt").write_text("这是一段没有标题的正文，直接开始叙述。\n第二段正文也很长，不是标题。", encoding="utf-8")
    assert load_document(tmp_path / "plain-notes.txt", tmp_path).title == "plain-notes"


# --- errors -------------------------------------------------------------------------------------

def test_binary_file_rejected(tmp_path: Path) -> None:
    """NUL bytes without a UTF-16 BOM: a clear error naming the file."""
    path = tmp_path / "scan.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(LoadError) as err:
        load_document(path, tmp_path)
    assert err.value.path == path and "binary" in err.value.reason
    assert str(path) in str(err.value)


def test_control_characters_rejected(tmp_path: Path) -> None:
    """No NUL, but full of control characters: binary too."""
    path = tmp_path / "ctl.txt"
    path.write_bytes(bytes([1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 16, 17]) * 50)
    with pytest.raises(LoadError, match="binary"):
        load_document(path, tmp_path)


def test_undecodable_file_rejected(tmp_path: Path) -> None:
    """Bytes that are neither UTF-8 nor GB18030."""
    path = tmp_path / "bad.txt"
    path.write_bytes("一、总体\n".encode("utf-8") + b"\x81\x20\xff\xfe\x81\x7f" * 20)
    with pytest.raises(LoadError, match="cannot decode"):
        load_document(path, tmp_path)


@pytest.mark.parametrize("content", [b"", b"   \n\r\n\t", "当前位置：首页 > 通知\n发布日期：2024-01-01\n".encode("utf-8")])
def test_empty_file_rejected(tmp_path: Path, content: bytes) -> None:
    """Empty, blank, or nothing but page chrome: an error, not an empty document."""
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(LoadError, match="empty"):
        load_document(path, tmp_path)


def test_doc_id_stable_and_url_safe() -> None:
    """Ids come from the path inside the corpus folder; non-ASCII paths hash to a stable id."""
    assert doc_id_for(Path("c/Reports/GWR-2023.txt"), Path("c")) == "reports--gwr-2023"
    assert doc_id_for(Path("c/白城市/2021.md"), Path("c")) == doc_id_for(Path("c/白城市/2021.md"), Path("c"))
    assert doc_id_for(Path("c/白城市/2021.md"), Path("c")).startswith("d-")
    assert doc_id_for(Path("elsewhere/x.txt"), Path("c")) == "x"
