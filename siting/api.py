"""Small helpers of the public Python API (re-exported by ``siting``)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from siting.data.validate import check_geoframe
from siting.intensity import yearly_table
from siting.paths import regions_file


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
