"""Marginal values of the hourly plan (siting.model.hourly.marginals) against independent
references: finite differences of the optimum of the explicit LP built by
tests/hourly_reference.py (scipy, not siting's model code) with the same sites and whole-job
placements fixed, and the duals of siting's explicit formulation solved as an LP.

Convexity gives the finite-difference test its teeth: with the integer decisions fixed, the
optimum v(b) is convex in a right-hand side b, so for any step d > 0 a valid marginal value
(improvement per unit of relaxation) lies between (v(b) - v(b + d)) / d and
(v(b - d) - v(b)) / d, and equals both where v is linear across the step."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from siting.model.hourly.decompose import Decomposition
from siting.model.hourly.formulation import create_model
from siting.model.hourly.marginals import MARGINAL_COLUMNS, marginal_table, plan_marginals, solve_fixed_lp
from siting.model.hourly.optimize import optimize_hourly
from siting.model.hourly.problem import Objective
from siting.model.hourly.testing import random_hourly_problem
from tests.hourly_reference import reference_fixed_lp, reference_solve


def tight_problem(seed: int, splittable_share: float = 0.7):
    """A week, 3 sites, 4 workloads, each site too small for the busiest hour (so GPU capacity
    binds somewhere) and clean-energy potentials small enough to bind."""
    p = random_hourly_problem(3, 4, 168, seed, splittable_share=splittable_share)
    busy = (p.active * p.gpus_busy[:, None]).sum(axis=0).max()
    p.sites["capacity_gpus"] = np.round(busy * np.array([0.45, 0.5, 0.6]))
    return p


def with_capacity(p, s, d):
    q = copy.copy(p)
    q.sites = p.sites.copy()
    q.sites.loc[s, "capacity_gpus"] += d
    return q


def with_potential(p, s, k, d):
    q = copy.copy(p)
    q.potential_mw = p.potential_mw.copy()
    q.potential_mw[s, k] += d
    return q


def solved(p, obj):
    master = Decomposition(p, obj)
    raw = master.solve(rel_gap=1e-10)
    assert raw.status == "optimal"
    table, lp = plan_marginals(p, obj, master.m, raw.values, master)
    assert lp.status == "optimal"
    return master, raw, table, lp


def limits(obj):
    return dict(
        co2_cap_t=obj.co2_cap_t, budget_usd=obj.budget_usd, cfe_target=obj.cfe_target, cfe_scope=obj.cfe_scope
    )


def assert_bracketed(value, v0, v_more, v_less, step, scale=1.0):
    """``value`` (improvement per unit) between the one-sided finite differences, and equal to
    them when they agree (v linear across the step)."""
    right = (v0 - v_more) / step / scale  # relaxing by step
    left = (v_less - v0) / step / scale  # tightening by step (inf when infeasible)
    tol = 1e-6 * max(1.0, abs(right), abs(value))
    assert right - tol <= value <= left + tol, (value, right, left)
    if np.isfinite(left) and abs(left - right) <= tol:
        assert value == pytest.approx(right, rel=1e-6, abs=1e-9)
    return right, left


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", ["min_co2", "min_cost"])
def test_site_duals_against_finite_differences_of_independent_lp(seed, kind):
    p = tight_problem(seed)
    obj = Objective(kind)
    master, raw, table, lp = solved(p, obj)
    y, x = raw.values[master.m.cols["y"]], raw.values[master.m.cols["x"]]
    v0 = reference_fixed_lp(p, y, x, kind)
    assert lp.objective == pytest.approx(v0, rel=1e-8)
    assert list(table.columns) == MARGINAL_COLUMNS
    gpu = table[table["constraint"] == "gpu_capacity"]
    assert set(gpu["site_id"]) == set(p.sites["site_id"][np.round(y) > 0.5])  # open sites only
    assert (gpu["marginal_value"] > 0).any()  # capacity binds somewhere in these instances
    assert (gpu["binding"] == (gpu["binding_hours"] > 0)).all()
    assert (table["marginal_value"] >= -1e-9).all()
    ids = list(p.sites["site_id"])
    techs = list(p.technologies.index)
    for row in table.itertuples():
        s = ids.index(row.site_id)
        if row.constraint == "gpu_capacity":
            step = 5.0  # GPUs in every hour; the value is per GPU-hour
            vp = reference_fixed_lp(with_capacity(p, s, step), y, x, kind)
            vm = reference_fixed_lp(with_capacity(p, s, -step), y, x, kind)
            assert_bracketed(row.marginal_value, v0, vp, vm, step, scale=p.n_hours)
            assert row.unit == ("tCO2e" if kind == "min_co2" else "USD") + " per GPU-hour"
            if not row.binding:
                assert row.marginal_value == 0.0
        else:
            k = techs.index(row.technology)
            step = 0.01  # MW
            vp = reference_fixed_lp(with_potential(p, s, k, step), y, x, kind)
            vm = reference_fixed_lp(with_potential(p, s, k, -step), y, x, kind)
            assert_bracketed(row.marginal_value, v0, vp, vm, step)
            assert row.slack == pytest.approx(p.potential_mw[s, k] - raw.values[master.m.cols["P"][s, k]])


def test_potential_duals_bind_and_are_positive_under_min_co2():
    """Seed 1 holds wind at s0 and geothermal at s2 at their potentials: more MW saves tonnes."""
    p = tight_problem(1)
    _, _, table, _ = solved(p, Objective("min_co2"))
    pot = table[table["constraint"] == "technology_potential"].set_index(["site_id", "technology"])
    assert pot.loc[("s0", "wind_onshore"), "binding"]
    assert pot.loc[("s0", "wind_onshore"), "marginal_value"] > 1.0  # t per MW
    assert pot.loc[("s2", "geothermal"), "marginal_value"] > 1.0
    assert (pot.loc[~pot["binding"], "marginal_value"] == 0).all()


def _cases(p):
    free, clean = reference_solve(p, "min_cost"), reference_solve(p, "min_co2")
    return {
        "co2_cap": Objective("min_cost", co2_cap_t=0.5 * (free["co2_t"] + clean["co2_t"])),
        "budget": Objective("min_co2", budget_usd=0.5 * (free["cost_usd"] + clean["cost_usd"])),
        "cfe_target": Objective("min_cost", cfe_target=0.6),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("limit", ["co2_cap", "budget", "cfe_target"])
def test_limit_duals_against_finite_differences_of_independent_lp(seed, limit):
    p = tight_problem(seed)
    obj = _cases(p)[limit]
    master, raw, table, lp = solved(p, obj)
    y, x = raw.values[master.m.cols["y"]], raw.values[master.m.cols["x"]]
    lim = limits(obj)
    v0 = reference_fixed_lp(p, y, x, obj.kind, **lim)
    row = table[table["constraint"] == limit].iloc[0]
    if limit == "cfe_target":  # a coefficient, not a right-hand side: central difference
        step = 1e-4
        vp = reference_fixed_lp(p, y, x, obj.kind, **{**lim, "cfe_target": obj.cfe_target + step})
        vm = reference_fixed_lp(p, y, x, obj.kind, **{**lim, "cfe_target": obj.cfe_target - step})
        assert row.marginal_value == pytest.approx((vp - vm) / (2 * step) / 100, rel=1e-4)
        assert row.unit == "USD per percentage point"
        assert row.marginal_value > 0  # the target binds in these instances
        return
    key = "co2_cap_t" if limit == "co2_cap" else "budget_usd"
    step = 1e-3 * lim[key]
    vp = reference_fixed_lp(p, y, x, obj.kind, **{**lim, key: lim[key] + step})
    vm = reference_fixed_lp(p, y, x, obj.kind, **{**lim, key: lim[key] - step})
    assert_bracketed(row.marginal_value, v0, vp, vm, step)
    assert row.unit == {"co2_cap": "USD per tCO2e", "budget": "tCO2e per USD"}[limit]


def test_marginal_abatement_cost_known_value():
    """Seed 0, cap halfway between least cost and least CO2: 172.71 USD/t (also the finite
    difference of the independent LP, see the test above)."""
    p = tight_problem(0)
    _, _, table, _ = solved(p, _cases(p)["co2_cap"])
    row = table[table["constraint"] == "co2_cap"].iloc[0]
    assert row.binding and abs(row.slack) < 1e-6
    assert row.marginal_value == pytest.approx(172.714, rel=1e-5)


@pytest.mark.parametrize("seed", [0, 2])
@pytest.mark.parametrize("kind,kw", [("min_co2", {}), ("min_cost", {"cfe_target": 0.6})])
def test_decomposed_duals_equal_explicit_lp_duals(seed, kind, kw):
    """The cut model's duals against those of the explicit hourly LP (siting's explicit
    formulation, hour-by-hour columns) with the same integer decisions fixed."""
    p = tight_problem(seed)
    obj = Objective(kind, **kw)
    master, raw, table, _ = solved(p, obj)
    m = create_model(p, obj, "explicit")
    values = np.concatenate([raw.values, np.zeros(m.n_cols - len(raw.values))])  # same leading columns
    explicit, lp = plan_marginals(p, obj, m, values)
    assert lp.status == "optimal"
    assert explicit[["constraint", "site_id", "technology"]].equals(table[["constraint", "site_id", "technology"]])
    np.testing.assert_allclose(explicit["marginal_value"], table["marginal_value"], rtol=1e-6, atol=1e-9)


def test_fixed_lp_adds_the_cuts_it_needs():
    """A fresh master has only the initial cuts: the fixed LP must cut until the credits are
    exact, and then give the explicit optimum and duals."""
    p = tight_problem(1)
    obj = Objective("min_co2")
    _, raw, table, lp = solved(p, obj)
    fresh = Decomposition(p, obj)
    table2, lp2 = plan_marginals(p, obj, fresh.m, raw.values, fresh)
    assert lp2.rounds > 1 and lp2.n_cuts > 0
    assert lp2.objective == pytest.approx(lp.objective, rel=1e-7)
    np.testing.assert_allclose(table2["marginal_value"], table["marginal_value"], rtol=1e-5, atol=1e-9)
    # without cuts the relaxation overstates the credits: a lower optimum (the check has teeth)
    none = solve_fixed_lp(Decomposition(p, obj).h, fresh.m, raw.values)
    assert none.objective < lp.objective - 1e-3


def test_site_with_only_fixed_workloads_reports_zero():
    """Every workload unsplittable: the GPU rows hold only fixed columns; relaxing them
    changes nothing, so the value is 0 (an LP may report any dual >= 0 there)."""
    p = random_hourly_problem(3, 3, 168, 4, splittable_share=0.0)
    busy = (p.active * p.gpus_busy[:, None]).max(axis=1)
    p.sites["capacity_gpus"] = float(busy.max())  # the biggest job fills a site exactly
    obj = Objective("min_co2")
    master, raw, table, lp = solved(p, obj)
    gpu = table[table["constraint"] == "gpu_capacity"]
    assert gpu["binding"].any()
    assert (gpu["marginal_value"] == 0).all()
    # whatever dual an LP puts on those rows (any value >= 0 is optimal there), the value is 0
    forged = copy.copy(lp)
    forged.row_dual = lp.row_dual.copy()
    forged.row_dual[master.m.rows["gpu_capacity"]] = -5.0
    again = marginal_table(p, obj, master.m, forged, raw.values)
    assert (again.loc[again["constraint"] == "gpu_capacity", "marginal_value"] == 0).all()
    forged.row_dual[master.m.rows["procure_le_y"]] -= 1.0  # free columns there: it shows
    again = marginal_table(p, obj, master.m, forged, raw.values)
    pot = again["constraint"] == "technology_potential"
    np.testing.assert_allclose(again.loc[pot, "marginal_value"], table.loc[pot, "marginal_value"] + 1.0)
    y, x = raw.values[master.m.cols["y"]], raw.values[master.m.cols["x"]]
    s = list(p.sites["site_id"]).index(gpu.loc[gpu["binding"], "site_id"].iloc[0])
    v0 = reference_fixed_lp(p, y, x, "min_co2")
    assert reference_fixed_lp(with_capacity(p, s, 10.0), y, x, "min_co2") == pytest.approx(v0, rel=1e-9)


def test_solution_carries_and_writes_marginal_values(tmp_path):
    p = tight_problem(0)
    sol = optimize_hourly(p, Objective("min_co2"), rel_gap=1e-9)
    table = sol.tables["marginal_values"]
    assert sol.summary["marginals_status"] == "optimal"
    assert sol.summary["marginals_lp_objective"] == pytest.approx(sol.summary["objective"], rel=1e-6)
    sol.write(tmp_path)
    written = pd.read_csv(tmp_path / "marginal_values.csv", keep_default_na=False)
    assert list(written.columns) == MARGINAL_COLUMNS
    assert set(written["unit"]) <= {"tCO2e per GPU-hour", "tCO2e per MW"}
    # the report-side per-site table (annual columns): tonnes per GPU over the horizon
    site = sol.tables["marginals"].set_index("site_id")
    gpu = table[table["constraint"] == "gpu_capacity"].set_index("site_id")
    for sid, r in gpu.iterrows():
        assert site.loc[sid, "t_saved_per_gpu"] == pytest.approx(r["marginal_value"] * p.n_hours)
        assert ("GPUs" in site.loc[sid, "binding"]) == bool(r["binding"])


def test_min_cost_plan_reports_usd_and_no_tonnes():
    p = tight_problem(0)
    sol = optimize_hourly(p, Objective("min_cost"), rel_gap=1e-9)
    units = set(sol.tables["marginal_values"]["unit"])
    assert units <= {"USD per GPU-hour", "USD per MW"}
    assert sol.tables["marginals"][["t_saved_per_gpu", "t_saved_per_mw"]].isna().all(axis=None)


def test_pareto_front_carries_marginal_abatement_cost():
    """Each capped point's MAC against the finite difference of the independent LP with that
    point's sites and placements (from a solve at the same cap)."""
    p = tight_problem(0)
    sol = optimize_hourly(p, Objective("min_co2"), rel_gap=1e-9, pareto_points=4)
    front = sol.tables["pareto"]
    assert "marginal_abatement_cost_usd_per_t" in front
    cheap = front[front["point"] == "least cost"].iloc[0]
    assert pd.isna(cheap["marginal_abatement_cost_usd_per_t"])
    capped = front[front["co2_cap_t"].notna()]
    assert (capped["marginal_abatement_cost_usd_per_t"] > 0).all()  # every cap binds here
    assert capped["co2_cap_binding"].all()
    # tighter caps cost more per tonne (on this instance)
    assert capped["marginal_abatement_cost_usd_per_t"].is_monotonic_decreasing
    point = capped[capped["point"] == "eps 1"].iloc[0]
    cap = float(point["co2_cap_t"])
    one = optimize_hourly(p, Objective("min_cost", co2_cap_t=cap), rel_gap=1e-9)
    row = one.tables["marginal_values"].query("constraint == 'co2_cap'").iloc[0]
    assert point["marginal_abatement_cost_usd_per_t"] == pytest.approx(row["marginal_value"], rel=1e-6)
    assert bool(point["co2_cap_binding"]) == bool(row["binding"])
    open_ = p.sites["site_id"].isin(one.sites.loc[one.sites["open"], "site_id"]).to_numpy().astype(float)
    shares = np.zeros((p.n_workloads, p.n_sites))
    a = one.assignments
    shares[
        a["workload_id"].map({w: i for i, w in enumerate(p.workloads["workload_id"])}),
        a["site_id"].map({s: i for i, s in enumerate(p.sites["site_id"])}),
    ] = a["share"]
    step = 1e-3 * cap
    v0 = reference_fixed_lp(p, open_, shares, "min_cost", co2_cap_t=cap)
    vp = reference_fixed_lp(p, open_, shares, "min_cost", co2_cap_t=cap + step)
    vm = reference_fixed_lp(p, open_, shares, "min_cost", co2_cap_t=cap - step)
    assert_bracketed(float(point["marginal_abatement_cost_usd_per_t"]), v0, vp, vm, step)


def test_report_shows_marginal_values_from_the_solution_without_solving(tmp_path, monkeypatch):
    from siting.model.hourly import marginals
    from siting.report.analysis import build_report
    from siting.report.render import to_html, to_markdown, write_report
    from siting.report.store import load_solution

    p = tight_problem(0)
    p.sites["lat"], p.sites["lon"], p.sites["country_iso3"] = [10.0, 20.0, 30.0], [0.0, 5.0, 10.0], "USA"
    cap = 0.5 * (reference_solve(p, "min_cost")["co2_t"] + reference_solve(p, "min_co2")["co2_t"])
    sol = optimize_hourly(p, Objective("min_cost", co2_cap_t=cap), rel_gap=1e-9, pareto_points=3)
    mac = sol.tables["marginal_values"].query("constraint == 'co2_cap'")["marginal_value"].iloc[0]
    write_report(build_report(sol), sol, tmp_path)

    def no_solving(*args, **kwargs):
        raise AssertionError("the report re-solved")

    monkeypatch.setattr(marginals, "solve_fixed_lp", no_solving)
    loaded = load_solution(tmp_path)
    r = build_report(loaded)
    md, page = to_markdown(r), to_html(r)
    assert "## Marginal values (hourly plan)" in md and 'id="hourly-marginals"' in page
    assert f"| co2_cap |  |  | {mac:,.2f} | USD per tCO2e |" in md
    assert 'id="pareto-marginals"' in page and "Marginal abatement cost (USD/tCO2e)" in md
    written = pd.read_csv(tmp_path / "marginal_values.csv", keep_default_na=False)
    assert written.query("constraint == 'co2_cap'")["marginal_value"].iloc[0] == pytest.approx(mac)
    front = pd.read_csv(tmp_path / "pareto.csv")
    assert front["marginal_abatement_cost_usd_per_t"].notna().sum() == 2  # the two capped points


def test_report_note_when_nothing_binds_in_an_hourly_plan():
    """An hourly plan with spare room everywhere: the note says so, without the annual
    model's count of tied candidate sites (which reads one renewable CI per site)."""
    from siting.report.analysis import build_report

    p = random_hourly_problem(3, 2, 168, 0)
    p.potential_mw[:] = 1e4
    p.sites["lat"], p.sites["lon"], p.sites["country_iso3"] = [10.0, 20.0, 30.0], [0.0, 5.0, 10.0], "USA"
    p.sites["renewable_ci_g_per_kwh"] = 11.0
    sol = optimize_hourly(p, Objective("min_co2"), rel_gap=1e-9)
    assert not sol.tables["marginal_values"]["binding"].any()
    note = build_report(sol).marginal_note
    assert note.startswith("No constraint binds") and "tie" not in note


@pytest.mark.parametrize(
    "kind,kw",
    [("min_co2", {}), ("cost_plus_carbon", {"carbon_price_usd_per_t": 2000.0}),
     ("min_co2", {"cfe_target": 0.5, "cfe_scope": "site"})],
)
def test_decomposed_duals_with_storage_equal_explicit_lp_duals(kind, kw):
    """With batteries the fixed LP's cuts come from the sites' dispatch LPs: its optimum and
    duals equal those of the explicit hourly LP (hour-by-hour columns and battery rows)."""
    p = random_hourly_problem(3, 4, 96, 3, storage=True, splittable_share=0.7)
    busy = (p.active * p.gpus_busy[:, None]).sum(axis=0).max()
    p.sites["capacity_gpus"] = np.round(busy * np.array([0.45, 0.5, 0.6]))
    obj = Objective(kind, **kw)
    master, raw, table, lp = solved(p, obj)
    assert raw.dispatch  # a battery is in use in the plan
    m = create_model(p, obj, "explicit")
    values = np.concatenate([raw.values, np.zeros(m.n_cols - len(raw.values))])
    explicit, lp_ex = plan_marginals(p, obj, m, values)
    assert lp_ex.status == "optimal"
    assert lp.objective == pytest.approx(lp_ex.objective, rel=1e-7)
    np.testing.assert_allclose(explicit["marginal_value"], table["marginal_value"], rtol=1e-6, atol=1e-9)
