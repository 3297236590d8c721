"""Study benchmark (issue 12): a 32-run study of the default scenario, serial against a Dask
LocalCluster with 2 worker processes (1 thread each), and the peak memory of a 256-run study
against a 32-run one. Prints figures; asserts nothing (targets: speed-up >= 1.7x, scheduler
overhead < 5 % of a run, peak memory(256) <= 1.5 x peak memory(32)).

    python bench/study_bench.py [--runs 32] [--workers 2] [--memory-runs 32,256]
    python bench/study_bench.py --base scenarios/llama31_hourly.yaml --memory-runs ""

The second form is the study the product runs (hourly runs of ~20 s, about 20 minutes in
all); the first, on the annual example (runs of ~0.1 s), shows the per-run overhead of the
engine itself and measures memory with 256 runs in a couple of minutes.

* speed-up: serial wall time / LocalCluster wall time, with the cluster started beforehand
  (the sweep connects to it by address) and, separately, with ``--scheduler local`` start-up
  included;
* scheduler overhead per run: (wall x workers - sum of in-worker run times) / runs, against
  the mean run time;
* peak memory: each study size in a fresh process (``--child N``) on a LocalCluster; the
  driver's peak RSS and the largest worker's peak RSS (ru_maxrss of the reaped children).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASE = REPO / "scenarios" / "example_llama.yaml"
BASE_SCENARIO = [BASE]  # --base replaces it (e.g. scenarios/llama31_hourly.yaml: runs of ~20 s)
GRID = [2, 3, 4, 6]  # max_sites; draws make up the rest of the runs


def study_yaml(folder: Path, runs: int) -> Path:
    if runs % len(GRID):
        raise SystemExit(f"--runs must be a multiple of {len(GRID)}")
    path = folder / f"bench_{runs}.yaml"
    path.write_text(
        f"name: bench_{runs}\nbase: {BASE_SCENARIO[0]}\ngrid:\n  max_sites: {GRID}\n"
        "  pareto_points: [0]\n"
        f"draws:\n  n: {runs // len(GRID)}\n  seed: 1\n  params:\n"
        "    assumptions.pue_default: {dist: uniform, low: 1.05, high: 1.5}\n"
        "    horizon_hours: {dist: uniform, low: 1440, high: 2160}\n", encoding="utf-8")
    return path


def sweep(path: Path, out: Path, scheduler: str, workers: int | None = None) -> dict:
    from siting.studies import load_study, read_runs, run_study

    t0 = time.perf_counter()
    result = run_study(load_study(path), out, scheduler=scheduler, workers=workers)
    wall = time.perf_counter() - t0
    runs = read_runs(out)
    assert result.executed == len(runs), "bench folders must start empty"
    return {"wall_s": wall, "runs": len(runs), "run_s_sum": float(runs["run_s"].sum()),
            "run_s_mean": float(runs["run_s"].mean()), "failed": int((runs["status"] == "error").sum()),
            "table": runs.drop(columns=["build_s", "solve_s", "run_s"])}


def speed(runs: int, workers: int) -> None:
    from siting.studies.sweep import local_cluster

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = study_yaml(folder, runs)
        sweep(study_yaml(folder, len(GRID)), folder / "warm", "serial")  # imports, caches
        serial = sweep(path, folder / "serial", "serial")
        with local_cluster(workers) as cluster:
            sweep(study_yaml(folder, len(GRID)), folder / "warm_dask", cluster.scheduler_address)
            dask = sweep(path, folder / "dask", cluster.scheduler_address)
        local = sweep(path, folder / "local", "local", workers)  # start-up included
        same = serial["table"].equals(dask["table"]) and serial["table"].equals(local["table"])
    overhead = (dask["wall_s"] * workers - dask["run_s_sum"]) / dask["runs"]
    print(f"study of {runs} runs, default scenario; {workers} workers x 1 thread")
    print(f"  serial            {serial['wall_s']:8.2f} s  (mean run {serial['run_s_mean']:.3f} s, "
          f"{serial['failed']} failed)")
    print(f"  LocalCluster      {dask['wall_s']:8.2f} s  (cluster already up)  speed-up "
          f"{serial['wall_s'] / dask['wall_s']:.2f}x  [target >= 1.7x]")
    print(f"  --scheduler local {local['wall_s']:8.2f} s  (cluster start-up included)  speed-up "
          f"{serial['wall_s'] / local['wall_s']:.2f}x")
    print(f"  scheduler overhead per run {overhead * 1000:.1f} ms = "
          f"{overhead / dask['run_s_mean']:.1%} of a mean run ({dask['run_s_mean']:.3f} s) "
          "[target < 5 %]")
    print(f"  result tables identical across engines (timings aside): {same}")


def child(runs: int, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result = sweep(study_yaml(folder, runs), folder / "out", "local", workers)
    driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(json.dumps({"runs": result["runs"], "wall_s": result["wall_s"], "driver_peak_bytes": driver,
                      "worker_peak_bytes": workers_peak}))


def memory(sizes: list[int], workers: int) -> None:
    rows = []
    for n in sizes:
        res = subprocess.run([sys.executable, __file__, "--child", str(n), "--workers", str(workers)],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
    print("peak memory (LocalCluster, fresh process per study)")
    for r in rows:
        print(f"  {r['runs']:4d} runs  {r['wall_s']:7.1f} s  driver {r['driver_peak_bytes'] / 2**20:7.1f} MiB"
              f"  largest worker {r['worker_peak_bytes'] / 2**20:7.1f} MiB")
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        print(f"  driver {b['runs']} / {a['runs']} runs: "
              f"{b['driver_peak_bytes'] / a['driver_peak_bytes']:.2f}x; worker: "
              f"{b['worker_peak_bytes'] / a['worker_peak_bytes']:.2f}x  [target <= 1.5x]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-runs", default="32,256")
    ap.add_argument("--base", default=str(BASE), help="base scenario of the study")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    BASE_SCENARIO[0] = Path(args.base).resolve()
    if args.child is not None:
        child(args.child, args.workers)
        return
    speed(args.runs, args.workers)
    if args.memory_runs:
        memory([int(x) for x in args.memory_runs.split(",")], args.workers)


if __name__ == "__main__":
    main()
