"""Hourly supply profiles per site and technology, with provenance.

:func:`site_profiles` gives, for every site and technology, an hourly capacity factor in
[0, 1] on a :class:`~siting.timegrid.TimeGrid` (MW produced per MW installed, hour by hour,
UTC), and says where each series comes from. A site takes the first of:

1. **measured**: the series of the zone the site lies in:
   * EIA-930 balancing area (2022; ``wind_onshore``, ``solar_pv``, hydro), a site being in a
     BA when it lies in the USA and within the BA's approximate footprint circle
     (``siting/resources/profile_zones_eia.csv``; the nearest centre wins where circles overlap);
   * Dispa-SET zone = the site's country (2016; ``solar_pv``, ``wind_onshore``,
     ``wind_offshore``, ``hydro_ror``; run time only, EUPL).
2. **modelled** (solar, hydro, geothermal only):
   * ``solar_pv``: pvlib clear-sky (Ineichen, fixed Linke turbidity; sun position by pvlib's
     ephemeris method, within 0.4 degrees of NREL SPA) irradiance on a fixed
     plane tilted at the site's latitude facing the equator, at the middle of each UTC hour at
     the site's own latitude and longitude, DC losses and a DC/AC ratio with inverter clipping,
     scaled so its annual capacity factor equals the country's GPPD-implied solar capacity
     factor (or ``capacity_factor_solar``). Zero whenever the sun is below the horizon.
   * ``geothermal``: flat at the country's GPPD-implied geothermal capacity factor (or
     ``capacity_factor_geothermal``).
   * hydro: the country's PLEXOS-World monthly capacity factors (run time only), else flat at
     the country's GPPD-implied hydro capacity factor (or ``capacity_factor_hydro``).
3. **proxy** (wind): the measured series of the same technology whose zone's reference point is
   nearest (haversine), with ``proxy_distance_km``, if within ``profile_proxy_max_distance_km``
   (no limit by default).
4. **unavailable**: no series of that technology exists in the sources used (offshore wind
   without the run-time Dispa-SET data), or none near enough: all zeros, so nothing of it can be
   procured.

``hydro_reservoir`` is *monthly energy*: its hourly values are the month's mean capacity factor,
flat within the month, and a model may shift that energy between the hours of the month
(provenance ``shiftable_within = "month"``). ``hydro_ror`` is hourly as given and may not be
shifted (``shiftable_within = "none"``); from EIA-930 it is the BA's whole hydro fleet hour by
hour (EIA-930 does not separate run-of-river from reservoir plants).

A source from another year than the grid's is placed on the grid by (month, day, hour of the
day, UTC); a 29 February missing in the source takes 28 February. ``profile_source`` says so.

Known limits (see :mod:`siting.data.profile_sources`): EIA-930 capacity factors divide by a
high quantile of the BA's own output, not its nameplate capacity, so they are upper bounds
(wind 0.27-0.49 against about 0.35 for the US fleet in GPPD); clear-sky solar has the right
daily and seasonal shape but no weather, so hour-by-hour matching against it is optimistic;
wind proxies can be thousands of km away (``proxy_distance_km`` says how far).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from siting.assumptions import Assumptions
from siting.data import profile_sources as src
from siting.errors import SitingError
from siting.geo import haversine_km
from siting.timegrid import TimeGrid

TECHNOLOGIES = src.TECHNOLOGIES
PROFILE_KINDS = ("measured", "modelled", "proxy", "unavailable")
PROVENANCE_COLUMNS = ["site_id", "technology", "profile_kind", "profile_source", "profile_resolution",
                      "proxy_distance_km", "annual_cf", "grid_mean_cf", "shiftable_within"]
SHIFTABLE_WITHIN_MONTH = ("hydro_reservoir",)  # energy a model may move between hours of a month
MODELLED = ("solar_pv", "geothermal", "hydro_ror", "hydro_reservoir")
_FUEL = {"solar_pv": "solar", "geothermal": "geothermal", "hydro_ror": "hydro",
         "hydro_reservoir": "hydro", "wind_onshore": "wind", "wind_offshore": "wind"}


@dataclass(frozen=True)
class MeasuredSeries:
    """One measured capacity-factor series on its own source calendar."""

    dataset: str
    zone: str
    technology: str
    column: str
    lat: float
    lon: float
    country_iso3: str  # a site must lie in this country (Dispa-SET: the zone is the country)
    radius_km: float | None  # and, for a BA, within this distance of (lat, lon): its footprint
    values: pd.Series  # hourly CF, UTC index over one calendar year

    @property
    def year(self) -> int:
        return int(self.values.index[0].year)


# ---------------------------------------------------------------- calendar mapping
def source_positions(source_index: pd.DatetimeIndex, grid: TimeGrid) -> np.ndarray:
    """For each grid hour, the position in ``source_index`` (one calendar year, UTC) with the same
    month, day and hour of the day; 29 February takes 28 February where the source lacks it."""
    def key(ts: pd.DatetimeIndex) -> np.ndarray:
        return (ts.month * 10000 + ts.day * 100 + ts.hour).to_numpy()

    src_key = pd.Index(key(source_index))
    if not src_key.is_unique:
        raise SitingError("profile source: duplicate (month, day, hour) in its calendar")
    grid_key = key(grid.timestamps)
    if 22900 not in src_key:  # 29 February 00h absent: non-leap source
        leap = (grid_key // 100) == 229
        grid_key = np.where(leap, grid_key - 100, grid_key)  # 0229hh -> 0228hh
    pos = src_key.get_indexer(grid_key)
    if (pos < 0).any():
        raise SitingError("profile source does not cover every (month, day, hour) of the grid")
    return pos


def _on_grid(series: pd.Series, grid: TimeGrid) -> np.ndarray:
    return series.to_numpy(dtype=float)[source_positions(series.index, grid)]


def _monthly_on_grid(series: pd.Series, grid: TimeGrid) -> np.ndarray:
    """The series' calendar-month means, flat within each month of the grid."""
    means = series.groupby(series.index.month).mean()
    return means.reindex(range(1, 13)).to_numpy(dtype=float)[grid.month - 1]


def _year_note(source_year: int, grid: TimeGrid) -> str:
    years = sorted({grid.start.year, (grid.end - pd.Timedelta(hours=1)).year})
    if years == [source_year]:
        return f"{source_year}"
    span = "-".join(str(y) for y in dict.fromkeys([years[0], years[-1]]))
    return f"{source_year} placed on {span} by (month, day, hour)"


# ---------------------------------------------------------------- modelled solar
def clear_sky_pv(lat, lon, grid: TimeGrid, target_cf, assumptions: Assumptions
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Clear-sky PV capacity factors (per MW AC) at sites ``lat, lon`` (arrays of S) on ``grid``,
    each scaled so that its mean over the calendar year of ``grid.start`` is ``target_cf``.

    Returns ``(values (S, grid.n_hours), year_cf (S,))``. Values are for the middle of each UTC
    hour and zero whenever the sun is below the horizon there."""
    import pvlib

    lat, lon = np.atleast_1d(np.asarray(lat, float)), np.atleast_1d(np.asarray(lon, float))
    target = np.broadcast_to(np.asarray(target_cf, float), lat.shape)
    first = grid.start.year
    last = (grid.end - pd.Timedelta(hours=1)).year
    span = TimeGrid.between(pd.Timestamp(year=first, month=1, day=1, tz="UTC"),
                            pd.Timestamp(year=last + 1, month=1, day=1, tz="UTC"))
    mid = span.timestamps + pd.Timedelta(minutes=30)  # each value is the hour [t, t+1)
    zenith = np.empty((lat.size, span.n_hours))
    azimuth = np.empty_like(zenith)
    for i in range(lat.size):  # pvlib's sun position takes one place at a time
        pos = pvlib.solarposition.get_solarposition(mid, lat[i], lon[i], method="ephemeris")
        zenith[i], azimuth[i] = pos["apparent_zenith"].to_numpy(), pos["azimuth"].to_numpy()
    # the rest is element-wise numpy over (sites, hours)
    dni_extra = pvlib.irradiance.get_extra_radiation(mid).to_numpy()[None, :]
    airmass = pvlib.atmosphere.get_absolute_airmass(
        pvlib.atmosphere.get_relative_airmass(zenith), pvlib.atmosphere.alt2pres(0.0))
    with np.errstate(divide="ignore", invalid="ignore"):  # night hours: airmass NaN, set to 0 below
        cs = pvlib.clearsky.ineichen(zenith, airmass, assumptions["profile_solar_linke_turbidity"],
                                     altitude=0.0, dni_extra=dni_extra)
    tilt = np.abs(lat)[:, None]
    surface_azimuth = np.where(lat >= 0, 180.0, 0.0)[:, None]  # facing the equator
    poa = pvlib.irradiance.get_total_irradiance(
        tilt, surface_azimuth, zenith, azimuth, cs["dni"], cs["ghi"], cs["dhi"],
        model="isotropic")["poa_global"]
    up = zenith < 90.0
    dc = np.where(up, np.nan_to_num(np.asarray(poa, float)), 0.0) / 1000.0  # per unit of STC
    raw = np.clip(dc * (1.0 - assumptions["profile_solar_losses_share"])
                  * assumptions["profile_solar_dc_ac_ratio"], 0.0, None)
    year_raw = raw[:, :TimeGrid.year(first).n_hours]
    ceiling = (year_raw > 0).mean(axis=1)
    bad = ~((target > 0) & (target < ceiling))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SitingError(f"solar profile at ({lat[i]:.3f}, {lon[i]:.3f}): annual capacity factor "
                          f"{target[i]:.3f} is not reachable (daylight share {ceiling[i]:.3f})")
    # scale k per site with mean(min(k * raw, 1)) = target: bisection, monotone in k
    lo = np.zeros(lat.size)
    hi = np.full(lat.size, 1.0 / max(float(year_raw[year_raw > 0].min()), 1e-12))
    for _ in range(100):
        k = 0.5 * (lo + hi)
        above = np.minimum(k[:, None] * year_raw, 1.0).mean(axis=1) > target
        hi, lo = np.where(above, k, hi), np.where(above, lo, k)
    k = 0.5 * (lo + hi)
    values = np.minimum(k[:, None] * raw, 1.0)
    year_cf = np.minimum(k[:, None] * year_raw, 1.0).mean(axis=1)
    offset = int((grid.start - span.start) / pd.Timedelta(hours=1))
    return values[:, offset:offset + grid.n_hours], year_cf


# ---------------------------------------------------------------- sources in one place
@dataclass
class _Sources:
    measured: dict[str, list[MeasuredSeries]]  # technology -> series
    country_cf: pd.DataFrame  # country_iso3, fuel, capacity_mw, annual_cf (GPPD)
    plexos: pd.DataFrame | None  # country_iso3, m1..m12

    def __post_init__(self):
        self.country_lookup = {(r["country_iso3"], r["fuel"]): r
                               for r in self.country_cf.to_dict("records")}
        self.plexos_lookup = ({} if self.plexos is None else
                              {r["country_iso3"]: r for r in self.plexos.to_dict("records")})
        self.on_grid: dict[tuple, np.ndarray] = {}  # measured series placed on the grid, by key


def _gather(runtime: bool, mirror, cache, assumptions: Assumptions) -> _Sources:
    embedded = src.load_embedded(assumptions=None if runtime else assumptions)
    zones = src.eia_zones().set_index("ba")
    measured: dict[str, list[MeasuredSeries]] = {t: [] for t in TECHNOLOGIES}
    plexos = None
    if runtime:
        rt = src.load_runtime(cache, int(assumptions["profile_eia_year"]), mirror=mirror,
                              assumptions=assumptions)
        eia_hourly = rt["eia_hourly"]
        points = rt["dispaset_zones"].set_index("zone")
        for key in rt["dispaset_hourly"].columns:
            zone, tech = src.split_key(key)
            measured[tech].append(MeasuredSeries(
                "dispaset-af-2016", zone, tech, src.DISPASET_COLUMNS[tech],
                float(points.at[zone, "lat"]), float(points.at[zone, "lon"]),
                src.DISPASET_ISO3[zone], None, rt["dispaset_hourly"][key]))
        plexos = rt["plexos_hydro"]
    else:
        eia_hourly = embedded["eia_hourly"]
    for key in eia_hourly.columns:
        ba, tech = src.split_key(key)
        z = zones.loc[ba]
        measured[tech].append(MeasuredSeries(
            f"eia-hourly-ba-{int(assumptions['profile_eia_year'])}", ba, tech,
            src.EIA_COLUMNS[tech], float(z["lat"]), float(z["lon"]), str(z["country_iso3"]),
            float(z["radius_km"]), eia_hourly[key]))
    # reservoir hydro: the same measured hydro series, taken as monthly energy
    measured["hydro_reservoir"] = [
        MeasuredSeries(s.dataset, s.zone, "hydro_reservoir", s.column, s.lat, s.lon,
                       s.country_iso3, s.radius_km, s.values)
        for s in measured["hydro_ror"] if s.dataset.startswith("eia-")]
    return _Sources(measured, embedded["country_cf"], plexos)


def _country_cf(sources: _Sources, iso3: str, technology: str, assumptions: Assumptions
                ) -> tuple[float, str]:
    fuel = _FUEL[technology]
    r = sources.country_lookup.get((iso3, fuel))
    if r is not None and r["capacity_mw"] >= assumptions["profile_country_cf_min_capacity_mw"] \
            and r["annual_cf"] > 0:
        return float(r["annual_cf"]), (f"GPPD v1.3 {iso3} {fuel} fleet CF {r['annual_cf']:.3f} "
                                       f"({int(r['n_plants'])} plants, {r['capacity_mw']:.0f} MW)")
    key = f"capacity_factor_{fuel}"
    return float(assumptions[key]), f"assumption {key} = {assumptions[key]:.3f}"


# ---------------------------------------------------------------- public API
def _validate_sites(sites: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame(sites).copy()
    if ("lat" not in df or "lon" not in df) and "geometry" in df:
        crs = getattr(sites, "crs", None)
        if crs is not None and crs.to_epsg() != 4326:
            raise SitingError(f"sites: geometry CRS is {crs}, expected EPSG:4326")
        df["lat"], df["lon"] = sites.geometry.y.to_numpy(), sites.geometry.x.to_numpy()
    missing = [c for c in ("site_id", "lat", "lon", "country_iso3") if c not in df]
    if missing:
        raise SitingError(f"sites: missing column(s) {', '.join(missing)}")
    dup = df["site_id"].duplicated()
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        raise SitingError(f"sites: row {i + 1}: site_id: {df['site_id'].iloc[i]!r} repeats an earlier row")
    for col, lo, hi in (("lat", -90, 90), ("lon", -180, 180)):
        v = pd.to_numeric(df[col], errors="coerce")
        bad = ~v.between(lo, hi)
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise SitingError(f"sites: row {i + 1} (site {df['site_id'].iloc[i]}): {col}: expected a "
                              f"number in [{lo}, {hi}], got {df[col].iloc[i]!r}")
        df[col] = v.astype(float)
    return df.reset_index(drop=True)


def site_profiles(sites, grid: TimeGrid, technologies: Sequence[str], assumptions: Assumptions, *,
                  mirror=None, cache=None, runtime: bool = True) -> tuple[np.ndarray, pd.DataFrame]:
    """Hourly capacity factors ``(S, K, grid.n_hours)`` in [0, 1] for ``sites`` (rows, in order)
    and ``technologies`` (in order), and their provenance, one row per (site, technology):
    ``site_id, technology, profile_kind, profile_source``, ``profile_resolution`` (the finest time
    resolution the series has: hourly, monthly, annual; none if unavailable),
    ``proxy_distance_km`` (NaN unless proxy),
    ``annual_cf`` (the source series' capacity factor over its own calendar year),
    ``grid_mean_cf`` (the mean over the grid's hours) and ``shiftable_within`` ("month" for
    reservoir hydro, else "none").

    ``runtime=True`` also uses the run-time sources (Dispa-SET, PLEXOS, full-precision EIA) from
    the cache, building them from ``mirror`` (or the network) when missing; ``runtime=False``
    uses only the committed ``data/regions`` data and modelled series."""
    technologies = list(technologies)
    unknown = [t for t in technologies if t not in TECHNOLOGIES]
    if unknown:
        raise SitingError(f"profiles: unknown technolog{'ies' if len(unknown) > 1 else 'y'} "
                          f"{', '.join(map(repr, unknown))}; known: {', '.join(TECHNOLOGIES)}")
    if len(set(technologies)) != len(technologies):
        raise SitingError("profiles: technologies are repeated")
    df = _validate_sites(sites)
    sources = _gather(runtime, mirror, cache, assumptions)
    lat, lon = df["lat"].to_numpy(), df["lon"].to_numpy()
    iso3 = df["country_iso3"].astype(str).to_numpy()
    out = np.zeros((len(df), len(technologies), grid.n_hours))
    months = grid.periods("monthly")
    prov: list[dict] = []
    for k, tech in enumerate(technologies):
        series = sources.measured[tech]
        if series:  # (S, Z) distances from every site to every measured zone's reference point
            dist = haversine_km(lat[:, None], lon[:, None], np.array([s.lat for s in series])[None, :],
                                np.array([s.lon for s in series])[None, :])
            zone_iso3 = np.array([s.country_iso3 for s in series])
            radius = np.array([s.radius_km if s.radius_km is not None else np.inf for s in series])
            inside = (iso3[:, None] == zone_iso3[None, :]) & (dist <= radius[None, :])
        solar = {}
        if tech == "solar_pv":  # every modelled solar site in one vectorised pass
            need = [i for i in range(len(df)) if not (series and inside[i].any())]
            if need:
                targets = [_country_cf(sources, iso3[i], tech, assumptions) for i in need]
                values, year_cf = clear_sky_pv(lat[need], lon[need], grid,
                                               [t for t, _ in targets], assumptions)
                solar = {i: (values[n], f"pvlib clear-sky (Ineichen) at ({lat[i]:.3f}, "
                                        f"{lon[i]:.3f}), tilt = |lat|, scaled to {targets[n][1]}",
                             float(year_cf[n])) for n, i in enumerate(need)}
        for i in range(len(df)):  # sites x technologies (hundreds); each a vectorised series
            row = {"site_id": df["site_id"].iloc[i], "technology": tech, "proxy_distance_km": np.nan,
                   "shiftable_within": "month" if tech in SHIFTABLE_WITHIN_MONTH else "none"}
            own = np.flatnonzero(inside[i]) if series else np.array([], dtype=int)
            if own.size:
                j = own[np.argmin(dist[i, own])]
                values, row["profile_kind"] = _measured(series[j], grid, sources.on_grid), "measured"
                row["profile_source"] = _measured_source(series[j], grid)
                row["annual_cf"] = float(series[j].values.mean())
            elif tech == "solar_pv":
                values, row["profile_source"], row["annual_cf"] = solar[i]
                row["profile_kind"] = "modelled"
            elif tech in MODELLED:
                values, row["profile_source"], row["annual_cf"] = _modelled(
                    tech, iso3[i], grid, sources, assumptions)
                row["profile_kind"] = "modelled"
            elif series and dist[i].min() <= assumptions["profile_proxy_max_distance_km"]:
                j = int(np.argmin(dist[i]))
                values, row["profile_kind"] = _measured(series[j], grid, sources.on_grid), "proxy"
                row["profile_source"] = _measured_source(series[j], grid)
                row["proxy_distance_km"] = float(dist[i, j])
                row["annual_cf"] = float(series[j].values.mean())
            else:
                values, row["profile_kind"], row["annual_cf"] = 0.0, "unavailable", 0.0
                row["profile_source"] = (
                    f"nearest measured series {dist[i].min():.0f} km away, beyond "
                    f"profile_proxy_max_distance_km = {assumptions['profile_proxy_max_distance_km']:g}"
                    if series else "no measured series of this technology in the sources used"
                    + ("" if runtime else " (committed data only; Dispa-SET offshore wind needs "
                                          "runtime=True)"))
            out[i, k] = values
            row["grid_mean_cf"] = float(out[i, k].mean())
            row["profile_resolution"] = ("none" if row["profile_kind"] == "unavailable"
                                         else _resolution(out[i, k], months))
            prov.append(row)
    if not (np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0):
        raise SitingError("profiles: a capacity factor fell outside [0, 1]")  # a bug, not bad input
    n_sites = len(df)
    order = [k * n_sites + i for i in range(n_sites) for k in range(len(technologies))]
    return out, pd.DataFrame([prov[j] for j in order], columns=PROVENANCE_COLUMNS)  # sites outer


def _resolution(values: np.ndarray, months) -> str:
    """The finest time resolution a series actually has: annual (flat), monthly, or hourly."""
    if np.ptp(values) == 0:
        return "annual"
    if np.allclose(values, months.expand(months.aggregate(values, "mean")), rtol=0, atol=1e-12):
        return "monthly"
    return "hourly"


def _measured(s: MeasuredSeries, grid: TimeGrid, memo: dict) -> np.ndarray:
    key = (s.dataset, s.zone, s.technology)
    if key not in memo:
        memo[key] = (_monthly_on_grid(s.values, grid) if s.technology == "hydro_reservoir"
                     else _on_grid(s.values, grid))
    return memo[key]


def _measured_source(s: MeasuredSeries, grid: TimeGrid) -> str:
    where = "balancing area" if s.radius_km is not None else f"country {s.country_iso3}"
    what = {"hydro_ror": " (all hydro of the zone, hourly)",
            "hydro_reservoir": " (all hydro of the zone, monthly energy)"}.get(s.technology, "")
    return f"{s.dataset} {where} {s.zone} {s.column}{what}, {_year_note(s.year, grid)}"


def _modelled(tech: str, iso3: str, grid: TimeGrid, sources: _Sources,
              assumptions: Assumptions) -> tuple[np.ndarray, str, float]:
    """Geothermal and hydro (modelled solar is :func:`clear_sky_pv`, for all sites at once)."""
    if tech == "geothermal":
        cf, basis = _country_cf(sources, iso3, tech, assumptions)
        return np.full(grid.n_hours, cf), f"flat at {basis}", cf
    # hydro: PLEXOS-World monthly (run time) or GPPD annual, flat within each month
    row = sources.plexos_lookup.get(iso3)
    if row is not None:
        if ("plexos", iso3) not in sources.on_grid:
            monthly = np.array([row[f"m{m}"] for m in range(1, 13)], dtype=float)
            hours = TimeGrid.year(grid.start.year).periods("monthly").hours
            annual = float((monthly * hours).sum() / hours.sum())
            if "month" not in sources.on_grid:
                sources.on_grid["month"] = grid.month
            sources.on_grid[("plexos", iso3)] = (monthly[sources.on_grid["month"] - 1], annual)
        values, annual = sources.on_grid[("plexos", iso3)]
        nodes = "country node" if row["n_nodes"] == 1 else f"mean of {int(row['n_nodes'])} sub-nodes"
        return (values, f"plexos-world-hydro-monthly {iso3} ({nodes}), 15-year average monthly CF",
                annual)
    cf, basis = _country_cf(sources, iso3, tech, assumptions)
    return np.full(grid.n_hours, cf), f"flat at {basis} (no monthly profile)", cf


def to_long_form(site_ids: Sequence[str], grid: TimeGrid, technologies: Sequence[str],
                 cf: np.ndarray) -> pd.DataFrame:
    """The ``(S, K, T)`` array as the hourly-input long form: ``site_id, timestamp, cf_<technology>``
    (one row per site and hour, sites outer)."""
    cf = np.asarray(cf)
    if cf.shape != (len(site_ids), len(technologies), grid.n_hours):
        raise SitingError(f"profiles: array shape {cf.shape} does not match "
                          f"({len(site_ids)} sites, {len(technologies)} technologies, {grid.n_hours} h)")
    out = pd.DataFrame({"site_id": np.repeat(np.asarray(site_ids, dtype=object), grid.n_hours),
                        "timestamp": np.tile(grid.timestamps, len(site_ids))})
    for k, tech in enumerate(technologies):
        out[f"cf_{tech}"] = cf[:, k, :].reshape(-1)
    return out


def count_kinds(provenance: pd.DataFrame) -> pd.DataFrame:
    """Rows per technology and profile kind (the proxy count for the report)."""
    return (provenance.groupby(["technology", "profile_kind"]).size().unstack(fill_value=0)
            .reindex(columns=list(PROFILE_KINDS), fill_value=0))


def write_provenance(dest, provenance: pd.DataFrame):
    """Provenance CSV; a non-proxy's distance is written as an empty field."""
    from siting.io import write_table

    return write_table(dest, provenance, float_format="%.6g")
