r"""The placement MILP, built as sparse arrays (the one place the formulation lives).

Symbols (the README uses the same). Sites s, workloads w, periods t (one year, or 12 months).
IT energy of w: ``e_w = gpu_hours_w * gpu_power_kw_w * (1 + overhead_w) / 1000`` MWh;
``f_wt`` its share in period t; ``H`` the horizon in hours.

Variables: ``x_ws`` in [0, 1], the share of w at s (binary when w is unsplittable);
``y_s`` binary, site open; ``r_st, g_st >= 0`` renewable and grid MWh at s in t.

    (1) sum_s x_ws = 1                                     for each w
    (2) x_ws <= y_s
    (3) sum_w gpu_hours_w x_ws <= capacity_gpus_s * H * y_s
    (3b) sum_w gpu_hours_w f_wt x_ws <= capacity_gpus_s * h_t * y_s   for each t (months only)
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
* Identical workloads are aggregated (:func:`workload_classes`): splittable ones with the
  same energy per GPU-hour and period profile merge into one; k identical unsplittable ones
  become one integer count ``0 <= n_cs <= k``. Shares and job placements are recovered
  exactly afterwards.
* y exists only when it matters (embodied emissions or max_sites); otherwise every site is
  effectively open and (2), (7) vanish. (2) is kept for unsplittable work only: for
  splittable work it is implied by (3).
* Pairs that cannot hold one unsplittable job are not created; share bounds are tightened
  to ``min(1, capacity / demand)``.
* Dominated sites are pruned (see :func:`dominated_sites`; one period only).
* Packing rows: for each site and k = 1, 2, 3,
  ``sum_c u_k(gpu_hours_c / capacity_s) n_cs <= y_s`` over whole jobs (1 in place of y_s
  when there is no y), with u_k a dual-feasible function (:func:`dual_feasible`; k = 1 says
  "at most one job over half the site"), and the same for MW caps. They hold for every
  integer plan and raise the root LP bound on the (400,60,12) benchmark (seed 1: 9,566 ->
  9,756 t against an optimum of 9,761 t; seed 3: 8,366 -> 8,828 t against 8,980 t). HiGHS
  itself ran slower with them in the model, so by default (``packing_rows="start"``) they
  serve the LP dive and reduced-cost fixing only and :func:`without_packing_rows` removes
  them before the MIP solve; both uses stay exact because the rows cut off no integer plan.
* ``strengthen`` (default): in (5) a whole job counts with ``min(R_st, its load)``, as it
  can never use more renewables than the site has; valid for every integer plan.
* Monthly mode without ``strengthen`` uses site-energy auxiliaries ``E_sp`` per period
  profile p, so the balance rows have a handful of terms instead of one per workload.

Each reduction's docstring says when it is valid; where it is not, it is off.

Code layout, in the order :func:`formulate` runs it: :func:`model_inputs` (classes, kept
sites: the reductions on the data), one ``define_*`` function per variable family (columns
x, y, r, g, E in that order), one per constraint family (rows (1), (2), (3), (3b), E
definitions, (4), (5), (7), packing), :func:`define_objective` from :func:`objective_terms`,
and :func:`capacity_row_scale`.
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
    """The workloads as classes: one per workload, or (``aggregate``) merged.

    Reduction (``aggregate``; :func:`formulate` asks for it in the compact formulation with
    ``ModelOptions.aggregate``): splittable workloads with the same energy per GPU-hour and
    the same period profile become one class, and unsplittable jobs that also share their
    size become one integer count. Valid for every input of this model and its one
    objective (least tCO2e): every row and every objective term sees a workload only through
    its GPU-hours, IT energy and period profile, so merged work can be split back into the
    original workloads exactly (:func:`siting.model.solution.workload_shares`). It would not
    be with anything that tells such workloads apart (a per-workload site list or deadline)."""
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
    """Do the open decisions y matter? Only with embodied emissions (any site with
    ``embodied_t`` other than 0) or a limit on open sites; otherwise every site can be taken as
    open at no cost, and the compact model leaves y out (:func:`define_open_decisions`)."""
    return p.max_sites is not None or bool((p.sites["embodied_t"].to_numpy(float) != 0).any())


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

    When it is valid: for the model's one objective, least tCO2e; with one period only
    (capacity is compared over the horizon, while with several periods a site's GPUs bind
    month by month, so a dominator may be full in the months b is needed): with more it
    removes nothing. A site with negative ``embodied_t`` (a credit for opening it, which no
    validated input has) is never removed, as the plan may open it for that credit alone.
    Off in the plain formulation and with ``ModelOptions(prune_sites=False)``
    (:func:`kept_sites`).
    """
    if p.n_periods != 1:
        return np.zeros(p.n_sites, bool)
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
        removable[b] = single.any(axis=0) & (sa.embodied_t[b] >= 0)
        if k_rule:
            ok = dom & no_mw_cap[:, None]
            cap_sum = (ok * sa.cap_gpu_hours[:, None]).sum(axis=0)
            removable[b] |= (cap_sum >= total_gh) & ~(dom & ~no_mw_cap[:, None]).any(axis=0)
    return removable


# ------------------------------------------------------------------------- matrix model
class _Builder:
    """Columns, rows and coefficients as they are added; the objective is added per column
    afterwards (:meth:`add_cost`), term by term."""

    def __init__(self) -> None:
        self.lb: list[np.ndarray] = []
        self.ub: list[np.ndarray] = []
        self.integer: list[np.ndarray] = []
        self.col_names: list[str] = []
        self.costs: list[tuple[np.ndarray, np.ndarray]] = []
        self.row_lb: list[np.ndarray] = []
        self.row_ub: list[np.ndarray] = []
        self.row_names: list[str] = []
        self.row_index: dict[str, np.ndarray] = {}  # rows of each constraint family
        self.ri: list[np.ndarray] = []
        self.ci: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.n_cols = 0
        self.n_rows = 0

    def cols(self, names: list[str], lb, ub, integer: bool | np.ndarray = False) -> np.ndarray:
        n = len(names)
        idx = np.arange(self.n_cols, self.n_cols + n)
        self.col_names += names
        self.lb.append(np.broadcast_to(np.asarray(lb, float), (n,)).copy())
        self.ub.append(np.broadcast_to(np.asarray(ub, float), (n,)).copy())
        self.integer.append(np.broadcast_to(np.asarray(integer, bool), (n,)).copy())
        self.n_cols += n
        return idx

    def add_cost(self, cols, vals) -> None:
        cols = np.asarray(cols, np.int64)
        self.costs.append((cols, np.broadcast_to(np.asarray(vals, float), cols.shape)))

    def rows(self, names: list[str], lb, ub, family: str | None = None) -> np.ndarray:
        """New rows ``lb <= . <= ub``; ``family`` records them in :attr:`row_index`."""
        n = len(names)
        idx = np.arange(self.n_rows, self.n_rows + n)
        self.row_names += names
        self.row_lb.append(np.broadcast_to(np.asarray(lb, float), (n,)).copy())
        self.row_ub.append(np.broadcast_to(np.asarray(ub, float), (n,)).copy())
        self.n_rows += n
        if family is not None:
            self.row_index[family] = idx
        return idx

    def coefs(self, rows, cols, vals) -> None:
        rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
        vals = np.broadcast_to(np.asarray(vals, float), rows.shape).ravel()
        rows, cols = rows.ravel(), cols.ravel()
        keep = vals != 0
        self.ri.append(rows[keep])
        self.ci.append(cols[keep])
        self.v.append(vals[keep])

    def cost(self) -> np.ndarray:
        cost = np.zeros(self.n_cols)
        for cols, vals in self.costs:
            np.add.at(cost, cols, vals)
        return cost

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


@dataclass(frozen=True)
class ModelInputs:
    """What every ``define_*`` function reads: the problem and options, the workload classes
    and kept sites the reductions left, and the switches they imply."""

    problem: Problem
    options: ModelOptions
    classes: Classes
    sites: SiteArrays  # the kept sites (see kept_sites)
    site_ids: list[str]  # name-safe ids of the kept sites
    class_ids: list[str]  # name-safe ids of the classes
    use_y: bool  # open decisions y exist (always in the plain formulation)

    @property
    def plain(self) -> bool:
        return self.options.formulation == "plain"

    @property
    def use_aux(self) -> bool:
        """Site-energy auxiliaries E_sp: monthly compact model without per-job renewable caps."""
        return not self.plain and self.problem.n_periods > 1 and not self.options.strengthen

    @property
    def unit_energy_mwh(self) -> np.ndarray:
        """(C, S) facility MWh of one unit of class c at site s."""
        return self.sites.pue[None, :] * self.classes.energy_mwh[:, None]


@dataclass(frozen=True)
class Block:
    """The columns of one variable family: ``col`` maps every index (c, s), (s, t), ... to its
    column, -1 where that variable does not exist; ``at`` holds the indices of the columns in
    column order (so ``col[at]`` are the columns, ascending)."""

    col: np.ndarray
    at: tuple[np.ndarray, ...]

    @property
    def cols(self) -> np.ndarray:
        return self.col[self.at]


@dataclass(frozen=True)
class Variables:
    """Every variable family of the model: x_cs (with its upper bounds), y_s, r_st, g_st, E_sp."""

    x: Block
    x_ub: np.ndarray  # (C, S)
    y: Block | None
    r: Block
    g: Block | None
    e: Block | None


def kept_sites(problem: Problem, classes: Classes, options: ModelOptions) -> np.ndarray:
    """Positions of the sites the model keeps. Reduction: with the compact formulation and
    ``prune_sites``, the sites :func:`dominated_sites` removes (valid for one period only:
    with several it removes none); every site otherwise."""
    if options.formulation == "plain" or not options.prune_sites:
        return np.arange(problem.n_sites)
    return np.flatnonzero(~dominated_sites(problem, classes))


def model_inputs(problem: Problem, options: ModelOptions) -> ModelInputs:
    """The classes (aggregated unless the formulation is plain or ``options.aggregate`` is
    off, see :func:`workload_classes`), the kept sites (:func:`kept_sites`) and their names."""
    plain = options.formulation == "plain"
    classes = workload_classes(problem, aggregate=options.aggregate and not plain)
    keep = kept_sites(problem, classes, options)
    site_ids = [_safe(s) for s in problem.sites["site_id"].to_numpy()[keep]]
    class_ids = [_safe(problem.workloads["workload_id"].iloc[m[0]]) + (f"x{len(m)}" if len(m) > 1 else "")
                 for m in classes.members]
    return ModelInputs(problem, options, classes, SiteArrays.from_problem(problem, keep), site_ids,
                       class_ids, use_y=plain or uses_open_decisions(problem))


# ------------------------------------------------------------------------- variables
def define_placements(b: _Builder, d: ModelInputs) -> tuple[Block, np.ndarray]:
    """x_cs: the share of class c at site s (whole jobs: an integer count up to ``count``),
    and its upper bounds (C, S).

    Reduction (compact only): a pair exists only where one unit fits at the site alone, with
    bounds ``min(count, floor(fit))`` for whole jobs and ``min(1, fit)`` for shares, ``fit``
    the units the site's GPU-hours and facility MWh over the horizon hold. Valid for every
    input: the capacity rows (3) and (4) imply these bounds; the per-period rows (3b) only
    tighten them further."""
    cl, sa = d.classes, d.sites
    gh, k = cl.gpu_hours, cl.count
    unit_energy = d.unit_energy_mwh
    with np.errstate(divide="ignore", invalid="ignore"):
        fit_gpu = np.where(gh[:, None] > 0, sa.cap_gpu_hours[None, :] / gh[:, None], np.inf)
        fit_mw = np.where(unit_energy > 0, sa.cap_energy_mwh[None, :] / unit_energy, np.inf)
    fit = np.minimum(fit_gpu, fit_mw)  # units of c that fit at s alone
    if d.plain:
        x_ub = np.ones((cl.n, sa.n))
        exists = np.ones((cl.n, sa.n), bool)
    else:
        x_ub = np.where(cl.integer[:, None], np.minimum(k[:, None], np.floor(fit + 1e-9)),
                        np.minimum(1.0, fit))
        exists = x_ub > 0
    ci, si = np.nonzero(exists)
    cols = b.cols([f"x_{d.class_ids[c]}_{d.site_ids[s]}" for c, s in zip(ci, si, strict=True)],
                  0.0, x_ub[ci, si], cl.integer[ci])
    col = np.full((cl.n, sa.n), -1, np.int64)
    col[ci, si] = cols
    return Block(col, (ci, si)), x_ub


def define_open_decisions(b: _Builder, d: ModelInputs) -> Block | None:
    """y_s: site s is open (binary). Reduction (compact only): y exists only when
    :func:`uses_open_decisions` says it matters; without embodied emissions and without
    max_sites every site can be taken as open at no cost, so (2) and (7) vanish."""
    if not d.use_y:
        return None
    cols = b.cols([f"y_{s}" for s in d.site_ids], 0.0, 1.0, True)
    return Block(cols, (np.arange(d.sites.n),))


def define_renewable(b: _Builder, d: ModelInputs) -> Block:
    """r_st: renewable MWh used at s in period t, at most what the site has (6).

    Reduction (compact only): r exists only where renewables exist and are cleaner than the
    grid (a positive credit ``grid_ci_st - renewable_ci_s``). Valid for the model's one
    objective, least tCO2e: r appears in no other row than the balance, so r = 0 is optimal
    where it earns no credit. (It would not be with, e.g., a renewable share target.)"""
    sa, S, T = d.sites, d.sites.n, d.problem.n_periods
    if d.plain:
        r_s, r_t = np.nonzero(np.ones((S, T), bool))
    else:
        credit = sa.grid_ci - sa.renewable_ci[:, None]
        r_s, r_t = np.nonzero((credit > 0) & (sa.renewable_mwh > 0))
    periods = d.problem.periods
    cols = b.cols([f"r_{d.site_ids[s]}_{periods[t]}" for s, t in zip(r_s, r_t, strict=True)],
                  0.0, sa.renewable_mwh[r_s, r_t])
    col = np.full((S, T), -1, np.int64)
    col[r_s, r_t] = cols
    return Block(col, (r_s, r_t))


def define_grid(b: _Builder, d: ModelInputs, r: Block) -> Block | None:
    """g_st: grid MWh at s in period t, plain formulation only.

    Reduction (compact): g is eliminated, ``g_st = pue_s E_st - r_st``, so the balance (5)
    becomes ``r_st <= pue_s E_st`` and the objective charges every MWh at grid intensity and
    credits renewables (:func:`objective_terms`). Exact for every input: g appears in no
    other row and its only bound, g >= 0, is that inequality."""
    if not d.plain:
        return None
    periods, sa = d.problem.periods, d.sites
    r_s, r_t = r.at
    cols = b.cols([f"g_{d.site_ids[s]}_{periods[t]}" for s, t in zip(r_s, r_t, strict=True)],
                  0.0, np.inf)
    col = np.full((sa.n, d.problem.n_periods), -1, np.int64)
    col[r_s, r_t] = cols
    return Block(col, (r_s, r_t))


def define_site_energy(b: _Builder, d: ModelInputs) -> Block | None:
    """E_sp: IT MWh at site s of the classes with period profile p (compact monthly model
    without ``strengthen`` only), so each balance row has a handful of terms instead of one
    per workload. An exact reformulation (defined by equality rows, see
    :func:`define_site_energy_rows`)."""
    if not d.use_aux:
        return None
    e_s, e_p = np.nonzero(np.ones((d.sites.n, len(d.classes.patterns)), bool))
    cols = b.cols([f"E_{d.site_ids[s]}_p{p}" for s, p in zip(e_s, e_p, strict=True)], 0.0, np.inf)
    col = np.full((d.sites.n, len(d.classes.patterns)), -1, np.int64)
    col[e_s, e_p] = cols
    return Block(col, (e_s, e_p))


# ------------------------------------------------------------------------- constraints
def define_assignment(b: _Builder, d: ModelInputs, v: Variables) -> None:
    """(1) every unit placed: ``sum_s x_cs = count_c``."""
    ci, _ = v.x.at
    rows = b.rows([f"assign_{c}" for c in d.class_ids], d.classes.count, d.classes.count, "assign")
    b.coefs(rows[ci], v.x.cols, 1.0)


def define_links(b: _Builder, d: ModelInputs, v: Variables) -> None:
    """(2) ``x_cs <= ub_cs y_s``: no work at a closed site. Reduction (compact): for whole jobs
    only, unless ``link_splittable``; for shares the GPU row (3), which has ``y_s`` on its
    right-hand side, already implies it."""
    if v.y is None:
        return
    ci, si = v.x.at
    link = (np.ones(len(ci), bool) if d.plain or d.options.link_splittable
            else d.classes.integer[ci])
    lc, ls, lx = ci[link], si[link], v.x.cols[link]
    rows = b.rows([f"link_{d.class_ids[c]}_{d.site_ids[s]}" for c, s in zip(lc, ls, strict=True)],
                  -np.inf, 0.0, "link")
    b.coefs(rows, lx, 1.0)
    b.coefs(rows, v.y.col[ls], -v.x_ub[lc, ls])


def define_gpu_capacity(b: _Builder, d: ModelInputs, v: Variables) -> None:
    """(3) GPU-hours over the horizon: ``sum_c gpu_hours_c x_cs <= cap_s H y_s``
    (``row_index["gpu_cap"]``: one entry per kept site, -1 where it has no row).

    Reduction (compact, no y): no row where the site could hold all the work (it cannot
    bind). Valid for every input."""
    sa, cl = d.sites, d.classes
    ci, si = v.x.at
    total_gh = float((cl.count * cl.gpu_hours).sum())
    need = np.ones(sa.n, bool) if d.use_y else sa.cap_gpu_hours < total_gh
    gs = np.flatnonzero(need)
    row_of = np.full(sa.n, -1, np.int64)
    rows = b.rows([f"gpu_cap_{d.site_ids[s]}" for s in gs], -np.inf,
                  0.0 if d.use_y else sa.cap_gpu_hours[gs])
    row_of[gs] = rows
    b.row_index["gpu_cap"] = row_of
    sel = need[si]
    b.coefs(row_of[si[sel]], v.x.cols[sel], cl.gpu_hours[ci[sel]])
    if v.y is not None:
        b.coefs(rows, v.y.col[gs], -sa.cap_gpu_hours[gs])


def define_gpu_capacity_per_period(b: _Builder, d: ModelInputs, v: Variables) -> None:
    """(3b) GPU-hours in every period, with several periods (with one this is (3)). A job runs
    flat within its months, so its busy GPUs in month t are ``gpu_hours x f_ct / h_t``, and
    (3) alone, summed over the horizon, would let a site run more GPUs in a month than it
    has: ``sum_c gpu_hours_c f_ct x_cs <= cap_s h_t y_s``."""
    p, sa, cl = d.problem, d.sites, d.classes
    S, T = sa.n, p.n_periods
    if T <= 1:
        return
    ci, si = v.x.at
    sel_t = np.repeat(np.arange(T), len(ci))
    cc, ss = np.tile(ci, T), np.tile(si, T)
    vals = cl.gpu_hours[cc] * cl.share[cc, sel_t]
    nonzero = vals > 0
    cap_t = np.repeat(sa.cap_gpu_hours / p.horizon_hours, T) * np.tile(p.period_hours, S)
    rows = b.rows([f"gpu_cap_{d.site_ids[s]}_{p.periods[t]}" for s in range(S) for t in range(T)],
                  -np.inf, 0.0 if d.use_y else cap_t, "gpu_cap_period")
    period_row = rows.reshape(S, T)
    b.coefs(period_row[ss[nonzero], sel_t[nonzero]], np.tile(v.x.cols, T)[nonzero], vals[nonzero])
    if v.y is not None:
        b.coefs(rows, np.repeat(v.y.col, T), -cap_t)


def define_site_energy_rows(b: _Builder, d: ModelInputs, v: Variables) -> None:
    """``E_sp = sum_{c with profile p} e_c x_cs`` (when the E auxiliaries exist)."""
    if v.e is None:
        return
    ci, si = v.x.at
    e_s, e_p = v.e.at
    rows = b.rows([f"energy_{d.site_ids[s]}_p{p}" for s, p in zip(e_s, e_p, strict=True)],
                  0.0, 0.0, "energy_def")
    e_row = np.full(v.e.col.shape, -1, np.int64)
    e_row[e_s, e_p] = rows
    b.coefs(rows, v.e.cols, 1.0)
    b.coefs(e_row[si, d.classes.pattern[ci]], v.x.cols, -d.classes.energy_mwh[ci])


def define_power_capacity(b: _Builder, d: ModelInputs, v: Variables) -> None:
    """(4) facility MWh over the horizon, where a site has ``capacity_mw``:
    ``pue_s sum_c e_c x_cs <= capacity_mw_s H y_s`` (``row_index["mw_cap"]``: one entry per
    kept site, -1 where it has no cap)."""
    sa = d.sites
    ci, si = v.x.at
    ms = np.flatnonzero(np.isfinite(sa.cap_energy_mwh))
    row_of = np.full(sa.n, -1, np.int64)
    b.row_index["mw_cap"] = row_of
    if not len(ms):
        return
    rows = b.rows([f"mw_cap_{d.site_ids[s]}" for s in ms], -np.inf,
                  0.0 if d.use_y else sa.cap_energy_mwh[ms])
    row_of[ms] = rows
    if v.e is not None:
        n_p = len(d.classes.patterns)
        mp = np.repeat(ms, n_p), np.tile(np.arange(n_p), len(ms))
        b.coefs(row_of[mp[0]], v.e.col[mp[0], mp[1]], sa.pue[mp[0]])
    else:
        sel = np.isfinite(sa.cap_energy_mwh[si])
        b.coefs(row_of[si[sel]], v.x.cols[sel], d.unit_energy_mwh[ci[sel], si[sel]])
    if v.y is not None:
        b.coefs(rows, v.y.col[ms], -sa.cap_energy_mwh[ms])


def define_energy_balance(b: _Builder, d: ModelInputs, v: Variables) -> None:
    """(5) one row per r_st: plain ``r_st + g_st = pue_s E_st``, compact ``r_st <= pue_s E_st``
    (g eliminated, see :func:`define_grid`).

    Reduction (compact, ``strengthen``): a whole job can use at most ``R_st`` of renewables,
    so its term is ``min(R_st, its load)`` instead of its load. Valid for integer plans (the
    only ones the MILP accepts), with any number of periods."""
    sa, cl = d.sites, d.classes
    ci, si = v.x.at
    r_s, r_t = v.r.at
    names = [f"balance_{d.site_ids[s]}_{d.problem.periods[t]}" for s, t in zip(r_s, r_t, strict=True)]
    rows = b.rows(names, 0.0 if d.plain else -np.inf, 0.0, "balance")
    bal_row = np.full(v.r.col.shape, -1, np.int64)
    bal_row[r_s, r_t] = rows
    b.coefs(rows, v.r.cols, 1.0)
    if v.g is not None:
        b.coefs(rows, v.g.col[r_s, r_t], 1.0)
    if v.e is not None:
        # r_st - pue_s sum_p f_pt E_sp <= 0
        pt = cl.patterns  # (P, T)
        for_s = r_s[:, None].repeat(pt.shape[0], 1)
        p_idx = np.arange(pt.shape[0])[None, :].repeat(len(r_s), 0)
        coef = -sa.pue[for_s] * pt[p_idx, r_t[:, None]]
        b.coefs(bal_row[for_s, r_t[:, None].repeat(pt.shape[0], 1)], v.e.col[for_s, p_idx], coef)
        return
    # one term per (x_cs, t) with f_ct > 0 at a site with a balance row
    xt_c, xt_t = np.nonzero(cl.share[ci] > 0)  # xt_c indexes the x pairs
    rows_here = bal_row[si[xt_c], xt_t]
    ok = rows_here >= 0
    coef = -sa.pue[si[xt_c]] * cl.energy_mwh[ci[xt_c]] * cl.share[ci[xt_c], xt_t]
    if not d.plain and d.options.strengthen:
        cap = sa.renewable_mwh[si[xt_c], xt_t]
        coef = np.where(cl.integer[ci[xt_c]], -np.minimum(-coef, cap), coef)
    b.coefs(rows_here[ok], v.x.cols[xt_c[ok]], coef[ok])


def define_max_sites(b: _Builder, d: ModelInputs, v: Variables) -> None:
    """(7) ``sum_s y_s <= max_sites`` when the problem sets it."""
    if d.problem.max_sites is None or v.y is None:
        return
    rows = b.rows(["max_sites"], -np.inf, float(d.problem.max_sites), "max_sites")
    b.coefs(np.repeat(rows, d.sites.n), v.y.cols, 1.0)


def dual_feasible(w: np.ndarray, k: int, eps: float = 1e-7) -> np.ndarray:
    """A safe version of Fekete and Schepers' dual-feasible function u_k on item sizes ``w``
    (share of a bin): ``floor((k+1) w - eps) / k``. u_k itself is ``w`` where (k+1)w is
    integral and ``floor((k+1) w) / k`` elsewhere; this is never above it, so it too maps any
    items that fit in one bin to items that fit (``sum u(w_c) n_c <= 1`` is valid), and
    ``eps`` keeps sizes a rounding error above a threshold from being rounded up."""
    z = (k + 1) * np.clip(w, 0.0, 1.0)
    return np.maximum(np.floor(z - eps), 0.0) / k


def define_packing_rows(b: _Builder, d: ModelInputs, v: Variables,
                        ks: tuple[int, ...] = PACKING_KS) -> None:
    """(8) ``sum_c u_k(size_cs) n_cs <= y_s`` over whole jobs (1 in place of y_s without y),
    for the GPU-hour and the MW capacity, one per site and k where they cut off more than the
    capacity row does (see the module doc). Valid for integer plans with any input: they cut
    off no integer plan, only fractional ones. Added last, so that
    :func:`without_packing_rows` can drop them again."""
    cl, sa = d.classes, d.sites
    x_col = v.x.col
    on = (x_col >= 0) & cl.integer[:, None]
    if not on.any():
        return
    names, row_site, ri, ci, vals, n = [], [], [], [], [], 0
    for label, size in (("gpu", cl.gpu_hours[:, None] / sa.cap_gpu_hours[None, :]),
                        ("mw", d.unit_energy_mwh / sa.cap_energy_mwh[None, :])):
        size = np.where(on, np.nan_to_num(size, nan=0.0, posinf=1.0), 0.0)
        for k in ks:
            u = np.where(on, dual_feasible(size, k), 0.0)
            useful = (u > size + 1e-9).any(axis=0) & ((u > 0).sum(axis=0) >= 2)
            cs, ss = np.nonzero(u[:, useful] > 0)
            ss = np.flatnonzero(useful)[ss]
            row_of = np.full(sa.n, -1, np.int64)
            row_of[useful] = np.arange(n, n + int(useful.sum()))
            names += [f"pack_{label}{k}_{d.site_ids[s]}" for s in np.flatnonzero(useful)]
            row_site.append(np.flatnonzero(useful))
            ri.append(row_of[ss])
            ci.append(x_col[cs, ss])
            vals.append(u[cs, ss])
            n += int(useful.sum())
    if not n:
        return
    idx = b.rows(names, -np.inf, 0.0 if v.y is not None else 1.0, "packing")
    b.coefs(idx[np.concatenate(ri)], np.concatenate(ci), np.concatenate(vals))
    if v.y is not None:
        b.coefs(idx, v.y.col[np.concatenate(row_site)], -1.0)


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


# ------------------------------------------------------------------------- objective
def objective_terms(d: ModelInputs, v: Variables) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The objective, least tCO2e, as ``{term: (columns, t per unit)}``:

    * ``grid``: grid MWh at the grid intensity; plain on g, compact on x (every MWh of a
      placement charged at its site's grid intensity, g being eliminated);
    * ``renewable``: renewable MWh at their lifecycle intensity; compact as the credit
      ``-(grid_ci_st - renewable_ci_s)`` per MWh that replaces grid;
    * ``embodied``: ``embodied_t`` per open site (when y exists)."""
    sa, cl = d.sites, d.classes
    terms: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if d.plain:
        terms["grid"] = (v.g.cols, sa.grid_ci[v.g.at] / 1000.0)
        terms["renewable"] = (v.r.cols, sa.renewable_ci[v.r.at[0]] / 1000.0)
    else:
        ci, si = v.x.at
        grid_per_unit = cl.share @ sa.grid_ci.T  # (C, S): sum_t f_ct grid_ci_st
        terms["grid"] = (v.x.cols, d.unit_energy_mwh[ci, si] * grid_per_unit[ci, si] / 1000.0)
        credit = sa.grid_ci - sa.renewable_ci[:, None]
        terms["renewable"] = (v.r.cols, -credit[v.r.at] / 1000.0)
    if v.y is not None:
        terms["embodied"] = (v.y.cols, sa.embodied_t)
    return terms


def define_objective(b: _Builder, d: ModelInputs, v: Variables) -> None:
    """min the sum of :func:`objective_terms`."""
    for cols, coefs in objective_terms(d, v).values():
        b.add_cost(cols, coefs)


# ------------------------------------------------------------------------- assembly
def capacity_row_scale(b: _Builder, d: ModelInputs) -> np.ndarray:
    """Capacity rows carry GPU-hours (up to ~1e8): state them as shares of the site's
    capacity (divide each by this), so tolerances mean the same everywhere and rounding a
    share cannot overfill a site. 1 for every other row."""
    sa, p = d.sites, d.problem
    scale = np.ones(b.n_rows)
    for family, cap in (("gpu_cap", sa.cap_gpu_hours), ("mw_cap", sa.cap_energy_mwh)):
        rows_f = b.row_index[family]
        has = (rows_f >= 0) & np.isfinite(cap) & (cap > 0)
        scale[rows_f[has]] = cap[has]
    if "gpu_cap_period" in b.row_index:
        per = (sa.cap_gpu_hours / p.horizon_hours)[:, None] * p.period_hours[None, :]
        scale[b.row_index["gpu_cap_period"]] = np.where(per > 0, per, 1.0).ravel()
    return scale


def _safe(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "." else "_" for ch in str(label))


def formulate(problem: Problem, options: ModelOptions = ModelOptions(), *,
              packing_rows: bool | None = None) -> MatrixModel:
    """Build the model (see the module docstring) as sparse arrays. The packing rows are
    in it when ``packing_rows`` says so, by default when ``options.packing_rows`` is
    "model" (with "start", :func:`~siting.model.optimize.prepare` asks for them itself)."""
    if packing_rows is None:
        packing_rows = options.packing_rows == "model"
    d = model_inputs(problem, options)
    b = _Builder()
    # variables (columns in this order: x, y, r, g, E)
    x, x_ub = define_placements(b, d)
    y = define_open_decisions(b, d)
    r = define_renewable(b, d)
    v = Variables(x, x_ub, y, r, define_grid(b, d, r), define_site_energy(b, d))
    # constraints (rows in this order)
    define_assignment(b, d, v)
    define_links(b, d, v)
    define_gpu_capacity(b, d, v)
    define_gpu_capacity_per_period(b, d, v)
    define_site_energy_rows(b, d, v)
    define_power_capacity(b, d, v)
    define_energy_balance(b, d, v)
    define_max_sites(b, d, v)
    if packing_rows and not d.plain:
        define_packing_rows(b, d, v)  # last: without_packing_rows drops them
    define_objective(b, d, v)

    scale = capacity_row_scale(b, d)
    A = (sp.diags(1.0 / scale) @ b.matrix()).tocsr()
    cat = np.concatenate
    return MatrixModel(
        problem=problem, options=options, classes=d.classes, sites=d.sites,
        cost=b.cost(), lb=cat(b.lb), ub=cat(b.ub), integer=cat(b.integer), A=A,
        row_lb=cat(b.row_lb) / scale, row_ub=cat(b.row_ub) / scale, col_names=b.col_names,
        row_names=b.row_names, x_col=x.col, y_col=None if y is None else y.col, r_col=r.col,
        g_col=None if v.g is None else v.g.col, e_col=None if v.e is None else v.e.col,
        row_index=b.row_index, n_pruned_sites=problem.n_sites - d.sites.n, row_scale=scale,
    )
