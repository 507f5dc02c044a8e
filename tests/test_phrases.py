"""Exact phrases are exact: a quoted fragment that occurs in a passage always finds that passage, whatever
punctuation it holds and wherever it is cut (mid-word included).

The property runs over real passages of the session index: a fragment is cut at random from a stored
passage, quoted, and searched. The one precondition is that the fragment folds alone as it does in its
passage (:func:`kb.text.analysis.fold` writes ``一九八四年`` as ``1984年``; a cut inside such a year folds
differently), which is what "the same folding as analysis" means.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kb.text import analysis
from kb.engine.scoring import _Scorer
from kb.search import KnowledgeBase
from kb.query.understand import make_term


@pytest.fixture(scope="module")
def kb(built_index: Path) -> KnowledgeBase:
    return KnowledgeBase(built_index)


def _passage(kb: KnowledgeBase, row: int) -> tuple[str, str, str]:
    opened = kb._current()
    stored = opened.stored(row)
    return stored["passage_id"], stored["doc_id"], opened.passage_text(row, stored)


def test_the_fragment_from_the_issue_finds_its_passage(kb: KnowledgeBase) -> None:
    """``"…加大对科技创新、小微企"`` (punctuation inside, cut mid-word) found nothing; the whole words did."""
    cut = kb.search('"大对科技创新、小微企"', page_size=100)
    whole = kb.search('"加大对科技创新、小微企业"', page_size=100)
    assert whole.total and cut.total >= whole.total
    assert {h.passage_id for h in whole.hits} <= {h.passage_id for h in cut.hits}
    for hit in cut.hits:  # and only passages that hold it
        assert "大对科技创新、小微企" in analysis.fold(hit.text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_fragment_of_a_passage_finds_it(kb: KnowledgeBase, data: st.DataObject) -> None:
    index = kb._current().text
    row = data.draw(st.integers(0, index.size - 1), label="row")
    assume(bool(index.live[row]))
    passage_id, doc_id, text = _passage(kb, row)
    folded = analysis.fold(text)
    start = data.draw(st.integers(0, max(0, len(text) - 4)), label="start")
    end = data.draw(st.integers(min(len(text), start + 4), min(len(text), start + 40)), label="end")
    fragment = text[start:end]
    assume('"' not in fragment and "“" not in fragment and "”" not in fragment)  # it is put inside quotes
    assume(analysis.fold(fragment) == folded[start:end])
    assume(any(analysis.is_cjk(ch) for ch in fragment))  # all Latin or digits: matched as whole tokens
    assume("\n" not in fragment)  # a search box holds one line (a browser drops pasted line breaks)
    term = make_term(fragment, phrase=True)
    assume(term is not None and term.core)
    assert _Scorer(index).contains(term)[row], f"{fragment!r} not matched in its passage {passage_id}"
    result = kb.search(f'"{fragment}"', doc=doc_id, page_size=100)
    if result.total <= 100:
        assert passage_id in {h.passage_id for h in result.hits}, (fragment, passage_id, result.total)
    else:
        assert result.total


# --- one see-through rule: what search finds through, the snippet marks through --------------------

SEEN_THROUGH = {"line-break": "交通\n投资", "ideographic-space": "交通\u3000投资", "quoted": "“交通”投资"}


@pytest.fixture(scope="module")
def see_through_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """One document per way of writing 交通投资 apart, each sentence in one passage."""
    from kb.build.indexer import build_index

    root = tmp_path_factory.mktemp("see-through")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, written in SEEN_THROUGH.items():
        (corpus / f"{name}.txt").write_text(f"某县2023年工作总结（{name}）\n\n一、投资情况\n\n全年完成综合{written}43.68亿元，"
                                            "同比增长百分之十，为历年最高。\n", encoding="utf-8")
    build_index([corpus], root / "index", workers=1)
    return KnowledgeBase(root / "index")


@pytest.mark.parametrize("query", ["交通投资", '"交通投资"'])
def test_what_search_finds_through_the_snippet_marks(see_through_kb: KnowledgeBase, query: str) -> None:
    import re

    from kb.text.ngrams import see_through_core

    result = see_through_kb.search(query, page_size=20)
    by_doc = {h.doc_id: h for h in result.hits}
    assert set(by_doc) == set(SEEN_THROUGH) and not result.partial, (query, sorted(by_doc))
    for doc_id, hit in by_doc.items():
        marked = re.findall(r"<mark>(.*?)</mark>", hit.snippet_html, re.S)
        # one mark over the whole term, what stands between its characters included
        assert [see_through_core(m) for m in marked] == ["交通投资"], (doc_id, hit.snippet_html)
        assert len(marked[0]) > 4 and marked[0] in hit.text, (doc_id, hit.snippet_html)
