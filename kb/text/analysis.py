"""Text → tokens: the one Chinese analysis used for indexing, querying and highlighting.

Every string goes through :func:`fold` first (NFKC, Traditional → Simplified, lower case, and a
year in Chinese numerals in digits: ``二〇二三年`` → ``2023年``), one character for one character, so
offsets into the folded text are offsets into the original. Then:

- :func:`words` cuts with jieba's dictionary (rjieba, plus the shipped user dictionary) and gives
  sequential positions, so phrase queries work; numbers, percents, dates and codes stay whole;
  punctuation is dropped.
- :func:`search_words` adds jieba's dictionary sub-words, for fields that need no positions.

Character pairs, for terms jieba cuts differently in context, are :mod:`kb.text.ngrams`' business.

>>> [t.text for t in words("全年完成綜合交通投資43.68億元，非现场执法率59.5%")]
['全年', '完成', '综合', '交通', '投资', '43.68', '亿元', '非', '现场', '执法', '率', '59.5%']
>>> [t.text for t in words("G228治超站、S1线、2024-06-07")]
['g228', '治超', '站', 's1', '线', '2024-06-07']

Only this module imports the segmenter and OpenCC (``kb/engine/schema.py`` wraps these functions for Whoosh).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import opencc
import rjieba

ANALYZER_VERSION = "7"  # bump when tokens change: a stale index is then rebuilt in full

_WORDLIKE = re.compile(r"[0-9a-z\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# figures jieba cuts apart: 1,234.56 (thousands separators) and 3.2‰ (it keeps 59.5% whole itself)
_FIGURE = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?%?(?![\d,])|\d+(?:\.\d+)?‰")

# a year in Chinese numerals: 一九八四年, 二〇二三年 (also 二零二三年, 二○二三年, 二O二三年); the
# character before is checked in _fold_years (a lookbehind here made the scan four times slower)
_CN_YEAR = re.compile(r"[一二][〇零○o一二三四五六七八九]{3}(?=年)")
_CN_YEAR_DIGITS = str.maketrans("〇零○o一二三四五六七八九", "0000123456789")
_CN_NUMERAL = frozenset("〇零○一二三四五六七八九十百千万亿两")  # before the year: part of a longer number

# a run of this many letters with no punctuation, space or digit is not prose (a sentence rarely
# reaches 100): cut by the dictionary alone. jieba's HMM would coin a new word every few characters
# there (~50,000 distinct per MB of such text, against ~6,000 without), each a term Whoosh files.
_UNBROKEN = re.compile(r"[^\W\d_]{300}")

_lock = threading.RLock()  # _segmenter() folds the user words, which may open the converter
_jieba: rjieba.Jieba | None = None
_t2s: opencc.OpenCC | None = None


@dataclass(frozen=True, slots=True)
class Tok:
    """One token: folded text, position (0, 1, 2 … per stream), character span in the input."""

    text: str
    pos: int
    start: int
    end: int


def user_dictionary_paths() -> list[Path]:
    """The shipped dictionary, then any file named by ``KB_USERDICT`` (``os.pathsep``-separated)."""
    paths = [Path(str(resources.files("kb") / "data" / "userdict.txt"))]
    extra = os.environ.get("KB_USERDICT", "")
    paths += [Path(p) for p in extra.split(os.pathsep) if p]
    return paths


def _read_user_words() -> list[tuple[str, int | None]]:
    entries = []
    for path in user_dictionary_paths():
        if not path.is_file():
            continue
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            entries.append((fold(parts[0]), freq))
    return entries


def user_words() -> frozenset[str]:
    """The user dictionaries' terms, folded."""
    return frozenset(word for word, _freq in _read_user_words())


def dictionary_fingerprint() -> str:
    """Changes whenever the analysis would give other tokens: recorded in the index to spot staleness."""
    digest = hashlib.sha1(ANALYZER_VERSION.encode())
    for word, freq in _read_user_words():
        digest.update(f"{word}\t{freq}\n".encode())
    return digest.hexdigest()[:16]


def _segmenter() -> rjieba.Jieba:
    """One jieba instance with the user words, built once: ``add_word`` is unsafe while others cut."""
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                seg = rjieba.Jieba()
                for word, freq in _read_user_words():
                    seg.add_word(word, freq, None)
                _jieba = seg
    return _jieba


def _converter() -> opencc.OpenCC:
    global _t2s
    if _t2s is None:
        with _lock:
            if _t2s is None:
                _t2s = opencc.OpenCC("t2s")
    return _t2s


@lru_cache(maxsize=4096)
def _nfkc_char(ch: str) -> str:
    folded = unicodedata.normalize("NFKC", ch).lower()
    if len(folded) == 1:
        return folded
    lower = ch.lower()  # İ lower-cases to i + a combining dot: keep the letter, one for one
    if len(lower) > 1 and all(unicodedata.combining(c) for c in lower[1:]):
        return lower[0]
    return lower if len(lower) == 1 else ch


def fold(text: str) -> str:
    """NFKC, Traditional → Simplified, lower case, Chinese-numeral years in digits; always the same
    length as ``text``.

    >>> fold("運輸一體化 ＡＢＣ１２３％")
    '运输一体化 abc123%'
    >>> fold("一九八四年、二〇二三年、二零二五年度、十一二三年不是年份")
    '1984年、2023年、2025年度、十一二三年不是年份'
    """
    if text.isascii():
        return text.lower()
    text = "".join(_nfkc_char(ch) for ch in text)
    simplified = _converter().convert(text)
    if len(simplified) != len(text):  # a phrase rule changed the length: convert char by char
        simplified = "".join(c if len(c := _converter().convert(ch)) == 1 else ch for ch in text)
    return _fold_years(simplified) if "年" in simplified else simplified


def _fold_years(text: str) -> str:
    """``一九八四年`` → ``1984年``: four Chinese digits (the first 一 or 二) right before 年, not part of
    a longer numeral; one digit for one character, so the length never changes.

    Whether a character folds depends on its neighbours here (unlike the rest of :func:`fold`), but
    only within the five characters of the year and the one before it. Offsets never move; a passage
    folds alone as inside its document unless a cut falls inside a year, which only the chunker's
    last resort does (a fixed cut in 600+ characters with no punctuation): that passage is still
    indexed from the folded document, only a highlight over the cut year may be missed.
    """
    pieces: list[str] = []
    pos = 0
    for m in _CN_YEAR.finditer(text):
        start, end = m.span()
        if start and text[start - 1] in _CN_NUMERAL:
            continue
        pieces.append(text[pos:start])
        pieces.append(m.group().translate(_CN_YEAR_DIGITS))
        pos = end
    if not pieces:
        return text
    pieces.append(text[pos:])
    return "".join(pieces)


def words(text: str, folded: bool = False) -> list[Tok]:
    """Word tokens with sequential positions; punctuation and spaces dropped. Characters spaced out
    one by one, as in a statistical table's ``原 油`` or ``发 电 量``, are read as the word they spell.

    >>> [(t.text, t.start, t.end) for t in words("原 油 1.37 亿吨，发 电 量")]
    [('原油', 0, 3), ('1.37', 4, 8), ('亿吨', 9, 11), ('发电量', 12, 17)]
    """
    source = text if folded else fold(text)
    out: list[Tok] = []
    compact, at = _close_spaced(source)
    tokens = _whole_figures(compact, _tokenize(compact))
    if at is not None:  # back to offsets in the text as given
        tokens = [(w, at[s], at[e - 1] + 1) for w, s, e in tokens]
    for word, start, end in tokens:
        if _WORDLIKE.search(word):
            stripped = word.strip()
            if stripped != word:
                lead = len(word) - len(word.lstrip())
                start, end, word = start + lead, start + lead + len(stripped), stripped
            out.append(Tok(word, len(out), start, end))
    return out


def word_texts(text: str, folded: bool = False) -> list[str]:
    """The texts of :func:`words`, without building a token each: what indexing a passage needs
    (about twice as fast on a passage's hundreds of words).

    >>> word_texts("原 油 1.37 亿吨，发 电 量") == [t.text for t in words("原 油 1.37 亿吨，发 电 量")]
    True
    """
    source = text if folded else fold(text)
    compact, _at = _close_spaced(source)
    out: list[str] = []
    wordlike = _wordlike
    for word, _start, _end in _whole_figures(compact, _tokenize(compact)):
        ok = wordlike.get(word)
        if ok is None:
            if len(wordlike) > 200_000:  # bounded: random text has no end of distinct pieces
                wordlike.clear()
            ok = wordlike[word] = bool(_WORDLIKE.search(word))
        if ok:
            out.append(word.strip())
    return out


def _tokenize(text: str) -> list[tuple[str, int, int]]:
    """jieba's (word, start, end); text holding an unbroken run of 300 letters (``_UNBROKEN``) by the
    dictionary alone, without the HMM's new words.

    >>> [w for w, _s, _e in _tokenize("他来到了网易杭研大厦")]  # the HMM coins 杭研
    ['他', '来到', '了', '网易', '杭研', '大厦']
    >>> [w for w, _s, _e in _tokenize("交通运输局" * 60 + "他来到了网易杭研大厦")][-4:]
    ['网易', '杭', '研', '大厦']
    """
    return _segmenter().tokenize(text, hmm=_UNBROKEN.search(text) is None)


_wordlike: dict[str, bool] = {}  # token → whether it holds a letter, digit or CJK character


# CJK characters each standing alone between single spaces: 原 油, 发 电 量 (not 第一 第二)
_SPACED = re.compile(r"(?<![\u3400-\u9fff])[\u3400-\u9fff](?:[ \u3000]{1,2}[\u3400-\u9fff](?![\u3400-\u9fff]))+")


def closed_up(text: str) -> str:
    """``text`` with the spaces inside spaced-out words removed, as the analyzer reads it (a table's
    ``原 油`` is the word ``原油``).

    >>> closed_up("原 油 1.44 亿吨，第一 第二")
    '原油 1.44 亿吨，第一 第二'
    """
    return _close_spaced(text)[0]


def _close_spaced(source: str) -> tuple[str, list[int] | None]:
    """``source`` with the spaces inside spaced-out words removed, and each kept character's offset in
    ``source`` (``None``: nothing removed).

    >>> _close_spaced("原 油 10 万吨")
    ('原油 10 万吨', [0, 2, 3, 4, 5, 6, 7, 8])
    """
    if " " not in source and "\u3000" not in source:
        return source, None
    runs = list(_SPACED.finditer(source))
    if not runs:
        return source, None
    drop = bytearray(len(source))
    for m in runs:
        for i in range(m.start(), m.end()):
            if source[i] in " \u3000":
                drop[i] = 1
    at = [i for i in range(len(source)) if not drop[i]]
    return "".join(source[i] for i in at), at


def _whole_figures(source: str, tokens: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """jieba's (word, start, end) with the pieces of each ``1,234.56`` / ``3.2‰`` joined into one."""
    figures = [m.span() for m in _FIGURE.finditer(source)] if any(c in source for c in ",‰") else []
    if not figures:
        return tokens
    out: list[tuple[str, int, int]] = []
    k = 0
    for word, start, end in tokens:
        while k < len(figures) and figures[k][1] <= start:
            k += 1
        if k < len(figures) and figures[k][0] <= start < figures[k][1]:
            f_start, f_end = figures[k]
            if not out or out[-1][1] != f_start:  # the figure's first piece: the whole figure
                out.append((source[f_start:f_end], f_start, f_end))
            if end > f_end:  # a piece running on past the figure keeps its rest
                out.append((source[f_end:end], f_end, end))
            continue
        out.append((word, start, end))
    return out


def search_words(text: str, folded: bool = False) -> list[str]:
    """Words and their dictionary sub-words (jieba's search mode), for fields without positions.

    >>> search_words("杭州市政府工作报告")
    ['杭州', '州市', '市政', '政府', '杭州市', '市政府', '杭州市政府', '工作', '报告']
    """
    source = text if folded else fold(text)
    return [w for w in _segmenter().cut_for_search(source) if _WORDLIKE.search(w) and not w.isspace()]


def is_cjk(text: str) -> bool:
    return bool(text) and all("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or ch == "\u3007"
                              for ch in text)
