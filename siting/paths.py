"""Where the project's bundled files live."""

from __future__ import annotations

import os
from pathlib import Path

from siting.errors import SitingError

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
RESOURCES_DIR = PACKAGE_DIR / "resources"


def regions_dir() -> Path:
    """The embedded default (``data/regions``); ``SITING_REGIONS_DIR`` overrides it."""
    path = Path(os.environ.get("SITING_REGIONS_DIR", REPO_ROOT / "data" / "regions"))
    if not path.is_dir():
        raise SitingError(
            f"embedded default data not found at {path}; run `make regions` or set SITING_REGIONS_DIR"
        )
    return path


def regions_file(name: str) -> Path:
    path = regions_dir() / name
    if not path.is_file():
        raise SitingError(f"{path} is missing; rebuild the embedded default with `make regions`")
    return path
