"""The embedded default is reproducible from the mirror and within its size budget."""

import filecmp

import pytest

from siting.data import build
from siting.paths import REPO_ROOT, RESOURCES_DIR

REGIONS = REPO_ROOT / "data" / "regions"


@pytest.mark.shared
def test_make_regions_rebuilds_identically(tmp_path, fetch_kwargs):
    written = build.build_all(out=tmp_path, gpu_table=tmp_path / "gpus.csv", **fetch_kwargs)
    for path in written:
        committed = (RESOURCES_DIR if path.name == "gpus.csv" else REGIONS) / path.name
        assert filecmp.cmp(path, committed, shallow=False), f"{path.name} differs from committed"


def test_embedded_default_size_and_content():
    import pandas as pd

    total = sum(p.stat().st_size for p in REGIONS.iterdir())
    assert total <= 3 * 1024 * 1024
    sites = pd.read_csv(REGIONS / "sites.csv")
    clusters = sites[sites["kind"] == "cluster"]
    assert 100 <= len(clusters) <= 300
    assert (sites["kind"] == "hub").sum() >= 20
    assert sites["site_id"].is_unique
    assert "pue" not in sites  # no measured PUE: each run applies its scenario's pue_default
    for col in ("capacity_gpus", "grid_ci_g_per_kwh", "renewable_mwh_per_year",
                "existing_renewable_mwh_per_year", "snap_km"):
        assert sites[col].notna().all(), col
    # the annual credit is labelled as what it is: a share of existing, non-additional output
    assert (sites["renewable_supply_basis"].str.contains("non-additional")).all()
    share = sites["renewable_mwh_per_year"] / sites["existing_renewable_mwh_per_year"]
    assert share[sites["existing_renewable_mwh_per_year"] > 0].round(6).eq(0.1).all()
    # a cluster's id prefix is its country; snaps stay within the 10 km assumption
    assert (clusters["site_id"].str[:3] == clusters["country_iso3"]).all()
    assert sites["snap_km"].between(0, 10).all()
    assert "Electricity Maps" not in (REGIONS / "SOURCES.md").read_text().split("## Datasets")[1]


@pytest.mark.shared
def test_every_default_site_on_land_in_its_country(fetch_kwargs):
    """No default site at sea: each lies inside a Natural Earth 1:50m polygon, whose country
    is the site's ``country_iso3`` (DEU-087 "Gemini" used to lie in NLD waters)."""
    import geopandas as gpd
    import pandas as pd

    from siting.data import loaders

    sites = pd.read_csv(REGIONS / "sites.csv")
    pts = gpd.GeoDataFrame(sites, geometry=gpd.points_from_xy(sites["lon"], sites["lat"]),
                           crs="EPSG:4326")
    b = loaders.load_boundaries(**fetch_kwargs)
    hit = gpd.sjoin(pts, b[["country_iso3", "geometry"]].rename(
        columns={"country_iso3": "polygon_iso3"}), predicate="within")
    assert hit.index.nunique() == len(sites)
    hit = hit[~hit.index.duplicated()]
    assert (hit["polygon_iso3"] == hit["country_iso3"]).all()


@pytest.mark.shared
def test_no_pumped_storage_or_removed_plant_shapes_a_default_site(fetch_kwargs):
    """Sites' existing renewables equal a recount over the cleaned plants, and the hubs the
    issue names lost their pumped storage (Shisanling near Beijing: 1.93 TWh/yr)."""
    import pandas as pd

    from siting.data import plants as plant_data
    from siting.data import sites as site_data

    sites = site_data.read_sites(REGIONS / "sites.csv")
    clean, report = plant_data.load_clean_plants(**fetch_kwargs)
    recount = site_data.renewable_energy_near(sites, clean, 50.0)
    assert recount["existing_renewable_mwh_per_year"].to_numpy() == pytest.approx(
        sites["existing_renewable_mwh_per_year"].to_numpy(), rel=1e-6)
    by_id = sites.set_index("site_id")
    assert by_id.loc["HUB-BEIJING", "existing_renewable_hydro_mwh_per_year"] < 1.9e6
    removed = pd.read_csv(REGIONS / "plants_removed.csv")
    assert set(removed["plant_id"]) == set(report["plant_id"])
