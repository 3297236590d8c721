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

from siting.assumptions import Assumptions, default_assumptions
from siting.catalog import gpu_power_w, resolve_gpu
from siting.data.validate import (
    file_line,
    first_bad_row,
    id_column,
    known_names,
    numeric_column,
    problem,
    pydantic_message,
    read_csv,
    read_text,
    require_columns,
    where,
)
from siting.errors import SitingError
from siting.paths import RESOURCES_DIR, regions_file
from siting.units import HOURS_PER_YEAR

SCHEMA_FILE = RESOURCES_DIR / "scenario.schema.json"
DEFAULT_SITES = "default"
SITES_REQUIRED = ["site_id", "lat", "lon", "capacity_gpus", "grid_ci_g_per_kwh",
                  "renewable_mwh_per_year"]
WORKLOADS_REQUIRED = ["workload_id", "gpu_hours", "splittable"]
MONTHLY_REQUIRED = ["site_id", "month", "renewable_mwh", "grid_ci_g_per_kwh"]
SOURCE_COLUMNS = ["grid_ci_source", "grid_ci_resolution", "grid_year", "profile_source",
                  "profile_sources"]
MONTHS = 12


class SolverOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: Literal["highs", "cbc"] = Field("highs", description="MILP solver")
    time_limit_s: float | None = Field(None, gt=0, description="wall-clock limit of the solve")
    rel_gap: float = Field(1e-6, ge=0, lt=1, description="relative MIP gap to stop at")
    threads: int | None = Field(None, ge=1, description="solver threads (default: solver's)")
    pareto_workers: int = Field(
        2, ge=1, le=64, description="hourly Pareto front: points solved at once, one master per thread "
        "(decomposed formulation without batteries; 1: one point after another)")
    start_tuning: Literal["auto", "on", "off"] = Field(
        "auto", description="HiGHS settings for a run that starts from siting's own plan: no "
        "sub-MIP heuristics (RENS, RINS, root reduced cost) and no restarts; 'auto' uses them "
        "exactly when such a start is handed over")


class Scenario(BaseModel):
    """One optimisation run. Paths are relative to the scenario file."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    # a safe folder name: no separators, no leading dot (so never "." or ".."), not absolute
    name: str = Field(..., min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
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
                                     "site_id, timestamp, grid_ci_g_per_kwh[, grid_price_usd_per_mwh, "
                                     "cf_<tech>])")
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
        "auto", description="hourly model: decomposed (exact cuts; batteries by their dispatch LPs) or "
        "explicit (hourly columns, the reference); auto picks decomposed")
    data_runtime: bool = Field(True, description="hourly series from the run-time cache/mirror when "
                               "present (Electricity Maps, Dispa-SET); false: the embedded default only")
    horizon_hours: float | None = Field(None, gt=0, description="annual/monthly periods: the planning "
                                        "horizon in hours (default: assumption horizon_hours)")
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


class _ScenarioLoader(yaml.SafeLoader):
    """YAML's safe loader without aliases (``*name``): scenario files never need them, and
    refusing them at the first alias event makes "billion laughs" files fail at once."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise SitingError(f"{self.name}: line {mark.line + 1}: expected no YAML aliases "
                              "(*name) in a scenario file")
        return super().compose_node(parent, index)


def load_scenario(path: str | Path, assumptions: Assumptions | None = None) -> Scenario:
    """Read and validate a scenario YAML file; relative paths in it resolve against its folder.
    UTF-8 (or the cp1252 fallback, see siting.data.validate), YAML safe loader without
    aliases, fields validated by pydantic; every failure is one line naming file and field."""
    a = assumptions or default_assumptions()
    p = Path(path)
    if p.is_file() and p.stat().st_size > a["input_max_scenario_bytes"]:
        raise SitingError(f"{p}: expected a scenario file under {a['input_max_scenario_bytes']:g} "
                          f"bytes, got {p.stat().st_size} bytes")
    text = read_text(p, "scenario")
    try:
        loader = _ScenarioLoader(text)
        loader.name = str(p)
        try:
            raw = loader.get_single_data()
        finally:
            loader.dispose()
    except RecursionError:
        raise SitingError(f"{p}: expected a flat mapping of scenario fields, got YAML nested "
                          "too deeply to read") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        why = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SitingError(f"{p}: {line}not valid YAML ({why})") from None
    if not isinstance(raw, dict):
        raise problem(p, None, None, "a mapping of scenario fields (name: ..., workloads: ...)",
                      raw if not isinstance(raw, list) else "a list")
    bad_keys = [k for k in raw if not isinstance(k, str)]
    if bad_keys:
        raise problem(p, None, None, "text field names", bad_keys[0])
    try:
        sc = Scenario(**raw, base_dir=p.resolve().parent)
    except ValidationError as exc:
        raise pydantic_message(exc, p, model=Scenario) from None
    check_scenario_numbers(sc, p, a)
    return sc


def check_scenario_numbers(sc: Scenario, source: str | Path, assumptions: Assumptions) -> None:
    """Magnitudes pydantic's field rules do not cover: the horizon limit."""
    limit = assumptions["input_max_horizon_hours"]
    if sc.horizon_hours is not None and sc.horizon_hours > limit:
        raise problem(source, None, "horizon_hours", f"a number <= {limit:g} (limit "
                      "input_max_horizon_hours in siting/resources/assumptions.csv)",
                      sc.horizon_hours)


# ------------------------------------------------------------------------------ tables
def _bools(df: pd.DataFrame, col: str, path) -> pd.Series:
    text = df[col].astype("string").str.strip().str.lower()
    mapping = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False,
               "1.0": True, "0.0": False}
    values = text.map(mapping)
    row = first_bad_row(values.isna())
    if row is not None:
        raise problem(path, file_line(df, row), col, "true or false", df[col].iloc[row])
    return values.astype(bool)


# tables are read as text, so numbers are parsed (and echoed in errors) as the user wrote them
_AS_TEXT = {"dtype": str, "keep_default_na": False, "strict_fields": True}
CI_MAX_G_PER_KWH = 2000  # above any grid's yearly average (coal-only ~1000-1100 gCO2e/kWh)


def read_sites_table(path: Path, assumptions: Assumptions | None = None) -> pd.DataFrame:
    """Sites for the model, validated; optional columns filled with their defaults."""
    return sites_from_frame(read_csv(path, "sites", **_AS_TEXT), path, assumptions)


def sites_from_frame(df: pd.DataFrame, path: str | Path = "sites",
                     assumptions: Assumptions | None = None) -> pd.DataFrame:
    """Validate a sites frame (errors name ``path``, row and field)."""
    a = assumptions or default_assumptions()
    require_columns(df, SITES_REQUIRED, path)
    if df.empty:
        raise SitingError(f"{path}: no sites (header only)")
    out = pd.DataFrame({"site_id": id_column(df, "site_id", path)})
    out["lat"] = numeric_column(df, "lat", path, lo=-90, hi=90)
    out["lon"] = numeric_column(df, "lon", path, lo=-180, hi=180)
    out["capacity_gpus"] = numeric_column(df, "capacity_gpus", path, lo=0,
                                          limit=a["input_max_capacity_gpus"],
                                          limit_key="input_max_capacity_gpus")
    # a site without its own PUE (no column, or an empty cell) takes the scenario's pue_default
    out["pue"] = (numeric_column(df, "pue", path, lo=1.0, hi=5.0, required=False).fillna(a["pue_default"])
                  if "pue" in df else a["pue_default"])
    out["grid_ci_g_per_kwh"] = numeric_column(df, "grid_ci_g_per_kwh", path, lo=0,
                                              hi=CI_MAX_G_PER_KWH)
    out["renewable_mwh_per_year"] = numeric_column(df, "renewable_mwh_per_year", path, lo=0,
                                                   limit=a["input_max_energy_mwh"],
                                                   limit_key="input_max_energy_mwh")
    optional = {"capacity_mw": (np.nan, "input_max_capacity_mw"),
                "renewable_ci_g_per_kwh": (np.nan, None), "embodied_t": (0.0, "input_max_embodied_t")}
    for col, (default, key) in optional.items():
        if col in df:
            hi = CI_MAX_G_PER_KWH if col == "renewable_ci_g_per_kwh" else None
            out[col] = numeric_column(df, col, path, lo=0, hi=hi, required=False,
                                      limit=a[key] if key else None, limit_key=key
                                      ).fillna(default)
        else:
            out[col] = default
    hydro = a["lifecycle_hydro_g_per_kwh"]
    out["renewable_ci_g_per_kwh"] = out["renewable_ci_g_per_kwh"].fillna(hydro)
    for col in ("name", "country_iso3", "kind"):
        out[col] = df[col].astype("string").fillna("") if col in df else ""
    out.loc[out["name"] == "", "name"] = out["site_id"]
    for col in SOURCE_COLUMNS:  # where the numbers come from, carried to reports when given
        if col in df:
            out[col] = df[col].astype("string")
    return out


def read_workloads_table(path: Path, assumptions: Assumptions | None = None) -> pd.DataFrame:
    """Workloads, validated, with ``gpu_power_kw`` resolved and IT ``energy_mwh`` computed."""
    return workloads_from_frame(read_csv(path, "workloads", **_AS_TEXT), path, assumptions)


GPU_POWER_MAX_KW = 100  # far above any accelerator's board power (B200: 1.2 kW)


def workloads_from_frame(df: pd.DataFrame, path: str | Path = "workloads",
                         assumptions: Assumptions | None = None) -> pd.DataFrame:
    """Validate a workloads frame (errors name ``path``, row and field)."""
    a = assumptions or default_assumptions()
    require_columns(df, WORKLOADS_REQUIRED, path)
    if "gpu_power_kw" not in df and "gpu" not in df:
        raise SitingError(f"{path}: needs a gpu_power_kw or a gpu column")
    if df.empty:
        raise SitingError(f"{path}: no workloads (header only)")
    out = pd.DataFrame({"workload_id": id_column(df, "workload_id", path)})
    out["gpu_hours"] = numeric_column(df, "gpu_hours", path, gt=0, limit=a["input_max_gpu_hours"],
                                      limit_key="input_max_gpu_hours")
    out["splittable"] = _bools(df, "splittable", path)
    power = (numeric_column(df, "gpu_power_kw", path, gt=0, hi=GPU_POWER_MAX_KW, required=False)
             if "gpu_power_kw" in df else pd.Series(np.nan, index=df.index))
    if "gpu" in df:
        names = df["gpu"].astype("string").str.strip().replace("", pd.NA)
        need = power.isna()
        row = first_bad_row(need & names.isna())
        if row is not None:
            raise problem(path, file_line(df, row), "gpu", "a GPU name (or a gpu_power_kw value)",
                          df["gpu"].iloc[row])
        catalogue = {}
        for name in names[need].unique():  # once per distinct GPU name, not per row
            try:
                catalogue[name] = gpu_power_w(name) / 1000.0
            except SitingError as exc:
                row = first_bad_row((names == name).fillna(False))
                raise SitingError(f"{where(path, file_line(df, row), 'gpu')}: {exc}") from None
        power = power.fillna(names.map(catalogue).astype(float))
        given = names.astype(object)
        resolved = given.map({n: resolve_gpu(n) for n in catalogue})
        out["gpu"] = resolved.where(resolved.notna(), given).fillna("").astype(str)
    else:
        row = first_bad_row(power.isna())
        if row is not None:
            raise problem(path, file_line(df, row), "gpu_power_kw", "a finite number > 0",
                          df["gpu_power_kw"].iloc[row])
        out["gpu"] = ""
    out["gpu_power_kw"] = power.astype(float)
    default_oh = a["overhead_share_default"]
    out["overhead_share"] = (numeric_column(df, "overhead_share", path, lo=0, hi=10, required=False)
                             .fillna(default_oh) if "overhead_share" in df else default_oh)
    for col, default in (("start_month", 1), ("end_month", MONTHS)):
        out[col] = (numeric_column(df, col, path, lo=1, hi=MONTHS, integer=True, required=False)
                    .fillna(default).astype(int) if col in df else default)
    row = first_bad_row(out["start_month"] > out["end_month"])
    if row is not None:
        raise problem(path, file_line(df, row), "end_month",
                      f"a month >= start_month ({out['start_month'].iloc[row]})",
                      df["end_month"].iloc[row])
    for col in ("start", "end"):  # optional dates (UTC) of the window; hourly periods use them
        if col in df:
            when = pd.to_datetime(df[col], utc=True, errors="coerce")
            row = first_bad_row(when.isna() & df[col].notna())
            if row is not None:
                raise problem(path, file_line(df, row), col, "a date such as 2022-03-01", df[col].iloc[row])
            out[col] = when
    if "start" in out and "end" in out:
        row = first_bad_row(out["start"].notna() & out["end"].notna() & (out["end"] <= out["start"]))
        if row is not None:
            raise problem(path, file_line(df, row), "end", "a date after start", df["end"].iloc[row])
    out["energy_mwh"] = out["gpu_hours"] * out["gpu_power_kw"] * (1 + out["overhead_share"]) / 1000
    return out


def read_monthly_table(path: Path, site_ids: pd.Series, assumptions: Assumptions | None = None
                       ) -> pd.DataFrame:
    """Monthly site data: one row per (site, month 1-12) for every site."""
    a = assumptions or default_assumptions()
    df = read_csv(path, "monthly sites", **_AS_TEXT)
    require_columns(df, MONTHLY_REQUIRED, path)
    out = pd.DataFrame({"site_id": known_names(df, "site_id", path, site_ids,
                                               "a site_id of the sites table")})
    out["month"] = numeric_column(df, "month", path, lo=1, hi=MONTHS, integer=True).astype(int)
    out["renewable_mwh"] = numeric_column(df, "renewable_mwh", path, lo=0,
                                          limit=a["input_max_energy_mwh"],
                                          limit_key="input_max_energy_mwh")
    out["grid_ci_g_per_kwh"] = numeric_column(df, "grid_ci_g_per_kwh", path, lo=0,
                                              hi=CI_MAX_G_PER_KWH)
    row = first_bad_row(out.duplicated(["site_id", "month"]))
    if row is not None:
        raise problem(path, file_line(df, row), "month",
                      f"one row per site and month (site {out['site_id'].iloc[row]} repeats it)",
                      df["month"].iloc[row])
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
    assumptions: Assumptions = field(default_factory=default_assumptions, repr=False)

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
                  name: str = "scenario", assumptions: Assumptions | None = None) -> Problem:
    """A :class:`Problem` from validated tables (annual unless ``monthly`` is given); it carries
    the ``assumptions`` it was built with (default: the shipped table)."""
    a = assumptions or default_assumptions()
    if sites.empty:
        raise SitingError("the sites table has no rows")
    if workloads.empty:
        raise SitingError("the workloads table has no rows")
    H = a["horizon_hours"] if horizon_hours is None else float(horizon_hours)
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
                   max_sites=max_sites, name=name, periods=periods, assumptions=a)


def check_annual_scenario(scenario: Scenario) -> None:
    """The annual/monthly model has one objective, least tCO2e, and its reductions (site
    dominance, the renewable credit rule, the greedy start's ranking) are exact for that
    objective only. Refuse a scenario that asks for anything else (one-line SitingError)
    instead of silently minimising tCO2e."""
    if scenario.periods == "hourly":
        return
    asked = [f"objective: {scenario.objective}"] if scenario.objective != "min_co2" else []
    asked += [f"{key}: {getattr(scenario, key)}" for key in ("co2_cap_t", "budget_usd", "cfe_target")
              if getattr(scenario, key) is not None]
    asked += [f"{key}: {getattr(scenario, key)}" for key in ("carbon_price_usd_per_t", "pareto_points")
              if getattr(scenario, key)]
    if asked:
        raise SitingError(f"scenario {scenario.name}: {', '.join(asked)} needs periods: hourly (the "
                          f"{scenario.periods} model minimises tCO2e only)")


def load_problem(scenario: Scenario) -> Problem:
    """Read and check every table a scenario names and return the :class:`Problem` arrays."""
    sites_path = (regions_file("sites.csv") if scenario.sites == DEFAULT_SITES
                  else scenario.path(scenario.sites))
    a = scenario.resolved_assumptions()
    return problem_from_sites(scenario, read_sites_table(sites_path, a))


def problem_from_sites(scenario: Scenario, sites: pd.DataFrame) -> Problem:
    """The :class:`Problem` of ``scenario`` with an already validated sites table (e.g. enriched
    from a ``site_id,lat,lon`` list): its workloads, monthly data and assumptions."""
    check_annual_scenario(scenario)
    a = scenario.resolved_assumptions()
    workloads = read_workloads_table(scenario.path(scenario.workloads), a)
    monthly = None
    if scenario.periods == "monthly":
        if scenario.sites_monthly is None:
            raise SitingError("periods: monthly needs sites_monthly (a monthly site CSV)")
        monthly = read_monthly_table(scenario.path(scenario.sites_monthly), sites["site_id"])
    return build_problem(sites, workloads, monthly=monthly, horizon_hours=scenario.horizon_hours,
                         max_sites=scenario.max_sites, name=scenario.name, assumptions=a)
