"""Build the embedded default (``data/regions/``) and the GPU table from the datasets.

Only aggregates computed here, from CC BY or public-domain sources (GPPD, JRC hydro,
powerplantmatching, OWID/Ember, Natural Earth, Epoch AI), are written. Electricity Maps
data (ODbL/AGPL) is never written here; it is read at run time from the cache.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd

from siting.assumptions import Assumptions, default_assumptions
from siting.data import loaders, plants, sites
from siting.data.grid import build_grid_tables
from siting.data.profile_sources import build_profiles
from siting.data.registry import get_dataset
from siting.io import write_geojson, write_table, write_text
from siting.paths import REPO_ROOT, RESOURCES_DIR
from siting.units import WGS84


def build_gpu_table(mirror: str | os.PathLike | None = None, cache=None,
                    dest: Path = RESOURCES_DIR / "gpus.csv") -> Path:
    specs = loaders.load_gpu_specs(mirror=mirror, cache=cache)
    return write_table(dest, specs, float_format="%.6g")


def build_yearly_intensity(mirror=None, cache=None, out: Path = REPO_ROOT / "data" / "regions"
                           ) -> Path:
    table = loaders.load_grid_intensity(mirror=mirror, cache=cache)
    table["ci_g_per_kwh"] = table["ci_g_per_kwh"].round(2)
    return write_table(out / "grid_intensity_yearly.csv", table, float_format="%.6g")


def build_all(mirror=None, cache=None, out: Path = REPO_ROOT / "data" / "regions",
              gpu_table: Path = RESOURCES_DIR / "gpus.csv",
              assumptions: Assumptions | None = None) -> list[Path]:
    """Every committed derived file, in a fixed order."""
    assumptions = default_assumptions() if assumptions is None else assumptions
    out.mkdir(parents=True, exist_ok=True)
    return [
        build_gpu_table(mirror, cache, gpu_table),
        build_yearly_intensity(mirror, cache, out),
        *build_grid_tables(mirror, cache, out, assumptions),
        *build_default_sites(mirror, cache, out, assumptions),
        build_basemap(mirror, cache, out),
        *build_profiles(mirror, cache, out, assumptions),
        write_sources(out, assumptions),
    ]


# No ``pue`` column: no embedded site has a measured PUE, so each run applies its scenario's
# ``pue_default`` (a PUE stamped in at build time would hide that assumption from studies).
SITE_COLUMNS = ["site_id", "name", "kind", "country_iso3", "lat", "lon", "snap_km",
                "capacity_gpus", "grid_ci_g_per_kwh", "grid_year", "grid_ci_source",
                "grid_ci_resolution", "grid_ci_zone", "grid_ci_basis",
                "renewable_mwh_per_year", "renewable_ci_g_per_kwh", "renewable_supply_basis",
                "existing_renewable_mwh_per_year", "existing_renewable_hydro_mwh_per_year",
                "existing_renewable_wind_mwh_per_year",
                "existing_renewable_geothermal_mwh_per_year",
                "existing_renewable_solar_mwh_per_year", "dominant_fuel"]
PLANT_REPORT_FILE = "plants_removed.csv"


def default_sites(mirror=None, cache=None, assumptions: Assumptions | None = None
                  ) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The embedded candidate sites: renewable clusters worldwide plus reference hubs, all on
    land (Natural Earth 1:50m; snapped to the coast within ``site_snap_max_km`` or dropped),
    built from cleaned plants. Returns ``(sites, plant report)``."""
    assumptions = default_assumptions() if assumptions is None else assumptions
    kw = {"mirror": mirror, "cache": cache}
    boundaries = loaders.load_boundaries(**kw)
    clean, report = plants.load_clean_plants(assumptions, **kw)
    clusters = sites.generate_sites(clean, boundaries=boundaries,
                                    n_sites=int(assumptions["regions_n_clusters"]),
                                    max_per_country=int(assumptions["regions_max_per_country"]),
                                    assumptions=assumptions)
    hubs = sites.read_sites(RESOURCES_DIR / "hubs.csv").assign(kind="hub")
    hubs = sites.place_on_land(hubs, boundaries, assumptions)
    every = pd.concat([clusters, hubs], ignore_index=True)
    every = gpd.GeoDataFrame(every, geometry="geometry", crs=WGS84)
    enriched = sites.enrich(every, plants=clean, boundaries=boundaries,
                            intensity=loaders.load_grid_intensity(**kw), assumptions=assumptions)
    return enriched[SITE_COLUMNS + ["geometry"]], report


def build_default_sites(mirror=None, cache=None, out: Path = REPO_ROOT / "data" / "regions",
                        assumptions: Assumptions | None = None) -> list[Path]:
    gdf, report = default_sites(mirror, cache, assumptions)
    gdf["capacity_gpus"] = gdf["capacity_gpus"].astype(int)
    csv = write_table(out / "sites.csv", gdf.drop(columns="geometry"), float_format="%.8g")
    rep = write_table(out / PLANT_REPORT_FILE, report, float_format="%.8g")
    return [csv, write_geojson(out / "sites.geojson", gdf, COORDINATE_PRECISION=5), rep]


BASEMAP_FILE = "countries_110m.geojson"
BASEMAP_TOLERANCE_DEG = 0.05  # map drawing only: simplification and grid of the outline
BASEMAP_GRID_DEG = 0.01


def build_basemap(mirror=None, cache=None, out: Path = REPO_ROOT / "data" / "regions") -> Path:
    """Country outlines for the offline report map (Natural Earth 1:110m, simplified)."""
    import shapely

    b = loaders.load_boundaries(resolution="110m", mirror=mirror, cache=cache)
    g = b[["country_iso3", "name", "geometry"]].copy()
    g["geometry"] = shapely.set_precision(g.geometry.simplify(BASEMAP_TOLERANCE_DEG).values,
                                          BASEMAP_GRID_DEG)
    g = g[~g.geometry.is_empty]
    return write_geojson(out / BASEMAP_FILE, g, COORDINATE_PRECISION=2)


def write_sources(out: Path = REPO_ROOT / "data" / "regions",
                  assumptions: Assumptions | None = None) -> Path:
    """``SOURCES.md``: what each committed file is, and the attribution of what it derives from."""
    a = default_assumptions() if assumptions is None else assumptions
    used = ["gppd-v1.3", "jrc-hydro", "powerplantmatching", "owid-carbon-intensity-elec",
            "ember-monthly", "natural-earth-50m", "natural-earth-110m", "epoch-ml-hardware"]
    lines = [
        "# Sources of the embedded default (`data/regions/`)",
        "",
        "Generated by `make regions` (`siting data build-regions`) from the datasets below; only",
        "aggregates computed by siting are stored here, no raw dataset file. Electricity Maps",
        "data (ODbL/AGPL) is never stored here: it is read at run time from the cache.",
        "",
        "| file | what | derived from |",
        "|---|---|---|",
        "| `grid_intensity_yearly.csv` | country, year, gCO2e/kWh of generation (countries with"
        " an ISO3 code; world as WLD) | OWID/Ember |",
        "| `grid_intensity_monthly.csv` | region (ISO3 country, or US-XX for the 50 US states, DC"
        " and Puerto Rico), year, month, life-cycle gCO2e/kWh; complete years from"
        f" {a['grid_monthly_first_year']:g} | Ember monthly (CC BY 4.0); US state codes"
        " from the US Census Bureau's TIGER/Line 2024 states (public domain) |",
        f"| `sites.csv`, `sites.geojson` | candidate sites: the {a['regions_n_clusters']:g}"
        " largest renewable clusters"
        f" (hydro, wind, geothermal within {a['site_cluster_radius_km']:g} km, at most"
        f" {a['regions_max_per_country']:g} per country; built from cleaned plants, see"
        f" `{PLANT_REPORT_FILE}`; offshore wind counts as supply but never seeds a site) and"
        " reference data-centre hubs. Every site lies inside a Natural Earth 1:50m country"
        f" polygon (a point at sea within {a['site_snap_max_km']:g} km of the coast is moved"
        " to the coast, `snap_km` says how far; farther ones are dropped); `country_iso3` and"
        " the id prefix come from that polygon. Each has grid intensity (latest year), model"
        " defaults and `existing_renewable_*`: the yearly generation of existing renewable"
        f" plants within {a['site_radius_km']:g} km, by fuel. That output is already in the grid"
        " average: **existing, non-additional supply**. `renewable_mwh_per_year` is"
        f" {a['site_renewable_share_available']:g} x that figure, the annually matched,"
        " non-additional credit the annual model can apply (`renewable_supply_basis` labels it);"
        " it is not procured clean supply | GPPD, JRC hydro, powerplantmatching, OWID/Ember,"
        " Natural Earth; hub coordinates are siting's own list (approximate city centres) |",
        f"| `{PLANT_REPORT_FILE}` | every plant removed or flagged before sites are built, one"
        " row per plant and reason (pumped storage by GPPD fuel / JRC type HPHS /"
        " powerplantmatching technology / name / siting's list / low generation; duplicates;"
        " co-located records; coordinates outside the own country; known misplaced records;"
        " offshore wind kept as supply only), with the related record | GPPD, JRC hydro,"
        " powerplantmatching, Natural Earth |",
        f"| `{BASEMAP_FILE}` | country outlines for the report map, simplified to"
        f" {BASEMAP_TOLERANCE_DEG:g} degrees | Natural Earth 1:110m |",
        "| `../../siting/resources/gpus.csv` | accelerator board power (TDP, W) | Epoch AI |",
        "",
        "## Datasets, licences and attribution",
        "",
    ]
    for name in used:
        ds = get_dataset(name)
        urls = ", ".join(f.url for f in ds.files)
        lines += [f"- **{ds.title}** ({ds.licence}). {ds.attribution}. <{urls}>"]
    lines += ["", "Default numbers (lifecycle factors, capacity factors, PUE, capacity) come from"
              " `siting/resources/assumptions.csv`, which cites a source for each.", ""]
    return write_text(out / "SOURCES.md", "\n".join(lines))
