"""Data-layer benchmark: GPPD load, and enrichment of 1,000 candidate sites
(country join + renewable energy within 50 km by fuel). Target: both under 2 s on one core.

    python bench/data_bench.py [--mirror ../shared/datasets] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np

from siting.data import loaders, sites
from siting.intensity import yearly_table
from siting.units import WGS84

DEFAULT_MIRROR = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def timed(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", default=os.environ.get("SITING_MIRROR", DEFAULT_MIRROR))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--sites", type=int, default=1000)
    args = ap.parse_args()
    try:  # one core, as the target says
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    except (AttributeError, OSError):
        pass
    cache = tempfile.mkdtemp(prefix="siting-bench-")
    kw = {"mirror": args.mirror, "cache": cache}
    loaders.load_plants(**kw)  # copy into the cache once; time parsing, not copying
    boundaries = loaders.load_boundaries(**kw)
    intensity = yearly_table()

    load_s, plants = timed(lambda: loaders.load_plants(**kw), args.repeat)
    rng = np.random.default_rng(42)
    # candidate sites near real plants (jittered up to ~0.5 degree), as planners' lists are
    idx = rng.integers(0, len(plants), args.sites)
    lon = np.clip(plants.geometry.x.to_numpy()[idx] + rng.uniform(-0.5, 0.5, args.sites), -180, 180)
    lat = np.clip(plants.geometry.y.to_numpy()[idx] + rng.uniform(-0.5, 0.5, args.sites), -90, 90)
    cand = gpd.GeoDataFrame({"site_id": [f"s{i}" for i in range(args.sites)]},
                            geometry=gpd.points_from_xy(lon, lat), crs=WGS84)
    enrich_s, out = timed(lambda: sites.enrich(cand, plants=plants, boundaries=boundaries,
                                               intensity=intensity, radius_km=50), args.repeat)
    print(f"{'step':<44}{'median s':>10}")
    print(f"{'GPPD load (34,936 plants)':<44}{load_s:>10.3f}")
    print(f"{f'enrich {args.sites:,} sites (country + 50 km by fuel)':<44}{enrich_s:>10.3f}")
    print(f"{'total':<44}{load_s + enrich_s:>10.3f}   target < 2.000 s on one core")
    print(f"(sites with a country: {out['country_iso3'].notna().sum()}, "
          f"median existing renewables nearby {out['existing_renewable_mwh_per_year'].median():,.0f} MWh/yr)")


if __name__ == "__main__":
    main()
