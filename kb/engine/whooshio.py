"""The one place kb calls Whoosh's private writing API: segments written side by side, one commit.

Several build workers (processes) each write a Whoosh segment of their own into the same index
folder, as Whoosh's own ``MpWriter`` does; the build then commits all of them, with the segments
already there (less deleted documents, small ones merged), in one new table of contents. Whoosh
has no public call for either half, so this module wraps the private ones it needs, and
``tests/test_whooshio.py`` pins what they do on the exactly pinned Whoosh (``whoosh-reloaded==2.7.5``
in ``pyproject.toml``): update the pin and that test together.

Private calls used here, and nowhere else in kb: ``SegmentWriter(_lk=False)`` and its ``perdocwriter``,
``fieldwriter`` (the codec's writers: the field writer's ``_postfile``, ``_tindex``, ``_fieldid`` and
``_postwriter``, whose ``_blocklimit`` and ``_compression`` it follows; the block and term info
layout: ``WHOOSH3_HEADER_MAGIC``, ``W3TermInfo._struct``),
``pool``, ``docnum``, ``_added``, ``_close_segment``,
``_assemble_segment``, ``_finalize_segment``, ``is_closed``; at commit ``_merge_segments``, ``_commit_toc``,
``_finish``.

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

import zlib
from array import array
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.compat import dumps
from whoosh.system import pack_int, pack_long, pack_uint, pack_ushort
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

# A block of one posting is filed uncompressed: zlib's header and checksum would make it larger, not
# smaller, and each call costs ~25 µs of set-up, most of the time spent writing rare words. Whoosh
# meant to skip small blocks, but its check is overwritten on the next line. Each block says how it
# was filed, and Whoosh's reader reads it either way.
SMALL_BLOCK = 1
# Whoosh pickles a block with protocol 2, where each value (a ``bytes``) becomes a call of
# ``_codecs.encode`` on a latin-1 string: ~25 bytes around a 13-byte position list. Its reader
# unpickles any protocol, so blocks are pickled with protocol 4 (``bytes`` as themselves, 1-byte memo
# marks), a block of one posting with protocol 3 (no 9-byte frame): the content field's postings on
# lawtext-gov 12.5 → 6.3 bytes each, compressed. ``tests/test_whooshio.py`` reads them back.
BLOCK_PROTOCOL, SMALL_BLOCK_PROTOCOL = 4, 3
WHOOSH_VERSION = (2, 7, 5)  # the version these private calls were checked on (tests/test_whooshio.py)


class SideWriter:
    """One worker's new segments in the index folder ``folder``, not committed: after the ``with``
    block, ``segments`` lists them (none when no document was added) for :func:`commit`.

    No lock is taken (``_lk=False``): the build holds kb's own lock, and the workers write side by
    side. An exception inside the block cancels the segment being written. Temporary files stay in
    the shared ``*.tmp`` folder until the commit (removing it here broke the workers still writing).

    A field given as a list of strings is taken as its tokens, as Whoosh's ``add_document`` takes it
    (positions 0, 1, 2 …), but its postings are not pooled one Python call each: its tokens are kept
    as term numbers in arrays, sorted in bulk at the end of the segment, and written term by term
    through the codec's field writer (:class:`_TokenColumns`). The segment is the one
    ``add_document`` would write (``tests/test_whooshio.py`` compares them).
    """

    def __init__(self, folder: str | Path, limitmb: int = 128) -> None:
        self.folder, self.limitmb = str(folder), limitmb
        self.segments: list = []
        self._ix = None
        self._writer: SegmentWriter | None = None
        self._tokens: dict[str, _TokenColumns] = {}

    def __enter__(self) -> SideWriter:
        self._ix = whoosh_index.open_dir(self.folder)
        try:
            self._start()
        except BaseException:
            self._ix.close()
            raise
        return self

    def _start(self) -> None:
        # compound=False: a segment's files stay apart (Whoosh reads both ways), not copied into one
        # .seg at the end, which took the time and, for a moment, the disk space of the segment again
        self._writer = SegmentWriter(self._ix, _lk=False, limitmb=self.limitmb, compound=False)
        self._tokens = {}

    def add(self, **fields: object) -> None:
        """One document: ``fields`` as Whoosh's ``add_document`` takes them (``_stored_<name>`` too)."""
        w = self._writer
        assert w is not None
        schema, docnum, perdoc, add_post = w.schema, w.docnum, w.perdocwriter, w.pool.add
        perdoc.start_doc(docnum)
        try:
            for name in sorted(n for n in fields if not n.startswith("_")):
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                length = 0
                if field.indexed and isinstance(value, list):
                    columns = self._tokens.get(name)
                    if columns is None:
                        columns = self._tokens[name] = _TokenColumns(field)
                    length = columns.add(docnum, value)
                elif field.indexed:
                    for btext, freq, weight, vbytes in field.index(value):
                        length += freq if field.scorable else 0
                        add_post((name, btext, docnum, weight, vbytes))
                assert not field.vector and not field.separate_spelling(), name
                stored = fields.get(f"_stored_{name}", value)
                perdoc.add_field(name, field, stored if field.stored else None, length)
                if field.column_type and stored is not None:
                    perdoc.add_column_value(name, field.column_type, field.to_column_value(stored))
        except BaseException:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        w._added = True
        w.docnum += 1

    def cut(self) -> None:
        """Finish the segment being written (kept for the commit) and start a new one: bounds memory."""
        if self._writer is not None and self._writer.docnum:
            self.segments.append(self._finish_segment())
            self._start()

    def _finish_segment(self):
        """What ``SegmentWriter._finalize_segment`` does, the list fields' postings merged in."""
        w = self._writer
        assert w is not None
        w.perdocwriter.close()
        pooled = iter(w.pool.iter_postings())  # the other fields' postings, sorted by (field, term, doc)
        lengths = w.per_document_reader() if w.codec.length_stats else None
        fw = w.fieldwriter
        try:
            names = sorted(set(self._tokens) | {name for name in w.schema.names() if w.schema[name].indexed})
            pending = next(pooled, None)
            for name in names:
                if name in self._tokens:
                    self._tokens.pop(name).write(fw, name)
                    continue
                started = False
                while pending is not None and pending[0] == name:
                    if not started:
                        fw.start_field(name, w.schema[name])
                        started, last = True, None
                    _fieldname, btext, docnum, weight, vbytes = pending
                    if btext != last:
                        if last is not None:
                            fw.finish_term()
                        fw.start_term(btext)
                        last = btext
                    fw.add(docnum, weight, vbytes, lengths.doc_field_length(docnum, name) if lengths else 0)
                    pending = next(pooled, None)
                if started:
                    fw.finish_term()
                    fw.finish_field()
            assert pending is None, "postings of a field not in the schema"
        finally:
            if lengths is not None:
                lengths.close()
        fw.close()
        w._close_segment()
        w._assemble_segment()
        return w.get_segment()

    def __exit__(self, exc_type, *_exc: object) -> None:
        writer = self._writer
        assert writer is not None and self._ix is not None
        try:
            if exc_type is not None:
                if not writer.is_closed:
                    writer.cancel()
            elif writer.docnum:
                self.segments.append(self._finish_segment())
            else:
                writer._close_segment()
                writer.is_closed = True
        except BaseException:
            if not writer.is_closed:
                writer.cancel()
            raise
        finally:
            self._writer = None
            self._ix.close()


class _TokenColumns:
    """The tokens of one field over the documents of a segment, as arrays: a term number per token and
    the document of each token (its position is its place among its document's tokens)."""

    def __init__(self, field) -> None:
        self.field = field
        fmt = field.format
        self.positions = fmt.supports("positions")
        if not (self.positions or fmt.supports("frequency")) or not field.scorable:
            raise ValueError(f"a token list for a {type(fmt).__name__} field (scorable: {field.scorable})")
        self.terms: dict[str, int] = {}
        self.term_ids = array("I")
        self.docs = array("I")
        self.lengths: dict[int, int] = {}

    def add(self, docnum: int, tokens: list[str]) -> int:
        terms = self.terms
        setdefault = terms.setdefault  # (a new token gets the next number: len() is taken first)
        self.term_ids.extend([setdefault(token, len(terms)) for token in tokens])
        self.docs.extend(array("I", [docnum]) * len(tokens))
        if tokens:
            self.lengths[docnum] = len(tokens)
        return len(tokens)

    def write(self, fw, name: str) -> None:
        """Every posting, term by term in byte order, documents ascending, into the field writer's
        postings file and terms table (:class:`_TermFiler`: what ``add_posting`` one by one, then
        ``finish_term``, would have filed)."""
        if not self.terms:
            return
        words = sorted(self.terms, key=lambda w: w.encode("utf-8"))
        rank = np.empty(len(words), np.int64)
        rank[np.fromiter((self.terms[w] for w in words), np.int64, len(words))] = np.arange(len(words))
        docs = np.frombuffer(self.docs, np.uint32)
        term_of = rank.astype(np.uint32)[np.frombuffer(self.term_ids, np.uint32)]
        del rank
        order = np.argsort(term_of, kind="stable")  # (term, document, position) order
        term_of, doc_of = term_of[order], docs[order]
        if self.positions:  # a token's position: its place among its document's tokens
            pos = np.arange(docs.size, dtype=np.uint32)
            starts = np.flatnonzero(np.concatenate(([True], docs[1:] != docs[:-1])))  # each document's first
            pos -= np.repeat(pos[starts], np.diff(np.append(starts, docs.size)))
            pos_of = pos[order]
            del pos, starts
        del order, docs
        self.term_ids, self.docs = array("I"), array("I")
        # a posting is a run of one (term, document): where each starts; where each term's postings start
        new = np.ones(term_of.size, bool)
        new[1:] = (term_of[1:] != term_of[:-1]) | (doc_of[1:] != doc_of[:-1])
        post = np.flatnonzero(new)
        del new
        post_end = np.append(post[1:], term_of.size)
        term_first = np.flatnonzero(np.diff(term_of[post].astype(np.int64), prepend=-1))
        term_words = [words[r].encode("utf-8") for r in term_of[post[term_first]].tolist()]
        del term_of
        post_doc = doc_of[post]
        del doc_of
        post_freq = (post_end - post).astype(np.uint32)
        lengths = np.zeros(int(post_doc.max()) + 1, np.uint32)
        lengths[np.fromiter(self.lengths, np.int64, len(self.lengths))] = np.fromiter(
            self.lengths.values(), np.int64, len(self.lengths))
        post_len = lengths[post_doc]
        del lengths
        encode = self.field.format.encode if self.positions else None
        once: dict[int, bytes] = {}

        def single(position: int) -> bytes:  # most words occur once in a passage: their value, made once
            value = once.get(position)
            if value is None:
                value = once[position] = encode([position])
            return value
        fw.start_field(name, self.field)
        pw = fw._postwriter
        terms = _TermFiler(fw, self.field.format.fixed_value_size(), pw._blocklimit, pw._compression)
        post_doc_list, post_len_list = post_doc.tolist(), post_len.tolist()
        for word, a, b in zip(term_words, term_first.tolist(), np.append(term_first[1:], post.size).tolist()):
            freqs = post_freq[a:b].tolist()
            if self.positions:  # the term's positions, document by document
                base = int(post[a])
                positions = pos_of[base:int(post_end[b - 1])].tolist()
                at = (post[a:b] - base).tolist()
                values = [single(positions[i]) if f == 1 else encode(positions[i:i + f])
                          for i, f in zip(at, freqs)]
            else:
                values = [pack_uint(f) for f in freqs]
            terms.file(word, post_doc_list[a:b], freqs, values, post_len_list[a:b])
        fw.finish_field()


class _TermFiler:
    """A term's postings filed as Whoosh 3's postings writer and field writer file them, without a
    Python call per posting and per statistic: the same blocks (``blocklimit`` postings each: the
    ids, delta-encoded; weights; values; pickled with a later protocol (:data:`BLOCK_PROTOCOL`), zlib
    unless one posting), the same block info, the
    same term info in the terms table (``W3PostingsWriter._write_block``, ``finish_postings``,
    ``W3FieldWriter.finish_term``, ``W3TermInfo.to_bytes``), ~10 µs a term instead of ~80.
    ``tests/test_whooshio.py`` compares what Whoosh reads back with what its own writer wrote."""

    def __init__(self, fw, fixedsize: int | None, blocklimit: int, compression: int) -> None:
        self.postfile, self.tindex, self.fieldid = fw._postfile, fw._tindex, fw._fieldid
        self.fixedsize, self.limit, self.compression = fixedsize, blocklimit, compression

    def file(self, btext: bytes, docs: list[int], freqs: list[int], values: list[bytes],
             lengths: list[int]) -> None:
        """One term: its documents ascending, each one's frequency (its weight), value and field length."""
        postfile, limit, fixedsize = self.postfile, self.limit, self.fixedsize
        start = postfile.tell()
        postfile.write(WHOOSH3_HEADER_MAGIC)
        n = len(docs)
        for lo in range(0, n, limit):
            hi = min(lo + limit, n)
            ids = docs[lo:hi]
            deltas = [ids[0]] + [y - x for x, y in zip(ids, ids[1:])]
            weights = freqs[lo:hi]
            top = max(weights)
            mini_weights = None if top == 1 else float(top) if min(weights) == top else tuple(map(float, weights))
            block_values = values[lo:hi]
            if fixedsize is None or fixedsize < 0:
                mini_values = tuple(block_values)
            else:
                mini_values = None if fixedsize == 0 else b"".join(block_values)
            small = hi - lo <= SMALL_BLOCK
            data = dumps((tuple(deltas), mini_weights, mini_values),
                         SMALL_BLOCK_PROTOCOL if small else BLOCK_PROTOCOL)
            comp = 0 if small else self.compression
            if comp:
                data = zlib.compress(data, comp)
            block_lengths = lengths[lo:hi]
            info = dumps((hi - lo, ids[-1], float(top), comp, length_to_byte(min(block_lengths)),
                          length_to_byte(max(block_lengths))), 2)
            size = len(info) + len(data)
            postfile.write_int(-size if hi == n else size)
            postfile.write(info)
            postfile.write(data)
        terminfo = W3TermInfo._struct.pack(False, float(sum(freqs)), n, length_to_byte(min(lengths)),
                                           length_to_byte(max(lengths)), float(max(freqs)), docs[0], docs[-1])
        self.tindex.add(pack_ushort(self.fieldid) + btext,
                        terminfo + pack_long(start) + pack_int(postfile.tell() - start))


def commit(folder: str | Path, segments: Iterable, deleted: Iterable[tuple[str, str]] = (), merge: bool = True,
           pause: Callable[[], None] | None = None) -> None:
    """One new table of contents in ``folder``: the segments there (less the documents whose
    ``(field, term)`` is in ``deleted``; the small ones merged when ``merge``) plus ``segments``
    written by :class:`SideWriter`. ``pause`` is called once the writer (and Whoosh's lock) is held."""
    ix = whoosh_index.open_dir(str(folder))
    writer = ix.writer(compound=False)
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
