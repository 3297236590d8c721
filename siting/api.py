"""Small helpers of the public Python API (re-exported by ``siting``)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from siting.data.validate import check_geoframe
from siting.errors import SitingError
from siting.intensity import yearly_table
from siting.paths import regions_file
from siting.units import WGS84


def default_sites() -> gpd.GeoDataFrame:
    """The embedded candidate sites (renewable clusters and data-centre hubs), EPSG:4326."""
    path = regions_file("sites.geojson")
    return check_geoframe(gpd.read_file(path, engine="pyogrio"), path)


def grid_intensity() -> pd.DataFrame:
    """Yearly grid intensity by country (OWID/Ember): ``country_iso3, country, year, ci_g_per_kwh``."""
    return yearly_table().copy()


def country_outlines() -> gpd.GeoDataFrame:
    """Simplified country outlines (Natural Earth 1:110m) for maps, EPSG:4326."""
    path = regions_file("countries_110m.geojson")
    return check_geoframe(gpd.read_file(path, engine="pyogrio"), path)


def as_sites_geoframe(sites: pd.DataFrame | gpd.GeoDataFrame, name: str = "sites") -> gpd.GeoDataFrame:
    """A GeoDataFrame of points in EPSG:4326 from a GeoDataFrame (any stated CRS) or a DataFrame
    with ``lat``/``lon`` columns (degrees, WGS84). Missing ``site_id`` values become ``site-1``,
    ``site-2``, ...; all other columns are kept."""
    if isinstance(sites, gpd.GeoDataFrame) and sites.geometry.name in sites:
        if sites.crs is None:
            raise SitingError(f"{name}: no CRS stated; expected EPSG:4326 or another stated CRS")
        g = sites.to_crs(WGS84).copy()
        if "lat" not in g or "lon" not in g:
            g["lat"], g["lon"] = g.geometry.y, g.geometry.x
    else:
        missing = [c for c in ("lat", "lon") if c not in sites]
        if missing:
            raise SitingError(f"{name}: missing column(s) {', '.join(missing)}; expected lat and "
                              "lon in degrees (EPSG:4326)")
        df = pd.DataFrame(sites).copy()
        for col, lim in (("lat", 90), ("lon", 180)):
            values = pd.to_numeric(df[col], errors="coerce")
            bad = np.flatnonzero(~values.between(-lim, lim).to_numpy())
            if len(bad):
                raise SitingError(f"{name}: row {bad[0] + 1}, field {col}: expected a number in "
                                  f"[-{lim}, {lim}], got {df[col].iloc[bad[0]]!r}")
            df[col] = values.astype(float)
        g = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=WGS84)
    if "site_id" not in g:
        g.insert(0, "site_id", [f"site-{i}" for i in range(1, len(g) + 1)])
    else:
        g["site_id"] = g["site_id"].astype("string").fillna(
            pd.Series([f"site-{i}" for i in range(1, len(g) + 1)], index=g.index, dtype="string"))
    return check_geoframe(g, name)


def enrich(sites: pd.DataFrame | gpd.GeoDataFrame, *, year: int | None = None,
           radius_km: float | None = None, mirror: str | os.PathLike | None = None,
           cache: str | os.PathLike | None = None, plants: gpd.GeoDataFrame | None = None,
           boundaries: gpd.GeoDataFrame | None = None, intensity: pd.DataFrame | None = None,
           fuels: Sequence[str] | None = None) -> gpd.GeoDataFrame:
    """Add country, grid intensity (with its source), renewables nearby by fuel and the model
    defaults to a list of sites. ``sites`` may be a plain DataFrame with ``lat, lon`` (and
    optionally ``site_id``) or a GeoDataFrame. The datasets it needs are loaded here when not
    given: power plants (GPPD) and country borders (Natural Earth 1:50m) from the cache, the
    mirror (``mirror`` or ``$SITING_MIRROR``) or the network; grid intensity from the embedded
    table. Returns a GeoDataFrame in EPSG:4326 with every input column kept."""
    from siting.data import loaders
    from siting.data import sites as site_data

    g = as_sites_geoframe(sites)
    kw = {"mirror": mirror, "cache": cache}
    if plants is None:
        from siting.data.plants import load_clean_plants

        plants = load_clean_plants(**kw)[0]
    if boundaries is None:
        boundaries = loaders.load_boundaries(**kw)
    extra = {} if fuels is None else {"fuels": tuple(fuels)}
    out = site_data.enrich(g, plants=plants, boundaries=boundaries,
                           intensity=yearly_table() if intensity is None else intensity,
                           year=year, radius_km=radius_km, **extra)
    return gpd.GeoDataFrame(out, geometry=out.geometry.name, crs=out.crs).to_crs(WGS84)
