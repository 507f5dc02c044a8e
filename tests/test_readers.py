"""kb/readers: Word, PDF, OFD and the LibreOffice formats, read into the one chunker.

The fixtures are made here with the real tools (:mod:`office_fixtures`): python-docx writes the
.docx, fpdf2 and Chromium the PDFs, zipfile + XML the OFD, LibreOffice the .doc/.wps/.rtf. One
corpus of all of them (and of broken files) is built once with ``kb build``; each format must give
the exact section tree through ``kb toc``, its figures must be found by ``kb search``, and its text
must hold no space between Chinese characters.
"""

from __future__ import annotations

import doctest
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import kb.load.readers
import kb.load.readers.docx
import kb.load.readers.layout
import kb.load.readers.limits
import kb.load.readers.ofd
from kb.cli import main
from kb.errors import LoadError
from kb.load.loaders import load_document
from kb.load.readers.docx import read_docx
from kb.load.readers.ofd import read_ofd
from kb.load.readers.pdf import read_pdf
from office_fixtures import (INVEST, LONG, QUOTE_LINE, TABLE, TITLE, TREE, chromium_pdf, make_docx, make_ofd,
                             make_pdf, require_tools, soffice_convert, tree_of)

BARE_TREE = [("", "总体情况", [("", "交通投资", []), ("", "公路建设", [])]),
             ("", "重点工作", [("", "加快项目建设", [])]),
             ("", "下一步打算", []), ("", "保障措施", [])]
# what each good file of the corpus must give: doc id → tree
EXPECTED = {
    "word": TREE, "word-no-title": TREE,
    "pdf-outline": BARE_TREE, "pdf-text": TREE, "pdf-chromium": TREE,
    "ofd": TREE, "ofd-bare": BARE_TREE,
    "legacy-doc": TREE, "legacy-wps": TREE, "legacy-rtf": TREE,
}
BAD = {  # file name → what its error line must say
    "broken-word.docx": "corrupt file",
    "bomb.docx": "zip bomb",
    "locked.pdf": "encrypted PDF",
    "scan.pdf": "no text layer (scanned?)",
    "broken-pdf.pdf": "corrupt file",
    "broken-ofd.ofd": "corrupt file",
}
_STRAY_SPACE = re.compile(r"[\u4e00-\u9fff，。、；：“”（）%][ \t\u3000\xa0]+[\u4e00-\u9fff\d，。、；：“”（）]"
                          r"|[\u4e00-\u9fff\d，。、；：“”（）][ \t\u3000\xa0]+[\u4e00-\u9fff，。、；：“”（）%]")


def run_kb(*args: str | Path):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def kb_json(*args: str | Path):
    result = run_kb(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _bomb(path: Path) -> Path:
    """A .docx whose document.xml inflates 2,000:1 (a zip bomb in miniature)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"<w:document>" + b" " * (8 << 20) + b"</w:document>")
    return path


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A corpus of every format (and broken files), built once: {"corpus", "index", "build"}."""
    require_tools("soffice", "chromium")
    corpus = tmp_path_factory.mktemp("office-corpus")
    work = tmp_path_factory.mktemp("office-work")
    make_docx(corpus / "word.docx")
    make_docx(corpus / "word-no-title.docx", title_in_body=False)
    make_pdf(corpus / "pdf-outline.pdf", outline=True, bare_outline=True)
    make_pdf(corpus / "pdf-text.pdf", outline=False)
    chromium_pdf(corpus / "pdf-chromium.pdf")
    make_ofd(corpus / "ofd.ofd", lines_per_page=6)
    make_ofd(corpus / "ofd-bare.ofd", lines_per_page=7, bare_outline=True)
    doc = soffice_convert(make_docx(work / "legacy.docx"), "doc", work)
    shutil.copy(doc, corpus / "legacy-doc.doc")
    shutil.copy(doc, corpus / "legacy-wps.wps")  # a Kingsoft .wps is a Word 97 file inside
    rtf = soffice_convert(make_docx(work / "typed.docx", numbered=False), "rtf", work)
    shutil.copy(rtf, corpus / "legacy-rtf.rtf")
    (corpus / "broken-word.docx").write_bytes(b"PK\x03\x04" + b"\x00garbage" * 50)
    _bomb(corpus / "bomb.docx")
    make_pdf(corpus / "locked.pdf", outline=False, password="secret")
    make_pdf(corpus / "scan.pdf", outline=False, image_only=True)
    (corpus / "scan.png").unlink()
    (corpus / "broken-pdf.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00broken" * 40)
    with zipfile.ZipFile(corpus / "broken-ofd.ofd", "w") as zf:
        zf.writestr("OFD.xml", "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'><ofd:DocBody>")
    index = tmp_path_factory.mktemp("office-index")
    result = run_kb("build", "--corpus", corpus, "--index", index, "-q")
    return {"corpus": corpus, "index": index, "build": result}


def test_doctests() -> None:
    """The ``>>>`` examples in the readers' docstrings hold."""
    for module in (kb.load.readers, kb.load.readers.docx, kb.load.readers.layout, kb.load.readers.limits, kb.load.readers.ofd):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, module.__name__


# --- the built corpus ------------------------------------------------------------------------------

def test_build_reads_every_format_and_names_each_bad_file(office: dict) -> None:
    """``kb build`` takes every good file in (a .docx is no longer "0 documents") and names each bad
    one with its reason; exit 1 because some failed."""
    result = office["build"]
    assert result.exit_code == 1, result.output
    assert f"built full: {len(EXPECTED)} documents" in result.stderr
    assert f"failed {len(BAD)}" in result.stderr
    errors = {Path(line.split(": ", 2)[1]).name: line for line in result.stderr.splitlines()
              if line.startswith("error: ")}
    assert set(errors) == set(BAD)
    for name, message in BAD.items():
        assert message in errors[name], errors[name]
    docs = {d["doc_id"]: d for d in kb_json("docs", "--index", office["index"])}
    assert set(docs) == set(EXPECTED)
    for doc_id, d in docs.items():
        assert d["title"] == TITLE, doc_id


@pytest.mark.parametrize("doc_id", sorted(EXPECTED))
def test_toc_is_the_exact_tree(office: dict, doc_id: str) -> None:
    toc = kb_json("toc", doc_id, "--index", office["index"])
    assert toc["title"] == TITLE
    assert tree_of(toc["sections"]) == EXPECTED[doc_id]


@pytest.mark.parametrize("doc_id", sorted(EXPECTED))
def test_search_finds_the_figures(office: dict, doc_id: str) -> None:
    """The investment figure and a table row (with its header) are found in every format."""
    hits = kb_json("search", "综合交通投资 43.68亿元", "--doc", doc_id, "--index", office["index"])["hits"]
    assert hits and "43.68亿元" in hits[0]["text"]
    assert hits[0]["section_path"][-1].endswith("交通投资")
    rows = kb_json("search", "养护大中修工程", "--doc", doc_id, "--index", office["index"])["hits"]
    assert rows and "指标：养护大中修工程；完成量：35公里；同比增长：5.2%" in rows[0]["text"]


@pytest.mark.parametrize("doc_id", sorted(EXPECTED))
def test_text_has_no_stray_spaces_and_no_page_chrome(office: dict, doc_id: str) -> None:
    """No space between Chinese characters or before a figure's unit; wrapped lines (and, in the
    paged formats, the paragraph running over a page break) joined; headers, footers, page numbers gone."""
    from kb.search import KnowledgeBase

    data = KnowledgeBase(office["index"]).document(doc_id)
    body = "\n".join(data["body"][p["start"]:p["end"]] for p in data["passages"])
    assert not _STRAY_SPACE.search(body), _STRAY_SPACE.search(body).group(0)
    assert LONG in body or INVEST in body
    for chrome in ("某县交通运输局文件", "— 1 —", "— 2 —"):
        assert chrome not in body


# --- Word ------------------------------------------------------------------------------------------

def test_docx_numbering_rendered_as_word_shows_it(tmp_path: Path) -> None:
    """The text holds no marker; Word draws 一、/（一）/1. from numbering.xml, and so does kb."""
    import docx

    path = make_docx(tmp_path / "n.docx")
    assert "一、" not in "\n".join(p.text for p in docx.Document(str(path)).paragraphs[:4])
    text = read_docx(path).text
    lines = [ln for ln in text.split("\n") if ln]
    for heading in ("一、总体情况", "（一）交通投资", "（二）公路建设", "二、重点工作", "1.加快项目建设", "三、下一步打算"):
        assert heading in lines
    assert "四、保障措施" in lines  # typed in a bold 黑体 run: a heading by the text grammar


def test_docx_table_rows_carry_their_header(tmp_path: Path) -> None:
    text = read_docx(make_docx(tmp_path / "t.docx")).text
    for row in TABLE[1:]:
        assert "；".join(f"{h}：{v}" for h, v in zip(TABLE[0], row)) in text.split("\n")


def test_docx_headers_footers_dropped_title_from_core_properties(tmp_path: Path) -> None:
    doc = load_document(make_docx(tmp_path / "core.docx", title_in_body=False), tmp_path)
    assert doc.title == TITLE  # the body has no title line: the core property is used
    assert doc.date == "2024-01-15"  # nor a date: the created property
    assert "某县交通运输局文件" not in doc.body and "—" not in doc.body
    styled = load_document(make_docx(tmp_path / "styled.docx"), tmp_path)
    assert styled.title == TITLE and TITLE not in styled.body  # the Title paragraph, not "Word文档"


def test_docx_styled_heading_without_marker_and_restarted_list(tmp_path: Path) -> None:
    """A Heading 1 with no marker is still a section; a list restarted by ``startOverride`` counts
    from its own start."""
    import docx
    from docx.oxml import parse_xml

    from kb.chunk.chunker import chunk
    from office_fixtures import W_NS, _chinese_numbering, _numbered

    d = docx.Document()
    num = _chinese_numbering(d)
    d.part.numbering_part.element.append(parse_xml(
        f'<w:num xmlns:w="{W_NS}" w:numId="91"><w:abstractNumId w:val="90"/>'
        '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="3"/></w:lvlOverride></w:num>'))
    d.add_paragraph("说明", style="Heading 1")
    d.add_paragraph("本文说明有关情况，供参考。")
    _numbered(d.add_paragraph("第一项", style="Heading 1"), num, 0)
    d.add_paragraph("第一项的内容。")
    _numbered(d.add_paragraph("第三项", style="Heading 1"), "91", 0)
    d.add_paragraph("第三项的内容。")
    d.save(str(tmp_path / "r.docx"))
    c = chunk(load_document(tmp_path / "r.docx", tmp_path))
    assert [(s.number, s.title) for s in c.sections] == [("", "说明"), ("一", "第一项"), ("三", "第三项")]


def test_format_by_content_not_suffix(tmp_path: Path) -> None:
    """A .docx saved as .doc is read as the ZIP it is (no LibreOffice needed); a PDF named .txt is
    read as a PDF; a web page saved as .doc is read as HTML."""
    shutil.copy(make_docx(tmp_path / "a.docx"), tmp_path / "renamed.doc")
    assert load_document(tmp_path / "renamed.doc", tmp_path).title == TITLE
    shutil.copy(make_pdf(tmp_path / "b.pdf", outline=False), tmp_path / "misnamed.txt")
    assert "43.68亿元" in load_document(tmp_path / "misnamed.txt", tmp_path).body
    (tmp_path / "page.doc").write_text(f"<html><head><title>{TITLE}</title></head><body><p>一、总体</p>"
                                       f"<p>{INVEST}</p></body></html>", encoding="utf-8")
    doc = load_document(tmp_path / "page.doc", tmp_path)
    assert doc.title == TITLE and INVEST in doc.body


# --- PDF -------------------------------------------------------------------------------------------

def test_pdf_line_broken_over_the_page_joined(tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    path = make_pdf(tmp_path / "p.pdf", outline=False)
    pdf = pdfium.PdfDocument(str(path))
    first, second = (pdf[i].get_textpage().get_text_range() for i in (0, 1))
    pdf.close()
    assert LONG[:20] in first and LONG[-8:] in second  # the fixture really breaks it over the pages
    text = read_pdf(path).text
    assert LONG in text.split("\n")


def test_pdf_page_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_pdf(tmp_path / "long.pdf", outline=False)
    with pytest.raises(LoadError, match="2 pages, over the 1-page limit"):
        read_pdf(path, max_pages=1)
    monkeypatch.setattr(kb.load.readers.limits, "MAX_PAGES", 1)
    with pytest.raises(LoadError, match="over the 1-page limit"):
        load_document(path, tmp_path)


# --- OFD -------------------------------------------------------------------------------------------

def test_ofd_docinfo_and_quote_split_over_fonts(tmp_path: Path) -> None:
    """DocInfo gives title and date; a line set as three TextObjects in two fonts, written out of
    order, reads as one line in reading order; the template page (printed header) is left out."""
    e = read_ofd(make_ofd(tmp_path / "q.ofd", lines_per_page=6))
    assert (e.title, e.date) == (TITLE, "2024-01-15")
    assert "".join(QUOTE_LINE) in e.text.split("\n")
    assert "某县交通运输局文件" not in e.text and e.pages > 2


def test_ofd_bomb_and_missing_parts(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "bomb.ofd", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("OFD.xml", b"<a>" + b"0" * (8 << 20) + b"</a>")
    with pytest.raises(LoadError, match="zip bomb"):
        read_ofd(tmp_path / "bomb.ofd")
    with zipfile.ZipFile(tmp_path / "part.ofd", "w") as zf:
        zf.writestr("OFD.xml", "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'><ofd:DocBody>"
                               "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")
    with pytest.raises(LoadError, match="part Doc_0/Document.xml is missing"):
        read_ofd(tmp_path / "part.ofd")


def test_zip_member_cap_holds_against_a_lying_directory(tmp_path: Path) -> None:
    """The central directory may understate a member; reading still stops at the cap."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.xml", b"1" * 5000)
    with zipfile.ZipFile(buf) as zf:
        with pytest.raises(LoadError, match="unpacks to over"):
            kb.load.readers.limits.read_member(zf, "x.xml", "x.ofd", max_member=1000)


# --- LibreOffice formats ---------------------------------------------------------------------------

def test_legacy_without_libreoffice_names_the_package(office: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_SOFFICE", "")
    with pytest.raises(LoadError, match="apt-get install libreoffice-writer-nogui"):
        load_document(office["corpus"] / "legacy-doc.doc", office["corpus"])


def test_legacy_batch_converts_same_named_files_apart(tmp_path: Path) -> None:
    """Two ``报告.doc`` in different folders each get their own conversion, in one soffice call."""
    from kb.load.readers.legacy import convert_batch

    require_tools("soffice")
    doc = soffice_convert(make_docx(tmp_path / "src.docx"), "doc", tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(doc, tmp_path / "a" / "报告.doc")
    rtf = soffice_convert(make_docx(tmp_path / "typed.docx", numbered=False), "rtf", tmp_path)
    shutil.copy(rtf, tmp_path / "b" / "报告.rtf")
    made = convert_batch([tmp_path / "a" / "报告.doc", tmp_path / "b" / "报告.rtf"], tmp_path / "out")
    assert len(set(made.values())) == 2
    for source, docx_path in made.items():
        assert read_docx(docx_path).text.count("43.68亿元") == 1, source
