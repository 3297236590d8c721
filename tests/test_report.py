"""Report: marginal values hand-checked, baselines, files, and the page in a real browser."""

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from siting.assumptions import assumption
from siting.intensity import country_intensity
from siting.model import build_problem, load_scenario, optimize
from siting.paths import REPO_ROOT
from siting.report import build_report, write_report
from siting.report.evaluate import evaluate_sites
from tests import browser
from tests.test_model import TWO_SITES, sites_frame, workloads_frame

H = 8760.0


@pytest.fixture(scope="module")
def example():
    sol = optimize(load_scenario(REPO_ROOT / "scenarios" / "example_llama.yaml"))
    return sol, build_report(sol)


def test_marginal_value_of_renewables_hand_checked():
    # TWO_SITES, splittable: B's 1,000 MWh of hydro bind. One more MWh moves 1/1.2 MWh of IT
    # load from A's grid (0.100 t/MWh) onto B's hydro (1.2 x 0.024 t per IT MWh).
    sol = optimize(build_problem(sites_frame(TWO_SITES), workloads_frame([("job", 1e6, True, 1.0)])))
    m = build_report(sol).sites.set_index("site_id")
    assert m.loc["B", "t_saved_per_renewable_mwh"] == pytest.approx((0.1 - 1.2 * 0.024) / 1.2)
    assert "renewables" in m.loc["B", "binding"]
    assert m.loc["A", "t_saved_per_gpu"] == 0 and m.loc["A", "binding"] == ""


def test_marginal_value_of_gpus_and_mw_hand_checked():
    # A: clean (10 g/kWh) but full; B: dirty (500 g/kWh). 1 kW GPUs, PUE 1.
    sites = sites_frame([("A", 100_000 / H, 1.0, 10.0, 0, 24, 0, np.nan),
                         ("B", 2_000_000 / H, 1.0, 500.0, 0, 24, 0, np.nan)])
    sol = optimize(build_problem(sites, workloads_frame([("job", 1e6, True, 1.0)])))
    m = build_report(sol).sites.set_index("site_id")
    per_gpu_hour = (500 - 10) / 1e6  # t per GPU-hour moved from B to A
    assert m.loc["A", "t_saved_per_gpu"] == pytest.approx(per_gpu_hour * H)
    assert m.loc["A", "t_saved_per_mw"] == pytest.approx(per_gpu_hour * H * 1000)  # 1,000 GPUs/MW
    assert m.loc["A", "binding"] == "GPUs"
    assert m.loc["B", "t_saved_per_gpu"] == 0


def test_baselines(example):
    sol, rep = example
    usa = rep.baselines.iloc[0]
    ci, _ = country_intensity("USA")
    energy = sol.problem.workloads["energy_mwh"].sum() * assumption("pue_default")
    assert usa["emissions_t"] == pytest.approx(energy * ci / 1000)
    card = rep.baselines.iloc[1]
    assert card["emissions_t"] == 11390
    assert card["optimised_t"] < card["emissions_t"]
    assert rep.totals["emissions_t"] == pytest.approx(sol.summary["objective_t"], rel=1e-9)
    assert list(rep.ranked["rank"]) == list(range(1, len(rep.ranked) + 1))
    assert rep.ranked["effective_ci_g_per_kwh"].is_monotonic_increasing


def test_report_files(example, tmp_path):
    sol, rep = example
    write_report(rep, sol, tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"assignments.csv", "sites.csv", "summary.json", "ranked.csv", "baselines.csv",
            "marginals.csv", "report.md", "report.html", "sites.geojson"} <= names
    assert not [n for n in names if n.endswith(".part")]
    md = (tmp_path / "report.md").read_text()
    for heading in ("## Ranked placements", "## Baselines", "## What binds", "## Assumptions",
                    "## Data sources and licences"):
        assert heading in md
    geo = gpd.read_file(tmp_path / "sites.geojson")
    assert geo.crs.to_epsg() == 4326 and len(geo) == len(sol.sites)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["totals"]["emissions_t"] == pytest.approx(sol.summary["emissions_t"])
    page = (tmp_path / "report.html").read_text()
    assert "<script src=" not in page and "<link rel" not in page  # self-contained


@pytest.mark.skipif(not browser.available(), reason="chromium/chromedriver not installed (make setup)")
def test_report_page_in_headless_chromium(example, tmp_path):
    sol, rep = example
    write_report(rep, sol, tmp_path)
    with browser.chromium() as driver:
        driver.get((tmp_path / "report.html").as_uri())
        driver.implicitly_wait(5)
        assert driver.find_elements("css selector", ".leaflet-container")
        markers = driver.find_elements("css selector", "path.leaflet-interactive")
        assert len(markers) >= len(sol.sites)  # every candidate drawn (plus country outlines)
        rows = driver.find_elements("css selector", "#ranked tbody tr")
        assert len(rows) == int(sol.sites["open"].sum())
        assert driver.find_element("css selector", "#chart-baseline").get_attribute("naturalWidth") != "0"
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        shot = tmp_path / "report.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_evaluate_ranks_by_emissions():
    sites = sites_frame([("dirty", 1000, 1.1, 600.0, 0, 24, 0, np.nan),
                         ("hydro", 1000, 1.2, 300.0, 1e9, 24, 0, np.nan),
                         ("clean", 1000, 1.1, 20.0, 0, 24, 0, np.nan),
                         ("tiny", 1, 1.0, 20.0, 0, 24, 0, np.nan)])
    wl = workloads_frame([("w", 1e6, False, 1.0)])  # 1,000 MWh of IT energy
    # location-based by default: the existing hydro nearby is shown, not credited
    ev = evaluate_sites(sites, wl, grid_at_site=False).set_index("site_id")
    assert ev.loc["hydro", "emissions_t"] == pytest.approx(1200 * 300 / 1000)
    assert ev.loc["hydro", "existing_nonadditional_mwh"] == pytest.approx(1e9)
    assert ev.loc["hydro", "renewable_mwh"] == 0
    # the old annual credit only when asked for, and labelled
    ev = evaluate_sites(sites, wl, grid_at_site=False, existing_renewables=True).set_index("site_id")
    assert "non-additional" in ev.loc["hydro", "accounting_basis"]
    assert ev.loc["clean", "emissions_t"] == pytest.approx(1100 * 20 / 1000)
    assert ev.loc["hydro", "emissions_t"] == pytest.approx(1200 * 24 / 1000)
    assert ev.loc["dirty", "emissions_t"] == pytest.approx(1100 * 600 / 1000)
    assert list(ev.sort_values("rank").index) == ["tiny", "clean", "hydro", "dirty"]
    assert not ev.loc["tiny", "fits"] and ev.loc["clean", "fits"]
    assert isinstance(ev, pd.DataFrame)
