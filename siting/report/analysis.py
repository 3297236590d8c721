"""What a planner reads: ranked placements, totals, baselines, binding constraints and
marginal values, assumptions and sources. Pure functions from a :class:`Solution`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from siting.assumptions import Assumptions, assumption, assumptions_table, default_assumptions
from siting.data.registry import DATASETS
from siting.errors import SitingError
from siting.intensity import country_intensity
from siting.model.solution import Solution
from siting.model.solve import lp_duals

# Meta's Llama 3.1 card: GPU-hours -> location-based tCO2e, on H100-80GB; the figures are
# the table's llama31_<size>_gpu_hours / _location_based_t rows
LLAMA31_SIZES = ("405b", "70b", "8b")
# Default baseline country (text, so not in the numeric assumptions table): the US grid,
# where Meta's Llama 3.1 card places its location-based figures
BASELINE_COUNTRY_ISO3 = "USA"


def llama31_card(a: Assumptions) -> list[tuple[str, float, float]]:
    """``(workload id, GPU-hours, location-based tCO2e)`` of each Llama 3.1 run on Meta's card."""
    return [(f"llama31_{size}", a[f"llama31_{size}_gpu_hours"], a[f"llama31_{size}_location_based_t"])
            for size in LLAMA31_SIZES]
BINDING_TOL = 1e-6


@dataclass
class Report:
    scenario: str
    ranked: pd.DataFrame
    sites: pd.DataFrame  # every candidate with results and marginal values
    totals: dict
    baselines: pd.DataFrame
    assumptions: pd.DataFrame
    sources: pd.DataFrame
    summary: dict
    notes: list[str] = field(default_factory=list)


def marginal_values(solution: Solution) -> pd.DataFrame:
    """Per site: binding constraints and tCO2e saved by one more GPU, MW, or MWh of
    renewables, from the LP with the integer decisions fixed (0 where a site was pruned
    as dominated: extra room there cannot help)."""
    mm, raw = solution.model, solution.raw
    p = mm.problem
    n = p.n_sites
    out = pd.DataFrame({"site_id": p.sites["site_id"],
                        "t_saved_per_gpu": 0.0, "t_saved_per_mw": 0.0,
                        "t_saved_per_renewable_mwh": 0.0, "binding": ""})
    duals = lp_duals(mm, raw.values)
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


def baseline_country(solution: Solution, country_iso3: str, year: int | None = None) -> dict:
    """The same workloads at a country's average grid intensity, with the default PUE."""
    p = solution.problem
    ci, yr = country_intensity(country_iso3, year)
    pue = assumption("pue_default")
    energy = float(p.workloads["energy_mwh"].sum()) * pue
    return {"baseline": f"{country_iso3.upper()} grid average ({yr}, PUE {pue:g})",
            "emissions_t": energy * ci / 1000.0, "energy_mwh": energy,
            "ci_g_per_kwh": ci}


def baseline_site(solution: Solution, site_id: str) -> dict:
    """The same workloads all at one site, on its grid (location-based)."""
    p = solution.problem
    ids = p.sites["site_id"]
    if site_id not in set(ids):
        raise SitingError(f"baseline site {site_id!r} is not in the sites table")
    s = int(np.flatnonzero(ids.to_numpy() == site_id)[0])
    pue = float(p.sites["pue"].iloc[s])
    e = p.workloads["energy_mwh"].to_numpy(float)
    energy_t = pue * (e @ p.share)  # (T,)
    em = float(energy_t @ p.grid_ci[s]) / 1000.0
    return {"baseline": f"site {site_id} grid ({p.sites['name'].iloc[s]})", "emissions_t": em,
            "energy_mwh": float(energy_t.sum()),
            "ci_g_per_kwh": em * 1000 / max(float(energy_t.sum()), 1e-9)}


def card_baseline(solution: Solution, assumptions: Assumptions | None = None) -> dict | None:
    """Meta's location-based figures for the Llama 3.1 runs found in the scenario
    (matched by GPU-hours at the card's GPU power), against what the plan emits for those runs."""
    a = default_assumptions() if assumptions is None else assumptions
    wl = solution.problem.workloads
    card_kw = a["llama31_gpu_power_w"] / 1000.0
    matched, card_t = [], 0.0
    for _, hours, tonnes in llama31_card(a):
        hit = wl[np.isclose(wl["gpu_hours"], hours, rtol=1e-6) & np.isclose(wl["gpu_power_kw"], card_kw)]
        if len(hit):
            matched.append(hit["workload_id"].iloc[0])
            card_t += tonnes
    if not matched:
        return None
    a = solution.assignments
    plan_t = float(a.loc[a["workload_id"].isin(matched), "emissions_t"].sum())
    label = "Llama 3.1 card, location-based" + (
        "" if len(matched) == len(LLAMA31_SIZES) else f" ({', '.join(matched)})")
    return {"baseline": label, "emissions_t": card_t, "optimised_t": plan_t,
            "workloads": ", ".join(matched)}


def ranked_placements(solution: Solution, marginals: pd.DataFrame) -> pd.DataFrame:
    a, s = solution.assignments, solution.sites
    placed = (a.groupby("site_id")["workload_id"].agg(lambda ids: ", ".join(sorted(ids)))
              .rename("workloads"))
    opened = s[s["open"]].merge(placed, on="site_id", how="left").merge(
        marginals, on="site_id", how="left")
    opened = opened.sort_values(["effective_ci_g_per_kwh", "site_id"], kind="stable")
    opened.insert(0, "rank", np.arange(1, len(opened) + 1))
    cols = ["rank", "site_id", "name", "country_iso3", "workloads", "gpu_hours", "energy_mwh",
            "renewable_share", "emissions_t", "effective_ci_g_per_kwh", "gpu_utilisation",
            "mw_utilisation", "renewable_utilisation", "binding", "t_saved_per_gpu",
            "t_saved_per_mw", "t_saved_per_renewable_mwh"]
    return opened[cols].reset_index(drop=True)


def sources_table() -> pd.DataFrame:
    return pd.DataFrame([{"dataset": d.name, "title": d.title, "licence": d.licence,
                          "attribution": d.attribution, "url": d.files[0].url,
                          "in_embedded_default": d.redistributable} for d in DATASETS.values()])


def build_report(solution: Solution, *, baseline: str = BASELINE_COUNTRY_ISO3,
                 baseline_year: int | None = None, site: str | None = None) -> Report:
    """Everything the Markdown/HTML/CSV outputs show, as tables and dicts."""
    if solution.model is None:
        raise SitingError("this solution carries no model; produce it with siting.model.optimize")
    marg = marginal_values(solution)
    ranked = ranked_placements(solution, marg)
    sites = solution.sites.merge(marg, on="site_id", how="left")
    p = solution.problem
    ref = p.sites[["site_id", "grid_ci_g_per_kwh", "renewable_ci_g_per_kwh", "pue",
                   "capacity_gpus"]].rename(columns={"grid_ci_g_per_kwh": "grid_ci_mean_g_per_kwh"})
    ref["grid_ci_mean_g_per_kwh"] = p.grid_ci.mean(axis=1)
    sites = sites.merge(ref, on="site_id", how="left")
    total_t = float(solution.summary["emissions_t"])
    energy = float(solution.summary["energy_mwh"])
    ren = float(solution.sites["renewable_mwh"].sum())
    totals = {"emissions_t": total_t, "energy_mwh": energy, "renewable_mwh": ren,
              "renewable_share": ren / energy if energy else 0.0,
              "effective_ci_g_per_kwh": total_t * 1000 / energy if energy else 0.0,
              "gpu_hours": float(p.workloads["gpu_hours"].sum()),
              "sites_open": int(solution.sites["open"].sum()),
              "embodied_t": float(solution.sites["embodied_t"].sum())}
    rows = [baseline_site(solution, site) if site else baseline_country(solution, baseline, baseline_year)]
    rows[0]["optimised_t"] = total_t
    card = card_baseline(solution)
    if card:
        rows.append(card)
    baselines = pd.DataFrame(rows)
    baselines["saved_t"] = baselines["emissions_t"] - baselines["optimised_t"]
    baselines["saved_share"] = baselines["saved_t"] / baselines["emissions_t"]
    summary = {**solution.summary, "totals": totals,
               "baselines": baselines.to_dict("records")}
    notes = []
    if p.n_periods == 1:
        notes.append("Annual periods: renewable supply is matched over the year, not hour by hour.")
    if solution.summary["status"] != "optimal":
        notes.append(f"Solver status {solution.summary['status']}: the plan is feasible, within "
                     f"a relative gap of {solution.summary['gap']:.2%} of the best bound.")
    return Report(p.name, ranked, sites, totals, baselines, assumptions_table().reset_index(),
                  sources_table(), summary, notes)
