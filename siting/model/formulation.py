r"""The placement MILP, built as sparse arrays (the one place the formulation lives).

Symbols (the README uses the same). Sites s, workloads w, periods t (one year, or 12 months).
IT energy of w: ``e_w = gpu_hours_w * gpu_power_kw_w * (1 + overhead_w) / 1000`` MWh;
``f_wt`` its share in period t; ``H`` the horizon in hours.

Variables: ``x_ws`` in [0, 1], the share of w at s (binary when w is unsplittable);
``y_s`` binary, site open; ``r_st, g_st >= 0`` renewable and grid MWh at s in t.

    (1) sum_s x_ws = 1                                     for each w
    (2) x_ws <= y_s
    (3) sum_w gpu_hours_w x_ws <= capacity_gpus_s * H * y_s
    (4) pue_s sum_w e_w x_ws <= capacity_mw_s * H             when capacity_mw is given
    (5) r_st + g_st = pue_s sum_w e_w f_wt x_ws
    (6) r_st <= renewable_mwh_st
    (7) sum_s y_s <= max_sites                               when given
    min  sum_st (grid_ci_st g_st + renewable_ci_s r_st) / 1000 + sum_s embodied_t_s y_s   [tCO2e]

``formulation="plain"`` builds exactly this. ``formulation="compact"`` (default) builds an
equivalent model with the same optimum that solves faster:

* g is eliminated: g_st = pue_s E_st - r_st, so (5) becomes ``r_st <= pue_s E_st`` and the
  objective charges every MWh at grid intensity and credits
  ``(grid_ci_st - renewable_ci_s) / 1000`` per renewable MWh; r exists only where that credit
  is positive and renewables exist (otherwise r = 0 is optimal).
* Identical workloads are aggregated: splittable ones with the same energy per GPU-hour and
  period profile merge into one; k identical unsplittable ones become one integer count
  ``0 <= n_cs <= k``. Shares and job placements are recovered exactly afterwards.
* y exists only when it matters (embodied emissions or max_sites); otherwise every site is
  effectively open and (2), (7) vanish. (2) is kept for unsplittable work only: for
  splittable work it is implied by (3).
* Pairs that cannot hold one unsplittable job are not created; share bounds are tightened
  to ``min(1, capacity / demand)``.
* Dominated sites are pruned (see :func:`dominated_sites`).
* Packing rows: for each site and k = 1, 2, 3,
  ``sum_c u_k(gpu_hours_c / capacity_s) n_cs <= y_s`` over whole jobs (1 in place of y_s
  when there is no y), with u_k a dual-feasible function (:func:`dual_feasible`; k = 1 says
  "at most one job over half the site"), and the same for MW caps. They hold for every
  integer plan and raise the root LP bound on the (400,60,12) benchmark (seed 1: 9,566 ->
  9,756 t against an optimum of 9,761 t; seed 3: 8,366 -> 8,828 t against 8,980 t). HiGHS
  itself ran slower with them in the model, so by default (``packing_rows="start"``) they
  serve the LP dive and reduced-cost fixing only and :func:`without_packing_rows` removes
  them before the MIP solve; both uses stay exact because the rows cut off no integer plan.
* Monthly mode uses site-energy auxiliaries ``E_sp`` per period profile p, so the balance
  rows have a handful of terms instead of one per workload.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from siting.model.scenario import Problem, facility_energy_cap_mwh

Formulation = Literal["plain", "compact"]
PACKING_KS = (1, 2, 3)  # the dual-feasible functions u_k the packing rows use


@dataclass(frozen=True)
class ModelOptions:
    formulation: Formulation = "compact"
    prune_sites: bool = True
    aggregate: bool = True
    link_splittable: bool = False  # add (2) for splittable work too (tighter LP, more rows)
    strengthen: bool = True  # per-job renewable caps in the balance rows (see module doc)
    warm_start: bool = True
    reduced_cost_fixing: bool = True  # fix binaries the root LP and the start rule out (exact)
    # packing rows (see module doc): "start" uses them for the LP dive and reduced-cost
    # fixing only, "model" hands them to the MIP solver too
    packing_rows: Literal["start", "model", "off"] = "start"


# ------------------------------------------------------------------------- workload classes
@dataclass
class Classes:
    """Workloads grouped into classes of identical work. A unit of class c is one job
    (unsplittable: integer count up to ``count``) or the whole class (splittable: share)."""

    members: list[np.ndarray]  # workload indices per class
    count: np.ndarray  # (C,) jobs per class (1 for splittable)
    gpu_hours: np.ndarray  # (C,) per unit
    energy_mwh: np.ndarray  # (C,) IT MWh per unit
    share: np.ndarray  # (C, T)
    integer: np.ndarray  # (C,) bool
    pattern: np.ndarray  # (C,) index into patterns
    patterns: np.ndarray  # (P, T) distinct period profiles

    @property
    def n(self) -> int:
        return len(self.count)


def workload_classes(problem: Problem, aggregate: bool) -> Classes:
    wl = problem.workloads
    share = problem.share
    patterns, pattern_of = np.unique(np.round(share, 12), axis=0, return_inverse=True)
    pattern_of = pattern_of.reshape(-1)
    gh = wl["gpu_hours"].to_numpy(float)
    e = wl["energy_mwh"].to_numpy(float)
    integer = ~wl["splittable"].to_numpy(bool)
    if not aggregate:
        idx = np.arange(len(wl))
        return Classes([idx[i:i + 1] for i in idx], np.ones(len(wl)), gh, e, share,
                       integer, pattern_of, patterns)
    with np.errstate(divide="ignore", invalid="ignore"):
        e_per_gh = np.where(gh > 0, e / gh, 0.0)
    key = pd.DataFrame({
        "split": ~integer, "pattern": pattern_of, "e_per_gh": np.round(e_per_gh, 12),
        # unsplittable jobs are identical only with the same size; splittable ones merge
        "size": np.where(integer, np.round(gh, 6), -1.0),
    })
    groups = key.groupby(list(key.columns), sort=False).indices
    members = [np.asarray(v) for v in groups.values()]
    first = np.array([m[0] for m in members])
    is_int = integer[first]
    count = np.array([len(m) if i else 1 for m, i in zip(members, is_int, strict=True)], float)
    gh_c = np.array([gh[m[0]] if i else gh[m].sum() for m, i in zip(members, is_int, strict=True)])
    e_c = np.array([e[m[0]] if i else e[m].sum() for m, i in zip(members, is_int, strict=True)])
    return Classes(members, count, gh_c, e_c, share[first], is_int, pattern_of[first], patterns)


# ------------------------------------------------------------------------- site data
@dataclass
class SiteArrays:
    index: np.ndarray  # positions in problem.sites
    cap_gpu_hours: np.ndarray  # capacity_gpus * H
    cap_energy_mwh: np.ndarray  # capacity_mw * H (facility MWh); inf when no cap (empty or 0)
    pue: np.ndarray
    grid_ci: np.ndarray  # (S, T)
    renewable_ci: np.ndarray
    renewable_mwh: np.ndarray  # (S, T)
    embodied_t: np.ndarray

    @classmethod
    def from_problem(cls, p: Problem, index: np.ndarray | None = None) -> SiteArrays:
        idx = np.arange(p.n_sites) if index is None else np.asarray(index)
        s = p.sites.iloc[idx]
        return cls(
            index=idx,
            cap_gpu_hours=s["capacity_gpus"].to_numpy(float) * p.horizon_hours,
            cap_energy_mwh=facility_energy_cap_mwh(s, p.horizon_hours),
            pue=s["pue"].to_numpy(float),
            grid_ci=p.grid_ci[idx],
            renewable_ci=s["renewable_ci_g_per_kwh"].to_numpy(float),
            renewable_mwh=p.renewable_mwh[idx],
            embodied_t=s["embodied_t"].to_numpy(float),
        )

    @property
    def n(self) -> int:
        return len(self.index)


def uses_open_decisions(p: Problem) -> bool:
    """y matters only with embodied emissions or a limit on open sites."""
    return p.max_sites is not None or bool((p.sites["embodied_t"].to_numpy(float) > 0).any())


def marginal_ci(sa: SiteArrays) -> tuple[np.ndarray, np.ndarray]:
    """(best, worst) gCO2e per kWh of IT energy at each site and period: best is the
    cheapest source available (renewables if any and cleaner), worst the grid."""
    has_r = sa.renewable_mwh > 0
    best = sa.pue[:, None] * np.where(has_r, np.minimum(sa.grid_ci, sa.renewable_ci[:, None]),
                                      sa.grid_ci)
    worst = sa.pue[:, None] * sa.grid_ci
    return best, worst


def dominated_sites(p: Problem, classes: Classes, *, chunk: int = 256) -> np.ndarray:
    """Boolean mask of sites that can be removed without changing the optimum.

    Site a dominates site b when, in every period, a's worst marginal intensity (grid, times
    PUE) is no higher than b's best (its cleanest source, times PUE), with ties broken by
    position. Moving any load from b to a then never raises emissions. b is removed when

    * one dominator with ``embodied_t`` no higher than b's can hold the whole demand
      (GPU-hours and facility energy): valid with unsplittable work, embodied emissions
      and max_sites, because b's load can always move there in one piece; or
    * all work is splittable, y does not matter, no dominator has a MW cap, and b's
      dominators together can hold the whole demand: their spare capacity is then at
      least b's load.
    """
    sa = SiteArrays.from_problem(p)
    best, worst = marginal_ci(sa)
    total_gh = float((classes.count * classes.gpu_hours).sum())
    total_e = float((classes.count * classes.energy_mwh).sum())
    holds_all = (sa.cap_gpu_hours >= total_gh) & (sa.cap_energy_mwh >= sa.pue * total_e)
    k_rule = (not classes.integer.any()) and not uses_open_decisions(p)
    no_mw_cap = np.isinf(sa.cap_energy_mwh)
    removable = np.zeros(sa.n, bool)
    order = np.arange(sa.n)
    for start in range(0, sa.n, chunk):  # chunks of b keep the (a, b, t) cube small
        b = order[start:start + chunk]
        # dom[a, j]: site a dominates site b[j]
        dom = (worst[:, None, :] <= best[None, b, :]).all(axis=2)
        strictly = (worst[:, None, :] < best[None, b, :]).any(axis=2)
        dom &= strictly | (order[:, None] < b[None, :])
        dom[b, np.arange(len(b))] = False
        single = dom & holds_all[:, None] & (sa.embodied_t[:, None] <= sa.embodied_t[None, b])
        removable[b] = single.any(axis=0)
        if k_rule:
            ok = dom & no_mw_cap[:, None]
            cap_sum = (ok * sa.cap_gpu_hours[:, None]).sum(axis=0)
            removable[b] |= (cap_sum >= total_gh) & ~(dom & ~no_mw_cap[:, None]).any(axis=0)
    return removable


# ------------------------------------------------------------------------- matrix model
class _Builder:
    def __init__(self) -> None:
        self.cost: list[np.ndarray] = []
        self.lb: list[np.ndarray] = []
        self.ub: list[np.ndarray] = []
        self.integer: list[np.ndarray] = []
        self.col_names: list[str] = []
        self.row_lb: list[np.ndarray] = []
        self.row_ub: list[np.ndarray] = []
        self.row_names: list[str] = []
        self.ri: list[np.ndarray] = []
        self.ci: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.n_cols = 0
        self.n_rows = 0

    def cols(self, names: list[str], lb, ub, cost, integer: bool | np.ndarray = False) -> np.ndarray:
        n = len(names)
        idx = np.arange(self.n_cols, self.n_cols + n)
        self.col_names += names
        self.lb.append(np.broadcast_to(np.asarray(lb, float), (n,)).copy())
        self.ub.append(np.broadcast_to(np.asarray(ub, float), (n,)).copy())
        self.cost.append(np.broadcast_to(np.asarray(cost, float), (n,)).copy())
        self.integer.append(np.broadcast_to(np.asarray(integer, bool), (n,)).copy())
        self.n_cols += n
        return idx

    def rows(self, names: list[str], lb, ub) -> np.ndarray:
        n = len(names)
        idx = np.arange(self.n_rows, self.n_rows + n)
        self.row_names += names
        self.row_lb.append(np.broadcast_to(np.asarray(lb, float), (n,)).copy())
        self.row_ub.append(np.broadcast_to(np.asarray(ub, float), (n,)).copy())
        self.n_rows += n
        return idx

    def coefs(self, rows, cols, vals) -> None:
        rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
        vals = np.broadcast_to(np.asarray(vals, float), rows.shape).ravel()
        rows, cols = rows.ravel(), cols.ravel()
        keep = vals != 0
        self.ri.append(rows[keep])
        self.ci.append(cols[keep])
        self.v.append(vals[keep])

    def matrix(self) -> sp.csr_matrix:
        def cat(xs):
            return np.concatenate(xs) if xs else np.zeros(0)

        return sp.csr_matrix((cat(self.v), (cat(self.ri).astype(np.int64),
                                           cat(self.ci).astype(np.int64))),
                             shape=(self.n_rows, self.n_cols))


@dataclass
class MatrixModel:
    """The MILP as arrays: min cost.x, row_lb <= A x <= row_ub, lb <= x <= ub."""

    problem: Problem
    options: ModelOptions
    classes: Classes
    sites: SiteArrays  # kept sites
    cost: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integer: np.ndarray
    A: sp.csr_matrix
    row_lb: np.ndarray
    row_ub: np.ndarray
    col_names: list[str]
    row_names: list[str]
    x_col: np.ndarray  # (C, S) column of x_cs, -1 where the pair does not exist
    y_col: np.ndarray | None  # (S,)
    r_col: np.ndarray  # (S, T), -1 where absent
    g_col: np.ndarray | None  # (S, T), plain formulation only
    e_col: np.ndarray | None  # (S, P), site IT energy per period profile (monthly compact)
    row_index: dict[str, np.ndarray] = field(default_factory=dict)
    n_pruned_sites: int = 0
    row_scale: np.ndarray | None = None  # rows were divided by this (duals: multiply back)
    n_fixed_by_reduced_cost: int = 0

    @property
    def n_cols(self) -> int:
        return len(self.cost)

    @property
    def n_rows(self) -> int:
        return len(self.row_lb)


def dual_feasible(w: np.ndarray, k: int, eps: float = 1e-7) -> np.ndarray:
    """A safe version of Fekete and Schepers' dual-feasible function u_k on item sizes ``w``
    (share of a bin): ``floor((k+1) w - eps) / k``. u_k itself is ``w`` where (k+1)w is
    integral and ``floor((k+1) w) / k`` elsewhere; this is never above it, so it too maps any
    items that fit in one bin to items that fit (``sum u(w_c) n_c <= 1`` is valid), and
    ``eps`` keeps sizes a rounding error above a threshold from being rounded up."""
    z = (k + 1) * np.clip(w, 0.0, 1.0)
    return np.maximum(np.floor(z - eps), 0.0) / k


def _packing_rows(b: _Builder, rows: dict, classes: Classes, sa: SiteArrays, x_col: np.ndarray,
                  y_col: np.ndarray | None, ks: tuple[int, ...], site_ids: list[str]) -> None:
    """Rows ``sum_c u_k(size_cs) n_cs <= y_s`` over whole jobs, for the GPU-hour and the MW
    capacity, one per site and k where they cut off more than the capacity row does."""
    on = (x_col >= 0) & classes.integer[:, None]
    if not on.any():
        return
    unit_e = sa.pue[None, :] * classes.energy_mwh[:, None]
    names, row_site, ri, ci, vals, n = [], [], [], [], [], 0
    for label, size in (("gpu", classes.gpu_hours[:, None] / sa.cap_gpu_hours[None, :]),
                        ("mw", unit_e / sa.cap_energy_mwh[None, :])):
        size = np.where(on, np.nan_to_num(size, nan=0.0, posinf=1.0), 0.0)
        for k in ks:
            u = np.where(on, dual_feasible(size, k), 0.0)
            useful = (u > size + 1e-9).any(axis=0) & ((u > 0).sum(axis=0) >= 2)
            cs, ss = np.nonzero(u[:, useful] > 0)
            ss = np.flatnonzero(useful)[ss]
            row_of = np.full(sa.n, -1, np.int64)
            row_of[useful] = np.arange(n, n + int(useful.sum()))
            names += [f"pack_{label}{k}_{site_ids[s]}" for s in np.flatnonzero(useful)]
            row_site.append(np.flatnonzero(useful))
            ri.append(row_of[ss])
            ci.append(x_col[cs, ss])
            vals.append(u[cs, ss])
            n += int(useful.sum())
    if not n:
        return
    idx = b.rows(names, -np.inf, 0.0 if y_col is not None else 1.0)
    rows["packing"] = idx
    b.coefs(idx[np.concatenate(ri)], np.concatenate(ci), np.concatenate(vals))
    if y_col is not None:
        b.coefs(idx, y_col[np.concatenate(row_site)], -1.0)


def without_packing_rows(mm: MatrixModel) -> MatrixModel:
    """``mm`` without its packing rows (the last rows of the model), columns unchanged."""
    idx = mm.row_index.get("packing")
    if idx is None or not len(idx):
        return mm
    keep = int(idx[0])
    index = {k: v for k, v in mm.row_index.items() if k != "packing"}
    scale = None if mm.row_scale is None else mm.row_scale[:keep]
    return replace(mm, A=mm.A[:keep], row_lb=mm.row_lb[:keep], row_ub=mm.row_ub[:keep],
                   row_names=mm.row_names[:keep], row_index=index, row_scale=scale)


def _safe(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "." else "_" for ch in str(label))


def formulate(problem: Problem, options: ModelOptions = ModelOptions(), *,
              packing_rows: bool | None = None) -> MatrixModel:
    """Build the model (see the module docstring) as sparse arrays. The packing rows are
    in it when ``packing_rows`` says so, by default when ``options.packing_rows`` is
    "model" (with "start", :func:`~siting.model.optimize.prepare` asks for them itself)."""
    if packing_rows is None:
        packing_rows = options.packing_rows == "model"
    plain = options.formulation == "plain"
    classes = workload_classes(problem, aggregate=options.aggregate and not plain)
    keep = np.arange(problem.n_sites)
    # dominance compares capacity over the horizon: valid with one period only
    if not plain and options.prune_sites and problem.n_periods == 1:
        keep = np.flatnonzero(~dominated_sites(problem, classes))
    sa = SiteArrays.from_problem(problem, keep)
    S, C, T = sa.n, classes.n, problem.n_periods
    use_y = plain or uses_open_decisions(problem)
    b = _Builder()
    site_ids = [_safe(s) for s in problem.sites["site_id"].to_numpy()[keep]]
    cls_ids = [_safe(problem.workloads["workload_id"].iloc[m[0]]) + (f"x{len(m)}" if len(m) > 1 else "")
               for m in classes.members]

    # ---- x: which pairs exist and their bounds
    gh, e, k = classes.gpu_hours, classes.energy_mwh, classes.count
    unit_energy = sa.pue[None, :] * e[:, None]  # facility MWh per unit at s
    with np.errstate(divide="ignore", invalid="ignore"):
        fit_gpu = np.where(gh[:, None] > 0, sa.cap_gpu_hours[None, :] / gh[:, None], np.inf)
        fit_mw = np.where(unit_energy > 0, sa.cap_energy_mwh[None, :] / unit_energy, np.inf)
    fit = np.minimum(fit_gpu, fit_mw)  # units of c that fit at s alone
    integer = classes.integer[:, None]
    if plain:
        exists = np.ones((C, S), bool)
        x_ub = np.ones((C, S))
    else:
        x_ub = np.where(integer, np.minimum(k[:, None], np.floor(fit + 1e-9)),
                        np.minimum(1.0, fit))
        exists = x_ub > 0
    ci, si = np.nonzero(exists)
    if plain:
        x_cost = np.zeros(len(ci))
    else:
        # every MWh charged at grid intensity; renewable credit comes through r
        grid_per_unit = (classes.share @ sa.grid_ci.T)  # (C, S): sum_t f_ct grid_ci_st
        x_cost = unit_energy[ci, si] * grid_per_unit[ci, si] / 1000.0
    x_cols = b.cols([f"x_{cls_ids[c]}_{site_ids[s]}" for c, s in zip(ci, si, strict=True)],
                    0.0, x_ub[ci, si], x_cost, classes.integer[ci])
    x_col = np.full((C, S), -1, np.int64)
    x_col[ci, si] = x_cols

    # ---- y
    y_col = None
    if use_y:
        y_col = b.cols([f"y_{s}" for s in site_ids], 0.0, 1.0, sa.embodied_t, True)

    # ---- r (and g in the plain model)
    g_col = None
    if plain:
        r_s, r_t = np.nonzero(np.ones((S, T), bool))
        r_cost = sa.renewable_ci[r_s] / 1000.0
    else:
        credit = sa.grid_ci - sa.renewable_ci[:, None]
        r_s, r_t = np.nonzero((credit > 0) & (sa.renewable_mwh > 0))
        r_cost = -credit[r_s, r_t] / 1000.0
    r_cols = b.cols([f"r_{site_ids[s]}_{problem.periods[t]}" for s, t in zip(r_s, r_t, strict=True)],
                    0.0, sa.renewable_mwh[r_s, r_t], r_cost)
    r_col = np.full((S, T), -1, np.int64)
    r_col[r_s, r_t] = r_cols
    if plain:
        g_cols = b.cols([f"g_{site_ids[s]}_{problem.periods[t]}" for s, t in zip(r_s, r_t, strict=True)],
                        0.0, np.inf, sa.grid_ci[r_s, r_t] / 1000.0)
        g_col = np.full((S, T), -1, np.int64)
        g_col[r_s, r_t] = g_cols

    rows: dict[str, np.ndarray] = {}
    # (1) assignment
    rows["assign"] = b.rows([f"assign_{c}" for c in cls_ids], k, k)
    b.coefs(rows["assign"][ci], x_cols, 1.0)

    # (2) link x <= ub * y
    if use_y:
        link = (np.ones(len(ci), bool) if plain or options.link_splittable
                else classes.integer[ci])
        lc, ls, lx = ci[link], si[link], x_cols[link]
        rows["link"] = b.rows([f"link_{cls_ids[c]}_{site_ids[s]}" for c, s in zip(lc, ls, strict=True)],
                              -np.inf, 0.0)
        b.coefs(rows["link"], lx, 1.0)
        b.coefs(rows["link"], y_col[ls], -x_ub[lc, ls])

    # (3) GPU capacity
    total_gh = float((k * gh).sum())
    need_gpu = np.ones(S, bool) if use_y else sa.cap_gpu_hours < total_gh
    gs = np.flatnonzero(need_gpu)
    rows["gpu_cap"] = np.full(S, -1, np.int64)
    gpu_rows = b.rows([f"gpu_cap_{site_ids[s]}" for s in gs], -np.inf,
                      0.0 if use_y else sa.cap_gpu_hours[gs])
    rows["gpu_cap"][gs] = gpu_rows
    sel = need_gpu[si]
    b.coefs(rows["gpu_cap"][si[sel]], x_cols[sel], gh[ci[sel]])
    if use_y:
        b.coefs(gpu_rows, y_col[gs], -sa.cap_gpu_hours[gs])

    # (3b) GPU capacity in every period. With one period this is (3). With several, a job
    # runs flat within its months, so its busy GPUs in month t are gpu_hours x f_wt / h_t and
    # (3) summed over the horizon would let a site run more GPUs in a month than it has.
    if T > 1:
        h_t = problem.period_hours
        sel_t = np.repeat(np.arange(T), len(ci))
        cc, ss = np.tile(ci, T), np.tile(si, T)
        vals = gh[cc] * classes.share[cc, sel_t]
        keep = vals > 0
        cap_t = np.repeat(sa.cap_gpu_hours / problem.horizon_hours, T) * np.tile(h_t, S)
        rows["gpu_cap_period"] = b.rows([f"gpu_cap_{site_ids[s]}_{problem.periods[t]}"
                                         for s in range(S) for t in range(T)], -np.inf,
                                        0.0 if use_y else cap_t)
        period_row = rows["gpu_cap_period"].reshape(S, T)
        b.coefs(period_row[ss[keep], sel_t[keep]], np.tile(x_cols, T)[keep], vals[keep])
        if use_y:
            b.coefs(rows["gpu_cap_period"], np.repeat(y_col, T), -cap_t)

    # site IT energy per period: either directly from x, or via E_sp auxiliaries (monthly)
    use_aux = not plain and T > 1 and not options.strengthen
    e_col = None
    if use_aux:
        P = len(classes.patterns)
        e_s, e_p = np.nonzero(np.ones((S, P), bool))
        e_cols = b.cols([f"E_{site_ids[s]}_p{p}" for s, p in zip(e_s, e_p, strict=True)], 0.0, np.inf, 0.0)
        e_col = np.full((S, P), -1, np.int64)
        e_col[e_s, e_p] = e_cols
        rows["energy_def"] = b.rows([f"energy_{site_ids[s]}_p{p}" for s, p in zip(e_s, e_p, strict=True)],
                                    0.0, 0.0)
        e_row = np.full((S, P), -1, np.int64)
        e_row[e_s, e_p] = rows["energy_def"]
        b.coefs(rows["energy_def"], e_cols, 1.0)
        b.coefs(e_row[si, classes.pattern[ci]], x_cols, -e[ci])

    # (4) MW capacity (facility energy over the horizon)
    ms = np.flatnonzero(np.isfinite(sa.cap_energy_mwh))
    rows["mw_cap"] = np.full(S, -1, np.int64)
    if len(ms):
        mw_rows = b.rows([f"mw_cap_{site_ids[s]}" for s in ms], -np.inf,
                         0.0 if use_y else sa.cap_energy_mwh[ms])
        rows["mw_cap"][ms] = mw_rows
        if use_aux:
            mp = np.repeat(ms, len(classes.patterns)), np.tile(np.arange(len(classes.patterns)), len(ms))
            b.coefs(rows["mw_cap"][mp[0]], e_col[mp[0], mp[1]], sa.pue[mp[0]])
        else:
            sel = np.isfinite(sa.cap_energy_mwh[si])
            b.coefs(rows["mw_cap"][si[sel]], x_cols[sel], unit_energy[ci[sel], si[sel]])
        if use_y:
            b.coefs(mw_rows, y_col[ms], -sa.cap_energy_mwh[ms])

    # (5) energy balance: plain r + g = pue E; compact r <= pue E
    bal_names = [f"balance_{site_ids[s]}_{problem.periods[t]}" for s, t in zip(r_s, r_t, strict=True)]
    rows["balance"] = (b.rows(bal_names, 0.0, 0.0) if plain else b.rows(bal_names, -np.inf, 0.0))
    bal_row = np.full((S, T), -1, np.int64)
    bal_row[r_s, r_t] = rows["balance"]
    b.coefs(rows["balance"], r_cols, 1.0)
    if plain:
        b.coefs(rows["balance"], g_col[r_s, r_t], 1.0)
    if use_aux:
        # r_st - pue_s sum_p f_pt E_sp <= 0
        pt = classes.patterns  # (P, T)
        for_s = r_s[:, None].repeat(pt.shape[0], 1)
        p_idx = np.arange(pt.shape[0])[None, :].repeat(len(r_s), 0)
        coef = -sa.pue[for_s] * pt[p_idx, r_t[:, None]]
        b.coefs(bal_row[for_s, r_t[:, None].repeat(pt.shape[0], 1)], e_col[for_s, p_idx], coef)
    else:
        # one term per (x_cs, t) with f_ct > 0 at a site with a balance row
        xt_c, xt_t = np.nonzero(classes.share[ci] > 0)  # xt_c indexes the x pairs
        rows_here = bal_row[si[xt_c], xt_t]
        ok = rows_here >= 0
        coef = -sa.pue[si[xt_c]] * e[ci[xt_c]] * classes.share[ci[xt_c], xt_t]
        if not plain and options.strengthen:
            # one whole job can use at most R_st of renewables: min(R_st, its load) per job
            cap = sa.renewable_mwh[si[xt_c], xt_t]
            coef = np.where(classes.integer[ci[xt_c]], -np.minimum(-coef, cap), coef)
        b.coefs(rows_here[ok], x_cols[xt_c[ok]], coef[ok])

    # (7) max sites
    if problem.max_sites is not None and use_y:
        rows["max_sites"] = b.rows(["max_sites"], -np.inf, float(problem.max_sites))
        b.coefs(np.repeat(rows["max_sites"], S), y_col, 1.0)

    # (8) packing rows, last so that they can be dropped again (see without_packing_rows)
    if not plain and packing_rows:
        _packing_rows(b, rows, classes, sa, x_col, y_col, PACKING_KS, site_ids)

    cat = np.concatenate
    A, row_lb, row_ub = b.matrix(), cat(b.row_lb), cat(b.row_ub)
    # capacity rows carry GPU-hours (up to ~1e8): state them as shares of the site's capacity,
    # so tolerances mean the same everywhere and rounding a share cannot overfill a site
    scale = np.ones(b.n_rows)
    for family, cap in (("gpu_cap", sa.cap_gpu_hours), ("mw_cap", sa.cap_energy_mwh)):
        rows_f = rows[family]
        has = (rows_f >= 0) & np.isfinite(cap) & (cap > 0)
        scale[rows_f[has]] = cap[has]
    if "gpu_cap_period" in rows:
        per = (sa.cap_gpu_hours / problem.horizon_hours)[:, None] * problem.period_hours[None, :]
        scale[rows["gpu_cap_period"]] = np.where(per > 0, per, 1.0).ravel()
    A = (sp.diags(1.0 / scale) @ A).tocsr()
    row_lb, row_ub = row_lb / scale, row_ub / scale
    return MatrixModel(
        problem=problem, options=options, classes=classes, sites=sa,
        cost=cat(b.cost), lb=cat(b.lb), ub=cat(b.ub), integer=cat(b.integer), A=A,
        row_lb=row_lb, row_ub=row_ub, col_names=b.col_names,
        row_names=b.row_names, x_col=x_col, y_col=y_col, r_col=r_col, g_col=g_col, e_col=e_col,
        row_index=rows, n_pruned_sites=problem.n_sites - S, row_scale=scale,
    )
