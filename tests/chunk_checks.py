"""What every chunked document must satisfy, checked from the outside.

Used by ``test_chunker.py`` (hand-written documents) and ``test_corpus_real.py`` (181 real reports).
:func:`invariant_problems` returns readable problems instead of asserting, so a test over many files
can name every file and every problem at once.

The checks do not ask the chunker which lines are headings. They read the body line by line and
match the section tree against it in document order:

- a line no passage covers must be the heading line of the next section in the tree (its text,
  after any marker such as ``一、``/``（二）``/``)``/``#``/``**``, starts with the section title);
  a covered line starts the next section only when it is a run-in heading (``（一）标题。正文…``);
- every other non-blank line is covered whole, so every non-blank character of body text lands in
  exactly one passage, in order (passages are sorted and do not overlap);
- a passage touches only lines of its own section (its ``section_anchor``), and its
  ``section_path`` ends with that section's label;
- passages are non-empty, at most ``HARD_MAX`` characters, ``text == body[start:end]``, with
  unique ids and anchors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from kb.chunk.passages import HARD_MAX
from kb.text.headings import heading_of
from kb.models import Chunked, Section

# a leading marker, as the chunker may have read it (numbered, lost paren, markdown, bold)
_LEADING_MARKER = re.compile(
    r"^[#*\s]*(?:第[一二三四五六七八九十百零〇\d]{1,4}(?:部分|篇|编|章|节)[\s:：、]*"
    r"|[(（]\s*[一二三四五六七八九十百零〇\d]{1,4}\s*[)）]\s*"
    r"|[一二三四五六七八九十百零〇]{1,4}\s*[)）、.．]\s*"
    r"|\d{1,4}\s*(?:[)）、．]|\.(?!\d))\s*"  # "1." but not the "1." of "1.5亿元"
    r"|[)）]\s*(?=[\u4e00-\u9fff“\"《]))?"
)

PAGE_CHROME = ("当前位置", "发布日期", "【字体", "浏览次数", "扫一扫", "打印本页", "关闭窗口", "<!--")


def flatten(sections: tuple[Section, ...]) -> list[Section]:
    """Sections in document order (pre-order), the preface left out."""
    out: list[Section] = []
    for s in sections:
        if s.anchor != "s0":
            out.append(s)
        out.extend(flatten(s.children))
    return out


def nonspace(text: str) -> str:
    return "".join(text.split())


def _lines(body: str) -> Iterator[tuple[int, int, str]]:
    pos = 0
    for raw in body.split("\n"):
        yield pos, pos + len(raw), raw
        pos += len(raw) + 1


def _title_key(section: Section) -> str:
    return section.title.rstrip("…").strip()


def _heading_text(line: str) -> tuple[str, bool]:
    """The line without its leading marker, and whether there was a marker to take off."""
    stripped = line.strip()
    rest = _LEADING_MARKER.sub("", stripped, count=1).strip().strip("*").strip()
    return rest, rest != stripped.strip("*").strip()


def invariant_problems(chunked: Chunked, max_problems: int = 8) -> list[str]:
    """Everything wrong with ``chunked`` (empty when it is sound)."""
    doc = chunked.document
    body = doc.body
    problems: list[str] = []
    passages = list(chunked.passages)

    covered = bytearray(len(body))
    last_end = 0
    for p in passages:
        if p.text != body[p.start:p.end]:
            problems.append(f"passage {p.passage_id}: text differs from body[{p.start}:{p.end}]")
        if not p.text.strip():
            problems.append(f"passage {p.passage_id}: empty")
        if len(p.text) > HARD_MAX:
            problems.append(f"passage {p.passage_id}: {len(p.text)} characters, over HARD_MAX {HARD_MAX}")
        if p.start < last_end:
            problems.append(f"passage {p.passage_id}: starts at {p.start}, before the previous one ends ({last_end})")
        last_end = max(last_end, p.end)
        for i in range(p.start, p.end):
            covered[i] = 1
    if [p.ordinal for p in passages] != list(range(len(passages))):
        problems.append("passage ordinals are not 0..n-1 in order")
    if len({p.passage_id for p in passages}) != len(passages):
        problems.append("passage ids are not unique")
    if len({p.anchor for p in passages}) != len(passages):
        problems.append("passage anchors are not unique")

    sections = flatten(chunked.sections)
    labels = {s.anchor: s.label for s in sections}
    next_section = 0
    owner = "s0"
    line_owner: list[tuple[int, int, str]] = []  # (start, end, anchor) of each non-blank line
    kept_chars: list[str] = []
    for start, end, raw in _lines(body):
        if not raw.strip():
            continue
        line_heading = heading_of(raw)
        if line_heading is not None and line_heading.run_in and raw.lstrip()[:1] == "#":
            # a run-in line marked up as a heading: its "## " is markup, not passage text
            marks = len(raw) - len(raw.lstrip().lstrip("#").lstrip())
            start, raw = start + marks, raw[marks:]
        chars = [i for i in range(start, end) if not body[i].isspace()]
        n_cov = sum(covered[i] for i in chars)
        if 0 < n_cov < len(chars):
            problems.append(f"line {raw[:30]!r}: only {n_cov} of {len(chars)} characters in passages")
        rest, had_marker = _heading_text(raw)
        key = _title_key(sections[next_section]) if next_section < len(sections) else ""
        whole = raw.strip().strip("*#").strip()
        is_next_heading = bool(key) and (rest.startswith(key) or whole.startswith(key)
                                         or (n_cov == 0 and len(rest) >= 4 and key.startswith(rest)))
        if n_cov == 0:
            if is_next_heading:
                owner = sections[next_section].anchor
                next_section += 1
            elif next_section and sections[next_section - 1].title.endswith(raw.strip()) and \
                    owner == sections[next_section - 1].anchor:
                pass  # the second line of a heading broken over two lines ("…任务和" / "二〇三五年远景目标")
            else:
                expected = sections[next_section].title[:20] if next_section < len(sections) else "(none left)"
                problems.append(f"line {raw[:30]!r} is in no passage and is not the next heading ({expected!r})")
        else:
            run_in = line_heading
            if is_next_heading and had_marker and run_in is not None and run_in.run_in:  # "（一）标题。正文…"
                owner = sections[next_section].anchor
                next_section += 1
            kept_chars.append(nonspace(raw))
        line_owner.append((start, end, owner))
        if len(problems) >= max_problems:
            return problems
    if next_section != len(sections):
        missing = [s.title[:20] for s in sections[next_section:next_section + 3]]
        problems.append(f"{len(sections) - next_section} section(s) have no heading line in the body: {missing}")

    if nonspace("".join(p.text for p in passages)) != "".join(kept_chars):
        problems.append("the passages' characters differ from the body's non-heading characters")

    for p in passages:
        owners = {a for s, e, a in line_owner if s < p.end and e > p.start}
        if owners != {p.section_anchor}:
            problems.append(f"passage {p.passage_id} ({p.text[:15]!r}) spans sections {sorted(owners)}, "
                            f"says {p.section_anchor}")
        elif p.section_anchor != "s0" and (not p.section_path or p.section_path[-1] != labels[p.section_anchor]):
            problems.append(f"passage {p.passage_id}: section_path {p.section_path} does not end with "
                            f"{labels[p.section_anchor]!r}")
        elif p.section_anchor == "s0" and p.section_path:
            problems.append(f"preface passage {p.passage_id} has a section_path {p.section_path}")
        if len(problems) >= max_problems:
            break
    return problems


def chrome_in_passages(chunked: Chunked) -> list[str]:
    """Page-chrome strings found inside passages, as ``'<string> in <passage id>'``."""
    return [f"{mark!r} in {p.passage_id}" for p in chunked.passages for mark in PAGE_CHROME if mark in p.text]
