"""Solve a :class:`MatrixModel`: HiGHS through highspy (arrays handed over directly), or
any PuLP solver (CBC, HiGHS) through the PuLP problem."""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import pulp

from siting.errors import Interrupted, SitingError
from siting.model.formulation import MatrixModel
from siting.model.interrupt import incumbent, run_interruptibly
from siting.model.scenario import SolverOptions
from siting.model.start import Start


@dataclass
class RawSolution:
    status: str  # optimal | feasible | infeasible | no_solution | error
    objective: float | None
    bound: float | None
    gap: float | None
    solver: str
    solve_s: float
    values: np.ndarray | None
    row_duals: np.ndarray | None = None
    detail: dict = field(default_factory=dict)


def _rel_gap(obj: float | None, bound: float | None) -> float | None:
    if obj is None or bound is None or not (math.isfinite(obj) and math.isfinite(bound)):
        return None
    return abs(obj - bound) / max(abs(obj), 1e-9)


def new_highs() -> highspy.Highs:
    """A silent ``Highs``. Its C++ constructor prints a banner to file descriptor 1 (once per
    process), which would corrupt ``--json`` output: silence that descriptor meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    return h


def highs_model(mm: MatrixModel, integer: bool = True) -> highspy.Highs:
    """A ``Highs`` object holding ``mm`` (column-wise arrays handed over in one call)."""
    h = new_highs()
    h.setOptionValue("output_flag", False)
    lp = highspy.HighsLp()
    lp.num_col_ = mm.n_cols
    lp.num_row_ = mm.n_rows
    lp.col_cost_ = mm.cost
    lp.col_lower_ = mm.lb
    lp.col_upper_ = np.where(np.isfinite(mm.ub), mm.ub, highspy.kHighsInf)
    lp.row_lower_ = np.where(np.isfinite(mm.row_lb), mm.row_lb, -highspy.kHighsInf)
    lp.row_upper_ = np.where(np.isfinite(mm.row_ub), mm.row_ub, highspy.kHighsInf)
    csc = mm.A.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data
    if integer and mm.integer.any():
        lp.integrality_ = np.where(mm.integer, highspy.HighsVarType.kInteger,
                                   highspy.HighsVarType.kContinuous).tolist()
    h.passModel(lp)
    return h


def set_threads(h: highspy.Highs, threads: int | None) -> None:
    """HiGHS runs one global thread scheduler, sized when the first solve starts; a later
    solve asking for another size fails with "Not Set". Reset the scheduler first."""
    if threads is None:
        return
    highspy.Highs.resetGlobalScheduler(True)
    h.setOptionValue("threads", int(threads))


_HIGHS_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
    highspy.HighsModelStatus.kTimeLimit: "limit",
    highspy.HighsModelStatus.kIterationLimit: "limit",
    highspy.HighsModelStatus.kSolutionLimit: "limit",
    highspy.HighsModelStatus.kInterrupt: "limit",
    highspy.HighsModelStatus.kObjectiveBound: "limit",
}


# HiGHS options for a run that starts from siting's own plan, whose binaries reduced-cost
# fixing has already thinned. On the (400,60,12) benchmark, seed 2: the sub-MIP heuristics
# took 26 of 37 s to find a plan 0.7% better than the start (off: 13 s), and the restarts
# (re-presolving after HiGHS's own reduced-cost fixing) took most of the rest (off: 3 s).
START_TUNING = {
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_allow_restart": False,
}


def solve_highs(mm: MatrixModel, opts: SolverOptions, start: Start | None = None
                ) -> RawSolution:
    """Solve with HiGHS from ``start``. With ``start_tuning="auto"``, :data:`START_TUNING`
    applies when the start came from the LP dive (good, with the root LP's reduced-cost
    fixing done); after a greedy start HiGHS keeps its own heuristics."""
    t0 = time.perf_counter()
    h = highs_model(mm)
    h.setOptionValue("mip_rel_gap", float(opts.rel_gap))
    if opts.time_limit_s is not None:
        h.setOptionValue("time_limit", float(opts.time_limit_s))
    set_threads(h, opts.threads)
    from_dive = start is not None and start.source == "dive"
    if opts.start_tuning == "on" or (opts.start_tuning == "auto" and from_dive):
        for option, value in START_TUNING.items():
            h.setOptionValue(option, value)
    if start is not None:
        h.setSolution(_solution(start.values))
    try:
        run_interruptibly(h)
    except Interrupted as exc:  # hand the best plan so far (if any) to the caller
        exc.incumbent, exc.model = _interrupted_solution(h, mm, t0, exc.solver_running), mm
        raise
    status = _HIGHS_STATUS.get(h.getModelStatus(), "error")
    info = h.getInfo()
    is_mip = bool(mm.integer.any())
    values, obj = None, None
    if info.primal_solution_status == 2:  # feasible
        values = np.asarray(h.getSolution().col_value)
        obj = float(mm.cost @ values)
        reported = float(info.objective_function_value)
        if start is not None and abs(reported - obj) > 1e-6 * max(1.0, abs(obj)):
            # HiGHS 1.16 has been seen to report a wrong objective and bound after a start
            # solution: never trust such a run, solve again without the start
            return solve_highs(mm, opts, None)
    if status == "limit":
        status = "feasible" if values is not None else "no_solution"
    bound = float(info.mip_dual_bound) if is_mip else obj
    if bound is not None and not math.isfinite(bound):
        bound = None
    gap = _rel_gap(obj, bound) if is_mip else (0.0 if status == "optimal" else None)
    return RawSolution(status, obj, bound, gap, "highs", time.perf_counter() - t0, values,
                       detail={"highs_status": h.modelStatusToString(h.getModelStatus())})


def _interrupted_solution(h: highspy.Highs, mm: MatrixModel, t0: float, solver_running: bool
                          ) -> RawSolution | None:
    """The incumbent of an interrupted HiGHS run as a RawSolution (status "interrupted"),
    or None when HiGHS had no feasible plan yet. While the abandoned solver thread still runs
    ``h`` is not touched: the plan comes from the improving-solution callback."""
    bound = None
    if solver_running:
        best = incumbent(h)
        if best is None or len(best[1]) != mm.n_cols:
            return None
        values = best[1]
    else:
        info = h.getInfo()
        if info.primal_solution_status != 2:
            return None
        values = np.asarray(h.getSolution().col_value)
        bound = float(info.mip_dual_bound) if mm.integer.any() else None
    obj = float(mm.cost @ values)
    bound = bound if bound is not None and math.isfinite(bound) else None
    return RawSolution("interrupted", obj, bound, _rel_gap(obj, bound), "highs",
                       time.perf_counter() - t0, values,
                       detail={"highs_status": "interrupted"})


def _solution(values: np.ndarray) -> highspy.HighsSolution:
    sol = highspy.HighsSolution()
    sol.col_value = np.asarray(values, float).tolist()
    sol.value_valid = True
    return sol


@dataclass
class LpDuals:
    row_dual: np.ndarray
    col_dual: np.ndarray
    row_value: np.ndarray
    col_value: np.ndarray


def lp_duals(mm: MatrixModel, values: np.ndarray) -> LpDuals | None:
    """Duals of the LP with every integer variable fixed at its value in ``values``: the
    marginal values a report quotes. None when that LP does not solve to optimality."""
    ints = np.flatnonzero(mm.integer)
    fixed = np.round(values[ints])
    h = highs_model(mm, integer=False)
    if len(ints):
        h.changeColsBounds(len(ints), ints.astype(np.int32), fixed, fixed)
    # capacity limits tightened into share bounds would take the duals that belong to the
    # capacity rows: relax continuous shares back to [0, 1] (the rows still hold them)
    c_idx, s_idx = np.nonzero(mm.x_col >= 0)
    cols = mm.x_col[c_idx, s_idx]
    cont = ~mm.integer[cols]
    if cont.any():
        h.changeColsBounds(int(cont.sum()), cols[cont].astype(np.int32), np.zeros(int(cont.sum())),
                           mm.classes.count[c_idx[cont]].astype(float))
    run_interruptibly(h)
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    sol = h.getSolution()
    return LpDuals(np.asarray(sol.row_dual), np.asarray(sol.col_dual), np.asarray(sol.row_value),
                   np.asarray(sol.col_value))


def solve_pulp(mm: MatrixModel, opts: SolverOptions) -> RawSolution:
    from siting.model.pulp_model import to_pulp

    t0 = time.perf_counter()
    prob, variables = to_pulp(mm)
    kwargs = {"msg": False, "gapRel": opts.rel_gap}
    if opts.time_limit_s is not None:
        kwargs["timeLimit"] = opts.time_limit_s
    if opts.name == "cbc":
        available = pulp.listSolvers(onlyAvailable=True)
        cbc = next((s for s in ("PULP_CBC_CMD", "COIN_CMD") if s in available), None)
        if cbc is None:
            raise SitingError("solver cbc is not installed; install siting[cbc] or use highs")
        solver = pulp.getSolver(cbc, **kwargs)
    else:
        solver = pulp.HiGHS(**kwargs)
    stats = prob.solve(solver)
    S = pulp.LpSolveStatus
    values = (np.array([v.varValue for v in variables], float) if stats.has_solution else None)
    if stats.status == S.Optimal:
        status = "optimal"
    elif stats.status == S.Infeasible:
        status = "infeasible"
    elif stats.has_solution:
        status = "feasible"
    else:
        status = "no_solution"
    obj = float(pulp.value(prob.objective)) if values is not None else None
    bound = stats.best_bound if stats.best_bound is not None else (obj if status == "optimal" else None)
    gap = _rel_gap(obj, bound) if bound is not None else None
    return RawSolution(status, obj, bound, gap, opts.name, time.perf_counter() - t0, values,
                       detail={"pulp_status": stats.status.name})
