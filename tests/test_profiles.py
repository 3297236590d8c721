"""Hourly supply profiles per site and technology: ranges, annual capacity factors against
their sources (computed here independently from the raw files), solar at night, proxies,
calendar mapping, the committed data without the mirror."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siting.assumptions import default_assumptions
from siting.data import profile_sources as src
from siting.data.profiles import (
    PROVENANCE_COLUMNS,
    TECHNOLOGIES,
    count_kinds,
    site_profiles,
    source_positions,
)
from siting.errors import SitingError
from siting.geo import haversine_km
from siting.paths import REPO_ROOT
from siting.timegrid import TimeGrid

REGIONS = REPO_ROOT / "data" / "regions"
A = default_assumptions()
Y2022 = TimeGrid.year(2022)

SITES = pd.DataFrame([
    # site_id, lat, lon, country_iso3
    ("fresno", 36.74, -119.79, "USA"),     # inside CISO's footprint circle
    ("dalles", 45.60, -121.18, "USA"),     # inside BPAT's
    ("frankfurt", 50.11, 8.68, "DEU"),     # Dispa-SET DE
    ("oslo", 59.91, 10.75, "NOR"),         # Dispa-SET NO
    ("bamako", 15.0, 0.0, "MLI"),          # 0 E: no measured series
    ("perth_in", -25.0, 120.0, "AUS"),     # 120 E: no measured series
    ("luanda", -8.84, 13.23, "AGO"),       # PLEXOS AGO node
    ("reykjavik", 64.13, -21.90, "ISL"),   # geothermal country
], columns=["site_id", "lat", "lon", "country_iso3"])


def _raw_eia(mirror, ba):
    """The raw file re-stamped from hour ending to hour beginning (the first row wraps to the end)."""
    raw = pd.read_csv(mirror / "eia-hourly-ba-2022" / f"{ba}_NG_&_avgCI.csv")
    values = raw.drop(columns="timestamp")
    shifted = pd.concat([values.iloc[1:], values.iloc[:1]], ignore_index=True)
    return shifted.assign(timestamp=raw["timestamp"])


def _row(prov, site, tech):
    r = prov[(prov["site_id"] == site) & (prov["technology"] == tech)]
    assert len(r) == 1
    return r.iloc[0]


@pytest.fixture(scope="module")
def runtime_profiles(fetch_kwargs):
    return site_profiles(SITES, Y2022, TECHNOLOGIES, A, runtime=True, **fetch_kwargs)


@pytest.fixture(scope="module")
def embedded_profiles():
    return site_profiles(SITES, Y2022, TECHNOLOGIES, A, runtime=False)


# ---------------------------------------------------------------- shapes, ranges, provenance
@pytest.mark.shared
def test_shapes_ranges_and_provenance(runtime_profiles):
    cf, prov = runtime_profiles
    assert cf.shape == (len(SITES), len(TECHNOLOGIES), 8760)
    assert np.isfinite(cf).all() and cf.min() >= 0.0 and cf.max() <= 1.0
    assert list(prov.columns) == PROVENANCE_COLUMNS
    # one row per (site, technology), sites outer, technologies inner, in the given order
    assert list(prov["site_id"]) == [s for s in SITES["site_id"] for _ in TECHNOLOGIES]
    assert list(prov["technology"]) == list(TECHNOLOGIES) * len(SITES)
    assert set(prov["profile_kind"]) <= {"measured", "modelled", "proxy", "unavailable"}
    flat = cf.reshape(-1, 8760).mean(axis=1)
    np.testing.assert_allclose(prov["grid_mean_cf"], flat, rtol=1e-12)
    assert (prov["shiftable_within"] == np.where(prov["technology"] == "hydro_reservoir",
                                                 "month", "none")).all()
    res = prov.set_index(["site_id", "technology"])["profile_resolution"]
    assert res[("fresno", "solar_pv")] == "hourly" and res[("bamako", "solar_pv")] == "hourly"
    assert res[("dalles", "hydro_reservoir")] == "monthly" and res[("dalles", "hydro_ror")] == "hourly"
    assert res[("luanda", "hydro_ror")] == "monthly"  # PLEXOS
    assert res[("reykjavik", "geothermal")] == "annual"


@pytest.mark.shared
def test_order_of_sites_and_technologies_is_kept(runtime_profiles, fetch_kwargs):
    cf, _ = runtime_profiles
    techs = ["geothermal", "solar_pv", "wind_onshore"]
    rev_sites = SITES.iloc[::-1].reset_index(drop=True)
    cf2, prov2 = site_profiles(rev_sites, Y2022, techs, A, runtime=True, **fetch_kwargs)
    assert cf2.shape == (len(SITES), 3, 8760)
    k = [TECHNOLOGIES.index(t) for t in techs]
    np.testing.assert_array_equal(cf2, cf[::-1][:, k, :])
    assert list(prov2["site_id"][:3]) == ["reykjavik"] * 3


# ---------------------------------------------------------------- measured: EIA-930
def _sun_elevation_spa(ts, lat, lon):
    """NREL SPA elevation (a different algorithm from the code's ephemeris) at ``ts``."""
    import pvlib

    return pvlib.solarposition.get_solarposition(ts, lat, lon, method="nrel_numpy")["elevation"].to_numpy()


@pytest.mark.shared
@pytest.mark.parametrize("site, ba, tech, col", [
    ("fresno", "CISO", "wind_onshore", "WND"), ("fresno", "CISO", "solar_pv", "SUN"),
    ("dalles", "BPAT", "hydro_ror", "WAT"), ("dalles", "BPAT", "wind_onshore", "WND"),
    ("dalles", "BPAT", "solar_pv", "SUN"),
])
def test_eia_measured_reproduces_source_annual_cf(runtime_profiles, embedded_profiles, mirror,
                                                   site, ba, tech, col):
    raw_file = _raw_eia(mirror, ba)
    raw = raw_file[col].clip(lower=0)
    clear = np.ones(len(raw), bool)  # hours whose night/day status is unambiguous
    if col == "SUN":  # PV: zero when the sun is down throughout the BA's footprint circle
        zone = pd.read_csv(REPO_ROOT / "siting" / "resources" / "profile_zones_eia.csv").set_index("ba").loc[ba]
        margin = np.degrees(zone.radius_km / 6371.0088)
        ts = pd.DatetimeIndex(pd.to_datetime(raw_file["timestamp"], utc=True))
        e = np.maximum(_sun_elevation_spa(ts, zone.lat, zone.lon),
                       _sun_elevation_spa(ts + pd.Timedelta(hours=1), zone.lat, zone.lon))
        raw = raw.where(e >= -margin, 0.0)
        clear = np.abs(e + margin) > 0.5
    q = A["profile_eia_capacity_quantile"]
    capacity_mw = np.nanquantile(raw.to_numpy(), q)  # the documented capacity estimate
    source_cf = float(np.nanmean(np.minimum(raw / capacity_mw, 1.0)))
    for _cf, prov in (runtime_profiles, embedded_profiles):
        r = _row(prov, site, tech)
        assert r["profile_kind"] == "measured" and ba in r["profile_source"]
        assert "eia-hourly-ba-2022" in r["profile_source"]
        assert r["annual_cf"] == pytest.approx(source_cf, rel=0.02)
        assert r["grid_mean_cf"] == pytest.approx(source_cf, rel=0.02)
        assert np.isnan(r["proxy_distance_km"])
    # hour by hour, runtime series equal the raw series over the capacity estimate
    cf, prov = runtime_profiles
    i, k = SITES.index[SITES.site_id == site][0], TECHNOLOGIES.index(tech)
    ok = raw.notna().to_numpy() & clear
    # (the 3 CISO hours filled from the day before move the quantile by under 1e-6)
    np.testing.assert_allclose(cf[i, k][ok], np.minimum(raw[ok] / capacity_mw, 1.0), rtol=1e-5)


@pytest.mark.shared
def test_measured_solar_is_zero_at_night_at_the_site(runtime_profiles, embedded_profiles):
    """Fresno lies inside CISO's circle: where the sun is down at Fresno by more than twice the
    circle's angular radius, it is down throughout the circle, and measured PV is 0."""
    margin = np.degrees(450 / 6371.0088)
    ts = Y2022.timestamps
    e = np.maximum(_sun_elevation_spa(ts, 36.74, -119.79),
                   _sun_elevation_spa(ts + pd.Timedelta(hours=1), 36.74, -119.79))
    dark = e < -2 * margin
    assert dark.sum() > 3000
    for cf, prov in (runtime_profiles, embedded_profiles):
        assert _row(prov, "fresno", "solar_pv")["profile_kind"] == "measured"
        assert (cf[0, TECHNOLOGIES.index("solar_pv")][dark] == 0).all()


@pytest.mark.shared
def test_reservoir_is_monthly_energy_and_run_of_river_is_hourly(runtime_profiles):
    cf, prov = runtime_profiles
    i = SITES.index[SITES.site_id == "dalles"][0]
    ror = cf[i, TECHNOLOGIES.index("hydro_ror")]
    res = cf[i, TECHNOLOGIES.index("hydro_reservoir")]
    months = Y2022.periods("monthly")
    # reservoir: flat within each month at the month's mean of the measured hourly series
    np.testing.assert_allclose(res, months.expand(months.aggregate(ror, "mean")), atol=1e-12)
    assert np.ptp(ror[Y2022.month == 5]) > 0.1  # run-of-river varies hour by hour
    assert _row(prov, "dalles", "hydro_reservoir")["shiftable_within"] == "month"
    assert _row(prov, "dalles", "hydro_reservoir")["annual_cf"] == pytest.approx(ror.mean(), rel=1e-9)


# ---------------------------------------------------------------- measured: Dispa-SET (run time)
@pytest.mark.shared
@pytest.mark.parametrize("site, zone, tech, col, published", [
    ("frankfurt", "DE", "wind_onshore", "WTON", 0.168),  # mean CF 2016 in the mirror's SOURCE.md
    ("frankfurt", "DE", "solar_pv", "PHOT", 0.124),
    ("frankfurt", "DE", "wind_offshore", "WTOF", 0.299),
    ("oslo", "NO", "wind_onshore", "WTON", None),
    ("oslo", "NO", "hydro_ror", "HROR", None),
])
def test_dispaset_measured_reproduces_source_annual_cf(runtime_profiles, mirror, site, zone, tech,
                                                       col, published):
    raw = pd.read_csv(mirror / "dispaset-af-2016" / f"{zone}_2016.csv", index_col=0)[col]
    source_cf = float(raw.clip(0, 1).mean())
    if published is not None:
        assert source_cf == pytest.approx(published, abs=0.0005)
    r = _row(runtime_profiles[1], site, tech)
    assert r["profile_kind"] == "measured"
    assert "dispaset-af-2016" in r["profile_source"] and "2016 placed on 2022" in r["profile_source"]
    assert r["annual_cf"] == pytest.approx(source_cf, rel=1e-9)
    assert r["grid_mean_cf"] == pytest.approx(source_cf, rel=0.02)  # 2016 less 29 Feb, on 2022


# ---------------------------------------------------------------- modelled
@pytest.mark.parametrize("lon, noon_utc, night_utc", [(0.0, 12, 0), (120.0, 4, 16)])
def test_solar_is_zero_at_night_at_the_site_longitude(embedded_profiles, lon, noon_utc, night_utc):
    import pvlib

    cf, prov = embedded_profiles
    site = "bamako" if lon == 0.0 else "perth_in"
    i = SITES.index[SITES.site_id == site][0]
    pv = cf[i, TECHNOLOGIES.index("solar_pv")]
    assert _row(prov, site, "solar_pv")["profile_kind"] == "modelled"
    hod = Y2022.hour_of_day
    assert (pv[hod == night_utc] == 0).all()  # local midnight
    assert (pv[hod == noon_utc] > 0.2).all()  # local noon, every day of the year
    # independent reference: NREL SPA elevation at the start and end of each hour
    lat = float(SITES.loc[i, "lat"])
    ts = Y2022.timestamps
    elev = [pvlib.solarposition.get_solarposition(t, lat, lon, method="nrel_numpy")["elevation"]
            .to_numpy() for t in (ts, ts + pd.Timedelta(hours=1))]
    dark = (elev[0] < -1.0) & (elev[1] < -1.0)
    assert dark.sum() > 3000
    assert (pv[dark] == 0).all()


def test_solar_at_0e_and_120e_is_shifted_by_eight_hours(embedded_profiles):
    cf, _ = embedded_profiles
    k = TECHNOLOGIES.index("solar_pv")
    west = cf[SITES.index[SITES.site_id == "bamako"][0], k]
    east = cf[SITES.index[SITES.site_id == "perth_in"][0], k]
    hod = Y2022.hour_of_day
    assert (west[hod == 12] > 0).all() and (east[hod == 12] == 0).all()  # 20:00 local at 120 E
    assert (east[hod == 4] > 0).all() and (west[hod == 4] == 0).all()


def test_modelled_solar_and_geothermal_reproduce_their_annual_cf(embedded_profiles):
    cf, prov = embedded_profiles
    country = pd.read_csv(REGIONS / src.EMBEDDED_COUNTRY_CF)
    for site, tech, fuel in (("bamako", "solar_pv", "solar"), ("perth_in", "solar_pv", "solar"),
                             ("reykjavik", "geothermal", "geothermal")):
        r = _row(prov, site, tech)
        iso3 = SITES.set_index("site_id").at[site, "country_iso3"]
        row = country[(country.country_iso3 == iso3) & (country.fuel == fuel)]
        big = len(row) and row.capacity_mw.iloc[0] >= A["profile_country_cf_min_capacity_mw"]
        target = float(row.annual_cf.iloc[0]) if big else A[f"capacity_factor_{fuel}"]
        assert r["profile_kind"] == "modelled"
        assert r["annual_cf"] == pytest.approx(target, rel=1e-6)
        assert r["grid_mean_cf"] == pytest.approx(target, rel=0.02)
    geo = cf[SITES.index[SITES.site_id == "reykjavik"][0], TECHNOLOGIES.index("geothermal")]
    assert np.ptp(geo) == 0  # flat


@pytest.mark.shared
@pytest.mark.parametrize("iso3, fuel, gppd_fuel", [("KEN", "geothermal", "Geothermal"),
                                                   ("USA", "geothermal", "Geothermal"),
                                                   ("USA", "solar", "Solar")])
def test_country_capacity_factor_equals_gppd(mirror, iso3, fuel, gppd_fuel):
    """The fleet CF from the raw GPPD file: newest WRI estimate per plant, plants without one out."""
    raw = pd.read_csv(mirror / "gppd-v1.3" / "global_power_plants.csv", low_memory=False)
    fleet = raw[(raw.country == iso3) & (raw.primary_fuel == gppd_fuel) & (raw.capacity_mw > 0)]
    est = fleet[[f"estimated_generation_gwh_{y}" for y in range(2017, 2012, -1)]]
    gen_gwh = est.bfill(axis=1).iloc[:, 0]
    known = gen_gwh.notna() & (gen_gwh >= 0)
    expected = gen_gwh[known].sum() * 1000 / (fleet.capacity_mw[known].sum() * 8760)
    table = pd.read_csv(REGIONS / src.EMBEDDED_COUNTRY_CF)
    got = table[(table.country_iso3 == iso3) & (table.fuel == fuel)]
    assert got.annual_cf.iloc[0] == pytest.approx(expected, rel=1e-4)
    assert got.n_plants.iloc[0] == known.sum()


def test_country_without_generation_figures_takes_the_default(embedded_profiles):
    """GPPD has no generation figure for Iceland's geothermal plants: the default, labelled."""
    r = _row(embedded_profiles[1], "reykjavik", "geothermal")
    assert "assumption capacity_factor_geothermal" in r["profile_source"]
    assert r["annual_cf"] == A["capacity_factor_geothermal"]


@pytest.mark.shared
def test_plexos_monthly_hydro_at_run_time(runtime_profiles, embedded_profiles):
    # PLEXOS-World AGO node: 80, 80, 80, 66.5, 29.6, 28.4, ... percent (mirror SOURCE.md)
    cf, prov = runtime_profiles
    i = SITES.index[SITES.site_id == "luanda"][0]
    for tech in ("hydro_ror", "hydro_reservoir"):
        series = cf[i, TECHNOLOGIES.index(tech)]
        assert series[Y2022.month == 1] == pytest.approx(0.80)
        assert series[Y2022.month == 6] == pytest.approx(0.284)
        r = _row(prov, "luanda", tech)
        assert r["profile_kind"] == "modelled" and "plexos" in r["profile_source"]
        assert r["grid_mean_cf"] == pytest.approx(r["annual_cf"], rel=1e-9)
    # without the run-time data: flat at GPPD's implied Angolan hydro CF
    r = _row(embedded_profiles[1], "luanda", "hydro_ror")
    assert "GPPD" in r["profile_source"] and "AGO" in r["profile_source"]


# ---------------------------------------------------------------- proxies
def test_proxies_carry_their_distance(embedded_profiles):
    cf, prov = embedded_profiles
    zones = src.eia_zones().set_index("ba")
    proxies = prov[prov.profile_kind == "proxy"]
    assert len(proxies) and (proxies.technology == "wind_onshore").all()
    assert proxies.proxy_distance_km.notna().all()
    assert prov[prov.profile_kind != "proxy"].proxy_distance_km.isna().all()
    # Oslo without Dispa-SET: nearest EIA wind BA by haversine, computed here
    r = _row(prov, "oslo", "wind_onshore")
    wind_bas = [b for b in zones.index if src.series_key(b, "wind_onshore") in
                pd.read_parquet(REGIONS / src.EMBEDDED_HOURLY).columns]
    d = {b: haversine_km(59.91, 10.75, zones.at[b, "lat"], zones.at[b, "lon"]) for b in wind_bas}
    nearest = min(d, key=d.get)
    assert nearest in r["profile_source"]
    assert r["proxy_distance_km"] == pytest.approx(d[nearest], rel=1e-9)
    stored = pd.read_parquet(REGIONS / src.EMBEDDED_HOURLY)[src.series_key(nearest, "wind_onshore")]
    i = SITES.index[SITES.site_id == "oslo"][0]
    np.testing.assert_allclose(cf[i, TECHNOLOGIES.index("wind_onshore")],
                               stored.to_numpy() / src.CF_QUANTUM, atol=1e-12)
    # offshore wind has no measured series in the committed data: unavailable, zero
    off = prov[prov.technology == "wind_offshore"]
    assert (off.profile_kind == "unavailable").all()
    assert (cf[:, TECHNOLOGIES.index("wind_offshore")] == 0).all()


@pytest.mark.shared
def test_count_of_proxies_at_run_time(runtime_profiles):
    counts = count_kinds(runtime_profiles[1])
    assert counts.loc["wind_onshore", "measured"] == 4  # fresno, dalles, frankfurt, oslo
    assert counts.loc["wind_onshore", "proxy"] == 4
    assert counts.loc["wind_offshore", "measured"] == 2  # DE, NO
    assert counts.to_numpy().sum() == len(SITES) * len(TECHNOLOGIES)


# ---------------------------------------------------------------- without the mirror
def test_runtime_false_needs_no_mirror_or_cache(tmp_path, monkeypatch):
    import siting.data.download as dl

    def no_fetch(*args, **kwargs):
        raise AssertionError("runtime=False must not fetch anything")

    monkeypatch.setattr(dl, "fetch_file", no_fetch)
    monkeypatch.setattr(src, "fetch_file", no_fetch)
    monkeypatch.setenv("SITING_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("SITING_MIRROR", raising=False)
    cf, prov = site_profiles(SITES, TimeGrid.year(2024), TECHNOLOGIES, A, runtime=False)
    assert cf.shape == (len(SITES), len(TECHNOLOGIES), 8784)
    assert not (tmp_path / "empty-cache").exists()
    r = _row(prov, "fresno", "solar_pv")
    assert r["profile_kind"] == "measured" and "2022 placed on 2024" in r["profile_source"]
    # 29 Feb 2024 repeats 28 Feb 2022 hour by hour
    k = TECHNOLOGIES.index("solar_pv")
    ts = TimeGrid.year(2024).timestamps
    feb28 = cf[0, k][(ts.month == 2) & (ts.day == 28)]
    feb29 = cf[0, k][(ts.month == 2) & (ts.day == 29)]
    np.testing.assert_array_equal(feb28, feb29)


# ---------------------------------------------------------------- calendar mapping, errors
def test_source_positions_by_month_day_hour():
    leap = pd.date_range("2016-01-01", periods=8784, freq="h", tz="UTC")
    plain = pd.date_range("2022-01-01", periods=8760, freq="h", tz="UTC")
    pos = source_positions(leap, Y2022)
    assert (leap[pos].month == Y2022.timestamps.month).all()
    assert (leap[pos].day == Y2022.timestamps.day).all()
    assert (leap[pos].hour == Y2022.hour_of_day).all()
    assert pos[0] == 0 and pos[-1] == 8783  # 31 Dec 23h
    week = TimeGrid.between("2024-02-28", "2024-03-01")
    p2 = source_positions(plain, week)
    assert list(plain[p2].strftime("%m-%d")[::24]) == ["02-28", "02-28"]
    with pytest.raises(SitingError, match="does not cover"):
        source_positions(plain[:100], Y2022)


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(SitingError, match="unknown technology 'tidal'"):
        site_profiles(SITES, Y2022, ["tidal"], A, runtime=False)
    bad = SITES.copy()
    bad.loc[2, "lat"] = 95
    with pytest.raises(SitingError, match=r"row 3 \(site frankfurt\): lat"):
        site_profiles(bad, Y2022, ["solar_pv"], A, runtime=False)
    with pytest.raises(SitingError, match="row 2: site_id: 'fresno' repeats"):
        site_profiles(SITES.assign(site_id=["fresno"] * len(SITES)), Y2022, ["solar_pv"], A, runtime=False)
    with pytest.raises(SitingError, match="country_iso3"):
        site_profiles(SITES.drop(columns="country_iso3"), Y2022, ["solar_pv"], A, runtime=False)


# ---------------------------------------------------------------- committed data, CLI
@pytest.mark.shared
def test_committed_profile_data_rebuilds_identically_and_is_small(tmp_path, fetch_kwargs):
    written = src.build_profiles(out_dir=tmp_path, assumptions=A, **fetch_kwargs)
    assert {p.name for p in written} == {src.EMBEDDED_HOURLY, src.EMBEDDED_SUMMARY,
                                         src.EMBEDDED_COUNTRY_CF, "SOURCES_profiles.md"}
    for path in written:
        assert filecmp.cmp(path, REGIONS / path.name, shallow=False), path.name
    assert sum((REGIONS / p.name).stat().st_size for p in written) <= 600 * 1024
    text = (REGIONS / "SOURCES_profiles.md").read_text()
    assert "dispaset" not in text.split("## Datasets")[1].lower()


def test_cli_build_profiles_rejects_a_year_without_data(tmp_path):
    exe = str(Path(sys.executable).with_name("siting"))
    res = subprocess.run([exe, "data", "build-profiles", "--year", "2021", "--cache", str(tmp_path)],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines() == [
        "error: build-profiles: --year 2021: EIA-930 balancing-area data is available for 2022 "
        "only (dataset eia-hourly-ba-2022)"]


@pytest.mark.shared
def test_cli_build_profiles_fills_the_cache(tmp_path, mirror):
    exe = str(Path(sys.executable).with_name("siting"))
    res = subprocess.run([exe, "data", "build-profiles", "--mirror", str(mirror), "--cache",
                          str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    paths = src.runtime_paths(tmp_path, 2022)
    assert all(p.is_file() for p in paths.values())
    ds = pd.read_parquet(paths["dispaset_summary"])
    assert ds.set_index(["zone", "technology"]).at[("NL", "hydro_ror"), "status"] == "non-finite values"


def test_provenance_csv_leaves_non_proxy_distance_empty(embedded_profiles, tmp_path):
    from siting.data.profiles import write_provenance

    _, prov = embedded_profiles
    path = write_provenance(tmp_path / "profiles_provenance.csv", prov)
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(PROVENANCE_COLUMNS)
    back = pd.read_csv(path, keep_default_na=False)
    is_proxy = back["profile_kind"] == "proxy"
    assert (back.loc[~is_proxy, "proxy_distance_km"] == "").all()
    assert back.loc[is_proxy, "proxy_distance_km"].astype(float).gt(0).all()
    assert not back.astype(str).isin(["nan", "NaN", "inf"]).any().any()


def test_committed_profiles_refuse_another_capacity_quantile():
    a = A.with_overrides({"profile_eia_capacity_quantile": 1.0})
    with pytest.raises(SitingError, match="built with profile_eia_capacity_quantile = 0.999"):
        site_profiles(SITES, Y2022, ["wind_onshore"], a, runtime=False)


@pytest.mark.shared
def test_runtime_cache_follows_the_capacity_quantile(tmp_path, mirror, runtime_profiles):
    """With the yearly maximum as capacity, CISO wind's CF is mean / max of the raw series."""
    a = A.with_overrides({"profile_eia_capacity_quantile": 1.0})
    cf, prov = site_profiles(SITES.iloc[:1], Y2022, ["wind_onshore"], a, runtime=True,
                             mirror=mirror, cache=tmp_path)
    raw = _raw_eia(mirror, "CISO")["WND"].clip(lower=0)
    assert prov["annual_cf"].iloc[0] == pytest.approx(raw.mean() / raw.max(), rel=0.002)
    assert prov["annual_cf"].iloc[0] < _row(runtime_profiles[1], "fresno", "wind_onshore")["annual_cf"]


def test_a_ba_footprint_does_not_cross_the_border():
    """Osoyoos (British Columbia) lies within BPAT's 350 km circle but not in the USA."""
    sites = pd.DataFrame({"site_id": ["osoyoos", "same_place_if_usa"], "lat": [49.03, 49.03],
                          "lon": [-119.47, -119.47], "country_iso3": ["CAN", "USA"]})
    d = haversine_km(49.03, -119.47, 46.0, -120.5)
    assert d < 350
    _, prov = site_profiles(sites, Y2022, ["wind_onshore"], A, runtime=False)
    assert list(prov["profile_kind"]) == ["proxy", "measured"]
    assert "BPAT" in prov["profile_source"].iloc[0]
    assert prov["proxy_distance_km"].iloc[0] == pytest.approx(d, rel=1e-9)


def test_long_form_matches_the_array(embedded_profiles):
    from siting.data.profiles import to_long_form

    cf, _ = embedded_profiles
    long = to_long_form(SITES["site_id"], Y2022, TECHNOLOGIES, cf)
    assert len(long) == len(SITES) * 8760
    assert list(long.columns) == ["site_id", "timestamp"] + [f"cf_{t}" for t in TECHNOLOGIES]
    row = long[(long.site_id == "bamako") & (long.timestamp == pd.Timestamp("2022-06-01 12:00", tz="UTC"))]
    i, h = SITES.index[SITES.site_id == "bamako"][0], Y2022.hour_index("2022-06-01 12:00")
    assert row["cf_solar_pv"].iloc[0] == cf[i, TECHNOLOGIES.index("solar_pv"), h] > 0
    with pytest.raises(SitingError, match="does not match"):
        to_long_form(SITES["site_id"][:2], Y2022, TECHNOLOGIES, cf)


@pytest.mark.shared
def test_dispaset_pv_timestamps_are_utc(runtime_profiles):
    """Dispa-SET's naive timestamps are taken as UTC: Frankfurt's measured PV is zero when the sun
    is well below the horizon there (8 degrees covers Germany's extent) and peaks at 11 UTC
    (solar noon near 11:25 UTC at 8.7 E), as the clear-sky model of the same place does."""
    cf, prov = runtime_profiles
    i, k = SITES.index[SITES.site_id == "frankfurt"][0], TECHNOLOGIES.index("solar_pv")
    pv = cf[i, k]
    ts = Y2022.timestamps
    e = np.maximum(_sun_elevation_spa(ts, 50.11, 8.68), _sun_elevation_spa(ts + pd.Timedelta(hours=1), 50.11, 8.68))
    assert (pv[e < -8] == 0).all()
    by_hour = pd.Series(pv).groupby(Y2022.hour_of_day).mean()
    assert by_hour.idxmax() == 11
    from siting.data.profiles import clear_sky_pv

    model, _ = clear_sky_pv(50.11, 8.68, Y2022, 0.12, A)
    assert pd.Series(model[0]).groupby(Y2022.hour_of_day).mean().idxmax() == 11


@pytest.mark.parametrize("ba", ["ERCO", "SOCO", "MISO"])
def test_eia_hours_are_restamped_to_their_start(ba):
    """EIA-930 stamps hour ending; re-stamped, measured PV lines up with the clear-sky model at
    the BA's centre better than one hour earlier or later. (AZPS is left out: its SUN includes a
    solar-thermal plant with storage, whose evening output pulls the shape later.)"""
    from siting.data.profiles import clear_sky_pv

    z = src.eia_zones().set_index("ba").loc[ba]
    site = pd.DataFrame({"site_id": [ba], "lat": [z.lat], "lon": [z.lon], "country_iso3": ["USA"]})
    cf, prov = site_profiles(site, Y2022, ["solar_pv"], A, runtime=False)
    assert prov["profile_kind"].iloc[0] == "measured" and ba in prov["profile_source"].iloc[0]
    model = clear_sky_pv(z.lat, z.lon, Y2022, 0.2, A)[0][0]
    r = {lag: np.corrcoef(np.roll(model, lag), cf[0, 0])[0, 1] for lag in (-1, 0, 1)}
    assert r[0] > r[-1] and r[0] > r[1]


def test_a_grid_across_new_year_takes_each_hour_from_its_own_date(embedded_profiles):
    grid = TimeGrid.between("2023-12-25", "2024-01-08")
    cf, prov = site_profiles(SITES, grid, TECHNOLOGIES, A, runtime=False)
    assert cf.shape == (len(SITES), len(TECHNOLOGIES), 14 * 24)
    assert "2022 placed on 2023-2024" in _row(prov, "fresno", "wind_onshore")["profile_source"]
    # the same (month, day, hour) of the 2022 series as on the full 2022 grid
    full, _ = embedded_profiles
    k = TECHNOLOGIES.index("wind_onshore")
    dec25 = Y2022.hour_index("2022-12-25")
    np.testing.assert_array_equal(cf[0, k, :7 * 24], full[0, k, dec25:dec25 + 7 * 24])
    np.testing.assert_array_equal(cf[0, k, 7 * 24:], full[0, k, :7 * 24])
    # modelled solar is computed for the grid's own dates: zero at Bamako's midnight
    pv = cf[SITES.index[SITES.site_id == "bamako"][0], TECHNOLOGIES.index("solar_pv")]
    assert (pv[grid.hour_of_day == 0] == 0).all() and (pv[grid.hour_of_day == 12] > 0).all()


def test_proxy_distance_limit_makes_far_wind_unavailable(embedded_profiles):
    a = A.with_overrides({"profile_proxy_max_distance_km": 1000})
    cf, prov = site_profiles(SITES, Y2022, ["wind_onshore"], a, runtime=False)
    far = _row(prov, "oslo", "wind_onshore")
    assert far["profile_kind"] == "unavailable" and "beyond profile_proxy_max_distance_km" in far["profile_source"]
    assert (cf[SITES.index[SITES.site_id == "oslo"][0], 0] == 0).all()
    assert _row(prov, "fresno", "wind_onshore")["profile_kind"] == "measured"
    # by default there is no limit: every wind site has a series
    assert (embedded_profiles[1].query("technology == 'wind_onshore'").profile_kind != "unavailable").all()
