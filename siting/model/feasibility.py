"""Cheap checks before solving, each explaining infeasibility with numbers."""

from __future__ import annotations

import numpy as np

from siting.errors import InfeasibleError
from siting.model.scenario import Problem, facility_energy_cap_mwh


def _fmt(x: float) -> str:
    return f"{x:,.0f}"


def check_feasibility(p: Problem) -> None:
    """Raise :class:`InfeasibleError` when the problem obviously has no solution."""
    wl, st = p.workloads, p.sites
    H = p.horizon_hours
    cap_gh = st["capacity_gpus"].to_numpy(float) * H
    cap_e = facility_energy_cap_mwh(st, H)
    pue = st["pue"].to_numpy(float)
    gh = wl["gpu_hours"].to_numpy(float)
    e = wl["energy_mwh"].to_numpy(float)
    unsplit = ~wl["splittable"].to_numpy(bool)
    problems = []
    # an unsplittable workload must fit whole in one site
    fits = (gh[:, None] <= cap_gh[None, :] + 1e-6) & (pue[None, :] * e[:, None] <= cap_e[None, :] + 1e-6)
    stuck = unsplit & ~fits.any(axis=1)
    for w in np.flatnonzero(stuck)[:3]:
        best_gpu = cap_gh.max()
        if gh[w] > best_gpu:
            problems.append(f"workload {wl['workload_id'].iloc[w]} needs {_fmt(gh[w])} GPU-hours, "
                            f"is unsplittable, and the largest site offers {_fmt(best_gpu)}")
        else:
            problems.append(f"workload {wl['workload_id'].iloc[w]} is unsplittable and needs "
                            f"{_fmt(e[w])} MWh of IT energy; no site's capacity_mw x "
                            f"{H:,.0f} h can supply it with its PUE")
    total_gh, total_cap = gh.sum(), cap_gh.sum()
    if total_gh > total_cap + 1e-6:
        problems.append(f"total demand {_fmt(total_gh)} GPU-hours exceeds total capacity "
                        f"{_fmt(total_cap)} by {_fmt(total_gh - total_cap)} GPU-hours")
    finite = np.isfinite(cap_e)
    if finite.all():
        # every site is capped: the least energy-hungry placement is at the lowest PUE
        min_need = e.sum() * pue.min()
        if min_need > cap_e.sum() + 1e-6:
            problems.append(f"total facility energy needed (at least {_fmt(min_need)} MWh) "
                            f"exceeds the sites' capacity_mw x horizon ({_fmt(cap_e.sum())} MWh)")
    if p.max_sites is not None and p.max_sites < len(st):
        top = np.sort(cap_gh)[::-1][: p.max_sites].sum()
        if total_gh > top + 1e-6:
            which = "no single site" if p.max_sites == 1 else f"no {p.max_sites} sites"
            problems.append(f"max_sites={p.max_sites} but {which} can hold everything: the "
                            f"largest offer {_fmt(top)} of the {_fmt(total_gh)} GPU-hours needed")
    if problems:
        raise InfeasibleError("infeasible: " + "; ".join(problems))


def explain_solver_infeasible(p: Problem) -> str:
    """Message when the solver proves infeasibility the cheap checks did not catch."""
    wl = p.workloads
    unsplit = ~wl["splittable"].to_numpy(bool)
    cap = p.sites["capacity_gpus"].to_numpy(float) * p.horizon_hours
    return ("infeasible: the solver proved that the unsplittable workloads "
            f"({int(unsplit.sum())}, {wl.loc[unsplit, 'gpu_hours'].sum():,.0f} GPU-hours) cannot be "
            f"packed into the sites' capacities ({cap.sum():,.0f} GPU-hours in {len(cap)} sites"
            + (f", at most {p.max_sites} open" if p.max_sites else "") + ") together with the rest "
            f"({wl.loc[~unsplit, 'gpu_hours'].sum():,.0f} GPU-hours splittable)")
