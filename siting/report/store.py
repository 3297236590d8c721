"""A solution saved to a folder and read back, so every report file can be rebuilt from
``out/<name>`` without solving again.

Generic over the :class:`~siting.model.solution.Solution` dataclass: every field that holds a
DataFrame (``assignments``, ``sites``, ``periods``, ...) and every table of its ``tables``
dict (``marginals``, ``workloads``, hourly tables such as ``site_hours`` or ``pareto``, ...)
goes to one Parquet file (GeoDataFrames as GeoParquet, EPSG:4326 kept); ``summary`` goes to
strict JSON. ``manifest.json`` lists what was written. Parquet keeps dtypes, so a loaded
solution equals the saved one table for table.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd

from siting.errors import SitingError
from siting.io import atomic_path, write_json

STORE_DIR = "solution"
FORMAT = "siting-solution/1"


def _write_frame(dest: Path, df: pd.DataFrame) -> dict:
    frame = df.copy()
    frame.columns = [str(c) for c in frame.columns]
    geo = isinstance(frame, gpd.GeoDataFrame)
    with atomic_path(dest) as tmp:
        if geo:
            frame.to_parquet(tmp, index=True)
        else:
            pd.DataFrame(frame).to_parquet(tmp, index=True)
    return {"file": dest.name, "geo": geo, "rows": len(frame)}


def _read_frame(path: Path, geo: bool) -> pd.DataFrame:
    if not path.is_file():
        raise SitingError(f"{path}: missing from the saved solution; run `siting optimize` or "
                          "`siting report` again to write it")
    return gpd.read_parquet(path) if geo else pd.read_parquet(path)


def save_solution(solution, out_dir: str | os.PathLike) -> list[Path]:
    """Write every DataFrame field of ``solution``, each table of ``solution.tables`` and the
    summary into ``out_dir/solution/``; returns the files written (manifest last)."""
    store = Path(out_dir) / STORE_DIR
    store.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"format": FORMAT, "fields": {}, "tables": {}}
    written: list[Path] = []
    for f in dataclasses.fields(solution):
        value = getattr(solution, f.name)
        if isinstance(value, pd.DataFrame):
            dest = store / f"{f.name}.parquet"
            manifest["fields"][f.name] = _write_frame(dest, value)
            written.append(dest)
    for name, table in (getattr(solution, "tables", None) or {}).items():
        if not isinstance(table, pd.DataFrame):
            raise SitingError(f"solution table {name!r} is a {type(table).__name__}, not a DataFrame")
        dest = store / f"table_{name}.parquet"
        manifest["tables"][name] = _write_frame(dest, table)
        written.append(dest)
    written.append(write_json(store / "summary.json", solution.summary))
    written.append(write_json(store / "manifest.json", manifest))
    return written


def load_solution(out_dir: str | os.PathLike):
    """The :class:`Solution` saved by :func:`save_solution` in ``out_dir`` (the run folder or
    its ``solution/`` subfolder). It carries no model: reports are built from its tables."""
    import json

    from siting.model.solution import Solution

    base = Path(out_dir)
    store = base if (base / "manifest.json").is_file() else base / STORE_DIR
    manifest_path = store / "manifest.json"
    if not manifest_path.is_file():
        raise SitingError(f"{base}: no saved solution (expected {manifest_path}); write one with "
                          "`siting optimize` or `siting report`")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        summary = json.loads((store / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SitingError(f"{store}: unreadable saved solution ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise SitingError(f"{manifest_path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    known = {f.name for f in dataclasses.fields(Solution)}
    kwargs = {name: _read_frame(store / meta["file"], meta["geo"])
              for name, meta in manifest["fields"].items() if name in known}
    tables = {name: _read_frame(store / meta["file"], meta["geo"])
              for name, meta in manifest["tables"].items()}
    if "tables" in known:
        kwargs["tables"] = tables
    solution = Solution(summary=summary, **kwargs)
    if "tables" not in known and tables:
        solution.tables = tables
    return solution
