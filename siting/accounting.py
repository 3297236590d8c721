"""Energy and emissions of a training run.

    energy_mwh  = gpu_hours * gpu_power_kw * pue * (1 + overhead_share) / 1000
    emissions_t = energy_mwh * ci_g_per_kwh / 1000

Location-based emissions use the grid intensity. Market-based emissions count a
covered share of the energy (PPAs, certificates) at a lifecycle factor and the rest
at grid intensity; both are reported side by side, never mixed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from siting.assumptions import Assumptions, default_assumptions
from siting.catalog import gpu_power_w as catalogue_power_w
from siting.catalog import resolve_gpu
from siting.errors import SitingError
from siting.intensity import country_intensity


@dataclass(frozen=True)
class Footprint:
    gpu_hours: float
    gpu: str | None
    gpu_power_w: float
    pue: float
    overhead_share: float
    region: str | None
    year: int | None
    ci_g_per_kwh: float
    energy_mwh: float
    emissions_t: float  # location-based
    covered_share: float
    covered_ci_g_per_kwh: float
    market_emissions_t: float

    def to_dict(self) -> dict:
        return asdict(self)


def _number(name: str, value, lo: float = 0.0, hi: float = math.inf) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise SitingError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x) or x < lo or x > hi:
        bound = f"between {lo:g} and {hi:g}" if math.isfinite(hi) else f">= {lo:g}"
        raise SitingError(f"{name} must be a finite number {bound}, got {value!r}")
    return x


def energy_mwh(gpu_hours: float, gpu_power_kw: float, pue: float, overhead_share: float):
    """Facility energy (MWh). Works element-wise on numpy arrays and pandas Series too."""
    return gpu_hours * gpu_power_kw * pue * (1.0 + overhead_share) / 1000.0


def emissions_t(energy: float, ci_g_per_kwh: float):
    """tCO2e of ``energy`` MWh at ``ci_g_per_kwh`` (MWh x g/kWh = kg; /1000 -> t)."""
    return energy * ci_g_per_kwh / 1000.0


def footprint(gpu_hours: float, *, gpu: str | None = None, gpu_power_w: float | None = None,
              pue: float | None = None, overhead_share: float | None = None,
              ci_g_per_kwh: float | None = None, region: str | None = None,
              year: int | None = None, covered_share: float = 0.0,
              covered_ci_g_per_kwh: float | None = None,
              assumptions: Assumptions | None = None) -> Footprint:
    """Footprint of ``gpu_hours`` on one GPU type at one grid intensity.

    Give either ``gpu`` (catalogue name or alias) or ``gpu_power_w``, and either
    ``ci_g_per_kwh`` or ``region`` (ISO3; latest year unless ``year``). ``pue`` and
    ``overhead_share`` default to ``assumptions`` (the shipped table unless given).
    ``covered_share`` of the energy is counted at ``covered_ci_g_per_kwh`` (default: hydro
    lifecycle) in the market-based result.
    """
    a = assumptions or default_assumptions()
    hours = _number("gpu_hours", gpu_hours)
    if (gpu is None) == (gpu_power_w is None):
        raise SitingError("give exactly one of gpu (a catalogue name) or gpu_power_w")
    if gpu is not None:
        name = resolve_gpu(gpu)
        power_w = catalogue_power_w(name)
    else:
        name, power_w = None, _number("gpu_power_w", gpu_power_w, lo=1e-9)
    pue_v = _number("pue", a["pue_default"] if pue is None else pue, lo=1.0, hi=5.0)
    overhead = _number("overhead_share", a["overhead_share_default"]
                       if overhead_share is None else overhead_share, hi=10.0)
    if (ci_g_per_kwh is None) == (region is None):
        raise SitingError("give exactly one of ci_g_per_kwh or region")
    if region is not None:
        ci, year = country_intensity(region, year)
        region = region.upper()
    else:
        ci = _number("ci_g_per_kwh", ci_g_per_kwh, hi=2000.0)
        year = None
    covered = _number("covered_share", covered_share, hi=1.0)
    covered_ci = _number("covered_ci_g_per_kwh", a["lifecycle_hydro_g_per_kwh"]
                         if covered_ci_g_per_kwh is None else covered_ci_g_per_kwh, hi=2000.0)
    e = energy_mwh(hours, power_w / 1000.0, pue_v, overhead)
    return Footprint(
        gpu_hours=hours, gpu=name, gpu_power_w=power_w, pue=pue_v, overhead_share=overhead,
        region=region, year=year, ci_g_per_kwh=ci, energy_mwh=e, emissions_t=emissions_t(e, ci),
        covered_share=covered, covered_ci_g_per_kwh=covered_ci,
        market_emissions_t=emissions_t(e * covered, covered_ci)
        + emissions_t(e * (1 - covered), ci),
    )


# ------------------------------------------------------------------ hourly (24/7) accounting
# The model, the solution tables, the report, evaluate and the tests all use these
# functions, so there is one rule for what a MWh emits and costs.

def co2_t_per_mwh(ci_g_per_kwh):
    """tCO2e per MWh at ``ci_g_per_kwh`` (g/kWh = kg/MWh; /1000 -> t/MWh)."""
    return emissions_t(1.0, ci_g_per_kwh)


def annuity_usd_per_kw_year(capex_usd_per_kw, fixed_om_usd_per_kw_year, lifetime_years,
                            discount_rate):
    """Yearly cost of 1 kW: capital recovered over ``lifetime_years`` at ``discount_rate``
    (capital recovery factor r / (1 - (1 + r)^-n)) plus fixed O&M."""
    r, n = discount_rate, lifetime_years
    crf = 1.0 / n if r == 0 else r / (1.0 - (1.0 + r) ** (-n))
    return capex_usd_per_kw * crf + fixed_om_usd_per_kw_year


def horizon_cost_usd_per_mw(annuity_usd_per_kw_yr, horizon_hours: float, hours_per_year: float):
    """Cost of 1 MW held over a horizon of ``horizon_hours`` (the annuity pro rata)."""
    return annuity_usd_per_kw_yr * 1000.0 * horizon_hours / hours_per_year


def hourly_outputs(*, load_mwh, cfe_used_mwh, grid_mwh, generation_mwh, charge_mwh, discharge_mwh,
                   soc_mwh) -> dict:
    """The per-hour table of one site: load, carbon-free energy used, grid, procured
    generation, spilled generation, storage charge/discharge/state of charge (all MWh)."""
    spilled = generation_mwh - cfe_used_mwh - charge_mwh + discharge_mwh
    return {"load_mwh": load_mwh, "cfe_mwh": cfe_used_mwh, "grid_mwh": grid_mwh,
            "generation_mwh": generation_mwh, "spilled_mwh": np.maximum(spilled, 0.0),
            "charge_mwh": charge_mwh, "discharge_mwh": discharge_mwh, "soc_mwh": soc_mwh}


def site_accounts(*, load_mwh, cfe_used_mwh, grid_mwh, grid_ci_g_per_kwh, price_usd_per_mwh,
                  capacity_mw, capacity_cost_usd_per_mw, lifecycle_g_per_kwh, cf,
                  storage_mwh=0.0, storage_cost_usd_per_mwh=0.0) -> dict:
    """One site's totals over the horizon from its hourly table, on every basis:

    * ``co2_location_t``: every MWh of load at the hour's grid intensity (location-based);
    * ``co2_t``: the plan's hourly-matched emissions: grid energy at the hour's intensity
      plus all procured generation at its lifecycle factor, used or spilled;
    * ``cost_usd``: procured capacity and storage (pro-rata annuities) plus grid energy;
    * ``cfe``: carbon-free energy used in the hour it is produced / load (hourly CFE).
    """
    load = float(np.sum(load_mwh))
    gen_by_tech = np.asarray(capacity_mw, float) * np.asarray(cf, float).sum(axis=-1)
    co2_grid = float(np.sum(emissions_t(np.asarray(grid_mwh), grid_ci_g_per_kwh)))
    co2_procured = float(np.sum(emissions_t(gen_by_tech, lifecycle_g_per_kwh)))
    cost = (float(np.sum(np.asarray(capacity_mw) * capacity_cost_usd_per_mw))
            + float(storage_mwh) * float(storage_cost_usd_per_mwh)
            + float(np.sum(np.asarray(grid_mwh) * price_usd_per_mwh)))
    return {"load_mwh": load, "cfe_mwh": float(np.sum(cfe_used_mwh)),
            "grid_mwh": float(np.sum(grid_mwh)),
            "co2_location_t": float(np.sum(emissions_t(np.asarray(load_mwh), grid_ci_g_per_kwh))),
            "co2_grid_t": co2_grid, "co2_procured_t": co2_procured, "co2_t": co2_grid + co2_procured,
            "cost_usd": cost, "cfe": float(np.sum(cfe_used_mwh)) / load if load > 0 else None}
