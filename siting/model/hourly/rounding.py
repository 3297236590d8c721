"""A plan from a fractional master solution (LP rounding): an incumbent, and so a gap, before
any MIP round.

Sites are taken in the order of the energy the LP placed there; each workload, largest first,
goes whole to the first taken site (those where the LP put most of it first) that holds it in
every segment (GPUs and, when given, the facility MW cap), and a new site is taken while
``max_sites`` allows. Procurement and batteries are the LP's per opened unit (``P / y``,
within the potential). Credits are not set here: the caller evaluates the plan with exact
credits and keeps it only if it meets every limit and beats the incumbent.

Valid as a heuristic for every objective and input: it only proposes plans, so it never
changes the optimum or the bound, only how early a feasible plan exists.
"""

from __future__ import annotations

import numpy as np

from siting.model.hourly.linear import LinearModel
from siting.model.hourly.problem import HourlyProblem

# relative slack allowed on a capacity row (the master's rows hold to HiGHS's 1e-7 tolerance)
FIT_TOL = 1e-9


def round_plan(p: HourlyProblem, m: LinearModel, values: np.ndarray) -> np.ndarray | None:
    """A whole plan near the fractional ``values``, or None when the greedy packing fails."""
    x = np.clip(values[m.cols["x"]], 0.0, 1.0)  # (W, S)
    y = np.clip(values[m.cols["y"]], 0.0, 1.0)
    S, W = p.n_sites, p.n_workloads
    energy = p.workloads["gpu_hours"].to_numpy(float)  # the size of a workload
    order = np.lexsort((-y, -(x.T @ energy)))  # most LP energy first, then largest y
    limit = S if p.max_sites is None else int(p.max_sites)
    cap = p.sites["capacity_gpus"].to_numpy(float)
    cap_mw = p.sites["capacity_mw"].to_numpy(float)
    cap_mw = np.where(np.isfinite(cap_mw) & (cap_mw > 0), cap_mw, np.inf)
    pue = p.sites["pue"].to_numpy(float)
    gw = p.active * p.gpus_busy[:, None]  # (W, J) GPUs busy
    mw = p.it_mw_by_segment  # (W, J) IT MW
    used_gpu = np.zeros((S, gw.shape[1]))
    used_mw = np.zeros((S, gw.shape[1]))
    chosen: list[int] = []
    taken = np.zeros(S, bool)
    xr = np.zeros((W, S))
    for w in np.argsort(-p.gpus_busy, kind="stable"):
        own = sorted(chosen, key=lambda s: -x[w, s])
        fresh = [int(s) for s in order if not taken[s]] if len(chosen) < limit else []
        for s in own + fresh:
            if np.all(used_gpu[s] + gw[w] <= cap[s] * (1 + FIT_TOL)) and np.all(
                used_mw[s] + pue[s] * mw[w] <= cap_mw[s] * (1 + FIT_TOL)
            ):
                break
        else:
            return None
        xr[w, s] = 1.0
        used_gpu[s] += gw[w]
        used_mw[s] += pue[s] * mw[w]
        if not taken[s]:
            taken[s] = True
            chosen.append(s)
    out = values.copy()
    out[m.cols["x"]] = xr
    out[m.cols["y"]] = taken.astype(float)
    out[m.cols["lam"]] = pue[:, None] * (xr.T @ mw)
    per_unit = np.where(y > FIT_TOL, 1.0 / np.maximum(y, FIT_TOL), 0.0)
    P = values[m.cols["P"]] * per_unit[:, None]
    out[m.cols["P"]] = np.where(taken[:, None], np.clip(P, 0.0, p.potential_mw), 0.0)
    if "E" in m.cols:
        E = values[m.cols["E"]] * per_unit
        out[m.cols["E"]] = np.where(taken, np.clip(E, 0.0, p.storage_potential_mwh), 0.0)
    return out
