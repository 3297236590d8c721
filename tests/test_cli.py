"""The installed `siting` command: exit codes and one-line errors, no tracebacks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SITING = [str(Path(sys.executable).with_name("siting"))]


def run(*args, env=None):
    return subprocess.run(SITING + list(args), capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_footprint_table_in_several_countries():
    res = run("footprint", "--gpu-hours", "30.84e6", "--gpu", "H100-SXM", "--pue", "1.0",
              "--region", "NOR", "--region", "POL")
    assert res.returncode == 0, res.stderr
    assert "NOR" in res.stdout and "POL" in res.stdout
    # Norway (~30.7 g/kWh) is listed before Poland (~615 g/kWh): rows are ranked by emissions
    assert res.stdout.index("NOR") < res.stdout.index("POL")


def test_region_json():
    res = run("footprint", "--gpu-hours", "1000", "--gpu-power-w", "1000", "--pue", "1",
              "--region", "NOR", "--year", "2024", "--json")
    assert res.returncode == 0, res.stderr
    payload = json.loads(res.stdout)
    assert payload["year"] == 2024
    assert payload["emissions_t"] == pytest.approx(1.0 * payload["ci_g_per_kwh"] / 1000)


@pytest.mark.parametrize("args, needle", [
    (["--gpu-hours", "-5", "--gpu", "H100", "--ci-g-per-kwh", "400"], "gpu_hours"),
    (["--gpu-hours", "abc", "--gpu", "H100", "--ci-g-per-kwh", "400"], "--gpu-hours"),
    (["--gpu-hours", "10", "--gpu", "H1OO", "--ci-g-per-kwh", "400"], "did you mean H100"),
    (["--gpu-hours", "10", "--gpu", "H100", "--region", "ATLANTIS"], "unknown region"),
    (["--gpu-hours", "10", "--gpu", "H100", "--region", "NOR", "--year", "1950"], "1950"),
])
def test_bad_input_one_line_exit_2(args, needle):
    res = run("footprint", *args)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert needle in lines[0]
