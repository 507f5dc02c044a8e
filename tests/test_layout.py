"""The package layout keeps its promises (issue #11): a package per pipeline stage, with import rules.

- the query path (``kb.search``, ``kb.query``, ``web``) never loads the build, the loaders or the
  chunker, not even transitively, nor ``multiprocessing`` (only the build starts processes);
- the load stage never imports the chunk stage (what a heading looks like is ``kb.text.headings``);
- no product module is over 400 lines.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MAX_LINES = 400
BUILD_SIDE = ("kb.build", "kb.load", "kb.chunk", "multiprocessing")


def _loaded_by(code: str) -> list[str]:
    """The modules of ``BUILD_SIDE`` that running ``code`` in a fresh interpreter leaves loaded."""
    probe = (f"{code}\nimport json, sys\n"
             f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'multiprocessing' "
             f"or any(m == p or m.startswith(p + '.') for p in {BUILD_SIDE!r}))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("code", [
    "import kb.search",
    "import web; web.create_app({'KB_INDEX': '/nonexistent-index'})",
    "import kb.query.version, kb.query.respell, kb.query.rerank, kb.query.hits, kb.query.doclist",
])
def test_the_query_path_loads_no_build_stage(code: str) -> None:
    assert _loaded_by(code) == []


def test_the_probe_sees_a_build_stage_when_one_is_loaded() -> None:
    """The check above can fail: importing the build is seen (with multiprocessing under it)."""
    loaded = _loaded_by("import kb.build.indexer")
    assert "kb.build.indexer" in loaded and "multiprocessing" in loaded and "kb.chunk.chunker" in loaded


def _imports(path: Path) -> list[str]:
    """Every module a file imports, at the top or inside a function (``from kb.x import y`` → kb.x, kb.x.y)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return names


def _violations(folder: Path, forbidden: str) -> list[str]:
    return [f"{p.relative_to(REPO)} imports {name}" for p in sorted(folder.rglob("*.py")) for name in _imports(p)
            if name == forbidden or name.startswith(forbidden + ".")]


def test_the_load_stage_never_imports_the_chunk_stage() -> None:
    assert _violations(REPO / "kb" / "load", "kb.chunk") == []


def test_the_import_check_finds_an_import(tmp_path: Path) -> None:
    """The AST check above sees an import, even one inside a function."""
    (tmp_path / "m.py").write_text("def f():\n    from kb.chunk.chunker import chunk\n", encoding="utf-8")
    assert _imports(tmp_path / "m.py") == ["kb.chunk.chunker", "kb.chunk.chunker.chunk"]


def _long_modules() -> list[str]:
    return [f"{p.relative_to(REPO)}: {n} lines"
            for folder in ("kb", "web") for p in sorted((REPO / folder).rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]


def test_no_product_module_is_over_400_lines() -> None:
    assert _long_modules() == []


def _file_name_literals(path: Path, names: set[str]) -> list[str]:
    """String constants in code (not docstrings) that are a component's file name, or end like one."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [f"{path.relative_to(REPO)}:{n.lineno}: {n.value!r}" for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
            and (n.value in names or n.value.endswith((".npy", ".bin")))]


def test_the_files_of_a_version_and_a_segment_are_named_in_one_table() -> None:
    """kb/store/components.py names every file; no other module spells one out."""
    from kb.store.components import IndexComponent, SegmentComponent, VersionComponent

    names = {c.value for table in (IndexComponent, VersionComponent, SegmentComponent) for c in table}
    names.discard(VersionComponent.DOCS.value)  # "docs" is also the manifest's key of the documents
    table = REPO / "kb" / "store" / "components.py"
    assert _file_name_literals(table, names), "the check sees the table's own names"
    found = [hit for p in sorted((REPO / "kb").rglob("*.py")) if p != table and "bench" not in p.parts
             for hit in _file_name_literals(p, names)]
    assert found == []
