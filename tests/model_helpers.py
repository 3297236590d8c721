"""Independent reference solutions for model tests (brute force with scipy's LP)."""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linprog

from siting.model.scenario import Problem


def lp_given(p: Problem, open_sites: tuple[int, ...], fixed: dict[int, int]) -> float:
    """Least emissions with exactly ``open_sites`` open (embodied paid for each) and each
    unsplittable workload ``w`` placed whole at ``fixed[w]``; the splittable ones by LP.
    Written from the issue's formulation, independently of siting.model.formulation."""
    st, wl = p.sites, p.workloads
    H, T = p.horizon_hours, p.n_periods
    opened = list(open_sites)
    split = [w for w in range(p.n_workloads) if wl["splittable"].iloc[w]]
    pue = st["pue"].to_numpy(float)
    gh = wl["gpu_hours"].to_numpy(float)
    e = wl["energy_mwh"].to_numpy(float)
    cap = st["capacity_gpus"].to_numpy(float) * H
    # GPU capacity holds in every period: a month holds its calendar share of the horizon
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], float)
    period_h = np.array([H]) if T == 1 else H * days / days.sum()
    cap_mw = st["capacity_mw"].to_numpy(float)
    rci = st["renewable_ci_g_per_kwh"].to_numpy(float)
    # fixed loads from unsplittable work
    fixed_gh = np.zeros((p.n_sites, T))
    fixed_load = np.zeros((p.n_sites, T))
    for w, s in fixed.items():
        if s not in opened:
            return np.inf
        fixed_gh[s] += gh[w] * p.share[w]
        fixed_load[s] += pue[s] * e[w] * p.share[w]
    nx, nr = len(split) * len(opened), len(opened) * T
    n = nx + 2 * nr  # x, r, g
    xi = lambda k, j: k * len(opened) + j  # noqa: E731
    ri = lambda j, t: nx + j * T + t  # noqa: E731
    gi = lambda j, t: nx + nr + j * T + t  # noqa: E731
    c = np.zeros(n)
    bounds = [(0, 1)] * nx + [(0, None)] * (2 * nr)
    A_eq, b_eq, A_ub, b_ub = [], [], [], []
    for j, s in enumerate(opened):
        for t in range(T):
            c[ri(j, t)] = rci[s] / 1000
            c[gi(j, t)] = p.grid_ci[s, t] / 1000
            bounds[ri(j, t)] = (0, p.renewable_mwh[s, t])
            row = np.zeros(n)
            row[ri(j, t)] = row[gi(j, t)] = 1
            for k, w in enumerate(split):
                row[xi(k, j)] = -pue[s] * e[w] * p.share[w, t]
            A_eq.append(row)
            b_eq.append(fixed_load[s, t])
        for t in range(T):
            row = np.zeros(n)
            for k, w in enumerate(split):
                row[xi(k, j)] = gh[w] * p.share[w, t]
            A_ub.append(row)
            b_ub.append(cap[s] / H * period_h[t] - fixed_gh[s, t])
        if not np.isnan(cap_mw[s]) and cap_mw[s] > 0:
            row = np.zeros(n)
            for k, w in enumerate(split):
                row[xi(k, j)] = pue[s] * e[w]
            A_ub.append(row)
            b_ub.append(cap_mw[s] * H - fixed_load[s].sum())
    for k, _ in enumerate(split):
        row = np.zeros(n)
        row[[xi(k, j) for j in range(len(opened))]] = 1
        A_eq.append(row)
        b_eq.append(1.0)
    if any(b < -1e-9 for b in b_ub):
        return np.inf
    res = linprog(c, A_ub=np.array(A_ub) if A_ub else None, b_ub=b_ub or None,
                  A_eq=np.array(A_eq) if A_eq else None, b_eq=b_eq or None, bounds=bounds,
                  method="highs")
    if res.status != 0:
        return np.inf
    return res.fun + st["embodied_t"].to_numpy(float)[opened].sum()


def brute_force(p: Problem) -> float:
    """Minimum over every open set (within max_sites) and every placement of the
    unsplittable workloads on it."""
    unsplit = [w for w in range(p.n_workloads) if not p.workloads["splittable"].iloc[w]]
    best = np.inf
    k_max = p.max_sites or p.n_sites
    for k in range(1, k_max + 1):
        for subset in itertools.combinations(range(p.n_sites), k):
            for placement in itertools.product(subset, repeat=len(unsplit)):
                best = min(best, lp_given(p, subset, dict(zip(unsplit, placement, strict=True))))
    return best
