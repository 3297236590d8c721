"""Each reduction of the compact model is on only where it is valid: the guards, tested on
inputs where switching the reduction on would change the optimum."""

import numpy as np
import pandas as pd
import pytest

from siting.model import ModelOptions, SolverOptions, build_problem, optimize
from siting.model.formulation import dominated_sites, formulate, workload_classes
from tests.test_model import sites_frame, workloads_frame

H = 8760.0
EXACT = SolverOptions(rel_gap=1e-9)


def _clean_and_dirty(monthly: bool):
    """Site a (10 g/kWh) dominates b (500 g/kWh) in every month; each has 1,000 GPUs. One
    January-only job needs 1,500 GPUs through January."""
    sites = sites_frame([("a", 1000.0, 1.0, 10.0, 0.0, 24.0, 0.0, np.nan),
                         ("b", 1000.0, 1.0, 500.0, 0.0, 24.0, 0.0, np.nan)])
    jan_gh = 1500.0 * 31 * 24
    wl = workloads_frame([("jan", jan_gh, True, 0.7)])
    wl["end_month"] = 1
    month_data = None
    if monthly:
        month_data = pd.DataFrame({"site_id": np.repeat(["a", "b"], 12),
                                   "month": np.tile(np.arange(1, 13), 2), "renewable_mwh": 0.0,
                                   "grid_ci_g_per_kwh": np.repeat([10.0, 500.0], 12)})
    return build_problem(sites, wl, monthly=month_data, horizon_hours=H)


def test_dominance_prunes_with_one_period_and_not_with_months():
    annual, monthly = _clean_and_dirty(False), _clean_and_dirty(True)
    # one period: a holds the whole year's demand, so b goes
    assert list(dominated_sites(annual, workload_classes(annual, True))) == [False, True]
    assert formulate(annual).n_pruned_sites == 1
    # months: a cannot run 1,500 GPUs in January; pruning b would make the plan infeasible
    assert not dominated_sites(monthly, workload_classes(monthly, True)).any()
    assert formulate(monthly).n_pruned_sites == 0
    share = optimize(monthly, solver=EXACT).assignments.set_index("site_id")["share"]
    assert share["b"] == pytest.approx(500 / 1500, rel=1e-6)


def test_no_reduction_drops_a_site_that_earns_a_credit():
    """A negative embodied_t (no validated table has one, the Python API does not stop it) is
    a credit for opening the site. The compact model used to leave y out ("no embodied
    emissions") or prune the site as dominated, and so lost the credit the plain model
    takes: both are now off for such a site."""
    sites = sites_frame([("a", 2_000_000 / H, 1.0, 10.0, 0.0, 24.0, 0.0, np.nan),
                         ("b", 2_000_000 / H, 1.0, 500.0, 0.0, 24.0, -5.0, np.nan)])
    p = build_problem(sites, workloads_frame([("job", 1e6, True, 1.0)]))
    assert formulate(p).n_pruned_sites == 0 and formulate(p).y_col is not None
    plain = optimize(p, solver=EXACT, options=ModelOptions(formulation="plain"))
    compact = optimize(p, solver=EXACT)
    expected = 1e6 / 1000 * 10 / 1000 - 5.0  # 1,000 MWh at a's 10 g/kWh, b opened for -5 t
    assert plain.summary["objective_t"] == pytest.approx(expected, rel=1e-9)
    assert compact.summary["objective_t"] == pytest.approx(expected, rel=1e-9)
    assert compact.summary["emissions_t"] == pytest.approx(expected, rel=1e-9)


def test_aggregation_keeps_different_profiles_apart():
    """Two splittable jobs with the same energy per GPU-hour but different months must stay
    two classes (merging them would smear their monthly loads)."""
    p = _clean_and_dirty(True)
    wl = pd.concat([p.workloads, p.workloads.assign(workload_id="jul", start_month=7, end_month=7)],
                   ignore_index=True)
    both = build_problem(p.sites, wl, monthly=pd.DataFrame({
        "site_id": np.repeat(["a", "b"], 12), "month": np.tile(np.arange(1, 13), 2),
        "renewable_mwh": 0.0, "grid_ci_g_per_kwh": np.repeat([10.0, 500.0], 12)}), horizon_hours=H)
    assert workload_classes(both, aggregate=True).n == 2
    same_months = build_problem(p.sites, wl.assign(start_month=1, end_month=1), horizon_hours=H)
    assert workload_classes(same_months, aggregate=True).n == 1


@pytest.mark.parametrize("update", [{"objective": "min_cost"}, {"objective": "cost_plus_carbon"},
                                    {"co2_cap_t": 100.0}, {"budget_usd": 1e6}, {"cfe_target": 0.9},
                                    {"pareto_points": 3}])
def test_annual_model_refuses_what_it_cannot_optimise(update):
    """The reductions are exact for least tCO2e only, the one objective of the annual and
    monthly model: a scenario asking for another objective, a cap or a target is refused
    instead of being silently minimised for tCO2e."""
    from siting.errors import SitingError
    from siting.model import load_scenario
    from siting.paths import REPO_ROOT

    sc = load_scenario(REPO_ROOT / "scenarios" / "example_llama.yaml").model_copy(update=update)
    with pytest.raises(SitingError, match="needs periods: hourly"):
        optimize(sc)


def test_cli_refuses_an_annual_scenario_with_another_objective(tmp_path, capsys):
    """The CLI reads the scenario's tables itself (problem_from_sites): the same refusal,
    one line, exit 2."""
    import yaml

    from siting.cli import main
    from siting.paths import REPO_ROOT

    sc = yaml.safe_load((REPO_ROOT / "scenarios" / "example_llama.yaml").read_text())
    sc.update(objective="min_cost", workloads=str(REPO_ROOT / "scenarios" / sc["workloads"]))
    path = tmp_path / "annual_min_cost.yaml"
    path.write_text(yaml.safe_dump(sc))
    code = main(["optimize", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "needs periods: hourly" in err[0]
    assert not (tmp_path / "out").exists()
