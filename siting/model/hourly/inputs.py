"""From a scenario to an :class:`HourlyProblem`: sites, workload windows on the time grid,
technologies (NREL ATB 2022 defaults from the assumptions table, or a user's CSV), and the
hourly series of every site: grid intensity, price and capacity factors, either from a
user's ``sites_hourly`` file or built by the data layer with their provenance."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from siting.assumptions import Assumptions
from siting.data.validate import numeric_column, read_csv, require_columns
from siting.errors import SitingError
from siting.model.hourly.problem import HourlyProblem, Objective, technology_table
from siting.timegrid import TimeGrid

TECH_LIFECYCLE_KEY = {
    "wind_onshore": "wind",
    "wind_offshore": "wind",
    "solar_pv": "solar",
    "geothermal": "geothermal",
    "hydro_ror": "hydro",
    "hydro_reservoir": "hydro",
}
TECH_COLUMNS = [
    "technology",
    "lifecycle_ci_g_per_kwh",
    "capex_usd_per_kw",
    "fixed_om_usd_per_kw_year",
    "lifetime_years",
]


def default_technologies(a: Assumptions, names) -> pd.DataFrame:
    """Technologies from the assumptions table (NREL ATB 2022 costs, IPCC AR5 lifecycle)."""
    rows = []
    for k in names:
        if f"tech_{k}_capex_usd_per_kw" not in a:
            known = sorted(
                {
                    key[5:].rsplit("_capex", 1)[0]
                    for key in a.keys()
                    if key.startswith("tech_") and key.endswith("_capex_usd_per_kw")
                }
            )
            raise SitingError(f"procure: unknown technology {k!r}; known: {', '.join(known)}")
        rows.append(
            {
                "technology": k,
                "lifecycle_ci_g_per_kwh": a.lifecycle_g_per_kwh(TECH_LIFECYCLE_KEY.get(k, "other")),
                "capex_usd_per_kw": a[f"tech_{k}_capex_usd_per_kw"],
                "fixed_om_usd_per_kw_year": a[f"tech_{k}_fixed_om_usd_per_kw_year"],
                "lifetime_years": a[f"tech_{k}_lifetime_years"],
            }
        )
    return pd.DataFrame(rows).set_index("technology")


def read_technologies(path: Path, names) -> pd.DataFrame:
    df = read_csv(path, "technologies")
    require_columns(df, TECH_COLUMNS, path)
    out = pd.DataFrame({"technology": df["technology"].astype(str).str.strip()})
    for col, lo, hi in (
        ("lifecycle_ci_g_per_kwh", 0, 2000),
        ("capex_usd_per_kw", 0, 1e6),
        ("fixed_om_usd_per_kw_year", 0, 1e5),
        ("lifetime_years", 1, 200),
    ):
        out[col] = numeric_column(df, col, path, lo=lo, hi=hi)
    out = out.set_index("technology")
    missing = [k for k in names if k not in out.index]
    if missing:
        raise SitingError(f"{path}: no row for technology {missing[0]!r} (procure lists it)")
    return out.loc[list(names)]


def workload_windows(workloads: pd.DataFrame, grid: TimeGrid, path="workloads") -> pd.DataFrame:
    """``first_hour``/``last_hour`` on the grid from ``start``/``end`` dates when given, else
    from ``start_month``/``end_month`` (whole calendar months of the grid's year)."""
    out = workloads.copy()
    first = np.empty(len(out), int)
    last = np.empty(len(out), int)
    for i, (sm, em) in enumerate(zip(out["start_month"], out["end_month"], strict=True)):
        first[i], last[i] = grid.month_window(int(sm), int(em))
    if "start" in out:
        has = out["start"].notna().to_numpy()
        first[has] = [grid.hour_index(t) for t in out.loc[has, "start"]]
    if "end" in out:
        has = out["end"].notna().to_numpy()
        last[has] = [grid.hour_index(t) for t in out.loc[has, "end"]]
    bad = np.flatnonzero(last <= first)
    if bad.size:
        raise SitingError(f"{path}: row {bad[0] + 2}: the window has no hour inside the time grid ({grid})")
    out["first_hour"], out["last_hour"] = first, last
    return out


def read_sites_hourly(path: Path, site_ids: pd.Series, grid: TimeGrid, techs) -> dict:
    """Long-form hourly site series -> arrays on ``grid`` (every site, every hour)."""
    if path.suffix.lower() == ".parquet":
        try:
            df = pd.read_parquet(path)
        except Exception as exc:
            raise SitingError(f"{path}: not a readable Parquet file ({str(exc)[:80]})") from None
    else:
        df = read_csv(path, "hourly sites")
    require_columns(df, ["site_id", "timestamp", "grid_ci_g_per_kwh"], path)
    ts = pd.to_datetime(df["timestamp"], utc=True, errors="coerce")
    if ts.isna().any():
        row = int(np.flatnonzero(ts.isna().to_numpy())[0])
        raise SitingError(
            f"{path}: row {row + 2}, field timestamp: expected an ISO time, "
            f"got {str(df['timestamp'].iloc[row])[:60]!r}"
        )
    order = {s: i for i, s in enumerate(site_ids)}
    s_idx = df["site_id"].astype(str).str.strip().map(order)
    if s_idx.isna().any():
        row = int(np.flatnonzero(s_idx.isna().to_numpy())[0])
        raise SitingError(
            f"{path}: row {row + 2}, field site_id: {df['site_id'].iloc[row]!r} is not in the sites table"
        )
    t_idx = ((ts - grid.start) / pd.Timedelta(hours=1)).to_numpy()
    inside = (t_idx >= 0) & (t_idx < grid.n_hours) & (t_idx == np.floor(t_idx))
    S, T = len(site_ids), grid.n_hours
    seen = np.zeros((S, T), int)
    np.add.at(seen, (s_idx.to_numpy(int)[inside], t_idx[inside].astype(int)), 1)
    if (seen > 1).any():
        s, t = np.argwhere(seen > 1)[0]
        raise SitingError(f"{path}: site {site_ids.iloc[s]!r} has two rows for {grid.timestamps[t]}")
    if (seen == 0).any():
        s, t = np.argwhere(seen == 0)[0]
        raise SitingError(
            f"{path}: site {site_ids.iloc[s]!r} has no row for {grid.timestamps[t]:%Y-%m-%d %H:%M} "
            f"UTC; every site needs every hour of the time grid ({grid})"
        )

    def field(col, lo, hi):
        vals = numeric_column(df, col, path, lo=lo, hi=hi).to_numpy(float)
        out = np.empty((S, T))
        out[s_idx.to_numpy(int)[inside], t_idx[inside].astype(int)] = vals[inside]
        return out

    result = {"grid_ci": field("grid_ci_g_per_kwh", 0, 2000)}
    if "grid_price_usd_per_mwh" in df:
        result["price"] = field("grid_price_usd_per_mwh", 0, 1e5)
    cfs = {k: field(f"cf_{k}", 0, 1) for k in techs if f"cf_{k}" in df}
    result["cf"] = cfs
    return result


def site_potentials(sites: pd.DataFrame, techs, a: Assumptions) -> np.ndarray:
    """(S, K) MW each site may procure: the sites table's ``<tech>_potential_mw`` or the default.
    Geothermal only where existing geothermal plants show a resource
    (``existing_renewable_geothermal_mwh_per_year``
    > 0, when the table has it)."""
    out = np.zeros((len(sites), len(techs)))
    for k, tech in enumerate(techs):
        col = f"{tech}_potential_mw"
        default = a[f"tech_{tech}_potential_mw_default"]
        vals = (
            numeric_column(sites, col, "sites", lo=0, required=False).fillna(default).to_numpy(float)
            if col in sites
            else np.full(len(sites), default)
        )
        if (
            tech == "geothermal"
            and col not in sites
            and "existing_renewable_geothermal_mwh_per_year" in sites
        ):
            vals = np.where(
                sites["existing_renewable_geothermal_mwh_per_year"].to_numpy(float) > 0, vals, 0.0
            )
        out[:, k] = vals
    return out


def build_hourly_problem(
    scenario, sites: pd.DataFrame, workloads: pd.DataFrame, sites_raw: pd.DataFrame | None = None
) -> HourlyProblem:
    """The hourly problem of ``scenario`` from validated sites and workloads tables."""
    a = scenario.resolved_assumptions()
    grid = TimeGrid.year(scenario.year or int(a["timegrid_year"]))
    techs_named = list(scenario.procure)
    techs = (
        read_technologies(scenario.path(scenario.technologies), techs_named)
        if scenario.technologies
        else default_technologies(a, techs_named)
    )
    techs = technology_table(techs, a["discount_rate"])
    raw = sites if sites_raw is None else sites_raw
    S, T, K = len(sites), grid.n_hours, len(techs_named)
    provenance = []
    if scenario.sites_hourly:
        series = read_sites_hourly(scenario.path(scenario.sites_hourly), sites["site_id"], grid, techs_named)
        grid_ci = series["grid_ci"]
        price = series.get("price")
        cf = np.zeros((S, K, T))
        missing = [k for k in techs_named if k not in series["cf"]]
        for k, tech in enumerate(techs_named):
            if tech in series["cf"]:
                cf[:, k] = series["cf"][tech]
        if missing:
            cf_built, prov = _profiles(sites, grid, missing, a, scenario.data_runtime)
            for i, tech in enumerate(missing):
                cf[:, techs_named.index(tech)] = cf_built[:, i]
            provenance.append(prov)
        provenance.append(
            pd.DataFrame(
                {
                    "site_id": sites["site_id"],
                    "series": "grid_ci",
                    "source": str(scenario.sites_hourly),
                    "resolution": "hourly",
                }
            )
        )
    else:
        grid_ci, prov = _grid_ci(sites, grid, a, scenario.data_runtime)
        provenance.append(prov)
        price = None
        cf, prov = _profiles(sites, grid, techs_named, a, scenario.data_runtime)
        provenance.append(prov)
    if price is None:
        price = np.full((S, T), a["grid_price_usd_per_mwh_default"])
    sites = sites.copy()
    sites["capacity_mw"] = np.where(sites["capacity_mw"].fillna(0) > 0, sites["capacity_mw"], np.inf)
    sites["fixed_cost_usd"] = (
        numeric_column(raw, "fixed_cost_usd", "sites", lo=0, required=False)
        .fillna(a["fixed_cost_usd_default"])
        .to_numpy(float)
        if "fixed_cost_usd" in raw
        else a["fixed_cost_usd_default"]
    )
    storage_mwh = (
        numeric_column(raw, "storage_potential_mwh", "sites", lo=0, required=False)
        .fillna(a["storage_potential_mwh_default"])
        .to_numpy(float)
        if "storage_potential_mwh" in raw
        else np.full(S, a["storage_potential_mwh_default"])
    )
    from siting.accounting import annuity_usd_per_kw_year

    storage = {
        "annuity_usd_per_kwh_year": annuity_usd_per_kw_year(
            a["storage_capex_usd_per_kwh"],
            a["storage_fixed_om_usd_per_kwh_year"],
            a["storage_lifetime_years"],
            a["discount_rate"],
        ),
        "efficiency": a["storage_round_trip_efficiency"],
        "duration_h": a["storage_duration_h"],
    }
    return HourlyProblem(
        name=scenario.name,
        grid=grid,
        sites=sites.reset_index(drop=True),
        workloads=workload_windows(workloads, grid, scenario.path(scenario.workloads)).reset_index(drop=True),
        grid_ci=np.asarray(grid_ci, float),
        price=np.asarray(price, float),
        technologies=techs,
        cf=cf,
        potential_mw=site_potentials(raw.reset_index(drop=True), techs_named, a),
        storage_potential_mwh=storage_mwh if (storage_mwh > 0).any() else None,
        storage=storage,
        max_sites=scenario.max_sites,
        provenance=pd.concat(provenance, ignore_index=True) if provenance else pd.DataFrame(),
    )


def _mirror():
    return os.environ.get("SITING_MIRROR") or None


def _grid_ci(sites, grid, a, runtime):
    from siting.data.grid import site_grid_ci_hourly

    ci, prov = site_grid_ci_hourly(sites, grid, a, runtime=runtime, mirror=_mirror())
    prov = prov.rename(columns={"grid_ci_source": "source", "grid_ci_resolution": "resolution"})
    prov["series"] = "grid_ci"
    return ci, prov


def _profiles(sites, grid, techs, a, runtime):
    from siting.data.download import DownloadError
    from siting.data.profiles import site_profiles

    try:
        cf, prov = site_profiles(sites, grid, techs, a, runtime=runtime, mirror=_mirror())
    except DownloadError:
        # run-time sources (Dispa-SET, PLEXOS) neither cached nor in a mirror, and no network:
        # the embedded default only, and the provenance says so
        cf, prov = site_profiles(sites, grid, techs, a, runtime=False)
        prov["profile_source"] = prov["profile_source"].astype(str) + " (run-time sources unavailable)"
    prov = prov.rename(columns={"profile_source": "source", "profile_kind": "resolution"})
    prov["series"] = "cf_" + prov["technology"].astype(str)
    return cf, prov


def objective_of(scenario) -> Objective:
    return Objective(
        kind=scenario.objective,
        co2_cap_t=scenario.co2_cap_t,
        budget_usd=scenario.budget_usd,
        carbon_price_usd_per_t=scenario.carbon_price_usd_per_t,
        cfe_target=scenario.cfe_target,
        cfe_scope=scenario.cfe_scope,
    )
