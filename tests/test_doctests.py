"""Every module's ``>>>`` examples run: a docstring that shows input → output must stay true.

Collected here over every module of ``kb`` and ``web`` (not module by module in each test file), so a
new module's examples run without anyone remembering to add them.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import kb
import web


def _modules() -> list[str]:
    names = []
    for package in (kb, web):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_module_examples_hold(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"


def test_the_modules_that_teach_by_example_have_examples() -> None:
    """The pipeline's modules each show at least one example (the style the README promises)."""
    lacking = []
    for name in ("kb.text.analysis", "kb.chunk.chunker", "kb.chunk.docmeta", "kb.query.understand", "kb.search", "kb.query.spell",
                 "kb.query.synonyms", "kb.text.figures", "kb.query.highlight", "kb.query.parse", "kb.text.ngrams", "kb.evaluate"):
        finder = doctest.DocTestFinder()
        if not any(t.examples for t in finder.find(importlib.import_module(name))):
            lacking.append(name)
    assert not lacking, lacking
