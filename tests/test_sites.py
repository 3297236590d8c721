"""Candidate sites on tiny hand-made fixtures: distances, radius search, joins, errors."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from siting.data import sites
from siting.errors import SitingError
from siting.geo import haversine_km, pairs_within_km
from siting.units import EARTH_RADIUS_KM, WGS84

KM_PER_DEG_LAT = np.pi * EARTH_RADIUS_KM / 180  # along a meridian on the sphere


def plants_frame(rows):
    df = pd.DataFrame(rows, columns=["plant_id", "fuel", "lat", "lon", "generation_mwh_per_year"])
    df["name"] = df["plant_id"]
    df["country_iso3"] = "AAA"
    df["capacity_mw"] = df["generation_mwh_per_year"] / 4000
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=WGS84)


@pytest.fixture
def boundaries():
    return gpd.GeoDataFrame({"country_iso3": ["AAA", "BBB"], "name": ["A", "B"],
                             "continent": ["X", "X"]},
                            geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=WGS84)


@pytest.fixture
def intensity():
    return pd.DataFrame({"country_iso3": ["AAA", "AAA", "BBB", "WLD"],
                         "country": ["A", "A", "B", "World"], "year": [2023, 2024, 2024, 2024],
                         "ci_g_per_kwh": [100.0, 90.0, 500.0, 450.0]})


def test_haversine_known_distances():
    assert haversine_km(0, 0, 1, 0) == pytest.approx(KM_PER_DEG_LAT)
    assert haversine_km(0, 0, 0, 180) == pytest.approx(np.pi * EARTH_RADIUS_KM)
    # one degree of longitude at 60 N is half as long as at the equator (to first order)
    assert haversine_km(60, 0, 60, 1) == pytest.approx(KM_PER_DEG_LAT / 2, rel=1e-4)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(10, 3000))
def test_pairs_within_km_equals_brute_force(seed, radius_km):
    rng = np.random.default_rng(seed)
    lat_a, lon_a = rng.uniform(-89, 89, 40), rng.uniform(-180, 180, 40)
    lat_b, lon_b = rng.uniform(-89, 89, 60), rng.uniform(-180, 180, 60)
    got = pairs_within_km(lat_a, lon_a, lat_b, lon_b, radius_km)
    d = haversine_km(lat_a[:, None], lon_a[:, None], lat_b[None], lon_b[None])
    want = set(zip(*np.nonzero(d <= radius_km), strict=True))
    assert set(zip(got["i"], got["j"], strict=True)) == want


def test_renewables_within_radius_only():
    # plants due north of the site at 49 km (in) and 51 km (out); one gas plant at 0 km
    plants = plants_frame([
        ("in", "hydro", 49 / KM_PER_DEG_LAT, 5.0, 1000.0),
        ("out", "wind", 51 / KM_PER_DEG_LAT, 5.0, 2000.0),
        ("fossil", "gas", 0.0, 5.0, 9999.0),
        ("geo", "geothermal", 0.0, 5.0 + 10 / KM_PER_DEG_LAT, 500.0),
    ])
    site = gpd.GeoDataFrame({"site_id": ["s"]}, geometry=gpd.points_from_xy([5.0], [0.0]),
                            crs=WGS84)
    near = sites.renewable_energy_near(site, plants, 50.0).iloc[0]
    assert near["existing_renewable_hydro_mwh_per_year"] == 1000
    assert near["existing_renewable_wind_mwh_per_year"] == 0
    assert near["existing_renewable_geothermal_mwh_per_year"] == 500
    assert near["existing_renewable_mwh_per_year"] == 1500
    assert near["existing_renewable_ci_g_per_kwh"] == pytest.approx((1000 * 24 + 500 * 38) / 1500)


def test_enrich_country_intensity_and_defaults(tmp_path, boundaries, intensity):
    path = tmp_path / "my_sites.csv"
    path.write_text("site_id,lat,lon,pue\na,5,5,1.3\nb,5,15,\nsea,5,-0.2,\nfar,-50,-50,\n")
    user = sites.read_sites(path)
    plants = plants_frame([("p", "hydro", 5.0, 5.1, 10_000.0)])
    out = sites.enrich(user, plants=plants, boundaries=boundaries, intensity=intensity,
                       year=2024).set_index("site_id")
    assert out.loc["a", "country_iso3"] == "AAA" and out.loc["b", "country_iso3"] == "BBB"
    assert out.loc["sea", "country_iso3"] == "AAA"  # 22 km off the coast: nearest country
    assert pd.isna(out.loc["far", "country_iso3"])
    assert "world" in out.loc["far", "grid_ci_source"] and out.loc["far", "grid_ci_g_per_kwh"] == 450
    assert out.loc["a", "grid_ci_g_per_kwh"] == 90 and out.loc["b", "grid_ci_g_per_kwh"] == 500
    assert out.loc["a", "pue"] == 1.3 and out.loc["b", "pue"] == pytest.approx(1.1)
    assert out.loc["a", "renewable_mwh_per_year"] == pytest.approx(1000.0)  # 10% of 10 GWh
    assert out.loc["a", "existing_renewable_mwh_per_year"] == pytest.approx(10_000.0)
    assert out.loc["a", "renewable_supply_basis"] == sites.EXISTING_SUPPLY_LABEL
    assert "non-additional" in sites.EXISTING_SUPPLY_LABEL
    old = sites.enrich(user, plants=plants, boundaries=boundaries, intensity=intensity, year=2023)
    assert old.set_index("site_id").loc["a", "grid_ci_g_per_kwh"] == 100


def test_generate_sites_picks_largest_clusters_without_overlap():
    plants = plants_frame([
        ("a1", "hydro", 0.0, 0.0, 100.0), ("a2", "wind", 0.1, 0.0, 50.0),  # cluster A: 150
        ("b1", "geothermal", 5.0, 5.0, 120.0),  # cluster B: 120, 780 km away
        # 44 km from A's seed: outside its 25 km cluster but within 2 x 25 km, so removed
        ("c1", "hydro", 0.4, 0.0, 10.0),
        ("g", "gas", 5.0, 5.01, 1e6),  # fossil: ignored
    ])
    out = sites.generate_sites(plants, radius_km=25, n_sites=5)
    assert out.crs.to_epsg() == 4326
    assert list(out["cluster_mwh_per_year"]) == [150.0, 120.0]
    assert list(out["dominant_fuel"]) == ["hydro", "geothermal"]
    assert list(out["site_id"]) == ["AAA-001", "AAA-002"]  # numbered within the country


def test_offshore_plant_is_supply_but_never_a_seed(boundaries):
    # the largest plant lies at sea (offshore wind): it scores for the cluster, a land plant
    # 33 km away seeds the site
    plants = plants_frame([
        ("sea", "wind", 5.0, -0.1, 1000.0),
        ("land", "hydro", 5.0, 0.2, 10.0),
    ])
    plants["offshore"] = [True, False]
    out = sites.generate_sites(plants, boundaries=boundaries, radius_km=50, n_sites=5)
    assert len(out) == 1
    assert out.loc[0, "cluster_mwh_per_year"] == 1010.0
    assert out.loc[0, "lon"] == pytest.approx(0.2)


def test_place_on_land_snaps_near_coast_drops_far_and_sets_country(boundaries):
    # A's west coast is lon 0: 5 km off -> snapped, 30 km off -> dropped; B's id says AAA
    km = KM_PER_DEG_LAT  # at the equator one degree of longitude is as long
    pts = gpd.GeoDataFrame({"site_id": ["near", "far", "in_b"], "country_iso3": ["BBB"] * 3},
                           geometry=gpd.points_from_xy([-5 / km, -30 / km, 15.0], [0.5, 5, 5]),
                           crs=WGS84)
    out = sites.place_on_land(pts, boundaries).set_index("site_id")
    assert list(out.index) == ["near", "in_b"]
    assert out.loc["near", "snap_km"] == pytest.approx(5.0, abs=0.05)
    assert out.loc["near", "country_iso3"] == "AAA" and out.loc["in_b", "country_iso3"] == "BBB"
    assert out.loc["in_b", "snap_km"] == 0
    assert boundaries.geometry.iloc[0].contains(out.loc["near", "geometry"])
    # the snapped point is a few metres inland, and lat/lon equal the geometry
    assert 0 < out.loc["near", "lon"] < 0.001
    assert out.loc["near", "geometry"].x == out.loc["near", "lon"]


def test_generated_seed_at_sea_is_snapped_or_left_out(boundaries):
    km = KM_PER_DEG_LAT
    plants = plants_frame([("coast", "hydro", 5.0, -3 / km, 100.0),
                           ("deep", "hydro", 2.0, -40 / km, 500.0)])
    out = sites.generate_sites(plants, boundaries=boundaries, radius_km=10, n_sites=5)
    assert list(out["site_id"]) == ["AAA-001"]
    assert out.loc[0, "snap_km"] == pytest.approx(3.0, abs=0.05)


@pytest.mark.parametrize("content, message", [
    ("id,lat,lon\na,1,2\n", r"missing column\(s\) site_id"),
    ("site_id,lat,lon\na,1,2\nb,95,2\n", "row 3, field lat"),
    ("site_id,lat,lon\na,1,2\na,3,4\n", "row 3, field site_id: expected a unique id"),
    ("site_id,lat,lon\na,north,2\n", "row 2, field lat: expected a number"),
])
def test_read_sites_errors_name_file_row_field(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(SitingError, match=message) as exc:
        sites.read_sites(path)
    assert str(path) in str(exc.value)


def test_read_write_geojson_round_trip(tmp_path):
    gdf = sites.read_sites(_write(tmp_path / "s.csv", "site_id,lat,lon,name\nx,64.1,-21.9,Rvk\n"))
    for suffix in (".geojson", ".gpkg", ".csv"):
        back = sites.read_sites(sites.write_sites(gdf, tmp_path / f"out{suffix}"))
        assert back.crs.to_epsg() == 4326
        assert back.loc[0, "site_id"] == "x" and back.loc[0, "lat"] == pytest.approx(64.1)


def _write(path, text):
    path.write_text(text)
    return path
