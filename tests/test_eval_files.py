"""The evaluation query files stay usable: they parse, they are big enough, and (for the mixed-corpus,
typed-query and archive files) every expected substring still occurs somewhere in the corpus, so a file
cannot silently rot when the corpus or the folding changes."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from kb.text.analysis import fold
from kb.evaluate import parse_eval_lines
from kb.load.decode import decode

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEED_FILE = SHARED / "eval" / "seed-queries.tsv"
MIXED_FILE = ROOT / "tests" / "eval-mixed.tsv"
TYPED_FILE = ROOT / "tests" / "eval-typed.tsv"  # staff-typed queries over the mixed corpus
ARCHIVE_FILE = ROOT / "tests" / "eval-archive.tsv"
MIXED_CORPUS = [ROOT / "corpus", SHARED / "corpora" / "reports", SHARED / "corpora" / "gbk"]
ARCHIVE_CORPUS = [SHARED / "corpora" / "lawtext-gov", ROOT / "corpus"]
MIN_QUERIES = 40
MIN_MIXED_QUERIES = 60
MIN_QUERIES_BY_FILE = {MIXED_FILE: MIN_MIXED_QUERIES, TYPED_FILE: 30, ARCHIVE_FILE: 80}
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")


def _eval_files() -> list[Path]:
    files = sorted((ROOT / "tests").glob("*.tsv"))
    if SEED_FILE.is_file():
        files.append(SEED_FILE)
    return files


def _cases(path: Path):
    return parse_eval_lines(path.read_text(encoding="utf-8").splitlines())


def test_the_mixed_file_is_among_the_eval_files():
    assert MIXED_FILE in _eval_files()


def test_the_typed_and_archive_files_are_among_the_eval_files():
    assert {TYPED_FILE, ARCHIVE_FILE} <= set(_eval_files())


@pytest.mark.parametrize("path", _eval_files(), ids=lambda p: p.name)
def test_eval_file_parses_and_is_big_enough(path: Path):
    cases = _cases(path)
    minimum = MIN_QUERIES_BY_FILE.get(path, MIN_QUERIES)
    assert len(cases) >= minimum, f"{path.name}: {len(cases)} queries, want at least {minimum}"
    for case in cases:
        assert case.query and case.expected, f"{path.name} line {case.line}: empty query or expected"
        assert all(e.strip() == e and e for e in case.expected), f"{path.name} line {case.line}: blank alternative"


@pytest.mark.parametrize("path", _eval_files(), ids=lambda p: p.name)
def test_eval_file_has_no_duplicate_queries(path: Path):
    queries = [c.query for c in _cases(path)]
    duplicates = sorted({q for q in queries if queries.count(q) > 1})
    assert not duplicates, f"{path.name}: repeated queries {duplicates}"


@lru_cache(maxsize=1)
def _folded_corpus() -> tuple[tuple[str, str], ...]:
    """(file name, folded text) for every document of the mixed corpus; GBK files decode as GB18030."""
    docs = []
    for folder in MIXED_CORPUS:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix.lower() in TEXT_SUFFIXES:
                docs.append((path.name, fold(decode(path.read_bytes(), path))))
    return tuple(docs)


def _missing_in_mixed_corpus(path: Path) -> list[str]:
    missing_dirs = [str(d) for d in MIXED_CORPUS if not d.is_dir()]
    if missing_dirs:
        pytest.skip(f"mixed corpus not available: {', '.join(missing_dirs)}")
    docs = _folded_corpus()
    assert len(docs) >= 100, "the mixed corpus looks incomplete"
    missing = []
    for case in _cases(path):
        for expected in case.expected:
            wanted = fold(expected)
            if not any(wanted in text for _, text in docs):
                missing.append(f"line {case.line}: {expected!r} (query {case.query!r})")
    return missing


def test_every_expected_substring_of_the_mixed_file_occurs_in_the_corpus():
    missing = _missing_in_mixed_corpus(MIXED_FILE)
    assert not missing, "expected substrings found in no corpus file:\n" + "\n".join(missing)


def test_every_expected_substring_of_the_typed_file_occurs_in_the_mixed_corpus():
    missing = _missing_in_mixed_corpus(TYPED_FILE)
    assert not missing, "expected substrings found in no corpus file:\n" + "\n".join(missing)


def test_every_expected_substring_of_the_archive_file_occurs_in_the_archive():
    """The archive (lawtext-gov, 146 MB, plus corpus/) is too big to keep folded in memory. Most
    expected substrings are written as the document writes them, so a first walk looks for them as
    they are in the decoded text; only the ones left are looked for in the folded text (Traditional,
    full-width, case), each file folded once; each walk stops when none are left."""
    missing_dirs = [str(d) for d in ARCHIVE_CORPUS if not d.is_dir()]
    if missing_dirs:
        pytest.skip(f"archive corpus not available: {', '.join(missing_dirs)}")
    wanted: dict[str, list[str]] = {}  # folded substring -> where the file uses it
    as_written: dict[str, str] = {}  # the substring as the eval file writes it -> its folded form
    for case in _cases(ARCHIVE_FILE):
        for expected in case.expected:
            wanted.setdefault(fold(expected), []).append(f"line {case.line}: {expected!r} (query {case.query!r})")
            as_written[expected] = fold(expected)
    files = [p for folder in ARCHIVE_CORPUS for p in sorted(folder.rglob("*"))
             if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES]
    assert len(files) >= 2800, "the archive corpus looks incomplete"
    for prepare in (lambda text: text, fold):
        for path in files:
            if not wanted:
                break
            text = prepare(decode(path.read_bytes(), path))
            if prepare is fold:
                found = [w for w in wanted if w in text]
            else:
                found = {as_written[w] for w in as_written if as_written[w] in wanted and w in text}
            for folded in found:
                del wanted[folded]
    missing = [where for places in wanted.values() for where in places]
    assert not missing, "expected substrings found in no archive file:\n" + "\n".join(missing)


def test_the_gbk_reports_are_read_as_gb18030():
    gbk = SHARED / "corpora" / "gbk"
    if not gbk.is_dir():
        pytest.skip("GBK corpus not available")
    text = fold(decode((gbk / "gwr-national-2006-gbk.txt").read_bytes()))
    assert "18.23万亿元" in text


def test_the_baseline_scores_an_eval_file_like_kb_eval(tmp_path: Path):
    from kb.bench.baseline import build_baseline
    from kb.evaluate import evaluate

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("某局2023年工作总结\n\n一、交通建设\n全年完成综合交通投资43.68亿元，位居全市第一。\n",
                                  encoding="utf-8")
    (corpus / "b.txt").write_text("某市政府工作报告\n\n一、经济运行\n全市地区生产总值21860亿元，增长4.7%。\n",
                                  encoding="utf-8")
    queries = tmp_path / "q.tsv"
    queries.write_text("# two queries\n综合交通投资\t43.68亿元\n地区生产总值\t21860亿元\n", encoding="utf-8")
    search = build_baseline([corpus], tmp_path / "ix")
    try:
        assert search("综合交通投资").hits[0].text.startswith("全年完成综合交通投资")
        report = evaluate(queries, search)
    finally:
        search.close()
    assert (report.n, report.hit1) == (2, 1.0)
