"""From solver values to planner tables: assignments, sites, summary; written atomically."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting.io import atomic_path, write_json, write_table
from siting.model.formulation import MatrixModel
from siting.model.scenario import facility_energy_cap_mwh
from siting.model.solve import RawSolution
from siting.units import WGS84


@dataclass
class Solution:
    assignments: pd.DataFrame
    sites: pd.DataFrame
    summary: dict
    periods: pd.DataFrame = field(default_factory=pd.DataFrame)  # site x period energy
    # further named tables (marginals, report inputs, hourly results such as site_hours or
    # pareto, ...), saved by siting.report.store
    tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    model: MatrixModel | None = field(default=None, repr=False)  # the model that was solved
    raw: RawSolution | None = field(default=None, repr=False)

    @property
    def problem(self):
        return None if self.model is None else self.model.problem

    @property
    def marginals(self) -> pd.DataFrame | None:
        """Per site: ``site_id, t_saved_per_gpu, t_saved_per_mw, t_saved_per_renewable_mwh,
        binding`` (see :func:`siting.model.marginals.marginal_values`), computed after the
        solve and kept in ``tables["marginals"]`` (so the store saves and reloads it); None
        when the solution was built without them."""
        return self.tables.get("marginals")

    def write(self, out_dir: str | os.PathLike) -> list[Path]:
        """``assignments.csv``, ``sites.csv``, ``site_periods.csv``, ``summary.json`` in
        ``out_dir``, each written to a temporary file and renamed into place."""
        out = Path(out_dir)
        return [write_table(out / "assignments.csv", self.assignments),
                write_table(out / "sites.csv", pd.DataFrame(self.sites).drop(columns="geometry",
                                                                            errors="ignore")),
                write_table(out / "site_periods.csv", self.periods),
                write_json(out / "summary.json", self.summary),
                *self.write_tables(out)]

    # tables of the hourly model a planner opens directly (the store keeps all of them)
    TABLE_FILES = {"site_hours": "site_hours.parquet", "pareto": "pareto.csv",
                   "provenance": "provenance.csv", "cfe_month_hour": "cfe_month_hour.csv",
                   "marginal_values": "marginal_values.csv"}

    def write_tables(self, out: Path) -> list[Path]:
        written = []
        for name, filename in self.TABLE_FILES.items():
            table = self.tables.get(name)
            if table is None:
                continue
            dest = out / filename
            if filename.endswith(".parquet"):
                with atomic_path(dest) as tmp:
                    pd.DataFrame(table).to_parquet(tmp, index=False)
                written.append(dest)
            else:
                written.append(write_table(dest, pd.DataFrame(table)))
        return written


def workload_shares(mm: MatrixModel, values: np.ndarray) -> np.ndarray:
    """(W, S_all) share of each workload at each site of the problem (pruned sites: 0)."""
    cl, p = mm.classes, mm.problem
    S = mm.sites.n
    x = np.zeros((cl.n, S))
    has = mm.x_col >= 0
    x[has] = values[mm.x_col[has]]
    shares = np.zeros((p.n_workloads, S))
    for c, members in enumerate(cl.members):  # one step per class of identical work
        if cl.integer[c]:
            counts = np.round(x[c]).astype(int)
            sites_of_jobs = np.repeat(np.arange(S), counts)[: len(members)]
            shares[members[: len(sites_of_jobs)], sites_of_jobs] = 1.0
        else:
            shares[members] = np.clip(x[c], 0.0, None)
    full = np.zeros((p.n_workloads, p.n_sites))
    full[:, mm.sites.index] = shares
    return full


def build_solution(mm: MatrixModel, raw: RawSolution, build_s: float) -> Solution:
    p = mm.problem
    wl, st = p.workloads, p.sites
    shares = workload_shares(mm, raw.values)  # (W, S)
    shares[shares < 1e-9] = 0.0
    pue = st["pue"].to_numpy(float)
    e = wl["energy_mwh"].to_numpy(float)
    # facility energy of each workload at each site and period: (W, S, T)
    load_wst = shares[:, :, None] * e[:, None, None] * pue[None, :, None] * p.share[:, None, :]
    load_st = load_wst.sum(axis=0)
    rci = st["renewable_ci_g_per_kwh"].to_numpy(float)
    # given the placement, the best use of renewables is exactly min(load, available) where
    # they are cleaner than the grid: recomputing it makes the tables independent of solver noise
    cleaner = rci[:, None] < p.grid_ci
    ren_st = np.where(cleaner, np.minimum(load_st, p.renewable_mwh), 0.0)
    grid_st = load_st - ren_st
    em_st = (grid_st * p.grid_ci + ren_st * rci[:, None]) / 1000.0
    with np.errstate(divide="ignore", invalid="ignore"):
        em_per_mwh = np.where(load_st > 0, em_st / load_st, 0.0)
    em_ws = (load_wst * em_per_mwh[None]).sum(axis=2)
    gh = wl["gpu_hours"].to_numpy(float)

    w_idx, s_idx = np.nonzero(shares)
    assignments = pd.DataFrame({
        "workload_id": wl["workload_id"].to_numpy()[w_idx],
        "site_id": st["site_id"].to_numpy()[s_idx],
        "share": shares[w_idx, s_idx],
        "gpu_hours": shares[w_idx, s_idx] * gh[w_idx],
        "energy_mwh": load_wst[w_idx, s_idx].sum(axis=1),
        "emissions_t": em_ws[w_idx, s_idx],
    })
    used_gh = shares.T @ gh
    is_open = used_gh > 0
    if mm.y_col is not None:
        y = np.zeros(p.n_sites, bool)
        y[mm.sites.index] = np.round(raw.values[mm.y_col]) > 0.5
        is_open |= y
    embodied = st["embodied_t"].to_numpy(float) * is_open
    cap_gh = st["capacity_gpus"].to_numpy(float) * p.horizon_hours
    cap_e = facility_energy_cap_mwh(st, p.horizon_hours)
    cap_e = np.where(np.isinf(cap_e), np.nan, cap_e)  # no cap: utilisation undefined
    ren_avail = p.renewable_mwh.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sites = pd.DataFrame({
            "site_id": st["site_id"],
            "name": st["name"],
            "country_iso3": st["country_iso3"],
            "lat": st["lat"], "lon": st["lon"],
            "open": is_open,
            "energy_mwh": load_st.sum(axis=1),
            "renewable_mwh": ren_st.sum(axis=1),
            "grid_mwh": grid_st.sum(axis=1),
            "operational_emissions_t": em_st.sum(axis=1),
            "embodied_t": embodied,
            "emissions_t": em_st.sum(axis=1) + embodied,
            "gpu_hours": used_gh,
            "gpu_utilisation": np.where(cap_gh > 0, used_gh / cap_gh, 0.0),
            "mw_utilisation": load_st.sum(axis=1) / cap_e,
            "renewable_utilisation": np.where(ren_avail > 0, ren_st.sum(axis=1) / ren_avail, np.nan),
            "renewable_share": np.where(load_st.sum(axis=1) > 0,
                                        ren_st.sum(axis=1) / load_st.sum(axis=1), np.nan),
            "effective_ci_g_per_kwh": np.where(load_st.sum(axis=1) > 0,
                                               em_st.sum(axis=1) / load_st.sum(axis=1) * 1000, np.nan),
        })
    sites = sites.sort_values(["emissions_t", "site_id"], ascending=[False, True], kind="stable")
    sites = pd.concat([sites[sites["open"]], sites[~sites["open"]]]).reset_index(drop=True)
    sites = gpd.GeoDataFrame(sites, geometry=gpd.points_from_xy(sites["lon"], sites["lat"]), crs=WGS84)
    s_p, t_p = np.nonzero(load_st > 0)
    periods = pd.DataFrame({
        "site_id": st["site_id"].to_numpy()[s_p],
        "period": np.asarray(p.periods)[t_p],
        "energy_mwh": load_st[s_p, t_p],
        "renewable_mwh": ren_st[s_p, t_p],
        "renewable_available_mwh": p.renewable_mwh[s_p, t_p],
        "grid_mwh": grid_st[s_p, t_p],
        "grid_ci_g_per_kwh": p.grid_ci[s_p, t_p],
        "emissions_t": em_st[s_p, t_p],
    })
    total = float(em_st.sum() + embodied.sum())
    summary = {
        "scenario": p.name,
        "status": raw.status,
        "objective_t": raw.objective,
        "bound_t": raw.bound,
        "gap": raw.gap,
        "emissions_t": total,
        "solver": raw.solver,
        "build_s": round(build_s, 4),
        "solve_s": round(raw.solve_s, 4),
        "n_variables": mm.n_cols,
        "n_constraints": mm.n_rows,
        "n_integer": int(mm.integer.sum()),
        "formulation": mm.options.formulation,
        "n_sites": p.n_sites,
        "n_sites_pruned": mm.n_pruned_sites,
        "n_fixed_by_reduced_cost": mm.n_fixed_by_reduced_cost,
        "n_workloads": p.n_workloads,
        "n_workload_classes": mm.classes.n,
        "n_periods": p.n_periods,
        "n_sites_open": int(is_open.sum()),
        "energy_mwh": float(load_st.sum()),
        "horizon_hours": p.horizon_hours,
        "max_sites": p.max_sites,
    }
    return Solution(assignments, sites, summary, periods, model=mm, raw=raw)
