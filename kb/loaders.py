"""A file path → ``Document``: bytes decoded, page chrome and front matter read off as metadata.

One loader per format (``.txt``, ``.md``, ``.html``); :func:`load_document` picks by suffix.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "plan.txt").write_bytes("当前位置:首页 > 计划\\n\\n某局2024年计划\\n\\n发布日期:2024-06-07 15:56 信息来源:市交通局\\n\\n一、总体要求\\n正文。".encode("gbk"))
>>> doc = load_document(root / "plan.txt", root)
>>> doc.doc_id, doc.title, doc.date, doc.source
('plan', '某局2024年计划', '2024-06-07', '市交通局')
>>> doc.body
'一、总体要求\\n正文。'
"""

from __future__ import annotations

import codecs
import hashlib
import html
import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

from kb.errors import LoadError
from kb.models import Document

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
MAX_BYTES = 32 * 1024 * 1024  # a larger "document" is a dump or a mistake, not a report

_CHROME_PATTERNS = [
    r"^(当前位置|您的位置|您现在的位置|所在位置)\s*[:：]?",
    r"(发布日期|发布时间|发表时间|信息来源|浏览次数|访问次数|点击数|阅读次数)\s*[:：]",
    r"^(来源|作者|编辑|责任编辑|文章来源|稿源)\s*[:：]",
    r"^[（(]?\s*责任编辑",
    r"【?\s*字体\s*[:：]|字号\s*[:：]|【\s*(大|打印|关闭)",
    r"^(分享|分享到|收藏|打印|打印本页|关闭|关闭窗口|返回顶部|扫一扫|相关附件|相关链接|相关文档)",
    r"扫一扫在手机|E-mail推荐|点击图片进入|innerHTML|document\.(all|write|getElement)",
    r"^[0-9a-f]{32}\s*[:：]$",
    r"^\d{4}[-/年]\d{1,2}[-/月]\d{1,2}日?\s+\d{1,2}[:时]\d{2}",
    r"www\.[a-z0-9.-]+\.(cn|com)\b.*来源",
    r"^(首页|大|中|小|>+|›|\||×)$",
    r"记者\s*\S{2,4}\s*摄$",
]
_CHROME = re.compile("|".join(f"(?:{p})" for p in _CHROME_PATTERNS))
_ONLY_SYMBOLS = re.compile(r"^[\W_]*$")
_BREADCRUMB = re.compile(r"^(?:当前位置|您的位置|您现在的位置|所在位置)\s*[:：]?\s*(.*)$")
_DATE_FIELD = re.compile(r"(?:发布日期|发布时间|发表时间)\s*[:：]\s*(\d{4})[-/年.](\d{1,2})[-/月.](\d{1,2})")
_SOURCE_FIELD = re.compile(r"(?:信息来源|来源)\s*[:：]\s*([^\s　]+)")
_CN_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)
_GENERIC_TITLE = re.compile(r"^(政府工作报告|工作报告|工作总结|工作计划)$")
_VENUE = re.compile(r"在(.{2,12}?)第.{1,4}届")
_DOC_KIND = re.compile(r"报告|总结|计划|规划|纲要|意见|通知|办法|方案|决定|公报|要点")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def load_document(path: Path, root: Path | None = None) -> Document:
    """Read one corpus file into a ``Document``; raise ``LoadError`` naming the file when it cannot."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise LoadError(path, f"unsupported file type {suffix or '(none)'}; kb reads {', '.join(SUFFIXES)}")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise LoadError(path, f"file is {size / 2**20:.0f} MB, over the {MAX_BYTES // 2**20} MB limit")
        raw = path.read_bytes()
    except OSError as exc:
        raise LoadError(path, f"cannot read: {exc.strerror or exc}") from exc
    text = decode(raw, path)
    if suffix in (".html", ".htm"):
        title_hint, text = html_to_text(text)
    else:
        title_hint = ""
    meta, text = split_front_matter(text)
    doc = _from_text(text, meta, title_hint, path, root)
    if not doc.body.strip():
        raise LoadError(path, "no text after removing page chrome (empty document)")
    return doc


def decode(raw: bytes, path: object = "<bytes>") -> str:
    """Bytes → text with ``\\n`` line ends. UTF-8 (with or without BOM), UTF-16 with BOM, GB18030.

    >>> decode("一、\\r\\n二、\\r三".encode("gb18030"))
    '一、\\n二、\\n三'
    """
    if not raw.strip():
        raise LoadError(path, "empty file")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif raw.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    else:
        if b"\x00" in raw[:65536]:
            raise LoadError(path, "binary file (contains NUL bytes), not text")
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        break
    else:
        raise LoadError(path, f"cannot decode as {' or '.join(candidates)}")
    controls = sum(1 for ch in text[:65536] if unicodedata.category(ch) == "Cc" and ch not in "\r\n\t\f\v")
    if controls > max(8, len(text[:65536]) // 100):
        raise LoadError(path, "binary file (control characters), not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


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


def doc_id_for(path: Path, root: Path | None) -> str:
    """A stable, URL-safe id from the path inside its corpus folder.

    >>> doc_id_for(Path("corpus/reports/gwr-2023.txt"), Path("corpus"))
    'reports--gwr-2023'
    >>> doc_id_for(Path("c/白城市/2021.md"), Path("c"))
    'd-9b25f2e1a83a'
    """
    try:
        rel = Path(path).relative_to(root) if root else Path(Path(path).name)
    except ValueError:
        rel = Path(Path(path).name)
    stem = rel.with_suffix("").as_posix()
    parts = stem.split("/")
    if all(_SAFE_ID.match(p) for p in parts):
        return "--".join(parts).lower()
    return "d-" + hashlib.sha1(rel.as_posix().encode("utf-8")).hexdigest()[:12]


def _from_text(text: str, meta: dict[str, str], title_hint: str, path: Path, root: Path | None) -> Document:
    text = _HTML_COMMENT.sub("", text).replace("\u00a0", " ").replace("\u3000", " ")
    breadcrumb, date, source = "", "", meta.get("source", "")
    kept: list[str] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line:
            kept.append("")
            continue
        crumb = _BREADCRUMB.match(line)
        if crumb:
            parts = [crumb.group(1)]
            # a breadcrumb often runs on over the next lines: "首页", ">", "政务信息", "> 计划总结" …
            while i < len(lines):
                nxt = lines[i].strip()
                last = next((p for p in reversed(parts) if p), "")
                after_sep = last.rstrip()[-1:] in (">", "›")
                if not (nxt[:1] in (">", "›", "") or nxt == "首页" or (after_sep and len(nxt) <= 12)):
                    break
                parts.append(nxt)
                i += 1
            breadcrumb = breadcrumb or re.sub(r"\s*(>+|›)\s*", " > ", " ".join(p for p in parts if p)).strip(" >")
            continue
        if _CHROME.search(line):
            found = _DATE_FIELD.search(line)
            if found and not date:
                date = "%s-%02d-%02d" % (found.group(1), int(found.group(2)), int(found.group(3)))
            found = _SOURCE_FIELD.search(line)
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
    title = title.strip().strip("*").strip()
    if _GENERIC_TITLE.match(title):
        venue = _VENUE.search("".join(body_lines[:6]))
        if venue:
            title = venue.group(1) + title
    if not title:
        title = path.stem
    if not date:
        date = _date_from(meta.get("date", "")) or _date_from("\n".join(body_lines[:8]), cn_only=True)
    if not date:
        year = _YEAR.search(title) or _YEAR.search(path.stem)
        date = year.group(1) if year else ""
    body = "\n".join(body_lines).strip("\n")
    raw_text = body.encode("utf-8")
    return Document(
        doc_id=doc_id_for(path, root),
        path=str(path),
        title=title,
        body=body,
        date=date,
        source=source,
        breadcrumb=breadcrumb,
        sha1=hashlib.sha1(raw_text).hexdigest(),
        size=len(raw_text),
    )


def _collapse_blank(lines: list[str]) -> list[str]:
    """Keep one blank line between paragraphs, none at the ends."""
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


def _title_from_body(lines: list[str]) -> tuple[str, list[str]]:
    """The first short line near the top is the title; it is taken out of the body."""
    from kb.chunker import heading_of  # the chunker owns what a heading looks like

    candidates: list[int] = []
    for idx, line in enumerate(lines[:12]):
        if not line:
            continue
        if heading_of(line) is not None or len(line) > 60 or line.endswith(("。", "：", ":")):
            break
        candidates.append(idx)
    if not candidates:
        return "", lines
    # prefer a line that names a kind of document over a stray caption or column name
    idx = next((i for i in candidates if _DOC_KIND.search(lines[i])), candidates[0])
    return lines[idx], _collapse_blank(lines[:idx] + lines[idx + 1:])


def _date_from(text: str, cn_only: bool = False) -> str:
    match = _CN_DATE.search(text) or (None if cn_only else _ISO_DATE.search(text))
    if not match:
        return ""
    return "%s-%02d-%02d" % (match.group(1), int(match.group(2)), int(match.group(3)))


class _ArticleText(HTMLParser):
    """Visible text of an HTML page, one line per block; navigation and scripts left out."""

    BLOCK = {"p", "div", "br", "li", "tr", "section", "article", "h1", "h2", "h3", "h4", "h5", "h6",
             "table", "ul", "ol", "blockquote", "pre", "dd", "dt"}
    SKIP = {"script", "style", "nav", "header", "footer", "aside", "noscript", "form", "select", "button",
            "template", "svg", "iframe"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.article: list[str] | None = None
        self.skip = 0
        self.title = ""
        self.h1 = ""
        self._in_title = False
        self._heading: int | None = None
        self._article_depth = 0

    def _out(self) -> list[str]:
        return self.article if self.article is not None and self._article_depth else self.parts

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag in ("article", "main"):
            if self.article is None:
                self.article = []
            self._article_depth += 1
        if tag in self.BLOCK and not self.skip:
            self._out().append("\n")
            if tag in ("h2", "h3", "h4", "h5", "h6"):
                self._heading = int(tag[1])
                self._out().append("#" * self._heading + " ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skip:
            self.skip -= 1
        elif tag == "title":
            self._in_title = False
        elif tag in ("article", "main") and self._article_depth:
            self._article_depth -= 1
        if tag in self.BLOCK and not self.skip:
            self._out().append("\n")
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self.skip:
            self._out().append(data)


def html_to_text(source: str) -> tuple[str, str]:
    """HTML → (title, text): the ``<article>``/``<main>`` text when there is one, else the page's.

    >>> html_to_text("<html><title>报告</title><nav>首页</nav><p>一、总体</p><p>正文&lt;b&gt;</p></html>")
    ('报告', '一、总体\\n正文<b>')
    """
    parser = _ArticleText()
    parser.feed(source)
    parser.close()
    chunks = parser.article if parser.article else parser.parts
    text = "".join(chunks)
    lines = [re.sub(r"[ \t\r\f\v]+", " ", ln).strip() for ln in text.split("\n")]
    lines = [ln for ln in lines if ln and ln.strip("# ")]
    title = html.unescape(parser.title).strip()
    return title, "\n".join(lines)
