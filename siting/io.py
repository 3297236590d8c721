"""Atomic file output: everything siting writes goes to a temporary file beside the
destination and is renamed into place only when complete, so no reader ever sees half a file."""

from __future__ import annotations

import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from siting.faults import fault_point


@contextmanager
def atomic_path(dest: Path):
    """Yield a temporary path beside ``dest``; rename it onto ``dest`` only if the block succeeds."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual file mode
        fault_point(f"write:{dest.name}", dest)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(dest: Path, text: str) -> Path:
    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return dest


def write_table(dest: Path, df: pd.DataFrame, float_format: str = "%.10g") -> Path:
    """CSV without the index, with stable float formatting and ``\\n`` line endings."""
    with atomic_path(dest) as tmp:
        df.to_csv(tmp, index=False, float_format=float_format, lineterminator="\n")
    return dest


def write_geojson(dest: Path, gdf, **options) -> Path:
    """GeoJSON through pyogrio; ``options`` go to the GDAL driver (COORDINATE_PRECISION, ...)."""
    with atomic_path(dest) as tmp:
        tmp.unlink()
        gdf.to_file(tmp, driver="GeoJSON", engine="pyogrio", WRITE_NAME="NO", **options)
    return dest


def json_default(o):
    """numpy scalars as plain Python numbers, for ``json.dumps``."""
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o))


def strict_json(obj):
    """``obj`` with NaN and +-Infinity (Python or numpy floats) replaced by ``None``, so that
    ``json.dumps(..., allow_nan=False)`` succeeds and every parser reads the result."""
    if isinstance(obj, dict):
        return {k: strict_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [strict_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return strict_json(obj.tolist())
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps_json(obj, **kwargs) -> str:
    """Strict JSON text: NaN/Infinity become null (``allow_nan=False`` guards the rest)."""
    return json.dumps(strict_json(obj), allow_nan=False, default=json_default, **kwargs)


json_text = dumps_json


def write_json(dest: Path, obj) -> Path:
    """Strict JSON (NaN/Infinity written as null), atomically."""
    return write_text(dest, dumps_json(obj, indent=2) + "\n")
