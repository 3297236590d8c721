"""Marginal values come from the model layer, right after the solve; the report only reads
them (from a live solution or from one saved and loaded again), it never solves."""

import numpy as np
import pytest
from pandas.testing import assert_frame_equal

from siting.errors import SitingError
from siting.model import build_problem, optimize
from siting.model.marginals import MARGINAL_COLUMNS
from siting.report import build_report
from siting.report.store import load_solution, save_solution
from tests.test_model import TWO_SITES, sites_frame, workloads_frame

H = 8760.0


@pytest.fixture(scope="module")
def two_sites():
    # TWO_SITES, splittable: B's 1,000 MWh of hydro bind; A (100 g/kWh) has room to spare
    return optimize(build_problem(sites_frame(TWO_SITES), workloads_frame([("job", 1e6, True, 1.0)])))


def test_solution_carries_hand_checked_marginals(two_sites):
    m = two_sites.marginals
    assert tuple(m.columns) == MARGINAL_COLUMNS
    assert list(m["site_id"]) == ["A", "B"]  # the problem's site order
    m = m.set_index("site_id")
    # one more MWh of B's hydro moves 1/1.2 MWh of IT load off A's grid (0.100 t/MWh) onto
    # the hydro (1.2 x 0.024 t per IT MWh)
    assert m.loc["B", "t_saved_per_renewable_mwh"] == pytest.approx((0.1 - 1.2 * 0.024) / 1.2)
    assert m.loc["B", "binding"] == "renewables"
    assert m.loc["A", "t_saved_per_gpu"] == 0 and m.loc["A", "binding"] == ""


def test_report_reads_marginals_without_solving(two_sites, monkeypatch):
    import highspy

    def no_solver(*args, **kwargs):
        raise AssertionError("the report started a solver")

    monkeypatch.setattr(highspy, "Highs", no_solver)
    monkeypatch.setattr("siting.model.marginals.lp_duals", no_solver)
    rep = build_report(two_sites)
    got = rep.sites.set_index("site_id").loc[["A", "B"], list(MARGINAL_COLUMNS[1:])]
    assert_frame_equal(got, two_sites.marginals.set_index("site_id"), check_names=False)


def test_marginals_round_trip_through_the_store(two_sites, tmp_path):
    save_solution(two_sites, tmp_path)
    loaded = load_solution(tmp_path)
    assert loaded.model is None
    assert_frame_equal(loaded.marginals, two_sites.marginals)
    cols = ["site_id", *MARGINAL_COLUMNS[1:]]
    assert_frame_equal(build_report(loaded).sites[cols], build_report(two_sites).sites[cols])


def test_a_solution_without_marginals_cannot_be_reported():
    sol = optimize(build_problem(sites_frame(TWO_SITES), workloads_frame([("job", 1e6, True, 1.0)])),
                   marginals=False)
    assert sol.marginals is None
    with pytest.raises(SitingError, match="no marginal values"):
        build_report(sol)


def test_gpu_marginal_of_a_full_clean_site():
    # A: clean (10 g/kWh) but full; B: dirty (500 g/kWh). 1 kW GPUs, PUE 1: one GPU more at
    # A moves 8,760 GPU-hours from B, saving (500 - 10) g per GPU-hour
    sites = sites_frame([("A", 100_000 / H, 1.0, 10.0, 0, 24, 0, np.nan),
                         ("B", 2_000_000 / H, 1.0, 500.0, 0, 24, 0, np.nan)])
    m = optimize(build_problem(sites, workloads_frame([("job", 1e6, True, 1.0)]))).marginals
    m = m.set_index("site_id")
    assert m.loc["A", "t_saved_per_gpu"] == pytest.approx((500 - 10) / 1e6 * H)
    assert m.loc["A", "binding"] == "GPUs" and m.loc["B", "t_saved_per_gpu"] == 0
