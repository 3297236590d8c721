"""Hourly optimisation: scenario -> problem -> checks -> model -> solve -> marginal values ->
solution, and the cost/CO2 Pareto front by the epsilon-constraint method on one persistent
master (each point with its CO2 cap's marginal value, the marginal abatement cost)."""

from __future__ import annotations

import collections
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import replace

import numpy as np
import pandas as pd

from siting.errors import InfeasibleError, NoSolutionError
from siting.model.hourly.decompose import Decomposition, HourlyRaw, relative_gap, solve_explicit
from siting.model.hourly.marginals import abatement_cost, plan_marginals
from siting.model.hourly.problem import HourlyProblem, Objective
from siting.model.hourly.solution import build_hourly_solution
from siting.model.solution import Solution
from siting.model.solve import set_threads


def check_hourly_feasibility(p: HourlyProblem) -> None:
    """Reasons, in numbers, why no plan can exist (before any solve)."""
    cap = np.sort(p.sites["capacity_gpus"].to_numpy(float))[::-1]
    if p.max_sites is not None:
        cap = cap[: p.max_sites]
    busy = (p.active * p.gpus_busy[:, None]).sum(axis=0)  # (J,)
    j = int(np.argmax(busy - cap.sum()))
    if busy[j] > cap.sum() * (1 + 1e-9):
        raise InfeasibleError(
            f"{busy[j]:,.0f} GPUs are busy at once in {p.segments.labels[j]} but the "
            f"{'largest ' + str(p.max_sites) + ' ' if p.max_sites else ''}sites hold {cap.sum():,.0f} GPUs"
        )
    unsplit = ~p.workloads["splittable"].to_numpy(bool)
    if unsplit.any():
        big = p.gpus_busy[unsplit].max()
        if big > p.sites["capacity_gpus"].max() * (1 + 1e-9):
            wid = p.workloads.loc[unsplit, "workload_id"].iloc[int(np.argmax(p.gpus_busy[unsplit]))]
            raise InfeasibleError(
                f"workload {wid} needs {big:,.0f} GPUs at once and cannot be split; "
                f"the largest site holds {p.sites['capacity_gpus'].max():,.0f}"
            )


def pick_formulation(p: HourlyProblem, formulation: str) -> str:
    """``decomposed`` is valid for every input, with or without storage (module docstring of
    decompose); ``auto`` picks it."""
    return "decomposed" if formulation == "auto" else formulation


def close_empty_sites(p: HourlyProblem, m, values: np.ndarray) -> np.ndarray:
    """The plan with every site that the solver left open but empty (no workload share and no
    procurement: a battery there has nothing to store) closed, battery and all, so the report
    never counts, ranks or maps a site with nothing on it. Closing an empty site keeps every
    row of the model (its capacity, potential and battery rows hold at zero; one site fewer
    against ``max_sites``) and takes off its fixed cost, embodied emissions and battery cost,
    so no figure of the plan gets worse (the caller re-prices the objective). Such ties are
    common when the objective does not see a site's fixed cost, e.g. under ``min_co2`` with
    ``max_sites`` above the sites needed: the default scenario's least-CO2 plan opened an
    empty third site."""
    v = values.copy()
    used = values[m.cols["x"]].sum(axis=0) > 0
    used |= values[m.cols["P"]].sum(axis=1) > 0
    v[m.cols["y"][~used]] = 0.0
    if "E" in m.cols:
        v[m.cols["E"][~used]] = 0.0
    return v


def _solve(p, obj, formulation, rel_gap, time_limit_s, threads, master: Decomposition | None):
    if formulation == "explicit":
        raw, m = solve_explicit(p, obj, rel_gap, time_limit_s, threads)
        master = None
    else:
        t0 = time.perf_counter()
        if master is None:
            master = Decomposition(p, obj)
        else:
            master.set_objective(obj)
        if time_limit_s is not None:  # the limit covers building the master too
            time_limit_s = max(0.0, time_limit_s - (time.perf_counter() - t0))
        raw, m = master.solve(rel_gap, time_limit_s, threads), master.m
    if raw.values is not None:
        raw.values = close_empty_sites(p, m, raw.values)
        if raw.dispatch:  # a closed site has no dispatch to report
            y = raw.values[m.cols["y"]]
            raw.dispatch = {s: d for s, d in raw.dispatch.items() if y[s] > 0.5}
        objective = float(m.cost @ raw.values)
        if objective < raw.objective:  # an empty site had a cost the objective counts
            raw.objective = objective
            raw.gap = relative_gap(objective, raw.bound)
    return raw, m, master


def optimize_hourly(
    p: HourlyProblem,
    obj: Objective,
    *,
    rel_gap: float = 1e-4,
    time_limit_s: float | None = None,
    threads: int | None = None,
    formulation: str = "auto",
    pareto_points: int = 0,
    progress=None,
    pareto_workers: int = 1,
) -> Solution:
    """The least-CO2 (or least-cost, ...) plan of ``p`` hour by hour, exact to ``rel_gap``."""
    t0 = time.perf_counter()
    check_hourly_feasibility(p)
    formulation = pick_formulation(p, formulation)
    # the plan is the front's least-CO2 end when it is plain least CO2
    plain_co2 = obj.kind == "min_co2" and obj.co2_cap_t is None and obj.budget_usd is None
    master, masters, cheap, front_threads, limit = None, None, None, threads, time_limit_s
    waited_s = 0.0  # the plan's wait for the front's least-cost end, solved beside it
    if pareto_points >= 2 and pareto_workers >= 2 and plain_co2 and formulation == "decomposed":
        master = Decomposition(p, obj)  # the limit covers building it
        limit = None if time_limit_s is None else max(0.0, time_limit_s - (time.perf_counter() - t0))
        masters, front_threads = front_masters(master, pareto_workers, threads)
    ahead, other = None, None
    try:
        if masters is not None and len(masters) > 1:
            # the plan and the front's least-cost end at once, on two masters (see pareto_front)
            t_both = time.perf_counter()
            raw, m, master, cheap, ahead, other = plan_beside_ends(
                p, obj, masters, pareto_points, formulation, rel_gap, limit, time_limit_s
            )
            waited_s = max(0.0, time.perf_counter() - t_both - raw.solve_s)
            if progress:
                progress(1, pareto_points)
        else:
            raw, m, master = _solve(p, obj, formulation, rel_gap, limit, threads, master)
        _raise_if_unsolved(raw, obj)
        pareto = None
        t_front = time.perf_counter()
        if pareto_points >= 2:
            known = raw.objective if plain_co2 else None
            pareto = pareto_front(
                p, obj, pareto_points, formulation, rel_gap, time_limit_s, front_threads, master, progress,
                least_co2_t=known, workers=pareto_workers, masters=masters, cheap=cheap,
                ahead=ahead, busy=other,
            )
            if master is not None:  # the persistent master was re-aimed: restore the plan's model
                master.set_objective(obj)
    finally:
        if other is not None:  # the second master's thread: told to stop, and waited for
            if ahead is not None:
                ahead.halt()
            wait([other])
    if other is not None:
        other.result()  # an error of the second master's thread (e.g. solving ahead) is raised
    pareto_s = time.perf_counter() - t_front + waited_s
    # the plan's marginal values (after the front the master is aimed at obj again; the cuts
    # the front added are valid everywhere, so the fixed LP and its duals are the same)
    t_marg = time.perf_counter()
    marginals, lp = plan_marginals(p, obj, m, raw.values, master)
    marginals_s = time.perf_counter() - t_marg
    build_s = time.perf_counter() - t0 - raw.solve_s - marginals_s - pareto_s
    sol = build_hourly_solution(p, obj, m, raw, formulation, max(build_s, 0.0), pareto, marginals)
    sol.summary["pareto_s"] = round(pareto_s, 4)
    sol.summary["marginals_status"] = lp.status
    sol.summary["marginals_lp_objective"] = lp.objective
    sol.summary["marginals_s"] = round(marginals_s, 4)
    return sol


def plan_beside_ends(p, obj, masters, n_points, formulation, rel_gap, limit, point_limit_s):
    """The plan (plain least CO2) on the first master (this thread) and, on the second (a
    thread of its own), the front's least-cost end; then, with batteries, the front's capped
    points ahead on that master until the plan ends (:class:`SolveAhead`). Without batteries
    the two start at once. With batteries the least-cost end starts once the plan's value cuts
    are seeded: their searches run on every core, the plan's MIP rounds after them on one
    (default with 400 MWh per site, min CO2 and 7 points: least CO2 beside the whole
    least-cost end took 79.5 s, alone 57-61 s and the run 114-147 s; beside the least-cost
    end after seeding and the points ahead, 63.8-65.9 s and the run 99.7-109.6 s, with 3
    points taken from ahead in each of three runs). While the plan runs with batteries, its
    master does not read the rows the other one adds (:meth:`Decomposition._sync`: every row is valid, none is
    needed; the capped points carry each of theirs to every site, rows the least-CO2 rounds
    would only carry along); it reads them at its next solve. Returns (raw, model, master,
    least-cost point, the SolveAhead or None, the second master's future: that master takes
    front tasks only once it is done)."""
    cheap_obj = replace(obj, kind="min_cost", co2_cap_t=None, budget_usd=None)
    battery = bool(p.battery_sites.any())
    ahead = SolveAhead(p, masters[0], n_points, rel_gap, formulation, point_limit_s) if battery else None
    seeded, failed = threading.Event(), threading.Event()
    if not battery:
        seeded.set()
    cheap_box: Future = Future()

    def second() -> None:
        try:
            seeded.wait()
            if failed.is_set():  # e.g. Ctrl-C in the plan: nothing more is started
                cheap_box.set_result(None)
                return
            # its own time limit, as every point of the front
            cheap = front_point(p, cheap_obj, "least cost", formulation, rel_gap, point_limit_s, None,
                                masters[1])
        except BaseException as exc:
            cheap_box.set_exception(exc)
            raise
        cheap_box.set_result(cheap)
        if ahead is not None and cheap[0] is not None:
            ahead.work(masters[1], cheap[0]["co2_t"])

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pareto")
    other = pool.submit(second)
    pool.shutdown(wait=False)
    masters[0].after_seeding = seeded.set
    masters[0].read_log = not battery
    try:
        try:
            raw, m, master = _solve(p, obj, formulation, rel_gap, limit, None, masters[0])
        except BaseException:
            failed.set()  # before seeded: the least-cost end is not started
            raise
        finally:
            masters[0].after_seeding = None
            masters[0].read_log = True
            if ahead is not None:
                ahead.halt()
            seeded.set()  # the plan ended before (or without) seeding
        return raw, m, master, cheap_box.result(), ahead, other
    except BaseException:  # the plan failed, or e.g. Ctrl-C while waiting for the least-cost end
        wait([other])  # the other thread ends first
        raise


def front_caps(base: Objective, least_co2_t: float, cheap_co2_t: float | None, n_points: int,
               rel_gap: float) -> list[tuple[Objective, str]]:
    """The front's capped solves, tightest first: the lexicographic least-CO2 end (least cost
    among the plans within ``rel_gap`` of least CO2), then least cost at ``n_points - 2``
    caps evenly spaced between the least CO2 and the least-cost plan's CO2."""
    tasks = [(replace(base, kind="min_cost", co2_cap_t=least_co2_t * (1 + rel_gap) + 1e-9), "least CO2")]
    if cheap_co2_t is not None and n_points > 2:
        tasks += [
            (replace(base, kind="min_cost", co2_cap_t=float(eps)), f"eps {k}")
            for k, eps in enumerate(np.linspace(least_co2_t, cheap_co2_t, n_points)[1:-1], start=1)
        ]
    return tasks


# how often a master solving ahead with nothing left to solve looks at the plan's incumbent again
AHEAD_POLL_S = 0.2


class SolveAhead:
    """The front's capped points solved on a second master while the plan (least CO2) is still
    being solved on the first, at the caps (:func:`front_caps`) that the plan's incumbent
    gives: its CO2 after closing empty sites, as the plan's own objective is taken
    (:func:`_solve`). When the plan ends at that objective, those caps are the front's and the
    points are its points (:meth:`claim`: equal objectives only). Otherwise the plan usually
    ended lower, so each cap of the front is tighter than the one solved ahead (eps = lo + k
    (hi - lo) / (n - 1) falls with lo): that solve's bound holds for it, and its plan is a start
    where it meets the cap (:meth:`Decomposition._looser_bound`). A plan may also end a little
    higher (an incumbent with an empty site open is judged after closing it, and one within
    the gap above it can still end the plan): then the point solved ahead leaves only its plan,
    never a bound (a bound is used only for caps at most as loose). Nothing it proves is wrong.
    A point begun is finished, also when the front no longer needs it (HiGHS is not
    cancelled); the least-cost end and every point ahead get the front's per-point time limit.
    Valid for the plain least-CO2 plan only (its objective is its tCO2e)."""

    def __init__(self, p, plan_master, n_points, rel_gap, formulation, point_limit_s):
        self.p, self.plan_master = p, plan_master
        self.n_points, self.rel_gap = n_points, rel_gap
        self.formulation, self.point_limit_s = formulation, point_limit_s
        self.base = replace(plan_master.obj, co2_cap_t=None, budget_usd=None)
        self.cost = plan_master.m.cost.copy()  # the plan's objective (the master moves on after it)
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._done: dict = {}  # objective -> (summary, row)
        self._busy: dict = {}  # objective -> Event set when it is done
        self.claimed = 0  # points solved ahead that the front took as its own

    @property
    def solved(self) -> int:
        """Points solved ahead so far."""
        return len(self._done)

    def plan_co2_t(self) -> float | None:
        """The plan's incumbent objective as :func:`_solve` would report it, or None."""
        inc = self.plan_master.incumbent
        if inc is None:
            return None
        closed = close_empty_sites(self.p, self.plan_master.m, inc)
        return min(float(self.cost @ inc), float(self.cost @ closed))

    def work(self, master, cheap_co2_t: float) -> None:
        """Solve points ahead on ``master`` until :attr:`stop` (a point begun is finished)."""
        while not self.stop.is_set():
            lo = self.plan_co2_t()
            caps = [] if lo is None else front_caps(self.base, lo, cheap_co2_t, self.n_points, self.rel_gap)
            # the lexicographic end last: it seeds value cuts (searches on every core, beside
            # the plan's own), the capped points with no battery in use do not
            todo = [t for t in caps[1:] + caps[:1] if t[0] not in self._done]
            if not todo:  # no incumbent yet, or every point at its caps solved: wait
                self.stop.wait(AHEAD_POLL_S)
                continue
            o, label = todo[0]
            event = threading.Event()
            with self._lock:  # with halt's lock: no point starts once the plan has ended
                if self.stop.is_set():  # (its master may be on to another solve)
                    return
                self._busy[o] = event
            try:
                out = front_point(self.p, o, label, self.formulation, self.rel_gap, self.point_limit_s,
                                  None, master)
                with self._lock:
                    self._done[o] = out
            finally:
                with self._lock:
                    del self._busy[o]
                event.set()

    def halt(self) -> None:
        """The plan has ended: no point starts after this (one begun is finished)."""
        with self._lock:
            self.stop.set()

    def busy(self, o: Objective) -> bool:
        with self._lock:
            return o in self._busy

    def claim(self, o: Objective):
        """The point ``o`` solved ahead (waiting for it if it is being solved), or None."""
        with self._lock:
            event = self._busy.get(o)
        if event is not None:
            event.wait()
        with self._lock:
            out = self._done.get(o)
            if out is not None:
                self.claimed += 1
        return out


def _raise_if_unsolved(raw: HourlyRaw, obj: Objective) -> None:
    if raw.status == "infeasible":
        limits = [
            f"{k} {v:g}"
            for k, v in (
                ("co2_cap_t", obj.co2_cap_t),
                ("budget_usd", obj.budget_usd),
                ("cfe_target", obj.cfe_target),
            )
            if v is not None
        ]
        raise InfeasibleError(
            "no plan meets "
            + (", ".join(limits) if limits else "the capacity limits")
            + " (the solver proved it)"
        )
    if raw.values is None:
        raise NoSolutionError("no feasible plan found within the time limit; raise solver.time_limit_s")


def run_on_masters(tasks: list, masters: list, run, ready: dict | None = None) -> list:
    """``run(master, *task)`` for every task, on ``masters`` at once: the first master (this
    thread) takes the tasks from the front of the list, each other master (its own thread) the
    middle one of those left (the last of two), until none is left; the results in the order of
    ``tasks``. On a front ordered from the tightest CO2 cap up, the first master's plans keep
    meeting its next cap (a start), and a point solved in the middle gives the tighter points
    solved after it a bound (:meth:`Decomposition._looser_bound`) and the looser ones a start
    (default with 400 MWh per site: eps 2 kept eps 3's plan and, solved after it, was over
    before any MIP round; with the other masters taking the list from the back, eps 2 was
    solved first and took 16-30 s). ``ready``: {master's index: a future}, a master still
    busy elsewhere, which takes tasks once its future is done (its error is raised here)."""
    results: list = [None] * len(tasks)
    queue = collections.deque(range(len(tasks)))
    lock = threading.Lock()

    def work(k: int) -> None:
        if ready and k in ready:
            ready[k].result()
        while True:
            with lock:
                if not queue:
                    return
                i = queue[0 if k == 0 else len(queue) // 2]
                queue.remove(i)
            results[i] = run(masters[k], *tasks[i])

    others = range(1, min(len(masters), len(tasks)))
    if not others:
        work(0)
        return results
    with ThreadPoolExecutor(max_workers=len(others), thread_name_prefix="pareto") as pool:
        futures = [pool.submit(work, k) for k in others]
        try:
            work(0)
        except BaseException:  # e.g. Ctrl-C: the others stop after the task they are solving
            with lock:
                queue.clear()
            raise
        finally:
            for fut in futures:
                fut.result()
    return results


def front_point(p, o: Objective, label: str, formulation, rel_gap, time_limit_s, threads, master,
                record: bool = True):
    """One point of the Pareto front solved on ``master``: (its summary or None, its row of
    the front table); with ``record=False`` only its objective (or None)."""
    raw, m, _ = _solve(p, o, formulation, rel_gap, time_limit_s, threads, master)
    if not record:
        return None if raw.values is None else float(raw.objective)
    if raw.values is None:
        return None, {"point": label, "co2_cap_t": o.co2_cap_t, "status": raw.status}
    sol = build_hourly_solution(p, o, m, raw, formulation, 0.0)
    s = sol.summary
    # each capped point's marginal abatement cost: its cap's marginal value (USD saved per
    # tCO2e more allowed, with that point's sites and whole-job placements fixed, see
    # siting.model.hourly.marginals) and whether the cap binds; none at the least-cost end
    mac, binds = None, None
    if o.co2_cap_t is not None:
        table, _ = plan_marginals(p, o, m, raw.values, master)
        mac = abatement_cost(table)
        if mac is not None:
            binds = bool(table.loc[table["constraint"] == "co2_cap", "binding"].iloc[0])
    return s, {
        "point": label,
        "co2_cap_t": o.co2_cap_t,
        "status": raw.status,
        "co2_t": s["co2_t"],
        "cost_usd": s["cost_usd"],
        "cfe": s["cfe"],
        "co2_location_t": s["co2_location_t"],
        "n_sites_open": s["n_sites_open"],
        "marginal_abatement_cost_usd_per_t": mac,
        "co2_cap_binding": binds,
        "gap": raw.gap,
        "solve_s": round(raw.solve_s, 3),
    }


def front_masters(master: Decomposition | None, workers: int, threads: int | None):
    """The masters a front is solved on: ``master`` and ``workers - 1`` clones of it (the
    decomposed formulation; the explicit one has no master: None alone); and the ``threads``
    their solves get. With clones every master runs HiGHS on one thread (the parallelism is
    across masters; with HiGHS's default each calling thread's scheduler kept worker threads
    of its own busy: four busy threads on the 2-core machine, and the default front took
    162.8 s against 90.3-117.1 s), set here, once, while no other thread runs HiGHS (its
    scheduler reset is not safe then), so the solves get None."""
    if workers < 2 or master is None:
        return [master], threads
    set_threads(master.h, 1)
    return [master] + [master.clone() for _ in range(workers - 1)], None


def pareto_front(
    p: HourlyProblem,
    obj: Objective,
    n_points: int,
    formulation: str,
    rel_gap: float,
    time_limit_s: float | None,
    threads: int | None,
    master: Decomposition | None,
    progress=None,
    *,
    least_co2_t: float | None = None,
    workers: int = 1,
    masters: list | None = None,
    cheap: tuple | None = None,
    ahead: SolveAhead | None = None,
    busy: Future | None = None,
) -> pd.DataFrame:
    """Cost against CO2 by the epsilon-constraint method: the least-cost and least-CO2 plans
    (keeping ``cfe_target``), then least cost with ``co2 <= eps`` at ``n_points - 2`` evenly
    spaced caps between the least CO2 and the least-cost plan's CO2. The decomposed master keeps
    its cuts and its earlier plans (as candidate incumbents) from point to point.
    ``least_co2_t``: the least CO2 (kept ``cfe_target``, no cap or budget) when the caller has
    already solved it; ``cheap``: the least-cost point (summary, row) when the caller has.

    ``workers`` >= 2 (decomposed): the points are solved on that many masters at once, one
    per thread (``masters``, when the caller has made them: :func:`front_masters`), each a
    clone of ``master`` that shares its cuts and plans with the others
    (:meth:`Decomposition.clone`): the two ends together, then the capped points
    (:func:`run_on_masters`: the first master from the tightest cap up, so each
    of its plans meets its next cap). Each point is still solved to ``rel_gap`` with its own
    time limit; which master solves which point depends on timing, so a point's plan may
    differ between runs within ``rel_gap`` (with batteries the default front, 400 MWh per
    site, min CO2 and 7 points, took 384.5 s on two workers against 550 s on one master).
    ``ahead``: the points already solved, or being solved, ahead (:class:`SolveAhead`), taken
    as they are where their caps are the front's; ``busy``: the second master's future (it
    takes tasks once done)."""
    base = replace(obj, co2_cap_t=None, budget_usd=None)
    if masters is None:
        masters, threads = front_masters(master, workers, threads)
    elif len(masters) > 1:
        threads = None
    lock = threading.Lock()
    n_done = [0 if cheap is None else 1]

    def run(m_: Decomposition | None, o: Objective, label: str, record: bool = True):
        out = ahead.claim(o) if ahead is not None and record else None
        if out is None:
            out = front_point(p, o, label, formulation, rel_gap, time_limit_s, threads, m_, record)
        if record and progress:
            with lock:
                n_done[0] += 1
                k = n_done[0]
            progress(k, n_points)
        return out

    least_co2, clean = least_co2_t, None
    first: dict = {}  # what is not known yet of the two ends, solved at once
    if cheap is None:
        first["cheap"] = (replace(base, kind="min_cost"), "least cost")
    if least_co2 is None:
        first["least"] = (replace(base, kind="min_co2"), "least CO2", False)
    elif first:
        first["clean"] = front_caps(base, least_co2, None, n_points, rel_gap)[0]
    if first:
        got = dict(zip(first, run_on_masters(list(first.values()), masters, run), strict=True))
        cheap = got.get("cheap", cheap)
        least_co2 = got.get("least", least_co2)
        clean = got.get("clean")
    rows = [cheap[1]] + ([] if clean is None else [clean[1]])
    tasks = [] if least_co2 is None else front_caps(
        base, least_co2, None if cheap[0] is None else cheap[0]["co2_t"], n_points, rel_gap
    )[0 if clean is None else 1:]
    if ahead is not None:  # a point still being solved ahead last, for the masters free now
        tasks.sort(key=lambda t: ahead.busy(t[0]))
    rows += [row for _, row in run_on_masters(tasks, masters, run, None if busy is None else {1: busy})]
    out = pd.DataFrame(rows)
    if "co2_t" not in out:
        return out
    out["same_plan_as"] = same_plan_as(out, rel_tol=rel_gap)
    return out.sort_values("co2_t", kind="stable").reset_index(drop=True)


def same_plan_as(front: pd.DataFrame, rel_tol: float) -> pd.Series:
    """Per point of the front (in the order solved), the label of the first earlier point with
    the same CO2 and cost (to ``rel_tol``), or "": a looser cap that does not bind gives the
    tighter point's plan again (e.g. the default front's eps 1 and eps 2), which the table then
    says rather than leaving two identical rows unexplained."""
    co2, cost = front["co2_t"].to_numpy(float), front["cost_usd"].to_numpy(float)
    close = (np.abs(co2[:, None] - co2[None, :]) <= rel_tol * np.abs(co2).max()) & (
        np.abs(cost[:, None] - cost[None, :]) <= rel_tol * np.abs(cost).max()
    )
    close &= np.isfinite(co2)[:, None] & np.isfinite(co2)[None, :]
    earlier = np.tril(close, k=-1)  # j < i
    first = np.where(earlier.any(axis=1), earlier.argmax(axis=1), -1)
    labels = front["point"].to_numpy(object)
    return pd.Series(np.where(first >= 0, labels[np.maximum(first, 0)], ""), index=front.index)


def optimize_scenario(scenario, solver=None, *, sites: pd.DataFrame | None = None, progress=None) -> Solution:
    """Read the scenario's tables, build the hourly problem and optimise it. ``sites``: an
    already validated (e.g. enriched) sites table to use instead of the scenario's file."""
    from siting.data.validate import read_csv
    from siting.model.hourly.inputs import build_hourly_problem, objective_of
    from siting.model.scenario import DEFAULT_SITES, read_sites_table, read_workloads_table
    from siting.paths import regions_file

    solver = solver or scenario.solver
    sites_path = (
        regions_file("sites.csv") if scenario.sites == DEFAULT_SITES else scenario.path(scenario.sites)
    )
    a = scenario.resolved_assumptions()
    if sites is None:
        sites = read_sites_table(sites_path, a)
        raw_sites = read_csv(sites_path, "sites")
    else:
        raw_sites = pd.DataFrame(sites).drop(columns="geometry", errors="ignore")
    workloads = read_workloads_table(scenario.path(scenario.workloads), a)
    t0 = time.perf_counter()
    p = build_hourly_problem(scenario, sites, workloads, raw_sites)
    inputs_s = time.perf_counter() - t0
    left = None if solver.time_limit_s is None else max(1.0, solver.time_limit_s - inputs_s)
    sol = optimize_hourly(
        p,
        objective_of(scenario),
        rel_gap=solver.rel_gap,
        time_limit_s=left,
        threads=solver.threads,
        formulation=scenario.formulation,
        pareto_points=scenario.pareto_points,
        progress=progress,
        pareto_workers=solver.pareto_workers,
    )
    sol.summary["inputs_s"] = round(inputs_s, 4)
    sol.summary["assumptions_overridden"] = sorted(scenario.assumptions)
    return sol
