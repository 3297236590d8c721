"""The one table of default numbers (``siting/resources/assumptions.csv``).

Every default the code uses (PUE, lifecycle factors, capacity factors, download
timeouts, ...) is read from here by key, so reports can cite value, unit and source.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd

from siting.errors import SitingError

FUELS = ("hydro", "wind", "geothermal", "solar", "nuclear", "gas", "coal", "oil", "other")
RENEWABLE_FUELS = ("hydro", "wind", "geothermal", "solar")


@cache
def assumptions_table() -> pd.DataFrame:
    """All assumptions: ``key, value, unit, category, source, note`` indexed by ``key``."""
    path = resources.files("siting") / "resources" / "assumptions.csv"
    with path.open(encoding="utf-8") as fh:
        table = pd.read_csv(fh, dtype={"value": float}, keep_default_na=False)
    if not table["key"].is_unique:
        raise SitingError(f"{path}: duplicate keys {sorted(table.loc[table['key'].duplicated(), 'key'])}")
    return table.set_index("key")


def assumption(key: str) -> float:
    """The value of one assumption, e.g. ``assumption("pue_default")``."""
    table = assumptions_table()
    if key not in table.index:
        raise SitingError(f"unknown assumption {key!r}; known: {', '.join(table.index)}")
    return float(table.at[key, "value"])


def lifecycle_g_per_kwh(fuel: str) -> float:
    """IPCC AR5 lifecycle intensity of one fuel (gCO2e/kWh)."""
    return assumption(f"lifecycle_{fuel if fuel in FUELS else 'other'}_g_per_kwh")


def lifecycle_by_fuel() -> pd.Series:
    """Lifecycle intensity (gCO2e/kWh) indexed by fuel, for vectorised lookups."""
    return pd.Series({f: lifecycle_g_per_kwh(f) for f in FUELS}, name="ci_g_per_kwh")


def capacity_factor_by_fuel() -> pd.Series:
    """Default capacity factor indexed by fuel (used when a plant has no generation figure)."""
    return pd.Series({f: assumption(f"capacity_factor_{f}") if f in
                      ("hydro", "wind", "geothermal", "solar", "nuclear")
                      else assumption("capacity_factor_other") for f in FUELS},
                     name="capacity_factor")
