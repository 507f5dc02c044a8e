"""The Whoosh schema, defined once: Whoosh keeps the passages, :mod:`kb.textindex` their postings.

One Whoosh document per searchable passage:

============  =====================================================  ==========================
field         holds                                                  used for
============  =====================================================  ==========================
passage_id    ``<doc_id>.<hash>``                                    unique key, permalinks
doc_id        the document's id                                      removing a changed file
pnum          column: ``file_id << 20 | ordinal``                    joins the text index rows
content       the passage text (stored)                              showing a hit
data          title, date, section path, anchors (stored)            showing a hit
============  =====================================================  ==========================

Words, title/heading words and character pairs are not Whoosh postings: writing and scoring those
one Python call per posting made builds and common-word queries slow at scale, so they are numpy
arrays in :mod:`kb.textindex`, scored by :mod:`kb.search` with the same BM25F formula Whoosh uses.

>>> sorted(build_schema().names())
['content', 'data', 'doc_id', 'passage_id', 'pnum']
"""

from __future__ import annotations

from whoosh.columns import NumericColumn
from whoosh.fields import COLUMN, ID, STORED, Schema


def build_schema() -> Schema:
    return Schema(
        passage_id=ID(stored=True, unique=True),
        doc_id=ID(stored=True),
        pnum=COLUMN(NumericColumn("Q")),
        content=STORED(),
        data=STORED(),
    )
