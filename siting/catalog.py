"""GPU catalogue: accelerator name (or alias) -> board power in W.

The table ``siting/resources/gpus.csv`` is built from Epoch AI's ML hardware data
(CC BY) by ``siting data build-regions``; aliases (``H100``, ``A100-80GB``, ``TPUv3``)
live in ``gpu_aliases.csv``.
"""

from __future__ import annotations

import difflib
import re
from functools import cache

import pandas as pd

from siting.errors import SitingError
from siting.paths import RESOURCES_DIR

GPU_TABLE = RESOURCES_DIR / "gpus.csv"
ALIAS_TABLE = RESOURCES_DIR / "gpu_aliases.csv"


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.casefold())


@cache
def gpu_table() -> pd.DataFrame:
    """``gpu, manufacturer, gpu_power_w, release_date`` for every accelerator with a TDP."""
    return pd.read_csv(GPU_TABLE)


@cache
def _lookup() -> dict[str, str]:
    """Normalised alias or full name -> catalogue name."""
    table = gpu_table()
    names = dict(zip(table["gpu"].map(_norm), table["gpu"], strict=True))
    aliases = pd.read_csv(ALIAS_TABLE)
    known = set(table["gpu"])
    missing = sorted(set(aliases["gpu"]) - known)
    if missing:
        raise SitingError(f"{ALIAS_TABLE}: aliases point at GPUs not in {GPU_TABLE.name}: {missing}")
    names.update(zip(aliases["alias"].map(_norm), aliases["gpu"], strict=True))
    return names


def gpu_names() -> list[str]:
    """Every accepted name: catalogue names and aliases."""
    return sorted(set(gpu_table()["gpu"]) | set(pd.read_csv(ALIAS_TABLE)["alias"]))


def resolve_gpu(name: str) -> str:
    """The catalogue name for ``name``; unknown names raise with the closest matches."""
    lookup = _lookup()
    key = _norm(name)
    if key in lookup:
        return lookup[key]
    close = difflib.get_close_matches(name, gpu_names(), n=3, cutoff=0.4)
    hint = f"; did you mean {', '.join(close)}?" if close else "; see `siting gpus`"
    raise SitingError(f"unknown GPU {name!r}{hint}")


def gpu_power_w(name: str) -> float:
    """Board power (TDP) of a GPU in W."""
    table = gpu_table().set_index("gpu")
    return float(table.at[resolve_gpu(name), "gpu_power_w"])
