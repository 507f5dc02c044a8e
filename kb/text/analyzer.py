"""kb's Chinese analysis as a Whoosh analyzer: ``ChineseAnalyzer()`` is ``ChineseTokenizer() | FoldFilter()``,
composed the way Whoosh's own analyzers are (``RegexTokenizer() | LowercaseFilter()``).

The tokens are exactly :func:`kb.text.analysis.words` of the folded text: the same words, positions
0, 1, 2 … and character offsets into the text as given. So Whoosh's ``QueryParser`` over the
``content`` field (:mod:`kb.engine.schema`) cuts a query as the index was cut, and a Traditional query
folds to the same tokens as its Simplified form:

>>> ana = ChineseAnalyzer()
>>> [(t.text, t.pos, t.startchar, t.endchar) for t in ana("綜合交通投資43.68億元", positions=True, chars=True)]
[('综合', 0, 0, 2), ('交通', 1, 2, 4), ('投资', 2, 4, 6), ('43.68', 3, 6, 11), ('亿元', 4, 11, 13)]
>>> [t.text for t in ana("全年治超检测12万辆次")] == [t.text for t in ana("全年治超檢測12萬輛次")]
True

The tokenizer folds the whole text before cutting it (jieba's dictionary is Simplified, and a year
such as ``二〇二三年`` or an OpenCC phrase folds in its context, not word by word), so its token texts
come out folded; :class:`FoldFilter` after it is then the identity (checked over the corpora: folding
a folded word gives it back), and folds the tokens of any other tokenizer:

>>> from whoosh.analysis import SpaceSeparatedTokenizer
>>> [t.text for t in (SpaceSeparatedTokenizer() | FoldFilter())("運輸 ＡＢＣ")]
['运输', 'abc']

At build time the words are not cut a second time: :mod:`kb.build.indexer` hands Whoosh the word list the
text index was filed from (Whoosh indexes a list of strings as tokens, positions 0, 1, 2 …).
"""

from __future__ import annotations

from collections.abc import Iterator

from whoosh.analysis import Filter, Token, Tokenizer

from kb.text import analysis


class ChineseTokenizer(Tokenizer):
    """Text → kb's words (:func:`kb.text.analysis.words`): jieba with kb's user dictionary, figures and
    codes whole, punctuation dropped, spaced-out characters (``原 油``) read as one word.

    ``folded=True``: the text given is folded already (as :func:`kb.text.analysis.fold` returns it).

    >>> [(t.text, t.startchar, t.endchar) for t in ChineseTokenizer()("原 油 1.37 亿吨", chars=True)]
    [('原油', 0, 3), ('1.37', 4, 8), ('亿吨', 9, 11)]
    """

    def __init__(self, folded: bool = False) -> None:
        self.folded = folded

    def __call__(self, value: str, positions: bool = False, chars: bool = False, keeporiginal: bool = False,
                 removestops: bool = True, start_pos: int = 0, start_char: int = 0, tokenize: bool = True,
                 mode: str = "", **kwargs) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:  # the whole value, one token (Whoosh's convention)
            t.original = t.text = value if self.folded else analysis.fold(value)
            t.boost, t.stopped = 1.0, False
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        for tok in analysis.words(value, folded=self.folded):
            t.text = tok.text
            t.boost, t.stopped = 1.0, False
            if keeporiginal:
                t.original = value[tok.start:tok.end]
            if positions:
                t.pos = start_pos + tok.pos
            if chars:
                t.startchar, t.endchar = start_char + tok.start, start_char + tok.end
            yield t


class FoldFilter(Filter):
    """Each token's text folded (:func:`kb.text.analysis.fold`: Traditional → Simplified, full width →
    half width, lower case), one character for one character, so offsets stay true.

    >>> from whoosh.analysis import RegexTokenizer
    >>> [t.text for t in (RegexTokenizer() | FoldFilter())("發展 ＧＤＰ")]
    ['发展', 'gdp']
    """

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        fold = analysis.fold
        for t in tokens:
            t.text = fold(t.text)
            yield t


def ChineseAnalyzer(folded: bool = False):  # noqa: N802  (named like Whoosh's StandardAnalyzer)
    """kb's analyzer for Whoosh fields: ``ChineseTokenizer(folded) | FoldFilter()``.

    >>> [t.text for t in ChineseAnalyzer()("發電量同比增長3.2‰")]
    ['发电量', '同比', '增长', '3.2‰']
    """
    return ChineseTokenizer(folded) | FoldFilter()
