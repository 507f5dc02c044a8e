"""Page chrome and front matter: decoded text → title, date, source and breadcrumb read off; the body without them."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from kb.models import Document
from kb.load.files import display_path, doc_id_for, printable_path
from kb.text.places import _dominant_province


_CHROME_PATTERNS = [
    r"^(当前位置|您的位置|您现在的位置|所在位置)\s*[:：]?",
    r"(发布日期|发布时间|发表时间|信息来源|浏览次数|访问次数|点击数|阅读次数)\s*[:：]",
    r"^(来源|作者|编辑|责任编辑|文章来源|稿源)\s*[:：]",
    r"^[（(]?\s*责任编辑",
    r"【?\s*字体\s*[:：]|字号\s*[:：]|【\s*(大|打印|关闭)",
    r"^(分享|分享到|收藏|打印|打印本页|关闭|关闭窗口|返回顶部|扫一扫|相关附件|相关链接|相关文档)",
    r"^(时间|日期|阅读量|阅读数|点击量|字号)\s*[:：]\s*$",
    r"^(上一页|下一页)|上一页.*下一页",
    r"扫一扫在手机|E-mail推荐|点击图片进入|innerHTML|document\.(all|write|getElement)",
    r"^[0-9a-f]{32}\s*[:：]$",
    r"^\d{4}[-/年]\d{1,2}[-/月]\d{1,2}日?\s+\d{1,2}[:时]\d{2}",
    r"www\.[a-z0-9.-]+\.(cn|com)\b.*来源",
    r"^(首页|大|中|小|>+|›|\||×)$",
    r"记者\s*\S{2,4}\s*摄$",
]
_CHROME = re.compile("|".join(f"(?:{p})" for p in _CHROME_PATTERNS))


# a longer line is text, never chrome (no line over 300 characters in the corpora is): bounded, as some
# patterns above cost far more than linear time on a long line (``www.a.cn`` repeated: 77 s for 320 KB)
_CHROME_LINE_MAX = 300
_ONLY_SYMBOLS = re.compile(r"^[\W_]*$")
_BREADCRUMB = re.compile(r"^(?:当前位置|您的位置|您现在的位置|所在位置)\s*[:：]?\s*(.*)$")
_DATE_FIELD = re.compile(r"(?:发布日期|发布时间|发表时间|^时间|^日期)\s*[:：]\s*(\d{4})[-/年.](\d{1,2})[-/月.](\d{1,2})")
_SOURCE_FIELD = re.compile(r"(?:信息来源|来源)\s*[:：]\s*([^\s　]+)")
_CN_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_HEAD_COMMENT_DATE = re.compile(r"<!--\s*(\d{4}-\d{1,2}-\d{1,2})\b")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n-{3,}[ \t]*(?:\n|\Z)", re.S)  # closed by "----" once


# R on a Windows machine writes a character its locale cannot encode as the literal text "<U+00A0>"
_R_ESCAPE = re.compile(r"<U\+([0-9A-Fa-f]{4,6})>")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_ANY_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


# a chrome label whose value a scraper put on the next line: "来源：" / "宁夏日报客户端"
_LABEL_ONLY = re.compile(r"^(?:信息来源|文章来源|来源|稿源|发布日期|发布时间|发表时间|时间|日期|作者|编辑|责任编辑"
                         r"|浏览次数|访问次数|点击数|阅读次数|阅读量)\s*[:：]\s*$")


# where an article page ends: what follows is links, share buttons and teasers of other pages
_FOOTER = re.compile(r"^(?:[【\[]\s*)?(?:扫一扫在手机|相关附件|相关链接|相关文档|相关阅读|相关新闻|打印本页|关闭窗口"
                     r"|[（(]?\s*责任编辑)")
_FOOTER_LINE_MAX = 80  # a footer holds short lines only; a real paragraph after the marker means it was not one
_GENERIC_TITLE = re.compile(r"^(?:\d{4}年(?:度)?)?(?:省|市|自治区|自治州|州|县|区)?(?:人民)?"
                            r"(?:政府工作报告|工作报告|工作总结|工作计划)$")
_LEVEL_WORD = re.compile(r"(?:本|全|我)?(?:省|市|自治区|自治州|州|县|区|地区|盟)")  # "我代表自治区人民政府" names no place
_VENUES = [
    re.compile(r"在((?:[\u4e00-\u9fff]{2,12}?)(?:省|市|自治区|自治州|州|地区|盟|县|区))第[一二三四五六七八九十\d]{1,4}届"),
    re.compile(r"(?:^|日|，)((?:[\u4e00-\u9fff]{2,12}?)(?:省|市|自治区|自治州|州|地区|盟|县|区))第[一二三四五六七八九十\d]{1,4}届",
               re.M),
    re.compile(r"代表(国务院)"),
    re.compile(r"代表([\u4e00-\u9fff]{2,12}?(?:省|市|自治区|自治州|州|地区|盟|县|区))人民政府"),
]
_DOC_KIND = re.compile(r"报告|总结|计划|规划|纲要|意见|通知|办法|方案|决定|公报|要点")
_SALUTATION = re.compile(r"^(?:\*\*)?各位(?:代表|委员)")
_LETTER_SPACED = re.compile(r"(?:[\u4e00-\u9fff\d] +){3,}[\u4e00-\u9fff\d]")
_SUBTITLE_DASH = re.compile(r"\s*(?:——|──|--)\s*")
_TITLE_MAX = 400  # characters: a longer line is a paragraph, never a title
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Take a leading YAML front-matter block (flat ``key: value`` lines) off the text.

    >>> split_front_matter("---\\ntitle: 报告\\nsource: x\\n---\\n正文")
    ({'title': '报告', 'source': 'x'}, '正文')
    """
    text = text.lstrip("\ufeff")
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    meta: dict[str, str] = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and not key.startswith((" ", "\t")):
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta, text[match.end():]


def _from_text(text: str, meta: dict[str, str], title_hint: str, path: Path, root: Path | None, *,
               chrome: bool = True, fallback_title: str = "", fallback_date: str = "") -> Document:
    """Text → ``Document``. ``chrome=False`` for office formats: they hold no web-page chrome, and a
    table row such as ``来源：统计局`` must stay text."""
    text = _R_ESCAPE.sub(_chr_or_keep, text)
    if _ANY_ZERO_WIDTH.search(text):
        text = text.translate(_ZERO_WIDTH)
    head_with_comments = text[:3000]  # a comment such as <!-- 省长…在河南省第十三届… --> still names the venue
    text = _HTML_COMMENT.sub("", text).replace("\u00a0", " ").replace("\u3000", " ")
    breadcrumb, date, source = "", "", meta.get("source", "")
    if source.startswith(("http://", "https://")):
        source = ""  # a URL says where the file was scraped from, not which office issued it
    lines = [ln.strip() for ln in text.split("\n")]
    if chrome:
        lines = _cut_footer(lines)
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            kept.append("")
            continue
        if len(line) == 1 and line in "（(【[“《" and i < len(lines) and lines[i]:
            lines[i] = line + lines[i]  # "（" / "三）改革开放…": a marker the scraper broke over two lines
            continue
        if not chrome:
            kept.append(line)
            continue
        crumb = _BREADCRUMB.match(line)
        if crumb or (line == "首页" and _next_text(lines, i)[:1] in (">", "›")):
            parts = [crumb.group(1) if crumb else line]
            # a breadcrumb often runs on over the next lines: "首页", ">", "政务信息", "> 计划总结" …
            while i < len(lines):
                nxt = lines[i]
                last = next((p for p in reversed(parts) if p), "")
                after_sep = last.rstrip()[-1:] in (">", "›")
                if not (nxt[:1] in (">", "›", "") or nxt == "首页" or (after_sep and len(nxt) <= 12)):
                    break
                parts.append(nxt)
                i += 1
            trail = re.sub(r"\s*(>+|›)\s*", " > ", " ".join(p for p in parts if p)).strip(" >")
            if _next_text(lines, i) == trail.rpartition(" > ")[2]:
                i = _skip_to_text(lines, i) + 1  # the column name repeated under the breadcrumb
            breadcrumb = breadcrumb or trail
            continue
        if len(line) <= _CHROME_LINE_MAX and (_CHROME.search(line) or _LABEL_ONLY.match(line)):
            field_line = line
            if _LABEL_ONLY.match(line) and i < len(lines) and _is_label_value(line, lines[i]):
                field_line = line + lines[i]
                i += 1
            found = _DATE_FIELD.search(field_line)
            if found and not date:
                date = "%04d-%02d-%02d" % (int(found.group(1)), int(found.group(2)), int(found.group(3)))
            found = _SOURCE_FIELD.search(field_line)
            if found and not source and "http" not in found.group(1):
                source = found.group(1)
            continue
        if _ONLY_SYMBOLS.match(line) and not re.search(r"\w", line):
            continue
        if line.startswith("<") and re.match(r"^</?[a-zA-Z!][^>]*>$", line):
            continue  # a stray tag left by scraping
        kept.append(line)
    body_lines = _collapse_blank(kept)
    title = meta.get("title", "") or title_hint
    if not title:
        title, body_lines = _title_from_body(body_lines)
    if not title:
        title = fallback_title
    raw_title, title = title, _clean_title(title)
    if not date:  # the speech date: in the subtitle ("——2016年3月5日在…") or near the top of the text
        date = _date_from(meta.get("date", "")) or _date_from("\n".join([raw_title] + body_lines[:8]), cn_only=True)
    if not date:
        date = fallback_date
    if not date:  # a posting date the page kept in a comment: <!-- 2021-03-13 07:16 来源： 新华社 -->
        date = _date_from("\n".join(_HEAD_COMMENT_DATE.findall(head_with_comments)))
    date = _checked_date(date, title, path)
    if _GENERIC_TITLE.match(title):
        title = _specific_title(title, date, "\n".join([head_with_comments] + body_lines[:15]), "\n".join(body_lines))
    if not title:
        title = printable_path(path.stem)
    body_lines = _drop_repeated_title(body_lines, title)
    body = "\n".join(body_lines).strip("\n")
    raw_text = body.encode("utf-8")
    return Document(
        doc_id=doc_id_for(path, root),
        path=display_path(path, root),
        title=title,
        body=body,
        date=date,
        source=source,
        breadcrumb=breadcrumb,
        sha1=hashlib.sha1(raw_text).hexdigest(),
        size=len(raw_text),
    )


def _chr_or_keep(match: re.Match[str]) -> str:
    code = int(match.group(1), 16)
    return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else match.group(0)


def _next_text(lines: list[str], i: int) -> str:
    j = _skip_to_text(lines, i)
    return lines[j] if j < len(lines) else ""


def _skip_to_text(lines: list[str], i: int) -> int:
    while i < len(lines) and not lines[i]:
        i += 1
    return i


def _is_label_value(label: str, line: str) -> bool:
    """Whether ``line`` is the value of the chrome ``label`` on the line before it.

    A count must be digits, a time must be a date; a name (source, editor) must be short and not a
    sentence. Anything else is left to be read as a line of its own.
    """
    if not line or _LABEL_ONLY.match(line):
        return False
    if re.match(r"^(?:浏览次数|访问次数|点击数|阅读次数|阅读量)", label):
        return bool(re.fullmatch(r"\d[\d,]*\s*次?", line))
    if re.match(r"^(?:发布日期|发布时间|发表时间|时间|日期)", label):
        return bool(re.match(r"^\d{4}\s*[-/年.]\s*\d{1,2}", line)) and len(line) <= 30
    return len(line) <= 20 and not re.search(r"[。；;！？!?，,：:]", line) and not _CHROME.search(line)


def _cut_footer(lines: list[str]) -> list[str]:
    """Drop a page footer: a footer marker after which only short lines (links, buttons, teasers) follow.

    The same buttons (``打印本页``, ``关闭窗口``) can stand in a page's header too; a footer is cut
    only where more text stands before the marker than after it.
    """
    after = [0] * (len(lines) + 1)  # characters after each line, and the longest line after it
    longest = [0] * (len(lines) + 1)
    for idx in range(len(lines) - 1, -1, -1):
        after[idx] = after[idx + 1] + len(lines[idx])
        longest[idx] = max(longest[idx + 1], len(lines[idx]))
    for idx, line in enumerate(lines):
        if _FOOTER.match(line) and longest[idx + 1] <= _FOOTER_LINE_MAX and after[idx + 1] <= 2000 and \
                after[0] - after[idx] > max(after[idx + 1], 200):
            return lines[:idx]
    return lines


def _clean_title(title: str) -> str:
    """Markdown emphasis, letter spacing (``政  府  工  作  报  告``) and a ``——`` subtitle taken off a title."""
    title = _BIDI.sub("", title).strip().strip("*").strip()  # U+202E would show the start page reversed
    title = _LETTER_SPACED.sub(lambda m: re.sub(r" +", "", m.group(0)), title)
    # "2024年广州市政府工作报告2024年广州市政府工作报告"; only on a title-sized line: the pattern is
    # quadratic on a periodic one (a 20 MB line took minutes)
    doubled = re.fullmatch(r"(.{4,}?)\s*\1", title) if len(title) <= _TITLE_MAX else None
    if doubled:
        title = doubled.group(1)
    main, sep, _sub = _split_dash(title)
    if sep and _DOC_KIND.search(main):
        title = main
    return title.strip()


def _split_dash(title: str) -> tuple[str, str, str]:
    match = _SUBTITLE_DASH.search(title)
    if not match or match.start() == 0:
        return title, "", ""
    return title[: match.start()], match.group(0), title[match.end():]


def _specific_title(title: str, date: str, head: str, text: str) -> str:
    """``政府工作报告`` names every report alike: add whose it is (from the venue) and the year."""
    venue = ""
    joined = head.replace("\n", "")  # "2025年1月8日在宁波市" / "第十六届人民代表大会…" is one phrase
    for pattern in _VENUES:
        for found in pattern.finditer(joined):
            candidate = found.group(1)
            if not re.search(r"[在第代表会议]", candidate) and not _LEVEL_WORD.fullmatch(candidate):
                venue = candidate
                break
        if venue:
            break
    if not venue:
        venue = _dominant_province(text)
    if not venue:
        return title
    year = re.match(r"^\d{4}年(?:度)?", title)
    kind = re.sub(r"^(?:省|市|自治区|自治州|州|县|区)?(?:人民)?", "", title[year.end():] if year else title)
    prefix = year.group(0) if year else (f"{date[:4]}年" if date[:4].isdigit() else "")
    return f"{prefix}{venue}{kind}"


def _collapse_blank(lines: list[str]) -> list[str]:
    """Keep one blank line between paragraphs, none at the ends."""
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


def _drop_repeated_title(lines: list[str], title: str) -> list[str]:
    """The title printed again at the top of the text (an ``<h1>``, a bold line) is not body text."""
    seen = 0
    for idx, line in enumerate(lines):
        if not line:
            continue
        if len(line) <= 2 * len(title) + 8 and _clean_title(line) == title:
            return _collapse_blank(lines[:idx] + lines[idx + 1:])
        seen += 1
        if seen >= 5:
            break
    return lines


def _title_from_body(lines: list[str]) -> tuple[str, list[str]]:
    """The title is a short line near the top; it is taken out of the body.

    Lines before it may be a photo caption or a wire-service dateline (sentences, skipped); the
    search stops at the first heading or at the salutation ``各位代表：`` where the text proper begins.
    """
    from kb.text.headings import heading_of  # the heading grammar the chunker reads too

    candidates: list[int] = []
    for idx, line in enumerate(lines[:15]):
        if not line:
            continue
        if heading_of(line) is not None or _SALUTATION.match(line):
            break
        if len(line) > 60 or "。" in line or line.endswith(("：", ":")) or line.startswith(("——", "──", "(", "（")):
            continue  # a caption, a dateline sentence or a subtitle, not the title
        candidates.append(idx)
    if not candidates:
        return "", lines
    # prefer a line that names a kind of document over a dateline, a caption or a column name
    idx = next((i for i in candidates if _DOC_KIND.search(lines[i])), candidates[0])
    return lines[idx], _collapse_blank(lines[:idx] + lines[idx + 1:])


def _date_from(text: str, cn_only: bool = False) -> str:
    match = _CN_DATE.search(text) or (None if cn_only else _ISO_DATE.search(text))
    if not match:
        return ""
    # int(): a scraped "２００７年1月23日" (full-width digits, which \d matches) is written 2007-01-23
    return "%04d-%02d-%02d" % (int(match.group(1)), int(match.group(2)), int(match.group(3)))


def _checked_date(date: str, title: str, path: Path) -> str:
    """The date found, held against the year in the file name (``1988.md``, ``2021-十四五规划纲要.md``).

    Without a date the file name's year wins over a year in the title, which may be incidental
    (``第十四个五年规划和2035年远景目标纲要``). A date more than a year away from the file name's year
    is a slip in the text (``1998年4月9日`` heading the 1988 reform) unless the title names the same
    year (``邢台市政府工作报告（2012年1月31日…）`` filed as ``2014.md``): then the file name is wrong.
    A year either side is normal: a report for 2023 is given in December 2022, a communiqué on 1979
    is published in 1980.

    >>> _checked_date("1998-04-09", "1988", Path("国务院机构改革/1988.md"))
    '1988'
    >>> _checked_date("2012-01-31", "邢台市政府工作报告 （2012年1月31日 刘大群）", Path("邢台市/2014.md"))
    '2012-01-31'
    >>> _checked_date("", "第十四个五年规划和2035年远景目标纲要", Path("2021-十四五规划纲要.md"))
    '2021'
    >>> _checked_date("2022-12-28", "2023年政府工作报告", Path("2023.md"))
    '2022-12-28'
    """
    named = _YEAR.search(path.stem)
    file_year = int(named.group(1)) if named else None
    if not date:
        year = named or _YEAR.search(title)
        return year.group(1) if year else ""
    if file_year is None or abs(int(date[:4]) - file_year) <= 1:
        return date
    in_title = _YEAR.search(title)
    return date if in_title and int(in_title.group(1)) == int(date[:4]) else str(file_year)
