"""Office files the reader tests make themselves, with the real libraries (python-docx, fpdf2,
Chromium, LibreOffice) or, for OFD, zipfile + XML as GB/T 33190 lays it out.

Every fixture states the same small report, so each format's test asserts the same tree and figures:

    某县交通运输局2023年工作总结
    一、总体情况 › （一）交通投资 (全年完成综合交通投资43.68亿元) · （二）公路建设 (a table)
    二、重点工作 › 1.加快项目建设
    三、下一步打算
    四、保障措施 (typed marker, bold 黑体 line)
"""

from __future__ import annotations

import copy
from pathlib import Path

TITLE = "某县交通运输局2023年工作总结"
INTRO = "2023年，我局坚持稳中求进工作总基调，各项工作取得新成效。现将全年工作总结如下。"
INVEST = "全年完成综合交通投资43.68亿元，同比增长12.5%，完成年度目标的108%。"
ROADS_INTRO = "公路建设稳步推进，主要指标见下表。"
TABLE = [["指标", "完成量", "同比增长"], ["新改建农村公路", "120公里", "8.1%"], ["养护大中修工程", "35公里", "5.2%"]]
PROJECTS = "加快推进甬台温高速复线等重点项目建设，全年完成投资21.3亿元。"
NEXT = "2024年，我局将继续深化交通运输改革，力争完成综合交通投资50亿元。"
SUPPORT = "强化资金保障，积极争取上级补助资金，拓宽融资渠道。"

# (number, title, children) as kb toc gives them
TREE = [
    ("一", "总体情况", [("一", "交通投资", []), ("二", "公路建设", [])]),
    ("二", "重点工作", [("1", "加快项目建设", [])]),
    ("三", "下一步打算", []),
    ("四", "保障措施", []),
]

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def tree_of(sections: list[dict]) -> list[tuple]:
    """``kb toc --json`` sections → (number, title, children) tuples, preface left out."""
    return [(s["number"], s["title"], tree_of(s["children"])) for s in sections if not s.get("preface")]


def _chinese_numbering(document) -> str:
    """Add a multilevel list to numbering.xml: 一、 / （一） / 1. (what Word's 公文 templates use); its numId."""
    from docx.oxml import parse_xml

    numbering = document.part.numbering_part.element
    abstract = parse_xml(
        f'<w:abstractNum xmlns:w="{W_NS}" w:abstractNumId="90">'
        '<w:multiLevelType w:val="multilevel"/>'
        '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="%1、"/>'
        '<w:suff w:val="nothing"/></w:lvl>'
        '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="（%2）"/>'
        '<w:suff w:val="nothing"/></w:lvl>'
        '<w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%3."/>'
        '<w:suff w:val="nothing"/></w:lvl>'
        '</w:abstractNum>')
    num = parse_xml(f'<w:num xmlns:w="{W_NS}" w:numId="90"><w:abstractNumId w:val="90"/></w:num>')
    first_num = numbering.find(f"{{{W_NS}}}num")
    if first_num is not None:
        first_num.addprevious(abstract)
    else:
        numbering.append(abstract)
    numbering.append(num)
    return "90"


def _numbered(paragraph, num_id: str, ilvl: int) -> None:
    from docx.oxml import parse_xml

    if num_id == "typed":
        marker = {"总体情况": "一、", "交通投资": "（一）", "公路建设": "（二）", "重点工作": "二、", "加快项目建设": "1.",
                  "下一步打算": "三、"}[paragraph.text]
        paragraph.text = marker + paragraph.text
        return

    ppr = paragraph._p.get_or_add_pPr()
    ppr.append(parse_xml(f'<w:numPr xmlns:w="{W_NS}"><w:ilvl w:val="{ilvl}"/><w:numId w:val="{num_id}"/></w:numPr>'))


def _heiti(run) -> None:
    from docx.oxml.ns import qn

    run.bold = True
    run.font.name = "黑体"
    rpr = run._r.get_or_add_rPr()
    rpr.rFonts.set(qn("w:eastAsia"), "黑体")


def make_docx(path: Path, *, title_in_body: bool = True, numbered: bool = True) -> Path:
    """The report as Word writes it: styled headings numbered by Word (the text holds no 一、),
    a typed-marker bold 黑体 heading, a table, a page header and a footer with a page number.
    ``numbered=False``: the markers typed into the headings instead."""
    import datetime

    import docx
    from docx.oxml import parse_xml

    d = docx.Document()
    d.core_properties.title = TITLE if not title_in_body else "Word文档"
    d.core_properties.created = datetime.datetime(2024, 1, 15, 9, 0, 0)
    section = d.sections[0]
    section.header.paragraphs[0].text = "某县交通运输局文件"
    footer = section.footer.paragraphs[0]
    footer.text = "— "
    footer._p.append(parse_xml(f'<w:fldSimple xmlns:w="{W_NS}" w:instr="PAGE"><w:r><w:t>1</w:t></w:r></w:fldSimple>'))
    footer.add_run(" —")
    num = _chinese_numbering(d) if numbered else "typed"
    if title_in_body:
        d.add_paragraph(TITLE, style="Title")
    d.add_paragraph(INTRO)
    _numbered(d.add_paragraph("总体情况", style="Heading 1"), num, 0)
    _numbered(d.add_paragraph("交通投资", style="Heading 2"), num, 1)
    d.add_paragraph(INVEST)
    _numbered(d.add_paragraph("公路建设", style="Heading 2"), num, 1)
    d.add_paragraph(ROADS_INTRO)
    table = d.add_table(rows=len(TABLE), cols=len(TABLE[0]))
    for r, row in enumerate(TABLE):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    _numbered(d.add_paragraph("重点工作", style="Heading 1"), num, 0)
    _numbered(d.add_paragraph("加快项目建设", style="Heading 3"), num, 2)
    d.add_paragraph(PROJECTS)
    _numbered(d.add_paragraph("下一步打算", style="Heading 1"), num, 0)
    d.add_paragraph(NEXT)
    typed = d.add_paragraph()
    _heiti(typed.add_run("四、保障措施"))
    d.add_paragraph(SUPPORT)
    d.save(str(path))
    return path


CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
# long enough to wrap over several lines of an A5 page, and (placed last on page 1) over the page break
LONG = ("全年完成综合交通投资43.68亿元，同比增长12.5%，其中公路投资31.2亿元、水运投资5.6亿元、"
        "港航设施投资3.1亿元、综合枢纽投资3.78亿元，连续三年保持两位数增长，"
        "总量和增速均位居全市前列，为稳住经济大盘提供了有力支撑。")


def _pdf_blocks() -> list[tuple[str, str, int]]:
    """The report as (kind, text, level) blocks; the PDF writers lay them out."""
    blocks = [("title", TITLE, 0), ("p", INTRO, 0),
              ("h", "一、总体情况", 0), ("h", "（一）交通投资", 1), ("p", LONG, 0),
              ("h", "（二）公路建设", 1), ("p", ROADS_INTRO, 0)]
    for row in TABLE[1:]:
        blocks.append(("p", "；".join(f"{h}：{v}" for h, v in zip(TABLE[0], row)), 0))
    blocks += [("h", "二、重点工作", 0), ("h", "1.加快项目建设", 1), ("p", PROJECTS, 0),
               ("h", "三、下一步打算", 0), ("p", NEXT, 0), ("h", "四、保障措施", 0), ("p", SUPPORT, 0)]
    return blocks


def make_pdf(path: Path, *, outline: bool, bare_outline: bool = False, password: str | None = None,
             image_only: bool = False) -> Path:
    """The report written by fpdf2 on A5 pages: header and ``— n —`` footer on every page, indented
    paragraphs wrapping over lines and over a page break, bookmarks when ``outline``
    (``bare_outline``: headings and bookmarks without their 一、 markers)."""
    from fpdf import FPDF

    class Report(FPDF):
        def header(self) -> None:
            if image_only:  # a scan: an image of the page and nothing else
                return
            self.set_font("wqy", size=9)
            self.cell(0, 6, "某县交通运输局文件", align="C")
            self.ln(10)

        def footer(self) -> None:
            if image_only:
                return
            self.set_y(-12)
            self.set_font("wqy", size=9)
            self.cell(0, 6, f"— {self.page_no()} —", align="C")

    pdf = Report(format=(148, 210))
    pdf.add_font("wqy", fname=str(CJK_FONT))
    pdf.set_title(TITLE)
    pdf.set_creation_date(__import__("datetime").datetime(2024, 1, 15, 9, 0, 0,
                                                           tzinfo=__import__("datetime").timezone.utc))
    if password:
        pdf.set_encryption(owner_password="owner-" + password, user_password=password)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_page()
    if image_only:
        from PIL import Image  # noqa: F401  (fpdf2 depends on Pillow)

        img = path.with_suffix(".png")
        Image.new("RGB", (200, 100), "white").save(img)
        pdf.image(str(img), x=20, y=30, w=100)
        pdf.output(str(path))
        return path
    for kind, text, level in _pdf_blocks():
        if kind == "title":
            pdf.set_font("wqy", size=16)
            pdf.multi_cell(0, 10, text, align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
            continue
        pdf.set_font("wqy", size=11)
        if kind == "h":
            shown = text
            if bare_outline:
                shown = _bare(text)
            if outline:
                pdf.start_section(shown, level=level)
            pdf.multi_cell(0, 7, "　　" + shown, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.multi_cell(0, 7, "　　" + text, new_x="LMARGIN", new_y="NEXT")
        if text == "（一）交通投资":  # fill page 1 so that LONG starts two lines above its foot
            quarter = 0
            while pdf.get_y() < pdf.h - 16 - 7 * 3:
                quarter += 1
                pdf.multi_cell(0, 7, f"　　第{quarter}批项目按计划推进。", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


OFD_NS = "http://www.ofdspec.org/2016"
QUOTE_LINE = ("扎实推进", "“四好农村路”", "示范创建，新改建农村公路120公里。")  # one line, three fonts


def _bare(heading: str) -> str:
    """A heading without its 一、/（一）/1. marker."""
    return heading.split("、", 1)[-1].split("）", 1)[-1].split(".", 1)[-1]


def make_ofd(path: Path, *, chars_per_line: int = 36, lines_per_page: int = 24, bare_outline: bool = False) -> Path:
    """The report as an OFD package assembled from XML: DocInfo title and date, an outline, a
    template page holding the printed header (page chrome), ``— n —`` page numbers, paragraphs
    wrapped over lines and pages, and one line set as three TextObjects in two fonts (a quote in
    楷体), written out of reading order."""
    import zipfile
    from xml.sax.saxutils import escape, quoteattr

    size, left, top, lead = 4.2, 25.0, 30.0, 7.0
    blocks = [b for b in _pdf_blocks() if b[0] != "title"]
    blocks.insert(blocks.index(("p", ROADS_INTRO, 0)) + 1, ("quote", "", 0))
    pages: list[list[str]] = [[]]
    outline: list[tuple[str, int, int]] = []
    next_id = [10]

    def new_id() -> int:
        next_id[0] += 1
        return next_id[0]

    def place(objects: list[tuple[float, str, int]]) -> None:
        """One line of (x offset in characters, text, font id) objects on the current page."""
        if len(pages[-1]) >= lines_per_page:
            pages.append([])
        y = top + lead * len(pages[-1])
        objs = []
        for offset, text, font in objects:
            x = left + offset * size
            objs.append(f'<ofd:TextObject ID="{new_id()}" Boundary="{x:.2f} {y:.2f} {len(text) * size:.2f} {size * 1.4:.2f}" '
                        f'Font="{font}" Size="{size}"><ofd:TextCode X="0" Y="{size:.2f}" '
                        f'DeltaX="g {len(text) - 1} {size}">{escape(text)}</ofd:TextCode></ofd:TextObject>')
        if len(objs) == 3:  # written out of reading order: the quote last
            objs = [objs[0], objs[2], objs[1]]
        pages[-1].append("".join(objs))

    for kind, text, level in blocks:
        if kind == "quote":
            a, q, b = QUOTE_LINE
            place([(2, a, 1), (2 + len(a), q, 2), (2 + len(a) + len(q), b, 1)])
            continue
        if kind == "h":
            if len(pages[-1]) >= lines_per_page:
                pages.append([])
            text = _bare(text) if bare_outline else text
            outline.append((text, level, len(pages) - 1))
        rest, first = text, True
        while rest:
            width = chars_per_line - (2 if first else 0)
            place([(2 if first else 0, rest[:width], 1)])
            rest, first = rest[width:], False

    def page_xml(n: int, lines: list[str]) -> str:
        number = (f'<ofd:TextObject ID="{new_id()}" Boundary="95 280 20 6" Font="1" Size="3.5">'
                  f'<ofd:TextCode X="0" Y="3.5" DeltaX="g 4 3.5">— {n} —</ofd:TextCode></ofd:TextObject>')
        return (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{OFD_NS}">'
                f'<ofd:Template TemplateID="5"/><ofd:Content><ofd:Layer ID="{new_id()}">'
                + "".join(lines) + number + "</ofd:Layer></ofd:Content></ofd:Page>")

    def outline_xml(entries: list[tuple[str, int, int]]) -> str:
        out, stack = [], []
        for title, level, page in entries:
            while stack and stack[-1] >= level:
                out.append("</ofd:OutlineElem>")
                stack.pop()
            out.append(f'<ofd:OutlineElem Title={quoteattr(title)}><ofd:Actions><ofd:Action Event="CLICK">'
                       f'<ofd:Goto><ofd:Dest Type="XYZ" PageID="{100 + page}" Left="0" Top="0"/></ofd:Goto>'
                       f'</ofd:Action></ofd:Actions>')
            stack.append(level)
        out.extend("</ofd:OutlineElem>" for _ in stack)
        return "".join(out)

    ofd_xml = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{OFD_NS}" Version="1.1" DocType="OFD">'
               f'<ofd:DocBody><ofd:DocInfo><ofd:DocID>6f2b3c4d</ofd:DocID><ofd:Title>{TITLE}</ofd:Title>'
               f'<ofd:Author>某县交通运输局</ofd:Author><ofd:CreationDate>2024-01-15</ofd:CreationDate>'
               f'</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>')
    page_list = "".join(f'<ofd:Page ID="{100 + k}" BaseLoc="Pages/Page_{k}/Content.xml"/>' for k in range(len(pages)))
    document_xml = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{OFD_NS}"><ofd:CommonData>'
                    f'<ofd:MaxUnitID>{next_id[0] + 100}</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297'
                    f'</ofd:PhysicalBox></ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes>'
                    f'<ofd:TemplatePage ID="5" BaseLoc="Tpls/Tpl_0/Content.xml"/></ofd:CommonData>'
                    f'<ofd:Pages>{page_list}</ofd:Pages><ofd:Outlines>{outline_xml(outline)}</ofd:Outlines>'
                    f'</ofd:Document>')
    public_res = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res xmlns:ofd="{OFD_NS}" BaseLoc="Res"><ofd:Fonts>'
                  f'<ofd:Font ID="1" FontName="仿宋_GB2312" FamilyName="仿宋"/>'
                  f'<ofd:Font ID="2" FontName="楷体_GB2312" FamilyName="楷体"/></ofd:Fonts></ofd:Res>')
    template = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{OFD_NS}"><ofd:Content><ofd:Layer ID="6">'
                f'<ofd:TextObject ID="7" Boundary="70 12 70 8" Font="1" Size="5"><ofd:TextCode X="0" Y="5">'
                f'某县交通运输局文件</ofd:TextCode></ofd:TextObject></ofd:Layer></ofd:Content></ofd:Page>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("OFD.xml", ofd_xml)
        zf.writestr("Doc_0/Document.xml", document_xml)
        zf.writestr("Doc_0/PublicRes.xml", public_res)
        zf.writestr("Doc_0/Tpls/Tpl_0/Content.xml", template)
        for k, lines in enumerate(pages):
            zf.writestr(f"Doc_0/Pages/Page_{k}/Content.xml", page_xml(k + 1, lines))
    return path


def require_tools(*names: str) -> None:
    """Skip (locally) or fail (CI: ``KB_REQUIRE_BROWSER=1``, set by .ci/run, which installs them) when a
    fixture-making tool is missing."""
    import os
    import shutil

    import pytest

    missing = [n for n in names if shutil.which(n) is None]
    if not missing:
        return
    reason = f"{', '.join(missing)} not installed (apt-get install libreoffice-writer-nogui chromium)"
    if os.environ.get("KB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}: .ci/run installs them, so these tests must run", pytrace=False)
    pytest.skip(reason)


def soffice_convert(source: Path, fmt: str, out_dir: Path) -> Path:
    """``source`` converted by LibreOffice headless to ``fmt`` (doc, rtf) in ``out_dir``."""
    import shutil
    import subprocess

    binary = shutil.which("soffice")
    assert binary, "LibreOffice (soffice) is needed to make the fixture"
    profile = out_dir / ".lo-profile"
    subprocess.run([binary, "--headless", "--norestore", f"-env:UserInstallation={profile.resolve().as_uri()}",
                    "--convert-to", fmt, "--outdir", str(out_dir), str(source)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=180)
    shutil.rmtree(profile, ignore_errors=True)
    made = out_dir / f"{source.stem}.{fmt}"
    assert made.is_file(), f"LibreOffice made no {made}"
    return made


def report_html() -> str:
    """The report as a web page in the official style (paragraphs indented two characters)."""
    from html import escape

    out = ['<!doctype html><html><head><meta charset="utf-8"><title>' + TITLE + '</title><style>'
           'body{font-family:"WenQuanYi Micro Hei";font-size:16px;width:34em;margin:2em auto}'
           'p{text-indent:2em;margin:.8em 0;line-height:1.6}h1{text-align:center;font-size:22px}'
           'h2,h3,h4{font-size:16px;text-indent:2em;margin:.8em 0}</style></head><body>']
    tags = {0: "h2", 1: "h3", 2: "h4"}
    for kind, text, level in _pdf_blocks():
        if kind == "title":
            out.append(f"<h1>{escape(text)}</h1>")
        elif kind == "h":
            out.append(f"<{tags[level]}>{escape(text)}</{tags[level]}>")
        elif text == LONG:  # long enough to wrap over several lines
            out.append(f"<p>{escape(text)}</p>")
        else:
            out.append(f"<p>{escape(text)}</p>")
    out.append("</body></html>")
    return "".join(out)


def chromium_pdf(path: Path) -> Path:
    """The report page printed to PDF by headless Chromium (no outline: headings come from the text)."""
    import shutil
    import subprocess

    binary = shutil.which("chromium")
    assert binary, "Chromium is needed to make the fixture"
    page = path.with_suffix(".html")
    page.write_text(report_html(), encoding="utf-8")
    profile = path.parent / ".chromium-profile"
    subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={path}", page.as_uri()],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    shutil.rmtree(profile, ignore_errors=True)
    page.unlink()
    assert path.is_file() and path.stat().st_size > 0
    return path
