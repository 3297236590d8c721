"""Optimisation model: hand-checked optima, brute force, plain == compact, infeasibility."""

import json

import numpy as np
import pandas as pd
import pulp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siting.errors import InfeasibleError
from siting.model import ModelOptions, SolverOptions, build_problem, optimize
from siting.model.dive import STRATEGIES, dive, lp_relaxation
from siting.model.formulation import dual_feasible, formulate
from siting.model.pulp_model import to_pulp
from siting.model.testing import emissions_of, random_problem, violation
from tests.model_helpers import brute_force

H = 8760.0
# compare optima to 1e-6 relative: solve well below that gap so two solvers cannot drift apart
EXACT = SolverOptions(rel_gap=1e-9)


def sites_frame(rows):
    cols = ["site_id", "capacity_gpus", "pue", "grid_ci_g_per_kwh", "renewable_mwh_per_year",
            "renewable_ci_g_per_kwh", "embodied_t", "capacity_mw"]
    df = pd.DataFrame(rows, columns=cols)
    df["lat"], df["lon"] = 0.0, 0.0
    df["name"], df["country_iso3"], df["kind"] = df["site_id"], "", ""
    return df


def workloads_frame(rows):
    df = pd.DataFrame(rows, columns=["workload_id", "gpu_hours", "splittable", "gpu_power_kw"])
    df["overhead_share"], df["gpu"] = 0.0, ""
    df["start_month"], df["end_month"] = 1, 12
    df["energy_mwh"] = df["gpu_hours"] * df["gpu_power_kw"] / 1000
    return df


# Site A: clean grid (100 g/kWh), PUE 1.0, room for half the job.
# Site B: dirty grid (500), PUE 1.2, 1,000 MWh of hydro at 24 g/kWh, room for everything.
# One job: 1,000,000 GPU-hours at 1 kW = 1,000 MWh of IT energy.
TWO_SITES = [("A", 500_000 / H, 1.0, 100.0, 0.0, 24.0, 0.0, np.nan),
             ("B", 2_000_000 / H, 1.2, 500.0, 1000.0, 24.0, 0.0, np.nan)]


@pytest.mark.parametrize("formulation", ["compact", "plain"])
@pytest.mark.parametrize("splittable, expected_t", [
    # whole job at B: 1,200 MWh = 1,000 hydro (24 t) + 200 grid (100 t)
    (False, 124.0),
    # B's hydro covers 1,000 / 1.2 = 833.3 MWh of IT energy (24 t); the rest, 166.7 MWh,
    # runs at A on its grid (16.67 t): cheaper than filling A first
    (True, 24.0 + (1000 - 1000 / 1.2) * 100 / 1000),
])
def test_hand_checked_two_sites(formulation, splittable, expected_t):
    p = build_problem(sites_frame(TWO_SITES),
                      workloads_frame([("job", 1_000_000, splittable, 1.0)]))
    sol = optimize(p, options=ModelOptions(formulation=formulation))
    assert sol.summary["status"] == "optimal"
    assert sol.summary["objective_t"] == pytest.approx(expected_t, rel=1e-9)
    assert sol.summary["emissions_t"] == pytest.approx(expected_t, rel=1e-9)
    a = sol.assignments.set_index("site_id")
    if splittable:
        assert a.loc["A", "share"] == pytest.approx(1 / 6) and a.loc["B", "share"] == pytest.approx(5 / 6)
    else:
        assert list(a.index) == ["B"]
    b = sol.sites.set_index("site_id").loc["B"]
    assert b["renewable_mwh"] == pytest.approx(1000)


def test_embodied_and_max_sites_hand_checked():
    # two small clean sites or one big dirty one; opening costs 30 t per site
    sites = sites_frame([("S1", 600_000 / H, 1.0, 50.0, 0, 24, 30.0, np.nan),
                         ("S2", 600_000 / H, 1.0, 50.0, 0, 24, 30.0, np.nan),
                         ("BIG", 2_000_000 / H, 1.0, 100.0, 0, 24, 30.0, np.nan)])
    wl = workloads_frame([("w", 1_000_000, True, 1.0)])
    # S1+S2: 1,000 MWh x 50 g = 50 t + 60 t embodied = 110 t; BIG: 100 t + 30 t = 130 t
    assert optimize(build_problem(sites, wl)).summary["objective_t"] == pytest.approx(110.0)
    one = optimize(build_problem(sites, wl, max_sites=1))
    assert one.summary["objective_t"] == pytest.approx(130.0)
    assert one.sites.loc[one.sites["open"], "site_id"].tolist() == ["BIG"]


@pytest.mark.parametrize("seed", range(6))
def test_brute_force_splittable_eight_sites(seed):
    p = random_problem(8, 4, seed=seed, unsplittable_share=0.0, embodied=True,
                       max_sites=None if seed % 2 else 3, tightness=0.8)
    assert optimize(p, solver=EXACT).summary["objective_t"] == pytest.approx(brute_force(p), rel=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_brute_force_mixed_small(seed):
    p = random_problem(4, 4, n_periods=12 if seed % 2 else 1, seed=seed, unsplittable_share=0.5,
                       embodied=seed % 3 == 0, mw_caps=seed % 2 == 0, tightness=0.6)
    want = brute_force(p)
    got = optimize(p, solver=EXACT).summary["objective_t"]
    assert got == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("seed", range(8))
def test_plain_and_compact_agree(seed):
    p = random_problem(30, 10, n_periods=12 if seed % 2 else 1, seed=seed,
                       embodied=seed % 4 == 1, max_sites=5 if seed % 4 == 3 else None,
                       mw_caps=seed % 3 == 0)
    plain = optimize(p, solver=EXACT, options=ModelOptions(formulation="plain"))
    compact = optimize(p, solver=EXACT)
    assert compact.summary["objective_t"] == pytest.approx(plain.summary["objective_t"], rel=1e-6)
    assert compact.summary["n_variables"] <= plain.summary["n_variables"]


def test_identical_workloads_aggregated_exactly():
    base = random_problem(20, 3, seed=3, unsplittable_share=0.0)
    wl = base.workloads
    jobs = pd.concat([wl.iloc[[0]]] * 4 + [wl.iloc[[1]]] * 3, ignore_index=True)
    jobs["workload_id"] = [f"j{i}" for i in range(len(jobs))]
    jobs["splittable"] = [False] * 4 + [True] * 3
    roomy = base.sites.assign(capacity_gpus=base.sites["capacity_gpus"] * 4)
    p = build_problem(roomy, jobs)
    agg = optimize(p, solver=EXACT)
    flat = optimize(p, solver=EXACT, options=ModelOptions(aggregate=False))
    assert agg.summary["n_workload_classes"] == 2
    assert agg.summary["objective_t"] == pytest.approx(flat.summary["objective_t"], rel=1e-6)
    shares = agg.assignments.groupby("workload_id")["share"].sum()
    assert sorted(shares.index) == sorted(jobs["workload_id"]) and np.allclose(shares, 1.0)
    whole = agg.assignments[agg.assignments["workload_id"].isin(["j0", "j1", "j2", "j3"])]
    assert (whole["share"] == 1.0).all()


def test_pruning_keeps_the_optimum():
    base = random_problem(60, 8, seed=11, unsplittable_share=0.0, tightness=0.2)
    sites = base.sites.copy()
    # three large sites on a very clean grid dominate every site whose cheapest source
    # (with its PUE) is dirtier than their grid
    sites.loc[:2, "grid_ci_g_per_kwh"] = 5.0
    sites.loc[:2, "capacity_gpus"] = sites["capacity_gpus"].sum()
    p = build_problem(sites, base.workloads)
    pruned = optimize(p, solver=EXACT)
    full = optimize(p, solver=EXACT, options=ModelOptions(prune_sites=False))
    assert pruned.summary["n_sites_pruned"] > 0
    assert pruned.summary["objective_t"] == pytest.approx(full.summary["objective_t"], rel=1e-6)


# ----------------------------------------------------------------------------- infeasible
def test_infeasible_unsplittable_too_big():
    sites = sites_frame([("A", 2000, 1.1, 100, 0, 24, 0, np.nan)])  # 17,520,000 GPU-hours
    wl = workloads_frame([("W1", 30_840_000, False, 0.7)])
    with pytest.raises(InfeasibleError, match="workload W1 needs 30,840,000 GPU-hours, is "
                                              "unsplittable, and the largest site offers 17,520,000"):
        optimize(build_problem(sites, wl))


def test_infeasible_total_demand():
    sites = sites_frame([("A", 100, 1.1, 100, 0, 24, 0, np.nan), ("B", 100, 1.1, 100, 0, 24, 0, np.nan)])
    wl = workloads_frame([("W1", 2_000_000, True, 0.7)])
    with pytest.raises(InfeasibleError, match="exceeds total capacity 1,752,000 by 248,000 GPU-hours"):
        optimize(build_problem(sites, wl))


def test_infeasible_max_sites():
    sites = sites_frame([("A", 100, 1.1, 100, 0, 24, 0, np.nan), ("B", 100, 1.1, 100, 0, 24, 0, np.nan)])
    wl = workloads_frame([("W1", 1_000_000, True, 0.7)])
    with pytest.raises(InfeasibleError, match="max_sites=1 but no single site can hold everything"):
        optimize(build_problem(sites, wl, max_sites=1))


def test_infeasible_packing_found_by_solver():
    # three 60-unit jobs, two sites of 100: 180 <= 200 passes the cheap checks, but no packing
    unit = 10_000.0
    sites = sites_frame([("A", 100 * unit / H, 1.1, 100, 0, 24, 0, np.nan),
                         ("B", 100 * unit / H, 1.1, 100, 0, 24, 0, np.nan)])
    wl = workloads_frame([(f"J{i}", 60 * unit, False, 0.7) for i in range(3)])
    for formulation in ("compact", "plain"):
        with pytest.raises(InfeasibleError, match="cannot be packed"):
            optimize(build_problem(sites, wl), options=ModelOptions(formulation=formulation))


# ----------------------------------------------------------------------------- solvers
@pytest.mark.skipif("COIN_CMD" not in pulp.listSolvers(onlyAvailable=True)
                    and "PULP_CBC_CMD" not in pulp.listSolvers(onlyAvailable=True),
                    reason="CBC not installed")
@pytest.mark.parametrize("seed", range(3))
def test_highs_and_cbc_agree(seed):
    p = random_problem(12, 6, n_periods=12 if seed else 1, seed=seed, embodied=seed == 2)
    highs = optimize(p, solver=EXACT)
    cbc = optimize(p, solver=SolverOptions(name="cbc", rel_gap=1e-9))
    assert cbc.summary["solver"] == "cbc"
    assert cbc.summary["objective_t"] == pytest.approx(highs.summary["objective_t"], rel=1e-6)


def test_pulp_backend_matches_arrays():
    p = random_problem(15, 6, n_periods=12, seed=5, embodied=True, mw_caps=True)
    arrays = optimize(p, solver=EXACT)
    via_pulp = optimize(p, solver=EXACT, backend="pulp")
    assert via_pulp.summary["objective_t"] == pytest.approx(arrays.summary["objective_t"], rel=1e-6)


@pytest.mark.parametrize("formulation", ["plain", "compact"])
def test_pulp_problem_is_the_matrix_model(formulation):
    p = random_problem(15, 6, n_periods=12, seed=5, embodied=True, mw_caps=True, max_sites=4)
    mm = formulate(p, ModelOptions(formulation=formulation))
    prob, variables = to_pulp(mm)
    assert [v.name for v in variables] == mm.col_names
    assert [c.name for c in prob.constraints()] == mm.row_names
    assert np.array_equal([v.lowBound for v in variables], mm.lb)
    assert np.array_equal([v.upBound if v.upBound is not None else np.inf for v in variables], mm.ub)
    assert [v.cat == pulp.LpContinuous for v in variables] == (~mm.integer).tolist()
    col = {n: j for j, n in enumerate(mm.col_names)}
    row = {n: i for i, n in enumerate(mm.row_names)}
    A = np.zeros(mm.A.shape)
    for var, cons, coef in prob.toRustModel().coefficients():
        A[row[cons], col[var]] = coef
    assert np.array_equal(A, mm.A.toarray())
    rhs = np.array([-c.constant for c in prob.constraints()])
    assert np.array_equal(rhs, np.where(np.isfinite(mm.row_ub), mm.row_ub, mm.row_lb))


# ----------------------------------------------------------------------------- properties
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), n_sites=st.integers(2, 12), n_workloads=st.integers(1, 6),
       monthly=st.booleans(), embodied=st.booleans(), mw_caps=st.booleans())
def test_solution_properties(tmp_path_factory, seed, n_sites, n_workloads, monthly, embodied, mw_caps):
    p = random_problem(n_sites, n_workloads, n_periods=12 if monthly else 1, seed=seed,
                       embodied=embodied, mw_caps=mw_caps, tightness=0.4)
    try:
        sol = optimize(p)
    except InfeasibleError:
        return  # random MW caps can make an instance infeasible; explained, not a failure
    out = tmp_path_factory.mktemp("sol")
    sol.write(out)
    a = pd.read_csv(out / "assignments.csv")
    s = pd.read_csv(out / "sites.csv").set_index("site_id")
    summary = json.loads((out / "summary.json").read_text())
    # shares sum to one for every workload
    assert np.allclose(a.groupby("workload_id")["share"].sum().reindex(p.workloads["workload_id"]), 1.0)
    # no capacity exceeded
    sites = p.sites.set_index("site_id")
    used = a.groupby("site_id")["gpu_hours"].sum().reindex(sites.index, fill_value=0)
    assert (used <= sites["capacity_gpus"] * p.horizon_hours * (1 + 1e-7) + 1e-6).all()
    caps = sites["capacity_mw"] * p.horizon_hours
    energy = s["energy_mwh"].reindex(sites.index)
    assert (energy[caps.notna()] <= caps[caps.notna()] * (1 + 1e-7) + 1e-6).all()
    # emissions recomputed from the files equal the objective
    shares = (a.pivot_table(index="workload_id", columns="site_id", values="share", aggfunc="sum")
              .reindex(index=p.workloads["workload_id"], columns=sites.index).fillna(0).to_numpy())
    recomputed = emissions_of(p, shares, s["open"].reindex(sites.index).to_numpy(bool))
    assert recomputed == pytest.approx(summary["objective_t"], rel=1e-6, abs=1e-6)
    assert s["emissions_t"].sum() == pytest.approx(summary["objective_t"], rel=1e-6, abs=1e-6)
    assert a["emissions_t"].sum() + s["embodied_t"].sum() == pytest.approx(summary["objective_t"],
                                                                           rel=1e-6, abs=1e-6)


@given(sizes=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12), k=st.integers(1, 6))
def test_dual_feasible_function_keeps_packings_valid(sizes, k):
    w = np.array(sizes)
    u = dual_feasible(w, k)
    assert ((u >= 0) & (u <= 1)).all()
    if w.sum() <= 1.0:  # items that fit in one bin still fit after u_k
        assert u.sum() <= 1.0 + 1e-9
    # u_1 sends every item over half a bin to a whole bin, u_2 every item over 2/3
    assert dual_feasible(np.array([0.51]), 1)[0] == 1.0 and dual_feasible(np.array([0.7]), 2)[0] == 1.0
    assert dual_feasible(np.array([0.4]), 2)[0] == 0.5 and dual_feasible(np.array([0.3]), 1)[0] == 0.0
    assert dual_feasible(np.array([0.5]), 1)[0] == 0.0  # on a threshold: the safe side


@pytest.mark.parametrize("use", ["model", "start"])
@pytest.mark.parametrize("seed", range(4))
def test_packing_rows_keep_the_optimum(seed, use):
    # few, large unsplittable jobs against small sites: the rows exist and cut the LP
    p = random_problem(12, 8, n_periods=12 if seed % 2 else 1, seed=seed, unsplittable_share=0.8,
                       embodied=seed == 2, max_sites=6 if seed == 3 else None, mw_caps=seed % 2 == 0,
                       tightness=0.7)
    with_rows = ModelOptions(packing_rows=use)
    assert len(formulate(p, with_rows, packing_rows=True).row_index["packing"])
    plain = optimize(p, solver=EXACT, options=ModelOptions(formulation="plain"))
    packed = optimize(p, solver=EXACT, options=with_rows)
    assert packed.summary["objective_t"] == pytest.approx(plain.summary["objective_t"], rel=1e-6)


@pytest.mark.parametrize("tuning", ["on", "off"])
def test_start_tuning_keeps_the_optimum(tuning):
    p = random_problem(40, 12, n_periods=12, seed=5)
    plain = optimize(p, solver=EXACT, options=ModelOptions(formulation="plain"))
    tuned = optimize(p, solver=EXACT.model_copy(update={"start_tuning": tuning}))
    assert tuned.summary["objective_t"] == pytest.approx(plain.summary["objective_t"], rel=1e-6)


@pytest.mark.parametrize("seed", [1, 2])
def test_dives_give_feasible_plans_above_the_lp(seed):
    """A dive may fail (the start then falls back to greedy); every plan one returns keeps
    every row (capacity in every month included) and is no better than the LP, and at least
    one strategy returns a plan."""
    mm = formulate(random_problem(60, 15, n_periods=12, seed=seed), ModelOptions(packing_rows="model"))
    plans = 0
    for strategy in STRATEGIES:
        h = lp_relaxation(mm)
        lp = h.getInfo().objective_function_value
        values = dive(h, mm, strategy)
        if values is None:
            continue
        plans += 1
        assert violation(mm, values) < 1e-6, strategy
        assert float(mm.cost @ values) >= lp - 1e-6 * abs(lp), strategy
    assert plans >= 1


def test_monthly_capacity_holds_in_every_month():
    """Issue 10: a 1,000-GPU site used to be given 8M GPU-hours in January (capacity summed
    over the year). A January-only job of 1,500 GPUs must now be split across two sites."""
    import pandas as pd

    from siting.model import build_problem
    from siting.model.optimize import optimize

    sites = pd.DataFrame({"site_id": ["a", "b"], "lat": [0.0, 1.0], "lon": [0.0, 1.0],
                          "capacity_gpus": [1000.0, 1000.0], "pue": [1.0, 1.0],
                          "grid_ci_g_per_kwh": [10.0, 500.0], "renewable_mwh_per_year": [0.0, 0.0],
                          "capacity_mw": np.nan, "renewable_ci_g_per_kwh": 24.0, "embodied_t": 0.0,
                          "name": ["a", "b"], "country_iso3": "", "kind": ""})
    jan_hours = 31 * 24
    workloads = pd.DataFrame({"workload_id": ["jan"], "gpu_hours": [1500.0 * jan_hours], "splittable": [True],
                              "gpu": "", "gpu_power_kw": [0.7], "overhead_share": [0.0],
                              "start_month": [1], "end_month": [1]})
    workloads["energy_mwh"] = workloads["gpu_hours"] * 0.7 / 1000
    monthly = pd.DataFrame({"site_id": np.repeat(["a", "b"], 12), "month": np.tile(np.arange(1, 13), 2),
                            "renewable_mwh": 0.0, "grid_ci_g_per_kwh": np.repeat([10.0, 500.0], 12)})
    p = build_problem(sites, workloads, monthly=monthly, horizon_hours=8760)
    for formulation in ("plain", "compact"):
        sol = optimize(p, options=ModelOptions(formulation=formulation))
        share = sol.assignments.set_index("site_id")["share"]
        assert share["a"] == pytest.approx(1000 / 1500, rel=1e-6), formulation  # full, not all of it
        assert share["b"] == pytest.approx(500 / 1500, rel=1e-6), formulation
