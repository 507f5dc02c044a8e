"""``Document`` → section tree + ``Passage``s with stable ids and anchors.

A small line parser in the manner of MkDocs' search plugin: every body line is filed under the
heading that precedes it. Headings come from Chinese numbering (``第一部分``, ``一、``, ``（一）``,
``1.``, ``（1）``), markdown ``#`` and whole-line ``**bold**``. Markers lost in scraping
(``)扛起政治责任…`` or a bare heading line between numbered siblings) are repaired from the siblings
and flagged ``repaired``; the original text is kept.

>>> from kb.models import Document
>>> body = "导语。\\n一、总体\\n(一)第一项\\n正文一。\\n)第二项\\n正文二。\\n二、其他\\n正文三。"
>>> c = chunk(Document(doc_id="d", path="d.txt", title="T", body=body))
>>> [(s.marker, s.title, [(k.number, k.repaired) for k in s.children]) for s in c.sections]
[('', '前言', []), ('一、', '总体', [('一', False), ('二', True)]), ('二、', '其他', [])]
>>> [(p.text, p.section_path) for p in c.passages][1:3]
[('正文一。', ('一、总体', '(一)第一项')), ('正文二。', ('一、总体', '(二)第二项'))]

Passages lie inside one section; long paragraphs split at ``一是/二是…`` sub-points, then at sentence
ends, aiming at 80–400 characters and never over ``HARD_MAX``. Short neighbours in one section are
joined. ``passage.text == document.body[passage.start:passage.end]`` and every non-blank character of
body text lands in exactly one passage.
"""

from __future__ import annotations

from kb.models import Chunked, Document, Passage
from kb.chunk.sections import _Node, _assign_anchors, _freeze, _new_section
from kb.chunk.passages import _emit_passages
from kb.chunk.repair import (_fill_single_gaps, _flatten_glossaries, _infer_lost_headings, _infer_series_parents,
                             _join_broken_headings, _lines)


def chunk(document: Document) -> Chunked:
    """Split one document into its section tree and passages."""
    lines = _lines(document.body)
    _join_broken_headings(lines)
    _infer_series_parents(lines)
    _infer_lost_headings(lines)
    _fill_single_gaps(lines)
    _flatten_glossaries(lines)
    root = _Node(-1, "", "", document.title, False, False)
    preface = _Node(0, "", "", "前言", False, False)
    stack: list[_Node] = [root]
    for line in lines:
        h = line.heading
        if h is not None:
            while len(stack) > 1 and stack[-1].level >= h.level:
                stack.pop()
            parent = stack[-1]
            node = _new_section(h, parent)
            parent.children.append(node)
            parent.by_level[node.level] = (parent.by_level.get(node.level, (0, node))[0] + 1, node)
            stack.append(node)
            if not h.run_in:
                continue
        target = stack[-1] if len(stack) > 1 else preface
        # a run-in line marked up as a heading goes into the passage without its "## "
        marks = len(line.text) - len(line.text.lstrip("#").lstrip()) if h is not None and line.text[:1] == "#" else 0
        target.units.append((line.start + marks, line.end))
    _assign_anchors(root.children, "s")
    if preface.units:
        preface.anchor = "s0"
        root.children.insert(0, preface)
    passages: list[Passage] = []
    _emit_passages(document, root.children, passages, (), {})
    sections = tuple(_freeze(n) for n in root.children)
    return Chunked(document=document, sections=sections, passages=tuple(passages), preface=bool(preface.units))
