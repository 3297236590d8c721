"""The installed `siting` command: exit codes and one-line errors, no tracebacks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SITING = [str(Path(sys.executable).with_name("siting"))]


def run(*args, env=None):
    return subprocess.run(SITING + list(args), capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_footprint_table_in_several_countries():
    res = run("footprint", "--gpu-hours", "30.84e6", "--gpu", "H100-SXM", "--pue", "1.0",
              "--region", "NOR", "--region", "POL")
    assert res.returncode == 0, res.stderr
    assert "NOR" in res.stdout and "POL" in res.stdout
    # Norway (~30.7 g/kWh) is listed before Poland (~615 g/kWh): rows are ranked by emissions
    assert res.stdout.index("NOR") < res.stdout.index("POL")


def test_region_json():
    res = run("footprint", "--gpu-hours", "1000", "--gpu-power-w", "1000", "--pue", "1",
              "--region", "NOR", "--year", "2024", "--json")
    assert res.returncode == 0, res.stderr
    payload = json.loads(res.stdout)
    assert payload["year"] == 2024
    assert payload["emissions_t"] == pytest.approx(1.0 * payload["ci_g_per_kwh"] / 1000)


@pytest.mark.parametrize("args, needle", [
    (["--gpu-hours", "-5", "--gpu", "H100", "--ci-g-per-kwh", "400"], "gpu_hours"),
    (["--gpu-hours", "abc", "--gpu", "H100", "--ci-g-per-kwh", "400"], "--gpu-hours"),
    (["--gpu-hours", "10", "--gpu", "H1OO", "--ci-g-per-kwh", "400"], "did you mean H100"),
    (["--gpu-hours", "10", "--gpu", "H100", "--region", "ATLANTIS"], "unknown region"),
    (["--gpu-hours", "10", "--gpu", "H100", "--region", "NOR", "--year", "1950"], "1950"),
])
def test_bad_input_one_line_exit_2(args, needle):
    res = run("footprint", *args)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert needle in lines[0]


@pytest.mark.shared
def test_data_fetch_list_and_sites_commands(tmp_path, mirror):
    cache = str(tmp_path / "cache")
    res = run("data", "fetch", "gppd-v1.3", "natural-earth-50m", "jrc-hydro", "powerplantmatching",
              "--mirror", str(mirror), "--cache", cache)
    assert res.returncode == 0, res.stderr
    listing = run("data", "list", "--cache", cache)
    assert "gppd-v1.3" in listing.stdout and "2/2" in listing.stdout
    gen = tmp_path / "generated.geojson"
    res = run("sites", "generate", "--out", str(gen), "--n-sites", "25", "--cache", cache)
    assert res.returncode == 0, res.stderr
    import geopandas as gpd

    g = gpd.read_file(gen)
    assert len(g) == 25 and g.crs.to_epsg() == 4326
    assert g["cluster_mwh_per_year"].is_monotonic_decreasing  # ranked by low-carbon energy
    mine = tmp_path / "my_sites.csv"
    mine.write_text("site_id,lat,lon\nqc,46.8,-71.2\nrvk,64.13,-21.9\n")
    enriched = tmp_path / "enriched.csv"
    res = run("sites", "enrich", str(mine), "--out", str(enriched), "--cache", cache)
    assert res.returncode == 0, res.stderr
    import pandas as pd

    e = pd.read_csv(enriched).set_index("site_id")
    assert e.loc["qc", "country_iso3"] == "CAN" and e.loc["rvk", "country_iso3"] == "ISL"
    assert e.loc["rvk", "existing_renewable_geothermal_mwh_per_year"] > 0


def test_sites_enrich_bad_file_one_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("site_id,lat,lon\na,1,2\nb,200,2\n")
    res = run("sites", "enrich", str(bad), "--out", str(tmp_path / "o.csv"))
    assert res.returncode == 2
    assert res.stderr.strip() == f"error: {bad}: row 3, field lat: expected a number in [-90, 90], got 200"
    assert not (tmp_path / "o.csv").exists()
