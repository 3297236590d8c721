"""Run a study: members -> small picklable tasks -> serial loop or a Dask cluster -> one row
per run streamed into ``<out>/runs.parquet`` and one site table per run in
``<out>/sites/run_id=<id>/sites.parquet``.

* A task carries the scenario fields with absolute paths (kilobytes), never tables: workers
  read the inputs themselves. A result is one summary row plus the run's site table (a few
  hundred rows); the driver writes both at once and keeps only the summary rows.
* ``runs.parquet`` is rewritten atomically after each finished run (temporary file and
  rename), and a run's site table is in place before its row is: a study killed at any
  moment leaves whole rows only, each with its site table.
* A run is keyed by the hash of its resolved scenario (:func:`siting.studies.spec.run_hash`).
  Re-running executes only members without a row or with status ``error``.
* Any exception inside a run becomes a row with status ``error`` and the message; an
  infeasible scenario is a result (status ``infeasible``), not a failure to retry.
"""

from __future__ import annotations

import io
import itertools
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from siting.errors import Interrupted, SitingError
from siting.io import atomic_path
from siting.studies.spec import Member, Study, members

RUNS_FILE = "runs.parquet"
SITES_DIR = "sites"
PLAN_FILE = "study.json"
FAILED = "error"
METRICS = ["objective", "co2_t", "cost_usd", "cfe", "sites_open", "gap"]
TIMINGS = ["build_s", "solve_s", "run_s"]
KEY_PREFIX = "siting-run-"
# A run's solver gets one thread unless its scenario names a number: the study's parallelism
# is across runs (one worker process per core), and on this 2-core machine HiGHS with one
# thread was also faster alone (12.7 s against 14.4 s for the default hourly run).
RUN_SOLVER_THREADS = 1
# ... and solves its Pareto points one after another (not one master per thread) for the same reason
RUN_PARETO_WORKERS = 1
# Settings of the LocalCluster's workers for numpy- and solver-heavy tasks (measured on the
# default hourly run, 2 workers on 2 cores): Dask's sampling profiler (every 10 ms) cost
# about 15 % of a run, and its default MALLOC_TRIM_THRESHOLD_=65536 makes glibc map and unmap
# every array over 128 KiB (12.7 s -> 16.5 s for one run). A remote cluster keeps its own.
LOCAL_WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.nanny.pre-spawn-environ": {
        "OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1},
}


@dataclass(frozen=True)
class SweepResult:
    out_dir: Path
    n_members: int
    executed: int  # runs executed now
    skipped: int  # runs already done
    failed: int  # rows with status error after this sweep
    dropped: int  # rows of an earlier version of the study, no longer members
    wall_s: float

    @property
    def runs_path(self) -> Path:
        return self.out_dir / RUNS_FILE


# ------------------------------------------------------------------------------ the task
def _number(summary: dict, *keys: str) -> float | None:
    for key in keys:
        value = summary.get(key)
        if value is not None:
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue
            if math.isfinite(value):
                return value
    return None


def error_row(run_id: str, exc: BaseException | str) -> dict[str, Any]:
    """The row of a run that failed: status ``error`` and a one-line message."""
    if isinstance(exc, BaseException):
        text = str(exc).splitlines()[0] if str(exc) else ""
        message = f"{type(exc).__name__}: {text}"
    else:
        message = exc
    return {"run_id": run_id, "status": FAILED, "error": message[:500], **dict.fromkeys(METRICS),
            **dict.fromkeys(TIMINGS)}


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Run one member (a plain dict from :func:`task_of`) and return ``{"row": ..., "sites":
    DataFrame | None}``. Never raises: errors are returned in the row. Module-level and
    free of shared state, so Dask can ship it to any worker."""
    t0 = time.perf_counter()
    row: dict[str, Any] = {"run_id": task["run_id"], "status": FAILED, "error": None,
                           **dict.fromkeys(METRICS), "build_s": None, "solve_s": None}
    sites = None
    try:
        if task["error"] is not None:
            raise SitingError(task["error"])
        from siting.errors import InfeasibleError
        from siting.model import Scenario
        from siting.model import optimize as run_optimize

        scenario = Scenario(**task["scenario"], base_dir=Path(task["base_dir"]))
        own = {}
        if scenario.solver.threads is None:  # "threads: null" too: the solver's default
            own["threads"] = RUN_SOLVER_THREADS
        if "pareto_workers" not in scenario.solver.model_fields_set:  # it has a default of its own
            own["pareto_workers"] = RUN_PARETO_WORKERS
        if own:
            scenario = scenario.model_copy(update={"solver": scenario.solver.model_copy(update=own)})
        try:
            solution = run_optimize(scenario)
        except InfeasibleError as exc:
            row.update(status="infeasible", error=str(exc).splitlines()[0])
        else:
            s = solution.summary
            row.update(status=str(s.get("status")), objective=_number(s, "objective", "objective_t"),
                       co2_t=_number(s, "co2_t", "emissions_t"), cost_usd=_number(s, "cost_usd"),
                       cfe=_number(s, "cfe"), gap=_number(s, "gap"),
                       sites_open=int(solution.sites["open"].sum()),
                       build_s=_number(s, "build_s"), solve_s=_number(s, "solve_s"))
            sites = (pd.DataFrame(solution.sites).drop(columns="geometry", errors="ignore")
                     .reset_index(drop=True))
    except Interrupted:
        raise  # Ctrl-C stops the study; it is not a failed run
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, none stops the study
        row = error_row(task["run_id"], exc)
        sites = None
    row["run_s"] = time.perf_counter() - t0
    return {"row": row, "sites": sites}


def task_of(m: Member) -> dict[str, Any]:
    return {"run_id": m.run_id, "scenario": m.scenario, "base_dir": m.base_dir, "error": m.error}


# ------------------------------------------------------------------------------ engines
def _serial(tasks: list[dict]) -> Iterator[dict]:
    for task in tasks:
        yield run_task(task)


def _warm() -> None:
    import siting.model.optimize  # noqa: F401


def local_cluster(n_workers: int):
    """A LocalCluster of ``n_workers`` processes with one thread each, configured for solver
    runs (:data:`LOCAL_WORKER_CONFIG`)."""
    import dask
    from dask.distributed import LocalCluster

    with dask.config.set(LOCAL_WORKER_CONFIG):
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                            dashboard_address=None)


def _dask(tasks: list[dict], scheduler: str, workers: int | None) -> Iterator[dict]:
    from dask.distributed import Client, as_completed

    if scheduler == "local":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        n = workers or cores or 1
        cluster = local_cluster(n)
        client = Client(cluster)
    else:
        cluster = None
        client = Client(scheduler, timeout="30s")
    try:
        try:  # import the model once per worker, outside any run's timing
            client.run(_warm)
        except Exception as exc:  # noqa: BLE001 - a cluster without siting: one clear line
            raise SitingError(f"Dask workers at {scheduler} cannot load siting "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                              "install siting where the workers run") from None
        total_threads = max(sum(client.nthreads().values()), 1)
        window = 2 * total_threads  # tasks in flight: bounded, whatever the study size
        pending = iter(tasks)
        ac = as_completed()
        for task in pending:
            ac.add(client.submit(run_task, task, key=KEY_PREFIX + task["run_id"], pure=False))
            if ac.count() >= window:
                break
        for future in ac:
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - a worker lost mid-run: record, go on
                result = {"row": error_row(str(future.key).removeprefix(KEY_PREFIX), exc),
                          "sites": None}
            future.release()
            yield result
            nxt = next(pending, None)
            if nxt is not None:
                ac.add(client.submit(run_task, nxt, key=KEY_PREFIX + nxt["run_id"], pure=False))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def check_scheduler(scheduler: str) -> str:
    if scheduler in ("serial", "local") or "://" in scheduler:
        return scheduler
    raise SitingError(f"--scheduler: expected local, serial or tcp://host:port, got {scheduler!r}")


def engine(tasks: list[dict], scheduler: str = "local", workers: int | None = None) -> Iterator[dict]:
    """Results of ``tasks`` in completion order: ``serial``, ``local`` (LocalCluster, one
    process per core, one thread each) or a scheduler address ``tcp://host:port``."""
    if check_scheduler(scheduler) == "serial":
        return _serial(tasks)
    return _dask(tasks, scheduler, workers)


# ------------------------------------------------------------------------------ results
def read_runs(out_dir: str | Path) -> pd.DataFrame:
    """The result table of a study folder (empty frame when nothing has run yet)."""
    path = Path(out_dir) / RUNS_FILE
    if not path.is_file():
        return pd.DataFrame(columns=["run_id", "status"])
    # one read of the whole file: the table is rewritten (atomically, by rename) after every run,
    # and pyarrow opens a path more than once (footer, then pages), so reading a running study
    # by path could mix two versions ("Couldn't deserialize thrift", seen once in make test)
    return pd.read_parquet(io.BytesIO(path.read_bytes()))


def site_table_path(out_dir: str | Path, run_id: str) -> Path:
    return Path(out_dir) / SITES_DIR / f"run_id={run_id}" / "sites.parquet"


def _frame(rows: dict[str, dict], plan: list[Member], keys: list[str]) -> pd.DataFrame:
    by_id = {m.run_id: m for m in plan}
    records = []
    for m in plan:
        if m.run_id not in rows:
            continue
        r = rows[m.run_id]
        records.append({"run_id": m.run_id, "member": m.index, "variant": m.variant, "draw": m.draw,
                        **{k: m.values.get(k) for k in keys},
                        **{k: r.get(k) for k in ("status", "error", *METRICS, *TIMINGS)}})
    cols = ["run_id", "member", "variant", "draw", *keys, "status", "error", *METRICS, *TIMINGS]
    df = pd.DataFrame.from_records(records, columns=cols)
    df["member"] = df["member"].astype("int64")
    df["draw"] = df["draw"].astype("Int64")
    df["sites_open"] = df["sites_open"].astype("Int64")
    for col in ("run_id", "variant", "status", "error"):
        df[col] = df[col].astype("string")
    for col in [*METRICS, *TIMINGS]:
        if col != "sites_open":
            df[col] = pd.to_numeric(df[col]).astype("float64")
    for k in keys:  # a varied key: numbers as float, anything else as text
        vals = df[k]
        numeric = pd.to_numeric(vals, errors="coerce")
        if numeric.notna().sum() == vals.notna().sum() and not vals.map(
                lambda v: isinstance(v, bool)).any():
            df[k] = numeric.astype("float64")
        else:
            df[k] = vals.map(lambda v: None if v is None else str(v)).astype("string")
    assert all(rid in by_id for rid in df["run_id"])
    return df


def write_parquet(dest: Path, df: pd.DataFrame) -> Path:
    """Parquet written to a temporary file and renamed into place (readers never see half)."""
    with atomic_path(dest) as tmp:
        df.to_parquet(tmp, index=False)
    return dest


def run_study(study: Study, out_dir: str | Path, *, scheduler: str = "local",
              workers: int | None = None,
              progress: Callable[[int, int, dict | None], None] | None = None) -> SweepResult:
    """Run every member of ``study`` not already done in ``out_dir``; resumable.

    ``progress(done, total, row)`` is called once before the first run (``done`` 0, ``row``
    None) and after each run (``done`` counts this sweep's runs, ``total`` the runs it has
    to do). Members that cannot even be resolved (an unknown key) are recorded as failed
    without being sent to a worker."""
    from siting.io import write_json

    t0 = time.perf_counter()
    check_scheduler(scheduler)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plan = members(study)
    keys = study.varied_keys
    ids = {m.run_id for m in plan}
    old = read_runs(out)
    rows: dict[str, dict] = {}
    for r in old.to_dict("records"):
        rid = r["run_id"]
        has_sites = not _missing(r.get("sites_open"))
        if rid in ids and r["status"] != FAILED and (not has_sites
                                                     or site_table_path(out, rid).is_file()):
            rows[rid] = {k: (None if _missing(v) else v) for k, v in r.items()}
    dropped = int((~old["run_id"].isin(list(ids))).sum()) if len(old) else 0
    todo = [m for m in plan if m.run_id not in rows]
    write_json(out / PLAN_FILE, {"study": study.model_dump(mode="json"), "n_members": len(plan),
                                 "varied_keys": keys,
                                 "periods": sorted({str(m.scenario.get("periods")) for m in plan
                                                    if m.error is None}),
                                 "members": [{"run_id": m.run_id, "variant": m.variant,
                                              "draw": m.draw, "values": m.values} for m in plan]})
    skipped = len(plan) - len(todo)
    done = 0
    if dropped or not (out / RUNS_FILE).is_file():
        write_parquet(out / RUNS_FILE, _frame(rows, plan, keys))
    if progress is not None:
        progress(0, len(todo), None)
    unresolved = ({"row": error_row(m.run_id, f"SitingError: {m.error}"), "sites": None}
                  for m in todo if m.error is not None)
    runnable = [task_of(m) for m in todo if m.error is None]
    results = engine(runnable, scheduler, workers) if runnable else iter(())
    for result in itertools.chain(unresolved, results):
        row = result["row"]
        rid = row["run_id"]
        if result["sites"] is not None:
            write_parquet(site_table_path(out, rid), result["sites"])
        rows[rid] = row
        write_parquet(out / RUNS_FILE, _frame(rows, plan, keys))
        done += 1
        if progress is not None:
            progress(done, len(todo), row)
    failed = sum(1 for r in rows.values() if r["status"] == FAILED)
    return SweepResult(out, len(plan), done, skipped, failed, dropped, time.perf_counter() - t0)


def _missing(v) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
