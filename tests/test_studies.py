"""Study files, their members and the study analysis (known values, no solver)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siting.assumptions import default_assumptions
from siting.errors import SitingError
from siting.studies.analysis import distributions, pareto_fronts, rank_stability, tornado
from siting.studies.spec import load_study, members

REPO = Path(__file__).resolve().parents[1]
BASE = REPO / "scenarios" / "example_llama.yaml"


def write_study(folder: Path, body: str, name: str = "study.yaml") -> Path:
    path = folder / name
    path.write_text(f"name: t\nbase: {BASE}\n" + body, encoding="utf-8")
    return path


def test_grid_draws_variants_are_crossed_in_order(tmp_path):
    path = write_study(tmp_path, """
grid:
  max_sites: [2, 3, 4]
  assumptions.pue_default: [1.1, 1.2]
draws:
  n: 3
  seed: 7
  params:
    horizon_hours: {dist: triangular, low: 1000, mode: 1440, high: 2000}
variants:
  long: {solver.time_limit_s: 30}
""")
    ms = members(load_study(path))
    assert len(ms) == 2 * 3 * 2 * 3  # variants x grid x draws
    assert [m.variant for m in ms[:18]] == ["base"] * 18 and ms[18].variant == "long"
    assert ms[0].values["max_sites"] == 2 and ms[0].values["assumptions.pue_default"] == 1.1
    assert [m.draw for m in ms[:3]] == [0, 1, 2]
    # dotted keys land in nested scenario fields
    assert ms[0].scenario["assumptions"] == {"pue_default": 1.1}
    assert ms[18].scenario["solver"]["time_limit_s"] == 30
    assert ms[0].scenario["solver"]["time_limit_s"] == 60  # the base scenario's own value
    # the same draws at every grid point (common random numbers), from numpy's seeded generator
    draws = [m.values["horizon_hours"] for m in ms[:3]]
    assert [m.values["horizon_hours"] for m in ms[3:6]] == draws
    expected = np.random.default_rng(7).triangular(1000, 1440, 2000, 3)
    np.testing.assert_allclose(draws, expected)
    assert len({m.run_id for m in ms}) == len(ms)
    # the hash is stable across resolutions
    assert [m.run_id for m in members(load_study(path))] == [m.run_id for m in ms]


def test_run_id_follows_input_bytes_not_spelling(tmp_path):
    original = (REPO / "scenarios" / "llama31_workloads.csv").read_text()
    wl = tmp_path / "w.csv"
    wl.write_text(original + "extra,1000,true,H100-SXM,0,1,12\n")
    path = write_study(tmp_path, "variants:\n  mine: {workloads: w.csv}\n")
    a = members(load_study(path))
    assert a[1].scenario["workloads"] == str(wl.resolve())  # relative to the study file
    assert a[0].run_id != a[1].run_id
    # new bytes under the same name: a new run; the base is untouched
    with wl.open("a") as fh:
        fh.write("extra2,1000,true,H100-SXM,0,1,12\n")
    b = members(load_study(path))
    assert a[0].run_id == b[0].run_id and a[1].run_id != b[1].run_id
    # the same bytes under another name, and a default written out: the same run
    (tmp_path / "copy.csv").write_text(original)
    c = members(load_study(write_study(
        tmp_path, "include_base: false\nvariants:\n  same: {workloads: copy.csv, solver.rel_gap: 1.0e-6}\n",
        "c.yaml")))
    assert c[0].run_id == a[0].run_id
    # ... so a study where a variant repeats the base is refused: two members, one run
    with pytest.raises(SitingError, match="same scenario"):
        members(load_study(write_study(tmp_path, "variants:\n  same: {workloads: copy.csv}\n",
                                       "d.yaml")))


def test_example_studies():
    ex = members(load_study(REPO / "studies" / "example.yaml"))
    assert len(ex) >= 32 and all(m.error is None for m in ex)  # keys the model has today
    varied = set().union(*(m.values for m in ex)) | {k for m in ex for k in m.scenario}
    assert {"max_sites", "assumptions.pue_default", "horizon_hours"} <= varied
    hourly = load_study(REPO / "studies" / "example_hourly.yaml")
    assert len(members(hourly)) >= 32
    assert {"cfe_target", "year", "assumptions.pue_default",
            "carbon_price_usd_per_t"} <= set(hourly.varied_keys)


def test_duplicate_members_are_an_error(tmp_path):
    path = write_study(tmp_path, "grid:\n  max_sites: [2, 2]\n")
    with pytest.raises(SitingError, match="same scenario"):
        members(load_study(path))


def test_unknown_key_is_a_member_with_an_error(tmp_path):
    ms = members(load_study(write_study(tmp_path, "grid:\n  cfe_targt: [0.9]\n")))
    assert len(ms) == 1 and "cfe_targt" in ms[0].error


@pytest.mark.parametrize("body, needle", [
    ("grid:\n  max_sites: []\n", "at least one value"),
    ("draws: {n: 2, seed: 1, params: {max_sites: {dist: uniform, low: 3, high: 2}}}\n", "low must be below high"),
    ("draws: {n: 2, seed: 1, params: {max_sites: {dist: normal, mean: 3}}}\n", "needs mean, sd"),
    ("variants:\n  base: {max_sites: 2}\n", "reserved"),
    ("grids:\n  max_sites: [2]\n", "grids"),
])
def test_bad_study_files(tmp_path, body, needle):
    with pytest.raises(SitingError, match=needle):
        load_study(write_study(tmp_path, body))


def test_cli_bad_study_one_line_exit_2(tmp_path):
    path = write_study(tmp_path, "grid:\n  max_sites: []\n")
    res = subprocess.run([str(Path(sys.executable).with_name("siting")), "sweep", str(path),
                          "--out", str(tmp_path / "o"), "--scheduler", "serial"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "at least one value" in res.stderr


# ------------------------------------------------------------------------------ analysis
def runs_frame():
    # 2 x 2 factorial: CO2 = 100 + 10*(pue - 1.1)/0.1 + 30*(max_sites - 2); cost = 5 * max_sites
    rows = []
    for i, (pue, ms) in enumerate([(1.1, 2), (1.2, 2), (1.1, 3), (1.2, 3)]):
        rows.append({"run_id": f"r{i}", "variant": "base", "pue": pue, "max_sites": ms,
                     "status": "optimal", "co2_t": 100 + 100 * (pue - 1.1) + 30 * (ms - 2),
                     "cost_usd": 5.0 * ms, "cfe": None, "sites_open": ms})
    rows.append({"run_id": "r4", "variant": "alt", "pue": 1.1, "max_sites": 2, "status": "optimal",
                 "co2_t": 90.0, "cost_usd": 20.0, "cfe": None, "sites_open": 2})
    rows.append({"run_id": "r5", "variant": "alt", "pue": 1.2, "max_sites": 2, "status": "optimal",
                 "co2_t": 95.0, "cost_usd": 8.0, "cfe": None, "sites_open": 2})
    return pd.DataFrame(rows)


def test_tornado_main_effects():
    ok = runs_frame().iloc[:4]
    t = tornado(ok, ["pue", "max_sites"], default_assumptions()).set_index(["metric", "key"])
    assert t.loc[("co2_t", "max_sites"), "effect"] == pytest.approx(30.0)
    assert t.loc[("co2_t", "pue"), "effect"] == pytest.approx(10.0)
    assert t.loc[("cost_usd", "max_sites"), "effect"] == pytest.approx(5.0)
    assert t.loc[("cost_usd", "pue"), "effect"] == pytest.approx(0.0)
    # ranked by size within a metric
    co2 = tornado(ok, ["pue", "max_sites"], default_assumptions())
    assert co2[co2["metric"] == "co2_t"]["key"].tolist() == ["max_sites", "pue"]


def test_rank_stability_shares_and_robustness():
    ok = runs_frame()
    sites = []
    for rid in ok["run_id"]:
        # A hosts work in every run, B in r0-r2, C is open but idle (not chosen) in r0
        for sid, open_, e in (("A", True, 10.0), ("B", rid in ("r0", "r1", "r2"), 5.0),
                              ("C", rid == "r0", 0.0)):
            sites.append({"run_id": rid, "site_id": sid, "name": sid, "country_iso3": "NOR",
                          "lat": 60.0, "lon": 10.0, "open": open_, "energy_mwh": e if open_ else 0.0})
    st = rank_stability(ok, pd.DataFrame(sites), default_assumptions()).set_index("site_id")
    assert list(st.index) == ["A", "B"]
    assert st.loc["A", "share_open"] == 1.0 and bool(st.loc["A", "robust"])
    assert st.loc["B", "share_open"] == pytest.approx(0.5) and not bool(st.loc["B", "robust"])
    assert st.loc["B", "share_open_base"] == pytest.approx(0.75)
    assert st.loc["B", "share_open_alt"] == 0.0
    a = default_assumptions().with_overrides({"study_robust_site_share": 0.5})
    assert bool(rank_stability(ok, pd.DataFrame(sites), a).set_index("site_id").loc["B", "robust"])


def test_pareto_fronts_per_variant():
    f = pareto_fronts(runs_frame(), "cost_usd", "co2_t")
    base = f[f["variant"] == "base"]
    # cost 10 -> CO2 100 is best at that cost; cost 15 runs emit more: dominated
    assert base[["cost_usd", "co2_t"]].values.tolist() == [[10.0, 100.0]]
    alt = f[f["variant"] == "alt"]
    assert alt[["cost_usd", "co2_t"]].values.tolist() == [[8.0, 95.0], [20.0, 90.0]]


def test_distributions_interval():
    ok = pd.DataFrame({"variant": "base", "co2_t": np.arange(101, dtype=float), "cost_usd": np.nan,
                       "cfe": np.nan})
    d = distributions(ok, default_assumptions())
    assert d["metric"].tolist() == ["co2_t"]  # metrics the model did not report are left out
    row = d.iloc[0]
    assert (row["p5"], row["p50"], row["p95"], row["n"]) == (5.0, 50.0, 95.0, 101)


def test_distribution_chart_with_runs_equal_to_rounding():
    from siting.studies.analysis import distribution_chart

    # one unit in the last place apart: numpy cannot cut that range into several bins
    co2 = [352.231] * 6 + [np.nextafter(352.231, 400.0)] * 6
    ok = pd.DataFrame({"variant": "base", "co2_t": co2})
    assert distribution_chart(ok, ["co2_t"])[:8] == b"\x89PNG\r\n\x1a\n"


def test_tornado_uses_the_grid_extremes():
    # a balanced grid of four values: low is the lowest value, high the highest (no interpolation)
    ok = pd.DataFrame({"variant": "base", "k": np.repeat([2.0, 3.0, 4.0, 6.0], 8),
                       "co2_t": np.repeat([10.0, 20.0, 30.0, 50.0], 8)})
    t = tornado(ok, ["k"], default_assumptions(), metrics=("co2_t",)).iloc[0]
    assert (t["low_value"], t["high_value"], t["n_low"], t["n_high"]) == (2.0, 6.0, 8, 8)
    assert t["effect"] == 40.0


def test_variant_effects_are_paired_by_grid_point_and_draw():
    from siting.studies.analysis import variant_effects

    ok = pd.DataFrame({"variant": ["base", "base", "alt", "alt", "alt"],
                       "k": [1.0, 2.0, 1.0, 2.0, 3.0], "draw": pd.array([0, 0, 0, 0, 0], "Int64"),
                       "co2_t": [10.0, 20.0, 7.0, 25.0, 99.0], "cost_usd": np.nan, "cfe": np.nan})
    e = variant_effects(ok, ["k"]).iloc[0]
    # k=3 has no base run: left out; pairs at k=1 (-3) and k=2 (+5)
    assert (e["variant"], e["metric"], e["n_pairs"]) == ("alt", "co2_t", 2)
    assert (e["mean_effect"], e["min_effect"], e["max_effect"]) == (1.0, -3.0, 5.0)


def test_more_draws_keep_the_earlier_ones_and_equal_integer_draws_are_two_runs(tmp_path):
    def study(n):
        return load_study(write_study(tmp_path, f"""
draws:
  n: {n}
  seed: 2
  params:
    max_sites: {{dist: uniform, low: 2, high: 5, integer: true}}
    assumptions.pue_default: {{dist: normal, mean: 1.2, sd: 0.05}}
""", f"n{n}.yaml"))

    three, six = members(study(3)), members(study(6))
    assert [m.run_id for m in six[:3]] == [m.run_id for m in three]
    assert [m.values for m in six[:3]] == [m.values for m in three]
    sites = [m.values["max_sites"] for m in six]
    assert all(v in (2.0, 3.0, 4.0, 5.0) for v in sites) and len(set(sites)) < len(sites)
    assert all(isinstance(m.scenario["max_sites"], int) and m.error is None for m in six)
    assert len({m.run_id for m in six}) == 6


def test_runs_table_reads_whole_while_a_study_rewrites_it(tmp_path):
    """A notebook reading a running study: the sweep rewrites runs.parquet (atomically, by
    rename) after every run. Reading it by path let pyarrow open two versions (footer of one,
    pages of the next): 76 errors in 557 reads over 3 s against a writer thread; one read of
    the whole file gives none."""
    import threading
    import time

    from siting.io import atomic_path
    from siting.studies.sweep import RUNS_FILE, read_runs

    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            n = 200 + (i % 50) * 20
            df = pd.DataFrame({"run_id": [f"r{j}" for j in range(n)], "status": "ok",
                               "x": np.arange(n, dtype=float)})
            with atomic_path(tmp_path / RUNS_FILE) as tmp:
                df.to_parquet(tmp)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    reads, errors, sizes = 0, [], set()
    try:
        while not (tmp_path / RUNS_FILE).exists():
            time.sleep(0.01)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.0:
            try:
                df = read_runs(tmp_path)
                sizes.add(len(df))
                assert (df["x"].to_numpy() == np.arange(len(df))).all()
                reads += 1
            except OSError as exc:
                errors.append(str(exc))
    finally:
        stop.set()
        thread.join()
    assert errors == [] and reads >= 100 and len(sizes) > 1


@pytest.mark.parametrize("solver, expected", [
    ({}, {"threads": 1, "pareto_workers": 1}),
    ({"threads": 2, "pareto_workers": 2}, {"threads": 2, "pareto_workers": 2}),
    ({"threads": None}, {"threads": 1, "pareto_workers": 1}),
])
def test_a_study_run_gets_one_solver_thread_and_one_front_worker_unless_its_scenario_says(
        monkeypatch, solver, expected):
    """A study's parallelism is across runs (one worker process per core): each run's solver
    and Pareto front stay on one thread unless the scenario names a number."""
    import siting.model
    from siting.paths import REPO_ROOT
    from siting.studies.sweep import run_task

    seen = {}

    def fake_optimize(scenario):
        seen.update(threads=scenario.solver.threads, pareto_workers=scenario.solver.pareto_workers)
        raise RuntimeError("stop here")

    monkeypatch.setattr(siting.model, "optimize", fake_optimize)
    task = {"run_id": "r1", "error": None, "base_dir": str(REPO_ROOT / "scenarios"),
            "scenario": {"name": "s", "workloads": "llama31_workloads.csv", "periods": "hourly",
                         "solver": solver}}
    out = run_task(task)
    assert out["row"]["error"] == "RuntimeError: stop here"
    assert seen == expected
