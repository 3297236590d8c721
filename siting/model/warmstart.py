"""Greedy feasible start: place work, largest first, where its marginal emissions are lowest.

The loop runs once per workload class and placement (tens to hundreds of steps), each step
a vectorised choice over all sites.
"""

from __future__ import annotations

import numpy as np

from siting.model.dive import lp_dive
from siting.model.formulation import MatrixModel, uses_open_decisions
from siting.model.start import RootLp, Start


def _site_cost(mm: MatrixModel, c: int, units: float, r_left: np.ndarray) -> np.ndarray:
    """Approximate tCO2e of ``units`` of class c at every site given renewables left: its
    facility MWh at grid intensity, less what the renewables left (where cleaner) replace.
    The model's own objective (least tCO2e, embodied emissions added by the caller), used
    only to rank sites for a start: the start is checked against every row before use
    (:func:`siting.model.optimize.satisfies_rows`), so its cost never changes the optimum.
    A model with another objective would need its own ranking here."""
    sa, cl = mm.sites, mm.classes
    need = sa.pue[:, None] * cl.energy_mwh[c] * units * cl.share[c][None, :]  # (S, T) MWh
    cleaner = sa.renewable_ci[:, None] < sa.grid_ci
    ren = np.where(cleaner, np.minimum(need, r_left), 0.0)
    return ((need - ren) * sa.grid_ci + ren * sa.renewable_ci[:, None]).sum(axis=1) / 1000.0


def greedy_start(mm: MatrixModel) -> np.ndarray | None:
    """A feasible column vector for ``mm``, or None when the greedy rule gets stuck. Any
    input and formulation: it respects GPU-hours over the horizon and in every period, MW
    caps, renewables and max_sites, and charges ``embodied_t`` on opening a site exactly
    when the model has open decisions (:func:`~siting.model.formulation.uses_open_decisions`)."""
    sa, cl, p = mm.sites, mm.classes, mm.problem
    S = sa.n
    gpu_left = sa.cap_gpu_hours.astype(float).copy()
    # GPU-hours left in every period (capacity holds per month, not only over the horizon)
    period_left = (sa.cap_gpu_hours / p.horizon_hours)[:, None] * p.period_hours[None, :]
    energy_left = sa.cap_energy_mwh.astype(float).copy()
    r_left = sa.renewable_mwh.astype(float).copy()
    is_open = np.zeros(S, bool)
    limit = p.max_sites if p.max_sites is not None else S
    charge_open = uses_open_decisions(p)
    x = np.zeros((cl.n, S))
    for c in np.argsort(-(cl.count * cl.energy_mwh), kind="stable"):
        exists = mm.x_col[c] >= 0
        unit_e = sa.pue * cl.energy_mwh[c]
        unit_t = cl.gpu_hours[c] * cl.share[c]  # (T,) GPU-hours of one unit in each period
        with np.errstate(divide="ignore", invalid="ignore"):
            period_room = np.where(unit_t[None, :] > 0, period_left / unit_t[None, :], np.inf).min(axis=1)
        remaining = float(cl.count[c])
        while remaining > 1e-12:
            if cl.integer[c]:
                step = np.where((gpu_left >= cl.gpu_hours[c] - 1e-6)
                                & (energy_left >= unit_e - 1e-6) & (period_room >= 1 - 1e-9), 1.0, 0.0)
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    step = np.minimum.reduce([
                        np.full(S, remaining),
                        np.where(cl.gpu_hours[c] > 0, gpu_left / cl.gpu_hours[c], np.inf),
                        np.where(unit_e > 0, energy_left / unit_e, np.inf), period_room])
            allowed = exists & (step > 1e-12) & (is_open | (is_open.sum() < limit))
            if not allowed.any():
                return None
            cost = _site_cost(mm, c, 1.0, r_left) + np.where(charge_open & ~is_open,
                                                              sa.embodied_t, 0.0)
            s = int(np.argmin(np.where(allowed, cost, np.inf)))
            amount = float(step[s])
            x[c, s] += amount
            remaining -= amount
            is_open[s] = True
            gpu_left[s] -= amount * cl.gpu_hours[c]
            period_left[s] -= amount * unit_t
            with np.errstate(divide="ignore", invalid="ignore"):
                period_room[s] = np.where(unit_t > 0, period_left[s] / unit_t, np.inf).min()
            energy_left[s] -= amount * unit_e[s]
            used = sa.pue[s] * cl.energy_mwh[c] * amount * cl.share[c]
            r_left[s] = np.maximum(r_left[s] - used, 0.0)
    return column_vector(mm, x, is_open)


def column_vector(mm: MatrixModel, x: np.ndarray, is_open: np.ndarray) -> np.ndarray:
    """Full column vector implied by placements ``x`` (C, S): y, r (and g, E) follow."""
    sa, cl = mm.sites, mm.classes
    values = np.zeros(mm.n_cols)
    ci, si = np.nonzero(mm.x_col >= 0)
    values[mm.x_col[ci, si]] = x[ci, si]
    if mm.y_col is not None:
        values[mm.y_col] = is_open
    load = sa.pue[:, None] * ((x * cl.energy_mwh[:, None]).T @ cl.share)  # (S, T) facility MWh
    has_r = mm.r_col >= 0
    r = np.where(has_r, np.minimum(load, sa.renewable_mwh), 0.0)
    values[mm.r_col[has_r]] = r[has_r]
    if mm.g_col is not None:
        has_g = mm.g_col >= 0
        values[mm.g_col[has_g]] = (load - r)[has_g]
    if mm.e_col is not None:
        # E_sp = IT energy at s of the classes with period profile p
        e_sp = np.zeros((len(cl.patterns), sa.n))
        np.add.at(e_sp, cl.pattern, x * cl.energy_mwh[:, None])
        values[mm.e_col] = e_sp.T
    return values


def warm_start(mm: MatrixModel, time_limit_s: float | None = None) -> Start | None:
    """The better of an LP dive (within ``time_limit_s``) and the greedy placement."""
    root: list[RootLp] = []
    found = {"dive": lp_dive(mm, time_limit_s, root), "greedy": greedy_start(mm)}
    found = {k: v for k, v in found.items() if v is not None}
    if not found:
        return None
    source = min(found, key=lambda k: float(mm.cost @ found[k]))
    return Start(clean_start(mm, found[source]), source, root[0] if root else None)


def clean_start(mm: MatrixModel, values: np.ndarray) -> np.ndarray:
    """Rebuild a start from its placements alone: integers exactly integral, shares within
    their bounds, and y, r (g, E) recomputed consistently, so the solver gets an exact point."""
    cl = mm.classes
    x = np.zeros(mm.x_col.shape)
    has = mm.x_col >= 0
    x[has] = np.clip(values[mm.x_col[has]], 0.0, mm.ub[mm.x_col[has]])
    x[cl.integer] = np.round(x[cl.integer])
    is_open = x.sum(axis=0) > 0
    if mm.y_col is not None:
        is_open |= np.round(values[mm.y_col]) > 0.5
    return column_vector(mm, x, is_open)
