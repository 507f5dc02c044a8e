"""Whoosh is the index of record: kb's analyzer is a Whoosh analyzer, the built version opens with
stock Whoosh and its own queries find the right passages, and they are the passages the numpy
accelerator (kb.engine.textindex) finds for the same words."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from whoosh.analysis import Filter, Tokenizer
from whoosh.index import open_dir
from whoosh.qparser import QueryParser
from whoosh.query import And, Phrase, Term

from kb.text import analysis
from kb.text.analyzer import ChineseAnalyzer, ChineseTokenizer, FoldFilter
from kb.query.version import _Version
from kb.search import KnowledgeBase
from kb.store.manifest import current_version

from conftest import CORPUS, MISSION_DOC, MISSION_PATH, REPO, SHARED

README = REPO / "README.md"


def _tokens(text: str) -> list[tuple[str, int, int, int]]:
    return [(t.text, t.pos, t.startchar, t.endchar)
            for t in ChineseAnalyzer()(text, positions=True, chars=True)]


def _real_texts() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))]
    reports = SHARED / "corpora" / "reports"
    if reports.is_dir():
        texts += [p.read_text(encoding="utf-8", errors="replace") for p in sorted(reports.rglob("*.txt"))[:40]]
    return texts


def test_the_analyzer_is_composed_the_whoosh_way() -> None:
    ana = ChineseAnalyzer()
    assert [type(item) for item in ana.items] == [ChineseTokenizer, FoldFilter]
    assert isinstance(ana.items[0], Tokenizer) and isinstance(ana.items[1], Filter)
    assert ana == ChineseTokenizer() | FoldFilter()


def test_the_analyzer_gives_kbs_own_words_on_real_text() -> None:
    """The same words, positions and offsets as kb.text.analysis.words of the folded text; offsets point
    into the text as given (one character folds to one character)."""
    for text in _real_texts():
        expected = [(t.text, t.pos, t.start, t.end) for t in analysis.words(analysis.fold(text), folded=True)]
        got = _tokens(text)
        assert got == expected
        folded = analysis.fold(text)
        assert all(folded[s:e] == w or " " in text[s:e] or "\u3000" in text[s:e] for w, _p, s, e in got[:500])


def test_traditional_text_gives_the_simplified_tokens() -> None:
    assert [t[0] for t in _tokens("全年完成綜合交通投資43.68億元")] == \
        [t[0] for t in _tokens("全年完成综合交通投资43.68亿元")] == ["全年", "完成", "综合", "交通", "投资", "43.68", "亿元"]
    assert [t.text for t in ChineseAnalyzer()("二〇二三年")] == ["2023", "年"]


def test_the_analyzer_survives_whooshs_pickling_of_the_schema() -> None:
    import pickle

    ana = pickle.loads(pickle.dumps(ChineseAnalyzer()))
    assert [t.text for t in ana("發展")] == ["发展"]


@pytest.fixture(scope="module")
def whoosh_ix(built_index: Path):
    version = current_version(built_index)
    ix = open_dir(str(version))
    yield ix
    ix.close()


def test_the_built_version_opens_with_stock_whoosh(whoosh_ix, built_index: Path) -> None:
    schema = whoosh_ix.schema
    assert {"content", "heading"} <= set(schema.names())
    # indexed with positions; its text stored once, by kb's text index, not in Whoosh as well
    assert schema["content"].format.supports("positions") and not schema["content"].stored
    opened = _Version.open(current_version(built_index))
    assert whoosh_ix.doc_count() == int(opened.text.live.sum())


def test_whooshs_query_parser_finds_the_passage_in_simplified_and_traditional(whoosh_ix, built_index: Path) -> None:
    kb = KnowledgeBase(built_index)
    text = lambda hit: kb.passage(hit["passage_id"])["text"]  # noqa: E731  (a Whoosh hit's text, by its id)
    with whoosh_ix.searcher() as searcher:
        parser = QueryParser("content", whoosh_ix.schema)
        found = {}
        for q in ("综合交通投资 43.68", "綜合交通投資 43.68", '"综合交通投资43.68亿元"', '"綜合交通投資43.68億元"'):
            hits = searcher.search(parser.parse(q), limit=None)
            found[q] = {h["passage_id"] for h in hits}
            assert found[q], q
            assert all(h["passage_id"].startswith(MISSION_DOC) for h in hits), q
            assert all("综合交通投资43.68亿元" in text(h) for h in hits), q
        assert len(set(map(frozenset, found.values()))) == 1
        assert isinstance(parser.parse('"綜合交通投資"'), Phrase)
        phrase = searcher.search(Phrase("content", ["综合", "交通", "投资"]), limit=None)
        assert phrase and all("综合交通投资" in text(h) for h in phrase)
        # the words apart (not contiguous) are And-found but not Phrase-found
        both = searcher.search(And([Term("content", "交通"), Term("content", "投资")]), limit=None)
        assert len(both) > len(searcher.search(Phrase("content", ["交通", "投资"]), limit=None))
        heading = searcher.search(QueryParser("heading", whoosh_ix.schema).parse("全域快速路网"), limit=None)
        assert heading and all(h["passage_id"].startswith(MISSION_DOC) for h in heading)


def _readme_snippet() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Searching the index with plain Whoosh", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_snippet_runs_against_a_built_index(built_index: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "index").symlink_to(built_index)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_readme_snippet(), "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(MISSION_DOC) and "综合交通投资" in lines[0]
    assert re.fullmatch(r"[1-9]\d* passages hold the phrase", lines[-2])
    assert re.fullmatch(r"[1-9]\d* hits on titles and headings", lines[-1])


def _eval_queries() -> list[str]:
    files = sorted((REPO / "tests").glob("eval-*.tsv")) + [SHARED / "eval" / "seed-queries.tsv"]
    queries = []
    for path in files:
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            q = line.split("\t", 1)[0].strip()
            if q and not q.startswith("#"):
                queries.append(q)
    return list(dict.fromkeys(queries))


def test_whooshs_and_of_terms_equals_the_accelerators_whole_word_matches(whoosh_ix, built_index: Path) -> None:
    """For every eval query: the passages holding all its words, by Whoosh's postings and by the
    numpy accelerator's ``words`` postings, are the same passages."""
    queries = _eval_queries()
    assert len(queries) > 200
    opened = _Version.open(current_version(built_index))
    ana = ChineseAnalyzer()
    compared = nonempty = 0
    with whoosh_ix.searcher() as searcher:
        for q in queries:
            words = list(dict.fromkeys(t.text for t in ana(q)))
            if not words:
                continue
            by_whoosh = {searcher.stored_fields(d)["passage_id"]
                         for d in And([Term("content", w) for w in words]).docs(searcher)}
            by_numpy = {opened.stored(int(r))["passage_id"] for r in opened.text.word_rows(words)}
            assert by_whoosh == by_numpy, q
            compared += 1
            nonempty += bool(by_whoosh)
    # (eval-archive.tsv asks about lawtext-gov, which the session index does not hold: many find nothing)
    assert compared == len(queries) and nonempty >= 100
