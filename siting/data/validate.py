"""Checks shared by every loader: required columns, numeric ranges, CRS."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import pandas as pd

from siting.errors import SitingError
from siting.units import WGS84


def read_csv(path: str | Path, what: str = "", **kwargs) -> pd.DataFrame:
    """``pd.read_csv`` whose failures are one line naming the file (``what``: e.g. "sites")."""
    p = Path(path)
    if not p.is_file():
        raise SitingError(f"{p}: {what + ' ' if what else ''}file not found")
    try:
        return pd.read_csv(p, **kwargs)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise SitingError(f"{p}: not a readable CSV ({str(exc).splitlines()[0]})") from exc


def require_columns(df: pd.DataFrame, columns: Iterable[str], source: str | Path) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SitingError(f"{source}: missing column(s) {', '.join(missing)}; "
                          f"found {', '.join(map(str, df.columns))}")


def first_bad_row(mask: pd.Series) -> int | None:
    """Position (0-based data row) of the first True in ``mask``, or None."""
    bad = mask.to_numpy().nonzero()[0]
    return int(bad[0]) if len(bad) else None


def numeric_column(df: pd.DataFrame, column: str, source: str | Path, *, lo: float | None = None,
                   hi: float | None = None, required: bool = True) -> pd.Series:
    """``df[column]`` as float; a one-line error names the file, data row and field when a value
    is not a number or outside ``[lo, hi]`` (row numbers count the header as row 1)."""
    raw = df[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & (raw.notna() if not required else True)
    if lo is not None:
        bad |= values < lo
    if hi is not None:
        bad |= values > hi
    row = first_bad_row(bad)
    if row is not None:
        if lo is not None and hi is not None:
            rng = f" in [{lo:g}, {hi:g}]"
        elif lo is not None:
            rng = f" >= {lo:g}"
        elif hi is not None:
            rng = f" <= {hi:g}"
        else:
            rng = ""
        raise SitingError(f"{source}: row {row + 2}, field {column}: expected a number{rng}, "
                          f"got {_show(raw.iloc[row])}")
    return values.astype(float)


def id_column(df: pd.DataFrame, column: str, source: str | Path) -> pd.Series:
    """``df[column]`` as stripped strings; empty or duplicate ids name file, row and field."""
    ids = df[column].astype("string").str.strip()
    row = first_bad_row(ids.isna() | (ids == ""))
    if row is not None:
        raise SitingError(f"{source}: row {row + 2}, field {column}: expected a non-empty id")
    row = first_bad_row(ids.duplicated())
    if row is not None:
        raise SitingError(f"{source}: row {row + 2}, field {column}: duplicate id {ids.iloc[row]!r}")
    return ids.astype(str)


def check_geoframe(gdf: gpd.GeoDataFrame, source: str | Path, crs: str = WGS84) -> gpd.GeoDataFrame:
    """Assert the frame has the expected CRS and only valid, non-empty geometries."""
    if gdf.crs is None or not gdf.crs.equals(crs):
        raise SitingError(f"{source}: expected CRS {crs}, got {gdf.crs}")
    invalid = ~gdf.geometry.is_valid | gdf.geometry.is_empty
    row = first_bad_row(invalid)
    if row is not None:
        raise SitingError(f"{source}: row {row + 1} has an invalid or empty geometry")
    return gdf


def _show(value) -> str:
    """A value as the user wrote it: numbers plain, text quoted."""
    if isinstance(value, str):
        return repr(value)
    return str(value.item() if hasattr(value, "item") else value)
