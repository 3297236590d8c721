"""Parsers for the grid-intensity datasets: raw files -> tidy, unit-named frames (EPSG:4326).

Basis of each source (from its SOURCE.md), kept in a ``basis`` column or stated here:

* Ember monthly, countries and US states (CC BY 4.0): life-cycle gCO2e/kWh of generation.
* Electricity Maps yearly zone means (co2js, ODbL): life-cycle, consumption-based.
* Electricity Maps hourly (ODbL): both; only the ``LCA`` column is used here.
* EIA-930 balancing areas (public domain): the file's ``avg_CI`` has undocumented factors, so
  the life-cycle intensity is recomputed from the hourly generation by fuel with siting's own
  IPCC AR5 life-cycle factors (``lifecycle_*_g_per_kwh`` assumptions). The recomputation
  reproduces ``avg_CI`` hour by hour (BPAT 2022: 54.73 against 54.71 g/kWh), which shows the
  file's figure is life-cycle too (tests/test_grid.py checks this).

Runtime-only sources (ODbL/AGPL) are looked up with :func:`available`, which never downloads:
they are used when the cache or the mirror has them, and skipped otherwise.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting.assumptions import Assumptions
from siting.data.download import cache_dir, fetch_file, mirror_dir
from siting.data.registry import get_dataset
from siting.data.validate import numeric_column, read_csv, require_columns
from siting.errors import SitingError
from siting.units import WGS84

PathLike = str | os.PathLike

LIFECYCLE = "lifecycle"

EMBER = "ember-monthly"
EMBER_COUNTRY_FILE = "api_country_overview_monthly.csv"
EMBER_USA_FILE = "api_overview_usa_monthly.csv"
EM_CONFIG = "electricitymaps-config"
EM_ZONES_FILE = "world.geojson"
EM_DATA_CENTRES_FILE = "data_centers.json"
CO2JS = "co2js-grid-intensity"
EIA_BA = "eia-hourly-ba-2022"
EIA_BA_CODES = ("AZPS", "BPAT", "CISO", "ERCO", "MISO", "NYIS", "PJM", "SOCO")
EIA_YEAR = 2022
# EIA-930 fuel columns -> siting fuel names (lifecycle factor keys)
EIA_FUELS = {"WND": "wind", "SUN": "solar", "WAT": "hydro", "OIL": "oil", "NG": "gas",
             "COL": "coal", "NUC": "nuclear", "OTH": "other"}

US_STATES_MEMBER = "tl_2024_us_state.shp"


def available(name: str, filename: str, *, mirror: PathLike | None = None,
              cache: PathLike | None = None, copy: bool = True) -> Path | None:
    """The cached file (copied from the mirror when only the mirror has it), else None.
    Never downloads: runtime sources are optional. ``copy=False`` only checks, and returns
    where the file is (cache or mirror) without copying it."""
    spec = get_dataset(name).file(filename)
    cached = cache_dir(cache) / name / spec.filename
    if cached.is_file():
        return cached
    try:
        src = mirror_dir(mirror)
    except SitingError:
        return None
    if src is not None and (src / name / spec.filename).is_file():
        if not copy:
            return src / name / spec.filename
        return fetch_file(name, filename, cache=cache, mirror=mirror)
    return None


# ---------------------------------------------------------------- Ember monthly (CC BY 4.0)
def _ember_frame(raw: pd.DataFrame, p: Path, region: pd.Series) -> pd.DataFrame:
    require_columns(raw, ["date", "emissions_intensity_gco2_per_kwh"], p)
    date = pd.to_datetime(raw["date"], format="%Y-%m-%d", errors="coerce")
    if date.isna().any():
        line = int(np.flatnonzero(date.isna().to_numpy())[0]) + 2
        raise SitingError(f"{p}: line {line}: field date: expected YYYY-MM-DD")
    ci = numeric_column(raw, "emissions_intensity_gco2_per_kwh", p, lo=0, hi=3000, required=False)
    out = pd.DataFrame({"region": region, "year": date.dt.year, "month": date.dt.month,
                        "ci_g_per_kwh": ci})
    return out.dropna(subset=["ci_g_per_kwh"])


def load_ember_country_monthly(path: PathLike | None = None, **fetch_kwargs) -> pd.DataFrame:
    """``region`` (ISO3), ``year, month, ci_g_per_kwh`` (life-cycle) for Ember's countries."""
    p = Path(path) if path is not None else fetch_file(EMBER, EMBER_COUNTRY_FILE, **fetch_kwargs)
    raw = read_csv(p)
    require_columns(raw, ["country_code"], p)
    code = raw["country_code"].astype(str).str.strip().str.upper()
    keep = code.str.fullmatch(r"[A-Z]{3}")
    return _ember_frame(raw[keep], p, code[keep])


def load_ember_us_state_monthly(path: PathLike | None = None, **fetch_kwargs) -> pd.DataFrame:
    """``state`` (full name, e.g. Oregon), ``year, month, ci_g_per_kwh`` (life-cycle) for the
    50 US states and DC; the US total row is dropped."""
    p = Path(path) if path is not None else fetch_file(EMBER, EMBER_USA_FILE, **fetch_kwargs)
    raw = read_csv(p)
    require_columns(raw, ["state"], p)
    state = raw["state"].astype(str).str.strip()
    keep = ~state.str.casefold().isin(["us total", "united states", "usa", "nan", ""])
    out = _ember_frame(raw[keep], p, state[keep])
    return out.rename(columns={"region": "state"})


# ---------------------------------------------------------------- US states (Census TIGER)
def us_states_path() -> Path:
    """The US Census Bureau's TIGER/Line 2024 state boundaries (public domain), as shipped
    inside the ``these-united-states`` package (BSD-3-Clause)."""
    spec = importlib.util.find_spec("united_states")
    if spec is None or not spec.submodule_search_locations:
        raise SitingError("package these-united-states is not installed (pip install -e .)")
    path = Path(list(spec.submodule_search_locations)[0]) / "shapes.zip"
    if not path.is_file():
        raise SitingError(f"{path}: US state boundaries missing from these-united-states")
    return path


def load_us_states(path: PathLike | None = None) -> gpd.GeoDataFrame:
    """``state_code`` (USPS, e.g. OR), ``state`` (full name), geometry in EPSG:4326."""
    p = Path(path) if path is not None else us_states_path()
    src = f"zip://{p}!{US_STATES_MEMBER}" if p.suffix == ".zip" else str(p)
    try:
        g = gpd.read_file(src, engine="pyogrio", columns=["STUSPS", "NAME"])
    except Exception as exc:
        raise SitingError(f"{p}: not a readable US state layer ({exc})") from exc
    if g.crs is None:
        raise SitingError(f"{p}: no CRS stated (expected NAD83, EPSG:4269)")
    g = g.to_crs(WGS84).rename(columns={"STUSPS": "state_code", "NAME": "state"})
    return g[["state_code", "state", "geometry"]].sort_values("state_code").reset_index(drop=True)


# ---------------------------------------------------------------- Electricity Maps (runtime)
def load_em_zones(path: PathLike | None = None, **fetch_kwargs) -> gpd.GeoDataFrame:
    """Electricity Maps zone polygons: ``zone, country_iso2, geometry`` (EPSG:4326)."""
    p = Path(path) if path is not None else fetch_file(EM_CONFIG, EM_ZONES_FILE, **fetch_kwargs)
    try:
        g = gpd.read_file(p, engine="pyogrio")
    except Exception as exc:
        raise SitingError(f"{p}: not a readable GeoJSON ({exc})") from exc
    require_columns(g, ["zoneName", "countryKey"], p)
    if g.crs is None:
        raise SitingError(f"{p}: no CRS stated; expected EPSG:4326")
    g = g.to_crs(WGS84)
    g = g[g.geometry.notna() & ~g.geometry.is_empty]
    out = gpd.GeoDataFrame({"zone": g["zoneName"].astype(str),
                            "country_iso2": g["countryKey"].astype(str)},
                           geometry=g.geometry.to_numpy(), crs=WGS84)
    return out.reset_index(drop=True)


def load_em_yearly(year: int, path: PathLike | None = None, **fetch_kwargs) -> pd.DataFrame:
    """Electricity Maps yearly zone means (co2js): ``zone, year, ci_g_per_kwh`` (life-cycle)."""
    p = (Path(path) if path is not None
         else fetch_file(CO2JS, f"yearly_{int(year)}.json", **fetch_kwargs))
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SitingError(f"{p}: not readable JSON ({exc})") from exc
    zones = list(data)
    values = [((data[z] or {}).get("carbonIntensity") or {}).get("value") for z in zones]
    out = pd.DataFrame({"zone": zones, "year": int(year),
                        "ci_g_per_kwh": pd.to_numeric(pd.Series(values), errors="coerce")})
    bad = out["ci_g_per_kwh"].lt(0) | out["ci_g_per_kwh"].gt(3000)
    if bad.any():
        raise SitingError(f"{p}: zone {out.loc[bad, 'zone'].iloc[0]}: field carbonIntensity.value: "
                          "expected 0-3000 gCO2eq/kWh")
    return out.dropna(subset=["ci_g_per_kwh"]).reset_index(drop=True)


def load_em_data_centres(path: PathLike | None = None, **fetch_kwargs) -> pd.DataFrame:
    """Electricity Maps' list of cloud data centres: ``key, provider, region, name, zone, lat,
    lon`` (ODbL/AGPL material: run time and tests only)."""
    p = (Path(path) if path is not None
         else fetch_file(EM_CONFIG, EM_DATA_CENTRES_FILE, **fetch_kwargs))
    data = json.loads(p.read_text(encoding="utf-8"))
    rows = [{"key": k, "provider": v.get("provider"), "region": v.get("region"),
             "name": v.get("displayName"), "zone": v.get("zoneKey"),
             "lon": (v.get("lonlat") or [None, None])[0], "lat": (v.get("lonlat") or [None, None])[1]}
            for k, v in data.items()]
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- hourly series (runtime)
def hourly_sources(mirror: PathLike | None = None, cache: PathLike | None = None
                   ) -> pd.DataFrame:
    """What hourly series the cache/mirror holds: ``zone, year, dataset, filename``. EIA
    balancing areas are keyed by the Electricity Maps zone whose id ends in the BA code."""
    from siting.data.registry import DATASETS

    rows = []
    for name, ds in DATASETS.items():
        if name.startswith("emaps-hourly-"):
            year = int(name.rsplit("-", 1)[1])
            for f in ds.files:
                rows.append({"zone": f.filename.split(f"_{year}_")[0], "year": year,
                             "dataset": name, "filename": f.filename})
    if EIA_BA in DATASETS:
        for f in DATASETS[EIA_BA].files:
            rows.append({"zone": f"BA:{f.filename.split('_')[0]}", "year": EIA_YEAR,
                         "dataset": EIA_BA, "filename": f.filename})
    table = pd.DataFrame(rows, columns=["zone", "year", "dataset", "filename"])
    have = [available(r.dataset, r.filename, mirror=mirror, cache=cache, copy=False) is not None
            for r in table.itertuples()]  # a few dozen files, not data rows
    return table[np.asarray(have, dtype=bool)].reset_index(drop=True)


def load_eia_ba_hourly(path: PathLike, assumptions: Assumptions) -> pd.DataFrame:
    """One EIA-930 balancing area: ``timestamp_utc, ci_g_per_kwh`` (life-cycle, recomputed
    from the hourly generation by fuel with siting's factors; negative net generation, e.g.
    pumped storage pumping, counts as zero)."""
    p = Path(path)
    raw = read_csv(p)
    require_columns(raw, ["timestamp", *EIA_FUELS], p)
    ts = pd.to_datetime(raw["timestamp"], utc=True, errors="coerce")
    if ts.isna().any():
        line = int(np.flatnonzero(ts.isna().to_numpy())[0]) + 2
        raise SitingError(f"{p}: line {line}: field timestamp: expected a UTC date-time")
    # empty hours (the file has a few gaps) become NaN intensity, then interpolated
    gen = np.column_stack([numeric_column(raw, c, p, required=False).to_numpy(float)
                           for c in EIA_FUELS])
    gen = np.clip(np.nan_to_num(gen), 0.0, None)
    factors = np.array([assumptions.lifecycle_g_per_kwh(f) for f in EIA_FUELS.values()])
    total = gen.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ci = gen @ factors / total
    out = pd.DataFrame({"timestamp_utc": ts, "ci_g_per_kwh": ci})
    out["ci_g_per_kwh"] = out["ci_g_per_kwh"].interpolate(limit_direction="both")
    out = out.sort_values("timestamp_utc").reset_index(drop=True)
    # EIA-930 stamps each hour with its end: re-stamp with the hour's start, as the supply
    # profiles do (siting.data.profile_sources.load_eia_ba); the first row stands in for the
    # year's last hour, which the file lacks
    out["ci_g_per_kwh"] = np.roll(out["ci_g_per_kwh"].to_numpy(), -1)
    return out
