"""The hourly model, family by family (s sites, w workloads, j segments, k technologies,
t hours; ``lam_sj`` is the site's load in MW in every hour of segment j).

Variables: ``x_ws`` share of w at s (binary when w is unsplittable), ``y_s`` open,
``lam_sj`` load, ``P_sk`` procured MW, and three *credits* per site: the carbon-free energy
used ``cfe_s = sum_t m_st`` and what it saves, ``cred_co2_s = sum_t ci_st m_st / 1000`` and
``cred_cost_s = sum_t price_st m_st``, where ``m_st <= min(L_st, sum_k cf_skt P_sk)`` is the
clean energy used in hour t.

    assign:    sum_s x_ws = 1;  x_ws <= y_s
    load:      lam_sj = pue_s sum_w active_wj itpower_w x_ws
    capacity:  sum_w active_wj gpus_w x_ws <= capacity_gpus_s y_s     (every segment = every hour)
               lam_sj <= capacity_mw_s y_s                           (when a MW cap is given)
    procure:   P_sk <= potential_sk y_s
    max_sites: sum_s y_s <= max_sites

The plan's figures are linear in these (the accounting rule of ``siting.accounting``):

    co2_t    = sum_sj G_sj lam_sj + sum_sk LC_sk P_sk - sum_s cred_co2_s + sum_s embodied_s y_s
    cost_usd = sum_sj C_sj lam_sj + sum_sk A_k P_sk - sum_s cred_cost_s + sum_s fixed_s y_s
    cfe      = sum_s cfe_s / sum_sj hours_j lam_sj

with ``G_sj = sum_{t in j} ci_st / 1000`` (location-based tCO2e of 1 MW for segment j),
``C_sj = sum_{t in j} price_st``, ``LC_sk`` the lifecycle tCO2e of everything 1 MW
generates, ``A_k`` the pro-rata annuity of 1 MW.

How the credits are bounded is the one difference between the two formulations:

* ``explicit``: hour-by-hour columns ``m_st`` (and storage) and rows, exactly as written
  (:func:`define_hourly_balance`). Valid for every input; large (S x T columns).
* ``decomposed``: no hourly columns. Without storage, ``F_s(lam, P) = sum_t v_t min(L_t,
  sum_k cf_kt P_k)`` is concave in (lam, P) for any weights v >= 0, and every credit is such
  an F (v = ci/1000, price or 1). Each cut ``cred_s <= sum_t v_t [L_t or G_t]`` (choosing in
  each hour the branch active at a trial point) is valid everywhere and exact at that point,
  so adding violated cuts until none is left gives the explicit model's optimum
  (:mod:`siting.model.hourly.decompose`). With a battery a site's credits are values of its
  dispatch LP, concave in (lam, P, E) too, and cut by its duals
  (:mod:`siting.model.hourly.dispatch`). Valid when prices are >= 0 (checked by
  :class:`~siting.model.hourly.problem.HourlyProblem`); for every objective.
"""

from __future__ import annotations

import numpy as np

from siting.accounting import co2_t_per_mwh
from siting.model.hourly.linear import LinearModel
from siting.model.hourly.problem import HourlyProblem, Objective

CREDITS = ("cred_co2", "cred_cost", "cfe")


def credit_weights(p: HourlyProblem) -> dict[str, np.ndarray]:
    """(S, T) weight of one MWh of clean energy used, per credit."""
    return {"cred_co2": co2_t_per_mwh(p.grid_ci), "cred_cost": p.price, "cfe": np.ones_like(p.grid_ci)}


# ------------------------------------------------------------------ families
def define_assignment(m: LinearModel, p: HourlyProblem) -> None:
    S, W = p.n_sites, p.n_workloads
    split = p.workloads["splittable"].to_numpy(bool)
    x = m.add_vars("x", (W, S), 0.0, 1.0)
    m.integer[-1] = np.repeat(~split, S)
    y = m.add_vars("y", (S,), 0.0, 1.0, integer=True)
    w_idx, s_idx = np.meshgrid(np.arange(W), np.arange(S), indexing="ij")
    m.add_rows("assign", w_idx, x, 1.0, W, 1.0, 1.0)
    n = W * S
    r = np.arange(n)
    m.add_rows(
        "x_le_y",
        np.concatenate([r, r]),
        np.concatenate([x.ravel(), y[s_idx.ravel()]]),
        np.concatenate([np.ones(n), -np.ones(n)]),
        n,
        -np.inf,
        0.0,
    )


def define_load(m: LinearModel, p: HourlyProblem) -> None:
    S, J = p.n_sites, p.segments.n
    x = m.cols["x"]
    lam = m.add_vars("lam", (S, J), 0.0, np.inf)
    pue = p.sites["pue"].to_numpy(float)
    coef = p.it_mw_by_segment  # (W, J)
    rows, cols, vals = [], [], []
    for s in range(S):  # a block per site: lam_sj - pue_s sum_w coef_wj x_ws = 0
        w_j = np.nonzero(coef)
        rows += [s * J + w_j[1], s * J + np.arange(J)]
        cols += [x[w_j[0], s], lam[s]]
        vals += [-pue[s] * coef[w_j], np.ones(J)]
    m.add_rows("load", np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), S * J, 0.0, 0.0)


def define_capacity(m: LinearModel, p: HourlyProblem) -> None:
    """GPUs busy and (when given) the facility MW in every hour, as rows for the segments of
    :attr:`HourlyProblem.maximal_segments` only (the others are implied; valid for every input
    and objective, since shares and rates are >= 0). ``m.segments_of["gpu_capacity"]`` maps
    the rows' second axis to segments."""
    S = p.n_sites
    keep = p.maximal_segments
    J = keep.size
    x, y, lam = m.cols["x"], m.cols["y"], m.cols["lam"][:, keep]
    cap = p.sites["capacity_gpus"].to_numpy(float)
    gw = (p.active * p.gpus_busy[:, None])[:, keep]  # (W, J kept)
    w_i, j_i = np.nonzero(gw)
    rows, cols, vals = [], [], []
    for s in range(S):
        rows += [s * J + j_i, s * J + np.arange(J)]
        cols += [x[w_i, s], np.full(J, y[s])]
        vals += [gw[w_i, j_i], np.full(J, -cap[s])]
    m.segments_of["gpu_capacity"] = keep
    m.segments_of["mw_capacity"] = keep
    m.add_rows(
        "gpu_capacity", np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), S * J, -np.inf, 0.0
    )
    cap_mw = p.sites["capacity_mw"].to_numpy(float)
    capped = np.flatnonzero(np.isfinite(cap_mw) & (cap_mw > 0))
    if capped.size:
        n = capped.size * J
        r = np.arange(n)
        m.add_rows(
            "mw_capacity",
            np.concatenate([r, r]),
            np.concatenate([lam[capped].ravel(), np.repeat(y[capped], J)]),
            np.concatenate([np.ones(n), -np.repeat(cap_mw[capped], J)]),
            n,
            -np.inf,
            0.0,
        )


def define_procurement(m: LinearModel, p: HourlyProblem) -> None:
    S, K = p.n_sites, p.n_tech
    y = m.cols["y"]
    pot = p.potential_mw
    P = m.add_vars("P", (S, K), 0.0, np.where(np.isfinite(pot), pot, np.inf))
    lim = np.argwhere(np.isfinite(pot) & (pot > 0))
    if len(lim):
        r = np.arange(len(lim))
        m.add_rows(
            "procure_le_y",
            np.concatenate([r, r]),
            np.concatenate([P[lim[:, 0], lim[:, 1]], y[lim[:, 0]]]),
            np.concatenate([np.ones(len(lim)), -pot[lim[:, 0], lim[:, 1]]]),
            len(lim),
            -np.inf,
            0.0,
        )
    if p.has_storage:
        m.add_vars("E", (S,), 0.0, p.storage_potential_mwh)
        E, n = m.cols["E"], S
        r = np.arange(n)
        m.add_rows(
            "storage_le_y",
            np.concatenate([r, r]),
            np.concatenate([E, y]),
            np.concatenate([np.ones(n), -p.storage_potential_mwh]),
            n,
            -np.inf,
            0.0,
        )


def define_credits(m: LinearModel, p: HourlyProblem) -> None:
    """The three credits per site, bounded by the trivial cuts ``cred <= sum_t v_t L_t`` and
    ``cred <= sum_t v_t G_t`` (valid in both formulations). With a battery energy moves to
    hours of higher weight, so the second becomes ``cred <= max_t v_t sum_t G_t`` (a battery
    loses energy: sum_t m_t <= sum_t G_t)."""
    S = p.n_sites
    lam, P = m.cols["lam"], m.cols["P"]
    battery = p.battery_sites
    for name, v in credit_weights(p).items():
        c = m.add_vars(name, (S,), 0.0, np.inf)
        a = p.segment_sum(v)  # (S, J)
        b = np.einsum("st,skt->sk", v, p.cf)  # (S, K)
        b[battery] = v[battery].max(axis=1)[:, None] * p.cf[battery].sum(axis=2)
        add_credit_cuts(m, name, c, lam, P, a, b, tag="init")
        m.init_cuts[name] = (a, b)


def add_credit_cuts(
    m: LinearModel,
    name: str,
    cred,
    lam,
    P,
    a_lam: np.ndarray,
    b_P: np.ndarray,
    tag: str,
    sites: np.ndarray | None = None,
) -> None:
    """Rows ``cred_s <= a_s . lam_s`` and ``cred_s <= b_s . P_s`` (initial cuts)."""
    S = len(cred)
    sites = np.arange(S) if sites is None else sites
    for label, cols_of, coef in (("lam", lam, a_lam), ("P", P, b_P)):
        n = len(sites)
        width = cols_of.shape[1]
        r = np.repeat(np.arange(n), width + 1)
        cols = np.column_stack([cred[sites], cols_of[sites]]).ravel()
        vals = np.column_stack([np.ones(n), -coef[sites]]).ravel()
        m.add_rows(f"{name}_{tag}_{label}", r, cols, vals, n, -np.inf, 0.0)


def define_hourly_balance(m: LinearModel, p: HourlyProblem) -> None:
    """The explicit hourly rows: ``m_st <= L_st``, ``m_st + ch - dis <= sum_k cf P``, storage
    dynamics, and each credit equal to its weighted sum of ``m_st``."""
    S, T, K = p.n_sites, p.n_hours, p.n_tech
    lam, P = m.cols["lam"], m.cols["P"]
    mm = m.add_vars("m", (S, T), 0.0, np.inf)
    t = np.arange(T)
    seg = p.segments.of_hour
    rows, cols, vals = [], [], []
    for s in range(S):
        rows += [s * T + t, s * T + t]
        cols += [mm[s], lam[s, seg]]
        vals += [np.ones(T), -np.ones(T)]
    m.add_rows(
        "m_le_load", np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), S * T, -np.inf, 0.0
    )
    storage = p.has_storage
    if storage:
        ch = m.add_vars("ch", (S, T), 0.0, np.inf)
        dis = m.add_vars("dis", (S, T), 0.0, np.inf)
        soc = m.add_vars("soc", (S, T), 0.0, np.inf)
    rows, cols, vals = [], [], []
    for s in range(S):
        rows.append(s * T + t)
        cols.append(mm[s])
        vals.append(np.ones(T))
        for k in range(K):
            rows.append(s * T + t)
            cols.append(np.full(T, P[s, k]))
            vals.append(-p.cf[s, k])
        if storage:
            rows += [s * T + t, s * T + t]
            cols += [ch[s], dis[s]]
            vals += [np.ones(T), -np.ones(T)]
    m.add_rows(
        "m_le_supply", np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), S * T, -np.inf, 0.0
    )
    if storage:
        E = m.cols["E"]
        eta, dur = p.storage["efficiency"], p.storage["duration_h"]
        rows, cols, vals = [], [], []
        for s in range(S):
            rows += [s * T + t] * 4
            cols += [soc[s], soc[s, (t - 1) % T], ch[s], dis[s]]
            vals += [np.ones(T), -np.ones(T), -eta * np.ones(T), np.ones(T)]
        m.add_rows(
            "soc_balance", np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), S * T, 0.0, 0.0
        )
        for name, var, scale in (
            ("charge_le_power", ch, 1.0 / dur),
            ("discharge_le_power", dis, 1.0 / dur),
            ("soc_le_energy", soc, 1.0),
        ):
            r = np.arange(S * T)
            m.add_rows(
                name,
                np.concatenate([r, r]),
                np.concatenate([var.ravel(), np.repeat(E, T)]),
                np.concatenate([np.ones(S * T), -scale * np.ones(S * T)]),
                S * T,
                -np.inf,
                0.0,
            )
    for name, v in credit_weights(p).items():
        cred = m.cols[name]
        rows = np.concatenate([np.repeat(np.arange(S), T), np.arange(S)])
        cols = np.concatenate([mm.ravel(), cred])
        vals = np.concatenate([-v.ravel(), np.ones(S)])
        m.add_rows(f"{name}_exact", rows, cols, vals, S, -np.inf, 0.0)


def define_max_sites(m: LinearModel, p: HourlyProblem) -> None:
    if p.max_sites is not None:
        y = m.cols["y"]
        m.add_rows("max_sites", np.zeros(len(y)), y, 1.0, 1, -np.inf, float(p.max_sites))


# ------------------------------------------------------------------ figures (objective terms)
def co2_terms(m: LinearModel, p: HourlyProblem) -> np.ndarray:
    """Coefficient vector of the plan's tCO2e (hourly-matched, with embodied emissions)."""
    c = np.zeros(m.n_cols)
    c[m.cols["lam"]] = p.segment_sum(co2_t_per_mwh(p.grid_ci))
    c[m.cols["P"]] = p.lifecycle_t_per_mw()
    c[m.cols["cred_co2"]] = -1.0
    c[m.cols["y"]] = p.sites["embodied_t"].to_numpy(float)
    return c


def cost_terms(m: LinearModel, p: HourlyProblem) -> np.ndarray:
    """Coefficient vector of the plan's cost (USD over the horizon)."""
    c = np.zeros(m.n_cols)
    c[m.cols["lam"]] = p.segment_sum(p.price)
    c[m.cols["P"]] = np.broadcast_to(p.capacity_cost_usd_per_mw(), m.cols["P"].shape)
    c[m.cols["cred_cost"]] = -1.0
    c[m.cols["y"]] = p.sites["fixed_cost_usd"].to_numpy(float)
    if "E" in m.cols:
        c[m.cols["E"]] = p.storage_cost_usd_per_mwh()
    return c


def load_terms(m: LinearModel, p: HourlyProblem) -> np.ndarray:
    """Coefficient vector of the facility energy (MWh), per site as rows of a matrix."""
    c = np.zeros(m.n_cols)
    c[m.cols["lam"]] = np.broadcast_to(p.segments.hours, m.cols["lam"].shape)
    return c


def define_objective(m: LinearModel, p: HourlyProblem, obj: Objective) -> None:
    """The objective assembled from terms, and the limits of ``obj`` as rows."""
    co2, cost = co2_terms(m, p), cost_terms(m, p)
    if obj.kind == "min_co2":
        m.cost = co2
    elif obj.kind == "min_cost":
        m.cost = cost
    else:
        m.cost = cost + obj.carbon_price_usd_per_t * co2
    all_cols = np.arange(m.n_cols)
    if obj.co2_cap_t is not None:
        nz = np.flatnonzero(co2)
        m.add_rows("co2_cap", np.zeros(nz.size), all_cols[nz], co2[nz], 1, -np.inf, obj.co2_cap_t)
    if obj.budget_usd is not None:
        nz = np.flatnonzero(cost)
        m.add_rows("budget", np.zeros(nz.size), all_cols[nz], cost[nz], 1, -np.inf, obj.budget_usd)
    if obj.cfe_target is not None:
        lam, cfe = m.cols["lam"], m.cols["cfe"]
        hours = np.broadcast_to(p.segments.hours, lam.shape)
        if obj.cfe_scope == "overall":
            cols = np.concatenate([cfe, lam.ravel()])
            vals = np.concatenate([np.ones(len(cfe)), -obj.cfe_target * hours.ravel()])
            m.add_rows("cfe_target", np.zeros(cols.size), cols, vals, 1, 0.0, np.inf)
        else:
            S, J = lam.shape
            rows = np.concatenate([np.arange(S), np.repeat(np.arange(S), J)])
            cols = np.concatenate([cfe, lam.ravel()])
            vals = np.concatenate([np.ones(S), -obj.cfe_target * hours.ravel()])
            m.add_rows("cfe_target_site", rows, cols, vals, S, 0.0, np.inf)


def create_model(p: HourlyProblem, obj: Objective, formulation: str = "decomposed") -> LinearModel:
    """The model, read top to bottom. ``decomposed`` leaves the credits to cuts."""
    m = LinearModel()
    define_assignment(m, p)
    define_load(m, p)
    define_capacity(m, p)
    define_procurement(m, p)
    define_credits(m, p)
    if formulation == "explicit":
        define_hourly_balance(m, p)
    define_max_sites(m, p)
    define_objective(m, p, obj)
    return m
