"""Model benchmark on seeded random instances (siting.model.testing.random_problem).

For each (sites, workloads, months) and formulation it prints: build s (arrays), the PuLP
problem build s, hand-over s (arrays -> HiGHS), the floor (the same arrays handed straight
to highspy, i.e. build + passModel), solve s (time-limited), objective, gap and status.

    python bench/model_bench.py [--time-limit 120] [--sizes 50x10x1,400x60x12]
                                [--gap 1e-4] [--seeds 1,2,3] [--skip-plain-above 1000]
"""

from __future__ import annotations

import argparse
import time

from siting.model.formulation import ModelOptions, formulate
from siting.model.optimize import prepare, remaining_time
from siting.model.pulp_model import to_pulp
from siting.model.scenario import SolverOptions
from siting.model.solve import highs_model, solve_highs
from siting.model.testing import random_problem

SIZES = "50x10x1,400x60x12,1000x100x12,3000x200x12"


def bench_one(p, formulation: str, opts: SolverOptions, pulp_build: bool) -> dict:
    """Plain: the formulation as written, straight to HiGHS with its default settings.
    Compact: what `optimize` does (pruning, aggregation, strengthened rows, LP dives on the
    model with packing rows, reduced-cost fixing, HiGHS tuned for that start)."""
    options = ModelOptions(formulation=formulation)
    t0 = time.perf_counter()
    mm = formulate(p, options)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    highs_model(mm)
    handover_s = time.perf_counter() - t0
    pulp_s = None
    if pulp_build:
        t0 = time.perf_counter()
        to_pulp(mm)
        pulp_s = time.perf_counter() - t0
    mm, start, prep_s = prepare(p, options, opts)
    raw = solve_highs(mm, remaining_time(opts, prep_s), start)
    return {"start_obj": None if start is None else float(mm.cost @ start.values),
            "source": "-" if start is None else start.source, "build_s": build_s,
            "handover_s": handover_s, "pulp_s": pulp_s,
            "warm_s": prep_s - build_s if start is not None else 0.0,
            "fixed": mm.n_fixed_by_reduced_cost,
            "solve_s": raw.solve_s, "objective": raw.objective, "gap": raw.gap,
            "status": raw.status, "cols": mm.n_cols, "rows": mm.n_rows, "nnz": mm.A.nnz,
            "pruned": mm.n_pruned_sites}


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=SIZES)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--gap", type=float, default=1e-4)
    ap.add_argument("--seeds", default="1", help="comma-separated seeds, e.g. 1,2,3,4,5,6,7")
    ap.add_argument("--skip-plain-above", type=int, default=1000,
                    help="solve the plain formulation only up to this many sites")
    ap.add_argument("--no-pulp", action="store_true", help="skip timing the PuLP build")
    args = ap.parse_args()
    opts = SolverOptions(time_limit_s=args.time_limit, rel_gap=args.gap)
    header = (f"{'instance':<14}{'seed':>4} {'form.':<9}{'cols':>9}{'nnz':>11}{'build':>8}{'pulp':>8}"
              f"{'handover':>9}{'floor':>8}{'warm':>7}{'start':>10}{'from':>7}{'solve':>8}"
              f"{'objective':>12}{'gap':>10}{'total':>8}{'fixed':>7}  status")
    print(header)
    print("-" * len(header))
    totals: dict[tuple[str, str], list[float]] = {}
    for size in args.sizes.split(","):
        s, w, t = (int(v) for v in size.split("x"))
        for seed in (int(v) for v in args.seeds.split(",")):
            p = random_problem(s, w, n_periods=t, seed=seed)
            for formulation in ("plain", "compact"):
                if formulation == "plain" and s > args.skip_plain_above:
                    continue
                r = bench_one(p, formulation, opts, pulp_build=not args.no_pulp)
                floor = r["build_s"] + r["handover_s"]
                total = r["build_s"] + r["warm_s"] + r["solve_s"]
                totals.setdefault((size, formulation), []).append(total)
                print(f"{size:<14}{seed:>4} {formulation:<9}{r['cols']:>9,}{r['nnz']:>11,}"
                      f"{r['build_s']:>8.3f}{fmt(r['pulp_s'], '.3f'):>8}{r['handover_s']:>9.3f}"
                      f"{floor:>8.3f}{r['warm_s']:>7.2f}{fmt(r['start_obj'], ',.0f'):>10}"
                      f"{r['source']:>7}{r['solve_s']:>8.2f}{fmt(r['objective'], ',.2f'):>12}"
                      f"{fmt(r['gap'], '.1e'):>10}{total:>8.2f}{r['fixed']:>7}  {r['status']}",
                      flush=True)
    for size in args.sizes.split(","):
        plain, compact = totals.get((size, "plain")), totals.get((size, "compact"))
        if plain and compact:
            ratios = [a / b for a, b in zip(plain, compact, strict=True)]
            print(f"\n{size}: plain {sum(plain):.1f} s, compact {sum(compact):.1f} s over "
                  f"{len(plain)} seed(s): {sum(plain) / sum(compact):.1f}x in all, per seed "
                  f"{min(ratios):.1f}x to {max(ratios):.1f}x")
    print("\nbuild = arrays (formulate); pulp = the same model as a PuLP problem (named variables "
          "and constraints);\nhandover = arrays -> highspy.passModel; floor = build + handover "
          "(what `optimize` does before solving);\nwarm = the start (LP dives or greedy, the "
          "better; from = which) and start = its objective; fixed = binaries fixed by reduced "
          "cost;\ntotal = build + warm + solve; solve = HiGHS with what is left of the "
          f"time limit {args.time_limit:g} s and gap {args.gap:g}.")


if __name__ == "__main__":
    main()
