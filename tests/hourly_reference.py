"""An independent explicit hourly model with scipy.optimize.milp (HiGHS inside scipy, but
built here from the algebra in the issue, without siting's model code): the oracle the
hourly tests compare against. Only the input arrays of an HourlyProblem are read."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp


def reference_model(
    p, kind="min_co2", co2_cap_t=None, budget_usd=None, carbon_price=0.0, cfe_target=None, cfe_scope="overall"
):
    """The explicit model as arrays: objective ``c``, rows ``A`` with bounds ``lo``/``hi``,
    column ``integrality`` and upper bounds ``ub``, the blocks ``x`` (W, S) and ``y`` (S,), and
    the figures ``co2``, ``cost``, ``load`` and the CFE columns ``m`` (S, T)."""
    S, W, K, T = p.n_sites, p.n_workloads, p.n_tech, p.n_hours
    first = p.workloads["first_hour"].to_numpy(int)
    last = p.workloads["last_hour"].to_numpy(int)
    hours = np.arange(T)
    run = (hours[None, :] >= first[:, None]) & (hours[None, :] < last[:, None])  # (W, T)
    gpus = p.workloads["gpu_hours"].to_numpy(float) / (last - first)
    power = (
        gpus
        * p.workloads["gpu_power_kw"].to_numpy(float)
        * (1 + p.workloads["overhead_share"].to_numpy(float))
        / 1000
    )
    pue = p.sites["pue"].to_numpy(float)
    cap = p.sites["capacity_gpus"].to_numpy(float)
    storage = p.storage_potential_mwh is not None and np.any(p.storage_potential_mwh > 0)
    # column layout
    n = 0

    def block(size):
        nonlocal n
        idx = np.arange(n, n + size)
        n += size
        return idx

    x = block(W * S).reshape(W, S)
    y = block(S)
    P = block(S * K).reshape(S, K)
    m = block(S * T).reshape(S, T)
    if storage:
        E = block(S)
        ch = block(S * T).reshape(S, T)
        dis = block(S * T).reshape(S, T)
        soc = block(S * T).reshape(S, T)
    rows, lo, hi = [], [], []

    def add(coefs: dict, lo_v, hi_v):
        r = np.zeros(n)
        for c, v in coefs.items():
            r[c] += v
        rows.append(r)
        lo.append(lo_v)
        hi.append(hi_v)

    for w in range(W):
        add({int(x[w, s]): 1.0 for s in range(S)}, 1, 1)
        for s in range(S):
            add({int(x[w, s]): 1.0, int(y[s]): -1.0}, -np.inf, 0)
    for s in range(S):
        for t in range(T):
            busy = {int(x[w, s]): gpus[w] for w in range(W) if run[w, t]}
            if busy:
                add({**busy, int(y[s]): -cap[s]}, -np.inf, 0)
            load = {int(x[w, s]): -pue[s] * power[w] for w in range(W) if run[w, t]}
            add({int(m[s, t]): 1.0, **load}, -np.inf, 0)  # m <= load
            sup = {int(m[s, t]): 1.0}
            for k in range(K):
                sup[int(P[s, k])] = -p.cf[s, k, t]
            if storage:
                sup[int(ch[s, t])] = 1.0
                sup[int(dis[s, t])] = -1.0
                eta, d = p.storage["efficiency"], p.storage["duration_h"]
                add(
                    {
                        int(soc[s, t]): 1.0,
                        int(soc[s, (t - 1) % T]): -1.0,
                        int(ch[s, t]): -eta,
                        int(dis[s, t]): 1.0,
                    },
                    0,
                    0,
                )
                add({int(ch[s, t]): 1.0, int(E[s]): -1.0 / d}, -np.inf, 0)
                add({int(dis[s, t]): 1.0, int(E[s]): -1.0 / d}, -np.inf, 0)
                add({int(soc[s, t]): 1.0, int(E[s]): -1.0}, -np.inf, 0)
            add(sup, -np.inf, 0)
        for k in range(K):
            if np.isfinite(p.potential_mw[s, k]):
                add({int(P[s, k]): 1.0, int(y[s]): -p.potential_mw[s, k]}, -np.inf, 0)
        if storage:
            add({int(E[s]): 1.0, int(y[s]): -p.storage_potential_mwh[s]}, -np.inf, 0)
    if p.max_sites is not None:
        add({int(c): 1.0 for c in y}, -np.inf, p.max_sites)
    # figures as coefficient vectors; load L_st = pue_s sum_w run_wt power_w x_ws
    co2 = np.zeros(n)
    cost = np.zeros(n)
    load = np.zeros(n)
    lc = p.technologies["lifecycle_ci_g_per_kwh"].to_numpy(float)
    ann = p.technologies["annuity_usd_per_kw_year"].to_numpy(float) * 1000 * T / 8760
    for s in range(S):
        for w in range(W):
            e = pue[s] * power[w] * run[w]  # (T,) MWh per hour
            co2[x[w, s]] += (e * p.grid_ci[s]).sum() / 1000
            cost[x[w, s]] += (e * p.price[s]).sum()
            load[x[w, s]] += e.sum()
        co2[m[s]] -= p.grid_ci[s] / 1000
        cost[m[s]] -= p.price[s]
        for k in range(K):
            co2[P[s, k]] += lc[k] * p.cf[s, k].sum() / 1000
            cost[P[s, k]] += ann[k]
        co2[y[s]] += p.sites["embodied_t"].iloc[s]
        cost[y[s]] += p.sites["fixed_cost_usd"].iloc[s]
        if storage:
            cost[E[s]] += p.storage["annuity_usd_per_kwh_year"] * 1000 * T / 8760
    if co2_cap_t is not None:
        rows.append(co2)
        lo.append(-np.inf)
        hi.append(co2_cap_t)
    if budget_usd is not None:
        rows.append(cost)
        lo.append(-np.inf)
        hi.append(budget_usd)
    if cfe_target is not None:
        if cfe_scope == "overall":
            r = np.zeros(n)
            r[m.ravel()] = 1.0
            rows.append(r - cfe_target * load)
            lo.append(0)
            hi.append(np.inf)
        else:
            for s in range(S):
                r = np.zeros(n)
                r[m[s]] = 1.0
                for w in range(W):
                    r[x[w, s]] -= cfe_target * pue[s] * (power[w] * run[w]).sum()
                rows.append(r)
                lo.append(0)
                hi.append(np.inf)
    c = {"min_co2": co2, "min_cost": cost}.get(kind, cost + carbon_price * co2)
    integrality = np.zeros(n)
    split = p.workloads["splittable"].to_numpy(bool)
    integrality[x[~split].ravel()] = 1
    integrality[y] = 1
    ub = np.full(n, np.inf)
    ub[x.ravel()] = 1
    ub[y] = 1
    return {
        "c": c,
        "A": sp.csr_matrix(np.array(rows)),
        "lo": np.array(lo, float),
        "hi": np.array(hi, float),
        "integrality": integrality,
        "ub": ub,
        "x": x,
        "y": y,
        "m": m,
        "co2": co2,
        "cost": cost,
        "load": load,
    }


def reference_solve(
    p, kind="min_co2", co2_cap_t=None, budget_usd=None, carbon_price=0.0, cfe_target=None, cfe_scope="overall"
):
    r = reference_model(p, kind, co2_cap_t, budget_usd, carbon_price, cfe_target, cfe_scope)
    n = len(r["c"])
    res = milp(
        r["c"],
        constraints=LinearConstraint(r["A"], r["lo"], r["hi"]),
        integrality=r["integrality"],
        bounds=Bounds(np.zeros(n), r["ub"]),
        options={"mip_rel_gap": 1e-9, "disp": False},
    )
    if res.x is None:
        return None
    return {
        "objective": float(res.fun),
        "co2_t": float(r["co2"] @ res.x),
        "cost_usd": float(r["cost"] @ res.x),
        "cfe": float(res.x[r["m"].ravel()].sum() / (r["load"] @ res.x)),
    }


def reference_fixed_lp(p, y, x_fixed, kind="min_co2", **limits) -> float:
    """Optimal objective of the explicit LP with the site openings ``y`` (S,) and the shares of
    the unsplittable workloads (rows of ``x_fixed`` (W, S)) fixed; ``inf`` when infeasible.
    ``limits``: co2_cap_t, budget_usd, carbon_price, cfe_target, cfe_scope."""
    r = reference_model(p, kind, **limits)
    n = len(r["c"])
    lb, ub = np.zeros(n), r["ub"].copy()
    lb[r["y"]] = ub[r["y"]] = np.round(y)
    unsplit = ~p.workloads["splittable"].to_numpy(bool)
    cols = r["x"][unsplit].ravel()
    lb[cols] = ub[cols] = np.round(np.asarray(x_fixed)[unsplit].ravel())
    res = milp(
        r["c"],
        constraints=LinearConstraint(r["A"], r["lo"], r["hi"]),
        bounds=Bounds(lb, ub),
        options={"disp": False, "presolve": True},
    )
    return float(res.fun) if res.x is not None else float("inf")
