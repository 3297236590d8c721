"""Benchmarks of the hourly model (printed tables, not timed tests; run alone on the machine).

1. decomposed vs the explicit hourly model handed to HiGHS on seeded random instances
   (sites, workloads, 8,760 h, 3 technologies): same optimum, time ratio;
2. the default scenario (scenarios/llama31_hourly.yaml): min CO2 plus its Pareto front, without
   and with a battery potential at every site (``--storage-mwh``); the front without batteries
   on two masters at once and on one (``--pareto-workers 2,1``);
3. a large instance: a feasible plan and its gap within a time limit.

    python bench/hourly_bench.py [--sizes 50x10x8760] [--explicit-limit 900] [--skip-large]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from siting.model.hourly.decompose import Decomposition, solve_explicit
from siting.model.hourly.problem import Objective
from siting.model.hourly.testing import random_hourly_problem

REPO = Path(__file__).resolve().parents[1]


def row(*cells):
    print(" | ".join(str(c) for c in cells), flush=True)


def compare(size: str, seed: int, explicit_limit: float, rel_gap: float) -> None:
    S, W, T = (int(v) for v in size.split("x"))
    p = random_hourly_problem(S, W, T, seed, max_sites=max(2, S // 10))
    t0 = time.perf_counter()
    raw = Decomposition(p, Objective()).solve(rel_gap=rel_gap)
    dec_s = time.perf_counter() - t0
    ex, _ = solve_explicit(p, Objective(), rel_gap=rel_gap, time_limit_s=explicit_limit)
    ex_s = ex.solve_s
    same = (ex.objective is not None and raw.objective is not None
            and abs(ex.objective - raw.objective) <= 2 * rel_gap * abs(ex.objective))
    row(size, seed, f"{raw.objective:,.3f}", raw.status, raw.iterations, f"{dec_s:.1f}",
        "-" if ex.objective is None else f"{ex.objective:,.3f}", ex.status,
        "-" if ex.gap is None else f"{ex.gap:.1e}", f"{ex_s:.1f}", f"{ex_s / dec_s:.1f}x", same)


HEADER = ("battery MWh/site", "pareto points", "workers", "status", "gap", "co2_t", "co2_location_t", "cfe",
          "cost_usd", "battery MWh", "front", "inputs s", "wall s")


def default_scenario(storage_mwh: float = 0.0, points_list=(0, 7), time_limit_s: float | None = None,
                     workers_list=(None,)) -> None:
    """``storage_mwh`` > 0: every site may have a battery of up to that many MWh (4 h).
    ``workers_list``: the front's ``solver.pareto_workers`` to compare (None: the scenario's)."""
    from siting.model.hourly.optimize import optimize_scenario
    from siting.model.scenario import load_scenario

    sc = load_scenario(REPO / "scenarios" / "llama31_hourly.yaml")
    if storage_mwh > 0:
        extra = {**sc.assumptions, "storage_potential_mwh_default": storage_mwh}
        sc = sc.model_copy(update={"assumptions": extra})
    if time_limit_s is not None:
        sc = sc.model_copy(update={"solver": sc.solver.model_copy(update={"time_limit_s": time_limit_s})})
    runs = [(points, w) for points in points_list for w in (workers_list if points >= 2 else (None,))]
    for points, workers in runs:
        s2 = sc.model_copy(update={"pareto_points": points})
        if workers is not None:
            s2 = s2.model_copy(update={"solver": s2.solver.model_copy(update={"pareto_workers": workers})})
        t0 = time.perf_counter()
        sol = optimize_scenario(s2)
        wall = time.perf_counter() - t0
        s = sol.summary
        front = sol.tables.get("pareto")
        ok = "-" if front is None else f"{int((front['status'] == 'optimal').sum())}/{len(front)} optimal"
        battery = sol.sites.loc[sol.sites["open"], "storage_mwh"].sum() if "storage_mwh" in sol.sites else 0.0
        row(storage_mwh, points, s2.solver.pareto_workers if points >= 2 else "-", s["status"],
            "-" if s["gap"] is None else f"{s['gap']:.1e}",
            f"{s['co2_t']:,.1f}", f"{s['co2_location_t']:,.1f}", f"{s['cfe']:.1%}", f"{s['cost_usd']:,.0f}",
            f"{battery:,.0f}", ok, f"{s['inputs_s']:.1f}", f"{wall:.1f}")


def large(size: str, limit: float) -> None:
    S, W, T = (int(v) for v in size.split("x"))
    t0 = time.perf_counter()
    p = random_hourly_problem(S, W, T, 1, max_sites=S // 20)
    gen_s = time.perf_counter() - t0
    master = Decomposition(p, Objective())
    build_s = time.perf_counter() - t0 - gen_s
    raw = master.solve(rel_gap=1e-4, time_limit_s=limit - gen_s - build_s)
    wall = time.perf_counter() - t0
    row(size, raw.status, "-" if raw.objective is None else f"{raw.objective:,.1f}",
        "-" if raw.gap is None else f"{raw.gap:.2e}", raw.iterations, raw.n_cuts,
        f"{gen_s:.1f}", f"{build_s:.1f}", f"{wall:.1f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="50x10x8760")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--explicit-limit", type=float, default=900.0)
    ap.add_argument("--rel-gap", type=float, default=1e-4)
    ap.add_argument("--large", default="1000x100x8760")
    ap.add_argument("--large-limit", type=float, default=300.0)
    ap.add_argument("--storage-mwh", type=float, default=400.0,
                    help="battery potential per site for the default scenario's storage rows (0: none)")
    ap.add_argument("--storage-points", default="0,7")
    ap.add_argument("--storage-limit", type=float, default=None, help="time limit (s), storage rows")
    ap.add_argument("--pareto-workers", default="2,1",
                    help="comma list of solver.pareto_workers for the default scenario's front")
    ap.add_argument("--skip", default="", help="comma list of: compare, default, storage, large")
    args = ap.parse_args(argv)
    skip = set(args.skip.split(","))
    if "compare" not in skip:
        print(f"## decomposed vs explicit (HiGHS), min CO2, rel gap {args.rel_gap:g}", flush=True)
        row("size", "seed", "decomposed t", "status", "rounds", "time s", "explicit t", "status", "gap",
            "time s", "explicit/decomposed", "same optimum")
        for size in args.sizes.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                compare(size, seed, args.explicit_limit, args.rel_gap)
    if "default" not in skip:
        print("## scenarios/llama31_hourly.yaml (236 sites, 5 workloads, 8,760 h), min CO2", flush=True)
        row(*HEADER)
        default_scenario(workers_list=[int(w) for w in args.pareto_workers.split(",")])
    if "storage" not in skip and args.storage_mwh > 0:
        print(f"## the same with a battery of up to {args.storage_mwh:g} MWh at every site", flush=True)
        row(*HEADER)
        points = [int(k) for k in args.storage_points.split(",")]
        default_scenario(args.storage_mwh, points, args.storage_limit)
    if "large" not in skip:
        print(f"## large instance, {args.large_limit:g} s limit", flush=True)
        row("size", "status", "objective t", "gap", "rounds", "cuts", "generate s", "build s", "wall s")
        large(args.large, args.large_limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
