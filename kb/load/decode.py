"""Decode: a file's bytes → text (BOM, UTF-8, UTF-16, GB18030, Big5 by detection; controls removed); HTML → text."""

from __future__ import annotations

import codecs
import html
import re
import unicodedata
from html.parser import HTMLParser

from kb.errors import LoadError


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
            guessed = _detect(raw, ["utf_16_le", "utf_16_be"])  # UTF-16 saved without a BOM
            if guessed is None:
                raise LoadError(path, "binary file (contains NUL bytes), not text")
            candidates = [guessed]
        else:
            candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "gb18030" and _unlike_gb(text):
            # Big5 bytes decode as GB18030 too, into rare characters (籓芖跋ユ): ask charset-normalizer
            guessed = _detect(raw, ["big5", "cp950", "big5hkscs", "gb18030"])
            if guessed and guessed.replace("_", "") not in ("gb18030", "gbk", "gb2312"):
                try:
                    text = raw.decode(guessed)
                except UnicodeDecodeError:
                    pass
        break
    else:
        raise LoadError(path, f"cannot decode as {' or '.join(candidates)}")
    controls = sum(1 for ch in text[:65536] if unicodedata.category(ch) == "Cc" and ch not in "\r\n\t\f\v")
    if controls > max(8, len(text[:65536]) // 100):
        raise LoadError(path, "binary file (control characters), not text")
    # control characters past the sampled start (a NUL at 100 KiB) are not text either: never emitted
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.translate(_CONTROLS) if _ANY_CONTROL.search(text) else text  # (a scan: 20× a translate)


_ANY_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROLS = {c: None for c in [*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0)]} | {0x0B: "\n",
                                                                                                  0x0C: "\n"}


def _detect(raw: bytes, encodings: list[str]) -> str | None:
    """charset-normalizer's best guess among ``encodings`` (``None``: none fits)."""
    from charset_normalizer import from_bytes

    best = from_bytes(raw[: 1 << 20], cp_isolation=encodings).best()
    return best.encoding if best is not None else None


def _unlike_gb(text: str) -> bool:
    """Whether text read as GB18030 is full of characters a GB document rarely holds (outside GB2312).

    >>> _unlike_gb("某县交通运输局工作计划"), _unlike_gb("籓芖跋ユ硄砞厨羆砰薄猵侯ユ硄щ戈货じゑ糤")
    (False, True)
    """
    cjk = [ch for ch in text[:20000] if "\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af"]
    if len(cjk) < 8:
        return False
    rare = 0
    for ch in cjk:
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            rare += 1
    return rare > 0.2 * len(cjk)


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
