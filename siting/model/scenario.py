"""Scenario files (YAML, validated by pydantic) and the input tables they name.

A scenario ties together a sites table (or the embedded default), a workloads table,
optionally monthly site data, the horizon, the period mode, ``max_sites`` and solver
options. :func:`load_problem` reads and checks everything and returns a :class:`Problem`:
plain arrays the formulation works on, in one fixed order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from siting.assumptions import Assumptions, assumption, default_assumptions
from siting.catalog import gpu_power_w, resolve_gpu
from siting.data.validate import first_bad_row, id_column, numeric_column, read_csv, require_columns
from siting.errors import SitingError
from siting.paths import RESOURCES_DIR, regions_file
from siting.units import HOURS_PER_YEAR

SCHEMA_FILE = RESOURCES_DIR / "scenario.schema.json"
DEFAULT_SITES = "default"
SITES_REQUIRED = ["site_id", "lat", "lon", "capacity_gpus", "pue", "grid_ci_g_per_kwh",
                  "renewable_mwh_per_year"]
WORKLOADS_REQUIRED = ["workload_id", "gpu_hours", "splittable"]
MONTHLY_REQUIRED = ["site_id", "month", "renewable_mwh", "grid_ci_g_per_kwh"]
SOURCE_COLUMNS = ["grid_ci_source", "grid_ci_resolution", "grid_year", "profile_source",
                  "profile_sources"]
MONTHS = 12


class SolverOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Literal["highs", "cbc"] = Field("highs", description="MILP solver")
    time_limit_s: float | None = Field(None, gt=0, description="wall-clock limit of the solve")
    rel_gap: float = Field(1e-6, ge=0, lt=1, description="relative MIP gap to stop at")
    threads: int | None = Field(None, ge=1, description="solver threads (default: solver's)")
    start_tuning: Literal["auto", "on", "off"] = Field(
        "auto", description="HiGHS settings for a run that starts from siting's own plan: no "
        "sub-MIP heuristics (RENS, RINS, root reduced cost) and no restarts; 'auto' uses them "
        "exactly when such a start is handed over")


class Scenario(BaseModel):
    """One optimisation run. Paths are relative to the scenario file."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9_.-]+$",
                      description="scenario name, used for output folders")
    sites: str = Field(DEFAULT_SITES, description="sites CSV, or 'default' for data/regions/sites.csv")
    workloads: str = Field(..., description="workloads CSV")
    sites_monthly: str | None = Field(None, description="monthly site CSV (monthly periods)")
    periods: Literal["annual", "monthly", "hourly"] = Field(
        "annual", description="hourly: 24/7 matching hour by hour on the time grid, with procurement and "
        "cost; annual/monthly: the older model that matches existing renewables over a year or month")
    year: int | None = Field(None, ge=2000, le=2100, description="calendar year of the hourly time grid "
                             "(default: assumption timegrid_year)")
    sites_hourly: str | None = Field(None, description="hourly site series (CSV or Parquet, long form: "
                                     "site_id, timestamp, grid_ci_g_per_kwh[, grid_price_usd_per_mwh, cf_<tech>])")
    technologies: str | None = Field(None, description="technologies CSV (default: NREL ATB 2022 values "
                                     "from the assumptions table)")
    procure: list[str] = Field(default_factory=lambda: ["wind_onshore", "solar_pv", "geothermal"],
                               description="technologies a plan may procure (hourly periods)")
    objective: Literal["min_co2", "min_cost", "cost_plus_carbon"] = "min_co2"
    co2_cap_t: float | None = Field(None, ge=0, description="most tCO2e the plan may emit")
    budget_usd: float | None = Field(None, ge=0, description="most the plan may cost")
    carbon_price_usd_per_t: float = Field(0.0, ge=0, description="with objective cost_plus_carbon")
    cfe_target: float | None = Field(None, ge=0, le=1, description="least hourly CFE share")
    cfe_scope: Literal["overall", "site"] = "overall"
    pareto_points: int = Field(0, ge=0, le=50, description="points of the cost/CO2 Pareto front (0: none)")
    formulation: Literal["auto", "decomposed", "explicit"] = Field(
        "auto", description="hourly model: decomposed (exact cuts, no storage) or explicit (hourly "
        "columns, any input); auto picks decomposed unless a site has storage")
    data_runtime: bool = Field(True, description="hourly series from the run-time cache/mirror when "
                               "present (Electricity Maps, Dispa-SET); false: the embedded default only")
    horizon_hours: float = Field(default_factory=lambda: assumption("horizon_hours"), gt=0)
    max_sites: int | None = Field(None, ge=1, description="at most this many sites open")
    solver: SolverOptions = Field(default_factory=SolverOptions)
    assumptions: dict[str, float] = Field(
        default_factory=dict, description="overrides of siting/resources/assumptions.csv by key "
        "(e.g. pue_default: 1.2); every other default comes from the table")
    base_dir: Path | None = Field(None, exclude=True, description="folder paths are relative to")

    def resolved_assumptions(self) -> Assumptions:
        """The assumptions this scenario runs with: the table, overridden by ``assumptions``."""
        return default_assumptions().with_overrides(self.assumptions)

    def path(self, value: str) -> Path:
        p = Path(value)
        return p if p.is_absolute() or self.base_dir is None else self.base_dir / p


def scenario_json_schema() -> dict:
    schema = Scenario.model_json_schema()
    schema["properties"].pop("base_dir", None)
    return schema


def write_json_schema(dest: Path = SCHEMA_FILE) -> Path:
    dest.write_text(json.dumps(scenario_json_schema(), indent=2, sort_keys=True) + "\n")
    return dest


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file; relative paths in it resolve against its folder.

    Bad files raise :class:`~siting.errors.SitingError` naming the file and the field."""
    p = Path(path)
    if not p.is_file():
        raise SitingError(f"{p}: scenario file not found")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SitingError(f"{p}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(raw, dict):
        raise SitingError(f"{p}: expected a mapping of scenario fields")
    try:
        return Scenario(**raw, base_dir=p.resolve().parent)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise SitingError(f"{p}: field {where}: {err['msg']}") from None


# ------------------------------------------------------------------------------ tables
def _bools(df: pd.DataFrame, col: str, path) -> pd.Series:
    text = df[col].astype("string").str.strip().str.lower()
    mapping = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False,
               "1.0": True, "0.0": False}
    values = text.map(mapping)
    row = first_bad_row(values.isna())
    if row is not None:
        raise SitingError(f"{path}: row {row + 2}, field {col}: expected true or false, "
                          f"got {df[col].iloc[row]!r}")
    return values.astype(bool)


def read_sites_table(path: Path) -> pd.DataFrame:
    """Sites for the model, validated; optional columns filled with their defaults."""
    return sites_from_frame(read_csv(path, "sites"), path)


def sites_from_frame(df: pd.DataFrame, path: str | Path = "sites") -> pd.DataFrame:
    """Validate a sites frame (errors name ``path``, row and field)."""
    require_columns(df, SITES_REQUIRED, path)
    out = pd.DataFrame({"site_id": id_column(df, "site_id", path)})
    out["lat"] = numeric_column(df, "lat", path, lo=-90, hi=90)
    out["lon"] = numeric_column(df, "lon", path, lo=-180, hi=180)
    out["capacity_gpus"] = numeric_column(df, "capacity_gpus", path, lo=0)
    out["pue"] = numeric_column(df, "pue", path, lo=1.0, hi=5.0)
    out["grid_ci_g_per_kwh"] = numeric_column(df, "grid_ci_g_per_kwh", path, lo=0, hi=2000)
    out["renewable_mwh_per_year"] = numeric_column(df, "renewable_mwh_per_year", path, lo=0)
    optional = {"capacity_mw": np.nan, "renewable_ci_g_per_kwh": np.nan, "embodied_t": 0.0}
    for col, default in optional.items():
        if col in df:
            hi = 2000 if col == "renewable_ci_g_per_kwh" else None
            out[col] = numeric_column(df, col, path, lo=0, hi=hi, required=False).fillna(default)
        else:
            out[col] = default
    hydro = assumption("lifecycle_hydro_g_per_kwh")
    out["renewable_ci_g_per_kwh"] = out["renewable_ci_g_per_kwh"].fillna(hydro)
    for col in ("name", "country_iso3", "kind"):
        out[col] = df[col].astype("string").fillna("") if col in df else ""
    out.loc[out["name"] == "", "name"] = out["site_id"]
    for col in SOURCE_COLUMNS:  # where the numbers come from, carried to reports when given
        if col in df:
            out[col] = df[col].astype("string")
    return out


def read_workloads_table(path: Path) -> pd.DataFrame:
    """Workloads, validated, with ``gpu_power_kw`` resolved and IT ``energy_mwh`` computed."""
    return workloads_from_frame(read_csv(path, "workloads"), path)


def workloads_from_frame(df: pd.DataFrame, path: str | Path = "workloads") -> pd.DataFrame:
    """Validate a workloads frame (errors name ``path``, row and field)."""
    require_columns(df, WORKLOADS_REQUIRED, path)
    if "gpu_power_kw" not in df and "gpu" not in df:
        raise SitingError(f"{path}: needs a gpu_power_kw or a gpu column")
    out = pd.DataFrame({"workload_id": id_column(df, "workload_id", path)})
    out["gpu_hours"] = numeric_column(df, "gpu_hours", path, lo=0)
    out["splittable"] = _bools(df, "splittable", path)
    power = (numeric_column(df, "gpu_power_kw", path, lo=0, hi=100, required=False)
             if "gpu_power_kw" in df else pd.Series(np.nan, index=df.index))
    if "gpu" in df:
        names = df["gpu"].astype("string")
        need = power.isna()
        row = first_bad_row(need & names.isna())
        if row is not None:
            raise SitingError(f"{path}: row {row + 2}: give gpu_power_kw or gpu")
        catalogue = {}
        for name in names[need].unique():  # once per distinct GPU name, not per row
            try:
                catalogue[name] = gpu_power_w(name) / 1000.0
            except SitingError as exc:
                row = first_bad_row(names == name)
                raise SitingError(f"{path}: row {row + 2}, field gpu: {exc}") from None
        power = power.fillna(names.map(catalogue))
        out["gpu"] = names.map(lambda n: resolve_gpu(n) if n in catalogue else n).fillna("")
    else:
        row = first_bad_row(power.isna())
        if row is not None:
            raise SitingError(f"{path}: row {row + 2}, field gpu_power_kw: expected a number")
        out["gpu"] = ""
    out["gpu_power_kw"] = power.astype(float)
    default_oh = assumption("overhead_share_default")
    out["overhead_share"] = (numeric_column(df, "overhead_share", path, lo=0, hi=10, required=False)
                             .fillna(default_oh) if "overhead_share" in df else default_oh)
    for col, default in (("start_month", 1), ("end_month", MONTHS)):
        out[col] = (numeric_column(df, col, path, lo=1, hi=MONTHS, required=False)
                    .fillna(default).astype(int) if col in df else default)
    row = first_bad_row(out["start_month"] > out["end_month"])
    if row is not None:
        raise SitingError(f"{path}: row {row + 2}: start_month after end_month")
    for col in ("start", "end"):  # optional dates (UTC) of the window; hourly periods use them
        if col in df:
            when = pd.to_datetime(df[col], utc=True, errors="coerce")
            row = first_bad_row(when.isna() & df[col].notna())
            if row is not None:
                raise SitingError(f"{path}: row {row + 2}, field {col}: expected a date such as "
                                  f"2022-03-01, got {str(df[col].iloc[row])[:60]!r}")
            out[col] = when
    if "start" in out and "end" in out:
        row = first_bad_row(out["start"].notna() & out["end"].notna() & (out["end"] <= out["start"]))
        if row is not None:
            raise SitingError(f"{path}: row {row + 2}: end is not after start")
    out["energy_mwh"] = out["gpu_hours"] * out["gpu_power_kw"] * (1 + out["overhead_share"]) / 1000
    return out


def read_monthly_table(path: Path, site_ids: pd.Series) -> pd.DataFrame:
    """Monthly site data: one row per (site, month 1-12) for every site."""
    df = read_csv(path, "monthly sites")
    require_columns(df, MONTHLY_REQUIRED, path)
    out = pd.DataFrame({"site_id": df["site_id"].astype(str).str.strip()})
    out["month"] = numeric_column(df, "month", path, lo=1, hi=MONTHS).astype(int)
    out["renewable_mwh"] = numeric_column(df, "renewable_mwh", path, lo=0)
    out["grid_ci_g_per_kwh"] = numeric_column(df, "grid_ci_g_per_kwh", path, lo=0, hi=2000)
    row = first_bad_row(out.duplicated(["site_id", "month"]))
    if row is not None:
        raise SitingError(f"{path}: row {row + 2}: duplicate site_id/month")
    unknown = sorted(set(out["site_id"]) - set(site_ids))
    if unknown:
        raise SitingError(f"{path}: site_id(s) not in the sites table: {unknown[:5]}")
    counts = out.groupby("site_id").size().reindex(site_ids, fill_value=0)
    short = counts[counts != MONTHS]
    if len(short):
        raise SitingError(f"{path}: site {short.index[0]!r} has {short.iloc[0]} months, "
                          f"expected {MONTHS}")
    return out


# ------------------------------------------------------------------------------ problem
@dataclass
class Problem:
    """Everything the formulation needs, as arrays in a fixed order (sites s, workloads w,
    periods t). Energies in MWh, intensities in g/kWh, emissions in t."""

    sites: pd.DataFrame
    workloads: pd.DataFrame
    renewable_mwh: np.ndarray  # (S, T)
    grid_ci: np.ndarray  # (S, T)
    share: np.ndarray  # (W, T): f_wt, share of w's energy in period t
    horizon_hours: float
    max_sites: int | None = None
    name: str = "scenario"
    periods: list[str] = field(default_factory=lambda: ["year"])

    @property
    def n_sites(self) -> int:
        return len(self.sites)

    @property
    def n_workloads(self) -> int:
        return len(self.workloads)

    @property
    def n_periods(self) -> int:
        return self.grid_ci.shape[1]

    @property
    def period_hours(self) -> np.ndarray:
        """(T,) hours in each period: the horizon, or each month's share of it (its calendar
        hours in a non-leap year, scaled to the horizon)."""
        if self.n_periods == 1:
            return np.array([self.horizon_hours])
        month_hours = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], float) * 24
        return month_hours / month_hours.sum() * self.horizon_hours


def facility_energy_cap_mwh(sites: pd.DataFrame, horizon_hours: float) -> np.ndarray:
    """``capacity_mw`` x horizon per site (facility MWh); inf where there is no cap
    (``capacity_mw`` empty or 0)."""
    cap_mw = sites["capacity_mw"].to_numpy(float)
    return np.where(np.isnan(cap_mw) | (cap_mw <= 0), np.inf, cap_mw * horizon_hours)


def period_shares(workloads: pd.DataFrame, monthly: bool) -> np.ndarray:
    if not monthly:
        return np.ones((len(workloads), 1))
    months = np.arange(1, MONTHS + 1)
    start = workloads["start_month"].to_numpy()[:, None]
    end = workloads["end_month"].to_numpy()[:, None]
    active = (months >= start) & (months <= end)
    return active / active.sum(axis=1, keepdims=True)


def build_problem(sites: pd.DataFrame, workloads: pd.DataFrame, *, monthly: pd.DataFrame | None = None,
                  horizon_hours: float | None = None, max_sites: int | None = None,
                  name: str = "scenario") -> Problem:
    """A :class:`Problem` from validated tables (annual unless ``monthly`` is given)."""
    if sites.empty:
        raise SitingError("the sites table has no rows")
    if workloads.empty:
        raise SitingError("the workloads table has no rows")
    H = assumption("horizon_hours") if horizon_hours is None else float(horizon_hours)
    if monthly is None:
        renewable = sites["renewable_mwh_per_year"].to_numpy(float)[:, None] * (H / HOURS_PER_YEAR)
        grid = sites["grid_ci_g_per_kwh"].to_numpy(float)[:, None]
        periods = ["year"]
    else:
        order = {s: i for i, s in enumerate(sites["site_id"])}
        m = monthly.assign(i=monthly["site_id"].map(order)).sort_values(["i", "month"])
        renewable = m["renewable_mwh"].to_numpy(float).reshape(len(sites), MONTHS)
        grid = m["grid_ci_g_per_kwh"].to_numpy(float).reshape(len(sites), MONTHS)
        periods = [f"m{k:02d}" for k in range(1, MONTHS + 1)]
    return Problem(sites=sites.reset_index(drop=True), workloads=workloads.reset_index(drop=True),
                   renewable_mwh=renewable, grid_ci=grid,
                   share=period_shares(workloads, monthly is not None), horizon_hours=H,
                   max_sites=max_sites, name=name, periods=periods)


def load_problem(scenario: Scenario) -> Problem:
    """Read and check every table a scenario names and return the :class:`Problem` arrays."""
    sites_path = (regions_file("sites.csv") if scenario.sites == DEFAULT_SITES
                  else scenario.path(scenario.sites))
    sites = read_sites_table(sites_path)
    workloads = read_workloads_table(scenario.path(scenario.workloads))
    monthly = None
    if scenario.periods == "monthly":
        if scenario.sites_monthly is None:
            raise SitingError("periods: monthly needs sites_monthly (a monthly site CSV)")
        monthly = read_monthly_table(scenario.path(scenario.sites_monthly), sites["site_id"])
    return build_problem(sites, workloads, monthly=monthly, horizon_hours=scenario.horizon_hours,
                         max_sites=scenario.max_sites, name=scenario.name)
