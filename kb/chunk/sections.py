"""Sections: heading lines → the section tree (numbers, anchors s1, s1.2 …) frozen into ``Section`` records."""

from __future__ import annotations

from dataclasses import dataclass, field

from kb.models import Section
from kb.text.headings import HeadingLine, cn_to_int, int_to_cn
from kb.chunk.repair import _REPAIR_STYLE


@dataclass
class _Node:
    level: int
    number: str
    marker: str
    title: str
    repaired: bool
    arabic: bool
    children: list[_Node] = field(default_factory=list)
    units: list[tuple[int, int]] = field(default_factory=list)  # body spans filed here
    anchor: str = ""
    label: str = ""
    # per level of the children: how many there are and the last one (repairs number from it)
    by_level: dict[int, tuple[int, _Node]] = field(default_factory=dict)


def _new_section(h: HeadingLine, parent: _Node) -> _Node:
    count, prev = parent.by_level.get(h.level, (0, None))
    number, marker = h.number, h.marker
    arabic = number.isdigit() if number else (prev.arabic if prev else h.level in (3, 4))
    if h.repaired:
        value = (cn_to_int(prev.number) if prev and prev.number else count) + 1
        number = str(value) if arabic else int_to_cn(value)
        if prev and prev.marker and prev.number:
            marker = prev.marker.replace(prev.number, number, 1)  # the document's own form: (二) or （二）
        else:
            marker = _REPAIR_STYLE.get(h.level, "{}").format(number)
    return _Node(h.level, number, marker, h.title, h.repaired, arabic)


def _assign_anchors(nodes: list[_Node], prefix: str) -> None:
    for idx, node in enumerate(nodes, start=1):
        node.anchor = f"{prefix}{idx}" if prefix == "s" else f"{prefix}-{idx}"
        node.label = f"{node.marker}{node.title}"
        _assign_anchors(node.children, node.anchor)


def _freeze(node: _Node) -> Section:
    return Section(
        anchor=node.anchor,
        level=node.level,
        number=node.number,
        marker=node.marker,
        title=node.title,
        repaired=node.repaired,
        children=tuple(_freeze(c) for c in node.children),
    )
