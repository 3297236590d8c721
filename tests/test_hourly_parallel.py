"""Two masters at once (a Pareto front on two cores): cloned masters share their cuts and plans,
the two-ended task runner keeps the task order, and every point is still the reference optimum."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from siting.model.hourly.decompose import Decomposition
from siting.model.hourly.optimize import run_on_masters
from siting.model.hourly.problem import Objective
from siting.model.hourly.testing import random_hourly_problem
from tests.hourly_reference import reference_solve


def test_a_clone_gets_the_other_masters_cuts_and_plans_and_solves_to_the_reference():
    p = random_hourly_problem(4, 3, 168, 2, max_sites=3)
    a = Decomposition(p, Objective())
    b = a.clone()
    rows_at_clone = a.h.getNumRow()
    assert b.h.getNumRow() == rows_at_clone
    raw = a.solve(rel_gap=1e-9)
    assert raw.objective == pytest.approx(reference_solve(p, "min_co2")["objective"], rel=1e-6)
    added = a.h.getNumRow() - rows_at_clone
    assert added > 0 and b.h.getNumRow() == rows_at_clone  # nothing reaches b before it reads the log
    assert b._sync() == added and b.h.getNumRow() == a.h.getNumRow()
    assert b._sync() == 0  # each row once
    # the same rows, in the same order (a's cuts hold in b's master as they are)
    la, lb = a.h.getLp(), b.h.getLp()
    for field in ("row_lower_", "row_upper_"):
        assert np.array_equal(np.asarray(getattr(la, field)), np.asarray(getattr(lb, field)))
    assert np.array_equal(np.asarray(la.a_matrix_.value_), np.asarray(lb.a_matrix_.value_))
    assert b.plans is a.plans and len(a.plans) == 1
    # b's own cuts go back to a; each solves its own objective to the reference
    b.set_objective(Objective("min_cost"))
    assert a.obj.kind == "min_co2"  # re-aiming the clone leaves the first master alone
    raw_b = b.solve(rel_gap=1e-9)
    assert raw_b.objective == pytest.approx(reference_solve(p, "min_cost")["objective"], rel=1e-6)
    assert a._sync() > 0 and a.h.getNumRow() == b.h.getNumRow()
    cap = 0.5 * (raw.objective + b.exact_values(raw_b.values) @ a.m.cost)
    a.set_objective(Objective("min_cost", co2_cap_t=float(cap)))
    assert a.solve(rel_gap=1e-9).objective == pytest.approx(
        reference_solve(p, "min_cost", co2_cap_t=float(cap))["objective"], rel=1e-6)


def test_a_master_with_batteries_is_cloned_with_its_own_dispatch_lps():
    """A clone of a master with batteries has a dispatch oracle of its own (no site LP shared
    between threads), shares which objectives are seeded and which credits a solve without
    batteries has cut, and gets the other's battery cuts in its pool through the log."""
    p = random_hourly_problem(3, 2, 72, 1, max_sites=2, storage=True)
    a = Decomposition(p, Objective())
    b = a.clone()
    assert b.oracle is not a.oracle and b.oracle.v is a.oracle.v and not b.oracle._sites
    assert b._seeded is a._seeded and b._credits_without_battery is a._credits_without_battery
    raw = a.solve(rel_gap=1e-9)
    assert raw.objective == pytest.approx(reference_solve(p, "min_co2")["objective"], rel=1e-6)
    pooled = {name: len(a.battery_pool[name][0]) - len(b.battery_pool[name][0]) for name in a.battery_pool}
    assert sum(pooled.values()) > 0
    b._sync()
    assert all(len(a.battery_pool[n][0]) == len(b.battery_pool[n][0]) for n in a.battery_pool)
    assert b.h.getNumRow() == a.h.getNumRow()


def test_tasks_run_on_masters_front_and_middle_once_each():
    started = threading.Barrier(2, timeout=10)  # both masters are at work at once
    taken: dict[str, list[int]] = {"A": [], "B": []}

    def run(master, i):
        if not taken[master]:
            started.wait()
        taken[master].append(i)
        return i * i

    out = run_on_masters([(i,) for i in range(7)], ["A", "B"], run)
    assert out == [i * i for i in range(7)]
    # A from the front; B the middle of what is left (3 of 0-6, or 4 of 1-6 once A took 0)
    assert taken["A"][0] == 0 and taken["B"][0] in (3, 4)
    assert sorted(taken["A"] + taken["B"]) == list(range(7))
    assert taken["A"] == sorted(taken["A"])
    # of two tasks, the other master takes the second (the plan stays on this thread)
    both = threading.Barrier(2, timeout=10)
    two: dict[str, list[int]] = {"A": [], "B": []}

    def run_two(master, i):
        both.wait()  # each takes one task before either goes on
        two[master].append(i)

    run_on_masters([(0,), (1,)], ["A", "B"], run_two)
    assert two == {"A": [0], "B": [1]}
    # one master: in order, on this thread
    assert run_on_masters([(3,), (1,)], ["A"], lambda m, i: (m, i, threading.current_thread().name)) == [
        ("A", 3, threading.current_thread().name), ("A", 1, threading.current_thread().name)]


def test_an_error_on_the_other_thread_reaches_the_caller():
    started = threading.Barrier(2, timeout=10)  # A waits until B has taken its first task
    first = {"A": True, "B": True}

    def run(master, i):
        if first[master]:
            first[master] = False
            started.wait()
        if master == "B":
            raise RuntimeError(f"task {i} failed")
        return i

    with pytest.raises(RuntimeError, match="task 2 failed"):  # B takes the middle of 0-3 or of 1-3
        run_on_masters([(0,), (1,), (2,), (3,)], ["A", "B"], run)


def test_an_error_on_this_thread_stops_the_others_after_their_task():
    taken = []
    failed = threading.Event()

    def run(master, i):
        if master == "A":
            failed.set()
            raise KeyboardInterrupt
        failed.wait(10)  # B's first task ends after A's error
        taken.append(i)
        return i

    with pytest.raises(KeyboardInterrupt):
        run_on_masters([(i,) for i in range(50)], ["A", "B"], run)
    assert 1 <= len(taken) < 10  # B did not run the rest of the list (49 without the stop)


def test_a_master_that_highs_does_not_solve_is_an_error_not_a_plan():
    """HiGHS answers "Not Set" (no solve) when an instance's threads differ from the size of the
    scheduler its thread already runs; the decomposition used to report "feasible" from earlier
    plans, with no bound."""
    p = random_hourly_problem(4, 3, 168, 2, max_sites=3)
    master = Decomposition(p, Objective())
    master.solve(rel_gap=1e-6)  # this thread's scheduler is sized now
    master.h.setOptionValue("threads", 97)  # not the size of this thread's scheduler (1 or the cores)
    master.set_objective(Objective("min_cost"))
    with pytest.raises(RuntimeError, match="did not solve the master"):
        master.solve(rel_gap=1e-6)


def test_with_batteries_a_front_on_two_workers_equals_the_front_on_one():
    """With batteries the front's points run on two cloned masters at once (one per thread, each
    with its own dispatch LPs) and give the same points as one master, every one optimal."""
    from siting.model.hourly.optimize import optimize_hourly

    p = random_hourly_problem(3, 2, 72, 1, max_sites=2, storage=True)
    fronts = [optimize_hourly(p, Objective(), rel_gap=1e-9, pareto_points=4, pareto_workers=w).tables["pareto"]
              for w in (1, 2)]
    assert len(fronts[1]) == 4 and (fronts[1]["status"] == "optimal").all()
    for col in ("co2_t", "cost_usd"):
        np.testing.assert_allclose(fronts[1][col], fronts[0][col], rtol=1e-6)


def test_a_master_with_batteries_calls_after_seeding_once_when_its_value_cuts_are_seeded():
    """The hook that starts the front's least-cost end beside the plan: called once, by the solve
    with batteries on (not by its pass without batteries), after its value cuts are seeded."""
    p = random_hourly_problem(3, 2, 72, 1, max_sites=2, storage=True)
    a = Decomposition(p, Objective())
    seen: list = []
    a.after_seeding = lambda: seen.append((a._battery_off, a.value_stats["seeded"]))
    a.solve(rel_gap=1e-9)
    assert len(seen) == 1 and a.after_seeding is None
    battery_off, seeded = seen[0]
    assert not battery_off and seeded > 0


def _front_with_points_ahead(p, plan_incumbent=None):
    """The least-CO2 plan on one master, the least-cost end on its clone, then that clone solving
    the capped points ahead (at the caps the first master's incumbent gives, or the one passed)
    until every one is done, then the 4-point front on both masters: (front, SolveAhead)."""
    from siting.model.hourly.optimize import (
        SolveAhead,
        _solve,
        front_caps,
        front_masters,
        front_point,
        pareto_front,
    )

    obj, rel_gap = Objective(), 1e-9
    masters, _ = front_masters(Decomposition(p, obj), 2, None)
    raw, _, _ = _solve(p, obj, "decomposed", rel_gap, None, None, masters[0])
    cheap = front_point(p, Objective("min_cost"), "least cost", "decomposed", rel_gap, None, None, masters[1])
    ahead = SolveAhead(p, masters[0], 4, rel_gap, "decomposed", None)
    assert ahead.plan_co2_t() == pytest.approx(raw.objective, rel=1e-12)
    if plan_incumbent is not None:
        masters[0].incumbent = plan_incumbent(masters)
    # eps 1, eps 2 and the lexicographic end (fewer when caps coincide)
    n_ahead = len({o for o, _ in front_caps(ahead.base, ahead.plan_co2_t(), cheap[0]["co2_t"], 4, rel_gap)})
    worker = threading.Thread(target=ahead.work, args=(masters[1], cheap[0]["co2_t"]))
    worker.start()
    for _ in range(600):
        if ahead.solved == n_ahead:
            break
        threading.Event().wait(0.1)
    ahead.halt()
    worker.join()
    assert ahead.solved == n_ahead
    front = pareto_front(p, obj, 4, "decomposed", rel_gap, None, None, masters[0], least_co2_t=raw.objective,
                         workers=2, masters=masters, cheap=cheap, ahead=ahead)
    return front, ahead


def _one_master_front(p):
    from siting.model.hourly.optimize import optimize_hourly

    return optimize_hourly(p, Objective(), rel_gap=1e-9, pareto_points=4, pareto_workers=1).tables["pareto"]


def test_points_solved_ahead_at_the_plans_final_caps_are_the_fronts_points():
    """Solved ahead at the caps of the plan's incumbent, which is the plan: the front takes all
    three capped points as they are, and they equal the front solved on one master."""
    p = random_hourly_problem(3, 2, 72, 1, max_sites=2, storage=True)
    front, ahead = _front_with_points_ahead(p)
    assert ahead.solved == ahead.claimed == 3
    assert (front["status"] == "optimal").all() and len(front) == 4
    reference = _one_master_front(p)
    for col in ("co2_cap_t", "co2_t", "cost_usd"):
        np.testing.assert_allclose(front[col].to_numpy(float), reference[col].to_numpy(float), rtol=1e-6)


def test_points_solved_ahead_at_a_worse_incumbents_caps_leave_the_front_exact():
    """Solved ahead at the caps of a worse incumbent (the least-cost plan, as if the plan had
    not found better yet): those caps are looser than the front's, none is taken as a point,
    and the front's points, which start from their bounds and plans, equal the reference."""
    p = random_hourly_problem(3, 2, 72, 1, max_sites=2, storage=True)

    def cheap_plan(masters):
        values = masters[1].plans[-1]  # the least-cost end's plan, the last one ended
        return values

    front, ahead = _front_with_points_ahead(p, cheap_plan)
    assert ahead.claimed == 0
    assert (front["status"] == "optimal").all()
    reference = _one_master_front(p)
    for col in ("co2_cap_t", "co2_t", "cost_usd"):
        np.testing.assert_allclose(front[col].to_numpy(float), reference[col].to_numpy(float), rtol=1e-6)


def test_a_master_busy_elsewhere_takes_tasks_once_its_future_is_done():
    from concurrent.futures import Future

    busy: Future = Future()
    taken: list = []
    both = threading.Barrier(2)  # A goes on only once B has taken a task

    def run(m, i):
        taken.append((m, i))
        if len(taken) == 3:
            busy.set_result(None)
            both.wait(timeout=60)
        elif m == "B" and [t for t, _ in taken].count("B") == 1:
            both.wait(timeout=60)
        return i

    assert run_on_masters([(i,) for i in range(8)], ["A", "B"], run, {1: busy}) == list(range(8))
    assert [m for m, _ in taken[:3]] == ["A"] * 3 and "B" in {m for m, _ in taken}
    failed: Future = Future()
    failed.set_exception(ValueError("solving ahead failed"))
    with pytest.raises(ValueError, match="solving ahead failed"):
        run_on_masters([(i,) for i in range(4)], ["A", "B"], lambda m, i: i, {1: failed})


@pytest.mark.parametrize("points", [2, 3])
def test_an_error_while_solving_ahead_reaches_the_caller(monkeypatch, points):
    """The second master's thread fails after the least-cost end: the error is raised, also
    with 2 points, where no front task waits for that master."""
    from siting.model.hourly.optimize import SolveAhead, optimize_hourly

    def fail(self, master, cheap_co2_t):
        raise ValueError("solving ahead failed")

    monkeypatch.setattr(SolveAhead, "work", fail)
    p = random_hourly_problem(3, 2, 72, 1, max_sites=2, storage=True)
    with pytest.raises(ValueError, match="solving ahead failed"):
        optimize_hourly(p, Objective(), rel_gap=1e-6, pareto_points=points, pareto_workers=2)
    left = [t for t in threading.enumerate() if t.name.startswith("pareto")]
    for t in left:  # its task is over; the idle pool thread exits on its own
        t.join(timeout=10)
    assert not [t for t in left if t.is_alive()]
