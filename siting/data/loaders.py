"""Parsers: raw dataset files -> validated, unit-named (Geo)DataFrames in EPSG:4326.

Each loader takes an optional ``path``; without one it reads the cached copy (fetching
it from the mirror or the canonical URL when missing, see :mod:`siting.data.download`).
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting.assumptions import Assumptions, default_assumptions
from siting.data.download import fetch_file
from siting.data.validate import check_geoframe, numeric_column, read_csv, require_columns
from siting.errors import SitingError
from siting.units import HOURS_PER_YEAR, MWH_PER_GWH, WGS84

PathLike = str | os.PathLike

GPPD_FUELS = {
    "Hydro": "hydro", "Wind": "wind", "Geothermal": "geothermal", "Solar": "solar",
    "Nuclear": "nuclear", "Gas": "gas", "Coal": "coal", "Oil": "oil", "Petcoke": "oil",
}
PLANT_COLUMNS = ["plant_id", "name", "country_iso3", "fuel", "gppd_fuel", "capacity_mw",
                 "generation_mwh_per_year", "capacity_factor", "geometry"]


def _path(path: PathLike | None, dataset: str, filename: str, **fetch_kwargs) -> Path:
    return Path(path) if path is not None else fetch_file(dataset, filename, **fetch_kwargs)


def points(df: pd.DataFrame, lon: str, lat: str) -> gpd.GeoSeries:
    return gpd.GeoSeries(gpd.points_from_xy(df[lon], df[lat]), index=df.index, crs=WGS84)


# ---------------------------------------------------------------- GPU specs (Epoch AI)
def load_gpu_specs(path: PathLike | None = None, **fetch_kwargs) -> pd.DataFrame:
    """``gpu, manufacturer, gpu_power_w, release_date`` for accelerators with a TDP."""
    p = _path(path, "epoch-ml-hardware", "ml_hardware.csv", **fetch_kwargs)
    raw = read_csv(p)
    require_columns(raw, ["Hardware name", "Manufacturer", "TDP (W)", "Release date"], p)
    out = pd.DataFrame({
        "gpu": raw["Hardware name"].str.strip(),
        "manufacturer": raw["Manufacturer"].fillna("").str.strip(),
        "gpu_power_w": numeric_column(raw, "TDP (W)", p, lo=0, required=False),
        "release_date": raw["Release date"].fillna(""),
    })
    out = out.dropna(subset=["gpu_power_w"]).drop_duplicates("gpu")
    return out.sort_values("gpu").reset_index(drop=True)


# ---------------------------------------------------------------- yearly grid intensity (OWID)
def load_grid_intensity(path: PathLike | None = None, **fetch_kwargs) -> pd.DataFrame:
    """``country_iso3, country, year, ci_g_per_kwh`` per country and year (world as ``WLD``).

    Aggregates without an ISO3 code (continents, income groups) are dropped."""
    p = _path(path, "owid-carbon-intensity-elec", "carbon-intensity-electricity.csv", **fetch_kwargs)
    raw = read_csv(p)
    ci_col = next((c for c in raw.columns if c.lower().startswith("carbon intensity")), None)
    require_columns(raw, ["Entity", "Code", "Year"], p)
    if ci_col is None:
        raise SitingError(f"{p}: no 'Carbon intensity of electricity' column")
    code = raw["Code"].replace({"OWID_WRL": "WLD"})
    keep = code.str.fullmatch(r"[A-Z]{3}", na=False)
    out = pd.DataFrame({
        "country_iso3": code[keep],
        "country": raw.loc[keep, "Entity"],
        "year": numeric_column(raw, "Year", p, lo=1900, hi=2100)[keep].astype(int),
        "ci_g_per_kwh": numeric_column(raw, ci_col, p, lo=0, hi=2000)[keep],
    })
    return out.sort_values(["country_iso3", "year"]).reset_index(drop=True)


# ---------------------------------------------------------------- plants (GPPD)
def _generation_mwh(raw: pd.DataFrame) -> pd.Series:
    """Newest reported generation, else newest WRI estimate (GWh -> MWh); NaN when none."""
    def years(prefix: str) -> list[str]:
        cols = [c for c in raw.columns if c.startswith(prefix) and c[len(prefix):].isdigit()]
        return sorted(cols, reverse=True)
    cols = years("generation_gwh_") + years("estimated_generation_gwh_")
    if not cols:
        return pd.Series(np.nan, index=raw.index)
    values = raw[cols].apply(pd.to_numeric, errors="coerce")
    return values.bfill(axis=1).iloc[:, 0] * MWH_PER_GWH


def load_plants(path: PathLike | None = None, assumptions: Assumptions | None = None,
                **fetch_kwargs) -> gpd.GeoDataFrame:
    """Power plants worldwide (GPPD v1.3), uncleaned: see ``PLANT_COLUMNS`` (``gppd_fuel`` is
    GPPD's own ``primary_fuel``). Clean them with :func:`siting.data.plants.clean_plants`.

    ``generation_mwh_per_year`` is the plant's newest reported or estimated figure where the
    data has one, else ``capacity_mw`` x the fuel's default capacity factor x 8760 h."""
    assumptions = default_assumptions() if assumptions is None else assumptions
    p = _path(path, "gppd-v1.3", "global_power_plants.csv", **fetch_kwargs)
    raw = read_csv(p, low_memory=False)
    require_columns(raw, ["country", "name", "gppd_idnr", "capacity_mw", "latitude", "longitude",
                          "primary_fuel"], p)
    capacity_mw = numeric_column(raw, "capacity_mw", p, lo=0)
    lat = numeric_column(raw, "latitude", p, lo=-90, hi=90)
    lon = numeric_column(raw, "longitude", p, lo=-180, hi=180)
    fuel = raw["primary_fuel"].map(GPPD_FUELS).fillna("other")
    generation = _generation_mwh(raw)
    default_gen = capacity_mw * fuel.map(assumptions.capacity_factor_by_fuel()) * HOURS_PER_YEAR
    generation = generation.where(generation.notna() & (generation >= 0), default_gen)
    with np.errstate(divide="ignore", invalid="ignore"):
        cf = (generation / (capacity_mw * HOURS_PER_YEAR)).where(capacity_mw > 0)
    df = pd.DataFrame({
        "plant_id": raw["gppd_idnr"].astype(str),
        "name": raw["name"].astype(str),
        "country_iso3": raw["country"].astype(str),
        "fuel": fuel,
        "gppd_fuel": raw["primary_fuel"].astype(str),
        "capacity_mw": capacity_mw,
        "generation_mwh_per_year": generation,
        "capacity_factor": cf,
        "lon": lon,
        "lat": lat,
    })
    gdf = gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]), geometry=points(df, "lon", "lat"))
    return check_geoframe(gdf[PLANT_COLUMNS], p)


def load_jrc_hydro(path: PathLike | None = None, **fetch_kwargs) -> gpd.GeoDataFrame:
    """European hydro plants (JRC): ``plant_id, name, country_iso2, type, capacity_mw,
    storage_capacity_mwh, generation_mwh_per_year, gppd_id, geometry``."""
    p = _path(path, "jrc-hydro", "jrc-hydro-power-plant-database.csv", **fetch_kwargs)
    raw = read_csv(p, encoding="utf-8-sig")
    require_columns(raw, ["id", "name", "installed_capacity_MW", "type", "country_code", "lat",
                          "lon", "storage_capacity_MWh", "avg_annual_generation_GWh", "WRI"], p)
    df = pd.DataFrame({
        "plant_id": raw["id"].astype(str),
        "name": raw["name"].astype(str),
        "country_iso2": raw["country_code"].astype(str),
        "type": raw["type"].astype(str),
        "capacity_mw": numeric_column(raw, "installed_capacity_MW", p, lo=0),
        "storage_capacity_mwh": numeric_column(raw, "storage_capacity_MWh", p, lo=0, required=False),
        "generation_mwh_per_year": numeric_column(raw, "avg_annual_generation_GWh", p, lo=0,
                                                  required=False) * MWH_PER_GWH,
        "gppd_id": raw["WRI"],
        "lon": numeric_column(raw, "lon", p, lo=-180, hi=180),
        "lat": numeric_column(raw, "lat", p, lo=-90, hi=90),
    })
    gdf = gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]), geometry=points(df, "lon", "lat"))
    return check_geoframe(gdf, p)


def load_powerplantmatching(path: PathLike | None = None, **fetch_kwargs) -> gpd.GeoDataFrame:
    """European plants matched across sources (powerplantmatching, CC BY 4.0):
    ``plant_id, name, country, fueltype, technology, set, capacity_mw, gppd_ids, geometry``.

    ``gppd_ids`` holds the GPPD ids (``'GPD'`` entry of ``projectID``) joined by ``;``; rows
    without coordinates are dropped."""
    p = _path(path, "powerplantmatching", "powerplants.csv", **fetch_kwargs)
    raw = read_csv(p, low_memory=False)
    require_columns(raw, ["id", "Name", "Fueltype", "Technology", "Set", "Country", "Capacity",
                          "lat", "lon", "projectID"], p)
    raw = raw[raw["lat"].notna() & raw["lon"].notna()]
    gpd_ids = (raw["projectID"].fillna("").astype(str)
               .str.extract(r"'GPD':\s*\{([^}]*)\}", expand=False).fillna("")
               .str.replace(r"[\s']", "", regex=True).str.replace(",", ";"))
    df = pd.DataFrame({
        "plant_id": "PPM" + raw["id"].astype(str),
        "name": raw["Name"].astype(str),
        "country": raw["Country"].astype(str),
        "fueltype": raw["Fueltype"].astype(str),
        "technology": raw["Technology"].fillna("").astype(str),
        "set": raw["Set"].fillna("").astype(str),
        "capacity_mw": numeric_column(raw, "Capacity", p, lo=0, required=False),
        "gppd_ids": gpd_ids,
        "lon": numeric_column(raw, "lon", p, lo=-180, hi=180),
        "lat": numeric_column(raw, "lat", p, lo=-90, hi=90),
    })
    gdf = gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]), geometry=points(df, "lon", "lat"))
    return check_geoframe(gdf.reset_index(drop=True), p)


# ---------------------------------------------------------------- boundaries (Natural Earth)
def load_boundaries(path: PathLike | None = None, resolution: str = "50m",
                    **fetch_kwargs) -> gpd.GeoDataFrame:
    """Countries: ``country_iso3, name, continent, sovereign, geometry`` (EPSG:4326);
    ``sovereign`` is Natural Earth's SOV_A3 (Puerto Rico and the USA share ``US1``).

    Natural Earth writes ``-99`` as ISO_A3 for some countries (France and Norway at
    1:110m); those take ISO_A3_EH, else ADM0_A3."""
    if resolution not in ("50m", "110m"):
        raise SitingError(f"boundaries resolution must be 50m or 110m, got {resolution!r}")
    p = _path(path, f"natural-earth-{resolution}", f"ne_{resolution}_admin_0_countries.geojson",
              **fetch_kwargs)
    try:
        raw = gpd.read_file(p, engine="pyogrio")
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        raise SitingError(f"{p}: not a readable vector file ({exc})") from exc
    raw.columns = [c if c == "geometry" else c.upper() for c in raw.columns]
    require_columns(raw, ["ISO_A3", "ADM0_A3", "NAME", "CONTINENT"], p)
    iso3 = raw["ISO_A3"].where(raw["ISO_A3"] != "-99")
    if "ISO_A3_EH" in raw:
        iso3 = iso3.fillna(raw["ISO_A3_EH"].where(raw["ISO_A3_EH"] != "-99"))
    iso3 = iso3.fillna(raw["ADM0_A3"])
    sovereign = raw["SOV_A3"] if "SOV_A3" in raw else iso3
    gdf = gpd.GeoDataFrame({"country_iso3": iso3, "name": raw["NAME"],
                            "continent": raw["CONTINENT"], "sovereign": sovereign},
                           geometry=raw.geometry.make_valid(), crs=raw.crs)
    if gdf.crs is None:
        raise SitingError(f"{p}: no CRS stated")
    return check_geoframe(gdf.to_crs(WGS84), p)


# ---------------------------------------------------------------- hourly intensity (Electricity Maps)
_EMAPS_COLS = {
    "time": "Datetime (UTC)",
    "zone": "Zone Id",
    "direct": "Carbon Intensity gCO₂eq/kWh (direct)",
    "lca": "Carbon Intensity gCO₂eq/kWh (LCA)",
    "renewable": "Renewable Percentage",
}


def load_hourly_intensity(path: PathLike | None = None, *, zone: str | None = None,
                          year: int | None = None, **fetch_kwargs) -> pd.DataFrame:
    """Hourly intensity of one zone: ``zone, timestamp_utc, ci_g_per_kwh`` (direct) plus
    ``ci_lifecycle_g_per_kwh`` and ``renewable_pct``. Give a ``path`` or ``zone`` and ``year``.

    Handles files re-saved by spreadsheets (``DD/MM/YYYY HH:MM`` datetimes)."""
    if path is None:
        if zone is None or year is None:
            raise SitingError("load_hourly_intensity needs a path, or a zone and a year")
        path = fetch_file(f"emaps-hourly-{year}", f"{zone}_{year}_hourly.csv", **fetch_kwargs)
    p = Path(path)
    raw = read_csv(p)
    require_columns(raw, list(_EMAPS_COLS.values()), p)
    stamps = raw[_EMAPS_COLS["time"]].astype(str)
    dayfirst = stamps.str.match(r"\d{2}/\d{2}/\d{4}").all()
    fmt = "%d/%m/%Y %H:%M" if dayfirst else "%Y-%m-%d %H:%M:%S"
    try:
        ts = pd.to_datetime(stamps, format=fmt, utc=True)
    except ValueError as exc:
        raise SitingError(f"{p}: field {_EMAPS_COLS['time']}: expected {fmt} ({exc})") from exc
    out = pd.DataFrame({
        "zone": raw[_EMAPS_COLS["zone"]].astype(str),
        "timestamp_utc": ts,
        "ci_g_per_kwh": numeric_column(raw, _EMAPS_COLS["direct"], p, lo=0),
        "ci_lifecycle_g_per_kwh": numeric_column(raw, _EMAPS_COLS["lca"], p, lo=0, required=False),
        "renewable_pct": numeric_column(raw, _EMAPS_COLS["renewable"], p, lo=0, hi=100,
                                        required=False),
    })
    return out.sort_values("timestamp_utc").reset_index(drop=True)


def monthly_mean(hourly: pd.DataFrame) -> pd.DataFrame:
    """Mean intensity per zone and calendar month (1-12): ``zone, month, ci_g_per_kwh, ...``."""
    value_cols = [c for c in ("ci_g_per_kwh", "ci_lifecycle_g_per_kwh", "renewable_pct")
                  if c in hourly]
    month = hourly["timestamp_utc"].dt.month.rename("month")
    return (hourly.groupby([hourly["zone"], month])[value_cols].mean().reset_index())
