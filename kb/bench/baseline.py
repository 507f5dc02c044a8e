"""Corpus folders → the naive baseline kb is measured against: stock jieba + stock Whoosh.

The baseline indexes the SAME passages as kb (:func:`kb.load.loaders.load_document` then
:func:`kb.chunk.chunker.chunk` over the files :func:`kb.build.plan.iter_corpus` picks) into one ``content`` field
analysed by jieba's own ``jieba.analyse.ChineseAnalyzer``, and parses queries with Whoosh's default
``QueryParser("content", schema)`` ranked by Whoosh's default BM25F. Nothing is folded (no NFKC, no
Traditional → Simplified), no titles or headings are indexed, and there is no bigram field: it is what a
team gets by following the jieba README, and the figure kb has to beat.

This module is the one deliberate exception to "only schema/indexer/search import whoosh, only analysis
imports the segmenter": the baseline has to be built from the stock parts, not from ours.

>>> search = build_baseline(["corpus"], "/tmp/kb-baseline")          # doctest: +SKIP
>>> search("综合交通投资").hits[0].text[:12]                          # doctest: +SKIP
'一是交通投资承压高位推进全年'
>>> evaluate_baseline("tests/eval-mixed.tsv", ["corpus", "../shared/corpora/reports"]).summary()  # doctest: +SKIP
'hit@1 … hit@3 … mrr … n …'
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Iterable
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.qparser import QueryParser

from kb.chunk.chunker import chunk
from kb.errors import KbError, LoadError
from kb.evaluate import DEPTH, EvalReport, evaluate
from kb.build.plan import iter_corpus
from kb.load.loaders import load_document
from kb.models import Hit, SearchResult

_PATH_SEP = "\x1f"
_lock = threading.Lock()
_built: dict[tuple[str, ...], BaselineSearch] = {}


def _chinese_analyzer():
    """jieba's stock Whoosh analyzer; jieba's import and dictionary loading are noisy, so hush them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jieba 0.42 imports pkg_resources and has invalid escapes
        import jieba
        import jieba.analyse

        jieba.setLogLevel(60)
        logging.getLogger("jieba").setLevel(60)
        jieba.initialize()
        return jieba.analyse.ChineseAnalyzer()


def baseline_schema() -> Schema:
    return Schema(
        passage_id=ID(stored=True, unique=True),
        doc_id=STORED,
        doc_title=STORED,
        date=STORED,
        section_path=STORED,
        anchor=STORED,
        content=TEXT(stored=True, analyzer=_chinese_analyzer()),
    )


class BaselineSearch:
    """``search(q) -> SearchResult`` over a baseline index; callable, so it plugs into :func:`evaluate`."""

    def __init__(self, index_dir: str | Path) -> None:
        try:
            self.index = whoosh_index.open_dir(str(index_dir))
        except (OSError, whoosh_index.EmptyIndexError) as exc:
            raise KbError(f"no baseline index in {index_dir}: {exc}") from exc
        self.parser = QueryParser("content", self.index.schema)
        self.searcher = self.index.searcher()

    def search(self, q: str, limit: int = DEPTH) -> SearchResult:
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            query = self.parser.parse(q)
            results = self.searcher.search(query, limit=limit)
            hits = tuple(
                Hit(
                    passage_id=r["passage_id"],
                    doc_id=r["doc_id"],
                    doc_title=r["doc_title"],
                    date=r["date"],
                    section_path=tuple(p for p in r["section_path"].split(_PATH_SEP) if p),
                    text=r["content"],
                    snippet_html="",
                    anchor=r["anchor"],
                    score=float(r.score or 0.0),
                    rank=i,
                )
                for i, r in enumerate(results, start=1)
            )
            total = len(results)
        return SearchResult(query=q, total=total, took_ms=(time.perf_counter() - started) * 1000, page=1,
                            page_size=limit, hits=hits)

    __call__ = search

    def close(self) -> None:
        self.searcher.close()
        self.index.close()


def build_baseline(corpus_dirs: Iterable[str | Path], index_dir: str | Path) -> BaselineSearch:
    """Index every passage kb would index into a fresh baseline index; return its search callable.

    Files kb cannot load are skipped, as ``kb build`` skips them.
    """
    roots = [Path(d) for d in corpus_dirs]
    for root in roots:
        if not root.is_dir():
            raise KbError(f"corpus folder {root} does not exist")
    index_dir = Path(index_dir)
    if index_dir.exists():
        shutil.rmtree(index_dir)
    index_dir.mkdir(parents=True)
    ix = whoosh_index.create_in(str(index_dir), baseline_schema())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        writer = ix.writer(limitmb=256)
        try:
            for path, root in iter_corpus(roots):
                try:
                    chunked = chunk(load_document(path, root))
                except LoadError:
                    continue
                doc = chunked.document
                for p in chunked.passages:
                    writer.add_document(passage_id=p.passage_id, doc_id=doc.doc_id, doc_title=doc.title,
                                        date=doc.date, section_path=_PATH_SEP.join(p.section_path),
                                        anchor=p.anchor, content=p.text)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
    ix.close()
    return BaselineSearch(index_dir)


def baseline_for(corpus_dirs: Iterable[str | Path]) -> BaselineSearch:
    """A baseline over these folders, built once per process into a temporary folder."""
    key = tuple(str(Path(d).resolve()) for d in corpus_dirs)
    with _lock:
        if key not in _built:
            tmp = tempfile.mkdtemp(prefix="kb-baseline-")
            atexit.register(shutil.rmtree, tmp, True)
            _built[key] = build_baseline(key, Path(tmp) / "index")
        return _built[key]


def evaluate_baseline(eval_file: str | Path, corpus_dirs: Iterable[str | Path]) -> EvalReport:
    """hit@1, hit@3 and MRR of the naive baseline on ``eval_file``, scored exactly as ``kb eval`` scores kb."""
    return evaluate(Path(eval_file), baseline_for(corpus_dirs))
