"""Yearly grid carbon intensity by country (OWID/Ember), from the embedded default table.

Used for national baselines ("saved vs USA"). The intensity *at a site* (Electricity Maps zone,
US state or country; hourly, monthly or yearly, with provenance) is
:func:`siting.data.grid.site_grid_intensity` / :func:`siting.data.grid.site_grid_ci_hourly`."""

from __future__ import annotations

import difflib
from functools import cache

import pandas as pd

from siting.errors import SitingError
from siting.paths import regions_file

YEARLY_FILE = "grid_intensity_yearly.csv"


@cache
def yearly_table() -> pd.DataFrame:
    """``country_iso3, country, year, ci_g_per_kwh`` (built by ``make regions`` from OWID/Ember)."""
    return pd.read_csv(regions_file(YEARLY_FILE))


def country_intensity(country_iso3: str, year: int | None = None) -> tuple[float, int]:
    """(g/kWh, year) for a country; the latest year available when ``year`` is None."""
    table = yearly_table()
    code = country_iso3.strip().upper()
    rows = table[table["country_iso3"] == code]
    if rows.empty:
        by_name = table[table["country"].str.casefold() == country_iso3.strip().casefold()]
        if by_name.empty:
            names = sorted(set(table["country_iso3"]) | set(table["country"]))
            close = difflib.get_close_matches(country_iso3, names, n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise SitingError(f"unknown region {country_iso3!r} (expected an ISO3 code such as "
                              f"NOR or USA){hint}")
        rows = by_name
    if year is None:
        row = rows.loc[rows["year"].idxmax()]
    else:
        match = rows[rows["year"] == year]
        if match.empty:
            raise SitingError(f"no intensity for {code} in {year}; available "
                              f"{rows['year'].min()}-{rows['year'].max()}")
        row = match.iloc[0]
    return float(row["ci_g_per_kwh"]), int(row["year"])
