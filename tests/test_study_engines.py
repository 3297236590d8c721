"""Sweeps on the real solver: serial, LocalCluster and a remote Dask scheduler give the same
table; resuming runs nothing twice; a raising run is recorded; a killed study resumes whole."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import siting.model
from siting.studies.analysis import study_report
from siting.studies.spec import load_study, members
from siting.studies.sweep import FAILED, TIMINGS, read_runs, run_study, site_table_path, task_of
from tests import browser

REPO = Path(__file__).resolve().parents[1]
BASE = REPO / "scenarios" / "example_llama.yaml"
BIN = Path(sys.executable).parent
N_SITES = sum(1 for _ in (REPO / "data" / "regions" / "sites.csv").open()) - 1

# 3 x 2 draws x 3 variants = 18 members: max_sites 1 is infeasible (no site holds it all),
# the variant 'nofile' names a missing workloads file (every run of it fails in the worker),
# the variant 'typo' a key scenarios do not have (refused before any worker sees it)
STUDY = f"""name: engines
base: {BASE}
grid:
  max_sites: [1, 2, 3]
draws:
  n: 2
  seed: 3
  params:
    horizon_hours: {{dist: uniform, low: 1200, high: 2000}}
variants:
  nofile: {{workloads: no_such_workloads.csv}}
  typo: {{max_sitez: 2}}
"""


@pytest.fixture(scope="module")
def study_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("study") / "engines.yaml"
    path.write_text(STUDY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def serial_out(study_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("serial")
    result = run_study(load_study(study_file), out, scheduler="serial")
    assert (result.n_members, result.executed, result.skipped) == (18, 18, 0)
    return out


@pytest.fixture(scope="module")
def serial_table(serial_out) -> pd.DataFrame:
    return read_runs(serial_out)


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=TIMINGS).reset_index(drop=True)


def test_serial_table_has_the_expected_rows(serial_table, study_file):
    t = serial_table
    ids = [m.run_id for m in members(load_study(study_file))]
    assert t["run_id"].tolist() == ids  # plan order, one row each
    assert {"max_sites", "horizon_hours", "variant", "draw", "status", "error", "objective", "co2_t",
            "cost_usd", "cfe", "sites_open", *TIMINGS} <= set(t.columns)
    base = t[t["variant"] == "base"]
    assert (base.loc[base["max_sites"] == 1, "status"] == "infeasible").all()
    solved = base[base["max_sites"] > 1]
    assert (solved["status"] == "optimal").all() and solved["co2_t"].notna().all()
    # today's model reports emissions_t: co2_t falls back to it; cost and CFE stay null
    assert solved["cost_usd"].isna().all() and solved["cfe"].isna().all()
    nofile = t[t["variant"] == "nofile"]
    assert (nofile["status"] == FAILED).all()
    assert nofile["error"].str.contains("no_such_workloads.csv").all()
    typo = t[t["variant"] == "typo"]
    assert (typo["status"] == FAILED).all() and len(typo) == 6
    assert typo["error"].str.contains("max_sitez").all() and typo["run_s"].isna().all()


def test_local_cluster_gives_the_serial_table(serial_table, study_file, tmp_path):
    run_study(load_study(study_file), tmp_path, scheduler="local", workers=2)
    pd.testing.assert_frame_equal(comparable(read_runs(tmp_path)), comparable(serial_table))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_remote_scheduler_gives_the_serial_table(serial_table, study_file, tmp_path):
    from dask.distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = (tmp_path / "scheduler.log").open("w"), (tmp_path / "worker.log").open("w")
    scheduler = subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                                  str(port), "--no-dashboard"], stdout=logs[0], stderr=subprocess.STDOUT)
    worker = None
    try:
        worker = subprocess.Popen([str(BIN / "dask"), "worker", address, "--nworkers", "2",
                                   "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
                                  stdout=logs[1], stderr=subprocess.STDOUT)
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        result = run_study(load_study(study_file), tmp_path / "out", scheduler=address)
        assert result.executed == 18
        pd.testing.assert_frame_equal(comparable(read_runs(tmp_path / "out")), comparable(serial_table))
    finally:
        if worker is not None:
            _stop(worker)
        _stop(scheduler)
        for f in logs:
            f.close()
    assert scheduler.returncode is not None and (worker is None or worker.returncode is not None)


def _counting(monkeypatch, fail_when=None):
    calls = []
    real = siting.model.optimize

    def wrapper(scenario, *args, **kwargs):
        calls.append((scenario.max_sites, scenario.horizon_hours))
        if fail_when is not None and fail_when(scenario):
            raise RuntimeError("boom in the model")
        return real(scenario, *args, **kwargs)

    monkeypatch.setattr(siting.model, "optimize", wrapper)
    return calls


def good_study(folder: Path, values=(2, 3, 4)) -> Path:
    path = folder / "good.yaml"
    path.write_text(f"name: good\nbase: {BASE}\ngrid:\n  max_sites: {list(values)}\n"
                    "  assumptions.pue_default: [1.1, 1.3]\n", encoding="utf-8")
    return path


def test_resume_runs_nothing_twice(tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    out = tmp_path / "out"
    first = run_study(load_study(good_study(tmp_path)), out, scheduler="serial")
    assert (first.executed, len(calls)) == (6, 6)
    again = run_study(load_study(good_study(tmp_path)), out, scheduler="serial")
    assert (again.executed, again.skipped, len(calls)) == (0, 6, 6)
    # one more grid value: only its two members run
    more = run_study(load_study(good_study(tmp_path, (2, 3, 4, 5))), out, scheduler="serial")
    assert (more.executed, more.skipped, len(calls)) == (2, 6, 8)
    assert sorted(calls[6:]) == [(5, 1440.0), (5, 1440.0)]
    t = read_runs(out)
    assert len(t) == 8 and t["run_id"].is_unique and (t["status"] == "optimal").all()
    # a smaller study drops the rows that are no longer members (their site tables stay)
    fewer = run_study(load_study(good_study(tmp_path, (2,))), out, scheduler="serial")
    assert (fewer.executed, fewer.dropped, len(read_runs(out))) == (0, 6, 2)


def test_a_raising_run_is_recorded_and_the_others_complete(tmp_path, monkeypatch):
    _counting(monkeypatch, fail_when=lambda sc: sc.max_sites == 3)
    out = tmp_path / "out"
    result = run_study(load_study(good_study(tmp_path)), out, scheduler="serial")
    t = read_runs(out)
    assert (result.executed, result.failed) == (6, 2)
    bad = t[t["max_sites"] == 3]
    assert (bad["status"] == FAILED).all()
    assert (bad["error"] == "RuntimeError: boom in the model").all()
    assert bad["co2_t"].isna().all() and bad["sites_open"].isna().all()
    assert not any(site_table_path(out, r).exists() for r in bad["run_id"])
    good = t[t["max_sites"] != 3]
    assert (good["status"] == "optimal").all() and len(good) == 4
    # the report names the failure and leaves it out of the figures
    rep = study_report(out)
    assert rep.summary["failed"] == 2 and rep.summary["successful"] == 4
    assert "boom in the model" in (out / "study_report.html").read_text()
    # once the cause is gone, a resume re-runs exactly the failed runs
    monkeypatch.undo()
    calls = _counting(monkeypatch)
    again = run_study(load_study(good_study(tmp_path)), out, scheduler="serial")
    assert (again.executed, again.failed, len(calls)) == (2, 0, 2)
    assert {c[0] for c in calls} == {3}


def test_killed_study_resumes_without_duplicate_or_partial_rows(tmp_path):
    study = tmp_path / "kill.yaml"
    study.write_text(f"name: kill\nbase: {BASE}\ngrid:\n  max_sites: [2, 3, 4, 5]\n"
                     "  horizon_hours: [1440, 1600, 1800, 2000]\n", encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.Popen([str(BIN / "siting"), "sweep", str(study), "--out", str(out),
                             "--scheduler", "serial"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    rows_at_kill = 0
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / "runs.parquet").exists():
                rows_at_kill = len(read_runs(out))
                if rows_at_kill >= 3:
                    break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL  # killed, not finished
    assert 3 <= rows_at_kill < 16
    before = read_runs(out)  # whole rows only, each with its site table
    assert 3 <= len(before) < 16 and before["run_id"].is_unique
    assert (before["status"] == "optimal").all()
    for rid in before["run_id"]:
        assert len(pd.read_parquet(site_table_path(out, rid))) == N_SITES
    result = run_study(load_study(study), out, scheduler="serial")
    assert result.executed == 16 - len(before) and result.skipped == len(before)
    t = read_runs(out)
    assert len(t) == 16 and t["run_id"].is_unique and (t["status"] == "optimal").all()
    assert t["run_id"].tolist() == [m.run_id for m in members(load_study(study))]
    parts = sorted(p.name for p in (out / "sites").iterdir())
    assert parts == sorted(f"run_id={r}" for r in t["run_id"])
    assert not list(out.rglob("*.part"))  # no temporary files left behind
    # the site tables read as one dataset partitioned by run
    sites = pd.read_parquet(out / "sites")
    counts = sites.groupby("run_id", observed=True).size()
    assert sorted(counts.index.astype(str)) == sorted(t["run_id"]) and (counts == N_SITES).all()


def test_study_report_cli(serial_out, serial_table):
    import json

    res = subprocess.run([str(BIN / "siting"), "study", "report", str(serial_out)], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    summary = json.loads((serial_out / "study_summary.json").read_text(),
                         parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    ok = serial_table[serial_table["status"] == "optimal"]
    assert (summary["members"], summary["runs"], summary["successful"]) == (18, 18, len(ok)) == (18, 18, 4)
    assert (summary["failed"], summary["infeasible"]) == (12, 2)
    stability = pd.read_csv(serial_out / "rank_stability.csv")
    # every successful run places all the work: the shares of its chosen sites add up to the
    # mean number of sites hosting work per run
    sites = pd.concat(pd.read_parquet(site_table_path(serial_out, r)) for r in ok["run_id"])
    hosting = ((sites["open"]) & (sites["energy_mwh"] > 0)).sum() / len(ok)
    assert stability["share_open"].sum() == pytest.approx(hosting)
    assert set(summary["robust_sites"]) == set(stability.loc[stability["share_open"] >= 0.8, "site_id"])
    page = (serial_out / "study_report.html").read_text()
    for element in ('id="stability"', 'id="chart-distributions"', 'id="pareto"', 'id="failed"',
                    "not hour by hour"):
        assert element in page
    assert "robust sites" in res.stdout


@pytest.mark.skipif(not browser.available(), reason="chromium/chromedriver not installed (make setup)")
def test_study_page_in_headless_chromium(serial_out, tmp_path):
    rep = study_report(serial_out)
    page = serial_out / "study_report.html"
    assert "<script src=" not in page.read_text() and "<link rel" not in page.read_text()
    with browser.chromium() as driver:
        driver.get(page.as_uri())
        driver.implicitly_wait(5)
        assert driver.find_elements("css selector", ".leaflet-container")
        markers = driver.find_elements("css selector", "path.leaflet-interactive")
        assert len(markers) >= len(rep.stability)  # every chosen site (plus country outlines)
        assert len(driver.find_elements("css selector", "#stability tbody tr")) == len(rep.stability)
        assert len(driver.find_elements("css selector", "#failed tbody tr")) == 14  # 12 errors, 2 infeasible
        for chart in ("#chart-distributions", "#chart-pareto"):
            assert driver.find_element("css selector", chart).get_attribute("naturalWidth") != "0"
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []


def test_tasks_carry_paths_not_tables(study_file):
    import pickle

    for m in members(load_study(study_file)):
        task = task_of(m)
        assert len(pickle.dumps(task)) < 4096  # a few hundred bytes of scenario fields
        assert Path(task["scenario"]["workloads"]).is_absolute()


def test_cli_unknown_scheduler_one_line_exit_2(study_file, tmp_path):
    res = subprocess.run([str(BIN / "siting"), "sweep", str(study_file), "--out", str(tmp_path),
                          "--scheduler", "dask-please"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "expected local, serial or tcp://host:port" in res.stderr
