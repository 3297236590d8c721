"""Sources of hourly supply profiles: parsers, capacity-factor normalisation, and the builders
of the committed part (``data/regions/profiles_*``) and of the run-time cache (``<cache>/profiles/``).

Technologies and where their series come from (see :mod:`siting.data.profiles` for the order
in which a site takes them):

* **EIA-930 balancing-area generation by fuel, 2022** (``eia-hourly-ba-2022``, public domain):
  hourly MWh per fuel for 8 BAs. EIA-930 stamps an hour with its end (hour ending); siting
  re-stamps it with its start (checked: the measured PV of 6 of the 7 BAs with solar correlates
  best with the clear-sky model of the BA's centre shifted by that hour).
  WND -> ``wind_onshore``; SUN -> ``solar_pv``; WAT -> hydro
  (EIA-930 does not separate run-of-river from reservoir hydro: the BA's whole hydro fleet).
  EIA-930 SUN also holds solar-thermal output with storage (AZPS: Solana) and metering noise at
  night: as a PV series, hours in which the sun is below the horizon throughout the BA's
  footprint circle are set to 0 (the energy removed is in the summary).
  Capacity factor = generation / installed capacity, where the BA's installed capacity of the
  fuel is *estimated as the ``profile_eia_capacity_quantile`` quantile of its own hourly
  generation* (no BA-level capacity table is in the mirror; GPPD plants cannot be assigned to
  BAs without BA polygons). A fleet rarely produces at nameplate in all its plants at once, so
  this estimate is low and the capacity factors are an upper bound. Negative net generation is
  set to 0; missing hours (PJM 13-14 March, 22 h) take the same hour of the day before (or
  after). Committed: quantised to 1/10,000 (uint16) in Parquet.
* **Dispa-SET availability factors 2016** (``dispaset-af-2016``, EUPL, run time only): hourly
  capacity factors per zone (country) for PV, onshore and offshore wind, run-of-river. A zone's
  series is left out when it is all zero (no such fleet) or holds a non-finite value (NL HROR);
  values are clipped to [0, 1] (NO HROR peaks at 2.0).
* **PLEXOS-World hydro monthly capacity factors** (``plexos-world-hydro-monthly``, licence
  unverified, run time only): the ``<ISO3>`` node, else the mean of the country's sub-nodes
  (``<ISO3>-<region>``, unweighted: node capacities are not in the file).
* **GPPD v1.3** (CC BY 4.0, committed): a country's implied annual capacity factor per fuel
  (sum of generation / (sum of capacity x 8760 h)), for modelled solar, hydro and geothermal.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from siting.assumptions import Assumptions
from siting.data.download import cache_dir, fetch_file
from siting.data.registry import DISPASET_ZONES, EIA_BAS
from siting.data.validate import read_csv, require_columns
from siting.errors import SitingError
from siting.io import atomic_path, write_table, write_text
from siting.paths import RESOURCES_DIR
from siting.units import HOURS_PER_YEAR

TECHNOLOGIES = ("wind_onshore", "wind_offshore", "solar_pv", "hydro_ror", "hydro_reservoir",
                "geothermal")
EIA_COLUMNS = {"wind_onshore": "WND", "solar_pv": "SUN", "hydro_ror": "WAT"}
DISPASET_COLUMNS = {"solar_pv": "PHOT", "wind_onshore": "WTON", "wind_offshore": "WTOF",
                    "hydro_ror": "HROR"}
DISPASET_YEAR = 2016
# Dispa-SET zone codes are ISO 3166 alpha-2 except UK (= GB) and EL (= GR); GR is a second copy
# of Greece and is not used.
DISPASET_ISO3 = {
    "AL": "ALB", "AT": "AUT", "BA": "BIH", "BE": "BEL", "BG": "BGR", "CH": "CHE", "CY": "CYP",
    "CZ": "CZE", "DE": "DEU", "DK": "DNK", "EE": "EST", "EL": "GRC", "ES": "ESP", "FI": "FIN",
    "FR": "FRA", "HR": "HRV", "HU": "HUN", "IE": "IRL", "IT": "ITA", "LT": "LTU", "LU": "LUX",
    "LV": "LVA", "MD": "MDA", "ME": "MNE", "MK": "MKD", "MT": "MLT", "NL": "NLD", "NO": "NOR",
    "PL": "POL", "PT": "PRT", "RO": "ROU", "RS": "SRB", "SE": "SWE", "SI": "SVN", "SK": "SVK",
    "UK": "GBR",
}
GPPD_PROFILE_FUELS = ("solar", "hydro", "geothermal", "wind")
CF_QUANTUM = 10_000  # committed capacity factors are stored as round(cf x CF_QUANTUM) in uint16

EMBEDDED_HOURLY = "profiles_eia_ba_hourly.parquet"
EMBEDDED_SUMMARY = "profiles_eia_ba.csv"
EMBEDDED_COUNTRY_CF = "profiles_country_cf.csv"
RUNTIME_DIR = "profiles"
EIA_ZONES_FILE = RESOURCES_DIR / "profile_zones_eia.csv"

PathLike = str | os.PathLike


# ---------------------------------------------------------------- helpers
def series_key(zone: str, technology: str) -> str:
    return f"{zone}:{technology}"


def split_key(key: str) -> tuple[str, str]:
    zone, tech = key.split(":")
    return zone, tech


def write_parquet(dest: Path, df: pd.DataFrame) -> Path:
    """Deterministic Parquet (no pandas metadata, zstd, no dictionary pages), written atomically."""
    table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
    with atomic_path(dest) as tmp:
        pq.write_table(table, tmp, compression="zstd", compression_level=9, use_dictionary=False)
    return dest


def read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pq.read_table(path).to_pandas()
    except (OSError, pa.ArrowException) as exc:
        raise SitingError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from exc


def _fill_gaps(s: pd.Series) -> tuple[pd.Series, int]:
    """Missing hours take the same hour of the day before, else of the day after."""
    missing = int(s.isna().sum())
    for shift in (24, -24, 48, -48):
        if not s.isna().any():
            break
        s = s.fillna(s.shift(shift))
    return s.fillna(0.0), missing


# ---------------------------------------------------------------- EIA-930 balancing areas
def eia_zones() -> pd.DataFrame:
    """The 8 balancing areas: ``ba, name, lat, lon, radius_km, country_iso3`` (siting's approximate
    footprints: a site is in a BA when it is in ``country_iso3`` and within the circle)."""
    zones = read_csv(EIA_ZONES_FILE, "EIA balancing areas")
    require_columns(zones, ["ba", "name", "lat", "lon", "radius_km", "country_iso3"], EIA_ZONES_FILE)
    return zones


def load_eia_ba(ba: str, *, mirror: PathLike | None = None, cache: PathLike | None = None
                ) -> pd.DataFrame:
    """One BA's hourly generation by fuel (MWh per hour), indexed by the UTC start of each hour."""
    if ba not in EIA_BAS:
        raise SitingError(f"EIA-930: unknown balancing area {ba!r}; known: {', '.join(EIA_BAS)}")
    path = fetch_file("eia-hourly-ba-2022", f"{ba}_NG_&_avgCI.csv", mirror=mirror, cache=cache)
    raw = read_csv(path, "EIA-930")
    require_columns(raw, ["timestamp", *EIA_COLUMNS.values()], path)
    ts = pd.to_datetime(raw["timestamp"], utc=True, errors="coerce")
    if ts.isna().any():
        row = int(ts.isna().to_numpy().nonzero()[0][0]) + 2
        raise SitingError(f"{path}: line {row}: timestamp: expected an ISO date-time")
    df = raw[list(EIA_COLUMNS.values())].apply(pd.to_numeric, errors="coerce")
    df.index = pd.DatetimeIndex(ts, name="timestamp")
    expected = pd.date_range(f"{ts.iloc[0].year}-01-01", periods=len(df), freq="h", tz="UTC")
    if len(df) not in (8760, 8784) or not df.index.equals(expected):
        raise SitingError(f"{path}: expected every hour of one calendar year in order, "
                          f"got {len(df)} rows from {ts.iloc[0]}")
    # EIA-930 stamps each hour with its end: the row at t is the hour [t-1h, t). Re-stamp with the
    # hour's start, as siting does everywhere; the first row (the last hour of the year before)
    # stands in for the year's last hour, which the file lacks.
    return pd.DataFrame(np.roll(df.to_numpy(), -1, axis=0), index=df.index, columns=df.columns)


def eia_capacity_factors(assumptions: Assumptions, *, mirror=None, cache=None
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hourly capacity factors per BA and technology, and a summary table.

    Returns ``(hourly, summary)``: ``hourly`` has a UTC ``timestamp`` index and one column per
    ``BA:technology`` (``wind_onshore``, ``solar_pv``, ``hydro_ror`` = all hydro of the BA);
    ``summary`` has ``ba, technology, fuel_column, capacity_mw`` (the estimate),
    ``generation_mwh, annual_cf, filled_hours``. Series whose fleet is absent are left out."""
    q = assumptions["profile_eia_capacity_quantile"]
    if not 0.5 < q <= 1.0:
        raise SitingError(f"assumption profile_eia_capacity_quantile: expected (0.5, 1], got {q}")
    zones = eia_zones().set_index("ba")
    series, rows = {}, []
    for ba in EIA_BAS:
        gen = load_eia_ba(ba, mirror=mirror, cache=cache)
        for tech, col in EIA_COLUMNS.items():
            mwh, filled = _fill_gaps(gen[col].clip(lower=0.0))
            night_share = 0.0
            if tech == "solar_pv":
                dark = dark_throughout(mwh.index, *zones.loc[ba, ["lat", "lon", "radius_km"]])
                total = float(mwh.sum())
                night_share = float(mwh[dark].sum()) / total if total > 0 else 0.0
                mwh = mwh.where(~dark, 0.0)
            capacity_mw = float(mwh.quantile(q))
            if capacity_mw <= 0:
                continue
            cf = (mwh / capacity_mw).clip(0.0, 1.0)
            series[series_key(ba, tech)] = cf
            rows.append({"ba": ba, "technology": tech, "fuel_column": col,
                         "capacity_mw": capacity_mw, "generation_mwh": float(mwh.sum()),
                         "annual_cf": float(cf.mean()), "filled_hours": filled,
                         "night_energy_share_removed": night_share, "capacity_quantile": q})
    return pd.DataFrame(series), pd.DataFrame(rows)


def dark_throughout(hours: pd.DatetimeIndex, lat: float, lon: float, radius_km: float) -> np.ndarray:
    """Hours ``[t, t+1)`` in which the sun is below the horizon everywhere within ``radius_km`` of
    ``(lat, lon)``: its elevation at the centre is below minus the circle's angular radius at both
    ends of the hour (within a place the sun's elevation changes by at most the angle between the
    places; within an hour it has no maximum below the horizon)."""
    import pvlib

    from siting.units import EARTH_RADIUS_KM

    margin_deg = np.degrees(float(radius_km) / EARTH_RADIUS_KM)
    ends = [pvlib.solarposition.get_solarposition(t, lat, lon, method="ephemeris")["elevation"]
            .to_numpy() for t in (hours, hours + pd.Timedelta(hours=1))]
    return (ends[0] < -margin_deg) & (ends[1] < -margin_deg)


# ---------------------------------------------------------------- Dispa-SET (EUPL: run time only)
def load_dispaset(zone: str, *, mirror=None, cache=None) -> pd.DataFrame:
    """One zone's hourly availability factors (PHOT, WTON, WTOF, HROR where present), UTC index."""
    if zone not in DISPASET_ZONES:
        raise SitingError(f"Dispa-SET: unknown zone {zone!r}; known: {', '.join(DISPASET_ZONES)}")
    path = fetch_file("dispaset-af-2016", f"{zone}_{DISPASET_YEAR}.csv", mirror=mirror, cache=cache)
    raw = read_csv(path, "Dispa-SET availability factors", index_col=0)
    ts = pd.to_datetime(raw.index, errors="coerce")
    if ts.isna().any():
        row = int(np.asarray(ts.isna()).nonzero()[0][0]) + 2
        raise SitingError(f"{path}: line {row}: timestamp: expected a date-time")
    df = raw.apply(pd.to_numeric, errors="coerce")
    df.index = pd.DatetimeIndex(ts, name="timestamp").tz_localize("UTC")  # naive, UTC (SOURCE.md)
    if len(df) != 8784 or df.index[0] != pd.Timestamp(f"{DISPASET_YEAR}-01-01", tz="UTC"):
        raise SitingError(f"{path}: expected the 8,784 hours of {DISPASET_YEAR}, got {len(df)} rows")
    return df


def dispaset_capacity_factors(*, mirror=None, cache=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(hourly, summary)`` like :func:`eia_capacity_factors`, columns ``ZONE:technology``;
    summary ``zone, country_iso3, technology, column, annual_cf, status``."""
    series, rows = {}, []
    for zone in DISPASET_ZONES:
        if zone not in DISPASET_ISO3:  # GR duplicates EL
            continue
        af = load_dispaset(zone, mirror=mirror, cache=cache)
        for tech, col in DISPASET_COLUMNS.items():
            status = "used"
            if col not in af:
                status = "absent"
            elif not np.isfinite(af[col].to_numpy()).all():
                status = "non-finite values"
            elif float(af[col].max()) <= 0:
                status = "all zero"
            row = {"zone": zone, "country_iso3": DISPASET_ISO3[zone], "technology": tech,
                   "column": col, "annual_cf": np.nan, "status": status}
            if status == "used":
                cf = af[col].clip(0.0, 1.0)
                series[series_key(zone, tech)] = cf
                row["annual_cf"] = float(cf.mean())
            rows.append(row)
    return pd.DataFrame(series), pd.DataFrame(rows)


def dispaset_zone_points(*, mirror=None, cache=None) -> pd.DataFrame:
    """A reference point per Dispa-SET zone (``zone, lat, lon``): a point inside the country's
    largest polygon (Natural Earth 1:50m), for proxy distances."""
    from siting.data.loaders import load_boundaries

    b = load_boundaries(resolution="50m", mirror=mirror, cache=cache)
    b = b[b["country_iso3"].isin(DISPASET_ISO3.values())].explode(index_parts=False)
    b["area"] = b.to_crs("EPSG:6933").area  # equal-area CRS, only to pick the largest part
    largest = b.sort_values("area").groupby("country_iso3").tail(1).set_index("country_iso3")
    point = largest.geometry.representative_point()  # EPSG:4326, inside the polygon
    iso_to_zone = {v: k for k, v in DISPASET_ISO3.items()}
    out = pd.DataFrame({"zone": [iso_to_zone[i] for i in point.index],
                        "lat": point.y.to_numpy(), "lon": point.x.to_numpy()})
    return out.sort_values("zone", ignore_index=True)


# ---------------------------------------------------------------- PLEXOS-World hydro (run time only)
def load_plexos_hydro(*, mirror=None, cache=None) -> pd.DataFrame:
    """Monthly hydro capacity factors per country (``country_iso3, n_nodes, m1..m12`` as shares)."""
    path = fetch_file("plexos-world-hydro-monthly", "Hydro_Monthly_Profiles_15yr_avg.csv",
                      mirror=mirror, cache=cache)
    raw = read_csv(path, "PLEXOS-World hydro")
    months = [f"M{m}" for m in range(1, 13)]
    require_columns(raw, ["NAME", *months], path)
    nodes = raw[raw["NAME"].str.endswith("_Hyd_Capacity Scaler")].copy()
    values = nodes[months].apply(pd.to_numeric, errors="coerce") / 100.0
    bad = ~(values.ge(0) & values.le(1)).all(axis=1)
    if bad.any():
        line = int(bad.to_numpy().nonzero()[0][0])
        raise SitingError(f"{path}: line {nodes.index[line] + 2}: M1..M12: expected percentages "
                          "in [0, 100]")
    node = nodes["NAME"].str.split("_").str[0]
    values["country_iso3"] = node.str.split("-").str[0].to_numpy()
    values["is_country_node"] = (~node.str.contains("-")).to_numpy()
    # the country node where there is one, else the unweighted mean of its sub-nodes
    has_country = values.groupby("country_iso3")["is_country_node"].transform("any")
    use = values[values["is_country_node"] | ~has_country]
    out = use.groupby("country_iso3")[months].mean()
    out.columns = [f"m{m}" for m in range(1, 13)]
    out.insert(0, "n_nodes", use.groupby("country_iso3").size())
    return out.reset_index()


# ---------------------------------------------------------------- GPPD country capacity factors
def gppd_country_cf(*, mirror=None, cache=None) -> pd.DataFrame:
    """``country_iso3, fuel, n_plants, capacity_mw, generation_mwh_per_year, annual_cf`` for
    solar, hydro, geothermal and wind, over the plants with a reported or WRI-estimated
    generation figure (GPPD v1.3)."""
    from siting.assumptions import default_assumptions
    from siting.data.loaders import load_plants

    shipped = default_assumptions()  # the committed build uses the table as shipped
    plants = load_plants(mirror=mirror, cache=cache, assumptions=shipped)
    p = plants[plants["fuel"].isin(GPPD_PROFILE_FUELS) & (plants["capacity_mw"] > 0)]
    # load_plants gives a plant without any generation figure the fuel's default capacity factor;
    # those plants say nothing about the country and are left out
    default_cf = p["fuel"].map(shipped.capacity_factor_by_fuel())
    p = p[~np.isclose(p["capacity_factor"], default_cf, rtol=0, atol=1e-9)]
    g = (p.groupby(["country_iso3", "fuel"])
         .agg(n_plants=("plant_id", "size"), capacity_mw=("capacity_mw", "sum"),
              generation_mwh_per_year=("generation_mwh_per_year", "sum"))
         .reset_index())
    g["annual_cf"] = (g["generation_mwh_per_year"] / (g["capacity_mw"] * HOURS_PER_YEAR)).clip(0, 1)
    return g.sort_values(["country_iso3", "fuel"], ignore_index=True)


# ---------------------------------------------------------------- committed part
def build_profiles(mirror=None, cache=None, out_dir: Path | None = None,
                   assumptions: Assumptions | None = None) -> list[Path]:
    """Write the committed profile data (permissive sources only) into ``out_dir``:
    EIA-930 hourly capacity factors per BA (quantised Parquet), their summary, and GPPD country
    capacity factors. Byte-reproducible."""
    from siting.assumptions import default_assumptions
    from siting.paths import REPO_ROOT

    out_dir = Path(out_dir) if out_dir is not None else REPO_ROOT / "data" / "regions"
    assumptions = assumptions or default_assumptions()
    hourly, summary = eia_capacity_factors(assumptions, mirror=mirror, cache=cache)
    quantised = np.rint(hourly.to_numpy() * CF_QUANTUM).astype(np.uint16)
    table = pd.DataFrame(quantised, columns=hourly.columns)
    table.insert(0, "timestamp", hourly.index.astype("datetime64[s, UTC]"))
    # the summary states the annual CF of what is stored (after quantisation)
    stored_cf = pd.Series(quantised.mean(axis=0) / CF_QUANTUM, index=hourly.columns)
    summary["annual_cf"] = [stored_cf[series_key(b, t)] for b, t in
                            zip(summary["ba"], summary["technology"], strict=True)]
    summary["capacity_mw"] = summary["capacity_mw"].round(1)
    summary["generation_mwh"] = summary["generation_mwh"].round(0).astype("int64")
    country = gppd_country_cf(mirror=mirror, cache=cache)
    country["capacity_mw"] = country["capacity_mw"].round(3)
    country["generation_mwh_per_year"] = country["generation_mwh_per_year"].round(0).astype("int64")
    return [
        write_parquet(out_dir / EMBEDDED_HOURLY, table),
        write_table(out_dir / EMBEDDED_SUMMARY, summary, float_format="%.6g"),
        write_table(out_dir / EMBEDDED_COUNTRY_CF, country, float_format="%.6g"),
        write_profile_sources(out_dir, assumptions),
    ]


def write_profile_sources(out_dir: Path, assumptions: Assumptions) -> Path:
    """``SOURCES_profiles.md``: what the committed profile files are and where they come from."""
    from siting.data.registry import get_dataset

    q = assumptions["profile_eia_capacity_quantile"]
    lines = [
        "# Sources of the embedded supply-profile data (`data/regions/profiles_*`)",
        "",
        "Generated by `siting data build-regions` (`siting.data.profile_sources.build_profiles`).",
        "Only public-domain and CC BY data are stored here. Dispa-SET (EUPL) and PLEXOS-World hydro",
        "(licence unverified) are read at run time from the cache (`siting data build-profiles`).",
        "",
        "| file | what | derived from |",
        "|---|---|---|",
        f"| `{EMBEDDED_HOURLY}` | hourly capacity factors 2022 (UTC) per balancing area and"
        " technology (`BA:wind_onshore` = WND, `BA:solar_pv` = SUN, `BA:hydro_ror` = WAT, all hydro),"
        f" stored as round(CF x {CF_QUANTUM}) in uint16 | EIA-930 |",
        f"| `{EMBEDDED_SUMMARY}` | per series: the installed-capacity estimate (the {q:g} quantile of"
        " the BA's own hourly generation, an underestimate of nameplate capacity, so the capacity"
        " factors are upper bounds), 2022 generation, annual CF of the stored series, hours filled"
        " from the day before, share of SUN energy removed at night (hours dark throughout the BA's"
        " footprint circle: solar thermal with storage, metering noise) | EIA-930 |",
        f"| `{EMBEDDED_COUNTRY_CF}` | per country and fuel: GPPD plants, capacity, generation and"
        " implied annual capacity factor (scales modelled solar, geothermal and hydro) | GPPD |",
        "",
        "## Datasets, licences and attribution",
        "",
    ]
    for name in ("eia-hourly-ba-2022", "gppd-v1.3"):
        ds = get_dataset(name)
        lines.append(f"- **{ds.title}** ({ds.licence}). {ds.attribution}.")
    lines.append("")
    return write_text(out_dir / "SOURCES_profiles.md", "\n".join(lines))


def load_embedded(regions: Path | None = None, assumptions: Assumptions | None = None) -> dict:
    """The committed profile data: ``{"eia_hourly", "eia_summary", "country_cf"}``; with
    ``assumptions``, checks they were built with its ``profile_eia_capacity_quantile``."""
    from siting.paths import regions_file

    def path(name):
        return regions / name if regions is not None else regions_file(name)

    summary = read_csv(path(EMBEDDED_SUMMARY), "profile summary")
    if assumptions is not None:
        q = assumptions["profile_eia_capacity_quantile"]
        if not np.allclose(summary["capacity_quantile"], q, rtol=0, atol=1e-12):
            raise SitingError(f"{path(EMBEDDED_SUMMARY)}: the committed EIA-930 profiles were built "
                              f"with profile_eia_capacity_quantile = {summary['capacity_quantile'].iloc[0]:g}"
                              f", not {q:g}; use runtime=True (rebuilds them in the cache)")

    table = read_parquet(path(EMBEDDED_HOURLY))
    hourly = table.drop(columns="timestamp").astype(float) / CF_QUANTUM
    hourly.index = pd.DatetimeIndex(pd.to_datetime(table["timestamp"], utc=True), name="timestamp")
    return {"eia_hourly": hourly,
            "eia_summary": summary,
            "country_cf": read_csv(path(EMBEDDED_COUNTRY_CF), "country capacity factors",
                                   keep_default_na=False, na_values=[""])}


# ---------------------------------------------------------------- run-time cache
def runtime_paths(cache=None, year: int = 2022) -> dict[str, Path]:
    root = cache_dir(cache) / RUNTIME_DIR
    return {
        "eia_hourly": root / f"eia_ba_{year}_hourly.parquet",
        "eia_summary": root / f"eia_ba_{year}_summary.parquet",
        "dispaset_hourly": root / f"dispaset_af_{DISPASET_YEAR}_hourly.parquet",
        "dispaset_summary": root / f"dispaset_af_{DISPASET_YEAR}_summary.parquet",
        "dispaset_zones": root / "dispaset_zones.parquet",
        "plexos_hydro": root / "plexos_hydro_monthly.parquet",
    }


def _hourly_frame(hourly: pd.DataFrame) -> pd.DataFrame:
    out = hourly.astype("float64").reset_index(drop=True)
    out.insert(0, "timestamp", hourly.index.astype("datetime64[s, UTC]"))
    return out


def build_runtime_profiles(mirror=None, cache=None, year: int | None = None,
                           assumptions: Assumptions | None = None) -> list[Path]:
    """Build every run-time source (EIA full precision, Dispa-SET, PLEXOS hydro) into the
    cache as Parquet; :func:`siting.data.profiles.site_profiles` reads them when present."""
    from siting.assumptions import default_assumptions

    assumptions = assumptions or default_assumptions()
    eia_year = int(assumptions["profile_eia_year"])
    year = eia_year if year is None else int(year)
    if year != eia_year:
        raise SitingError(f"build-profiles: --year {year}: EIA-930 balancing-area data is available "
                          f"for {eia_year} only (dataset eia-hourly-ba-{eia_year})")
    paths = runtime_paths(cache, year)
    eia_hourly, eia_summary = eia_capacity_factors(assumptions, mirror=mirror, cache=cache)
    ds_hourly, ds_summary = dispaset_capacity_factors(mirror=mirror, cache=cache)
    return [
        write_parquet(paths["eia_hourly"], _hourly_frame(eia_hourly)),
        write_parquet(paths["eia_summary"], eia_summary),
        write_parquet(paths["dispaset_hourly"], _hourly_frame(ds_hourly)),
        write_parquet(paths["dispaset_summary"], ds_summary),
        write_parquet(paths["dispaset_zones"], dispaset_zone_points(mirror=mirror, cache=cache)),
        write_parquet(paths["plexos_hydro"], load_plexos_hydro(mirror=mirror, cache=cache)),
    ]


def load_runtime(cache=None, year: int = 2022, *, mirror=None,
                 assumptions: Assumptions | None = None) -> dict:
    """The run-time sources from the cache, building them first when any is missing."""
    from siting.assumptions import default_assumptions

    assumptions = assumptions or default_assumptions()
    paths = runtime_paths(cache, year)
    stale = not all(p.is_file() for p in paths.values())
    if not stale:  # built with another capacity quantile: rebuild
        built_q = read_parquet(paths["eia_summary"])["capacity_quantile"]
        stale = not np.allclose(built_q, assumptions["profile_eia_capacity_quantile"], rtol=0, atol=1e-12)
    if stale:
        build_runtime_profiles(mirror=mirror, cache=cache, year=year, assumptions=assumptions)

    def hourly(path):
        t = read_parquet(path)
        df = t.drop(columns="timestamp")
        df.index = pd.DatetimeIndex(pd.to_datetime(t["timestamp"], utc=True), name="timestamp")
        return df

    return {
        "eia_hourly": hourly(paths["eia_hourly"]),
        "eia_summary": read_parquet(paths["eia_summary"]),
        "dispaset_hourly": hourly(paths["dispaset_hourly"]),
        "dispaset_summary": read_parquet(paths["dispaset_summary"]),
        "dispaset_zones": read_parquet(paths["dispaset_zones"]),
        "plexos_hydro": read_parquet(paths["plexos_hydro"]),
    }
