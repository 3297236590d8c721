"""The installed `siting` command: exit codes and one-line errors, no tracebacks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SITING = [str(Path(sys.executable).with_name("siting"))]
REPO = Path(__file__).resolve().parents[1]


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


@pytest.mark.shared
def test_data_fetch_list_and_sites_commands(tmp_path, mirror):
    cache = str(tmp_path / "cache")
    res = run("data", "fetch", "gppd-v1.3", "natural-earth-50m", "jrc-hydro", "powerplantmatching",
              "--mirror", str(mirror), "--cache", cache)
    assert res.returncode == 0, res.stderr
    listing = run("data", "list", "--cache", cache)
    assert "gppd-v1.3" in listing.stdout and "2/2" in listing.stdout
    gen = tmp_path / "generated.geojson"
    res = run("sites", "generate", "--out", str(gen), "--n-sites", "25", "--cache", cache)
    assert res.returncode == 0, res.stderr
    import geopandas as gpd

    g = gpd.read_file(gen)
    assert len(g) == 25 and g.crs.to_epsg() == 4326
    assert g["cluster_mwh_per_year"].is_monotonic_decreasing  # ranked by low-carbon energy
    mine = tmp_path / "my_sites.csv"
    mine.write_text("site_id,lat,lon\nqc,46.8,-71.2\nrvk,64.13,-21.9\n")
    enriched = tmp_path / "enriched.csv"
    res = run("sites", "enrich", str(mine), "--out", str(enriched), "--cache", cache)
    assert res.returncode == 0, res.stderr
    import pandas as pd

    e = pd.read_csv(enriched).set_index("site_id")
    assert e.loc["qc", "country_iso3"] == "CAN" and e.loc["rvk", "country_iso3"] == "ISL"
    assert e.loc["rvk", "existing_renewable_geothermal_mwh_per_year"] > 0


def test_sites_enrich_bad_file_one_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("site_id,lat,lon\na,1,2\nb,200,2\n")
    res = run("sites", "enrich", str(bad), "--out", str(tmp_path / "o.csv"))
    assert res.returncode == 2
    assert res.stderr.strip() == f"error: {bad}: row 3, field lat: expected a number in [-90, 90], got 200"
    assert not (tmp_path / "o.csv").exists()


# ------------------------------------------------------------------ conventions (issue 11)
def strict(text):
    from tests.conftest import strict_json_loads

    return strict_json_loads(text)


def test_version_and_bare_siting_prints_help():
    from siting import __version__

    res = run("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"siting {__version__}"
    bare = run()
    assert bare.returncode == 0 and "Usage: siting" in bare.stdout and "report" in bare.stdout
    assert "error" not in bare.stderr
    group = run("data")
    assert group.returncode == 0 and "fetch" in group.stdout


def test_shell_completion_through_typer():
    res = run(env={"_SITING_COMPLETE": "complete_bash", "COMP_WORDS": "siting comp", "COMP_CWORD": "1"})
    assert res.returncode == 0 and res.stdout.split() == ["compare"]
    assert "--install-completion" in run("--help").stdout


def test_piped_output_is_not_hard_wrapped():
    res = run("gpus")
    assert res.returncode == 0
    header = next(line for line in res.stdout.splitlines() if line.startswith("┃"))
    rows = [line for line in res.stdout.splitlines() if line.startswith("│")]
    assert rows and all(line.count("│") == header.count("┃") for line in rows)  # no wrapped cells


def test_json_on_commands_that_print_results(tmp_path):
    gpus = strict(run("gpus", "--json").stdout)
    assert any("H100" in str(g.get("gpu", "")) for g in gpus)
    listing = strict(run("data", "list", "--json", "--cache", str(tmp_path / "c")).stdout)
    assert {"cache", "datasets"} <= set(listing)
    res = run("optimize", str(REPO / "scenarios" / "example_llama.yaml"), "--out", str(tmp_path / "a"), "--json")
    assert res.returncode == 0, res.stderr
    payload = strict(res.stdout)
    assert payload["summary"]["status"] == "optimal" and len(payload["open_sites"]) == payload["summary"]["n_sites_open"]
    rep = strict(run("report", "--from", str(tmp_path / "a"), "--json").stdout)
    assert rep["headline"][0]["figure"] == "Location-based CO2"
    assert all(b["basis"] for b in rep["baselines"])
    assert (tmp_path / "a" / "report.html").is_file()


def test_report_from_saved_run_and_compare(tmp_path):
    scenario = str(REPO / "scenarios" / "example_llama.yaml")
    assert run("report", scenario, "--out", str(tmp_path / "a")).returncode == 0
    res = run("optimize", scenario, "--max-sites", "2", "--out", str(tmp_path / "b"))
    assert res.returncode == 0, res.stderr
    assert not (tmp_path / "b" / "report.html").exists()
    res = run("report", "--from", str(tmp_path / "b"))
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "b" / "report.html").is_file() and "Location-based CO2" in res.stdout
    embodied = next(line for line in res.stdout.splitlines() if line.startswith("Embodied emissions"))
    assert len(embodied) > 120 and embodied.endswith("Luccioni et al. 2022)]")  # piped: not wrapped
    md = run("compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert md.returncode == 0, md.stderr
    lines = md.stdout.splitlines()
    assert lines[0] == "| figure | a | b |"
    sites_open = next(line for line in lines if line.startswith("| Sites open"))
    opened = [json.loads((tmp_path / d / "summary.json").read_text())["n_sites_open"] for d in ("a", "b")]
    assert [int(x) for x in sites_open.split("|")[2:4]] == opened and opened[1] <= 2
    csv = run("compare", str(tmp_path / "a"), str(tmp_path / "b"), "--format", "csv")
    import io

    import pandas as pd

    table = pd.read_csv(io.StringIO(csv.stdout)).set_index("figure")
    assert list(table.columns) == ["a", "b"]
    assert float(table.loc["Location-based CO2 (tCO2e)", "a"]) > 0
    html_out = tmp_path / "compare.html"
    assert run("compare", str(tmp_path / "a"), str(tmp_path / "b"), "--format", "html", "--out", str(html_out)).returncode == 0
    assert '<table id="compare">' in html_out.read_text()
    js = strict(run("compare", str(tmp_path / "a"), "--json").stdout)
    assert js[0]["figure"] == "scenario"
    missing = run("report", "--from", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and missing.stderr.startswith("error: ") and "no saved solution" in missing.stderr


def test_evaluate_reads_model_sites_from_stdin(tmp_path):
    table = REPO / "data" / "regions" / "sites.csv"
    res = subprocess.run(SITING + ["evaluate", "--sites", "-", "--gpu-hours", "1e6", "--gpu", "H100",
                                   "--out", str(tmp_path / "ev"), "--json"],
                         input=table.read_text(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    payload = strict(res.stdout)
    ranks = [s["rank"] for s in payload["sites"]]
    assert ranks == list(range(1, len(ranks) + 1)) and len(ranks) == len(pd_read(table))
    strict((tmp_path / "ev" / "summary.json").read_text())


def pd_read(path):
    import pandas as pd

    return pd.read_csv(path)


@pytest.mark.shared
def test_sites_enrich_stdin_to_stdout(tmp_path, mirror):
    res = subprocess.run(SITING + ["sites", "enrich", "-", "--out", "-", "--mirror", str(mirror),
                                   "--cache", str(tmp_path / "cache")],
                         input="site_id,lat,lon\nqc,46.8,-71.2\nrvk,64.13,-21.9\n",
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    import io

    import pandas as pd

    e = pd.read_csv(io.StringIO(res.stdout)).set_index("site_id")
    assert list(e.index) == ["qc", "rvk"] and list(e["country_iso3"]) == ["CAN", "ISL"]


@pytest.mark.shared
def test_readme_planner_example_runs_verbatim(tmp_path, mirror, session_cache):
    readme = (REPO / "README.md").read_text()
    block = readme.split("<!-- planner-example")[1].split("```bash\n", 1)[1].split("\n```", 1)[0]
    (tmp_path / "scenarios").symlink_to(REPO / "scenarios")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "SITING_MIRROR": str(mirror), "SITING_CACHE_DIR": str(session_cache)}
    res = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-2000:]
    for run_dir in ("mine", "one"):
        assert (tmp_path / "out" / run_dir / "report.html").is_file()
    assert (tmp_path / "out" / "shortlist" / "evaluation.html").is_file()
    assert "| figure | mine | one |" in res.stdout
    ranked = pd_read(tmp_path / "out" / "mine" / "ranked.csv")
    assert 1 <= len(ranked) <= 2 and set(ranked["site_id"]) <= {"quebec", "reykjavik", "lulea", "oslo", "dublin", "the-dalles"}
    # the rebuilt report (--baseline DEU) replaced the first one's baseline
    assert "DEU grid average" in (tmp_path / "out" / "mine" / "report.md").read_text()


def test_optimize_reads_workloads_from_stdin(tmp_path):
    wl = (REPO / "scenarios" / "llama31_workloads.csv").read_text()
    res = subprocess.run(SITING + ["optimize", "--workloads", "-", "--out", str(tmp_path / "o"), "--json"],
                         input=wl, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    payload = strict(res.stdout)
    assert payload["summary"]["n_workloads"] == len(pd_read(REPO / "scenarios" / "llama31_workloads.csv"))
    both = subprocess.run(SITING + ["optimize", "--workloads", "-", "--sites", "-"], input=wl,
                          capture_output=True, text=True, timeout=120)
    assert both.returncode == 2 and "only one of --sites and --workloads" in both.stderr


@pytest.mark.shared
def test_report_scenario_whose_sites_are_only_coordinates(tmp_path, mirror, session_cache):
    (tmp_path / "places.csv").write_text("site_id,lat,lon\nquebec,46.81,-71.21\noslo,59.91,10.75\n")
    (tmp_path / "w.csv").write_text("workload_id,gpu_hours,splittable,gpu\nrun,1000000,false,H100\n")
    (tmp_path / "s.yaml").write_text("name: places\nsites: places.csv\nworkloads: w.csv\n")
    res = run("report", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"), "--json",
              env={"SITING_MIRROR": str(mirror), "SITING_CACHE_DIR": str(session_cache)})
    assert res.returncode == 0, res.stderr
    payload = strict(res.stdout)
    assert payload["totals"]["sites_open"] == 1
    ranked = pd_read(tmp_path / "out" / "ranked.csv")
    assert list(ranked["site_id"]) in (["quebec"], ["oslo"])
    assert set(pd_read(tmp_path / "out" / "sites.csv")["country_iso3"]) == {"CAN", "NOR"}
