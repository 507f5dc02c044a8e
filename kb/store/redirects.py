"""Redirects: a version folder → its redirects.json (old passage ids → successors, removed documents), read."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from kb.store.components import VersionComponent


REDIRECTS = VersionComponent.REDIRECTS.value


def read_redirects(version_dir: Path | None) -> dict:
    """A version's ``redirects.json``: ``{"passages": {old: new}, "gone": {doc_id: {"title", "date"}}}``."""
    empty: dict = {"passages": {}, "gone": {}}
    if version_dir is None:
        return empty
    try:
        data = json.loads((Path(version_dir) / REDIRECTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return empty
    return {"passages": dict(data.get("passages", {})), "gone": dict(data.get("gone", {}))}


@lru_cache(maxsize=4)
def _load_redirects(version: str) -> dict:
    return read_redirects(Path(version))
