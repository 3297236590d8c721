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
from dataclasses import dataclass

import highspy
import numpy as np

from siting.model.formulation import MatrixModel
from siting.model.solve import highs_model

INTEGRAL_TOL = 1e-6


def _solved(h: highspy.Highs) -> bool:
    h.run()
    return h.getModelStatus() == highspy.HighsModelStatus.kOptimal


@dataclass
class RootLp:
    """The LP relaxation the dive starts from: its value, primal values and reduced costs."""

    objective: float
    values: np.ndarray
    reduced_costs: np.ndarray


def lp_dive(mm: MatrixModel, time_limit_s: float | None = None,
            root: list | None = None) -> np.ndarray | None:
    """A feasible column vector for ``mm``, or None when the dive fails or runs out of time.
    When ``root`` is a list, the root LP (:class:`RootLp`) is appended to it."""
    ints = np.flatnonzero(mm.integer)
    if not len(ints):
        return None
    t0 = time.perf_counter()
    h = highs_model(mm, integer=False)
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    if not _solved(h):
        return None
    if root is not None:
        sol = h.getSolution()
        root.append(RootLp(float(h.getInfo().objective_function_value),
                           np.asarray(sol.col_value), np.asarray(sol.col_dual)))
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


def reduced_cost_fixing(mm: MatrixModel, root: RootLp, incumbent: float) -> np.ndarray:
    """Integer columns that can be fixed at 0 without losing any solution better than the
    incumbent: at 0 in the root LP with a reduced cost above ``incumbent - root``. Setting
    one to 1 would cost at least the root value plus that reduced cost (LP duality)."""
    ints = np.flatnonzero(mm.integer)
    slack = incumbent - root.objective
    tol = 1e-7 * max(1.0, abs(incumbent))
    at_zero = root.values[ints] <= INTEGRAL_TOL
    return ints[at_zero & (root.reduced_costs[ints] > slack + tol)]
