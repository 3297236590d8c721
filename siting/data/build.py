"""Build the embedded default (``data/regions/``) and the GPU table from the datasets.

Only aggregates computed here, from CC BY or public-domain sources (GPPD, OWID/Ember,
Natural Earth, Epoch AI), are written. Electricity Maps data (ODbL/AGPL) is never
written here; it is read at run time from the cache.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from siting.data import loaders
from siting.data.download import atomic_path
from siting.paths import REPO_ROOT, RESOURCES_DIR


def write_csv(df: pd.DataFrame, dest: Path, float_format: str = "%.6g") -> Path:
    """Write ``df`` to ``dest`` atomically, with stable float formatting and line endings."""
    with atomic_path(dest) as tmp:
        df.to_csv(tmp, index=False, float_format=float_format, lineterminator="\n")
    return dest


def build_gpu_table(mirror: str | os.PathLike | None = None, cache=None,
                    dest: Path = RESOURCES_DIR / "gpus.csv") -> Path:
    specs = loaders.load_gpu_specs(mirror=mirror, cache=cache)
    return write_csv(specs, dest)


def build_yearly_intensity(mirror=None, cache=None, out: Path = REPO_ROOT / "data" / "regions"
                           ) -> Path:
    table = loaders.load_grid_intensity(mirror=mirror, cache=cache)
    table["ci_g_per_kwh"] = table["ci_g_per_kwh"].round(2)
    return write_csv(table, out / "grid_intensity_yearly.csv")


def build_all(mirror=None, cache=None, out: Path = REPO_ROOT / "data" / "regions") -> list[Path]:
    """Every committed derived file, in a fixed order."""
    return [
        build_gpu_table(mirror, cache),
        build_yearly_intensity(mirror, cache, out),
    ]
