"""The one place kb calls Whoosh's private writing API: segments written side by side, one commit.

Several build workers (processes) each write a Whoosh segment of their own into the same index
folder, as Whoosh's own ``MpWriter`` does; the build then commits all of them, with the segments
already there (less deleted documents, small ones merged), in one new table of contents. Whoosh
has no public call for either half, so this module wraps the private ones it needs, and
``tests/test_whooshio.py`` pins what they do on the exactly pinned Whoosh (``whoosh-reloaded==2.7.5``
in ``pyproject.toml``): update the pin and that test together.

Private calls used here, and nowhere else in kb: ``SegmentWriter(_lk=False)``, ``_finalize_segment``,
``_close_segment``, ``is_closed``, ``_merge_segments``, ``_added``, ``_commit_toc``, ``_finish``.

>>> import tempfile; from whoosh.fields import ID, Schema; from whoosh.index import create_in, open_dir
>>> folder = tempfile.mkdtemp()
>>> create_in(folder, Schema(key=ID(stored=True))).close()
>>> with SideWriter(folder) as w:
...     w.add(key="a")
>>> commit(folder, w.segments)
>>> open_dir(folder).doc_count()
1
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.writing import SegmentWriter

WHOOSH_VERSION = (2, 7, 5)  # the version these private calls were checked on (tests/test_whooshio.py)


class SideWriter:
    """One worker's new segment in the index folder ``folder``, not committed: after the ``with``
    block, ``segments`` lists it (or nothing, when no document was added) for :func:`commit`.

    No lock is taken (``_lk=False``): the build holds kb's own lock, and the workers write side by
    side. An exception inside the block cancels the segment. Temporary files stay in the shared
    ``*.tmp`` folder until the commit (removing it here broke the workers still writing).
    """

    def __init__(self, folder: str | Path, limitmb: int = 128) -> None:
        self.folder, self.limitmb = str(folder), limitmb
        self.segments: list = []
        self._ix = None
        self._writer: SegmentWriter | None = None

    def __enter__(self) -> SideWriter:
        self._ix = whoosh_index.open_dir(self.folder)
        try:
            self._writer = SegmentWriter(self._ix, _lk=False, limitmb=self.limitmb)
        except BaseException:
            self._ix.close()
            raise
        return self

    def add(self, **fields: object) -> None:
        """One document (Whoosh's public ``add_document``)."""
        assert self._writer is not None
        self._writer.add_document(**fields)

    def __exit__(self, exc_type, *_exc: object) -> None:
        writer, self._writer = self._writer, None
        assert writer is not None and self._ix is not None
        try:
            if exc_type is not None:
                if not writer.is_closed:
                    writer.cancel()
            elif writer.docnum:
                self.segments = [writer._finalize_segment()]
            else:
                writer._close_segment()
                writer.is_closed = True
        except BaseException:
            if not writer.is_closed:
                writer.cancel()
            raise
        finally:
            self._ix.close()


def commit(folder: str | Path, segments: Iterable, deleted: Iterable[tuple[str, str]] = (), merge: bool = True,
           pause: Callable[[], None] | None = None) -> None:
    """One new table of contents in ``folder``: the segments there (less the documents whose
    ``(field, term)`` is in ``deleted``; the small ones merged when ``merge``) plus ``segments``
    written by :class:`SideWriter`. ``pause`` is called once the writer (and Whoosh's lock) is held."""
    ix = whoosh_index.open_dir(str(folder))
    writer = ix.writer()
    try:
        if pause is not None:
            pause()
        for fieldname, text in deleted:
            writer.delete_by_term(fieldname, text)
        # what MpWriter(multisegment=True) does at commit, for segments other writers made
        final = writer._merge_segments(None, False, merge) + list(segments)
        if writer._added:  # merging copied small segments into this writer's own: keep it
            final.append(writer._finalize_segment())
        else:
            writer._close_segment()
        writer._commit_toc(final)
        writer._finish()
    except BaseException:
        if not writer.is_closed:
            writer.cancel()
        raise
    finally:
        ix.close()
