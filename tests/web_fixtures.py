"""Fixtures shared by ``test_web.py`` and ``test_browser.py``: one small index per session, the app over it.

The index holds the mission document (``corpus/``), the GBK-encoded government work reports
(``../shared/corpora/gbk``, when that folder is there) and a hostile document written here, whose
title, metadata and body are full of markup that must reach the reader as text.
Import the fixtures into a test module with ``from web_fixtures import ...``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kb.build.indexer import build_index
from web import create_app

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
GBK = REPO.parent / "shared" / "corpora" / "gbk"
MISSION_DOC = "wenling-transport-bureau-2023-work-summary"
HOSTILE_DOC = "hostile-doc"
HOSTILE_TEXT = """---
title: <script>alert("title")</script>恶意标题测试
date: 2023-05-01
source: <img src=x onerror=alert("source")>
---
一、<b>总体</b>要求

恶意脚本<script>alert("xss")</script>不应执行，全文须当作文字显示。段落里还有 & 符号、"双引号"和'单引号'，以及</p></div>闭合标签。

二、其他事项

<img src=x onerror=alert(2)>图片标签也应显示为文字。<a href="javascript:alert(3)">链接</a>同理，<style>body{display:none}</style>样式也一样。
"""


@pytest.fixture(scope="session")
def web_corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    hostile = tmp_path_factory.mktemp("hostile-corpus")
    (hostile / f"{HOSTILE_DOC}.txt").write_text(HOSTILE_TEXT, encoding="utf-8")
    roots = [CORPUS, hostile]
    if GBK.is_dir():
        roots.append(GBK)
    return roots


@pytest.fixture(scope="session")
def several_documents(web_corpus: list[Path]) -> None:
    """For a test that needs documents besides the mission one (grouping, facets, the document list):
    skipped when ``../shared/corpora/gbk`` is not beside the repository (a clone elsewhere)."""
    if GBK not in web_corpus:
        pytest.skip(f"needs the GBK reports at {GBK}, beside the repository")


@pytest.fixture(scope="session")
def web_index(tmp_path_factory: pytest.TempPathFactory, web_corpus: list[Path]) -> Path:
    index_dir = tmp_path_factory.mktemp("web-index") / "index"
    report = build_index(web_corpus, index_dir, workers=1)
    assert not report.errors, report.errors
    return index_dir


@pytest.fixture(scope="session")
def web_app(web_index: Path) -> Flask:
    return create_app({"KB_INDEX": str(web_index), "TESTING": True})


@pytest.fixture(scope="session")
def web_client(web_app: Flask) -> Iterator[FlaskClient]:
    with web_app.test_client() as c:
        yield c
