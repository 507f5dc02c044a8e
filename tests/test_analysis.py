"""kb/text/analysis.py and kb/text/ngrams.py: the tokens every index, query and highlight is built from.

The analyzer is the contract between indexing and searching: a passage is found only when the query
folds and cuts into the same tokens as the passage did. These tests pin the cases the product promises:

- :func:`kb.text.analysis.fold`: NFKC (full-width → ASCII), Traditional → Simplified, lower case, and never
  a change of length (offsets into the folded text are offsets into the original, which highlighting
  relies on);
- :func:`kb.text.analysis.words`: numbers, decimals, percents, dates and codes are whole tokens; the user
  dictionary's terms stay whole; punctuation and spaces are never tokens; positions run 0..n-1 (phrase
  queries) and each token's offsets slice the folded text to the token;
- Traditional input cuts exactly as its Simplified form does;
- :func:`kb.text.analysis.search_words` adds dictionary sub-words;
- :mod:`kb.text.ngrams`: a term's character pairs are found in text jieba cuts differently, with quotes and
  brackets transparent.

Each bug these tests found (İ lengthening the text, 1,234.56 and 3.2‰ cut apart, 〇 dropped) is pinned
by a test of its own.
"""

from __future__ import annotations

import re

import doctest
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kb.text.analysis
import kb.text.ngrams
from kb.text.analysis import fold, search_words, words
from kb.text.ngrams import SEE_THROUGH, term_keys, text_keys

USERDICT = Path(kb.text.analysis.__file__).parent.parent / "data" / "userdict.txt"

# U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE lower-cases to two characters ("i" + U+0307): the one
# code point that once made fold() lengthen text (see test_fold_keeps_length_of_dotted_capital_i).
DOTTED_I = "\u0130"

# Mixed text as the corpora hold it: Simplified and Traditional CJK, ASCII and full-width letters and
# digits, ASCII and Chinese punctuation, quotes and brackets, spaces, line breaks, emoji, ligatures.
MIXED_ALPHABET = (
    "交通投资发展建设经济改革治超站线路岭路先锋七连创四好农村年月日亿元的是一二三〇"
    "運輸一體化經濟發展綜合億萬兩貨"
    "abcgsxyzABCGSXYZ0123456789"
    "ＡＢＣＧＳ０１２３４５６７８９％．"
    ".,%-:/+&#_ ,:;!?()\"'"
    "。，、；：！？（）“”‘’《》【】「」…—·"
    " \t\n\u3000"
    "🚄👍ﬁ①Ⅳ½²"
)
MIXED_TEXT = st.text(alphabet=st.sampled_from(MIXED_ALPHABET), max_size=120)
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)),
                   max_size=80)


def texts(text: str) -> list[str]:
    """The token texts of ``words(text)``."""
    return [t.text for t in words(text)]


def check_tokens(text: str) -> None:
    """Sequential positions, offsets that slice the folded text, no empty, space or punctuation tokens."""
    folded = fold(text)
    toks = words(text)
    assert [t.pos for t in toks] == list(range(len(toks)))
    previous_end = 0
    for t in toks:
        span = folded[t.start:t.end]
        if span != t.text:  # only characters spaced out one by one (原 油) are read without the spaces
            assert re.fullmatch(r"[\u3400-\u9fff](?:[ \u3000]{1,2}[\u3400-\u9fff])+", span), (t, folded)
            assert re.sub(r"[ \u3000]", "", span) == t.text, (t, folded)
        assert t.start >= previous_end, ("tokens overlap or go backwards", toks)
        previous_end = t.end
        assert t.text and t.text == t.text.strip(), t
        assert not all(unicodedata.category(ch)[0] in "PZS" for ch in t.text), ("punctuation token", t)


def test_doctests() -> None:
    """The ``>>>`` examples in kb.text.analysis and kb.text.ngrams hold."""
    for module in (kb.text.analysis, kb.text.ngrams):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


# --- fold ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "folded"), [
    ("ＡＢＣ１２３％", "abc123%"),  # NFKC: full-width letters, digits, percent
    ("ＧＤＰ增長５．２％", "gdp增长5.2%"),
    ("交通\u3000投资", "交通 投资"),  # ideographic space → space
    ("運輸一體化", "运输一体化"),  # Traditional → Simplified
    ("經濟發展", "经济发展"),
    ("綜合交通投資43.68億元", "综合交通投资43.68亿元"),
    ("加強兩客兩貨監管", "加强两客两货监管"),
    ("G228 S1 C6 COVID-19", "g228 s1 c6 covid-19"),  # lower case (the ASCII fast path)
    ("Ｇ２２８國道", "g228国道"),
    ("①Ⅳ²", "1ⅳ2"),  # one-character NFKC forms are taken
    ("ﬁ½", "ﬁ½"),  # NFKC would lengthen these (fi, 1⁄2): kept as they are
    ("🚄交通👍", "🚄交通👍"),
    ("", ""),
])
def test_fold(text: str, folded: str) -> None:
    """NFKC, Traditional → Simplified, lower case, one character for one character."""
    assert fold(text) == folded
    assert len(fold(text)) == len(text)


@settings(max_examples=400, deadline=None)
@given(st.one_of(ANY_TEXT, MIXED_TEXT))
def test_fold_keeps_length(text: str) -> None:
    """Any text (CJK, full-width, ligatures, emoji, astral planes…) folds to the same length, idempotently."""
    folded = fold(text)
    assert len(folded) == len(text)
    assert fold(folded) == folded


@pytest.mark.parametrize("text", [DOTTED_I, f"{DOTTED_I}stanbul交通投资"])
def test_fold_keeps_length_of_dotted_capital_i(text: str) -> None:
    """U+0130 lower-cases to two code points; fold must keep it one (e.g. plain ``i``)."""
    assert len(fold(text)) == len(text)
    check_tokens(text)


# --- words: numbers, codes, punctuation ---------------------------------------------------------

@pytest.mark.parametrize(("text", "tokens"), [
    ("全年完成綜合交通投資43.68億元", ["全年", "完成", "综合", "交通", "投资", "43.68", "亿元"]),
    ("非现场执法率59.5%", ["非", "现场", "执法", "率", "59.5%"]),
    ("非现场执法率59.5％", ["非", "现场", "执法", "率", "59.5%"]),  # full-width percent
    ("ＧＤＰ增長５．２％", ["gdp", "增长", "5.2%"]),
    ("同比增长3%", ["同比", "增长", "3%"]),
    ("增长12.5个百分点", ["增长", "12.5", "个", "百分点"]),
    ("发布日期:2024-06-07", ["发布", "日期", "2024-06-07"]),
    ("2024.06.07", ["2024.06.07"]),
    ("2024年6月7日", ["2024", "年", "6", "月", "7", "日"]),  # a phrase query still matches it whole
    ("G228治超站、S1线、2024-06-07", ["g228", "治超", "站", "s1", "线", "2024-06-07"]),
    ("G228国道", ["g228", "国道"]),
    ("地铁S1线开通", ["地铁", "s1", "线", "开通"]),
    ("C6", ["c6"]),
    ("C6线路", ["c6", "线路"]),
    ("Ｇ２２８", ["g228"]),
    ("杭州G60科创走廊", ["杭州", "g60", "科创", "走廊"]),
    ("编号AB-123", ["编号", "ab-123"]),
    ("COVID-19疫情", ["covid-19", "疫情"]),
    ("版本v2.0", ["版本", "v2.0"]),
    ("价格1.5元/吨", ["价格", "1.5", "元", "吨"]),
])
def test_numbers_and_codes_are_whole(text: str, tokens: list[str]) -> None:
    """Numbers, decimals, percents, dates and codes are one token each (folded, lower case)."""
    assert texts(text) == tokens
    check_tokens(text)


def test_number_with_thousands_separator_is_whole() -> None:
    """``1,234.56`` is one number: neither ``1`` nor ``234.56`` is a token of it."""
    assert texts("投资1,234.56万元") == ["投资", "1,234.56", "万元"]


def test_per_mille_is_whole() -> None:
    """A per-mille figure is a whole token, like a percent."""
    assert texts("人口自然增长率3.2‰") == ["人口", "自然", "增长率", "3.2‰"]


def test_ideographic_zero_is_kept() -> None:
    """Every character of a Chinese numeral is in some token (〇 is not dropped as punctuation)."""
    assert "".join(texts("二〇二三")) == "二〇二三"
    assert "".join(texts("一二〇二三年")) == "一二〇二三年"  # five digits: no year, nothing folded


# --- Chinese-numeral years -------------------------------------------------------------------

@pytest.mark.parametrize(("text", "folded"), [
    ("一九八四年", "1984年"),
    ("二〇二三年", "2023年"),
    ("二零二三年", "2023年"),  # 零 for zero
    ("二○二三年", "2023年"),  # U+25CB WHITE CIRCLE, as some reports type it
    ("二O三五年远景目标", "2035年远景目标"),  # Latin O (the corpora have it), folded to o first
    ("二Ｏ三五年", "2035年"),  # full-width O
    ("二〇二三年度", "2023年度"),
    ("從一九五三年到一九五七年", "从1953年到1957年"),  # Traditional context folds as usual
    ("（二〇二三年三月）", "(2023年三月)"),  # only the year: months and days are not years
    ("十一二三年", "十一二三年"),  # part of a longer numeral: left alone
    ("一二〇二三年", "一二〇二三年"),  # five digits
    ("三四五六年", "三四五六年"),  # a year starts with 一 or 二
    ("二〇二年", "二〇二年"),  # three digits
    ("二〇二三", "二〇二三"),  # no 年
])
def test_fold_chinese_numeral_year(text: str, folded: str) -> None:
    """Four Chinese digits before 年 fold to ASCII digits, one for one (offsets stay valid)."""
    assert fold(text) == folded
    assert len(fold(text)) == len(text)
    assert fold(folded) == folded


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("一二三九〇零○oO十年度月交"), max_size=40))
def test_fold_years_keeps_length_and_is_idempotent(text: str) -> None:
    """Runs of numerals and 年 (dense with near-years) fold to the same length, idempotently."""
    folded = fold(text)
    assert len(folded) == len(text)
    assert fold(folded) == folded


def test_chinese_numeral_year_cuts_like_digits() -> None:
    """``一九八四年`` in a passage and ``1984`` (or ``1984年``) in the query meet on the same tokens."""
    assert texts("比一九八〇年增长") == texts("比1980年增长") == ["比", "1980", "年", "增长"]


def test_chinese_numeral_year_is_marked_for_a_digit_query() -> None:
    """Highlighting folds the passage the same way: ``1984年`` marks ``一九八四年``."""
    from kb.query.highlight import snippet_html
    assert snippet_html("比一九八四年增长", ["1984年"]) == "比<mark>一九八四年</mark>增长"


def test_chinese_numeral_year_offsets_slice_the_original() -> None:
    """A token's offsets, found on the folded text, slice the original year (highlighting relies on it)."""
    text = "实施二〇二三年重点工程"
    tok = next(t for t in words(text) if t.text == "2023")
    assert text[tok.start:tok.end] == "二〇二三"


@pytest.mark.parametrize("text", [
    "，。、；：！？（）“”‘’《》【】「」…—·",
    ".,;:!?()[]{}<>\"'-/\\|*~`^",
    " \t\n\u3000\r",
    "🚄👍",
])
def test_punctuation_and_spaces_are_never_tokens(text: str) -> None:
    """Text of nothing but punctuation, spaces or emoji has no tokens."""
    assert words(text) == []
    assert search_words(text) == []


def test_punctuation_between_words_is_dropped() -> None:
    """Only the words come out, with their offsets in the original text."""
    text = "（一）交通，投资！“岭”路 先锋。"
    toks = words(text)
    assert [(t.text, t.pos, t.start, t.end) for t in toks] == [
        ("一", 0, 1, 2), ("交通", 1, 3, 5), ("投资", 2, 6, 8), ("岭", 3, 10, 11), ("路", 4, 12, 13),
        ("先锋", 5, 14, 16)]


@settings(max_examples=300, deadline=None)
@given(MIXED_TEXT)
def test_token_positions_and_offsets(text: str) -> None:
    """Positions 0..n-1; offsets slice the folded text to the token; tokens in order, never punctuation."""
    check_tokens(text)
    assert [t.text for t in words(fold(text), folded=True)] == texts(text)


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT)
def test_token_offsets_any_text(text: str) -> None:
    """The same over any Unicode (astral planes shift no offset: they are code points, not UTF-16 units)."""
    check_tokens(text)


# --- the user dictionary ------------------------------------------------------------------------

def _user_terms() -> list[str]:
    terms = []
    for raw in USERDICT.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            terms.append(line.split()[0])
    return terms


USER_TERMS = _user_terms()


def test_user_dictionary_holds_the_promised_terms() -> None:
    """The programmes and slogans named in the product promise are in the shipped dictionary."""
    assert {"放管服", "四好农村路", "一超四罚", "两客两货", "治超", "青蓝工程"} <= set(USER_TERMS)


@pytest.mark.parametrize(("text", "tokens"), [
    ("深化放管服改革", ["深化", "放管服", "改革"]),
    ("全面升级四好农村路建设", ["全面", "升级", "四好农村路", "建设"]),
    ("严格落实一超四罚制度", ["严格", "落实", "一超四罚", "制度"]),
    ("加强两客两货监管", ["加强", "两客两货", "监管"]),
    ("持续推进治超工作", ["持续", "推进", "治超", "工作"]),
    ("实施青蓝工程培养青年干部", ["实施", "青蓝工程", "培养", "青年干部"]),
])
def test_user_terms_stay_whole_in_sentences(text: str, tokens: list[str]) -> None:
    """The promised terms are one token inside a sentence, not cut with their neighbours."""
    assert texts(text) == tokens


@pytest.mark.parametrize("term", USER_TERMS)
def test_every_user_term_stays_whole(term: str) -> None:
    """Every dictionary term is one token between ordinary words, and alone (as a query)."""
    assert texts(f"我们深化{term}改革工作") == ["我们", "深化", fold(term), "改革", "工作"]
    assert texts(term) == [fold(term)]


# --- Traditional = Simplified -------------------------------------------------------------------

@pytest.mark.parametrize(("traditional", "simplified"), [
    ("運輸一體化", "运输一体化"),
    ("經濟發展", "经济发展"),
    ("全年完成綜合交通投資43.68億元", "全年完成综合交通投资43.68亿元"),
    ("深化放管服改革，升級四好農村路", "深化放管服改革，升级四好农村路"),
    ("實施一超四罰，加強兩客兩貨監管", "实施一超四罚，加强两客两货监管"),
    ("中華人民共和國", "中华人民共和国"),
    ("打造「嶺」路先鋒", "打造「岭」路先锋"),
])
def test_traditional_gives_the_simplified_tokens(traditional: str, simplified: str) -> None:
    """Traditional text cuts into exactly the tokens, positions and offsets of its Simplified form."""
    assert fold(traditional) == fold(simplified)
    assert words(traditional) == words(simplified)
    assert search_words(traditional) == search_words(simplified)


# --- search_words -------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("杭州市政府工作报告", ["杭州", "州市", "市政", "政府", "杭州市", "市政府", "杭州市政府", "工作", "报告"]),
    ("中華人民共和國", ["中华", "华人", "人民", "共和", "共和国", "中华人民共和国"]),
    ("深化放管服改革", ["深化", "放管服", "改革"]),
    ("G228治超站59.5%", ["g228", "治超", "站", "59.5%"]),
])
def test_search_words(text: str, expected: list[str]) -> None:
    """Words plus their dictionary sub-words; numbers and codes whole, punctuation dropped."""
    assert search_words(text) == expected


def test_search_words_hold_the_words() -> None:
    """Every word token is among the search words: sub-words only add."""
    text = "杭州市政府工作报告：全年完成綜合交通投資43.68億元，G228治超站建成。"
    assert set(texts(text)) <= set(search_words(text))
    assert {"杭州", "政府", "市政府"} <= set(search_words(text))


# --- character pairs (kb.text.ngrams) ----------------------------------------------------------------

def _holds(text: str, term: str) -> bool:
    """Whether ``text`` (folded) holds every pair key of ``term`` (folded)."""
    return bool(np.isin(term_keys(fold(term)), text_keys(fold(text))[0]).all())


def test_term_keys_counts() -> None:
    """Two pairs for three characters, one lone key for one, none for non-CJK text."""
    assert len(term_keys("七连创")) == 2
    assert len(term_keys("岭路先锋")) == 3
    assert len(term_keys("站")) == 1
    assert len(term_keys("a")) == 0 and len(term_keys("g228")) == 0 and len(term_keys("")) == 0
    assert len(term_keys("治超治超")) == 2  # distinct keys: 治超, 超治


@pytest.mark.parametrize(("text", "term"), [
    ("七连创为全年", "七连创"),  # jieba cuts 七连/创为
    ("打造“岭”路先锋", "岭路先锋"),  # quotes are transparent
    ("打造「岭」路先锋", "岭路先锋"),
    ("打造（岭）路 先锋", "岭路先锋"),
    ("交通治堵", "治堵"),
    ("打造「嶺」路先鋒", "岭路先锋"),  # after folding
    ("全年完成交通\n投资", "交通投资"),  # a line break is seen through, as search's phrase check does
    ("全年完成交通\u3000投资", "交通投资"),
])
def test_term_pairs_found_in_text(text: str, term: str) -> None:
    """Every pair of the term is among the text's pairs, however jieba cuts the text."""
    assert _holds(text, term)


@pytest.mark.parametrize(("text", "term"), [
    ("岭，路先锋", "岭路先锋"),  # a comma is not transparent: it breaks the pair
    ("七连。创", "七连创"),
    ("交通治理", "治堵"),
])
def test_term_pairs_not_found(text: str, term: str) -> None:
    """Real punctuation and other characters break a pair."""
    assert not _holds(text, term)


def test_text_keys_offsets() -> None:
    """Each key spans its two characters in the text, quotes between them included."""
    keys, starts, ends = text_keys("“岭”路先锋")
    spans = sorted(zip(starts.tolist(), ends.tolist()))
    assert spans == [(1, 4), (3, 5), (4, 6)]
    assert set(keys.tolist()) == set(term_keys("岭路先锋").tolist())


@settings(max_examples=200, deadline=None)
@given(MIXED_TEXT, st.integers(0, 120), st.integers(1, 8))
def test_any_substring_pairs_are_in_the_text(text: str, at: int, size: int) -> None:
    """The pairs of any piece of a (folded) text are among the text's own pairs; every key is its characters."""
    folded = fold(text)
    piece_keys = term_keys(folded[at:at + size])
    pairs = piece_keys[piece_keys >= np.uint64(1 << 21)]  # a lone character of the piece may pair in the text
    assert np.isin(pairs, text_keys(folded)[0]).all()
    keys, starts, ends = text_keys(folded)
    for key, s, e in zip(keys.tolist(), starts.tolist(), ends.tolist()):
        inner = [ch for ch in folded[s:e] if ch not in SEE_THROUGH]
        assert key == (ord(inner[0]) << 21 | ord(inner[1]) if len(inner) == 2 else ord(inner[0]))
