"""The embedded default is reproducible from the mirror and within its size budget."""

import filecmp

import pytest

from siting.data import build
from siting.paths import REPO_ROOT, RESOURCES_DIR

REGIONS = REPO_ROOT / "data" / "regions"


@pytest.mark.shared
def test_make_regions_rebuilds_identically(tmp_path, fetch_kwargs):
    written = build.build_all(out=tmp_path, gpu_table=tmp_path / "gpus.csv", **fetch_kwargs)
    for path in written:
        committed = (RESOURCES_DIR if path.name == "gpus.csv" else REGIONS) / path.name
        assert filecmp.cmp(path, committed, shallow=False), f"{path.name} differs from committed"


def test_embedded_default_size_and_content():
    import pandas as pd

    total = sum(p.stat().st_size for p in REGIONS.iterdir())
    assert total < 2 * 1024 * 1024
    sites = pd.read_csv(REGIONS / "sites.csv")
    clusters = sites[sites["kind"] == "cluster"]
    assert 100 <= len(clusters) <= 300
    assert (sites["kind"] == "hub").sum() >= 20
    assert sites["site_id"].is_unique
    for col in ("capacity_gpus", "pue", "grid_ci_g_per_kwh", "renewable_mwh_per_year"):
        assert sites[col].notna().all(), col
    assert "Electricity Maps" not in (REGIONS / "SOURCES.md").read_text().split("## Datasets")[1]
