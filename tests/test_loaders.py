"""Loaders on the real datasets in ../shared/datasets: published figures reproduced."""

import pandas as pd
import pytest

from siting.assumptions import default_assumptions
from siting.data import loaders
from siting.units import HOURS_PER_YEAR

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def plants(fetch_kwargs):
    return loaders.load_plants(**fetch_kwargs)


def test_gppd_counts_and_capacity(plants):
    assert len(plants) == 34936
    assert plants.crs.to_epsg() == 4326
    assert plants.geometry.is_valid.all()
    gw = plants.groupby("fuel")["capacity_mw"].sum() / 1000
    assert gw["hydro"] == pytest.approx(1053, rel=0.005)
    assert gw["wind"] == pytest.approx(263, rel=0.005)
    assert gw["geothermal"] == pytest.approx(12.7, rel=0.005)
    assert list(plants.columns) == loaders.PLANT_COLUMNS


def test_gppd_matches_official_country_summary(fetch_kwargs, plants):
    from siting.data.download import fetch_file

    summary = pd.read_csv(fetch_file("gppd-v1.3", "global_power_plant_database_country_summary.csv",
                                     **fetch_kwargs))
    assert plants["capacity_mw"].sum() / 1000 == pytest.approx(summary["total_capacity_gw"].sum(),
                                                               rel=1e-6)


@pytest.mark.parametrize("fuel", ["hydro", "wind", "geothermal", "solar", "nuclear"])
def test_capacity_factor_assumptions_match_gppd_2017(fuel, fetch_kwargs):
    """The assumptions table cites GPPD's implied 2017 fleet capacity factors: recompute them."""
    from siting.data.download import fetch_file

    raw = pd.read_csv(fetch_file("gppd-v1.3", "global_power_plants.csv", **fetch_kwargs))
    sel = raw[raw["primary_fuel"].str.lower() == fuel]
    implied = sel["estimated_generation_gwh_2017"].sum() * 1000 / (
        sel["capacity_mw"].sum() * HOURS_PER_YEAR)
    assert implied == pytest.approx(default_assumptions()[f"capacity_factor_{fuel}"], abs=0.006)


def test_generation_filled_for_every_plant(plants):
    assert plants["generation_mwh_per_year"].notna().all()
    assert (plants["generation_mwh_per_year"] >= 0).all()


def test_owid_norway_and_poland(fetch_kwargs):
    ci = loaders.load_grid_intensity(**fetch_kwargs).set_index(["country_iso3", "year"])
    assert ci.loc[("NOR", 2024), "ci_g_per_kwh"] == pytest.approx(30.7, abs=0.1)
    assert ci.loc[("POL", 2024), "ci_g_per_kwh"] == pytest.approx(615.0, abs=0.1)
    assert ci.loc[("WLD", 2024), "ci_g_per_kwh"] == pytest.approx(473.0, abs=0.1)


@pytest.mark.parametrize("resolution, count", [("110m", 177), ("50m", 242)])
def test_boundaries_fix_minus_99(resolution, count, fetch_kwargs):
    b = loaders.load_boundaries(resolution=resolution, **fetch_kwargs)
    assert len(b) == count and b.crs.to_epsg() == 4326
    assert b.geometry.is_valid.all()
    assert not (b["country_iso3"] == "-99").any()
    assert {"NOR", "FRA"} <= set(b["country_iso3"])


def test_hourly_dayfirst_file(fetch_kwargs):
    gb = loaders.load_hourly_intensity(zone="GB", year=2023, **fetch_kwargs)
    assert len(gb) == 8760
    assert gb["timestamp_utc"].iloc[0] == pd.Timestamp("2023-01-01 00:00", tz="UTC")
    assert gb["timestamp_utc"].iloc[-1] == pd.Timestamp("2023-12-31 23:00", tz="UTC")
    assert gb["ci_g_per_kwh"].mean() == pytest.approx(136, abs=1)
    monthly = loaders.monthly_mean(gb)
    assert list(monthly["month"]) == list(range(1, 13))


def test_hourly_iso_file_and_monthly_range(fetch_kwargs):
    fi = loaders.load_hourly_intensity(zone="FI", year=2022, **fetch_kwargs)
    assert fi["ci_g_per_kwh"].mean() == pytest.approx(103, abs=1)
    monthly = loaders.monthly_mean(fi).set_index("month")["ci_g_per_kwh"]
    hours = fi["timestamp_utc"].dt.month.value_counts().sort_index()
    # hour-weighted monthly means give back the annual mean; Finnish summers are cleanest
    assert (monthly * hours).sum() / hours.sum() == pytest.approx(fi["ci_g_per_kwh"].mean())
    assert monthly.idxmin() in (6, 7, 8) and monthly.idxmax() in (1, 2, 12)


def test_jrc_hydro(fetch_kwargs):
    jrc = loaders.load_jrc_hydro(**fetch_kwargs)
    assert len(jrc) == 4178
    assert jrc["capacity_mw"].sum() / 1000 == pytest.approx(195.0, abs=0.1)
    assert jrc["generation_mwh_per_year"].notna().sum() == 1553


def test_gpu_specs(fetch_kwargs):
    gpus = loaders.load_gpu_specs(**fetch_kwargs).set_index("gpu")["gpu_power_w"]
    assert gpus["NVIDIA H100 SXM5 80GB"] == 700
    assert gpus["AMD Instinct MI300X"] == 750
