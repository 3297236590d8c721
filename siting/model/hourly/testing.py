"""Seeded random hourly problems (tests and benchmarks), a check that a plan keeps every rule,
hour by hour, and a master's rows read back from HiGHS. Public, so tests and ``bench/`` share one
generator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from siting.model.hourly.problem import HourlyProblem, technology_table
from siting.timegrid import TimeGrid

TECHS = pd.DataFrame(
    {
        "technology": ["wind_onshore", "solar_pv", "geothermal"],
        "lifecycle_ci_g_per_kwh": [11.0, 48.0, 38.0],
        "capex_usd_per_kw": [1359.6, 1119.8, 6523.4],
        "fixed_om_usd_per_kw_year": [42.19, 19.95, 105.78],
        "lifetime_years": [30.0, 30.0, 30.0],
    }
).set_index("technology")


def synthetic_profiles(rng: np.random.Generator, n_sites: int, grid: TimeGrid) -> np.ndarray:
    """(S, 3, T) wind (persistent noise), solar (diurnal at each site's longitude), geothermal (flat)."""
    T = grid.n_hours
    t = np.arange(T)
    hod = grid.hour_of_day
    lon = rng.uniform(-120, 120, n_sites)
    local = (hod[None, :] + lon[:, None] / 15.0) % 24
    solar = np.clip(np.sin(np.pi * (local - 6) / 12), 0, None) * rng.uniform(0.6, 1.0, (n_sites, 1))
    noise = rng.standard_normal((n_sites, T))
    wind = np.empty((n_sites, T))
    state = np.zeros(n_sites)
    for k in range(T):  # AR(1) weather, one step per hour for all sites at once
        state = 0.95 * state + 0.31 * noise[:, k]
        wind[:, k] = state
    wind = np.clip(0.35 + 0.25 * wind + 0.1 * np.sin(2 * np.pi * t / (24 * 7))[None, :], 0, 1)
    geo = np.full((n_sites, T), 0.9)
    return np.stack([wind, solar, geo], axis=1)


def random_hourly_problem(
    n_sites: int = 4,
    n_workloads: int = 3,
    n_hours: int = 168,
    seed: int = 0,
    *,
    storage: bool = False,
    max_sites: int | None = None,
    splittable_share: float = 0.3,
    tech: int = 3,
) -> HourlyProblem:
    rng = np.random.default_rng(seed)
    grid = TimeGrid.between("2022-01-01", pd.Timestamp("2022-01-01") + pd.Timedelta(hours=n_hours))
    T = n_hours
    hod = grid.hour_of_day
    base = rng.uniform(20, 700, n_sites)
    ci = base[:, None] * (
        1 + 0.3 * np.sin(2 * np.pi * (hod[None, :] - rng.uniform(0, 24, (n_sites, 1))) / 24)
    )
    ci = np.clip(ci + rng.normal(0, 20, (n_sites, T)), 0, None)
    price = np.clip(rng.uniform(40, 120, (n_sites, 1)) + rng.normal(0, 15, (n_sites, T)), 0, None)
    cf = synthetic_profiles(rng, n_sites, grid)[:, :tech]
    first = rng.integers(0, T // 2, n_workloads)
    last = np.minimum(T, first + rng.integers(T // 4, T, n_workloads))
    gpus = rng.integers(200, 4000, n_workloads)
    workloads = pd.DataFrame(
        {
            "workload_id": [f"w{i}" for i in range(n_workloads)],
            "gpu_hours": gpus * (last - first).astype(float),
            "gpu_power_kw": 0.7,
            "overhead_share": 0.0,
            "splittable": rng.random(n_workloads) < splittable_share,
            "first_hour": first,
            "last_hour": last,
        }
    )
    need = gpus.max()
    sites = pd.DataFrame(
        {
            "site_id": [f"s{i}" for i in range(n_sites)],
            "capacity_gpus": rng.integers(int(need), int(need * 2.5), n_sites).astype(float),
            "pue": rng.uniform(1.05, 1.4, n_sites),
            "capacity_mw": np.inf,
            "embodied_t": rng.uniform(0, 50, n_sites),
            "fixed_cost_usd": rng.uniform(0, 2e5, n_sites),
        }
    )
    techs = technology_table(TECHS.iloc[:tech], 0.05)
    potential = rng.uniform(1, 8, (n_sites, tech)) * rng.integers(0, 2, (n_sites, tech))
    storage_kw = dict(annuity_usd_per_kwh_year=40.0, efficiency=0.85, duration_h=4.0)
    return HourlyProblem(
        name=f"random-{seed}",
        grid=grid,
        sites=sites,
        workloads=workloads,
        grid_ci=ci,
        price=price,
        technologies=techs,
        cf=cf,
        potential_mw=potential,
        storage_potential_mwh=rng.uniform(0, 20, n_sites) if storage else None,
        storage=storage_kw if storage else {},
        max_sites=max_sites,
    )


def master_rows(h) -> tuple:
    """The rows of a HiGHS model ``h`` as (A (csr), lower, upper)."""
    lp = h.getLp()
    A = sp.csc_matrix((np.asarray(lp.a_matrix_.value_), np.asarray(lp.a_matrix_.index_),
                       np.asarray(lp.a_matrix_.start_)), shape=(lp.num_row_, lp.num_col_))
    return A.tocsr(), np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
