"""The three systems measured: kb, the naive baseline (jieba's ChineseAnalyzer in plain Whoosh, one
document per line) and SQLite FTS5 trigram over kb's passages; each one's build and opener.

>>> [(c.alts, c.negated) for c in parse_simple_query('交通 "重点工程" -太龙 公交 OR 出租车')]
[(['交通'], False), (['重点工程'], False), (['太龙'], True), (['公交', '出租车'], False)]
"""

from __future__ import annotations

import html
import json
import re
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kb.bench.common import FTS5_MIN_SQLITE, Searcher, TOP_K

# --- kb --------------------------------------------------------------------------------------

def build_kb(roots: list[Path], index: Path, full: bool, workers: int | None = None) -> dict:
    """kb's own build, through the public function (``workers=None``: kb's default)."""
    from kb.build.indexer import build_index

    started = time.perf_counter()
    report = build_index(roots, index, full=full, workers=workers)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "documents": report.documents, "passages": report.passages,
            "errors": len(report.errors), "indexed": report.added + report.changed}


def open_kb(index: Path) -> Searcher:
    """kb's search, one ``KnowledgeBase`` reused: hits with ``snippet_html`` computed."""
    from kb.search import KnowledgeBase

    kb = KnowledgeBase(index)

    def run(q: str) -> list[tuple[str, str]]:
        return [(h.passage_id, h.snippet_html) for h in kb.search(q, page=1).hits]

    return run


# --- naive: jieba ChineseAnalyzer + plain Whoosh ---------------------------------------------

def _import_jieba():
    """``jieba`` and its stock analyzer, with its import-time warnings and log lines silenced."""
    import logging
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jieba
        from jieba.analyse import ChineseAnalyzer
    jieba.setLogLevel(60)
    logging.getLogger("jieba").setLevel(60)
    return jieba, ChineseAnalyzer


def _scan(roots: list[Path], old: dict) -> tuple[dict, list[tuple[str, Path, Path]], list[str]]:
    """(file key → [size, mtime_ns], new or changed files, keys gone or changed) against ``old``."""
    from kb.build.plan import iter_corpus

    files: dict[str, list[int]] = {}
    todo = []
    for path, root in iter_corpus(roots):
        key = f"{roots.index(root)}:{path.relative_to(root).as_posix()}"
        st = path.stat()
        files[key] = [st.st_size, st.st_mtime_ns]
        if old.get(key) != files[key]:
            todo.append((key, path, root))
    stale = [k for k in old if k not in files or old[k] != files[k]]
    return files, todo, stale


def _lines_of(path: Path, root: Path) -> list[str] | None:
    """The non-empty lines of a document as kb's loader decodes it (``None`` when it cannot be read)."""
    from kb.errors import LoadError
    from kb.load.loaders import load_document

    try:
        doc = load_document(path, root)
    except LoadError:
        return None
    return [line.strip() for line in doc.body.split("\n") if line.strip()]


def build_naive(roots: list[Path], index: Path, full: bool) -> dict:
    """One Whoosh document per non-empty line, analysed by jieba's ChineseAnalyzer; default writer."""
    _jieba, ChineseAnalyzer = _import_jieba()  # noqa: N806 - a class
    from whoosh import index as whoosh_index
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.query import Prefix

    manifest = index / "bench-files.json"
    started = time.perf_counter()
    if full or not manifest.is_file():
        shutil.rmtree(index, ignore_errors=True)
        index.mkdir(parents=True)
        schema = Schema(id=ID(stored=True, unique=True), content=TEXT(stored=True, analyzer=ChineseAnalyzer()))
        ix = whoosh_index.create_in(str(index), schema)
        old: dict = {}
    else:
        ix = whoosh_index.open_dir(str(index))
        old = json.loads(manifest.read_text(encoding="utf-8"))
    files, todo, stale = _scan(roots, old)
    writer = ix.writer()
    for key in stale:
        writer.delete_by_query(Prefix("id", key + "#"))
    lines = errors = 0
    for key, path, root in todo:
        doc_lines = _lines_of(path, root)
        if doc_lines is None:
            errors += 1
            continue
        for n, line in enumerate(doc_lines):
            writer.add_document(id=f"{key}#{n}", content=line)
        lines += len(doc_lines)
    writer.commit()
    manifest.write_text(json.dumps(files), encoding="utf-8")
    seconds = time.perf_counter() - started
    total = ix.doc_count()
    ix.close()
    return {"seconds": seconds, "documents": len(files) - errors, "passages": total, "errors": errors,
            "indexed": len(todo)}


def open_naive(index: Path) -> Searcher:
    """Default ``QueryParser`` on ``content``, one searcher reused, ``hit.highlights("content")``."""
    _import_jieba()
    from whoosh import index as whoosh_index
    from whoosh.qparser import QueryParser

    ix = whoosh_index.open_dir(str(index))
    searcher = ix.searcher()
    parser = QueryParser("content", ix.schema)

    def run(q: str) -> list[tuple[str, str]]:
        results = searcher.search(parser.parse(q), limit=TOP_K)
        return [(hit["id"], hit.highlights("content")) for hit in results]

    return run


# --- fts5: SQLite FTS5 trigram over kb's passages --------------------------------------------

def sqlite_has_trigram() -> bool:
    return sqlite3.sqlite_version_info >= FTS5_MIN_SQLITE


FTS5_SCHEMA = """
CREATE VIRTUAL TABLE passages USING fts5(passage_id UNINDEXED, doc_id UNINDEXED, content, tokenize='trigram');
CREATE TABLE files(key TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, lo INTEGER, hi INTEGER);
"""


def build_fts5(roots: list[Path], index: Path, full: bool) -> dict:
    """kb's passages (load_document + chunk) into one FTS5 trigram table; one transaction; optimise."""
    from kb.chunk.chunker import chunk
    from kb.errors import LoadError
    from kb.load.loaders import load_document

    db = index / "fts5.db"
    started = time.perf_counter()
    if full or not db.is_file():
        shutil.rmtree(index, ignore_errors=True)
        index.mkdir(parents=True)
        con = sqlite3.connect(db)
        con.executescript(FTS5_SCHEMA)
    else:
        con = sqlite3.connect(db)
    old = {k: [s, m] for k, s, m in con.execute("SELECT key, size, mtime_ns FROM files")}
    ranges = {k: (lo, hi) for k, lo, hi in con.execute("SELECT key, lo, hi FROM files")}
    files, todo, stale = _scan(roots, old)
    errors = 0
    with con:
        for key in stale:
            lo, hi = ranges[key]
            con.execute("DELETE FROM passages WHERE rowid BETWEEN ? AND ?", (lo, hi))
            con.execute("DELETE FROM files WHERE key = ?", (key,))
        next_id = (con.execute("SELECT coalesce(max(hi), 0) FROM files").fetchone()[0] or 0) + 1
        for key, path, root in todo:
            try:
                passages = chunk(load_document(path, root)).passages
            except LoadError:
                errors += 1
                continue
            rows = [(next_id + i, p.passage_id, p.doc_id, p.text) for i, p in enumerate(passages)]
            con.executemany("INSERT INTO passages(rowid, passage_id, doc_id, content) VALUES (?, ?, ?, ?)", rows)
            size, mtime = files[key]
            con.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?)", (key, size, mtime, next_id,
                                                                     next_id + max(len(rows), 1) - 1))
            next_id += max(len(rows), 1)
        if full:
            con.execute("INSERT INTO passages(passages) VALUES ('optimize')")
    total = con.execute("SELECT count(*) FROM passages").fetchone()[0]
    con.close()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "documents": len(files) - errors, "passages": total, "errors": errors,
            "indexed": len(todo)}


@dataclass
class Clause:
    """Alternatives (``A OR B``) that must match, or must not (``-A``)."""

    alts: list[str]
    negated: bool = False


_QTOKEN = re.compile(r'-?"[^"]*"?|\S+')


def parse_simple_query(q: str) -> list[Clause]:
    """Split on spaces into ANDed clauses; ``"…"`` keeps a phrase, ``-x`` excludes, ``OR`` joins."""
    clauses: list[Clause] = []
    pending_or = False
    for tok in _QTOKEN.findall(q):
        if tok == "OR" and clauses and not clauses[-1].negated:
            pending_or = True
            continue
        negated = tok.startswith("-") and len(tok) > 1
        term = (tok[1:] if negated else tok).strip('"').strip()
        if not term:
            continue
        if pending_or and not negated:
            clauses[-1].alts.append(term)
        else:
            clauses.append(Clause([term], negated))
        pending_or = False
    return clauses


def _fts_quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def fts5_sql(q: str) -> tuple[str, list[str], bool, list[str]] | None:
    """(SQL, params, ranked by MATCH, terms to mark) for a query, or ``None`` when it has no term.

    Terms of three characters or more go into one MATCH expression (ranked by bm25, ``snippet()``);
    shorter ones cannot use trigrams and become ``LIKE '%term%'`` conditions.
    """
    clauses = parse_simple_query(q)
    match_parts, negated_match, where, params = [], [], [], []
    marks = [t for c in clauses if not c.negated for t in c.alts]
    for c in clauses:
        if all(len(t) >= 3 for t in c.alts):
            expr = " OR ".join(_fts_quote(t) for t in c.alts)
            expr = f"({expr})" if len(c.alts) > 1 else expr
            (negated_match if c.negated else match_parts).append(expr)
            continue
        conds = []
        for t in c.alts:
            if len(t) >= 3:
                conds.append("rowid IN (SELECT rowid FROM passages WHERE passages MATCH ?)")
                params.append(_fts_quote(t))
            else:
                # the unary + keeps FTS5 from planning the LIKE through its trigram index, where a
                # pattern of under three characters matches nothing (SQLite 3.40); this is a row scan
                conds.append("+content LIKE ?")
                params.append(f"%{t}%")
        cond = "(" + " OR ".join(conds) + ")"
        where.append(f"NOT {cond}" if c.negated else cond)
    if not match_parts and not where:
        return None
    ranked = bool(match_parts)
    if ranked:
        expr = " AND ".join(match_parts) + "".join(f" NOT {n}" for n in negated_match)
        where.insert(0, "passages MATCH ?")
        params.insert(0, expr)
        cols = "passage_id, snippet(passages, 2, '<mark>', '</mark>', '…', 64)"
        order = " ORDER BY rank"
    else:
        for n in negated_match:
            where.append("NOT (rowid IN (SELECT rowid FROM passages WHERE passages MATCH ?))")
            params.append(n)
        cols, order = "passage_id, content", ""
    sql = f"SELECT {cols} FROM passages WHERE {' AND '.join(where)}{order} LIMIT {TOP_K}"
    return sql, params, ranked, marks


def like_snippet(text: str, terms: list[str], radius: int = 64) -> str:
    """A window around the first matched term, escaped and marked (``snippet()`` needs a MATCH)."""
    first = min((i for i in (text.find(t) for t in terms) if i >= 0), default=0)
    start = max(0, first - radius)
    window = html.escape(text[start:first + radius * 2], quote=False)
    for t in sorted(set(terms), key=len, reverse=True):
        window = window.replace(html.escape(t, quote=False), f"<mark>{html.escape(t, quote=False)}</mark>")
    return ("…" if start else "") + window


def open_fts5(index: Path) -> Searcher:
    """One read-only connection reused; MATCH + ``snippet()``, LIKE + a Python window for short terms."""
    con = sqlite3.connect(f"file:{index / 'fts5.db'}?mode=ro", uri=True)

    def run(q: str) -> list[tuple[str, str]]:
        plan = fts5_sql(q)
        if plan is None:
            return []
        sql, params, ranked, marks = plan
        rows = con.execute(sql, params).fetchall()
        if ranked:
            return [(pid, snip) for pid, snip in rows]
        return [(pid, like_snippet(text, marks)) for pid, text in rows]

    return run


BUILDERS: dict[str, Callable[[list[Path], Path, bool], dict]] = {
    "kb": build_kb, "naive": build_naive, "fts5": build_fts5}
OPENERS: dict[str, Callable[[Path], Searcher]] = {"kb": open_kb, "naive": open_naive, "fts5": open_fts5}
