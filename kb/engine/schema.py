"""The Whoosh schema, defined once: Whoosh is the index of record, :mod:`kb.engine.textindex` its accelerator.

One Whoosh document per searchable passage:

============  =====================================================  ==========================
field         holds                                                  used for
============  =====================================================  ==========================
passage_id    ``<doc_id>.<hash>`` (stored)                           permalinks, showing a hit
doc_id        the document's id                                      removing a changed file
pnum          column: ``file_id << 20 | ordinal``                    joins the text index rows
content       the passage text, indexed with positions               Whoosh search, ``Phrase``
heading       the words of the document title and section path       Whoosh search
data          section path, anchors, year (stored)                   showing a hit
============  =====================================================  ==========================

``content`` and ``heading`` are analysed by kb's Chinese analyzer (:mod:`kb.text.analyzer`), so stock
Whoosh (``whoosh.index.open_dir``, ``QueryParser("content", ix.schema)``, ``Phrase``) searches the
index as anyone who knows Whoosh expects (README, "Searching the index with plain Whoosh"). The
same words, with title sub-words and character pairs, are also filed as numpy postings by the same
workers (:mod:`kb.engine.textindex`): the accelerator :mod:`kb.search` reads, BM25F over arrays instead
of one Python call per posting. ``tests/test_whoosh_index.py`` checks that both find the same passages.

>>> sorted(build_schema().names())
['content', 'data', 'doc_id', 'heading', 'passage_id', 'pnum']
>>> build_schema()["content"].format.supports("positions"), build_schema()["content"].stored
(True, False)

The passage's text is stored once, by the text index (its folded text, read by the phrase check and
the highlighter, and the characters folding changed, :mod:`kb.engine.unfold`): not in Whoosh as
well, which held a second copy, 107 MB of a 691 MB index at lawtext-gov scale. A Whoosh hit's
``passage_id`` gives its text through :meth:`kb.search.KnowledgeBase.passage`. ``passage_id`` is
stored, not indexed: a passage is found through its document (``doc_id``, indexed), and one term per
passage, each with its one posting, took ~40 MB of Whoosh's postings and terms table.
"""

from __future__ import annotations

from whoosh.columns import NumericColumn
from whoosh.fields import COLUMN, ID, STORED, TEXT, Schema

from kb.text.analyzer import ChineseAnalyzer


def build_schema() -> Schema:
    return Schema(
        passage_id=STORED(),
        doc_id=ID(stored=True),
        pnum=COLUMN(NumericColumn("Q")),
        content=TEXT(analyzer=ChineseAnalyzer(), phrase=True, stored=False),
        heading=TEXT(analyzer=ChineseAnalyzer(), phrase=False),
        data=STORED(),
    )
