"""The corpus folder is untrusted input: symlinks out of it, special files, hostile file names and depths.

Each test builds a tiny corpus in a temporary folder, runs the real ``kb build`` (a subprocess, so its
stderr is what a user reads), and checks that every good file went in, every bad one is named on a
line of its own, and nothing outside the corpus was read or served.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kb.errors import FileVanishedError, LoadError
from kb.build.indexer import build_index
from kb.store.manifest import read_manifest
from kb.load.files import doc_id_for, printable_path, read_corpus_file
from kb.search import KnowledgeBase

REPO = Path(__file__).resolve().parent.parent
GOOD = "某县2024年交通工作计划\n\n一、总体情况\n完成道路建设{word}任务。\n\n二、下一步工作\n继续推进公路工作。\n"
SECRET = "绝密外部词壹"


def run_build(corpus: Path, index_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "kb.cli", "build", "--workers", "1", "--index", str(index_dir),
                           "--corpus", str(corpus), *extra], capture_output=True, text=True, timeout=300, env=env)


def good(path: Path, word: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(GOOD.format(word=word), encoding="utf-8")


def test_symlink_to_a_file_outside_the_corpus_is_never_indexed_or_served(tmp_path: Path) -> None:
    outside, corpus, index_dir = tmp_path / "outside", tmp_path / "corpus", tmp_path / "index"
    good(outside / "secret.txt", SECRET)
    good(corpus / "plan.txt", "独特词甲")
    good(corpus / "sub" / "inner.txt", "独特词乙")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    (corpus / "secret.txt").symlink_to(outside / "secret.txt")
    (corpus / "outdir").symlink_to(outside, target_is_directory=True)
    (corpus / "alias.txt").symlink_to(corpus / "sub" / "inner.txt")  # inside the corpus: allowed
    done = run_build(corpus, index_dir)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    for name in ("passwd.txt", "secret.txt", "outdir"):
        assert f"error: {corpus.name}/{name}: symbolic link to a " in done.stderr.replace(str(tmp_path) + "/", "")
        assert "outside the corpus folder; refused" in done.stderr
    kb = KnowledgeBase(index_dir)
    assert not kb.search(SECRET).hits and not kb.search("root").hits and not kb.search("nologin").hits
    assert {d["doc_id"] for d in kb.docs()} == {"plan", "sub--inner", "alias"}
    assert kb.search("独特词乙").hits

    from web import create_app

    client = create_app({"KB_INDEX": str(index_dir), "TESTING": True}).test_client()
    for doc_id in ("passwd", "secret", "outdir--secret"):
        assert client.get(f"/doc/{doc_id}").status_code == 404
    page = client.get("/search", query_string={"q": SECRET}).get_data(as_text=True)
    assert SECRET + "任务" not in page and "<mark>" + SECRET not in page  # the query is echoed, no passage


def test_outside_links_are_read_only_with_the_option_and_loops_and_dangling_links_still_skipped(
        tmp_path: Path) -> None:
    outside, corpus, index_dir = tmp_path / "outside", tmp_path / "corpus", tmp_path / "index"
    good(outside / "secret.txt", SECRET)
    good(outside / "folder" / "deeper.txt", "外部词贰")
    (outside / "folder" / "up").symlink_to(outside, target_is_directory=True)  # a loop, once walked in
    good(corpus / "plan.txt", "独特词甲")
    (corpus / "secret.txt").symlink_to(outside / "secret.txt")
    (corpus / "outdir").symlink_to(outside / "folder", target_is_directory=True)
    (corpus / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    (corpus / "loop.txt").symlink_to(corpus / "loop.txt")

    def messages(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
        lines = [ln.replace(str(tmp_path) + "/", "") for ln in done.stderr.splitlines() if ln.startswith("error: ")]
        return {ln.split(": ")[1].rsplit("/", 1)[-1]: ln.split(": ", 2)[2] for ln in lines}

    refused = run_build(corpus, index_dir)  # by default: refused, each with a message
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    said = messages(refused)
    assert "outside the corpus folder; refused" in said["secret.txt"] and "refused" in said["outdir"]
    assert "dangling" in said["dangling.txt"] and "loop" in said["loop.txt"]
    kb = KnowledgeBase(index_dir)
    assert not kb.search(SECRET).hits and not kb.search("外部词贰").hits

    followed = run_build(corpus, index_dir, "--follow-outside-links")
    assert followed.returncode == 1 and "Traceback" not in followed.stderr, followed.stderr
    said = messages(followed)
    assert set(said) == {"dangling.txt", "loop.txt", "up"}, said  # only the loops and the dangling link
    assert "dangling" in said["dangling.txt"] and "loop" in said["loop.txt"] and "loop" in said["up"]
    kb = KnowledgeBase(index_dir)
    assert [h.doc_id for h in kb.search(SECRET).hits] == ["secret"]
    assert [h.doc_id for h in kb.search("外部词贰").hits] == ["outdir--deeper"]
    assert kb.search("独特词甲").hits

    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONIOENCODING="utf-8", KB_FOLLOW_OUTSIDE_LINKS="1")
    again = subprocess.run([sys.executable, "-m", "kb.cli", "build", "--full", "--workers", "1", "--index",
                            str(index_dir), "--corpus", str(corpus)], capture_output=True, text=True, env=env)
    assert set(messages(again)) == {"dangling.txt", "loop.txt", "up"}, again.stderr
    assert KnowledgeBase(index_dir).search(SECRET).hits

    assert run_build(corpus, index_dir).returncode == 1  # without it again: the outside files go out
    kb = KnowledgeBase(index_dir)
    assert not kb.search(SECRET).hits and not kb.search("外部词贰").hits and kb.search("独特词甲").hits


def test_a_symlink_swapped_to_outside_after_the_walk_is_still_refused(tmp_path: Path) -> None:
    """The check is made on the file actually opened, not on the path the walk saw."""
    outside, corpus = tmp_path / "outside", tmp_path / "corpus"
    good(outside / "secret.txt", SECRET)
    good(corpus / "plan.txt", "独特词甲")
    link = corpus / "link.txt"
    link.symlink_to(corpus / "plan.txt")
    assert SECRET not in read_corpus_file(link, [corpus]).data.decode()
    link.unlink()
    link.symlink_to(outside / "secret.txt")
    with pytest.raises(LoadError, match="outside the corpus"):
        read_corpus_file(link, [corpus])


def test_special_files_are_skipped_without_blocking(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    good(corpus / "plan.txt", "独特词甲")
    os.mkfifo(corpus / "fifo.txt")  # opening a FIFO for reading blocks until a writer comes: never
    with pytest.raises(LoadError, match="not a regular file"):
        read_corpus_file(corpus / "fifo.txt")
    with pytest.raises(FileVanishedError):
        read_corpus_file(corpus / "gone.txt")
    report = build_index([corpus], tmp_path / "index", workers=1)
    assert [(e.path.rsplit("/", 1)[-1], "FIFO" in e.reason) for e in report.errors] == [("fifo.txt", True)]
    assert report.documents == 1


def hostile_corpus(corpus: Path) -> dict[str, str]:
    """Good files under hostile names and depths, and bad entries beside them → {unique word: file}."""
    words = {}
    corpus.mkdir(parents=True)
    good(corpus / "mission.txt", "独特词甲")
    words["独特词甲"] = "mission.txt"
    long_name = "a" * 251 + ".txt"  # 255 characters, the longest name Linux allows
    good(corpus / long_name, "独特词乙")
    words["独特词乙"] = long_name
    non_utf8 = os.fsdecode(b"\xff\xfe-gbk-\xd6\xd0\xce\xc4.txt")
    good(corpus / non_utf8, "独特词丙")
    words["独特词丙"] = non_utf8
    deep = corpus.joinpath(*["d"] * 90)
    good(deep / "deep.txt", "独特词丁")
    words["独特词丁"] = "deep.txt"
    forged = "x.txt\nerror: FORGED-PATH.txt: FORGED LINE\n.txt"
    good(corpus / forged, "独特词戊")
    words["独特词戊"] = forged
    bidi = "\u202eexe.txt"
    good(corpus / bidi, "独特词己")
    words["独特词己"] = bidi
    escape = "\x1b[31mred\x1b[0m.txt"
    good(corpus / escape, "独特词庚")
    words["独特词庚"] = escape
    # bad entries: each named, none costs another file
    (corpus / "loop.txt").symlink_to("loop.txt")
    (corpus / "dangling.txt").symlink_to("nothere.txt")
    os.mkfifo(corpus / "fifo.txt")
    (corpus / "empty\nerror: FORGED-EMPTY.txt: FORGED.txt").write_bytes(b"")
    return words


def test_every_good_file_goes_in_beside_every_hostile_name(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    words = hostile_corpus(corpus)
    done = run_build(corpus, index_dir)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert not [ln for ln in lines if "FORGED" in ln and not ln.startswith("error: ")], done.stderr
    assert not [ln for ln in lines if ln.startswith("error: FORGED")], "a file name wrote a log line of its own"
    assert not any("\x1b" in ln or "\u202e" in ln for ln in lines)
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 4, done.stderr  # loop, dangling, FIFO, empty
    for part in ("loop", "dangling", "FIFO", "empty file"):
        assert any(part in ln for ln in errors), (part, errors)
    kb = KnowledgeBase(index_dir)
    assert len(kb.docs()) == len(words)
    for word, name in words.items():
        hits = kb.search(word).hits
        assert hits, f"{word} ({name!r}) was lost"
        doc = kb.document(hits[0].doc_id)["document"]
        assert len(doc["doc_id"]) <= 120 and "/" not in doc["doc_id"]
        assert doc["path"].isprintable() and "\u202e" not in doc["path"], doc["path"]
    # nothing is stuck: the next build is up to date, and still names the bad files
    again = run_build(corpus, index_dir)
    assert "index up to date" in again.stderr and "Traceback" not in again.stderr, again.stderr
    assert read_manifest(next(index_dir.glob("v-*")))["docs"]


def test_a_file_that_failed_before_and_now_reads_is_counted_as_added(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    good(corpus / "plan.txt", "独特词甲")
    (corpus / "later.txt").write_bytes(b"")
    first = build_index([corpus], index_dir, workers=1)
    assert len(first.failures) == 1 and first.documents == 1
    assert build_index([corpus], index_dir, workers=1).up_to_date  # failed and untouched: not retried
    good(corpus / "later.txt", "独特词乙")
    second = build_index([corpus], index_dir, workers=1)
    assert (second.added, second.changed, second.documents, second.failures) == (1, 0, 2, [])
    assert "added 1" in second.summary()


def test_doc_ids_and_printable_paths_are_safe() -> None:
    root = Path("c")
    assert doc_id_for(root / ("a" * 251 + ".txt"), root).startswith("d-")
    assert doc_id_for(root / os.fsdecode(b"\xff.txt"), root).startswith("d-")
    assert doc_id_for(root.joinpath(*["d"] * 90, "x.txt"), root).startswith("d-")
    assert doc_id_for(root / "reports" / "gwr-2023.txt", root) == "reports--gwr-2023"
    shown = printable_path("a\nb\r\x1b\u202e\u2066" + os.fsdecode(b"\xff"))
    assert shown == "a\\nb\\r\\x1b\\u202e\\u2066\\xff" and shown.isprintable()
    shown.encode("utf-8")


def unpunctuated(path: Path, mb: float) -> None:
    """One line of real words in random order, no punctuation, no line break: ``mb`` MB."""
    import random
    import re

    text = re.sub(r"[\W\d_]", "", (REPO / "corpus" / "wenling-transport-bureau-2023-work-summary.txt")
                  .read_text(encoding="utf-8"))
    rng, out, size, n = random.Random(7), [], 0, int(mb * 2**20 / 3)
    while size < n:
        i, k = rng.randrange(len(text) - 6), rng.randint(2, 6)
        out.append(text[i:i + k])
        size += k
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(out)[:n], encoding="utf-8")


def test_a_periodic_unpunctuated_line_is_linear_not_quadratic() -> None:
    """The repeated-title check (``(.{4,}?)\\s*\\1``) took minutes on a 20 MB line that repeats itself."""
    import time

    from kb.load.chrome import _clean_title, _drop_repeated_title

    line = "交通建设发展" * 200_000  # 1.2 M characters; quadratic: hours
    started = time.perf_counter()
    assert _clean_title("2024年广州市政府工作报告2024年广州市政府工作报告") == "2024年广州市政府工作报告"
    assert _drop_repeated_title([line], "交通建设发展") == [line]
    assert _clean_title(line) == line
    assert time.perf_counter() - started < 5


def test_a_20_mb_unpunctuated_line_builds_and_is_searchable(tmp_path: Path) -> None:
    """The issue's case itself: 20 MB on one line, no punctuation (~16 s on one core, as 20 MB of prose; 216 s once)."""
    corpus = tmp_path / "corpus"
    unpunctuated(corpus / "one-line.txt", 20)
    good(corpus / "plan.txt", "独特词甲")
    report = build_index([corpus], tmp_path / "index", workers=1)
    assert report.documents == 2 and not report.errors
    kb = KnowledgeBase(tmp_path / "index")
    assert kb.search("独特词甲").hits
    hits = kb.search("交通").hits
    assert hits and all(len(h.text) <= 800 for h in hits)  # cut into passages, not one 20 MB hit


def test_an_unpunctuated_line_is_cut_into_bounded_passages_in_proportion_to_its_size(tmp_path: Path) -> None:
    """Linear, whatever the size: twice the line, twice the passages, none over the chunker's hard
    limit, and every word of the line indexed (how fast 20 MB builds is measured, not asserted: ~16 s
    on one core; see the README)."""
    from kb.chunk.passages import HARD_MAX
    from kb.chunk.chunker import chunk
    from kb.load.loaders import load_document

    counts = []
    for mb in (0.5, 1):
        unpunctuated(tmp_path / f"{mb}" / "line.txt", mb)
        doc = load_document(tmp_path / f"{mb}" / "line.txt", tmp_path / f"{mb}")
        passages = chunk(doc).passages
        assert max(p.end - p.start for p in passages) <= HARD_MAX
        assert "".join(doc.body[p.start:p.end] for p in passages) == doc.body  # nothing dropped
        counts.append(len(passages))
    assert 1.9 <= counts[1] / counts[0] <= 2.1, counts


def test_an_unpunctuated_line_is_cut_by_the_dictionary_without_coining_words(tmp_path: Path) -> None:
    """jieba's HMM coins a word every few characters of random text (~50,000 distinct per MB, each a
    Whoosh term written in Python); a 300-letter run without punctuation is cut by the dictionary
    alone, so its distinct words are the dictionary's few thousand. Prose keeps the HMM (杭研)."""
    from kb.chunk.chunker import chunk
    from kb.load.loaders import load_document
    from kb.text import analysis

    unpunctuated(tmp_path / "line.txt", 1)
    doc = load_document(tmp_path / "line.txt", tmp_path)
    body = analysis.fold(doc.body)
    distinct = {w for p in chunk(doc).passages for w in analysis.word_texts(body[p.start:p.end], folded=True)}
    assert len(distinct) < 15_000, len(distinct)
    assert "杭研" in analysis.word_texts("他来到了网易杭研大厦。")


@pytest.mark.parametrize("unit", ["www.a.cn", "www.a.cn来源", "上一页", "记者ab摄", "发布时间：", "1,234"])
def test_a_long_line_of_page_chrome_patterns_is_read_as_text_in_linear_time(tmp_path: Path, unit: str) -> None:
    """A page-chrome pattern run over a long line cost far more than linear time (``www.a.cn``
    repeated over 320 KB: 77 s); a line over 300 characters is text, never chrome."""
    from kb.load.loaders import load_document

    (tmp_path / "x.txt").write_text("某县交通工作报告\n" + unit * (2**20 // len(unit.encode())), encoding="utf-8")
    doc = load_document(tmp_path / "x.txt", tmp_path)
    assert unit * 100 in doc.body


def test_the_words_indexed_are_the_words_of_the_analyzer_over_real_passages() -> None:
    """``analysis.word_texts`` (what indexing uses, without a token object per word) gives exactly
    the texts of ``analysis.words``."""
    from kb.text import analysis
    from kb.chunk.chunker import chunk
    from kb.load.loaders import load_document

    for path in sorted((REPO / "corpus").glob("*.txt"))[:8]:
        doc = load_document(path, path.parent)
        body = analysis.fold(doc.body)
        for p in chunk(doc).passages:
            text = body[p.start:p.end]
            assert analysis.word_texts(text, folded=True) == [t.text for t in analysis.words(text, folded=True)]
    for text in ("原 油 1.37 亿吨，发 电 量", " 1,234.56 万元 3.2‰ ", "G228治超站、S1线、2024-06-07", "　"):
        assert analysis.word_texts(text) == [t.text for t in analysis.words(text)]


def test_a_file_over_its_time_budget_is_named_and_the_others_go_in(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A file whose chunking never ends (here a chunker stuck on it: reading no file is slow enough
    any more to test this with a real one) is stopped at its budget."""
    import time

    import kb.build.workers

    corpus = tmp_path / "corpus"
    unpunctuated(corpus / "slow.txt", 0.1)
    good(corpus / "plan.txt", "独特词甲")
    build_index([corpus], tmp_path / "warm", workers=1)  # imports and dictionaries loaded, outside the budget
    real_chunk = kb.build.workers.chunk

    def stuck_on_slow(document):
        if document.doc_id == "slow":
            stop = time.monotonic() + 60  # bounded, should the budget fail to stop it
            while time.monotonic() < stop:
                pass
        return real_chunk(document)

    monkeypatch.setattr(kb.build.workers, "chunk", stuck_on_slow)
    monkeypatch.setenv("KB_FILE_TIME_BUDGET", "0.25")
    report = build_index([corpus], tmp_path / "index", workers=1)
    assert [(Path(e.path).name, "time budget" in e.reason) for e in report.errors] == [("slow.txt", True)]
    assert report.documents == 1 and KnowledgeBase(tmp_path / "index").search("独特词甲").hits


# --- a full disk, a read-only index folder ------------------------------------------------------------

@pytest.fixture
def small_tmpfs(tmp_path: Path):
    """A tmpfs made to measure (``mount(bytes)``): room for one version of the test's index, not for a
    second beside it. Unmounted at the end."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): a full disk is not simulated instead")

    def mounted(size: int) -> Path:
        if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size // 1024}k", "tmpfs", str(mount)],
                          capture_output=True).returncode != 0:
            pytest.skip("cannot mount a tmpfs here: a full disk is not simulated instead")
        return mount
    try:
        yield mounted
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_a_full_disk_and_a_read_only_index_keep_the_served_version(tmp_path: Path, small_tmpfs) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "mission.txt").write_bytes((REPO / "corpus" / "wenling-transport-bureau-2023-work-summary.txt")
                                         .read_bytes())
    unpunctuated(corpus / "other.txt", 0.1)
    probe = tmp_path / "probe"  # how much one version takes: the tmpfs holds it and half as much again
    assert run_build(corpus, probe).returncode == 0
    mount = small_tmpfs(_tree_bytes(probe) * 3 // 2)
    index_dir = mount / "index"
    assert run_build(corpus, index_dir).returncode == 0
    served = (index_dir / "CURRENT").read_text()
    before = [h.passage_id for h in KnowledgeBase(index_dir).search("交通").hits]
    for extra in (("--full",), ("--full", "--workers", "2")):
        done = subprocess.run([sys.executable, "-m", "kb.cli", "build", *extra, "--index", str(index_dir),
                               "--corpus", str(corpus)], capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, PYTHONPATH=str(REPO), PYTHONIOENCODING="utf-8"))
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert "no space left" in done.stderr and "the index being served is unchanged" in done.stderr, done.stderr
        assert (index_dir / "CURRENT").read_text() == served
        assert not list(index_dir.glob("tmp-*")) and not list(index_dir.glob("CURRENT.*"))
        assert [h.passage_id for h in KnowledgeBase(index_dir).search("交通").hits] == before
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
    good(corpus / "new.txt", "独特词甲")
    done = run_build(corpus, index_dir)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "cannot be written (Read-only file system)" in done.stderr, done.stderr
    assert [h.passage_id for h in KnowledgeBase(index_dir).search("交通").hits] == before


def test_control_characters_past_the_sampled_start_never_reach_a_page(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    filler = "二、下一步工作\n" + "继续推进公路建设工作。\n" * 4000  # > 64 KiB before the NUL
    (corpus / "nul.txt").write_text(GOOD.format(word="独特词甲") + filler + "末尾\x00独特词乙\x1b[31m结束。\n",
                                    encoding="utf-8")
    build_index([corpus], tmp_path / "index", workers=1)
    kb = KnowledgeBase(tmp_path / "index")
    body = kb.document("nul")["body"]
    assert "独特词乙" in body and "\x00" not in body and "\x1b" not in body
    hit = kb.search("独特词乙").hits[0]
    assert "\x00" not in hit.text and "\x00" not in hit.snippet_html


def test_the_summary_counts_as_added_or_changed_only_the_files_that_went_in(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    good(corpus / "a.txt", "独特词甲")
    good(corpus / "b.txt", "独特词乙")
    (corpus / "empty.txt").write_bytes(b"")
    first = build_index([corpus], index_dir, workers=1)
    assert (first.added, first.documents, len(first.failures)) == (2, 2, 1)
    assert "added 2," in first.summary() and "failed 1" in first.summary()
    (corpus / "b.txt").write_bytes(b"")  # changed, and now failing: its old version leaves the index
    second = build_index([corpus], index_dir, workers=1)
    assert (second.added, second.changed, second.deleted, second.documents) == (0, 0, 1, 1)
