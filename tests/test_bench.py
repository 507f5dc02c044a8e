"""kb bench: a tiny end-to-end run (corpus/ + two GBK files, 5 queries) gives every figure for every system."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kb.bench import (ROWS, SYSTEMS, BenchReport, default_query_files, fts5_sql, like_snippet, load_queries,
                      parse_simple_query, percentile, read_query_file, run_bench, sqlite_has_trigram)

REPO = Path(__file__).resolve().parent.parent
GBK = REPO.parent / "shared" / "corpora" / "gbk"
QUERIES = ["交通", "投资", "公路建设投资", "经济 增长", '"重点工程大会战"']
EXPECTED = SYSTEMS if sqlite_has_trigram() else tuple(s for s in SYSTEMS if s != "fts5")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> BenchReport:
    base = tmp_path_factory.mktemp("bench")
    roots = [REPO / "corpus"]
    gbk_files = sorted(GBK.glob("*.txt"))[:2]
    if gbk_files:  # the shared corpora are absent on some machines: corpus/ alone still exercises everything
        (base / "gbk").mkdir()
        for f in gbk_files:
            shutil.copyfile(f, base / "gbk" / f.name)
        roots.append(base / "gbk")
    queries = base / "queries.txt"
    queries.write_text("\n".join(QUERIES) + "\n", encoding="utf-8")
    return run_bench(corpus_dirs=roots, query_files=[queries], out_dir=base / "out", repeat=1, cold_runs=1)


def test_every_row_has_a_positive_figure_for_every_system(report: BenchReport) -> None:
    assert tuple(report.systems) == EXPECTED
    for name, res in report.systems.items():
        for row in ROWS:
            assert getattr(res, row.key) > 0, (name, row.key)
        assert res.queries == len(QUERIES)
        assert res.queries_with_hits >= 1, name
        assert len(res.cold_runs_s) == 1
        assert res.status == "ok", res.notes


def test_table_has_every_row_and_column_with_ratios(report: BenchReport) -> None:
    lines = report.table().splitlines()
    header = lines[0].split()
    for name in EXPECTED:
        assert name in header
    for other in EXPECTED[1:]:
        assert f"kb vs {other}" in lines[0]
    for row in ROWS:
        assert any(line.startswith(row.label) for line in lines), row.label
        for other in EXPECTED[1:]:
            if row.better:
                assert report.ratio(row.key, other) > 0, (row.key, other)


def test_reports_are_written_as_json_and_markdown(report: BenchReport) -> None:
    data = json.loads(Path(report.json_path).read_text(encoding="utf-8"))
    assert set(data["systems"]) == set(EXPECTED)
    assert {"cpus", "python", "date", "sqlite"} <= set(data["machine"])
    assert data["corpus"]["files"] == len(list((REPO / "corpus").glob("*.txt"))) + (2 if GBK.is_dir() else 0)
    assert data["queries"]["count"] == len(QUERIES)
    markdown = Path(report.md_path).read_text(encoding="utf-8")
    assert "| metric | kb |" in markdown
    assert all(row.label in markdown for row in ROWS)
    assert (Path(report.json_path).parent / "latest.md").is_file()
    formats = {f["format"]: f for f in data["ingest_by_format"]}
    assert {"txt", "docx"} <= set(formats) and all(f["mb_per_s"] > 0 for f in formats.values())
    assert "## Ingestion by format" in markdown


def test_default_query_set_has_at_least_100_queries() -> None:
    queries, info = load_queries(default_query_files())
    assert len(queries) >= 100
    assert len(set(queries)) == len(queries)
    assert "发展" in queries and "建设" in queries
    assert info["sources"]["bench_queries.txt"] > 0


def test_tsv_query_files_give_their_first_column(tmp_path: Path) -> None:
    f = tmp_path / "e.tsv"
    f.write_text("# comment\n铁路投资\t8.38亿元\n\n公交 OR 出租车\tx|y\n", encoding="utf-8")
    assert read_query_file(f) == ["铁路投资", "公交 OR 出租车"]


def test_fts5_matches_long_terms_and_scans_for_short_ones() -> None:
    sql, params, ranked, marks = fts5_sql('公路建设投资 交通 -太龙 "重点工程"')
    assert ranked and "ORDER BY rank" in sql and "snippet(" in sql
    assert params[0] == '"公路建设投资" AND "重点工程"'
    assert "%交通%" in params and "NOT (" in sql
    assert marks == ["公路建设投资", "交通", "重点工程"]
    sql, params, ranked, _ = fts5_sql("经济 增长")
    assert not ranked and params == ["%经济%", "%增长%"]
    assert fts5_sql("   ") is None


def test_simple_query_parsing_handles_or_and_exclusion() -> None:
    clauses = parse_simple_query("公交 OR 出租车 -太龙 OR")
    assert [(c.alts, c.negated) for c in clauses] == [(["公交", "出租车"], False), (["太龙"], True), (["OR"], False)]


def test_like_snippet_marks_and_escapes() -> None:
    assert like_snippet("甲<b>乙</b>交通", ["交通"]) == "甲&lt;b&gt;乙&lt;/b&gt;<mark>交通</mark>"


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([], 95) == 0.0
    assert percentile([5.0], 99) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)


def test_ingestion_speed_per_format(tmp_path: Path) -> None:
    """``kb bench`` reads the corpus's documents again as .docx (python-docx) and .pdf/.doc (LibreOffice)
    and reports MB/s for each format, pages/s for the paged ones."""
    import shutil as _shutil

    from conftest import MISSION_PATH
    from kb.bench import format_samples, ingest_by_format

    text = tmp_path / "t" / MISSION_PATH.name
    text.parent.mkdir()
    _shutil.copy(MISSION_PATH, text)
    samples = format_samples([text], tmp_path / "formats")
    suffixes = {p.suffix for p in samples}
    assert ".docx" in suffixes
    if _shutil.which("soffice"):
        assert {".pdf", ".doc"} <= suffixes
    rows = {f.format: f for f in ingest_by_format([text] + samples)}
    assert set(rows) == {s.lstrip(".") for s in suffixes} | {"txt"}
    for row in rows.values():
        assert row.files == 1 and row.failed == 0 and row.mb > 0 and row.mb_per_s > 0, row
    if "pdf" in rows:
        assert rows["pdf"].pages >= 2 and rows["pdf"].pages_per_s > 0
    report = BenchReport(systems={}, machine={}, corpus={}, queries={}, config={}, formats=list(rows.values()))
    table = report.formats_table()
    assert table.splitlines()[1].split()[:3] == ["format", "files", "MB"]
    assert "docx" in table and "MB/s" in table
