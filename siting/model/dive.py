"""LP diving: primal heuristics that round the LP relaxation one decision at a time.

Solve the LP, then repeat until no unsplittable placement is fractional:

* ``"fix"``: fix every integral placement at its value (zeros included, which
  shrinks the LP fast) and round the least fractional one; if that rounding is infeasible,
  the other rounding. Closest to the optimum when it works (0.04% on the (400,60,12)
  benchmark), but fixing zeros can leave a job nowhere to go.
* ``"up"``: take the largest fractional share and round it up, so the job
  goes there and the assignment row moves the rest of it on the next solve; if the site is
  full, round it down (that site is ruled out for that job). Zeros stay free, so it fails
  less often.
* ``"big"``: like "up", but always the largest job that is still fractional, at its largest
  share (first-fit decreasing, as in bin packing).

All three run and the best plan is kept: none wins everywhere. On the (400,60,12) benchmark,
seeds 1-7, with the packing rows in the LP, the best dive was within 0.02% of the optimum on
seeds 1, 2, 5 and 7 and 0.7%, 2.5% and 3% above it on seeds 6, 3 and 4; "fix" failed on
four seeds, "big" was best on four.
HiGHS keeps the basis between solves, so each round is short.
"""

from __future__ import annotations

import time

import highspy
import numpy as np

from siting.model.formulation import MatrixModel
from siting.model.solve import highs_model
from siting.model.start import RootLp

INTEGRAL_TOL = 1e-6
STRATEGIES = ("fix", "up", "big")

__all__ = ["INTEGRAL_TOL", "STRATEGIES", "RootLp", "dive", "lp_dive", "lp_relaxation",
           "reduced_cost_fixing"]


def _solved(h: highspy.Highs) -> bool:
    h.run()
    return h.getModelStatus() == highspy.HighsModelStatus.kOptimal


def lp_relaxation(mm: MatrixModel, time_limit_s: float | None = None) -> highspy.Highs | None:
    """A ``Highs`` holding the LP relaxation of ``mm``, solved (the state :func:`dive`
    starts from), or None when it does not solve to optimality within ``time_limit_s``."""
    h = highs_model(mm, integer=False)
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    return h if _solved(h) else None


def lp_dive(mm: MatrixModel, time_limit_s: float | None = None,
            root: list | None = None) -> np.ndarray | None:
    """A feasible column vector for ``mm``: the best of the dives of every strategy in
    :data:`STRATEGIES`, or None when all fail or the time runs out. When ``root`` is a list,
    the root LP (:class:`~siting.model.start.RootLp`) is appended to it."""
    ints = np.flatnonzero(mm.integer)
    if not len(ints):
        return None
    deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
    h = lp_relaxation(mm, time_limit_s)
    if h is None:
        return None
    if root is not None:
        sol = h.getSolution()
        root.append(RootLp(float(h.getInfo().objective_function_value),
                           np.asarray(sol.col_value), np.asarray(sol.col_dual)))
    found = []
    for i, strategy in enumerate(STRATEGIES):
        if i:
            # undo the previous strategy's fixings and start again from the root LP
            h.changeColsBounds(len(ints), ints.astype(np.int32), mm.lb[ints], mm.ub[ints])
            if not _solved(h):
                break
        values = dive(h, mm, strategy, deadline=deadline)
        if values is not None:
            found.append(values)
    return min(found, key=lambda v: float(mm.cost @ v)) if found else None


def _unit_gpu_hours(mm: MatrixModel) -> np.ndarray:
    """GPU-hours of one unit of each column's workload class (0 for non-x columns)."""
    size = np.zeros(mm.n_cols)
    c, s = np.nonzero(mm.x_col >= 0)
    size[mm.x_col[c, s]] = mm.classes.gpu_hours[c]
    return size


def dive(h: highspy.Highs, mm: MatrixModel, strategy: str, *,
         deadline: float | None = None) -> np.ndarray | None:
    """One dive with ``strategy`` (one of :data:`STRATEGIES`, see the module doc) from the
    solved LP relaxation of ``mm`` in ``h`` (e.g. from :func:`lp_relaxation`): a feasible
    column vector with every integer column integral, or None when a rounding leaves the LP
    infeasible or ``time.perf_counter()`` passes ``deadline``. It changes column bounds in
    ``h``; reset them (to ``mm.lb``, ``mm.ub``) before diving again."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown dive strategy {strategy!r}; expected one of {STRATEGIES}")
    ints = np.flatnonzero(mm.integer)
    size = _unit_gpu_hours(mm)[ints]
    fixed = np.zeros(len(ints), bool)
    for _ in range(2 * len(ints) + 1):  # each round fixes at least one variable
        if deadline is not None and time.perf_counter() > deadline:
            return None
        v = np.asarray(h.getSolution().col_value)[ints]
        frac = np.abs(v - np.round(v))
        pending = np.flatnonzero(~fixed & (frac >= INTEGRAL_TOL))
        if strategy == "fix":
            integral = np.flatnonzero(~fixed & (frac < INTEGRAL_TOL))
            if len(integral):
                vals = np.round(v[integral])
                h.changeColsBounds(len(integral), ints[integral].astype(np.int32), vals, vals)
                fixed[integral] = True
        if not len(pending):
            if not _solved(h):
                return None
            values = np.asarray(h.getSolution().col_value)
            values[ints] = np.round(values[ints])
            return values
        if strategy == "fix":
            k = pending[np.argmin(frac[pending])]
            up = np.round(v[k]) > v[k]
            order = (np.ceil(v[k]), np.floor(v[k])) if up else (np.floor(v[k]), np.ceil(v[k]))
        elif strategy == "up":
            k = pending[np.argmax(v[pending] - np.floor(v[pending]))]
            order = (np.ceil(v[k]), np.floor(v[k]))
        else:  # "big": the largest job first, at its largest share (first-fit decreasing)
            big = pending[size[pending] >= size[pending].max() * (1 - 1e-9)]
            k = big[np.argmax(v[big] - np.floor(v[big]))]
            order = (np.ceil(v[k]), np.floor(v[k]))
        col = np.array([ints[k]], np.int32)
        for value in order:
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
    one to 1 would cost at least the root value plus that reduced cost (LP duality).

    Valid when ``root`` is the LP relaxation of ``mm`` itself, or of ``mm`` with rows that cut
    off no integer plan (the packing rows), and ``incumbent`` the objective of a plan that
    keeps every row of ``mm`` (:func:`siting.model.optimize.prepare` checks both); any
    objective, any input."""
    ints = np.flatnonzero(mm.integer)
    slack = incumbent - root.objective
    tol = 1e-7 * max(1.0, abs(incumbent))
    at_zero = root.values[ints] <= INTEGRAL_TOL
    return ints[at_zero & (root.reduced_costs[ints] > slack + tol)]
