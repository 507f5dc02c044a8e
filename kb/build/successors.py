"""Build side of permalinks that survive edits: removed passage ids → their successors, per version.

A passage id is a hash of its text, so fixing a typo gives the passage a new id and the copied link
``/p/<old id>`` would be a 404. At build time, for every document that changed, each passage id that
is gone is mapped to the passage that took its place: the best match by text similarity (character
pairs, Dice) among the passages that are new, with nearness of position as a tie-breaker; with no
similar text (the passage was deleted), the next passage still there. A removed document is
recorded with its title (a 410 page). The map is written as ``redirects.json`` into the new version
and carries the previous version's entries forward (chains are followed: A→B then B→C gives A→C),
so old links survive any number of builds. The query side only reads the file
(:meth:`kb.search.KnowledgeBase.passage`).

>>> old = [("d.a", "全面推进非现执法，查处超限车辆120辆。"), ("d.b", "公交线路优化。")]
>>> new = [("d.c", "全面推进非现场执法，查处超限车辆120辆。"), ("d.b", "公交线路优化。")]
>>> successors(old, new)
{'d.a': 'd.c'}
>>> successors([("d.a", "一"), ("d.x", "被删掉的一段话"), ("d.b", "三")], [("d.a", "一"), ("d.b", "三")])
{'d.x': 'd.b'}
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from kb.store.doctext import passage_key
from kb.store.records import json_of
from kb.store.redirects import REDIRECTS, read_redirects
from kb.store.components import doc_file

SIMILAR = 0.3  # Dice over character pairs: below this the texts are not one passage edited
POSITION_WEIGHT = 0.5  # how much a move across the whole document costs, in Dice points
WINDOW = 40  # candidates compared per removed passage, nearest by position (bounded work)


def _pairs(text: str) -> frozenset[str]:
    t = "".join(text.split())
    return frozenset(t[i:i + 2] for i in range(max(len(t) - 1, 1)))


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a or b else 0.0


def successors(old: list[tuple[str, str]], new: list[tuple[str, str]]) -> dict[str, str]:
    """``(passage_id, text)`` lists of one document before and after an edit → removed id → successor."""
    new_ids = {pid for pid, _ in new}
    old_ids = {pid for pid, _ in old}
    if not new:
        return {}
    added = [(j, pid, _pairs(text)) for j, (pid, text) in enumerate(new) if pid not in old_ids]
    out: dict[str, str] = {}
    n_old, n_new = max(len(old) - 1, 1), max(len(new) - 1, 1)
    for i, (pid, text) in enumerate(old):
        if pid in new_ids:
            continue
        where = i / n_old
        pairs = _pairs(text)
        near = sorted(added, key=lambda c: abs(c[0] / n_new - where))[:WINDOW]
        best, best_score = None, -1.0
        for j, cand, cpairs in near:
            sim = _dice(pairs, cpairs)
            if sim < SIMILAR:
                continue
            score = sim - POSITION_WEIGHT * abs(j / n_new - where)
            if score > best_score:
                best, best_score = cand, score
        if best is None:  # deleted outright: the next passage that is still there (else the one before)
            after = (q for q, _ in old[i + 1:] if q in new_ids)
            before = (q for q, _ in reversed(old[:i]) if q in new_ids)
            best = next(after, None) or next(before, None)
            if best is None:  # nothing survived: the passage now nearest its place
                best = new[min(range(len(new)), key=lambda k: (abs(k / n_new - where), k))][0]
        out[pid] = best
    return out


def _passage_ids(version_dir: Path, doc_id: str) -> tuple[list[str], dict] | None:
    """A document's passage ids, in order, and its JSON (``None`` if it cannot be read)."""
    try:
        data = json_of((version_dir / doc_file(doc_id)).read_bytes())
    except (OSError, ValueError):
        return None
    return [p["passage_id"] for p in data.get("passages", [])], data


class _Texts:
    """Passage texts of one version: its Whoosh documents give each passage's id and ``pnum``, the text
    index (:class:`kb.engine.textindex.TextIndex`) the text of that row, kept there once; an index of
    an older format still has them in Whoosh's stored fields, or in each document's body."""

    def __init__(self, version_dir: Path) -> None:
        self.version_dir, self._ix, self._searcher, self._text, self._row_of = version_dir, None, None, None, {}

    def _open(self) -> None:
        from whoosh.index import open_dir

        from kb.engine.textindex import TextIndex

        self._ix = open_dir(str(self.version_dir))
        self._searcher = self._ix.searcher()
        names = sorted(p.name for p in self.version_dir.iterdir() if p.name.startswith("seg-") and p.is_dir())
        self._text = TextIndex(self.version_dir, names, set())
        self._row_of = {pnum: row for row, pnum in enumerate(self._text.pnums.tolist())}

    def of(self, doc_id: str, data: dict) -> list[tuple[str, str]] | None:
        passages = data.get("passages", [])
        if "body" in data:
            body = data["body"]
            return [(p["passage_id"], body[p["start"]:p["end"]]) for p in passages]
        try:
            if self._searcher is None:
                self._open()
            searcher, text = self._searcher, self._text
            pnums = searcher.reader().column_reader("pnum")
            stored = {}
            for docnum in searcher.document_numbers(doc_id=doc_id):
                fields = searcher.stored_fields(docnum)
                stored[passage_key(fields["passage_id"])] = (text.original(self._row_of[int(pnums[docnum])])
                                                             if text.has_originals() else fields.get("content", ""))
            return [(p["passage_id"], stored[passage_key(p["passage_id"])]) for p in passages]
        except Exception:  # noqa: BLE001  (no successors for an unreadable document; the build goes on)
            return None

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
        if self._ix is not None:
            self._ix.close()


def carry_forward(previous: Path | None, new_version: Path, old_docs: dict[str, dict], new_docs: dict[str, dict],
                  changed: Iterable[str] | None = None) -> dict:
    """Write ``new_version/redirects.json``: the previous version's map, followed through this build's edits.

    ``old_docs``/``new_docs``: the manifests' ``docs``. ``changed``: the documents that were re-read
    (``None``: compare every document both versions hold, as after a full build)."""
    state = read_redirects(previous)
    moved: dict[str, str] = {}
    if previous is not None:
        candidates = set(old_docs) & set(new_docs) if changed is None else set(changed) & set(new_docs)
        texts_before, texts_after = _Texts(previous), _Texts(new_version)
        try:
            for doc_id in sorted(candidates):
                before, after = _passage_ids(previous, doc_id), _passage_ids(new_version, doc_id)
                if before is None or after is None or before[0] == after[0]:
                    continue  # unchanged passages: no text needs reading
                old_texts, new_texts = texts_before.of(doc_id, before[1]), texts_after.of(doc_id, after[1])
                if old_texts is not None and new_texts is not None:
                    moved.update(successors(old_texts, new_texts))
        finally:
            texts_before.close()
            texts_after.close()
    gone = state["gone"]
    for doc_id, meta in old_docs.items():
        if doc_id not in new_docs:
            gone[doc_id] = {"title": meta.get("title", ""), "date": meta.get("date", "")}
    for doc_id in new_docs:  # a document back under its old id is no longer gone
        gone.pop(doc_id, None)
    passages = {old: moved.get(new, new) for old, new in state["passages"].items()}
    passages.update(moved)
    live_docs = set(new_docs)
    passages = {old: new for old, new in passages.items() if old != new and new.rpartition(".")[0] in live_docs}
    state = {"passages": passages, "gone": gone}
    path = new_version / REDIRECTS
    tmp = new_version / (REDIRECTS + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:  # a new file: never write through a hard link to the served one
        json.dump(state, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return state
