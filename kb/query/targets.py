"""Which rows state a plan's targets: a plan's passages, where ``达到 X`` is what is aimed at, except
those whose section looks back on the years before the plan (the 七五 plan's ``一、“六五”计划执行情况``,
about 1985: what was done)."""

from __future__ import annotations

import numpy as np


def target_rows(row_fids: np.ndarray, row_years: np.ndarray | None, plan_starts: dict[int, int]) -> np.ndarray | None:
    """Per row: does it state targets? ``plan_starts`` maps a plan document's file id to the first year
    of its period; ``row_years`` is the year each row's section reports on (0: none stated).
    ``None`` when no plan is indexed.

    >>> fids, years = np.array([1, 1, 1, 2]), np.array([1985, 1986, 0, 1985], np.int16)
    >>> target_rows(fids, years, {1: 1986}).tolist()
    [False, True, True, False]
    >>> target_rows(fids, None, {1: 1986}).tolist(), target_rows(fids, years, {})
    ([True, True, True, False], None)
    """
    if not plan_starts:
        return None
    fids = np.array(sorted(plan_starts), dtype=np.int64)
    at = np.searchsorted(fids, row_fids).clip(0, fids.size - 1)
    rows = fids[at] == row_fids
    if row_years is not None:
        start = np.array([plan_starts[f] for f in fids.tolist()], dtype=np.int16)[at]
        rows &= ~((row_years != 0) & (row_years < start))
    return rows
