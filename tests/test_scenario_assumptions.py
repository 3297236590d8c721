"""Issue 12, item 1: a scenario carries its assumptions. Overriding ``pue_default`` in one
scenario changes that run and no other in the same process."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import siting
from siting.assumptions import default_assumptions

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "example_llama.yaml"
TABLE_PUE = 1.10  # siting/resources/assumptions.csv, pue_default (Google fleet 2023)
OVERRIDE_PUE = 1.5


def test_overrides_stay_with_their_scenario():
    base = siting.load_scenario(SCENARIO)
    high = base.model_copy(update={"assumptions": {"pue_default": OVERRIDE_PUE}})
    assert high.resolved_assumptions()["pue_default"] == OVERRIDE_PUE
    assert base.resolved_assumptions()["pue_default"] == TABLE_PUE
    assert default_assumptions()["pue_default"] == TABLE_PUE
    assert high.resolved_assumptions().overridden == frozenset({"pue_default"})
    # a scenario loaded after the override still sees the table
    assert siting.load_scenario(SCENARIO).resolved_assumptions()["pue_default"] == TABLE_PUE


def test_pue_default_override_changes_that_run_and_no_other(tmp_path):
    # sites that give no PUE: the scenario's pue_default applies to them
    sites = pd.read_csv(REPO / "data" / "regions" / "sites.csv")
    assert "pue" not in sites  # the embedded sites give no PUE of their own
    sites.to_csv(tmp_path / "sites_no_pue.csv", index=False)
    base = siting.load_scenario(SCENARIO).model_copy(
        update={"sites": str(tmp_path / "sites_no_pue.csv")})
    high = base.model_copy(update={"assumptions": {"pue_default": OVERRIDE_PUE}})

    before = siting.optimize(base)
    overridden = siting.optimize(high)
    after = siting.optimize(base)
    # facility energy = IT energy x PUE: the override scales it by 1.5 / 1.1
    assert overridden.summary["energy_mwh"] == pytest.approx(
        before.summary["energy_mwh"] * OVERRIDE_PUE / TABLE_PUE, rel=1e-9)
    assert overridden.summary["emissions_t"] > before.summary["emissions_t"]
    # ... and leaves the runs before and after it alone
    assert after.summary["energy_mwh"] == before.summary["energy_mwh"]
    assert after.summary["emissions_t"] == pytest.approx(before.summary["emissions_t"], rel=1e-9)
    # ... and moves the default sites, which give no PUE of their own
    default_sites = siting.optimize(siting.load_scenario(SCENARIO).model_copy(
        update={"assumptions": {"pue_default": OVERRIDE_PUE}}))
    assert default_sites.summary["energy_mwh"] == pytest.approx(overridden.summary["energy_mwh"], rel=1e-9)
    # sites that state their PUE keep it whatever pue_default says
    sites["pue"] = 1.2
    sites.to_csv(tmp_path / "sites_pue.csv", index=False)
    stated = base.model_copy(update={"sites": str(tmp_path / "sites_pue.csv")})
    a = siting.optimize(stated)
    b = siting.optimize(stated.model_copy(update={"assumptions": {"pue_default": OVERRIDE_PUE}}))
    assert b.summary["energy_mwh"] == pytest.approx(a.summary["energy_mwh"], rel=1e-12)
    assert a.summary["energy_mwh"] == pytest.approx(before.summary["energy_mwh"] * 1.2 / TABLE_PUE, rel=1e-9)


def test_llama31_card_rows_add_up_to_the_card_totals():
    from siting.report.analysis import llama31_card

    a = default_assumptions()
    card = llama31_card(a)
    assert [c[0] for c in card] == ["llama31_405b", "llama31_70b", "llama31_8b"]
    # Meta's card: 39.3M GPU-hours and 11,390 tCO2e location-based over the three runs
    assert sum(c[1] for c in card) == pytest.approx(a["llama31_gpu_hours"]) == pytest.approx(39.3e6)
    assert sum(c[2] for c in card) == pytest.approx(a["llama31_location_based_t"]) == 11390


def test_default_cluster_fuels_come_from_the_table():
    from siting.assumptions import RENEWABLE_FUELS

    a = default_assumptions()
    assert [f for f in RENEWABLE_FUELS if a[f"site_cluster_fuel_{f}"]] == ["hydro", "wind", "geothermal"]
    b = a.with_overrides({"site_cluster_fuel_solar": 1})
    assert [f for f in RENEWABLE_FUELS if b[f"site_cluster_fuel_{f}"]] == list(RENEWABLE_FUELS)
