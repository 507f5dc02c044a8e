"""The app's one :class:`kb.search.KnowledgeBase`, opened on first use.

``get_kb()`` is the flaskr ``get_db()``: nothing else opens an index (views read through
``get_version()``, below). One KnowledgeBase per app is shared by all request threads (it keeps
per-thread searchers and reopens itself when ``kb build`` swaps in a new version). It is opened
lazily, so the app starts even before the first build and shows a "run kb build" page
(``IndexMissingError`` → 503) until there is an index.

``get_version()`` is what views read through: the version served when the request first asked,
kept in ``flask.g`` for the rest of the request (:class:`kb.search.PinnedVersion`). A build
swapping ``CURRENT`` halfway through a request so never mixes two versions in one answer, and a
document read twice in one request is read from disk once.
"""

from __future__ import annotations

import threading

from flask import Flask, current_app, g

from kb.search import KnowledgeBase, PinnedVersion

_EXT = "kb"


class _Holder:
    """Opens the KnowledgeBase once, under a lock, and keeps it."""

    def __init__(self, index_dir: str) -> None:
        self.index_dir = index_dir
        self.lock = threading.Lock()
        self.kb: KnowledgeBase | None = None

    def get(self) -> KnowledgeBase:
        kb = self.kb
        if kb is None:
            with self.lock:
                if self.kb is None:
                    # a served answer never comes from a version whose checksums were not found whole
                    self.kb = KnowledgeBase(self.index_dir, wait_for_checks=True, warm=True)  # IndexMissingError until `kb build` ran
                kb = self.kb
        return kb


def get_kb() -> KnowledgeBase:
    """The current app's KnowledgeBase (raises ``IndexMissingError`` when there is no index yet)."""
    return current_app.extensions[_EXT].get()


def get_version() -> PinnedVersion:
    """This request's version: pinned on first use, the same object until the request ends."""
    if "kb_version" not in g:
        g.kb_version = get_kb().pin()
    return g.kb_version


def init_app(app: Flask) -> None:
    app.extensions[_EXT] = _Holder(str(app.config["KB_INDEX"]))
