"""One table of every file kb writes: a component of the index folder, a version or a segment → its file name.

The idea of tantivy's ``SegmentComponent``: code that reads, writes or lists a file names the
component, never a string literal of its own, so the layout of the index folder is read here.

>>> IndexComponent.CURRENT.path(Path("index")).as_posix(), VersionComponent.MANIFEST.value
('index/CURRENT', 'manifest.json')
>>> doc_file("plan"), SegmentComponent.TEXT.path(Path("seg-1")).as_posix(), postings_file("words", "rows")
('docs/plan.json.gz', 'seg-1/text.bin', 'words.rows.npy')
>>> [c.value for c in SegmentComponent][:3]
['pnums.npy', 'lengths.npy', 'years.npy']
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path


class _Component(Enum):
    def path(self, folder: Path | str) -> Path:
        """This component's file (or folder) in ``folder``."""
        return Path(folder) / self.value


class IndexComponent(_Component):
    """The index folder's own files (beside the ``v-*`` version folders and a build's ``tmp-*``)."""

    CURRENT = "CURRENT"  # the name of the version being served, replaced atomically
    LOCK = ".lock"  # held by the one build allowed at a time


class VersionComponent(_Component):
    """A version folder's files (beside Whoosh's own, named by Whoosh, and the ``seg-*`` segments)."""

    MANIFEST = "manifest.json"  # files, documents, segments and every file's size and SHA-1
    REDIRECTS = "redirects.json"  # removed passage ids → successors; removed documents
    DOCS = "docs"  # a folder: docs/<doc_id>.json.gz, one chunked document each (doc_file)


class SegmentComponent(_Component):
    """A text-index segment folder's files (``seg-*/``), beside the postings (:func:`postings_file`)."""

    PNUMS = "pnums.npy"  # per row: file id << 20 | passage ordinal, what ties a row to Whoosh
    LENGTHS = "lengths.npy"  # per row: words in the text, words in the title and headings
    YEARS = "years.npy"  # per row: the year the passage reports on (0: none)
    TEXT_OFFSETS = "text_offsets.npy"  # where each row's text starts in TEXT
    TEXT = "text.bin"  # the folded passage texts, one after another
    UNFOLD_OFFSETS = "unfold.offsets.npy"  # where each row's changes start in UNFOLD_AT, UNFOLD_CHARS …
    UNFOLD_AT = "unfold.at.npy"  # … where in its text the original differs from the folded text …
    UNFOLD_CHARS = "unfold.chars.npy"  # … and the original's characters there (kb.engine.unfold)
    VOCAB_WORDS = "vocab.txt"  # the words, one a line, in the order of their keys …
    VOCAB_KEYS = "vocab.keys.npy"  # … their keys (word_key, ascending) …
    VOCAB_DFS = "vocab.dfs.npy"  # … and the passages (rows) whose words hold each


POSTINGS_PARTS = ("keys", "offsets", "rows", "tfs")  # of each posting family; tfs only where counted


def postings_file(family: str, part: str) -> str:
    """A posting family's array in a segment folder: its distinct keys, offsets, rows or term frequencies."""
    assert part in POSTINGS_PARTS, part
    return f"{family}.{part}.npy"


def doc_file(doc_id: str) -> str:
    """A document's JSON, gzipped (a fifth of its size: its keys and section titles repeat), in a
    version folder, relative to it."""
    return f"{VersionComponent.DOCS.value}/{doc_id}.json.gz"
