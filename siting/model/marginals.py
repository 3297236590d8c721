"""Marginal values of a solved plan: what one more GPU, MW or MWh of renewables at a site
would save, and which limits bind. Computed once, right after the solve
(:func:`siting.model.optimize.optimize` stores the table as ``solution.marginals``), so a
report only reads them: it never solves anything.

They are the duals of the LP with every integer decision (site open, whole-job placements)
fixed at its value in the plan: exact for small changes that keep those decisions, and
silent about changes that would reopen them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from siting.model.formulation import MatrixModel
from siting.model.solve import lp_duals

# a limit binds when its slack is below this share of the limit (HiGHS keeps rows to 1e-7)
BINDING_TOL = 1e-6
MARGINAL_COLUMNS = ("site_id", "t_saved_per_gpu", "t_saved_per_mw", "t_saved_per_renewable_mwh",
                    "binding")


def marginal_values(mm: MatrixModel, values: np.ndarray) -> pd.DataFrame:
    """Per site of ``mm.problem`` (in its order): ``t_saved_per_gpu`` (tCO2e saved over the
    horizon by one more GPU), ``t_saved_per_mw`` (by one more MW: the MW cap's dual where the
    site has one, else as many more GPUs as a MW runs), ``t_saved_per_renewable_mwh`` (by one
    more MWh of renewables, averaged over the periods) and ``binding`` (the limits with no
    slack: "GPUs", "MW", "renewables"). ``values`` is the plan's column vector. Zeros where
    a site was pruned as dominated (extra room there cannot help) and everywhere when the
    fixed LP does not solve to optimality."""
    p = mm.problem
    n = p.n_sites
    out = pd.DataFrame({"site_id": p.sites["site_id"],
                        "t_saved_per_gpu": 0.0, "t_saved_per_mw": 0.0,
                        "t_saved_per_renewable_mwh": 0.0, "binding": ""})
    duals = lp_duals(mm, values)
    if duals is None:
        return out
    H = p.horizon_hours
    kept = mm.sites.index
    per_gpu = np.zeros(n)
    per_mw = np.zeros(n)
    per_ren = np.zeros(n)
    binding = [[] for _ in range(n)]

    scale = mm.row_scale if mm.row_scale is not None else np.ones(mm.n_rows)
    gpu_rows = mm.row_index["gpu_cap"]
    has = gpu_rows >= 0
    d = np.zeros(len(kept))
    # a row divided by its scale has its dual multiplied by it: divide back (t per GPU-hour)
    d[has] = -duals.row_dual[gpu_rows[has]] / scale[gpu_rows[has]]
    per_gpu[kept] = np.clip(d, 0.0, None) * H
    slack = np.full(len(kept), np.inf)
    slack[has] = (mm.row_ub[gpu_rows[has]] - duals.row_value[gpu_rows[has]]) * scale[gpu_rows[has]]
    rel = slack / np.maximum(mm.sites.cap_gpu_hours, 1.0)
    for s in np.flatnonzero(rel < BINDING_TOL):
        binding[kept[s]].append("GPUs")

    # one MW more: a MW cap if the site has one, else more GPUs at the site's power per GPU
    wl = p.workloads
    kw_per_gpu = float((wl["gpu_power_kw"] * (1 + wl["overhead_share"]) * wl["gpu_hours"]).sum()
                       / max(wl["gpu_hours"].sum(), 1e-9))
    gpus_per_mw = 1000.0 / (kw_per_gpu * mm.sites.pue)
    per_mw[kept] = per_gpu[kept] * gpus_per_mw
    mw_rows = mm.row_index["mw_cap"]
    has_mw = mw_rows >= 0
    if has_mw.any():
        sc = scale[mw_rows[has_mw]]
        per_mw[kept[has_mw]] = np.clip(-duals.row_dual[mw_rows[has_mw]] / sc, 0.0, None) * H
        mslack = (mm.row_ub[mw_rows[has_mw]] - duals.row_value[mw_rows[has_mw]]) * sc
        for s in kept[has_mw][mslack / np.maximum(mm.sites.cap_energy_mwh[has_mw], 1) < BINDING_TOL]:
            binding[s].append("MW")

    # renewables: reduced cost of r_st at its upper bound, averaged over the periods
    has_r = mm.r_col >= 0
    dj = np.zeros(mm.r_col.shape)
    dj[has_r] = np.clip(-duals.col_dual[mm.r_col[has_r]], 0.0, None)
    per_ren[kept] = dj.mean(axis=1)
    at_ub = np.zeros(mm.r_col.shape, bool)
    at_ub[has_r] = (mm.ub[mm.r_col[has_r]] - duals.col_value[mm.r_col[has_r]]
                    <= BINDING_TOL * np.maximum(mm.ub[mm.r_col[has_r]], 1))
    for s in np.flatnonzero(at_ub.any(axis=1)):
        k = int(at_ub[s].sum())
        binding[kept[s]].append("renewables" + (f" ({k}/{p.n_periods} months)" if p.n_periods > 1 else ""))

    out["t_saved_per_gpu"] = per_gpu
    out["t_saved_per_mw"] = per_mw
    out["t_saved_per_renewable_mwh"] = per_ren
    out["binding"] = [", ".join(b) for b in binding]
    return out
