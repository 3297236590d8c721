"""Reliability (issue 13): every bad input gets one clear line, output folders are
all-or-nothing, Ctrl-C stops a solve. Real files in temp folders; the CLI in-process for the
corpus of bad inputs, in child processes for signals, locks and races."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siting.cli import main
from siting.data.validate import EncodingFallback, read_csv
from siting.errors import OutputLockedError, SitingError
from siting.io import write_json, write_text
from siting.model.scenario import load_scenario, read_monthly_table, read_sites_table, read_workloads_table
from siting.outdir import MARKER, output_folder

SITING = str(Path(sys.executable).with_name("siting"))
SITES = ("site_id,lat,lon,capacity_gpus,pue,grid_ci_g_per_kwh,renewable_mwh_per_year\n"
         "A,60,10,1000,1.1,30,1000\nB,45,-73,1000,1.2,2,0\n")
WORKLOADS = "workload_id,gpu_hours,splittable,gpu\nW1,1000000,false,H100\n"


def cli(capsys, *args) -> tuple[int, str]:
    """Run the CLI in-process: (exit code, stderr)."""
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


def files(tmp_path: Path, sites: str = SITES, workloads: str = WORKLOADS) -> tuple[Path, Path]:
    s, w = tmp_path / "sites.csv", tmp_path / "w.csv"
    s.write_text(sites)
    w.write_text(workloads)
    return s, w


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def snapshot(folder):
    """Every file under ``folder`` (the saved solution is a subfolder) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------ bad-input corpus
SITES_HEAD = SITES.splitlines()[0]
BAD_TABLES = [
    # (sites text, workloads text, expected in the one line)
    (SITES.replace("A,60,10,1000", "A,60,10,inf"), WORKLOADS,
     "sites.csv: row 2, field capacity_gpus: expected a finite number >= 0, got 'inf'"),
    (SITES.replace("1.1,30,1000", "1.1,30,1e400"), WORKLOADS,
     "sites.csv: row 2, field renewable_mwh_per_year: expected a finite number >= 0, got '1e400'"),
    (SITES.replace("B,45,-73,1000,1.2", "B,45,-73,1000,NaN"), WORKLOADS,
     "sites.csv: row 3, field pue: expected a number in [1, 5], got 'NaN'"),
    (SITES.replace("B,45,-73,1000,1.2", "B,45,-73,1000,0.9"), WORKLOADS,
     "row 3, field pue: expected a number in [1, 5], got '0.9'"),
    (SITES.replace("B,45", "B,95"), WORKLOADS, "row 3, field lat: expected a number in [-90, 90], got '95'"),
    (SITES.replace("B,45", "A,45"), WORKLOADS, "row 3, field site_id: expected a unique id (also on row 2), got 'A'"),
    (SITES, WORKLOADS.replace("1000000", "inf"), "w.csv: row 2, field gpu_hours: expected a finite number > 0, got 'inf'"),
    (SITES, WORKLOADS.replace("1000000", "0"), "row 2, field gpu_hours: expected a finite number > 0, got '0'"),
    (SITES, WORKLOADS.replace("1000000", "1e200"),
     "row 2, field gpu_hours: expected a number <= 1e+12 (limit input_max_gpu_hours"),
    (SITES, "workload_id,gpu_hours,splittable,gpu_power_kw\nW1,1000,false,0\n",
     "row 2, field gpu_power_kw: expected a number in (0, 100], got '0'"),
    (SITES, "workload_id,gpu_hours,splittable,gpu_power_kw,start_month\nW1,1000,false,0.7,2.5\n",
     "row 2, field start_month: expected a whole number in [1, 12], got '2.5'"),
    (SITES, "workload_id,gpu_hours,splittable,gpu_power_kw,start_month,end_month\nW1,1000,false,0.7,5,3\n",
     "row 2, field end_month: expected a month >= start_month (5), got '3'"),
    (SITES, WORKLOADS.replace("H100", "H1OO"), "row 2, field gpu:"),
    # blank lines and a quoted two-line field: the row is the file line of the bad value
    (SITES_HEAD + "\n\nA,60,10,1000,1.1,30,1000\n\n\"B\nB\",45,-73,1000,1.2,2,-5\n", WORKLOADS,
     "sites.csv: row 5, field renewable_mwh_per_year: expected a finite number >= 0, got '-5'"),
    # a header with a newline inside quotes: still one line
    ('"site_id\nx",lat\nA,1\n', WORKLOADS, "sites.csv: row 1: expected a header line of column names"),
    ("", WORKLOADS, "sites.csv: empty file"),
    # one field too many on every row: pandas would shift the columns (first one as an index)
    (SITES_HEAD + "\nA,60,10,1000,1.1,30,1000,9\nB,45,-73,1000,1.2,2,0,9\n", WORKLOADS,
     "sites.csv: row 2: expected 7 fields, like the header, got 8"),
    (SITES_HEAD + "\n", WORKLOADS, "sites.csv: header only, no data rows"),
    (SITES, "workload_id,gpu_hours,splittable,gpu\nW1," + "9" * 2_000_000 + ",false,H100\n",
     "w.csv: row 2, field gpu_hours: expected a finite number > 0, got '99999"),  # overflows to inf
]


@pytest.mark.parametrize("sites, workloads, needle", BAD_TABLES)
def test_bad_tables_one_line_exit_2(tmp_path, capsys, sites, workloads, needle):
    s, w = files(tmp_path, sites, workloads)
    code, err = cli(capsys, "optimize", "--sites", s, "--workloads", w, "--out", tmp_path / "o")
    line = one_line(err)
    assert code == 2, line
    assert needle in line
    assert len(line) < 400  # values are echoed truncated (60 characters)
    assert not (tmp_path / "o").exists()


def test_numeric_echo_is_truncated(tmp_path, capsys):
    s, w = files(tmp_path, workloads="workload_id,gpu_hours,splittable,gpu\nW1,x" + "y" * 2_000_000 + ",false,H100\n")
    code, err = cli(capsys, "optimize", "--sites", s, "--workloads", w, "--out", tmp_path / "o")
    line = one_line(err)
    assert code == 2 and line.endswith("...")
    assert len(line.split(", got ", 1)[1]) == 60  # not the 2 MB cell


def test_monthly_fractional_month_and_unknown_site(tmp_path, capsys):
    s, w = files(tmp_path)
    monthly = tmp_path / "m.csv"
    rows = [f"{site},{m},10,100" for site in "AB" for m in range(1, 13)]
    monthly.write_text("site_id,month,renewable_mwh,grid_ci_g_per_kwh\n" + "\n".join(rows) + "\n")
    text = monthly.read_text()
    monthly.write_text(text.replace("A,3,10,100", "A,2.5,10,100"))
    code, err = cli(capsys, "optimize", "--sites", s, "--workloads", w, "--sites-monthly", monthly,
                    "--out", tmp_path / "o")
    assert code == 2 and "m.csv: row 4, field month: expected a whole number in [1, 12], got '2.5'" in one_line(err)
    monthly.write_text(text.replace("B,7,10,100", "BB,7,10,100"))
    code, err = cli(capsys, "optimize", "--sites", s, "--workloads", w, "--sites-monthly", monthly,
                    "--out", tmp_path / "o")
    line = one_line(err)
    assert code == 2 and "row 20, field site_id: expected a site_id of the sites table, got 'BB'" in line
    assert "did you mean B" in line


@pytest.mark.parametrize("yaml_text, needle", [
    ("name: ..\nworkloads: w.csv\n", "field name: expected text matching"),
    ("name: ../x\nworkloads: w.csv\n", "field name"),
    ("name: /etc\nworkloads: w.csv\n", "field name"),
    ("name: x\nworkloads: w.csv\nhorizon_hours: .inf\n", "field horizon_hours: expected a finite number, got inf"),
    ("name: x\nworkloads: w.csv\nhorizon_hours: 1e300\n", "field horizon_hours: expected a number <= 1e+06"),
    ("name: x\nworkloads: w.csv\nsolver: {rel_gap: 2}\n", "field solver.rel_gap: expected a number < 1, got 2"),
    ("name: x\nworkloads: w.csv\nsolver: {time_limit_s: -1}\n", "field solver.time_limit_s: expected a number > 0, got -1"),
    ("name: x\nworkloads: w.csv\nmax_sites: 0\n", "field max_sites: expected a number >= 1, got 0"),
    ("name: x\nworkloads: w.csv\nperiods: weekly\n", "field periods: expected one of 'annual', 'monthly' or 'hourly', got 'weekly'"),
    ("a: &a [1, 1, 1, 1]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n", "line 2: expected no YAML aliases"),
    ("name: [unclosed\n", "not valid YAML"),
    ("- a\n- b\n", "expected a mapping of scenario fields"),
    ("", "empty file"),
    ("?\n", "expected text field names, got an empty value"),
    ("name: x\nworkloads: " + "[" * 50_000 + "]" * 50_000 + "\n", "nested too deeply"),
    ("name: x\nworkloads: w.csv\nsolver: 5\n", "field solver: expected a valid dictionary"),
])
def test_bad_scenarios_one_line(tmp_path, capsys, yaml_text, needle):
    files(tmp_path)
    path = tmp_path / "s.yaml"
    path.write_text(yaml_text)
    code, err = cli(capsys, "optimize", path, "--out", tmp_path / "o")
    line = one_line(err)
    assert code == 2 and needle in line, line
    assert "https://" not in line  # pydantic errors are field, rule and value, not a URL


def test_cli_solver_options_name_field_rule_value(tmp_path, capsys):
    s, w = files(tmp_path)
    code, err = cli(capsys, "optimize", "--sites", s, "--workloads", w, "--rel-gap", "2")
    line = one_line(err)
    assert code == 2 and line == "error: solver options: field --rel_gap: expected a number < 1, got 2.0"


def test_alias_bomb_refused_cheaply(tmp_path):
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(levels) + "\n")
    with pytest.raises(SitingError, match="line 2: expected no YAML aliases"):
        load_scenario(path)  # 10^9 nodes if expanded: refused at the first alias


def test_encoding_fallback_named_and_undecodable_refused(tmp_path, capsys):
    s, w = files(tmp_path)
    (tmp_path / "s.yaml").write_bytes(b"name: caf\xe9\nworkloads: w.csv\nsites: sites.csv\n")
    code, err = cli(capsys, "optimize", tmp_path / "s.yaml", "--out", tmp_path / "o")
    # cp1252 decoded "café", which is then not a safe folder name: the warning names the fallback
    assert "warning: " in err and "read as cp1252" in err
    assert code == 2 and "field name" in err
    (tmp_path / "s.yaml").write_bytes(b"name: x\x81\nworkloads: w.csv\n")
    code, err = cli(capsys, "optimize", tmp_path / "s.yaml", "--out", tmp_path / "o")
    assert code == 2 and "line 1: expected UTF-8 (or cp1252) text, got byte 0x81 at offset 7" in one_line(err)
    w.write_bytes(b"workload_id,gpu_hours,splittable,gpu\n\xff\xfeW1\x00,1,false,H100\n")
    code, err = cli(capsys, "optimize", "--sites", s, "--workloads", w)
    assert code == 2 and "contains NUL bytes" in one_line(err)
    # cp1252 fallback that succeeds: a workload id with an e-acute
    w.write_bytes(b"workload_id,gpu_hours,splittable,gpu\ncaf\xe9,1000,false,H100\n")
    with pytest.warns(EncodingFallback, match=r"w.csv: not UTF-8 \(line 2\); read as cp1252"):
        assert read_workloads_table(w)["workload_id"].tolist() == ["caf\u00e9"]


def test_evaluate_bad_inputs(tmp_path, capsys):
    s, w = files(tmp_path)
    code, err = cli(capsys, "evaluate", "--sites", s, "--workloads", w, "--horizon-hours", "-1",
                    "--out", tmp_path / "o")
    assert code == 2 and "field --horizon-hours: expected a number in (0, 1e+06], got -1.0" in one_line(err)
    s.write_text("")
    code, err = cli(capsys, "evaluate", "--sites", s, "--workloads", w, "--out", tmp_path / "o")
    assert code == 2 and "sites.csv: empty file" in one_line(err)
    s.write_text(SITES_HEAD + "\n")
    code, err = cli(capsys, "evaluate", "--sites", s, "--workloads", w, "--out", tmp_path / "o")
    assert code == 2 and "header only" in one_line(err)
    s.write_text(SITES)
    code, err = cli(capsys, "evaluate", "--sites", s, "--gpu-hours", "inf", "--gpu", "H100",
                    "--out", tmp_path / "o")
    assert code == 2 and "field gpu_hours: expected a finite number > 0, got inf" in one_line(err)
    code, err = cli(capsys, "evaluate", "--sites", s, "--gpu-hours", "10", "--gpu-power-w", "0",
                    "--out", tmp_path / "o")
    assert code == 2 and "field gpu_power_kw: expected a number in (0, 100], got 0.0" in one_line(err)
    assert not (tmp_path / "o").exists()


def test_output_never_replaces_inputs(tmp_path, capsys):
    s, w = files(tmp_path)
    code, err = cli(capsys, "optimize", "--sites", s, "--workloads", w, "--out", tmp_path)
    assert code == 2 and "would overwrite the input" in one_line(err)
    code, err = cli(capsys, "optimize", "--sites", s, "--workloads", w, "--out", tmp_path / "x" / "..")
    assert code == 2 and "would overwrite the input" in one_line(err)
    assert s.read_text() == SITES and w.read_text() == WORKLOADS
    # a folder of someone else's files is never replaced, even without inputs in it
    other = tmp_path / "mine"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    code, err = cli(capsys, "optimize", "--sites", s, "--workloads", w, "--out", other)
    assert code == 2 and "files siting did not write" in one_line(err)
    assert listing(other) == ["thesis.tex"]


def test_summary_json_strict_at_zero_intensity_baseline(tmp_path, capsys):
    sites = SITES.replace("B,45,-73,1000,1.2,2,0", "B,45,-73,1000,1.2,0,0")
    s, w = files(tmp_path, sites)
    (tmp_path / "s.yaml").write_text("name: zero\nsites: sites.csv\nworkloads: w.csv\n")
    code, err = cli(capsys, "report", tmp_path / "s.yaml", "--baseline-site", "B", "--out", tmp_path / "o")
    assert code == 0, err

    def strict(text):
        return json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))

    summary = strict((tmp_path / "o" / "summary.json").read_text())
    assert summary  # parsed without NaN/Infinity
    write_json(tmp_path / "n.json", {"a": float("nan"), "b": [np.float64("inf"), 1.5]})
    assert strict((tmp_path / "n.json").read_text()) == {"a": None, "b": [None, 1.5]}


# ------------------------------------------------------------------------ property test
NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.integers(min_value=-10**30, max_value=10**30).map(str),
                    st.sampled_from(["1e400", "-1e400", "nan", "inf", "-0", "1_000", "0x10", "",
                                     " 5 ", "1e-400", "١٢", "1,5", "NaN", "+inf", "1e200"]),
                    st.text(max_size=8))


def _readers(tmp_path: Path):
    ids = pd.Series(["A", "B"])
    from siting.data.sites import read_sites

    return [("sites.csv", read_sites_table), ("w.csv", read_workloads_table),
            ("m.csv", lambda p: read_monthly_table(p, ids)), ("s.yaml", load_scenario),
            ("any.csv", read_csv), ("user.csv", read_sites), ("user.geojson", read_sites)]


def _outcome(reader, path):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EncodingFallback)
            reader(path)
    except SitingError as exc:
        message = str(exc)
        assert "\n" not in message and "\r" not in message, message
        assert len(message) < 600, message
        assert message.startswith(str(path)) or message.startswith(path.name), message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_random_bytes_never_traceback(tmp_path, data):
    folder = tmp_path / "fuzz-input"  # deliberately invalid files: the strict-JSON check skips them
    folder.mkdir(exist_ok=True)
    for name, reader in _readers(tmp_path):
        path = folder / name
        path.write_bytes(data)
        _outcome(reader, path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(NUMBERS, min_size=12, max_size=12))
def test_random_numbers_never_traceback(tmp_path, cells):
    def q(c):  # CSV-quote every cell, so any text is one cell
        return '"' + c.replace('"', '""') + '"'

    sites = tmp_path / "sites.csv"
    sites.write_text(SITES_HEAD + "\n" + ",".join(["A"] + [q(c) for c in cells[:6]]) + "\n", encoding="utf-8")
    _outcome(read_sites_table, sites)
    work = tmp_path / "w.csv"
    work.write_text("workload_id,gpu_hours,splittable,gpu_power_kw,overhead_share,start_month,end_month\n"
                    + ",".join(["W"] + [q(cells[6]), "true"] + [q(c) for c in cells[7:11]]) + "\n", encoding="utf-8")
    _outcome(read_workloads_table, work)
    scen = tmp_path / "s.yaml"
    scen.write_text(f"name: x\nworkloads: w.csv\nhorizon_hours: {cells[11] or 1}\nmax_sites: {cells[0] or 1}\n",
                    encoding="utf-8")
    _outcome(load_scenario, scen)


# ------------------------------------------------------------------------ output folders
def test_output_folder_swaps_whole_folder(tmp_path):
    out = tmp_path / "o"
    with output_folder(out) as tmp:
        write_text(tmp / "a.txt", "old")
        write_text(tmp / "b.txt", "old")
    with output_folder(out) as tmp:
        assert tmp.parent == out.parent and tmp != out
        write_text(tmp / "a.txt", "new")
        assert (out / "a.txt").read_text() == "old"  # untouched until the swap
    assert listing(out) == [MARKER, "a.txt"]  # b.txt of the old run is gone: no mixing
    assert (out / "a.txt").read_text() == "new"
    assert listing(tmp_path) == ["o"]  # no temp folder, no lock left


def test_failure_in_block_keeps_old_folder(tmp_path):
    out = tmp_path / "o"
    with output_folder(out) as tmp:
        write_text(tmp / "a.txt", "old")
    with pytest.raises(RuntimeError), output_folder(out) as tmp:
        write_text(tmp / "a.txt", "new")
        raise RuntimeError("last file failed")
    assert (out / "a.txt").read_text() == "old"
    assert listing(tmp_path) == ["o"]


@pytest.mark.parametrize("errno_name, text", [("ENOSPC", "No space left on device"),
                                               ("EACCES", "Permission denied")])
def test_disk_full_or_no_permission_simulated_keeps_old_folder_exit_1(tmp_path, capsys, monkeypatch,
                                                                      errno_name, text):
    s, w = files(tmp_path)
    out = tmp_path / "o"
    code, err = cli(capsys, "optimize", "--sites", s, "--workloads", w, "--out", out)
    assert code == 0, err
    before = snapshot(out)
    monkeypatch.setenv("SITING_FAULT_AT", "write:site_periods.csv")
    monkeypatch.setenv("SITING_FAULT_SIGNAL", errno_name)
    code, err = cli(capsys, "optimize", "--sites", s, "--workloads", w,
                    "--max-sites", "1", "--out", out)
    line = one_line(err)
    assert code == 1
    assert line == f"error: {out / 'site_periods.csv'}: {text}; the previous output is unchanged"
    assert snapshot(out) == before
    assert listing(tmp_path) == ["o", "sites.csv", "w.csv"]


def _tmpfs(tmp_path: Path) -> Path | None:
    mnt = tmp_path / "small"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                         capture_output=True)
    return mnt if res.returncode == 0 else None


def test_disk_full_real_tmpfs_or_permission(tmp_path, capsys):
    """A real full disk (a 256 kB tmpfs) when this machine lets us mount one; otherwise a
    read-only parent folder (EACCES): either way exit 1, one line, the old folder intact."""
    s, w = files(tmp_path)
    mnt = _tmpfs(tmp_path)
    try:
        if mnt is not None:
            out = mnt / "o"
            code, err = cli(capsys, "optimize", "--sites", s, "--workloads", w, "--out", out)
            assert code == 0, err
            before = snapshot(out)
            fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT)  # fill the disk, free 16 kB
            try:
                while True:
                    os.write(fd, b"x" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
            os.ftruncate(fd, max(0, os.lseek(fd, 0, os.SEEK_CUR) - 16 * 1024))
            os.close(fd)
            (tmp_path / "report.yaml").write_text("name: r\nsites: sites.csv\nworkloads: w.csv\n")
            code, err = cli(capsys, "report", tmp_path / "report.yaml", "--out", out)
            line = one_line(err)
            assert code == 1 and "No space left on device" in line, line
            assert snapshot(out) == before
            assert sorted(p.name for p in mnt.iterdir()) == ["filler", "o"]
        else:
            if os.geteuid() == 0:
                pytest.skip("cannot mount a tmpfs and root ignores permissions: ENOSPC is "
                            "covered by the simulated test")
            ro = tmp_path / "ro"
            ro.mkdir()
            out = ro / "o"
            ro.chmod(0o555)
            try:
                code, err = cli(capsys, "optimize", "--sites", s, "--workloads", w, "--out", out)
            finally:
                ro.chmod(0o755)
            assert code == 1 and "Permission denied" in one_line(err)
    finally:
        if mnt is not None:
            subprocess.run(["umount", str(mnt)], check=False)


def test_lock_held_by_live_process_and_stale_lock_taken_over(tmp_path):
    out = tmp_path / "o"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from siting.outdir import folder_lock\n"
        f"with folder_lock(Path({str(out)!r})):\n"
        "    print('locked', flush=True); time.sleep(30)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutputLockedError, match=rf"another siting run \(pid {holder.pid}\)"):
            with output_folder(out):
                pass
    finally:
        holder.kill()
        holder.wait()
    # the holder died without cleaning up: its lock file (dead pid) is stale and taken over
    lock = tmp_path / ".o.lock"
    assert lock.read_text().strip() == str(holder.pid)
    with output_folder(out) as tmp:
        write_text(tmp / "a.txt", "ok")
    assert listing(tmp_path) == ["o"]


def test_two_processes_racing_into_one_out(tmp_path):
    s, w = files(tmp_path)
    w2 = tmp_path / "w2.csv"
    w2.write_text(WORKLOADS.replace("W1,1000000", "W2,2000000"))
    out = tmp_path / "o"
    env = {**os.environ, "SITING_FAULT_AT": "swap", "SITING_FAULT_SIGNAL": "SIGSTOP"}
    first = subprocess.Popen([SITING, "optimize", "--sites", s, "--workloads", w, "--out", out],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_stopped(first.pid)  # holds the lock, stopped just before its swap
        second = subprocess.run([SITING, "optimize", "--sites", s, "--workloads", w2, "--out", out],
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 2
        assert one_line(second.stderr) == (f"error: {out}: another siting run (pid {first.pid}) is "
                                           "writing this folder; wait for it to finish or choose another --out")
    finally:
        os.kill(first.pid, signal.SIGCONT)
    assert first.wait(timeout=120) == 0
    assert pd.read_csv(out / "assignments.csv")["workload_id"].tolist() == ["W1"]
    assert listing(tmp_path) == ["o", "sites.csv", "w.csv", "w2.csv"]


def _wait_stopped(pid: int, timeout_s: float = 120) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "T":
            return
        time.sleep(0.05)
    raise AssertionError("child never reached the fault point")


@pytest.mark.parametrize("step, sig, code", [
    ("write:site_periods.csv", "SIGTERM", 130),
    ("write:assignments.csv", "SIGINT", 130),
    ("swap", "SIGTERM", 130),
    ("write:summary.json", "SIGKILL", -9),
])
def test_signal_at_write_step_leaves_old_or_new(tmp_path, step, sig, code):
    s, w = files(tmp_path)
    out = tmp_path / "o"
    first = subprocess.run([SITING, "optimize", "--sites", s, "--workloads", w, "--out", out],
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    before = snapshot(out)
    w.write_text(WORKLOADS.replace("W1,", "W9,"))
    killed = subprocess.run([SITING, "optimize", "--sites", s, "--workloads", w, "--out", out],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "SITING_FAULT_AT": step, "SITING_FAULT_SIGNAL": sig})
    assert killed.returncode == code, killed.stderr
    assert "Traceback" not in killed.stderr
    assert snapshot(out) == before  # the old folder, whole
    if sig != "SIGKILL":
        assert one_line(killed.stderr) == "error: interrupted"
        assert listing(tmp_path) == ["o", "sites.csv", "w.csv"]  # no temp folder, no lock
    else:  # nothing can clean up after SIGKILL: the next run does
        assert any(n.startswith(".o.tmp-") for n in listing(tmp_path))
        again = subprocess.run([SITING, "optimize", "--sites", s, "--workloads", w, "--out", out],
                               capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        assert listing(tmp_path) == ["o", "sites.csv", "w.csv"]
        assert pd.read_csv(out / "assignments.csv")["workload_id"].tolist() == ["W9"]


def test_sites_enrich_refuses_to_write_over_its_input(tmp_path, capsys):
    s, _ = files(tmp_path)
    code, err = cli(capsys, "sites", "enrich", s, "--out", s)
    assert code == 2 and "would overwrite the input" in one_line(err)
    assert s.read_text() == SITES


# ------------------------------------------------------------------------ interrupted solves
def _hard_instance(tmp_path: Path) -> tuple[Path, Path, Path]:
    from siting.model.testing import random_problem

    p = random_problem(300, 60, 12, seed=2)
    sites = tmp_path / "sites.csv"
    p.sites.drop(columns=["capacity_mw"]).to_csv(sites, index=False)
    work = tmp_path / "w.csv"
    p.workloads.drop(columns=["gpu", "energy_mwh"]).to_csv(work, index=False)
    monthly = tmp_path / "m.csv"
    m = pd.DataFrame({"site_id": np.repeat(p.sites["site_id"], 12), "month": np.tile(np.arange(1, 13), 300),
                      "renewable_mwh": p.renewable_mwh.ravel(), "grid_ci_g_per_kwh": p.grid_ci.ravel()})
    m.to_csv(monthly, index=False)
    return sites, work, monthly


@pytest.mark.parametrize("keep", [False, True])
def test_sigint_during_solve_stops_exit_130(tmp_path, keep):
    """Plain formulation: no start plan, SIGINT 1 s into the solve (HiGHS is in its root LP,
    which does not poll for interrupts: the grace path). Compact with --keep-incumbent: the
    LP-dive start is a feasible plan from the first moment, so there is always one to keep."""
    sites, work, monthly = _hard_instance(tmp_path)
    out = tmp_path / "o"
    args = [SITING, "optimize", "--sites", sites, "--workloads", work, "--sites-monthly", monthly,
            "--formulation", "compact" if keep else "plain", "--rel-gap", "0", "--time-limit-s", "300",
            "--out", out] + (["--keep-incumbent"] if keep else [])
    env = {**os.environ, "SITING_FAULT_AT": "solve", "SITING_FAULT_SIGNAL": "SIGSTOP"}
    child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_stopped(child.pid)  # the HiGHS solve has started
    os.kill(child.pid, signal.SIGCONT)
    time.sleep(0.3 if keep else 1.0)  # into the solve (which takes tens of seconds or more)
    t0 = time.monotonic()
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    stopped_s = time.monotonic() - t0
    print(f"SIGINT to exit: {stopped_s:.2f} s")
    assert child.returncode == 130, err
    assert stopped_s < 5.0  # 1 s grace + writing; without the interrupt: the 300 s limit
    line = one_line(err)
    assert line.startswith("error: interrupted (SIGINT) during the solve")
    if keep:
        assert "kept the best plan found so far" in line
        summary = json.loads((out / "summary.json").read_text())
        assert summary["status"] == "interrupted"
        shares = pd.read_csv(out / "assignments.csv").groupby("workload_id")["share"].sum()
        assert len(shares) == 60 and np.allclose(shares, 1.0, atol=1e-6)  # every workload placed
        assert listing(tmp_path) == ["m.csv", "o", "sites.csv", "w.csv"]
    else:
        assert not out.exists()
        assert listing(tmp_path) == ["m.csv", "sites.csv", "w.csv"]


def test_run_interruptibly_solves_like_run_without_a_signal():
    from siting.model.formulation import ModelOptions, formulate
    from siting.model.interrupt import run_interruptibly
    from siting.model.solve import highs_model
    from siting.model.testing import random_problem

    mm = formulate(random_problem(30, 10, seed=1), ModelOptions(formulation="plain"), packing_rows=False)
    plain, guarded = highs_model(mm), highs_model(mm)
    for h in (plain, guarded):
        h.setOptionValue("mip_rel_gap", 1e-9)
    plain.run()
    run_interruptibly(guarded)
    assert guarded.modelStatusToString(guarded.getModelStatus()) == "Optimal"
    assert guarded.getInfo().objective_function_value == pytest.approx(
        plain.getInfo().objective_function_value, rel=1e-9)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_run_interruptibly_raises_and_keeps_a_feasible_incumbent():
    """In-process: SIGINT 6 s into a (300, 60, 12) solve (which takes minutes to prove)."""
    import threading

    from siting.errors import Interrupted
    from siting.model.formulation import ModelOptions, formulate
    from siting.model.interrupt import incumbent, run_interruptibly
    from siting.model.solve import highs_model
    from siting.model.testing import random_problem

    mm = formulate(random_problem(300, 60, 12, seed=2), ModelOptions(formulation="plain"),
                   packing_rows=False)
    h = highs_model(mm)
    h.setOptionValue("mip_rel_gap", 0.0)
    sent = []
    timer = threading.Timer(6.0, lambda: (sent.append(time.monotonic()), os.kill(os.getpid(), signal.SIGINT)))
    timer.start()
    with pytest.raises(Interrupted, match="SIGINT") as exc:
        run_interruptibly(h, grace_s=1.0)
    stopped_s = time.monotonic() - sent[0]
    print(f"in-process SIGINT to Interrupted: {stopped_s:.2f} s, solver still running: {exc.value.solver_running}")
    assert stopped_s < 5.0  # 1 s grace; without the interrupt: the solve runs for minutes
    best = incumbent(h)
    if best is not None:  # the plan HiGHS had found: feasible for the model's rows and bounds
        obj, values = best
        assert obj == pytest.approx(float(mm.cost @ values), rel=1e-9)
        rows = mm.A.tocsr() @ values
        assert (rows >= mm.row_lb - 1e-6).all() and (rows <= mm.row_ub + 1e-6).all()
        assert (values >= mm.lb - 1e-9).all() and (values <= mm.ub + 1e-9).all()
    if not exc.value.solver_running:
        assert h.modelStatusToString(h.getModelStatus()) == "Interrupted by user"
    else:
        h.cancelSolve()
        h.wait()  # let the abandoned solve end before the test process moves on


def test_two_processes_started_together_never_mix(tmp_path):
    """No hook: both start at once. Either the lock stops one (exit 2, naming the holder) or
    they ran one after the other; the folder is always one run's complete output."""
    s, w = files(tmp_path)
    w2 = tmp_path / "w2.csv"
    w2.write_text(WORKLOADS.replace("W1,1000000", "W2,2000000"))
    out = tmp_path / "o"
    procs = [subprocess.Popen([SITING, "optimize", "--sites", s, "--workloads", x, "--out", out],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for x in (w, w2)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 2]), results
    for code, err in results:
        if code == 2:
            assert "another siting run (pid " in one_line(err)
    ids = pd.read_csv(out / "assignments.csv")["workload_id"].tolist()
    summary = json.loads((out / "summary.json").read_text())
    periods = pd.read_csv(out / "site_periods.csv")
    assert ids in (["W1"], ["W2"])
    energy = {"W1": 1e6, "W2": 2e6}[ids[0]] * 0.7 / 1000  # H100 at 700 W, MWh of IT energy
    assert summary["energy_mwh"] == pytest.approx(periods["energy_mwh"].sum())
    assert summary["energy_mwh"] >= energy  # facility energy = IT energy x PUE of that run
    assert listing(tmp_path) == ["o", "sites.csv", "w.csv", "w2.csv"]


# ------------------------------------------------------------------------ validation layer units
def test_file_lines_with_bom_crlf_blank_lines_and_quoted_newlines(tmp_path):
    from siting.data.validate import file_line, numeric_column

    p = tmp_path / "t.csv"
    p.write_bytes(b'\xef\xbb\xbfa,b\r\n1,2\r\n\r\n"x\r\ny",3\r\n4,-1\r\n')
    df = read_csv(p)
    assert df.columns.tolist() == ["a", "b"]  # the BOM is not part of the first name
    assert [file_line(df, i) for i in range(len(df))] == [2, 4, 6]
    with pytest.raises(SitingError, match=r"t.csv: row 6, field b: expected a finite number >= 0, got -1$"):
        numeric_column(df, "b", p, lo=0)
    # rows filtered out keep their file lines
    assert file_line(df[df["b"] != 3], 1) == 6


def test_show_truncates_and_keeps_one_line():
    from siting.data.validate import show

    assert show("a\nb") == "'a\\nb'"
    assert len(show("x" * 10_000)) == 60 and show("x" * 10_000).endswith("...")
    assert show(float("nan")) == "nan" and show("") == "an empty value" and show(np.int64(3)) == "3"


def test_numeric_rules_each_refuse_their_case():
    from siting.data.validate import numeric_column

    df = pd.DataFrame({"v": ["1", "2.5", "1e400", "-3", "abc", "", "13"]})

    def first_error(**rule):
        try:
            numeric_column(df.iloc[idx], "v", "f.csv", **rule)
        except SitingError as exc:
            return str(exc)
        return None

    idx = [0, 1]
    assert "expected a whole number in [1, 12], got '2.5'" in first_error(lo=1, hi=12, integer=True)
    idx = [0, 2]
    assert "row 3, field v: expected a finite number >= 0, got '1e400'" in first_error(lo=0)
    idx = [0, 3]
    assert "got '-3'" in first_error(gt=0)
    idx = [0, 4]
    assert "got 'abc'" in first_error()
    idx = [0, 5]
    assert "got an empty value" in first_error()
    assert first_error(required=False) is None
    idx = [0, 6]
    assert "expected a number <= 12 (limit k in siting/resources/assumptions.csv), got '13'" in first_error(limit=12, limit_key="k")


def test_stale_lock_with_garbage_is_taken_over(tmp_path):
    (tmp_path / ".o.lock").write_text("not a pid\n")
    with output_folder(tmp_path / "o") as tmp:
        write_text(tmp / "a.txt", "x")
        assert (tmp_path / ".o.lock").read_text().strip() == str(os.getpid())
    assert listing(tmp_path) == ["o"]


def test_killed_mid_swap_is_restored_by_the_next_run(tmp_path):
    """A run killed between the two renames of the fallback swap leaves only .o.old-<pid>:
    the next run puts it back before it starts."""
    old = tmp_path / ".o.old-99999"
    old.mkdir()
    (old / MARKER).write_text("")
    (old / "a.txt").write_text("previous")
    with output_folder(tmp_path / "o") as tmp:
        assert (tmp_path / "o" / "a.txt").read_text() == "previous"
        write_text(tmp / "a.txt", "new")
    assert listing(tmp_path) == ["o"] and (tmp_path / "o" / "a.txt").read_text() == "new"


def test_unmarked_folder_replaced_only_when_every_file_is_rewritten(tmp_path):
    """data/regions style (marker=False): a folder kept in git is replaced when the new run
    writes every file it holds, and refused when it holds others."""
    out = tmp_path / "regions"
    out.mkdir()
    (out / "sites.csv").write_text("old")
    with output_folder(out, marker=False) as tmp:
        write_text(tmp / "sites.csv", "new")
        write_text(tmp / "SOURCES.md", "new")
    assert listing(out) == ["SOURCES.md", "sites.csv"]
    (out / "notes.txt").write_text("mine")
    with pytest.raises(SitingError, match="files siting did not write"), output_folder(out, marker=False) as tmp:
        write_text(tmp / "sites.csv", "newer")
    assert (out / "sites.csv").read_text() == "new" and (out / "notes.txt").read_text() == "mine"
    assert listing(tmp_path) == ["regions"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(gpu_hours=NUMBERS, capacity=NUMBERS, renewable=NUMBERS, power=NUMBERS)
def test_random_numbers_through_the_cli_one_line_or_success(tmp_path, capsys, gpu_hours, capacity,
                                                            renewable, power):
    """The whole command, not only the readers: exit 0, or 2/3 with one line (4: the solver
    found no plan in time, also one line); never a traceback, never a partial folder."""
    def q(c):
        return '"' + c.replace('"', '""') + '"'

    s, w = files(tmp_path, SITES.replace("A,60,10,1000,1.1,30,1000", f"A,60,10,{q(capacity)},1.1,30,{q(renewable)}"),
                 f"workload_id,gpu_hours,splittable,gpu_power_kw\nW1,{q(gpu_hours)},false,{q(power)}\n")
    out = tmp_path / "o"
    code, err = cli(capsys, "optimize", "--sites", s, "--workloads", w, "--out", out)
    if code == 0:
        summary = json.loads((out / "summary.json").read_text(),
                             parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
        assert summary["status"] in ("optimal", "feasible")
    else:
        assert code in (2, 3, 4), err
        one_line(err)
        assert not out.exists() or (out / MARKER).is_file()  # an earlier example's whole folder
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".o.")]  # no temp folder or lock


def test_sigterm_during_the_swap_is_deferred_until_the_new_folder_is_in(tmp_path, monkeypatch):
    import siting.outdir as outdir

    out = tmp_path / "o"
    with output_folder(out) as tmp:
        write_text(tmp / "a.txt", "old")
    real_exchange = outdir._exchange

    def exchange_with_sigterm(a, b):
        os.kill(os.getpid(), signal.SIGTERM)  # blocked here: delivered when the swap is done
        return real_exchange(a, b)

    monkeypatch.setattr(outdir, "_exchange", exchange_with_sigterm)
    with pytest.raises(KeyboardInterrupt), output_folder(out) as tmp:
        write_text(tmp / "a.txt", "new")
    assert (out / "a.txt").read_text() == "new"  # the swap completed before the signal acted
    assert listing(tmp_path) == ["o"]  # and neither the old folder nor the lock is left


SEED_FILES = {
    "sites.csv": (b"site_id,lat,lon,capacity_gpus,pue,grid_ci_g_per_kwh,renewable_mwh_per_year,capacity_mw,"
                  b"embodied_t,name\nA,60,10,1000,1.1,30,1000,5,0,\"x, y\"\nB,45,-73,1000,1.2,2,0,,1,b\n"),
    "w.csv": (b"workload_id,gpu_hours,splittable,gpu,gpu_power_kw,overhead_share,start_month,end_month\n"
              b"W1,1000000,false,H100,,0.1,1,12\nW2,5e5,true,,0.7,,3,4\n"),
    "m.csv": b"site_id,month,renewable_mwh,grid_ci_g_per_kwh\n" + b"".join(
        f"{s},{m},10,100\n".encode() for s in "AB" for m in range(1, 13)),
    "s.yaml": (b"name: x\nworkloads: w.csv\nsites: sites.csv\nperiods: monthly\nsites_monthly: m.csv\n"
               b"horizon_hours: 8760\nmax_sites: 2\nsolver: {name: highs, time_limit_s: 10, rel_gap: 0.01}\n"
               b"assumptions: {pue_default: 1.2}\n"),
}
TOKENS = [b",", b"\n", b"\r\n", b'"', b"inf", b"nan", b"1e400", b"-", b"\xff", b"\xe9", b"\x00", b":",
          b"&a", b"*a", b"[", b"{", b" ", b"0", b"..", b"/", b"\t", b"#", b"''", b"2.5", b"-1", b"?"]
MUTATION = st.tuples(st.floats(0, 1), st.sampled_from(["insert", "delete", "byte"]),
                     st.sampled_from(TOKENS), st.integers(0, 255))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(SEED_FILES)), mutations=st.lists(MUTATION, min_size=1, max_size=4))
def test_mutated_valid_files_never_traceback(tmp_path, name, mutations):
    """Valid files with a few tokens inserted, bytes deleted or replaced: closer to real
    mistakes than random bytes (this found an ArrowInvalid traceback for an empty gpu cell)."""
    data = bytearray(SEED_FILES[name])
    for where_, op, token, byte in mutations:
        i = int(where_ * len(data))
        if op == "insert":
            data[i:i] = token
        elif op == "delete":
            del data[i:i + 3]
        else:
            data[i:i + 1] = bytes([byte])
    path = tmp_path / name
    path.write_bytes(bytes(data))
    reader = dict(_readers(tmp_path))[name]
    _outcome(reader, path)


def test_empty_gpu_cell_with_a_power_value(tmp_path):
    w = tmp_path / "w.csv"
    w.write_text("workload_id,gpu_hours,splittable,gpu,gpu_power_kw\nW1,100,false,,0.7\nW2,100,true,H100,\n")
    wl = read_workloads_table(w)
    assert wl["gpu"].tolist() == ["", "NVIDIA H100 SXM5 80GB"]  # the alias resolved to its catalogue name
    assert wl["gpu_power_kw"].tolist() == pytest.approx([0.7, 0.7])
