"""Command-line interface (a thin layer over the Python API).

User mistakes print one line ``error: ...`` on stderr and exit 2; an infeasible model exits 3.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from siting.errors import Interrupted, SitingError

app = typer.Typer(help="Decide where to train AI models so they emit the least CO2.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=True)
data_app = typer.Typer(help="Public datasets: fetch, list, build the embedded default.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")
sites_app = typer.Typer(help="Candidate sites: generate near renewable clusters, enrich a list.",
                        no_args_is_help=True)
app.add_typer(sites_app, name="sites")

Mirror = Annotated[str | None, typer.Option(help="read datasets from this local mirror folder")]
Cache = Annotated[str | None, typer.Option(help="cache folder (default: $SITING_CACHE_DIR)")]

# on a terminal rich fits its width; piped, lines are never hard-wrapped
out = Console(width=None if sys.stdout.isatty() else 100_000, soft_wrap=not sys.stdout.isatty())
AsJson = Annotated[bool, typer.Option("--json", help="print the results as JSON (strict: NaN -> null)")]


def print_json(obj) -> None:
    """Strict JSON on stdout (NaN and Infinity as null)."""
    from siting.io import dumps_json

    print(dumps_json(obj, indent=2))


def _version(value: bool) -> None:
    if value:
        from siting import __version__

        print(f"siting {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="print the version and exit")] = False) -> None:
    """Decide where to train AI models so they emit the least CO2."""


def _records(df) -> list[dict]:
    import pandas as pd

    return pd.DataFrame(df).drop(columns="geometry", errors="ignore").to_dict("records")


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
        print_json(payload[0] if len(payload) == 1 else payload)
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
def gpus(as_json: AsJson = False) -> None:
    """List the GPU catalogue (Epoch AI ML hardware) and its aliases."""
    from siting.catalog import gpu_table

    if as_json:
        print_json(_records(gpu_table()))
        return
    print_table(gpu_table().to_dict("records"), "GPU catalogue", {"gpu_power_w": "{:,.0f}"})


@data_app.command("list")
def data_list(cache: Cache = None, as_json: AsJson = False) -> None:
    """Datasets with licence, cache state, size and date."""
    from siting.data.download import cache_dir, cache_status

    if as_json:
        print_json({"cache": str(cache_dir(cache)), "datasets": cache_status(cache)})
        return
    out.print(f"cache: {cache_dir(cache)}")
    print_table(cache_status(cache), "Datasets", {"size_bytes": "{:,}"})


@data_app.command("fetch")
def data_fetch(
    names: Annotated[list[str] | None, typer.Argument(help="datasets (default: all)")] = None,
    mirror: Mirror = None,
    cache: Cache = None,
    force: Annotated[bool, typer.Option(help="fetch again even if cached")] = False,
    as_json: AsJson = False,
) -> None:
    """Fetch datasets into the cache (from the canonical URLs, or --mirror DIR)."""
    from siting.data.download import fetch

    paths = fetch(names, mirror=mirror, cache=cache, force=force)
    if as_json:
        print_json([str(p) for p in paths])
        return
    out.print(f"{len(paths)} files in cache")


@data_app.command("build-regions")
def data_build_regions(
    mirror: Mirror = None,
    cache: Cache = None,
    out_dir: Annotated[str, typer.Option("--out", help="output folder")] = "data/regions",
    as_json: AsJson = False,
) -> None:
    """Rebuild the embedded default (data/regions/) and the GPU table from the datasets."""
    from pathlib import Path

    from siting.data.build import build_all
    from siting.outdir import output_folder


    # all files or none; the old folder stays until done (no marker file: data/regions is in git)
    with output_folder(out_dir, marker=False) as tmp:
        written = build_all(mirror=mirror, cache=cache, out=tmp)
    written = [Path(out_dir) / p.name if p.parent == tmp else p for p in written]
    if as_json:
        print_json([str(p) for p in written])
        return
    for path in written:
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


def _write_sites_out(gdf, out_path: str, what: str) -> None:
    """Write sites to ``out_path`` by suffix, or as CSV on stdout for ``-``."""
    if out_path == "-":
        import pandas as pd

        pd.DataFrame(gdf).drop(columns="geometry", errors="ignore").to_csv(
            sys.stdout, index=False, lineterminator="\n")
        return
    from siting.data import sites

    sites.write_sites(gdf, out_path)
    out.print(f"wrote {what} to {out_path}")


@sites_app.command("generate")
def sites_generate(
    out_path: Annotated[str, typer.Option("--out", help="output .geojson, .gpkg or .csv; - = CSV on stdout")],
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
    _write_sites_out(enriched, out_path, f"{len(enriched)} sites")


@sites_app.command("enrich")
def sites_enrich(
    path: Annotated[str, typer.Argument(
        help="sites CSV (site_id, lat, lon) or GeoJSON/GPKG; - = CSV on stdin")],
    out_path: Annotated[str, typer.Option("--out", help="output .geojson, .gpkg or .csv; - = CSV on stdout")],
    year: Annotated[int | None, typer.Option(help="grid-intensity year")] = None,
    radius_km: Annotated[float | None, typer.Option(help="renewables radius, km")] = None,
    mirror: Mirror = None,
    cache: Cache = None,
) -> None:
    """Add country, grid intensity, renewables nearby by fuel and model defaults to a site list."""
    from siting.api import enrich
    from siting.data import sites
    from siting.outdir import check_not_input

    if out_path != "-" and path != "-":
        check_not_input(out_path, [path])  # one file, written atomically by write_sites
    user = sites.read_sites(_stdin_to_file(path))
    enriched = enrich(user, year=year, radius_km=radius_km, mirror=mirror, cache=cache)
    _write_sites_out(enriched, out_path, f"{len(enriched)} enriched sites")


def _stdin_to_file(path: str, suffix: str = ".csv") -> str:
    """``-`` means a table on stdin: copy it to a temporary file and return its path."""
    if path != "-":
        return path
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="siting-stdin-"))
    dest = folder / f"stdin{suffix}"
    dest.write_text(sys.stdin.read(), encoding="utf-8")
    return str(dest)


def _model_sites(path: str, *, mirror: str | None, cache: str | None, year: int | None):
    """A validated model sites table from ``path``: used as it is when it has every model
    column, else read as a ``site_id,lat,lon`` list and enriched from the datasets first."""
    from pathlib import Path

    import pandas as pd

    from siting.model.scenario import SITES_REQUIRED, read_sites_table, sites_from_frame

    src = Path(_stdin_to_file(path))
    if src.suffix.lower() == ".csv" and src.is_file():
        from siting.data.validate import read_csv

        if all(c in read_csv(src, "sites").columns for c in SITES_REQUIRED):
            return read_sites_table(src), src
    from siting.api import enrich
    from siting.data import sites as site_data

    with out.status("enriching sites from the datasets"):
        enriched = enrich(site_data.read_sites(src), year=year, mirror=mirror, cache=cache)
    return sites_from_frame(pd.DataFrame(enriched.drop(columns="geometry")), src), src


class _HourlyRun:
    """A scenario with hourly periods and, when the user's sites needed enriching, its table."""

    def __init__(self, scenario, sites):
        self.scenario, self.sites = scenario, sites


def _solve(problem, solver, options=None):
    from siting.model import optimize as run_optimize

    if isinstance(problem, _HourlyRun):
        from siting.model.hourly.optimize import optimize_scenario

        return optimize_scenario(problem.scenario, solver, sites=problem.sites)
    return run_optimize(problem, solver=solver, options=options)


def _problem_from_options(scenario, sites, workloads, sites_monthly, max_sites, *, mirror, cache,
                          year):
    """(Problem, Scenario) from a scenario YAML or --sites/--workloads; a sites CSV with only
    ``site_id,lat,lon`` (in the YAML or on the command line) is enriched first."""
    from pathlib import Path

    from siting.model import Scenario, load_scenario
    from siting.model.scenario import load_problem, problem_from_sites

    if sites == "-" and workloads == "-":
        raise SitingError("only one of --sites and --workloads can be read from stdin (-)")
    if workloads == "-":
        workloads = _stdin_to_file(workloads)
    if scenario is not None:
        if sites or workloads:
            raise SitingError("give a scenario file or --sites/--workloads, not both")
        sc = load_scenario(scenario)
        if max_sites is not None:
            sc.max_sites = max_sites
        if sc.periods == "hourly":  # the hourly model reads (and enriches) its own tables
            return _HourlyRun(sc, None if sc.sites == "default" else _model_sites(
                str(sc.path(sc.sites)), mirror=mirror, cache=cache, year=year)[0]), sc
        if sc.sites == "default":
            return load_problem(sc), sc
        sites_path = str(sc.path(sc.sites))
    else:
        if not workloads:
            raise SitingError("give a scenario file, or --workloads (and optionally --sites)")
        sc = Scenario(name=_safe_name(Path(workloads).stem),
                      sites="default", workloads=str(Path(workloads).resolve()),
                      sites_monthly=str(Path(sites_monthly).resolve()) if sites_monthly else None,
                      periods="monthly" if sites_monthly else "annual", max_sites=max_sites,
                      base_dir=Path.cwd())
        if not sites:
            return load_problem(sc), sc
        sites_path = sites
    table, _ = _model_sites(sites_path, mirror=mirror, cache=cache, year=year)
    return problem_from_sites(sc, table), sc


def _apply_solver(sc, solver, time_limit_s, rel_gap):
    updates = {k: v for k, v in (("name", solver), ("time_limit_s", time_limit_s),
                                 ("rel_gap", rel_gap)) if v is not None}
    if updates:
        from pydantic import ValidationError

        from siting.data.validate import pydantic_message
        from siting.model.scenario import SolverOptions

        try:
            sc.solver = SolverOptions(**{**sc.solver.model_dump(), **updates})
        except ValidationError as exc:
            raise pydantic_message(exc, "solver options", "--") from None


Year = Annotated[int | None, typer.Option(help="grid-intensity year (when enriching sites)")]
WorkloadsOpt = Annotated[str | None, typer.Option(help="workloads CSV (instead of a scenario); - = stdin")]
SitesOpt = Annotated[str | None, typer.Option(
    help="sites CSV instead of a scenario: model columns, or only site_id,lat,lon (enriched); - = stdin")]


@app.command()
def optimize(
    scenario: Annotated[str | None, typer.Argument(help="scenario YAML")] = None,
    out_dir: Annotated[str | None, typer.Option("--out", help="output folder (default out/<name>)")] = None,
    sites: SitesOpt = None,
    workloads: WorkloadsOpt = None,
    sites_monthly: Annotated[str | None, typer.Option(help="monthly site CSV: monthly periods")] = None,
    max_sites: Annotated[int | None, typer.Option(help="at most this many open sites", min=1)] = None,
    solver: Annotated[str | None, typer.Option(help="highs or cbc")] = None,
    time_limit_s: Annotated[float | None, typer.Option(help="solver time limit, s")] = None,
    rel_gap: Annotated[float | None, typer.Option(help="relative MIP gap")] = None,
    formulation: Annotated[str, typer.Option(help="compact or plain")] = "compact",
    year: Year = None,
    mirror: Mirror = None,
    cache: Cache = None,
    as_json: AsJson = False,
    keep_incumbent: Annotated[bool, typer.Option(
        help="on Ctrl-C during the solve, write the best plan found so far (status interrupted)")
    ] = False,
) -> None:
    """Place workloads on sites with the least CO2; writes assignments.csv, sites.csv, summary.json
    and the solution (solution/) that `siting report --from` turns into a report."""
    from pathlib import Path

    from siting.errors import Interrupted
    from siting.model import ModelOptions
    from siting.outdir import output_folder
    from siting.report.analysis import ensure_report_tables
    from siting.report.store import save_solution

    if formulation not in ("compact", "plain"):
        raise SitingError(f"--formulation must be compact or plain, got {formulation!r}")
    problem, sc = _problem_from_options(scenario, sites, workloads, sites_monthly, max_sites,
                                        mirror=mirror, cache=cache, year=year)
    _apply_solver(sc, solver, time_limit_s, rel_gap)
    target = Path(out_dir or Path("out") / sc.name)
    interrupted = None
    # the folder is locked for the whole run; the old output stays until the new one is whole
    with output_folder(target, inputs=_scenario_inputs(sc, scenario)) as tmp:
        try:
            solution = _solve(problem, sc.solver, ModelOptions(formulation=formulation))
        except Interrupted as exc:
            if not (keep_incumbent and exc.incumbent is not None and exc.model is not None):
                if keep_incumbent:
                    exc.args = (f"{exc} (no feasible plan found yet: nothing written)",)
                raise
            from siting.model.solution import build_solution

            build_solution(exc.model, exc.incumbent, 0.0).write(tmp)
            exc.args = (f"{exc} (kept the best plan found so far: {target}, status interrupted)",)
            interrupted = exc
        else:
            solution.write(tmp)
            ensure_report_tables(solution)
            save_solution(solution, tmp)
    if interrupted is not None:
        raise interrupted
    s = solution.summary
    opened = solution.sites[solution.sites["open"]]
    cols = ["site_id", "name", "energy_mwh", "renewable_share", "emissions_t", "gpu_utilisation"]
    if as_json:
        print_json({"summary": s, "open_sites": _records(opened[cols]), "out": str(target)})
        return
    out.print(f"{s['status']}: {s['emissions_t']:,.1f} tCO2e (renewables matched per period) for "
              f"{s['energy_mwh']:,.0f} MWh "
              f"(bound {s['bound_t'] if s['bound_t'] is None else format(s['bound_t'], ',.1f')}, "
              f"gap {s['gap'] if s['gap'] is None else format(s['gap'], '.2e')}); "
              f"build {s['build_s']:.3f} s, solve {s['solve_s']:.3f} s, "
              f"{s['n_variables']:,} variables, {s['n_constraints']:,} constraints")
    print_table(_records(opened[cols]), "Open sites",
                {"energy_mwh": "{:,.0f}", "renewable_share": "{:.0%}", "emissions_t": "{:,.1f}",
                 "gpu_utilisation": "{:.0%}"})
    out.print(f"wrote {target}/assignments.csv, sites.csv, site_periods.csv, summary.json, solution/; "
              f"report: siting report --from {target}")


def _report_lines(rep, target) -> None:
    for row in rep.headline.itertuples():
        value = (f"{row.value:.0%}" if row.unit == "share" else f"{row.value:,.0f} {row.unit}")
        out.print(f"{row.figure}: {value}" + (f"  [{row.basis}]" if row.basis else ""), markup=False)
    for b in rep.baselines.itertuples():
        out.print(f"  vs {b.baseline} [{b.basis}]: {b.emissions_t:,.0f} t; plan {b.optimised_t:,.0f} t "
                  f"({'saves' if b.saved_t >= 0 else 'adds'} {abs(b.saved_t):,.0f} t, "
                  f"{abs(b.saved_share):.0%})", markup=False)
    out.print(f"report: {target / 'report.html'} (also report.md, ranked.csv, sites.geojson)")


@app.command()
def report(
    scenario: Annotated[str | None, typer.Argument(help="scenario YAML")] = None,
    from_dir: Annotated[str | None, typer.Option(
        "--from", help="rebuild the report from a saved run folder (out/<name>), without solving")] = None,
    sites: SitesOpt = None,
    workloads: WorkloadsOpt = None,
    max_sites: Annotated[int | None, typer.Option(help="at most this many open sites", min=1)] = None,
    out_dir: Annotated[str | None, typer.Option("--out", help="output folder (default out/<name>)")] = None,
    baseline: Annotated[str | None, typer.Option(help="baseline country (ISO3; default USA)")] = None,
    baseline_year: Annotated[int | None, typer.Option(help="baseline intensity year")] = None,
    baseline_site: Annotated[str | None, typer.Option(help="baseline site id instead")] = None,
    year: Year = None,
    mirror: Mirror = None,
    cache: Cache = None,
    as_json: AsJson = False,
) -> None:
    """Optimise (or, with --from, reload a saved run) and write the report: CSV, Markdown,
    GeoJSON, summary.json, HTML."""
    from pathlib import Path

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from siting.report import build_report, write_report
    from siting.report.store import load_solution

    if from_dir is not None and (scenario or sites or workloads):
        raise SitingError("--from rebuilds a saved run: give no scenario, --sites or --workloads")
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True,
                  disable=as_json or not sys.stderr.isatty()) as progress:
        if from_dir is not None:
            task = progress.add_task(f"loading {from_dir}", total=None)
            solution = load_solution(from_dir)
            target = Path(out_dir or from_dir)
        else:
            task = progress.add_task("reading the inputs", total=None)
            problem, sc = _problem_from_options(scenario, sites, workloads, None, max_sites,
                                                mirror=mirror, cache=cache, year=year)
            progress.update(task, description=f"optimising {sc.name}")
            solution = _solve(problem, sc.solver)
            target = Path(out_dir or Path("out") / sc.name)
        progress.update(task, description="marginal values and baselines")
        from siting.report.analysis import BASELINE_COUNTRY_ISO3

        rep = build_report(solution, baseline=baseline or BASELINE_COUNTRY_ISO3, baseline_year=baseline_year,
                           site=baseline_site)
        progress.update(task, description=f"writing {target}")
        from siting.outdir import output_folder
        from siting.report.analysis import ensure_report_tables
        from siting.report.store import save_solution

        inputs = [] if from_dir is not None else _scenario_inputs(sc, scenario)
        # all files or none: the old folder (even the one --from read) stays until the new is whole
        with output_folder(target, inputs=inputs) as tmp:
            write_report(rep, solution, tmp)
            ensure_report_tables(solution)
            save_solution(solution, tmp)
    if as_json:
        print_json({"scenario": rep.scenario, "status": solution.summary["status"],
                    "headline": _records(rep.headline), "baselines": _records(rep.baselines),
                    "totals": rep.totals, "report": str(target / "report.html")})
        return
    out.print(f"{rep.scenario}: {solution.summary['status']}, {rep.totals['sites_open']} site(s) open")
    _report_lines(rep, target)


@app.command()
def compare(
    runs: Annotated[list[str], typer.Argument(help="run folders written by optimize/report (out/<name>)")],
    fmt: Annotated[str, typer.Option("--format", help="md, csv or html")] = "md",
    out_path: Annotated[str | None, typer.Option("--out", help="write to a file (- = stdout)")] = None,
    baseline: Annotated[str, typer.Option(help="baseline country (ISO3)")] = "USA",
    as_json: AsJson = False,
) -> None:
    """Key figures of several saved runs side by side (Markdown, CSV or HTML)."""
    from pathlib import Path

    from siting.io import write_text
    from siting.report.render import compare_runs, comparison_text

    if fmt not in ("md", "csv", "html"):
        raise SitingError(f"--format must be md, csv or html, got {fmt!r}")
    table = compare_runs(runs, baseline=baseline)
    if as_json:
        print_json(_records(table))
        return
    text = comparison_text(table, fmt)
    if out_path and out_path != "-":
        write_text(Path(out_path), text)
        out.print(f"wrote {out_path}")
    else:
        sys.stdout.write(text)


@app.command()
def evaluate(
    sites: Annotated[str, typer.Option(
        help="candidate sites: CSV (site_id, lat, lon, ...) or GeoJSON; - = CSV on stdin")],
    workloads: Annotated[str | None, typer.Option(help="workloads CSV; - = stdin")] = None,
    gpu_hours: Annotated[float | None, typer.Option(help="one workload: GPU-hours")] = None,
    gpu: Annotated[str | None, typer.Option(help="one workload: GPU name")] = None,
    gpu_power_w: Annotated[float | None, typer.Option(help="one workload: GPU power, W")] = None,
    out_dir: Annotated[str | None, typer.Option("--out", help="output folder")] = None,
    horizon_hours: Annotated[float | None, typer.Option(help="horizon, h (default 8760)")] = None,
    year: Year = None,
    baseline: Annotated[str | None, typer.Option(help="baseline country (ISO3; default USA)")] = None,
    mirror: Mirror = None,
    cache: Cache = None,
    as_json: AsJson = False,
) -> None:
    """Score a list of candidate sites for a workload, without optimising, and rank them."""
    from pathlib import Path

    from siting.model.scenario import read_workloads_table, workloads_from_frame
    from siting.report.analysis import BASELINE_COUNTRY_ISO3
    from siting.report.evaluate import evaluate_sites, write_evaluation

    baseline = baseline or BASELINE_COUNTRY_ISO3
    if sites == "-" and workloads == "-":
        raise SitingError("only one of --sites and --workloads can be read from stdin (-)")
    if horizon_hours is not None:
        from siting.assumptions import default_assumptions
        from siting.data.validate import finite_number

        horizon_hours = finite_number(horizon_hours, "--horizon-hours", gt=0,
                                      hi=default_assumptions()["input_max_horizon_hours"])
    if workloads:
        wl = read_workloads_table(Path(_stdin_to_file(workloads)))
    elif gpu_hours is not None and (gpu or gpu_power_w is not None):
        row = {"workload_id": "workload", "gpu_hours": gpu_hours, "splittable": False}
        row.update({"gpu": gpu} if gpu else {"gpu_power_kw": gpu_power_w / 1000.0})
        from siting.data.validate import options_frame

        wl = workloads_from_frame(options_frame([row]), "--gpu-hours/--gpu")
    else:
        raise SitingError("give --workloads W.csv, or --gpu-hours with --gpu or --gpu-power-w")
    table, src = _model_sites(sites, mirror=mirror, cache=cache, year=year)
    ev = evaluate_sites(table, wl, horizon_hours=horizon_hours, baseline=baseline, year=year,
                        mirror=mirror, cache=cache)
    name = "stdin" if sites == "-" else src.stem
    target = Path(out_dir or Path("out") / f"evaluate_{_safe_name(name)}")
    from siting.outdir import output_folder

    with output_folder(target, inputs=[src, workloads]) as tmp:
        write_evaluation(ev, tmp, f"siting evaluation: {'stdin' if sites == '-' else src.name}")
    cols = ["rank", "site_id", "country_iso3", "emissions_t", "effective_ci_g_per_kwh",
            "renewable_share", "fits"]
    if as_json:
        print_json({"sites": _records(ev), "out": str(target)})
        return
    print_table(_records(ev[cols].head(15)), f"Candidate sites ({len(ev)}), best first",
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


def _safe_name(stem: str) -> str:
    """A file stem as a safe folder name (see Scenario.name): other characters become _."""
    import re

    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem).lstrip(".")[:100] or "scenario"


def _scenario_inputs(sc, scenario_file: str | None) -> list:
    """Every file a scenario reads, so the output folder can never replace one of them."""
    files = [scenario_file, sc.workloads, sc.sites_monthly,
             None if sc.sites == "default" else sc.sites]
    return [f if f is None or f is scenario_file else sc.path(f) for f in files]


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning user errors into one line and an exit code
    (2 bad input, 3 infeasible, 1 environment, 130 interrupted). SIGTERM behaves like Ctrl-C
    (KeyboardInterrupt) meanwhile, so temporary files are cleaned up."""
    import signal
    import threading

    def handler(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    import warnings

    shown = warnings.showwarning
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, handler) if main_thread else None
    try:
        return _main(argv)
    finally:
        warnings.showwarning = shown
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str] | None) -> int:
    import warnings

    from pydantic import ValidationError

    from siting.data.validate import pydantic_message

    warnings.showwarning = _warning_line
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="siting", standalone_mode=False)
    except Interrupted as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.solver_running:  # HiGHS did not reach an interrupt check: do not wait for it
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(exc.exit_code)
        return exc.exit_code
    except SitingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValidationError as exc:
        print(f"error: {pydantic_message(exc, 'options')}", file=sys.stderr)
        return 2
    except typer.TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `siting`/`siting data`: help shown
            return 0
        print(f"error: {exc.format_message()}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        return 1
    except OSError as exc:  # unwritable output folder, full disk, ...: one line, no traceback
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    if result == 130:  # typer turns a KeyboardInterrupt into exit code 130, silently
        print("error: interrupted", file=sys.stderr)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
