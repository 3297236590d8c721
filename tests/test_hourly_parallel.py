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
