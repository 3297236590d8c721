"""Command-line interface (a thin layer over the Python API).

User mistakes print one line ``error: ...`` on stderr and exit 2; an infeasible model exits 3.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from siting.errors import SitingError

app = typer.Typer(help="Decide where to train AI models so they emit the least CO2.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
data_app = typer.Typer(help="Public datasets: fetch, list, build the embedded default.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")
sites_app = typer.Typer(help="Candidate sites: generate near renewable clusters, enrich a list.",
                        no_args_is_help=True)
app.add_typer(sites_app, name="sites")

Mirror = Annotated[str | None, typer.Option(help="read datasets from this local mirror folder")]
Cache = Annotated[str | None, typer.Option(help="cache folder (default: $SITING_CACHE_DIR)")]

out = Console(width=None if sys.stdout.isatty() else 120)


def print_table(rows: list[dict], title: str | None = None, formats: dict | None = None) -> None:
    """Print rows (dicts with the same keys) as a rich table."""
    formats = formats or {}
    table = Table(title=title)
    if not rows:
        out.print(f"{title or ''}: (none)")
        return
    for key in rows[0]:
        table.add_column(key, justify="right" if isinstance(rows[0][key], int | float) else "left")
    for row in rows:
        table.add_row(*[formats.get(k, "{}").format(v) if v is not None else "" for k, v in
                        row.items()])
    out.print(table)


@app.command()
def footprint(
    gpu_hours: Annotated[float, typer.Option(help="GPU-hours of the run")],
    gpu: Annotated[str | None, typer.Option(help="GPU name or alias (H100, A100-80GB, ...)")] = None,
    gpu_power_w: Annotated[float | None, typer.Option(help="GPU power in W instead of --gpu")] = None,
    pue: Annotated[float | None, typer.Option(help="power usage effectiveness")] = None,
    overhead_share: Annotated[float | None, typer.Option(help="non-GPU IT power / GPU power")] = None,
    ci_g_per_kwh: Annotated[float | None, typer.Option(help="grid intensity, gCO2e/kWh")] = None,
    region: Annotated[list[str] | None, typer.Option(help="ISO3 country (repeatable)")] = None,
    year: Annotated[int | None, typer.Option(help="intensity year (default: latest)")] = None,
    covered_share: Annotated[float, typer.Option(help="share of energy covered by PPAs")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Energy and emissions of a training run, location- and market-based."""
    from siting.accounting import footprint as compute

    common = dict(gpu=gpu, gpu_power_w=gpu_power_w, pue=pue, overhead_share=overhead_share,
                  covered_share=covered_share)
    if region:
        results = [compute(gpu_hours, region=r, year=year, **common) for r in region]
    else:
        results = [compute(gpu_hours, ci_g_per_kwh=ci_g_per_kwh, **common)]
    if as_json:
        payload = [r.to_dict() for r in results]
        print(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2))
        return
    first = results[0]
    out.print(f"{first.gpu_hours:,.0f} GPU-hours on {first.gpu or 'a GPU'} at "
              f"{first.gpu_power_w:,.0f} W, PUE {first.pue:.2f}, overhead {first.overhead_share:.0%}")
    rows = [{"region": r.region or "-", "year": r.year, "ci_g_per_kwh": r.ci_g_per_kwh,
             "energy_mwh": r.energy_mwh, "emissions_t": r.emissions_t,
             "market_emissions_t": r.market_emissions_t}
            for r in sorted(results, key=lambda r: r.emissions_t)]
    print_table(rows, "Training-run footprint (location-based; market-based with PPAs)",
                {"ci_g_per_kwh": "{:,.1f}", "energy_mwh": "{:,.0f}", "emissions_t": "{:,.0f}",
                 "market_emissions_t": "{:,.0f}"})


@app.command()
def gpus() -> None:
    """List the GPU catalogue (Epoch AI ML hardware) and its aliases."""
    from siting.catalog import gpu_table

    print_table(gpu_table().to_dict("records"), "GPU catalogue", {"gpu_power_w": "{:,.0f}"})


@data_app.command("list")
def data_list(cache: Cache = None) -> None:
    """Datasets with licence, cache state, size and date."""
    from siting.data.download import cache_dir, cache_status

    out.print(f"cache: {cache_dir(cache)}")
    print_table(cache_status(cache), "Datasets", {"size_bytes": "{:,}"})


@data_app.command("fetch")
def data_fetch(
    names: Annotated[list[str] | None, typer.Argument(help="datasets (default: all)")] = None,
    mirror: Mirror = None,
    cache: Cache = None,
    force: Annotated[bool, typer.Option(help="fetch again even if cached")] = False,
) -> None:
    """Fetch datasets into the cache (from the canonical URLs, or --mirror DIR)."""
    from siting.data.download import fetch

    paths = fetch(names, mirror=mirror, cache=cache, force=force)
    out.print(f"{len(paths)} files in cache")


@data_app.command("build-regions")
def data_build_regions(
    mirror: Mirror = None,
    cache: Cache = None,
    out_dir: Annotated[str, typer.Option("--out", help="output folder")] = "data/regions",
) -> None:
    """Rebuild the embedded default (data/regions/) and the GPU table from the datasets."""
    from pathlib import Path

    from siting.data.build import build_all

    for path in build_all(mirror=mirror, cache=cache, out=Path(out_dir)):
        out.print(f"wrote {path}")


@data_app.command("plants")
def data_plants(
    report: Annotated[str, typer.Option("--report", help="CSV of removed/flagged plants")],
    mirror: Mirror = None,
    cache: Cache = None,
) -> None:
    """Clean the plant records (pumped storage, duplicates, misplaced, offshore wind) and write
    the report: one row per plant and reason."""
    from pathlib import Path

    from siting.data.plants import load_clean_plants, removal_counts
    from siting.io import write_table

    clean, table = load_clean_plants(mirror=mirror, cache=cache)
    write_table(Path(report), table, float_format="%.8g")
    print_table(removal_counts(table).to_dict("records"), f"Plants removed or flagged "
                f"({len(clean):,} kept)", {"capacity_mw": "{:,.0f}"})
    out.print(f"wrote {report}")


@data_app.command("build-profiles")
def data_build_profiles(
    mirror: Mirror = None,
    cache: Cache = None,
    year: Annotated[int | None, typer.Option(help="EIA-930 data year (default: profile_eia_year)")] = None,
) -> None:
    """Build the run-time supply-profile sources (EIA-930, Dispa-SET, PLEXOS hydro) into the cache."""
    from siting.assumptions import default_assumptions
    from siting.data.profile_sources import build_runtime_profiles

    for path in build_runtime_profiles(mirror=mirror, cache=cache, year=year,
                                       assumptions=default_assumptions()):
        out.print(f"wrote {path}")


def _fuels(value: str) -> list[str]:
    from siting.assumptions import FUELS

    fuels = [f.strip().lower() for f in value.split(",") if f.strip()]
    unknown = [f for f in fuels if f not in FUELS]
    if unknown or not fuels:
        raise SitingError(f"--fuels: unknown fuel(s) {unknown}; choose from {', '.join(FUELS)}")
    return fuels


@sites_app.command("generate")
def sites_generate(
    out_path: Annotated[str, typer.Option("--out", help="output .geojson, .gpkg or .csv")],
    fuels: Annotated[str | None, typer.Option(
        help="comma-separated fuels (default: the site_cluster_fuel_* flags of the assumptions)")] = None,
    n_sites: Annotated[int | None, typer.Option(
        help="number of sites (default: regions_n_clusters of the assumptions)", min=1)] = None,
    radius_km: Annotated[float | None, typer.Option(help="cluster radius, km")] = None,
    max_per_country: Annotated[int | None, typer.Option(help="cap per country")] = None,
    year: Annotated[int | None, typer.Option(help="grid-intensity year")] = None,
    mirror: Mirror = None,
    cache: Cache = None,
) -> None:
    """Generate candidate sites at renewable clusters (GPPD), enriched, ranked by energy."""
    from siting.assumptions import RENEWABLE_FUELS, default_assumptions
    from siting.data import loaders, sites
    from siting.data.plants import load_clean_plants
    from siting.intensity import yearly_table

    a = default_assumptions()
    chosen = (_fuels(fuels) if fuels is not None
              else [f for f in RENEWABLE_FUELS if a[f"site_cluster_fuel_{f}"]])
    n_sites = int(a["regions_n_clusters"]) if n_sites is None else n_sites
    kw = {"mirror": mirror, "cache": cache}
    plants, _ = load_clean_plants(**kw)
    boundaries = loaders.load_boundaries(**kw)
    gen = sites.generate_sites(plants, boundaries=boundaries, fuels=chosen, radius_km=radius_km,
                               n_sites=n_sites, max_per_country=max_per_country)
    enriched = sites.enrich(gen, plants=plants, boundaries=boundaries,
                            intensity=yearly_table(), year=year, radius_km=radius_km)
    sites.write_sites(enriched, out_path)
    out.print(f"wrote {len(enriched)} sites to {out_path}")


@sites_app.command("enrich")
def sites_enrich(
    path: Annotated[str, typer.Argument(help="sites CSV (site_id, lat, lon) or GeoJSON/GPKG")],
    out_path: Annotated[str, typer.Option("--out", help="output .geojson, .gpkg or .csv")],
    year: Annotated[int | None, typer.Option(help="grid-intensity year")] = None,
    radius_km: Annotated[float | None, typer.Option(help="renewables radius, km")] = None,
    mirror: Mirror = None,
    cache: Cache = None,
) -> None:
    """Add country, grid intensity, renewables nearby by fuel and model defaults to a site list."""
    from siting.data import loaders, sites
    from siting.data.plants import load_clean_plants
    from siting.intensity import yearly_table

    user = sites.read_sites(path)
    kw = {"mirror": mirror, "cache": cache}
    enriched = sites.enrich(user, plants=load_clean_plants(**kw)[0],
                            boundaries=loaders.load_boundaries(**kw), intensity=yearly_table(),
                            year=year, radius_km=radius_km)
    sites.write_sites(enriched, out_path)
    out.print(f"wrote {len(enriched)} enriched sites to {out_path}")


@app.command()
def optimize(
    scenario: Annotated[str | None, typer.Argument(help="scenario YAML")] = None,
    out_dir: Annotated[str | None, typer.Option("--out", help="output folder (default out/<name>)")] = None,
    sites: Annotated[str | None, typer.Option(help="sites CSV (instead of a scenario)")] = None,
    workloads: Annotated[str | None, typer.Option(help="workloads CSV (instead of a scenario)")] = None,
    sites_monthly: Annotated[str | None, typer.Option(help="monthly site CSV: monthly periods")] = None,
    max_sites: Annotated[int | None, typer.Option(help="at most this many open sites", min=1)] = None,
    solver: Annotated[str | None, typer.Option(help="highs or cbc")] = None,
    time_limit_s: Annotated[float | None, typer.Option(help="solver time limit, s")] = None,
    rel_gap: Annotated[float | None, typer.Option(help="relative MIP gap")] = None,
    formulation: Annotated[str, typer.Option(help="compact or plain")] = "compact",
) -> None:
    """Place workloads on sites with the least CO2; writes assignments.csv, sites.csv, summary.json."""
    from pathlib import Path

    from siting.model import ModelOptions, Scenario, load_scenario
    from siting.model import optimize as run_optimize

    if formulation not in ("compact", "plain"):
        raise SitingError(f"--formulation must be compact or plain, got {formulation!r}")
    if scenario is not None:
        if sites or workloads:
            raise SitingError("give a scenario file or --sites/--workloads, not both")
        sc = load_scenario(scenario)
    else:
        if not workloads:
            raise SitingError("give a scenario file, or --workloads (and optionally --sites)")
        sc = Scenario(name=Path(workloads).stem.replace(" ", "_") or "scenario",
                      sites=sites or "default", workloads=str(Path(workloads).resolve()),
                      sites_monthly=str(Path(sites_monthly).resolve()) if sites_monthly else None,
                      periods="monthly" if sites_monthly else "annual", max_sites=max_sites,
                      base_dir=Path.cwd())
    updates = {k: v for k, v in (("name", solver), ("time_limit_s", time_limit_s),
                                 ("rel_gap", rel_gap)) if v is not None}
    if updates:
        from siting.model.scenario import SolverOptions

        try:
            sc.solver = SolverOptions(**{**sc.solver.model_dump(), **updates})
        except Exception as exc:
            raise SitingError(f"solver options: {str(exc).splitlines()[-1].strip()}") from None
    if max_sites is not None:
        sc.max_sites = max_sites
    solution = run_optimize(sc, options=ModelOptions(formulation=formulation))
    target = Path(out_dir or Path("out") / sc.name)
    solution.write(target)
    s = solution.summary
    out.print(f"{s['status']}: {s['emissions_t']:,.1f} tCO2e for {s['energy_mwh']:,.0f} MWh "
              f"(bound {s['bound_t'] if s['bound_t'] is None else format(s['bound_t'], ',.1f')}, "
              f"gap {s['gap'] if s['gap'] is None else format(s['gap'], '.2e')}); "
              f"build {s['build_s']:.3f} s, solve {s['solve_s']:.3f} s, "
              f"{s['n_variables']:,} variables, {s['n_constraints']:,} constraints")
    opened = solution.sites[solution.sites["open"]]
    cols = ["site_id", "name", "energy_mwh", "renewable_share", "emissions_t", "gpu_utilisation"]
    print_table(opened[cols].to_dict("records"), "Open sites",
                {"energy_mwh": "{:,.0f}", "renewable_share": "{:.0%}", "emissions_t": "{:,.1f}",
                 "gpu_utilisation": "{:.0%}"})
    out.print(f"wrote {target}/assignments.csv, sites.csv, site_periods.csv, summary.json")


@app.command()
def report(
    scenario: Annotated[str, typer.Argument(help="scenario YAML")],
    out_dir: Annotated[str | None, typer.Option("--out", help="output folder (default out/<name>)")] = None,
    baseline: Annotated[str | None, typer.Option(help="baseline country (ISO3; default USA)")] = None,
    baseline_year: Annotated[int | None, typer.Option(help="baseline intensity year")] = None,
    baseline_site: Annotated[str | None, typer.Option(help="baseline site id instead")] = None,
) -> None:
    """Optimise a scenario and write its report: CSV, Markdown, GeoJSON, summary.json, HTML."""
    from pathlib import Path

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from siting.model import load_scenario
    from siting.model import optimize as run_optimize
    from siting.report import build_report, write_report
    from siting.report.analysis import BASELINE_COUNTRY_ISO3

    baseline = baseline or BASELINE_COUNTRY_ISO3
    sc = load_scenario(scenario)
    target = Path(out_dir or Path("out") / sc.name)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=out, transient=True) as progress:
        task = progress.add_task(f"optimising {sc.name}", total=None)
        solution = run_optimize(sc)
        progress.update(task, description="marginal values and baselines")
        rep = build_report(solution, baseline=baseline, baseline_year=baseline_year,
                           site=baseline_site)
        progress.update(task, description=f"writing {target}")
        write_report(rep, solution, target)
    t = rep.totals
    out.print(f"{solution.summary['status']}: {t['emissions_t']:,.1f} tCO2e, {t['energy_mwh']:,.0f} MWh, "
              f"{t['renewable_share']:.0%} renewable, {t['sites_open']} site(s) open")
    for b in rep.baselines.itertuples():
        out.print(f"  vs {b.baseline}: {b.emissions_t:,.0f} t -> {b.optimised_t:,.0f} t "
                  f"(saves {b.saved_t:,.0f} t, {b.saved_share:.0%})")
    out.print(f"report: {target / 'report.html'} (also report.md, ranked.csv, sites.geojson)")


@app.command()
def evaluate(
    sites: Annotated[str, typer.Option(help="candidate sites: CSV (site_id, lat, lon, ...) or GeoJSON")],
    workloads: Annotated[str | None, typer.Option(help="workloads CSV")] = None,
    gpu_hours: Annotated[float | None, typer.Option(help="one workload: GPU-hours")] = None,
    gpu: Annotated[str | None, typer.Option(help="one workload: GPU name")] = None,
    gpu_power_w: Annotated[float | None, typer.Option(help="one workload: GPU power, W")] = None,
    out_dir: Annotated[str | None, typer.Option("--out", help="output folder")] = None,
    horizon_hours: Annotated[float | None, typer.Option(help="horizon, h (default 8760)")] = None,
    year: Annotated[int | None, typer.Option(help="grid-intensity year (when enriching)")] = None,
    baseline: Annotated[str | None, typer.Option(help="baseline country (ISO3; default USA)")] = None,
    mirror: Mirror = None,
    cache: Cache = None,
) -> None:
    """Score a list of candidate sites for a workload, without optimising, and rank them."""
    from pathlib import Path

    import pandas as pd

    from siting.model.scenario import (
        SITES_REQUIRED,
        read_workloads_table,
        sites_from_frame,
        workloads_from_frame,
    )
    from siting.report.analysis import BASELINE_COUNTRY_ISO3
    from siting.report.evaluate import evaluate_sites, write_evaluation

    baseline = baseline or BASELINE_COUNTRY_ISO3

    if workloads:
        wl = read_workloads_table(Path(workloads))
    elif gpu_hours is not None and (gpu or gpu_power_w):
        row = {"workload_id": "workload", "gpu_hours": gpu_hours, "splittable": False}
        row.update({"gpu": gpu} if gpu else {"gpu_power_kw": gpu_power_w / 1000.0})
        wl = workloads_from_frame(pd.DataFrame([row]), "--gpu-hours/--gpu")
    else:
        raise SitingError("give --workloads W.csv, or --gpu-hours with --gpu or --gpu-power-w")
    src = Path(sites)
    raw = pd.read_csv(src) if src.suffix.lower() == ".csv" and src.is_file() else None
    if raw is not None and all(c in raw.columns for c in SITES_REQUIRED):
        table = sites_from_frame(raw, src)
    else:
        from siting.data import loaders
        from siting.data import sites as site_data
        from siting.intensity import yearly_table

        kw = {"mirror": mirror, "cache": cache}
        with out.status("enriching sites from the datasets"):
            from siting.data.plants import load_clean_plants

            enriched = site_data.enrich(site_data.read_sites(src), plants=load_clean_plants(**kw)[0],
                                        boundaries=loaders.load_boundaries(**kw),
                                        intensity=yearly_table(), year=year)
        table = sites_from_frame(pd.DataFrame(enriched.drop(columns="geometry")), src)
    ev = evaluate_sites(table, wl, horizon_hours=horizon_hours, baseline=baseline, year=year,
                        mirror=mirror, cache=cache)
    target = Path(out_dir or Path("out") / f"evaluate_{src.stem}")
    write_evaluation(ev, target, f"siting evaluation: {src.name}")
    cols = ["rank", "site_id", "country_iso3", "emissions_t", "effective_ci_g_per_kwh",
            "renewable_share", "fits"]
    print_table(ev[cols].head(15).to_dict("records"), f"Candidate sites ({len(ev)}), best first",
                {"emissions_t": "{:,.1f}", "effective_ci_g_per_kwh": "{:,.1f}",
                 "renewable_share": "{:.0%}"})
    out.print(f"wrote {target}/evaluation.csv, evaluation.md, evaluation.geojson, evaluation.html")


@app.command()
def schema(out_path: Annotated[str | None, typer.Option("--out", help="write to a file")] = None) -> None:
    """Print (or write) the JSON Schema of scenario files."""
    from siting.model.scenario import scenario_json_schema

    text = json.dumps(scenario_json_schema(), indent=2, sort_keys=True) + "\n"
    if out_path:
        from pathlib import Path

        from siting.io import write_text

        write_text(Path(out_path), text)
    else:
        print(text, end="")


study_app = typer.Typer(help="Studies: analyse a sweep's results.", no_args_is_help=True)
app.add_typer(study_app, name="study")


@app.command()
def sweep(
    study: Annotated[str, typer.Argument(help="study YAML (base scenario, grid, draws, variants)")],
    out_dir: Annotated[str | None, typer.Option("--out", help="output folder (default out/<study>)")] = None,
    scheduler: Annotated[str, typer.Option(help="local (LocalCluster), serial, or tcp://host:port")
                         ] = "local",
    workers: Annotated[int | None, typer.Option(help="LocalCluster processes (default: cores)",
                                                min=1)] = None,
) -> None:
    """Run every member of a study not already done in --out; resumable, failures recorded."""
    from pathlib import Path

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from siting.studies.spec import load_study
    from siting.studies.sweep import run_study

    st = load_study(study)
    target = Path(out_dir or Path("out") / st.name)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=out, transient=False) as progress:
        task = progress.add_task(f"{st.name} ({scheduler})", total=None)

        def step(done: int, total: int, row: dict | None) -> None:
            last = "starting" if row is None else f"last {row['status']}"
            progress.update(task, completed=done, total=total, description=f"{st.name} ({scheduler}): {last}")

        result = run_study(st, target, scheduler=scheduler, workers=workers, progress=step)
    out.print(f"{result.n_members} members: {result.executed} run now, {result.skipped} already done, "
              f"{result.failed} failed{f', {result.dropped} stale rows dropped' if result.dropped else ''}"
              f" ({result.wall_s:.1f} s); wrote {result.runs_path}")


@study_app.command("report")
def study_report_cmd(
    out_dir: Annotated[str, typer.Argument(help="study folder written by `siting sweep`")],
) -> None:
    """Rank stability, tornado, distributions and Pareto fronts: study_report.html and CSVs."""
    from siting.studies.analysis import study_report

    r = study_report(out_dir)
    s = r.summary
    out.print(f"{s['study']}: {s['successful']} successful of {s['runs']} runs "
              f"({s['members']} members); robust sites: {', '.join(s['robust_sites']) or 'none'}")
    print_table(r.stability.head(10)[["site_id", "name", "runs_open", "share_open"]].to_dict("records"),
                "Most often chosen sites", {"share_open": "{:.0%}"})
    out.print(f"report: {out_dir}/study_report.html (also rank_stability.csv, tornado.csv, "
              "variants.csv, distributions.csv, pareto.csv)")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning user errors into one line and an exit code."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="siting", standalone_mode=False)
    except SitingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except typer.TyperException as exc:
        print(f"error: {exc.format_message()}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        return 1
    except OSError as exc:  # unwritable output folder, full disk, ...: one line, no traceback
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
