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

from siting.assumptions import assumption
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
              covered_ci_g_per_kwh: float | None = None) -> Footprint:
    """Footprint of ``gpu_hours`` on one GPU type at one grid intensity.

    Give either ``gpu`` (catalogue name or alias) or ``gpu_power_w``, and either
    ``ci_g_per_kwh`` or ``region`` (ISO3; latest year unless ``year``). ``pue`` and
    ``overhead_share`` default to the assumptions table. ``covered_share`` of the energy
    is counted at ``covered_ci_g_per_kwh`` (default: hydro lifecycle) in the market-based result.
    """
    hours = _number("gpu_hours", gpu_hours)
    if (gpu is None) == (gpu_power_w is None):
        raise SitingError("give exactly one of gpu (a catalogue name) or gpu_power_w")
    if gpu is not None:
        name = resolve_gpu(gpu)
        power_w = catalogue_power_w(name)
    else:
        name, power_w = None, _number("gpu_power_w", gpu_power_w, lo=1e-9)
    pue_v = _number("pue", assumption("pue_default") if pue is None else pue, lo=1.0, hi=5.0)
    overhead = _number("overhead_share", assumption("overhead_share_default")
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
    covered_ci = _number("covered_ci_g_per_kwh", assumption("lifecycle_hydro_g_per_kwh")
                         if covered_ci_g_per_kwh is None else covered_ci_g_per_kwh, hi=2000.0)
    e = energy_mwh(hours, power_w / 1000.0, pue_v, overhead)
    return Footprint(
        gpu_hours=hours, gpu=name, gpu_power_w=power_w, pue=pue_v, overhead_share=overhead,
        region=region, year=year, ci_g_per_kwh=ci, energy_mwh=e, emissions_t=emissions_t(e, ci),
        covered_share=covered, covered_ci_g_per_kwh=covered_ci,
        market_emissions_t=emissions_t(e * covered, covered_ci)
        + emissions_t(e * (1 - covered), ci),
    )
