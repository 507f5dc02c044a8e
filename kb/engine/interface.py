"""The engine interface: what the front door (:mod:`kb.search`) and the build ask of a search backend.

Two thin protocols, no more than is called today:

- :class:`PassageWriter` indexes passages: chunked documents in → one segment's files out
  (kb's :class:`kb.engine.segwriter.SegmentBuilder`);
- :class:`Engine` searches one opened version: a compiled query (:class:`kb.query.understand.CompiledQuery`)
  in → the matching rows with first-pass scores, the best of them re-ranked, and the counts the
  result shows (documents per row set); kb's :class:`kb.engine.local.NumpyEngine`.

Facet values (years, types, places of the matching passages) and stored passages are read by the
opened version (:class:`kb.query.version._Version`) from the index of record, not by the engine.
A cluster backend such as OpenSearch could implement :class:`Engine` (a bool query of the compiled
terms, a rescored top-k, a cardinality aggregation for the counts); none is written.

>>> from kb.engine.segwriter import SegmentBuilder
>>> isinstance(SegmentBuilder(), PassageWriter)
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from kb.models import Chunked
from kb.query.understand import CompiledQuery


@runtime_checkable
class Found(Protocol):
    """The rows a query matched, before ranking."""

    partial: bool  # no row held every term: those holding enough of them (soft matching)

    def matched(self) -> np.ndarray:
        """The matching rows, ascending."""
        ...


@runtime_checkable
class PassageWriter(Protocol):
    """Index passages: chunked documents → one segment, written into a folder."""

    rows: int  # passages added so far
    text_bytes: int  # passage text added so far (the build starts a new segment past a bound)

    def add(self, chunked: Chunked, fid: int, folded_body: str | None = None) -> list:
        """File a document's passages under file id ``fid``; the words each was filed under."""
        ...

    def write(self, directory: Path) -> None:
        """Write the segment's files into ``directory``."""
        ...


@runtime_checkable
class Engine(Protocol):
    """Search one opened version: match, rank, count."""

    @property
    def fids(self) -> np.ndarray:
        """Per row: the file id of the document it belongs to (for grouping rows by document)."""
        ...

    def search(self, query: CompiledQuery, allowed: np.ndarray | None, prefer: np.ndarray | None = None,
               boost: np.ndarray | None = None) -> Found:
        """The rows matching ``query`` among ``allowed`` (``None``: all), scored; ``prefer`` and
        ``boost`` are per-row factors (what the query names beside its words; the place it names)."""
        ...

    def rank(self, query: CompiledQuery, found: Found, limit: int,
             targets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The best ``limit`` rows of ``found`` and their scores, best first; ``targets`` marks the rows
        whose ``达到 X`` is a plan's target, not a stated figure (``None``: no such rows)."""
        ...

    def documents(self, rows: np.ndarray) -> int:
        """How many documents ``rows`` belong to."""
        ...
