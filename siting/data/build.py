"""Build the embedded default (``data/regions/``) and the GPU table from the datasets.

Only aggregates computed here, from CC BY or public-domain sources (GPPD, OWID/Ember,
Natural Earth, Epoch AI), are written. Electricity Maps data (ODbL/AGPL) is never
written here; it is read at run time from the cache.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd

from siting.assumptions import assumption
from siting.data import loaders, sites
from siting.data.download import atomic_path
from siting.data.registry import get_dataset
from siting.paths import REPO_ROOT, RESOURCES_DIR
from siting.units import WGS84


def write_csv(df: pd.DataFrame, dest: Path, float_format: str = "%.6g") -> Path:
    """Write ``df`` to ``dest`` atomically, with stable float formatting and line endings."""
    with atomic_path(dest) as tmp:
        df.to_csv(tmp, index=False, float_format=float_format, lineterminator="\n")
    return dest


def build_gpu_table(mirror: str | os.PathLike | None = None, cache=None,
                    dest: Path = RESOURCES_DIR / "gpus.csv") -> Path:
    specs = loaders.load_gpu_specs(mirror=mirror, cache=cache)
    return write_csv(specs, dest)


def build_yearly_intensity(mirror=None, cache=None, out: Path = REPO_ROOT / "data" / "regions"
                           ) -> Path:
    table = loaders.load_grid_intensity(mirror=mirror, cache=cache)
    table["ci_g_per_kwh"] = table["ci_g_per_kwh"].round(2)
    return write_csv(table, out / "grid_intensity_yearly.csv")


def build_all(mirror=None, cache=None, out: Path = REPO_ROOT / "data" / "regions",
              gpu_table: Path = RESOURCES_DIR / "gpus.csv") -> list[Path]:
    """Every committed derived file, in a fixed order."""
    out.mkdir(parents=True, exist_ok=True)
    return [
        build_gpu_table(mirror, cache, gpu_table),
        build_yearly_intensity(mirror, cache, out),
        *build_default_sites(mirror, cache, out),
        build_basemap(mirror, cache, out),
        write_sources(out),
    ]


SITE_COLUMNS = ["site_id", "name", "kind", "country_iso3", "lat", "lon", "capacity_gpus", "pue",
                "grid_ci_g_per_kwh", "grid_year", "renewable_mwh_per_year",
                "renewable_ci_g_per_kwh", "renewable_nearby_mwh_per_year",
                "renewable_hydro_mwh_per_year", "renewable_wind_mwh_per_year",
                "renewable_geothermal_mwh_per_year", "renewable_solar_mwh_per_year",
                "dominant_fuel"]


def default_sites(mirror=None, cache=None) -> gpd.GeoDataFrame:
    """The embedded candidate sites: renewable clusters worldwide plus reference hubs."""
    kw = {"mirror": mirror, "cache": cache}
    plants = loaders.load_plants(**kw)
    clusters = sites.generate_sites(plants, n_sites=int(assumption("regions_n_clusters")),
                                    max_per_country=int(assumption("regions_max_per_country")))
    hubs = sites.read_sites(RESOURCES_DIR / "hubs.csv").assign(kind="hub")
    every = pd.concat([clusters, hubs], ignore_index=True)
    every = gpd.GeoDataFrame(every, geometry="geometry", crs=WGS84).drop(columns="country_iso3")
    enriched = sites.enrich(every, plants=plants, boundaries=loaders.load_boundaries(**kw),
                            intensity=loaders.load_grid_intensity(**kw))
    return enriched[SITE_COLUMNS + ["geometry"]]


def build_default_sites(mirror=None, cache=None, out: Path = REPO_ROOT / "data" / "regions"
                        ) -> list[Path]:
    gdf = default_sites(mirror, cache)
    gdf["capacity_gpus"] = gdf["capacity_gpus"].astype(int)
    csv = write_csv(gdf.drop(columns="geometry"), out / "sites.csv", float_format="%.8g")
    geojson = out / "sites.geojson"
    with atomic_path(geojson) as tmp:
        tmp.unlink()
        gdf.to_file(tmp, driver="GeoJSON", engine="pyogrio", COORDINATE_PRECISION=5,
                    WRITE_NAME="NO")
    return [csv, geojson]


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
    dest = out / BASEMAP_FILE
    with atomic_path(dest) as tmp:
        tmp.unlink()
        g.to_file(tmp, driver="GeoJSON", engine="pyogrio", COORDINATE_PRECISION=2, WRITE_NAME="NO")
    return dest


def write_sources(out: Path = REPO_ROOT / "data" / "regions") -> Path:
    """``SOURCES.md``: what each committed file is, and the attribution of what it derives from."""
    used = ["gppd-v1.3", "owid-carbon-intensity-elec", "natural-earth-50m", "natural-earth-110m",
            "epoch-ml-hardware"]
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
        f"| `sites.csv`, `sites.geojson` | candidate sites: the {assumption('regions_n_clusters'):g}"
        " largest renewable clusters"
        f" (hydro, wind, geothermal within {assumption('site_cluster_radius_km'):g} km, at most"
        f" {assumption('regions_max_per_country'):g} per country) and reference data-centre hubs, each with"
        " country, grid intensity (latest year), renewable generation nearby by fuel and model"
        " defaults | GPPD, OWID/Ember, Natural Earth; hub coordinates are siting's own list"
        " (approximate city centres) |",
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
    dest = out / "SOURCES.md"
    with atomic_path(dest) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")
    return dest
