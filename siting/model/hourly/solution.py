"""From the hourly model's values to planner tables, every figure recomputed with the one
accounting rule (:mod:`siting.accounting`) from the plan's hourly table.

Bases, never mixed:
* ``co2_location_t``: every MWh of load at the hour's grid intensity (location-based);
* ``co2_t``: the plan, hourly matched: grid energy at the hour's intensity + all procured
  generation at its lifecycle factor (used or spilled) + embodied emissions of opened sites;
* ``co2_annual_certificates_t``: what an annual certificate claim would report (procured
  MWh over the year netted against load at once, the rest at the mean grid intensity);
  shown only labelled as such, never as physical emissions.

Marginal values (LP duals with the plan's integer decisions fixed, computed in the model
layer by :mod:`siting.model.hourly.marginals`) travel in ``tables["marginal_values"]``
(written as ``marginal_values.csv``); the report reads them, it never re-solves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from siting.accounting import emissions_t, site_accounts
from siting.model.hourly.decompose import HourlyRaw
from siting.model.hourly.linear import LinearModel
from siting.model.hourly.problem import HourlyProblem, Objective
from siting.model.solution import Solution


def hourly_dispatch(
    p: HourlyProblem, m: LinearModel, values: np.ndarray, dispatch: dict | None = None
) -> dict[str, np.ndarray]:
    """(S, T) arrays of the plan: load, clean energy used, grid, generation, spill, storage.
    ``dispatch``: per site with a battery in use, its dispatch from the decomposed solve
    (:class:`siting.model.hourly.dispatch.Dispatch`); the other sites use min(L, G)."""
    lam = values[m.cols["lam"]]
    P = values[m.cols["P"]]
    L = p.load_mwh(lam)
    G = np.einsum("sk,skt->st", P, p.cf)
    if "m" in m.cols:  # explicit model: its own hourly values (storage moves energy in time)
        used = np.clip(values[m.cols["m"]], 0.0, None)
        used = np.minimum(used, L)
        ch = values[m.cols["ch"]] if "ch" in m.cols else np.zeros_like(L)
        dis = values[m.cols["dis"]] if "dis" in m.cols else np.zeros_like(L)
        soc = values[m.cols["soc"]] if "soc" in m.cols else np.zeros_like(L)
    else:  # without a battery the best use in each hour is min(load, generation)
        used = np.minimum(L, G)
        ch, dis, soc = np.zeros_like(L), np.zeros_like(L), np.zeros_like(L)
        for s, d in (dispatch or {}).items():
            used[s] = np.minimum(d.m, L[s])
            ch[s], dis[s], soc[s] = d.ch, d.dis, d.soc
    return {
        "load_mwh": L,
        "cfe_mwh": used,
        "grid_mwh": L - used,
        "generation_mwh": G,
        "spilled_mwh": np.maximum(G - used - ch + dis, 0.0),
        "charge_mwh": ch,
        "discharge_mwh": dis,
        "soc_mwh": soc,
    }


def build_hourly_solution(
    p: HourlyProblem,
    obj: Objective,
    m: LinearModel,
    raw: HourlyRaw,
    formulation: str,
    build_s: float,
    pareto: pd.DataFrame | None = None,
    marginals: pd.DataFrame | None = None,
) -> Solution:
    """The plan's tables. ``marginals``: the table of
    :func:`siting.model.hourly.marginals.marginal_table` (None: not computed)."""
    v = raw.values
    x = np.clip(v[m.cols["x"]], 0.0, 1.0)  # (W, S)
    x[x < 1e-9] = 0.0
    P = np.clip(v[m.cols["P"]], 0.0, None)
    P[P < 1e-9] = 0.0
    E = np.clip(v[m.cols["E"]], 0.0, None) if "E" in m.cols else np.zeros(p.n_sites)
    d = hourly_dispatch(p, m, v, raw.dispatch)
    is_open = (x.sum(axis=0) > 0) | (np.round(v[m.cols["y"]]) > 0.5)
    techs = list(p.technologies.index)
    cost_mw = p.capacity_cost_usd_per_mw()
    lc = p.technologies["lifecycle_ci_g_per_kwh"].to_numpy(float)
    acc = [
        site_accounts(
            load_mwh=d["load_mwh"][s],
            cfe_used_mwh=d["cfe_mwh"][s],
            grid_mwh=d["grid_mwh"][s],
            grid_ci_g_per_kwh=p.grid_ci[s],
            price_usd_per_mwh=p.price[s],
            capacity_mw=P[s],
            capacity_cost_usd_per_mw=cost_mw,
            lifecycle_g_per_kwh=lc,
            cf=p.cf[s],
            storage_mwh=E[s],
            storage_cost_usd_per_mwh=p.storage_cost_usd_per_mwh(),
        )
        for s in range(p.n_sites)
    ]
    acc = pd.DataFrame(acc)
    embodied = p.sites["embodied_t"].to_numpy(float) * is_open
    fixed = p.sites["fixed_cost_usd"].to_numpy(float) * is_open
    gen_year = d["generation_mwh"].sum(axis=1)
    load = acc["load_mwh"].to_numpy()
    mean_ci = np.where(load > 0, (d["load_mwh"] * p.grid_ci).sum(axis=1) / np.where(load > 0, load, 1), 0.0)
    covered = np.minimum(load, gen_year)
    annual_cert = (
        emissions_t(load - covered, mean_ci)
        + emissions_t(P * p.cf.sum(axis=2), lc[None, :]).sum(axis=1)
        + embodied
    )
    sites = pd.DataFrame(
        {
            "site_id": p.sites["site_id"],
            "name": p.sites.get("name", p.sites["site_id"]),
            "open": is_open,
            "facility_energy_mwh": load,
            "cfe": acc["cfe"].astype(float),
            "cfe_mwh": acc["cfe_mwh"],
            "grid_mwh": acc["grid_mwh"],
            "co2_location_t": acc["co2_location_t"],
            "co2_grid_t": acc["co2_grid_t"],
            "co2_procured_t": acc["co2_procured_t"],
            "embodied_t": embodied,
            "co2_t": acc["co2_t"] + embodied,
            "co2_annual_certificates_t": annual_cert,
            "cost_usd": acc["cost_usd"] + fixed,
            "location_ci_g_per_kwh": mean_ci,
            "gpu_hours": x.T @ p.workloads["gpu_hours"].to_numpy(float),
        }
    )
    for k, tech in enumerate(techs):
        sites[f"{tech}_mw"] = P[:, k]
    if p.has_storage:
        sites["storage_mwh"] = E
    for col in ("lat", "lon", "country_iso3"):
        if col in p.sites:
            sites[col] = p.sites[col].to_numpy()
    sites = sites.sort_values(["open", "co2_t", "site_id"], ascending=[False, False, True]).reset_index(
        drop=True
    )
    w_idx, s_idx = np.nonzero(x)
    it_mwh = (
        p.workloads["gpu_hours"].to_numpy(float)
        * p.workloads["gpu_power_kw"].to_numpy(float)
        * (1 + p.workloads["overhead_share"].to_numpy(float))
        / 1000.0
    )
    assignments = pd.DataFrame(
        {
            "workload_id": p.workloads["workload_id"].to_numpy()[w_idx],
            "site_id": p.sites["site_id"].to_numpy()[s_idx],
            "share": x[w_idx, s_idx],
            "gpu_hours": x[w_idx, s_idx] * p.workloads["gpu_hours"].to_numpy(float)[w_idx],
            "it_energy_mwh": x[w_idx, s_idx] * it_mwh[w_idx],
            "facility_energy_mwh": x[w_idx, s_idx] * it_mwh[w_idx] * p.sites["pue"].to_numpy(float)[s_idx],
        }
    )
    assignments["energy_mwh"] = assignments["facility_energy_mwh"]
    # location-based CO2 of each placement: its load in each hour of its window at that hour's intensity
    first = p.workloads["first_hour"].to_numpy(int)[w_idx]
    last = p.workloads["last_hour"].to_numpy(int)[w_idx]
    csum = np.concatenate([np.zeros((p.n_sites, 1)), np.cumsum(p.grid_ci, axis=1)], axis=1)
    ci_sum = csum[s_idx, last] - csum[s_idx, first]  # sum of g/kWh over the window's hours
    per_hour = assignments["facility_energy_mwh"].to_numpy() / (last - first)
    assignments["co2_location_t"] = emissions_t(per_hour * ci_sum, 1.0)
    open_idx = np.flatnonzero(is_open)
    ts = p.grid.timestamps
    site_hours = pd.DataFrame(
        {
            "site_id": np.repeat(p.sites["site_id"].to_numpy()[open_idx], p.n_hours),
            "timestamp": np.tile(ts, len(open_idx)),
            **{
                k: d[k][open_idx].ravel()
                for k in (
                    "load_mwh",
                    "cfe_mwh",
                    "grid_mwh",
                    "generation_mwh",
                    "spilled_mwh",
                    "charge_mwh",
                    "discharge_mwh",
                    "soc_mwh",
                )
            },
            "grid_ci_g_per_kwh": p.grid_ci[open_idx].ravel(),
        }
    )
    # month x hour-of-day (UTC) CFE share per open site (for the report's heatmaps)
    month, hod = p.grid.month, p.grid.hour_of_day
    key = (month - 1) * 24 + hod
    heat = []
    for s in open_idx:
        used = np.bincount(key, weights=d["cfe_mwh"][s], minlength=288)
        tot = np.bincount(key, weights=d["load_mwh"][s], minlength=288)
        share = np.where(tot > 0, used / np.where(tot > 0, tot, 1), np.nan)
        heat.append(
            pd.DataFrame(
                {
                    "site_id": p.sites["site_id"].iloc[s],
                    "month": np.arange(288) // 24 + 1,
                    "hour": np.arange(288) % 24,
                    "cfe": share,
                }
            )
        )
    heatmap = (
        pd.concat(heat, ignore_index=True)
        if heat
        else pd.DataFrame(columns=["site_id", "month", "hour", "cfe"])
    )
    tot_load = float(load.sum())
    summary = {
        "scenario": p.name,
        "periods": "hourly",
        "matching": "hourly (24/7 CFE)",
        "status": raw.status,
        "objective_kind": obj.kind,
        "objective": raw.objective,
        "bound": raw.bound,
        "gap": raw.gap,
        "formulation": formulation,
        "solver": "highs",
        "n_variables": m.n_cols,
        "n_constraints": m.n_rows,
        "co2_t": float(sites["co2_t"].sum()),
        "co2_location_t": float(sites["co2_location_t"].sum()),
        "co2_annual_certificates_t": float(sites["co2_annual_certificates_t"].sum()),
        "site_embodied_t": float(embodied.sum()),
        "cost_usd": float(sites["cost_usd"].sum()),
        "cfe": float(acc["cfe_mwh"].sum()) / tot_load if tot_load > 0 else None,
        "facility_energy_mwh": tot_load,
        "procured_mw": {t: float(P[:, k].sum()) for k, t in enumerate(techs)},
        "n_sites": p.n_sites,
        "n_sites_open": int(is_open.sum()),
        "n_workloads": p.n_workloads,
        "n_hours": p.n_hours,
        "n_segments": p.segments.n,
        "time_grid": str(p.grid),
        "max_sites": p.max_sites,
        "co2_cap_t": obj.co2_cap_t,
        "budget_usd": obj.budget_usd,
        "carbon_price_usd_per_t": obj.carbon_price_usd_per_t,
        "cfe_target": obj.cfe_target,
        "cfe_scope": obj.cfe_scope,
        "build_s": round(build_s, 4),
        "solve_s": round(raw.solve_s, 4),
        "rounds": raw.iterations,
        "n_cuts": raw.n_cuts,
        # kept for readers of the annual model's summary
        "emissions_t": float(sites["co2_t"].sum()),
        "energy_mwh": tot_load,
    }
    # names the report shares with the annual model (so one report reads both)
    energy = sites["facility_energy_mwh"].to_numpy()
    sites["energy_mwh"] = energy
    sites["renewable_mwh"] = sites["cfe_mwh"]
    sites["renewable_share"] = sites["cfe"]
    sites["emissions_t"] = sites["co2_t"]
    sites["operational_emissions_t"] = sites["co2_t"] - sites["embodied_t"]
    with np.errstate(divide="ignore", invalid="ignore"):
        sites["effective_ci_g_per_kwh"] = np.where(
            energy > 0, sites["operational_emissions_t"] * 1000 / energy, np.nan
        )
    busy = p.active * p.gpus_busy[:, None]  # (W, J)
    peak = (x.T @ busy).max(axis=1)  # (S,) GPUs busy in the site's busiest segment
    cap = p.sites["capacity_gpus"].to_numpy(float)
    util = pd.Series(np.where(cap > 0, peak / np.where(cap > 0, cap, 1), 0.0), index=p.sites["site_id"])
    sites["gpu_utilisation"] = sites["site_id"].map(util).to_numpy()
    sites["mw_utilisation"] = np.nan
    sites["renewable_utilisation"] = np.nan
    tables = {
        "site_hours": site_hours,
        "cfe_month_hour": heatmap,
        **report_inputs(p, d, x, util, sites["site_id"], obj, marginals),
    }
    if marginals is not None:
        tables["marginal_values"] = marginals
    if len(p.provenance):
        tables["provenance"] = p.provenance
    if pareto is not None:
        tables["pareto"] = pareto
    periods = monthly_periods(p, d, is_open)
    summary["n_periods"] = p.n_hours
    return Solution(assignments, sites, summary, periods, tables=tables)


def monthly_periods(p: HourlyProblem, d: dict, is_open: np.ndarray) -> pd.DataFrame:
    """Per open site and calendar month: energy, clean energy used, grid energy, and the
    energy-weighted grid intensity (so energy x intensity is the month's location-based CO2)."""
    months = p.grid.periods("monthly")
    rows = []
    for s in np.flatnonzero(is_open):
        e = months.aggregate(d["load_mwh"][s])
        loc = months.aggregate(d["load_mwh"][s] * p.grid_ci[s])
        rows.append(
            pd.DataFrame(
                {
                    "site_id": p.sites["site_id"].iloc[s],
                    "period": months.labels,
                    "energy_mwh": e,
                    "renewable_mwh": months.aggregate(d["cfe_mwh"][s]),
                    "grid_mwh": months.aggregate(d["grid_mwh"][s]),
                    "grid_ci_g_per_kwh": np.where(
                        e > 0, loc / np.where(e > 0, e, 1), months.aggregate(p.grid_ci[s], "mean")
                    ),
                    "emissions_t": emissions_t(months.aggregate(d["grid_mwh"][s] * p.grid_ci[s]), 1.0),
                }
            )
        )
    return (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame(
            columns=[
                "site_id",
                "period",
                "energy_mwh",
                "renewable_mwh",
                "grid_mwh",
                "grid_ci_g_per_kwh",
                "emissions_t",
            ]
        )
    )


def report_inputs(
    p: HourlyProblem,
    d: dict,
    x: np.ndarray,
    util: pd.Series,
    ids,
    obj: Objective | None = None,
    marginals: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """The problem-side tables the report reads (same names as the annual model's): site
    inputs with their data sources, monthly grid intensity, monthly IT energy, the workloads,
    and the per-site marginals (:func:`site_marginals`)."""
    months = p.grid.periods("monthly")
    site_inputs = pd.DataFrame(p.sites).copy()
    site_inputs["grid_ci_mean_g_per_kwh"] = p.grid_ci.mean(axis=1)
    if "renewable_ci_g_per_kwh" not in site_inputs:
        site_inputs["renewable_ci_g_per_kwh"] = np.nan
    prov = p.provenance
    if len(prov) and {"series", "source"} <= set(prov.columns):
        g = prov[prov["series"] == "grid_ci"].drop_duplicates("site_id").set_index("site_id")
        site_inputs["grid_ci_source"] = site_inputs["site_id"].map(g["source"]).fillna("")
        site_inputs["grid_ci_resolution"] = site_inputs["site_id"].map(g["resolution"]).fillna("")
        cf = prov[prov["series"] != "grid_ci"]
        if len(cf):
            text = (
                cf.assign(t=cf["series"].str.removeprefix("cf_") + ": " + cf["resolution"].astype(str))
                .groupby("site_id")["t"]
                .agg("; ".join)
            )
            site_inputs["profile_sources"] = site_inputs["site_id"].map(text).fillna("")
    ids_all = p.sites["site_id"].to_numpy()
    grid = pd.DataFrame(
        {
            "site_id": np.repeat(ids_all, months.n),
            "period": np.tile(months.labels, p.n_sites),
            "grid_ci_g_per_kwh": months.aggregate(p.grid_ci, "mean").ravel(),
        }
    )
    w = p.workloads
    it_w = (
        w["gpu_power_kw"].to_numpy(float) * (1 + w["overhead_share"].to_numpy(float)) / 1000.0 * p.gpus_busy
    )  # (W,) IT MW while running
    t = np.arange(p.n_hours)
    it_hour = (
        (t[None, :] >= w["first_hour"].to_numpy()[:, None])
        & (t[None, :] < w["last_hour"].to_numpy()[:, None])
    ).T @ it_w
    energy = pd.DataFrame({"period": months.labels, "it_energy_mwh": months.aggregate(it_hour)})
    workloads = pd.DataFrame(w).copy()
    workloads["energy_mwh"] = (
        workloads["gpu_hours"] * workloads["gpu_power_kw"] * (1 + workloads["overhead_share"]) / 1000
    )
    full = util.reindex(ids_all).to_numpy() >= 1 - 1e-6
    return {
        "marginals": site_marginals(p, obj, marginals, full),
        "workloads": workloads,
        "site_inputs": site_inputs,
        "grid_ci_periods": grid,
        "energy_periods": energy,
    }


def site_marginals(
    p: HourlyProblem, obj: Objective | None, marginals: pd.DataFrame | None, full: np.ndarray
) -> pd.DataFrame:
    """Per site, in the annual model's columns: what binds and, when the objective is tCO2e
    (``min_co2``), the tonnes one more unit saves over the horizon: a GPU (in every hour), a MW
    of facility power cap (in every hour, capped sites only), and a MWh of the site's most
    valuable technology's potential generation (MW value / MWh it generates per MW). Without
    the marginal values (or with a USD objective: see ``marginal_values``) only what binds."""
    ids = p.sites["site_id"].to_numpy()
    out = pd.DataFrame(
        {
            "site_id": ids,
            "binding": np.where(full, "GPUs (busiest hour)", ""),
            "t_saved_per_gpu": np.nan,
            "t_saved_per_mw": np.nan,
            "t_saved_per_renewable_mwh": np.nan,
        }
    )
    if marginals is None or marginals.empty:
        return out
    pos = {sid: i for i, sid in enumerate(ids)}
    binding = [[] for _ in ids]
    for r in marginals[marginals["binding"] & (marginals["site_id"] != "")].itertuples():
        label = {
            "gpu_capacity": f"GPUs ({r.binding_hours:.0f} h)",
            "mw_capacity": f"MW ({r.binding_hours:.0f} h)",
            "technology_potential": f"{r.technology} potential",
            "cfe_target": "CFE target",
        }[r.constraint]
        binding[pos[r.site_id]].append(label)
    out["binding"] = [", ".join(b) for b in binding]
    if obj is None or obj.kind != "min_co2":
        return out
    T = p.n_hours
    for constraint, column, scale in (
        ("gpu_capacity", "t_saved_per_gpu", T),
        ("mw_capacity", "t_saved_per_mw", T),
    ):
        rows = marginals[marginals["constraint"] == constraint]
        idx = rows["site_id"].map(pos).to_numpy(int)
        out.loc[idx, column] = rows["marginal_value"].to_numpy(float) * scale
    pot = marginals[marginals["constraint"] == "technology_potential"]
    if len(pot):
        s = pot["site_id"].map(pos).to_numpy(int)
        k = pot["technology"].map({t: i for i, t in enumerate(p.technologies.index)}).to_numpy(int)
        mwh_per_mw = p.cf[s, k].sum(axis=1)
        per_mwh = np.where(
            mwh_per_mw > 0,
            pot["marginal_value"].to_numpy(float) / np.where(mwh_per_mw > 0, mwh_per_mw, 1),
            0.0,
        )
        best = pd.Series(per_mwh).groupby(s).max()
        out.loc[best.index.to_numpy(), "t_saved_per_renewable_mwh"] = best.to_numpy()
    return out
