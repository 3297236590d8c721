"""The optimisation entry point: problem -> checks -> model -> solve -> solution."""

from __future__ import annotations

import dataclasses
import time

from siting.errors import InfeasibleError, NoSolutionError
from siting.model.dive import reduced_cost_fixing
from siting.model.feasibility import check_feasibility, explain_solver_infeasible
from siting.model.formulation import MatrixModel, ModelOptions, formulate, without_packing_rows
from siting.model.marginals import marginal_values
from siting.model.scenario import Problem, Scenario, SolverOptions, load_problem
from siting.model.solution import Solution, build_solution
from siting.model.solve import solve_highs, solve_pulp
from siting.model.start import Start
from siting.model.warmstart import warm_start


def prepare(problem: Problem, options: ModelOptions, solver: SolverOptions
            ) -> tuple[MatrixModel, Start | None, float]:
    """The model, a start solution and the seconds both took. The compact formulation also
    gets the LP-dive start and reduced-cost fixing (on the model with its packing rows, whose
    LP bound is tighter); the plain one is built as written."""
    t0 = time.perf_counter()
    dive = options.formulation == "compact" and options.warm_start
    # "start" packing rows are built only for the dive, which is their one use
    packing = options.packing_rows == "model" or (dive and options.packing_rows == "start")
    mm = formulate(problem, options, packing_rows=packing)
    start = None
    if dive and mm.integer.any():
        budget = (None if solver.time_limit_s is None
                  else problem.assumptions["solver_warm_start_share"] * solver.time_limit_s)
        start = warm_start(mm, budget)
        if start is not None and not satisfies_rows(mm, start.values):
            start = None  # a start that breaks a row (e.g. capacity in one month) is no start
        if options.reduced_cost_fixing and start is not None and start.root is not None:
            fixed = reduced_cost_fixing(mm, start.root, float(mm.cost @ start.values))
            ub = mm.ub.copy()
            ub[fixed] = 0.0
            mm = dataclasses.replace(mm, ub=ub, n_fixed_by_reduced_cost=len(fixed))
    if options.packing_rows == "start":
        mm = without_packing_rows(mm)
    return mm, start, time.perf_counter() - t0


def satisfies_rows(mm: MatrixModel, values, tol: float = 1e-7) -> bool:
    """Does ``values`` keep every row and bound of ``mm`` (to ``tol``)? Reduced-cost fixing
    and the hand-over are valid only from a feasible start."""
    ax = mm.A @ values
    return bool((ax >= mm.row_lb - tol).all() and (ax <= mm.row_ub + tol).all()
                and (values >= mm.lb - tol).all() and (values <= mm.ub + tol).all())


MIN_SOLVE_S = 1.0


def remaining_time(solver: SolverOptions, spent_s: float) -> SolverOptions:
    """The solver options with the time limit reduced by what building and the start took,
    so the whole run keeps to the limit the user set."""
    if solver.time_limit_s is None:
        return solver
    left = max(MIN_SOLVE_S, solver.time_limit_s - spent_s)
    return solver.model_copy(update={"time_limit_s": left})


def optimize(problem: Problem | Scenario, *, solver: SolverOptions | None = None,
             options: ModelOptions | None = None, backend: str = "arrays",
             marginals: bool = True) -> Solution:
    """Place the workloads on the sites with the least CO2.

    ``backend="arrays"`` hands the model to HiGHS directly; ``backend="pulp"`` builds the
    PuLP problem and solves it with the chosen PuLP solver (the only way to use CBC).
    With ``marginals`` (the default) the solution carries its marginal values
    (``solution.marginals``, one LP solve with the integer decisions fixed), which is what
    a report reads; without them the solution cannot be reported."""
    if isinstance(problem, Scenario):
        if problem.periods == "hourly":
            from siting.model.hourly.optimize import optimize_scenario

            return optimize_scenario(problem, solver)
        solver = solver or problem.solver
        problem = load_problem(problem)
    solver = solver or SolverOptions()
    options = options or ModelOptions()
    check_feasibility(problem)
    mm, start, build_s = prepare(problem, options, solver)
    solver = remaining_time(solver, build_s)
    if solver.name == "cbc" or backend == "pulp":
        raw = solve_pulp(mm, solver)
    else:
        raw = solve_highs(mm, solver, start)
    if raw.status == "infeasible":
        raise InfeasibleError(explain_solver_infeasible(problem))
    if raw.values is None:
        raise NoSolutionError(f"no feasible plan found ({raw.status}, "
                              f"{raw.detail.get('highs_status', '')}) within the limits; "
                              "raise solver.time_limit_s")
    solution = build_solution(mm, raw, build_s)
    if marginals:
        solution.tables["marginals"] = marginal_values(mm, raw.values)
    return solution
