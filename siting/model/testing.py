"""Seeded random instances for tests and benchmarks, and an independent check of a solution."""

from __future__ import annotations

import numpy as np
import pandas as pd

from siting.model.scenario import MONTHS, Problem, build_problem


def random_problem(n_sites: int, n_workloads: int, n_periods: int = 1, *, seed: int = 0,
                   unsplittable_share: float = 0.5, embodied: bool = False,
                   max_sites: int | None = None, mw_caps: bool = False,
                   tightness: float = 0.5) -> Problem:
    """A random but plausible instance. ``tightness`` is total demand / total GPU capacity."""
    rng = np.random.default_rng(seed)
    pue = rng.uniform(1.05, 1.5, n_sites)
    grid = rng.lognormal(np.log(250), 0.9, n_sites).clip(5, 1000)
    ren_ci = rng.choice([11.0, 24.0, 38.0, 48.0], n_sites)
    gpu_kw = rng.choice([0.4, 0.7, 1.0], n_workloads)
    gh = rng.lognormal(np.log(2e6), 1.0, n_workloads)
    start = rng.integers(1, MONTHS + 1, n_workloads) if n_periods > 1 else np.ones(n_workloads, int)
    length = rng.integers(1, MONTHS + 1, n_workloads)
    end = np.minimum(start + length - 1, MONTHS) if n_periods > 1 else np.full(n_workloads, MONTHS)
    # capacity holds in every month: size sites by each job's GPU rate in its window, as
    # GPU-hours over a year (a one-month job of 1M GPU-hours needs 12M a year's worth)
    rate_gh = gh * MONTHS / (end - start + 1)
    cap_total = rate_gh.sum() / tightness
    cap_gh = rng.dirichlet(np.ones(n_sites) * 2) * cap_total
    # feasible by construction: every job larger than a typical site gets a site of its own
    # (at least three sites can hold any job)
    unsplit = rng.uniform(size=n_workloads) < unsplittable_share
    typical = np.quantile(cap_gh, 0.9)
    big_jobs = np.flatnonzero(unsplit & (rate_gh > typical))
    n_big = min(n_sites, max(3, len(big_jobs)))
    hosts = rng.choice(n_sites, size=n_big, replace=False)
    need = np.full(n_big, 1.5 * rate_gh.max())
    need[: len(big_jobs)] = 1.2 * np.sort(rate_gh[big_jobs])[::-1][:n_big] if len(big_jobs) else need[:0]
    need[:3] = 1.5 * rate_gh.max()
    cap_gh[hosts] = np.maximum(cap_gh[hosts], need)
    cap_gpus = cap_gh / 8760
    it_mwh = gh * gpu_kw / 1000
    sites = pd.DataFrame({
        "site_id": [f"s{i:04d}" for i in range(n_sites)],
        "lat": rng.uniform(-50, 70, n_sites), "lon": rng.uniform(-180, 180, n_sites),
        "capacity_gpus": cap_gpus,
        "pue": pue,
        "grid_ci_g_per_kwh": grid,
        "renewable_mwh_per_year": rng.uniform(0, 1.0, n_sites) * it_mwh.sum() / max(n_sites / 8, 1),
        "capacity_mw": (cap_gpus * 0.7 * pue * rng.uniform(0.6, 1.2, n_sites)) / 1000
        if mw_caps else np.nan,
        "renewable_ci_g_per_kwh": ren_ci,
        "embodied_t": rng.uniform(0, 0.05, n_sites) * it_mwh.sum() * 0.3 if embodied else 0.0,
    })
    sites["name"] = sites["site_id"]
    sites["country_iso3"] = ""
    sites["kind"] = "random"
    workloads = pd.DataFrame({
        "workload_id": [f"w{j:03d}" for j in range(n_workloads)],
        "gpu_hours": gh,
        "splittable": ~unsplit,
        "gpu": "",
        "gpu_power_kw": gpu_kw,
        "overhead_share": 0.0,
        "start_month": start,
        "end_month": end,
    })
    workloads["energy_mwh"] = workloads["gpu_hours"] * workloads["gpu_power_kw"] / 1000
    monthly = None
    if n_periods > 1:
        phase = rng.uniform(size=(n_sites, 1))
        season = 1 + 0.4 * np.sin(2 * np.pi * (np.arange(MONTHS)[None, :] / 12 + phase))
        monthly = pd.DataFrame({
            "site_id": np.repeat(sites["site_id"], MONTHS),
            "month": np.tile(np.arange(1, MONTHS + 1), n_sites),
            "renewable_mwh": (sites["renewable_mwh_per_year"].to_numpy()[:, None] / MONTHS
                              * season).ravel(),
            "grid_ci_g_per_kwh": (grid[:, None] * (2 - season) ** 0.5).ravel(),
        })
    return build_problem(sites, workloads, monthly=monthly, max_sites=max_sites,
                         name=f"random_{n_sites}_{n_workloads}_{n_periods}_{seed}")


def emissions_of(problem: Problem, shares: np.ndarray, is_open: np.ndarray | None = None) -> float:
    """Emissions (t) of a placement ``shares`` (W, S), computed straight from the problem
    data with renewables used where cleaner: an independent check of any solution."""
    st, wl = problem.sites, problem.workloads
    pue = st["pue"].to_numpy(float)
    e = wl["energy_mwh"].to_numpy(float)
    load = pue[:, None] * ((shares * e[:, None]).T @ problem.share)  # (S, T)
    rci = st["renewable_ci_g_per_kwh"].to_numpy(float)
    ren = np.where(rci[:, None] < problem.grid_ci, np.minimum(load, problem.renewable_mwh), 0.0)
    total = float(((load - ren) * problem.grid_ci + ren * rci[:, None]).sum() / 1000)
    if is_open is None:
        is_open = shares.sum(axis=0) > 0
    return total + float((st["embodied_t"].to_numpy(float) * is_open).sum())


def violation(mm, values: np.ndarray) -> float:
    """Largest violation of ``mm``'s rows, column bounds or integrality by ``values``
    (0 for a feasible point; rows are compared in their scaled form)."""
    act = mm.A @ values
    rows = np.maximum(mm.row_lb - act, act - mm.row_ub)
    cols = np.maximum(mm.lb - values, values - mm.ub)
    ints = values[mm.integer]
    return float(max(rows.max(initial=0.0), cols.max(initial=0.0),
                     np.abs(ints - np.round(ints)).max(initial=0.0)))
