"""Shared fixtures: the offline dataset mirror and a throw-away cache."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "datasets"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def pytest_collection_modifyitems(config, items):
    if SHARED.is_dir():
        return
    skip = pytest.mark.skip(reason=f"dataset mirror {SHARED} not present")
    for item in items:
        if "shared" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def mirror() -> Path:
    return SHARED


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    """One cache for the whole test session, filled from the mirror on first use."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def fetch_kwargs(session_cache, mirror) -> dict:
    return {"cache": session_cache, "mirror": mirror}
