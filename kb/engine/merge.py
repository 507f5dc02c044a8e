"""Merge policy: the sizes of a version's text-index segments → which of them to merge (a pure function).

The idea of tantivy's ``MergePolicy`` (``LogMergePolicy``): the policy sees only the segments'
sizes and answers with merge candidates; the build reads the sizes off the disk and does the
merging (:func:`kb.engine.segwriter.merge_segments`). kb's policy keeps a version at most
``max_segments`` segments by merging the smallest (the ones incremental builds add), together with
any segment whose rows are mostly dead (their files changed or were deleted).

>>> merge_plan([(100, 100)] * 3, max_segments=8)  # few segments, all alive: nothing to do
[]
>>> merge_plan([(100, 40), (100, 100)], max_segments=8)  # mostly dead: rewritten without its dead rows
[[0]]
>>> merge_plan([(1000, 1000)] * 7 + [(10, 10), (5, 5)], max_segments=8)  # one over the cap: the two smallest
[[8, 7]]
"""

from __future__ import annotations


def merge_plan(sizes: list[tuple[int, int]], *, max_segments: int) -> list[list[int]]:
    """``sizes[i]`` = (rows, live rows) of segment ``i`` → groups of segment indices, each to be merged
    into one new segment (a group with no live row at all: dropped). At most one group today; ``[]``:
    leave the segments as they are."""
    if not sizes:
        return []
    mostly_dead = [i for i, (rows, live) in enumerate(sizes) if live * 2 < rows]
    rest = sorted((i for i in range(len(sizes)) if i not in mostly_dead), key=lambda i: sizes[i][1])
    excess = len(sizes) - max_segments + 1 if len(sizes) > max_segments else 0
    chosen = mostly_dead + rest[:max(0, excess - len(mostly_dead))]
    if len(chosen) < 2 and not mostly_dead:
        return []
    return [chosen]
