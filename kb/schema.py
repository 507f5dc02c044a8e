"""The Whoosh schema, defined once, and the analyzers that wrap :mod:`kb.analysis` for Whoosh.

One index document per passage:

============  =====================================================  ==========================
field         holds                                                  used for
============  =====================================================  ==========================
passage_id    ``<doc_id>.<hash>``                                    unique key, permalinks
doc_id        the document's id                                      ``doc:`` filter, facets
year          four digits from the document's date                   ``year:`` filter
pnum          column: ``file_id << 20 | ordinal``                    joins the bigram index
content       the passage's word tokens, positions (text stored)     ranking, phrases
meta          words + sub-words of document title and section path   title/heading terms count
data          title, date, section path, anchors (stored)            showing a hit
============  =====================================================  ==========================

Character bigrams live beside Whoosh in :mod:`kb.ngrams` (numpy arrays keyed by ``pnum``).
The indexer hands the text fields pre-analysed token lists (analysis runs in worker processes);
the analyzers below produce the same tokens from a string, for anything that asks Whoosh to analyse.

>>> [t.text for t in ChineseAnalyzer()("運輸一體化達5A水平")]
['运输', '一体化', '达', '5a', '水平']
"""

from __future__ import annotations

from whoosh.analysis import Token, Tokenizer
from whoosh.columns import NumericColumn
from whoosh.fields import COLUMN, ID, STORED, TEXT, Schema

from kb import analysis


class WordTokenizer(Tokenizer):
    """Whoosh tokens from :func:`kb.analysis.words`: jieba words of the folded text, positions sequential."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for tok in analysis.words(value):
            token.text = tok.text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = value[tok.start:tok.end]
            if positions:
                token.pos = start_pos + tok.pos
            if chars:
                token.startchar = start_char + tok.start
                token.endchar = start_char + tok.end
            yield token


def ChineseAnalyzer() -> WordTokenizer:  # noqa: N802 - reads like Whoosh's own analyzers
    """The word analyzer: fold → jieba words → punctuation dropped (all inside the tokenizer)."""
    return WordTokenizer()


# Whole-word matches count for more than bigram-only ones; passage text for more than title/headings.
FIELD_BOOSTS = {"content": 1.0, "meta": 1.0, "bigram": 0.35}


def build_schema() -> Schema:
    return Schema(
        passage_id=ID(stored=True, unique=True),
        doc_id=ID(stored=True),
        year=ID(stored=True),
        pnum=COLUMN(NumericColumn("Q")),
        content=TEXT(analyzer=ChineseAnalyzer(), phrase=True, stored=True),
        meta=TEXT(analyzer=ChineseAnalyzer(), phrase=False),
        data=STORED(),
    )
