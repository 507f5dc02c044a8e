"""A document's text, stored once: its passages' text lives in the text index (:mod:`kb.engine.unfold`),
the document's JSON keeps only what lies between them (headings, blank lines), the ``gaps``; and a
passage's section path is its section's, read off the JSON's section tree (``section_paths``).

``split_body`` (build side) cuts the body at the passages' offsets; ``join_body`` (query side) puts
it back together from the gaps and the passages' text, read from the text index. A passage repeated inside
one document (key ``3f2a…-2``) is stored once, under its first key (``passage_key``).

>>> from kb.models import Passage
>>> body = "一、总则\\n交通投资。\\n二、附则\\n交通投资。"
>>> ps = [Passage("d.a", "d", "p-a", 0, "交通投资。", 5, 10), Passage("d.a-2", "d", "p-a-2", 1, "交通投资。", 16, 21)]
>>> gaps = split_body(body, ps)
>>> gaps
['一、总则\\n', '\\n二、附则\\n', '']
>>> join_body(gaps, [{"start": 5, "end": 10, "passage_id": "d.a"}, {"start": 16, "end": 21, "passage_id": "d.a-2"}],
...           {"a": "交通投资。"}) == body
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kb.models import Passage


def passage_key(passage_id: str) -> str:
    """The key a passage's text is stored under: ``d-1.3f2a-2`` → ``3f2a`` (a repeat is stored once).

    >>> passage_key("d-00ab.3f2a9c01de-2"), passage_key("d-00ab.3f2a9c01de")
    ('3f2a9c01de', '3f2a9c01de')
    """
    return passage_id.rpartition(".")[2].partition("-")[0]


def split_body(body: str, passages: Sequence[Passage]) -> list[str]:
    """The text before, between and after ``passages`` (in body order): one more gap than passages."""
    gaps, pos = [], 0
    for p in sorted(passages, key=lambda p: p.start):
        gaps.append(body[pos:p.start])
        pos = p.end
    gaps.append(body[pos:])
    return gaps


def join_body(gaps: Sequence[str], passages: Sequence[Mapping], texts: Mapping[str, str]) -> str:
    """The body again: each gap, then the text of the passage after it (``texts``: key → text).

    Raises ``KeyError`` for a passage whose text is missing, ``ValueError`` when the pieces do not
    fill the offsets the JSON records: a damaged document, never a silently different one."""
    if len(gaps) != len(passages) + 1:
        raise ValueError(f"{len(gaps)} gaps for {len(passages)} passages")
    out, pos = [], 0
    for gap, p in zip(gaps, sorted(passages, key=lambda p: p["start"])):
        text = texts[passage_key(p["passage_id"])]
        pos += len(gap)
        if pos != p["start"] or p["end"] - p["start"] != len(text):
            raise ValueError(f"passage {p['passage_id']} does not sit at {p['start']}–{p['end']}")
        out += (gap, text)
        pos += len(text)
    out.append(gaps[-1])
    return "".join(out)


def section_paths(sections: Sequence[Mapping]) -> dict[str, list[str]]:
    """Section anchor → its path of labels (marker + title) from the top heading down; the preface
    (``s0``) has none. What each passage's ``section_path`` is, so the JSON need not repeat it.

    >>> tree = [{"anchor": "s0", "marker": "", "title": "前言", "children": []},
    ...         {"anchor": "s1", "marker": "一、", "title": "总则", "children": [
    ...             {"anchor": "s1-1", "marker": "（一）", "title": "治超", "children": []}]}]
    >>> section_paths(tree)
    {'s0': [], 's1': ['一、总则'], 's1-1': ['一、总则', '（一）治超']}
    """
    out: dict[str, list[str]] = {}

    def walk(nodes: Sequence[Mapping], path: list[str]) -> None:
        for node in nodes:
            here = path if node["anchor"] == "s0" else [*path, f"{node['marker']}{node['title']}"]
            out[node["anchor"]] = here
            walk(node.get("children", ()), here)

    walk(sections, [])
    return out
