"""Marginal values of an hourly plan: LP duals with the plan's integer decisions fixed.

Once the plan is final, the site openings ``y`` and the assignments of unsplittable
workloads are fixed at their values and the rest (shares of splittable workloads, loads,
procurement, credits) is solved again as an LP. Its duals say what one more unit of each
limit is worth *with the sites and whole-job placements kept*:

* per open site, GPU capacity (objective units per GPU-hour: one GPU more in every hour of
  the horizon is worth ``n_hours`` times the figure), the facility MW cap when there is one
  (per MW-hour, likewise), and each technology's potential (per MW of potential);
* globally, the CO2 cap (objective units per tCO2e: under a cost objective the USD saved by
  allowing one more tonne, i.e. the marginal abatement cost), the budget (tCO2e per USD
  under ``min_co2``) and the CFE target (objective units per percentage point).

``marginal_value`` is always the *improvement* of the objective (tCO2e or USD less) from
relaxing the limit by one unit (more GPUs, MW or tonnes allowed, more budget, a lower CFE
target), so it is >= 0; 0 means the limit does not bind at the margin.

Exactness. With the integer decisions fixed the explicit hourly model is an LP, and its
optimal value ``v(b)`` is a convex, piecewise-linear function of the right-hand sides ``b``
(capacities, potentials, the cap, the budget): the credits ``sum_t v_t min(L_t, G_t)`` are
piecewise linear, so the model is an exact LP, not an approximation of a smooth one.

* ``explicit`` formulation: the duals are those of that LP.
* ``decomposed`` formulation: the master's cuts stay in the LP, and cuts are added until
  none is violated at the LP's optimum (a few rounds). Every cut is valid for every ``b``,
  so the cut LP's value ``v_C(b) <= v(b)`` everywhere, with equality at the plan's ``b0``.
  A dual ``pi`` of the cut LP satisfies ``v_C(b) >= v_C(b0) + pi (b - b0)``, hence
  ``v(b) >= v(b0) + pi (b - b0)``: ``pi`` is a subgradient of the explicit LP's value
  function. Where ``v`` is differentiable (the usual, non-degenerate case) it is *the*
  derivative, equal to the explicit model's dual; at a kink (a limit exactly at a breakpoint,
  e.g. a site just full, or an hour where load equals generation) it lies between the
  one-sided derivatives, so a finite step gives at most that much (never more:
  ``v(b + d) - v(b) >= pi d``). The sharpest such kink is a limit at the edge of what the
  fixed sites can reach, e.g. the CO2 cap at the least-CO2 end of a Pareto front: ``v`` is
  infinite below it, every large enough number is a valid dual, and the dual HiGHS returns
  may exceed the value of relaxing the cap (the right derivative). In one run of the default scenario
  the least-CO2 point's dual is 10,628 USD/t while relaxing the cap by 0.1 % saves 2,499
  USD/t; at an interior point (3rd cap) the dual, 36.49 USD/t, equals the saving of
  relaxing by 0.1 % (tightening costs 40.78 USD/t: a kink, the dual is its right side).
* A site's capacity is one number for every hour, so its value is the sum of the duals of
  its hourly (per segment) rows: a subgradient along that direction, by the same argument.
* The CFE target multiplies the plan's energy (``cfe >= target x energy``), so it is not a
  right-hand side: its figure, ``dual x energy / 100``, is the first-order (envelope) change
  per percentage point, exact where the value is differentiable in the target.
* A row whose every column is fixed (e.g. a site holding only unsplittable workloads) has no
  informative dual (any value >= 0 satisfies the LP's optimality conditions; tightening it
  is infeasible, relaxing it changes nothing): its marginal value is reported as 0.

The figures are marginal for the fixed sites and placements: a large change can make another
choice of sites better, which only a new optimisation shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd

from siting.model.hourly.formulation import co2_terms, cost_terms
from siting.model.hourly.linear import INF, LinearModel
from siting.model.hourly.problem import HourlyProblem, Objective
from siting.model.marginals import BINDING_TOL  # one binding rule for both models

# rounds of cuts the fixed LP may take (each adds the cuts violated at its optimum)
MAX_ROUNDS = 200

MARGINAL_COLUMNS = [
    "constraint",
    "site_id",
    "technology",
    "marginal_value",
    "unit",
    "slack",
    "slack_unit",
    "binding",
    "binding_hours",
]


@dataclass
class FixedLP:
    """The LP with the integer decisions fixed, at its optimum (when ``status == "optimal"``)."""

    status: str  # optimal | infeasible | not_solved
    objective: float | None
    col_value: np.ndarray | None = None
    col_dual: np.ndarray | None = None
    row_value: np.ndarray | None = None
    row_dual: np.ndarray | None = None
    rounds: int = 0
    n_cuts: int = 0


def objective_unit(obj: Objective) -> str:
    """The unit of the objective (and so of every marginal value's numerator)."""
    return "tCO2e" if obj.kind == "min_co2" else "USD"


def solve_fixed_lp(
    h: highspy.Highs, m: LinearModel, values: np.ndarray, add_cuts=None, max_rounds: int = MAX_ROUNDS
) -> FixedLP:
    """Fix the integer columns of ``m`` at ``values`` (rounded) in ``h`` (an LP: integrality
    off), solve, and, when ``add_cuts(x) -> number of cuts added`` is given, repeat until no
    cut is added. The bounds of ``h`` are restored before returning."""
    ints = np.flatnonzero(m.is_integer).astype(np.int32)
    clb, cub, _, _ = m.bounds()
    fixed = np.round(values[ints])
    time_limit = h.getOptionValue("time_limit")
    time_limit = time_limit[1] if isinstance(time_limit, tuple) else time_limit
    h.setOptionValue("time_limit", INF)
    if ints.size:
        h.changeColsBounds(ints.size, ints, fixed, fixed)
    rounds, cuts = 0, 0
    try:
        while True:
            rounds += 1
            h.run()
            ms = h.getModelStatus()
            if ms in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
                return FixedLP("infeasible", None, rounds=rounds, n_cuts=cuts)
            if ms != highspy.HighsModelStatus.kOptimal:
                return FixedLP("not_solved", None, rounds=rounds, n_cuts=cuts)
            sol = h.getSolution()
            x = np.asarray(sol.col_value)
            added = 0 if add_cuts is None else add_cuts(x)
            cuts += added
            if added == 0 or rounds >= max_rounds:
                status = "optimal" if added == 0 else "not_solved"
                return FixedLP(
                    status,
                    float(m.cost @ x[: m.n_cols]),
                    x,
                    np.asarray(sol.col_dual),
                    np.asarray(sol.row_value),
                    np.asarray(sol.row_dual),
                    rounds,
                    cuts,
                )
    finally:
        if ints.size:
            lo = np.where(np.isfinite(clb[ints]), clb[ints], -INF)
            hi = np.where(np.isfinite(cub[ints]), cub[ints], INF)
            h.changeColsBounds(ints.size, ints, lo, hi)
        h.setOptionValue("time_limit", time_limit)


def fixed_lp(p: HourlyProblem, m: LinearModel, values: np.ndarray, master=None) -> FixedLP:
    """The fixed LP of a plan: on the decomposed ``master`` (its cuts kept, more added until
    none is violated) or, without one, on a fresh LP copy of ``m`` (the explicit model)."""
    if master is not None:
        from siting.model.hourly.decompose import CUT_TOL, relevant_credits

        names = relevant_credits(master.obj)
        return solve_fixed_lp(master.h, m, values, lambda x: master.add_cuts(x, names, CUT_TOL)[0])
    return solve_fixed_lp(m.to_highs(integer=False), m, values)


def marginal_table(
    p: HourlyProblem, obj: Objective, m: LinearModel, lp: FixedLP, values: np.ndarray
) -> pd.DataFrame:
    """The marginal values of the plan (see the module docstring), one row per limit:
    ``constraint`` (gpu_capacity, mw_capacity, technology_potential, co2_cap, budget,
    cfe_target), ``site_id`` and ``technology`` ('' when global), ``marginal_value`` in
    ``unit``, the ``slack`` in ``slack_unit``, ``binding`` and, for hourly limits, the hours
    in which they bind (``binding_hours``). Slack and binding are the plan's (``values``, as
    in the other tables); the marginal values are the fixed LP's, whose optimum is the plan's
    up to the MIP gap. Open sites only: a closed site's limits are worth nothing while it
    stays closed. Empty when the fixed LP did not solve."""
    if lp.status != "optimal":
        return pd.DataFrame(columns=MARGINAL_COLUMNS)
    u = objective_unit(obj)
    S, T = p.n_sites, p.n_hours
    ids = p.sites["site_id"].to_numpy()
    y = np.round(values[m.cols["y"]]) > 0.5
    x_lp, plan = lp.col_value, values
    rd, cd = lp.row_dual, lp.col_dual
    shares = plan[m.cols["x"]]  # (W, S)
    lam = plan[m.cols["lam"]]  # (S, J)
    hours = p.segments.hours.astype(float)
    rows = []

    def add(constraint, site, tech, value, unit, slack, slack_unit, binding, binding_hours=np.nan):
        rows.append(
            {
                "constraint": constraint,
                "site_id": site,
                "technology": tech,
                "marginal_value": float(value) + 0.0,  # no -0
                "unit": unit,
                "slack": float(slack),
                "slack_unit": slack_unit,
                "binding": bool(binding),
                "binding_hours": binding_hours,
            }
        )

    split = p.workloads["splittable"].to_numpy(bool)
    gw = p.active * p.gpus_busy[:, None]  # (W, J)
    free_rows = (gw[split] > 0).any(axis=0)  # (J,) a splittable workload could move

    def per_segment(name: str, s: int, cap_s: float, used, rows, unit: str, slack_unit: str) -> None:
        """A limit of one site in every segment (rows ``rows``, one per segment): its value is
        the sum of the segment duals per hour of the horizon, its slack the busiest hour's."""
        slack = cap_s - used  # free in each segment
        tight = slack <= BINDING_TOL * max(cap_s, 1.0)
        # rows exist for the segments of m.segments_of[name] only (the others are implied)
        dual = np.where(free_rows[m.segments_of.get(name, slice(None))], rd[rows], 0.0)
        add(name, ids[s], "", -dual.sum() / T, f"{u} per {unit}", slack.min(),
            f"{slack_unit} (busiest hour)", tight.any(), int(hours[tight].sum()))

    # GPU capacity: rows s*J + j, sum_w gw_wj x_ws - cap_s y_s <= 0
    cap = p.sites["capacity_gpus"].to_numpy(float)
    r = m.rows["gpu_capacity"].reshape(S, -1)
    for s in np.flatnonzero(y):
        per_segment("gpu_capacity", s, cap[s], shares[:, s] @ gw, r[s], "GPU-hour", "GPUs")
    # facility MW cap: lam_sj - cap_mw_s y_s <= 0 for the capped sites, in their order
    if "mw_capacity" in m.rows:
        cap_mw = p.sites["capacity_mw"].to_numpy(float)
        capped = np.flatnonzero(np.isfinite(cap_mw) & (cap_mw > 0))
        r = m.rows["mw_capacity"].reshape(capped.size, -1)
        for i, s in enumerate(capped):
            if y[s]:
                per_segment("mw_capacity", s, cap_mw[s], lam[s], r[i], "MW-hour", "MW")
    # technology potential: P_sk <= pot_sk y_s (row) and P_sk <= pot_sk (bound), both move
    pot = p.potential_mw
    lim = np.argwhere(np.isfinite(pot) & (pot > 0))
    if len(lim):
        techs = list(p.technologies.index)
        r = m.rows["procure_le_y"]
        Pc = m.cols["P"]
        for i, (s, k) in enumerate(lim):
            if not y[s]:
                continue
            col = Pc[s, k]
            tol = BINDING_TOL * max(pot[s, k], 1.0)
            slack = pot[s, k] - plan[col]
            # the bound's reduced cost belongs to the potential when the LP holds P at it
            d = rd[r[i]] + (cd[col] if pot[s, k] - x_lp[col] <= tol else 0.0)
            add("technology_potential", ids[s], techs[k], -d, f"{u} per MW", slack, "MW", slack <= tol)
    # global limits
    for name, limit, terms, unit in (("co2_cap", obj.co2_cap_t, co2_terms, "tCO2e"),
                                     ("budget", obj.budget_usd, cost_terms, "USD")):
        if limit is None or name not in m.rows:
            continue
        slack = limit - float(terms(m, p) @ plan)
        add(name, "", "", -rd[int(m.rows[name][0])], f"{u} per {unit}", slack, unit,
            slack <= BINDING_TOL * max(abs(limit), 1.0))
    if obj.cfe_target is not None:
        energy = lam @ hours  # (S,) MWh
        cfe = plan[m.cols["cfe"]]
        if obj.cfe_scope == "overall":
            i = int(m.rows["cfe_target"][0])
            e = float(energy.sum())
            share = float(cfe.sum()) / e if e > 0 else 0.0
            slack_pp = 100 * (share - obj.cfe_target)
            add(
                "cfe_target",
                "",
                "",
                rd[i] * e / 100,
                f"{u} per percentage point",
                slack_pp,
                "percentage points",
                slack_pp <= 100 * BINDING_TOL,
            )
        else:
            r = m.rows["cfe_target_site"]
            for s in np.flatnonzero(y):
                e = float(energy[s])
                share = float(cfe[s]) / e if e > 0 else 0.0
                slack_pp = 100 * (share - obj.cfe_target)
                add(
                    "cfe_target",
                    ids[s],
                    "",
                    rd[r[s]] * e / 100,
                    f"{u} per percentage point",
                    slack_pp,
                    "percentage points",
                    slack_pp <= 100 * BINDING_TOL,
                )
    return pd.DataFrame(rows, columns=MARGINAL_COLUMNS)


def plan_marginals(
    p: HourlyProblem, obj: Objective, m: LinearModel, values: np.ndarray, master=None
) -> tuple[pd.DataFrame, FixedLP]:
    """The marginal values of the plan ``values`` (the table of :func:`marginal_table`) and
    the fixed LP they come from. ``master``: the :class:`~siting.model.hourly.decompose.
    Decomposition` that solved the plan (aimed at ``obj``), else the explicit model ``m``."""
    lp = fixed_lp(p, m, values, master)
    return marginal_table(p, obj, m, lp, values), lp


def abatement_cost(table: pd.DataFrame) -> float | None:
    """The CO2 cap's marginal value (USD per tCO2e under a cost objective), None without a cap."""
    row = table[table["constraint"] == "co2_cap"]
    return None if row.empty else float(row["marginal_value"].iloc[0])
