"""LP diving: a primal heuristic that rounds the LP relaxation one placement at a time.

Solve the LP. While some unsplittable placement is fractional, take the fractional share
that is largest (the placement the LP is most sure of) and round it up: that job goes
there, and the assignment row moves the rest of it away on the next solve. If rounding up
makes the LP infeasible (the site is full), round it down instead: that site is ruled out
for that job. HiGHS keeps the basis between solves, so each round is short. Typically
within a fraction of a percent of the optimum: a far better start for branch and bound
than the greedy placement.
"""

from __future__ import annotations

import time

import highspy
import numpy as np

from siting.model.formulation import MatrixModel
from siting.model.solve import highs_model

INTEGRAL_TOL = 1e-6


def _solved(h: highspy.Highs) -> bool:
    h.run()
    return h.getModelStatus() == highspy.HighsModelStatus.kOptimal


def lp_dive(mm: MatrixModel, time_limit_s: float | None = None) -> np.ndarray | None:
    """A feasible column vector for ``mm``, or None when the dive fails or runs out of time."""
    ints = np.flatnonzero(mm.integer)
    if not len(ints):
        return None
    t0 = time.perf_counter()
    h = highs_model(mm, integer=False)
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    if not _solved(h):
        return None
    fixed = np.zeros(len(ints), bool)
    for _ in range(2 * len(ints) + 1):  # each round fixes at least one variable
        if time_limit_s is not None and time.perf_counter() - t0 > time_limit_s:
            return None
        v = np.asarray(h.getSolution().col_value)[ints]
        frac = np.abs(v - np.round(v))
        pending = np.flatnonzero(~fixed & (frac >= INTEGRAL_TOL))
        if not len(pending):
            values = np.asarray(h.getSolution().col_value)
            values[ints] = np.round(values[ints])
            return values
        k = pending[np.argmax(v[pending] - np.floor(v[pending]))]
        col = np.array([ints[k]], np.int32)
        for value in (np.ceil(v[k]), np.floor(v[k])):
            h.changeColsBounds(1, col, np.array([value]), np.array([value]))
            if _solved(h):
                fixed[k] = True
                break
        else:
            return None
    return None
