"""What every part of ``kb bench`` shares: the systems measured, the fixed query and edit, the
repository folder, and the error a failed phase raises (:class:`kb.errors.BenchError`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kb.errors import BenchError

__all__ = ["BenchError", "COLD_QUERY", "EDIT_TEXT", "FTS5_MIN_SQLITE", "Log", "QUICK_SAMPLE", "REPO", "SYSTEMS",
           "Searcher", "TOP_K"]

REPO = Path(__file__).resolve().parent.parent.parent  # kb/bench/common.py → the repository
SYSTEMS = ("kb", "naive", "fts5")
QUICK_SAMPLE = 100  # lawtext-gov files in --quick: keeps `make bench` to a couple of minutes
COLD_QUERY = "高质量发展"
TOP_K = 10  # one result page, as the UI shows it
FTS5_MIN_SQLITE = (3, 34, 0)  # the trigram tokenizer
EDIT_TEXT = "\n\n基准测试追加段落：这一段由 kb bench 追加，用于测量只改动一个文件时的增量构建。\n"

Log = Callable[[str], None]
Searcher = Callable[[str], list[tuple[str, str]]]  # query → [(id, snippet html)]
