"""The one table of default numbers (``siting/resources/assumptions.csv``) and the
:class:`Assumptions` object that carries them, with per-scenario overrides, to the code.

Every default the code uses (PUE, lifecycle factors, capacity factors, download
timeouts, ...) has a row with value, unit and source, so reports can cite them. No
function looks a number up globally: it receives an :class:`Assumptions` (usually
``scenario.assumptions``) and reads ``a["pue_default"]``. ``default_assumptions()`` is
the table as shipped; ``with_overrides`` gives a new object and leaves the old one alone.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType

import pandas as pd

from siting.errors import SitingError

FUELS = ("hydro", "wind", "geothermal", "solar", "nuclear", "gas", "coal", "oil", "other")
RENEWABLE_FUELS = ("hydro", "wind", "geothermal", "solar")
CAPACITY_FACTOR_FUELS = ("hydro", "wind", "geothermal", "solar", "nuclear")


@cache
def _table() -> pd.DataFrame:
    path = resources.files("siting") / "resources" / "assumptions.csv"
    with path.open(encoding="utf-8") as fh:
        table = pd.read_csv(fh, dtype={"value": float}, keep_default_na=False)
    if not table["key"].is_unique:
        raise SitingError(f"{path}: duplicate keys {sorted(table.loc[table['key'].duplicated(), 'key'])}")
    return table.set_index("key")


@dataclass(frozen=True)
class Assumptions:
    """Immutable key -> value mapping over the assumptions table, with overrides recorded."""

    values: Mapping[str, float]
    overridden: frozenset[str] = field(default_factory=frozenset)

    def __getitem__(self, key: str) -> float:
        try:
            return self.values[key]
        except KeyError:
            raise SitingError(f"unknown assumption {key!r}{_suggest(key, self.values)}") from None

    def __contains__(self, key: object) -> bool:
        return key in self.values

    def keys(self):
        return self.values.keys()

    def with_overrides(self, overrides: Mapping[str, object] | None) -> Assumptions:
        """A new object with ``overrides`` applied; unknown keys and non-finite values are errors."""
        if not overrides:
            return self
        values = dict(self.values)
        for key, raw in overrides.items():
            if key not in values:
                raise SitingError(f"assumptions: unknown key {key!r}{_suggest(key, values)}")
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise SitingError(f"assumptions: {key}: expected a number, got {str(raw)[:60]!r}") from None
            if not math.isfinite(value):
                raise SitingError(f"assumptions: {key}: expected a finite number, got {raw!r}")
            values[key] = value
        return Assumptions(MappingProxyType(values), self.overridden | frozenset(overrides))

    def table(self) -> pd.DataFrame:
        """The assumptions table with this object's values and an ``overridden`` column."""
        table = _table().copy()
        table["value"] = [self.values[k] for k in table.index]
        table["overridden"] = [k in self.overridden for k in table.index]
        return table

    def lifecycle_g_per_kwh(self, fuel: str) -> float:
        """IPCC AR5 lifecycle intensity of one fuel (gCO2e/kWh)."""
        return self[f"lifecycle_{fuel if fuel in FUELS else 'other'}_g_per_kwh"]

    def lifecycle_by_fuel(self) -> pd.Series:
        """Lifecycle intensity (gCO2e/kWh) indexed by fuel, for vectorised lookups."""
        return pd.Series({f: self.lifecycle_g_per_kwh(f) for f in FUELS}, name="ci_g_per_kwh")

    def capacity_factor_by_fuel(self) -> pd.Series:
        """Default capacity factor indexed by fuel (used when a plant has no generation figure)."""
        return pd.Series({f: self[f"capacity_factor_{f}" if f in CAPACITY_FACTOR_FUELS
                                   else "capacity_factor_other"] for f in FUELS},
                         name="capacity_factor")


def _suggest(key: str, known) -> str:
    close = difflib.get_close_matches(key, list(known), n=3)
    return f"; did you mean {', '.join(close)}?" if close else ""


@cache
def default_assumptions() -> Assumptions:
    """The table as shipped (no overrides)."""
    table = _table()
    return Assumptions(MappingProxyType({k: float(v) for k, v in table["value"].items()}))


def assumptions_table() -> pd.DataFrame:
    """All default assumptions: ``key, value, unit, category, source, note`` indexed by ``key``."""
    return _table()
