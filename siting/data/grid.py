"""Grid carbon intensity at a site, at the finest resolution the data allows, with provenance.

Where a site is (EPSG:4326 points, spatial joins on ``sindex``):

* its **country** (``country_iso3`` when the sites table has it, else Natural Earth 1:50m from
  the cache/mirror (public domain, used even with ``runtime=False``), else the embedded 1:110m
  outline);
* its **US state** (US Census TIGER/Line 2024, public domain, shipped by the
  ``these-united-states`` package, so it works without the mirror);
* its **Electricity Maps zone** (``electricitymaps-config/world.geojson``, AGPL/ODbL: run time
  only, when the cache or the mirror has it). A ``grid_zone`` column in the sites table (an
  Electricity Maps zone id) overrides the polygon: the polygons are approximate where balancing
  areas interleave (The Dalles, Oregon, lies in the US-NW-PACW polygon, 5 km from US-NW-BPAT,
  while its utility is in Bonneville's balancing area).

What it gets, in this order (first one available wins; every site says which in
``grid_ci_source`` / ``grid_ci_resolution`` / ``grid_ci_zone`` / ``grid_ci_year``):

annual figure (:func:`site_grid_intensity`)
  1. run time: hourly series of its zone for the requested year (Electricity Maps hourly, or an
     EIA-930 balancing area whose code ends the zone id, e.g. ``US-NW-BPAT`` -> BPAT);
  2. run time: the zone's yearly mean (Electricity Maps via co2js);
  3. embedded: Ember monthly of its US state (``US-OR``), hour-weighted over the year;
  4. embedded: Ember monthly of its country;
  5. embedded: OWID/Ember yearly of its country; else the world value.

hourly series on a :class:`~siting.timegrid.TimeGrid` (:func:`site_grid_ci_hourly`)
  1. run time: an hourly series of the zone (another year is mapped by (month, day, hour));
  2. run time: the zone's yearly mean, shaped by the monthly profile of the state/country
     when one exists (scaled so its hour-weighted mean equals the zone mean), else flat;
  3. embedded: Ember monthly (state, then country), flat within each month;
  4. embedded: OWID/Ember yearly, flat.

Basis: every figure is life-cycle gCO2e/kWh (Ember, OWID/Ember and Electricity Maps LCA
values are life-cycle; EIA-930 is recomputed from its fuel mix with siting's IPCC AR5
life-cycle factors). ``grid_ci_basis`` says so on every row. Direct (combustion-only) factors
are never used.

Location-based throughout: the grid average at the site. Output of existing renewable plants
nearby is already inside that average and is not credited here.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting.assumptions import Assumptions
from siting.data import grid_sources as gs
from siting.data.registry import get_dataset
from siting.errors import SitingError
from siting.io import write_table
from siting.paths import regions_dir
from siting.timegrid import TimeGrid
from siting.units import WGS84

PathLike = str | os.PathLike

MONTHLY_FILE = "grid_intensity_monthly.csv"
YEARLY_FILE = "grid_intensity_yearly.csv"
BASEMAP_FILE = "countries_110m.geojson"
EQUAL_AREA = "EPSG:8857"  # Equal Earth, metres: nearest-polygon distances
PROVENANCE = ["grid_ci_source", "grid_ci_resolution", "grid_ci_zone", "grid_ci_year",
              "grid_ci_basis"]
COLUMNS = ["grid_ci_g_per_kwh", *PROVENANCE]
# Ember's state names that differ from the Census layer's
EMBER_STATE_ALIASES = {"Washington, D.C.": "DC"}


# ================================================================ embedded default (build)
def build_grid_tables(mirror: PathLike | None, cache: PathLike | None, out_dir: PathLike,
                      assumptions: Assumptions) -> list[Path]:
    """Write ``grid_intensity_monthly.csv`` (``region, year, month, ci_g_per_kwh``): Ember
    monthly life-cycle intensity of its countries (ISO3) and of the 50 US states + DC
    (``US-XX``), complete calendar years from ``grid_monthly_first_year`` on."""
    kw = {"mirror": mirror, "cache": cache}
    countries = gs.load_ember_country_monthly(**kw)
    states = gs.load_ember_us_state_monthly(**kw)
    codes = gs.load_us_states().set_index("state")["state_code"]
    codes = pd.concat([codes, pd.Series(EMBER_STATE_ALIASES)])
    unknown = sorted(set(states["state"]) - set(codes.index))
    if unknown:
        raise SitingError(f"{gs.EMBER}/{gs.EMBER_USA_FILE}: field state: {unknown[0]!r} is not a "
                          "US state name known to the Census TIGER layer")
    states = states.assign(region="US-" + states["state"].map(codes)).drop(columns="state")
    table = pd.concat([countries, states], ignore_index=True)
    table = table[table["year"] >= int(assumptions["grid_monthly_first_year"])]
    months = table.groupby(["region", "year"])["month"].transform("nunique")
    table = table[months == 12].copy()
    table["ci_g_per_kwh"] = table["ci_g_per_kwh"].round(2)
    table = table.sort_values(["region", "year", "month"]).reset_index(drop=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [write_table(out / MONTHLY_FILE, table[["region", "year", "month", "ci_g_per_kwh"]],
                        float_format="%.6g")]


def _embedded(name: str, regions: PathLike | None = None) -> Path:
    path = Path(regions) / name if regions is not None else regions_dir() / name
    if not path.is_file():
        raise SitingError(f"{path} is missing; rebuild the embedded default with `make regions`")
    return path


def monthly_table(regions: PathLike | None = None) -> pd.DataFrame:
    return pd.read_csv(_embedded(MONTHLY_FILE, regions))


def yearly_table(regions: PathLike | None = None) -> pd.DataFrame:
    return pd.read_csv(_embedded(YEARLY_FILE, regions))


# ================================================================ where a site is
def site_points(sites: pd.DataFrame) -> gpd.GeoDataFrame:
    """The sites as EPSG:4326 points (from ``lat``/``lon``, else a stated-CRS geometry)."""
    if {"lat", "lon"} <= set(sites.columns):
        lat = pd.to_numeric(sites["lat"], errors="coerce")
        lon = pd.to_numeric(sites["lon"], errors="coerce")
        bad = lat.isna() | lon.isna() | ~lat.between(-90, 90) | ~lon.between(-180, 180)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise SitingError(f"sites: row {row + 1}: field lat/lon: expected degrees in "
                              "[-90, 90] / [-180, 180]")
        geom = gpd.points_from_xy(lon, lat)
        return gpd.GeoDataFrame(index=sites.index, geometry=geom, crs=WGS84)
    if isinstance(sites, gpd.GeoDataFrame):
        if sites.crs is None:
            raise SitingError("sites: geometry has no CRS; expected EPSG:4326 or a stated CRS")
        return gpd.GeoDataFrame(index=sites.index, geometry=sites.geometry.to_crs(WGS84))
    raise SitingError("sites: needs lat and lon columns (EPSG:4326) or a point geometry")


def _join(points: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, column: str,
          snap_km: float) -> pd.Series:
    """``column`` of the polygon each point lies in; points outside every polygon take the
    nearest one within ``snap_km`` (coasts, coarse borders), else NaN."""
    if points.crs is None or polygons.crs is None:
        raise SitingError("spatial join: both layers need a CRS")
    if polygons.crs != points.crs:
        polygons = polygons.to_crs(points.crs)
    pts = points[["geometry"]].reset_index(drop=True)
    inside = gpd.sjoin(pts, polygons[[column, "geometry"]], how="left", predicate="within")
    found = inside[~inside.index.duplicated()][column]
    missing = found.isna()
    if missing.any() and snap_km > 0:
        near = gpd.sjoin_nearest(pts[missing.to_numpy()].to_crs(EQUAL_AREA),
                                 polygons[[column, "geometry"]].to_crs(EQUAL_AREA), how="left",
                                 max_distance=snap_km * 1000.0)
        found = found.fillna(near[~near.index.duplicated()][column])
    found.index = points.index
    return found


def _country_polygons(mirror, cache, regions) -> gpd.GeoDataFrame:
    """Natural Earth 1:50m (public domain, the layer sites are enriched with) when the cache or
    mirror has it, whatever ``runtime`` says; else the embedded 1:110m outline (simplified to
    0.05 degree; it lacks small countries such as Singapore)."""
    from siting.data import loaders

    path = gs.available("natural-earth-50m", "ne_50m_admin_0_countries.geojson",
                        mirror=mirror, cache=cache)
    if path is not None:
        return loaders.load_boundaries(path)
    g = gpd.read_file(_embedded(BASEMAP_FILE, regions), engine="pyogrio")
    if g.crs is None:
        raise SitingError(f"{BASEMAP_FILE}: no CRS stated")
    return g.to_crs(WGS84)


def locate_sites(sites: pd.DataFrame, assumptions: Assumptions, *, mirror: PathLike | None = None,
                 cache: PathLike | None = None, runtime: bool = True,
                 regions: PathLike | None = None) -> pd.DataFrame:
    """Per site: ``country_iso3``, ``us_state`` (``US-OR``; NaN outside the US) and
    ``em_zone`` (Electricity Maps zone; NaN without the runtime polygons), indexed like sites."""
    pts = site_points(sites)
    snap = float(assumptions["grid_zone_snap_km"])
    if "country_iso3" in sites.columns:
        country = sites["country_iso3"].astype("string").str.strip().str.upper().replace("", pd.NA)
    else:
        country = pd.Series(pd.NA, index=sites.index, dtype="string")
    if country.isna().any():
        found = _join(pts[country.isna().to_numpy()],
                      _country_polygons(mirror, cache, regions), "country_iso3", snap)
        country = country.fillna(found.astype("string"))
    us = (country == "USA").fillna(False).to_numpy()
    state = pd.Series(np.nan, index=sites.index, dtype=object)
    if us.any():
        states = gs.load_us_states()
        state[us] = ("US-" + _join(pts[us], states, "state_code", snap)).to_numpy()
    zone = pd.Series(np.nan, index=sites.index, dtype=object)
    if runtime:
        path = gs.available(gs.EM_CONFIG, gs.EM_ZONES_FILE, mirror=mirror, cache=cache)
        if path is not None:
            zone = _join(pts, gs.load_em_zones(path), "zone", snap).astype(object)
        if "grid_zone" in sites.columns:  # the user knows the site's zone (e.g. its utility's BA)
            given = sites["grid_zone"].astype("string").str.strip().replace("", pd.NA)
            zone = given.astype(object).where(given.notna(), zone)
    return pd.DataFrame({"country_iso3": country.astype(object), "us_state": state,
                         "em_zone": zone}, index=sites.index)


# ================================================================ table look-ups
def _pick_year(keys: pd.Series, table: pd.DataFrame, key: str, year: int) -> pd.Series:
    """Per key: ``year`` if the table has it, else its latest year before, else its latest."""
    have = table[[key, "year"]].drop_duplicates()
    before = have[have["year"] <= year].groupby(key)["year"].max()
    latest = have.groupby(key)["year"].max()
    return keys.map(before).fillna(keys.map(latest))


def _monthly_values(keys: pd.Series, table: pd.DataFrame, year: int
                    ) -> tuple[np.ndarray, pd.Series]:
    """(S, 12) monthly values (NaN rows where the key has no data) and the data year used."""
    yr = _pick_year(keys, table, "region", year)
    wide = table.pivot_table(index=["region", "year"], columns="month", values="ci_g_per_kwh")
    wide = wide.reindex(columns=range(1, 13))
    idx = pd.MultiIndex.from_arrays([keys.fillna("").to_numpy(),
                                     yr.fillna(-1).astype(int).to_numpy()])
    values = wide.reindex(idx).to_numpy(float)
    return values, yr


def _hour_weights(year: int) -> np.ndarray:
    return TimeGrid.year(int(year)).periods("monthly").hours


def _yearly_values(country: pd.Series, table: pd.DataFrame, year: int
                   ) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(ci, data year, key) from OWID/Ember yearly; unknown countries take the world (WLD)."""
    t = table.rename(columns={"country_iso3": "region"})
    yr = _pick_year(country, t, "region", year)
    lookup = t.set_index(["region", "year"])["ci_g_per_kwh"]
    ci = pd.Series(lookup.reindex(pd.MultiIndex.from_arrays(
        [country.fillna("").to_numpy(), yr.fillna(-1).astype(int).to_numpy()])).to_numpy(),
        index=country.index)
    key = country.where(ci.notna(), "WLD").astype(object)
    wyr = _pick_year(pd.Series(["WLD"]), t, "region", year).iloc[0]
    world = lookup.get(("WLD", int(wyr)), np.nan) if pd.notna(wyr) else np.nan
    yr = yr.where(ci.notna(), wyr)
    return ci.fillna(world), yr, key


def _em_yearly(zones: pd.Series, year: int, mirror, cache) -> tuple[pd.Series, int | None]:
    """Zone yearly means for ``year`` (else the nearest year the cache/mirror has)."""
    registered = [int(f.filename.removeprefix("yearly_").removesuffix(".json"))
                  for f in get_dataset(gs.CO2JS).files]
    years = [y for y in registered
             if gs.available(gs.CO2JS, f"yearly_{y}.json", mirror=mirror, cache=cache, copy=False)]
    if not years or zones.isna().all():
        return pd.Series(np.nan, index=zones.index), None
    use = min(years, key=lambda y: (abs(y - year), -y))
    table = gs.load_em_yearly(use, gs.available(gs.CO2JS, f"yearly_{use}.json", mirror=mirror,
                                                cache=cache))
    return zones.map(table.set_index("zone")["ci_g_per_kwh"]), use


# ================================================================ hourly series (runtime)
def _series_key(zone: pd.Series, sources: pd.DataFrame) -> pd.Series:
    """Which hourly source (``zone`` key in ``sources``) each site's zone has, else NaN."""
    keys = set(sources["zone"])
    direct = zone.where(zone.isin(keys))
    ba = ("BA:" + zone.astype("string").str.rsplit("-", n=1).str[-1]).astype(object)
    ba = ba.where(zone.astype("string").str.startswith("US-").fillna(False) & ba.isin(keys))
    return direct.fillna(ba)


def _load_series(row, assumptions: Assumptions, mirror, cache) -> pd.Series:
    from siting.data import loaders

    path = gs.available(row.dataset, row.filename, mirror=mirror, cache=cache)
    if row.dataset == gs.EIA_BA:
        frame = gs.load_eia_ba_hourly(path, assumptions)
        values = frame["ci_g_per_kwh"]
    else:
        frame = loaders.load_hourly_intensity(path)
        values = frame["ci_lifecycle_g_per_kwh"]
    if values.isna().all():
        raise SitingError(f"{path}: no life-cycle intensity values")
    s = pd.Series(values.to_numpy(float), index=pd.DatetimeIndex(frame["timestamp_utc"]))
    return s[~s.index.duplicated()].interpolate(limit_direction="both")


def _source_label(row, basis_note: str = "") -> str:
    if row.dataset == gs.EIA_BA:
        return (f"EIA-930 {row.zone[3:]} hourly {row.year} fuel mix x siting life-cycle factors"
                + basis_note)
    return f"Electricity Maps hourly {row.year} ({row.zone}, LCA)" + basis_note


def map_by_position(series: pd.Series, grid: TimeGrid) -> np.ndarray:
    """A UTC hourly series onto the grid's hours by (month, day, hour) position; a 29 February
    the source lacks takes 28 February's hour; hours still missing are interpolated."""
    src = series.index.tz_convert("UTC") if series.index.tz is not None else series.index
    src_key = src.month * 10000 + src.day * 100 + src.hour
    lookup = pd.Series(series.to_numpy(float), index=src_key)
    lookup = lookup[~lookup.index.duplicated()]
    ts = grid.timestamps
    key = pd.Index(ts.month * 10000 + ts.day * 100 + ts.hour)
    out = lookup.reindex(key).to_numpy(float, copy=True)
    leap = np.isnan(out) & (np.asarray(ts.month) == 2) & (np.asarray(ts.day) == 29)
    if leap.any():
        out[leap] = lookup.reindex(key[leap] - 100).to_numpy(float)
    return pd.Series(out).interpolate(limit_direction="both").to_numpy(float)


def _txt(values: pd.Series) -> pd.Series:
    """Keys as Python strings for labels (missing -> empty), whatever the pandas string dtype."""
    return values.astype(object).where(values.notna(), "").map(str)


def _yearly_label(years: pd.Series, keys: pd.Series) -> np.ndarray:
    what = _txt(keys).where(keys != "WLD", "world: no data for the country")
    return ("OWID/Ember yearly " + years.fillna(-1).astype(int).astype(str) + " (" + what
            + ")").to_numpy()


# ================================================================ public API
def _base(sites, assumptions, mirror, cache, runtime, year, regions, yearly=None):
    loc = locate_sites(sites, assumptions, mirror=mirror, cache=cache, runtime=runtime,
                       regions=regions)
    monthly = monthly_table(regions)
    state_m, state_yr = _monthly_values(loc["us_state"], monthly, year)
    country_m, country_yr = _monthly_values(loc["country_iso3"], monthly, year)
    yearly = yearly_table(regions) if yearly is None else yearly
    y_ci, y_yr, y_key = _yearly_values(loc["country_iso3"], yearly, year)
    return loc, (state_m, state_yr), (country_m, country_yr), (y_ci, y_yr, y_key)


def site_grid_intensity(sites: pd.DataFrame, assumptions: Assumptions, *,
                        mirror: PathLike | None = None, cache: PathLike | None = None,
                        year: int | None = None, runtime: bool = True,
                        regions: PathLike | None = None, yearly: pd.DataFrame | None = None
                        ) -> pd.DataFrame:
    """Annual location-based grid intensity at each site (life-cycle gCO2e/kWh) with its
    provenance: ``grid_ci_g_per_kwh, grid_ci_source, grid_ci_resolution, grid_ci_zone,
    grid_ci_year, grid_ci_basis``, indexed like ``sites``. ``runtime=False`` uses only the
    embedded default (``data/regions``); ``year`` defaults to ``grid_ci_year_default``;
    ``yearly`` replaces the embedded yearly country table (``country_iso3, year,
    ci_g_per_kwh``, world as WLD) for the last fallback."""
    year = int(assumptions["grid_ci_year_default"] if year is None else year)
    loc, (state_m, state_yr), (country_m, country_yr), (y_ci, y_yr, y_key) = _base(
        sites, assumptions, mirror, cache, runtime, year, regions, yearly)
    n = len(sites)
    ci = np.full(n, np.nan)
    src = np.full(n, None, dtype=object)
    res = np.full(n, None, dtype=object)
    zone = np.full(n, None, dtype=object)
    yr = np.full(n, -1, dtype=int)

    def take(mask, values, source, resolution, zones, years):
        mask = np.asarray(mask, bool) & np.isnan(ci) & ~np.isnan(np.asarray(values, float))
        ci[mask] = np.asarray(values, float)[mask]
        src[mask] = np.asarray(source, dtype=object)[mask] if np.ndim(source) else source
        res[mask] = resolution
        zone[mask] = np.asarray(zones, dtype=object)[mask]
        yr[mask] = np.asarray(years)[mask]

    if runtime:
        sources = gs.hourly_sources(mirror, cache)
        same = sources[sources["year"] == year]
        key = _series_key(loc["em_zone"], same)
        for row in same[same["zone"].isin(set(key.dropna()))].itertuples():  # a few files
            mask = (key == row.zone).to_numpy()
            mean = float(_load_series(row, assumptions, mirror, cache).mean())
            take(mask, np.full(n, mean), _source_label(row), "hourly",
                 np.full(n, row.zone.replace("BA:", "EIA-930 ")), np.full(n, row.year))
        em, em_year = _em_yearly(loc["em_zone"], year, mirror, cache)
        if em_year is not None:
            take(np.ones(n), em.to_numpy(float),
                 (f"Electricity Maps yearly {em_year} (" + _txt(loc["em_zone"]) + ")").to_numpy(),
                 "yearly", loc["em_zone"].to_numpy(), np.full(n, em_year))
    w = _hour_weights(year)
    for values, yrs, keys in ((state_m, state_yr, loc["us_state"]),
                              (country_m, country_yr, loc["country_iso3"])):
        annual = values @ w / w.sum()
        label = ("Ember monthly " + yrs.fillna(-1).astype(int).astype(str) + " ("
                 + _txt(keys) + ")").to_numpy()
        take(np.ones(n), annual, label, "monthly", keys.to_numpy(), yrs.fillna(-1).to_numpy())
    label = _yearly_label(y_yr, y_key)
    take(np.ones(n), y_ci.to_numpy(float), label, "yearly", y_key.to_numpy(),
         y_yr.fillna(-1).to_numpy())
    if np.isnan(ci).any():
        row = int(np.flatnonzero(np.isnan(ci))[0])
        raise SitingError(f"sites: row {row + 1}: no grid intensity found (not even the world "
                          "value); rebuild the embedded default with `make regions`")
    return pd.DataFrame({"grid_ci_g_per_kwh": ci, "grid_ci_source": src,
                         "grid_ci_resolution": res, "grid_ci_zone": zone,
                         "grid_ci_year": yr, "grid_ci_basis": gs.LIFECYCLE}, index=sites.index)


def site_grid_ci_hourly(sites: pd.DataFrame, grid: TimeGrid, assumptions: Assumptions, *,
                        mirror: PathLike | None = None, cache: PathLike | None = None,
                        runtime: bool = True, regions: PathLike | None = None
                        ) -> tuple[np.ndarray, pd.DataFrame]:
    """(S, grid.n_hours) life-cycle gCO2e/kWh at each site on the grid's hours, and one
    provenance row per site (``site_id`` + the ``grid_ci_*`` provenance columns).

    Hourly series where the zone has one (another year mapped by (month, day, hour) position,
    said in the source); else the zone's yearly mean shaped by the state's/country's Ember
    monthly profile (run time); else Ember monthly flat within each month; else yearly flat."""
    year = int(grid.start.year)
    loc, (state_m, state_yr), (country_m, country_yr), (y_ci, y_yr, y_key) = _base(
        sites, assumptions, mirror, cache, runtime, year, regions)
    n, T = len(sites), grid.n_hours
    out = np.full((n, T), np.nan)
    done = np.zeros(n, bool)
    src = np.full(n, None, dtype=object)
    res = np.full(n, None, dtype=object)
    zone = np.full(n, None, dtype=object)
    yr = np.full(n, -1, dtype=int)
    month_of_hour = grid.month - 1
    # monthly profile per site: state first, then country
    has_state = ~np.isnan(state_m).any(axis=1)
    prof = np.where(has_state[:, None], state_m, country_m)
    prof_key = np.where(has_state, _txt(loc["us_state"]), _txt(loc["country_iso3"]))
    prof_yr = np.where(has_state, state_yr.fillna(-1), country_yr.fillna(-1)).astype(int)
    has_prof = ~np.isnan(prof).any(axis=1)

    if runtime:
        sources = gs.hourly_sources(mirror, cache)
        # prefer the grid's year, else the latest year the zone has
        sources = sources.assign(pref=(sources["year"] != year).astype(int),
                                 neg_year=-sources["year"])
        sources = sources.sort_values(["pref", "neg_year"]).drop_duplicates("zone")
        key = _series_key(loc["em_zone"], sources)
        for row in sources[sources["zone"].isin(set(key.dropna()))].itertuples():
            mask = (key == row.zone).to_numpy() & ~done
            series = _load_series(row, assumptions, mirror, cache)
            out[mask] = map_by_position(series, grid)
            note = "" if row.year == year else f", mapped by (month, day, hour) onto {year}"
            src[mask] = _source_label(row, note)
            res[mask], yr[mask] = "hourly", row.year
            zone[mask] = row.zone.replace("BA:", "EIA-930 ")
            done |= mask
        em, em_year = _em_yearly(loc["em_zone"], year, mirror, cache)
        if em_year is not None:
            mask = ~done & em.notna().to_numpy()
            # monthly shape (or flat) scaled so its hour-weighted mean is the zone mean
            shaped = np.where(has_prof[:, None], prof[:, month_of_hour], 1.0)
            scale = em.to_numpy(float) / shaped.mean(axis=1)
            out[mask] = (shaped * scale[:, None])[mask]
            zones = _txt(loc["em_zone"]).to_numpy()
            shape_note = np.where(has_prof, "; monthly shape of Ember " + prof_key + " "
                                  + prof_yr.astype(str).astype(object), "")
            src[mask] = (f"Electricity Maps yearly {em_year} (" + zones + ")" + shape_note)[mask]
            res[mask] = np.where(has_prof, "monthly", "yearly")[mask]
            zone[mask], yr[mask] = zones[mask], em_year
            done |= mask
    mask = ~done & has_prof
    out[mask] = prof[:, month_of_hour][mask]
    src[mask] = ("Ember monthly " + prof_yr.astype(str).astype(object) + " (" + prof_key + ")")[mask]
    res[mask], zone[mask], yr[mask] = "monthly", prof_key[mask], prof_yr[mask]
    done |= mask
    mask = ~done
    out[mask] = y_ci.to_numpy(float)[mask, None]
    src[mask] = _yearly_label(y_yr, y_key)[mask]
    res[mask], zone[mask] = "yearly", y_key.to_numpy()[mask]
    yr[mask] = y_yr.fillna(-1).astype(int).to_numpy()[mask]
    if np.isnan(out).any():
        row = int(np.flatnonzero(np.isnan(out).any(axis=1))[0])
        raise SitingError(f"sites: row {row + 1}: no grid intensity found; rebuild the "
                          "embedded default with `make regions`")
    ids = sites["site_id"].to_numpy() if "site_id" in sites else np.asarray(sites.index)
    prov = pd.DataFrame({"site_id": ids, "grid_ci_source": src, "grid_ci_resolution": res,
                         "grid_ci_zone": zone, "grid_ci_year": yr,
                         "grid_ci_basis": gs.LIFECYCLE})
    return out, prov
