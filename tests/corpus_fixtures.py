"""A small corpus written for one test, built into an index: the setup the ranking tests share."""

from __future__ import annotations

from pathlib import Path


def built(tmp_path: Path, files: dict[str, str]) -> Path:
    """``files`` (path relative to the corpus → text, folders made as needed) written under
    ``tmp_path/corpus`` and built into ``tmp_path/index``, which is returned; the build reads every file."""
    from kb.build.indexer import build_index

    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    for name, text in files.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text, encoding="utf-8")
    index = tmp_path / "index"
    assert build_index([corpus], index, workers=1).errors == []
    return index
