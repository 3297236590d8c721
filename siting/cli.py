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
        from siting.io import json_text

        print(json_text(payload[0] if len(payload) == 1 else payload, indent=2))
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
    from siting.outdir import output_folder

    # all files or none; the old folder stays until done (no marker file: data/regions is in git)
    with output_folder(out_dir, marker=False) as tmp:
        written = build_all(mirror=mirror, cache=cache, out=tmp)
    for path in written:
        out.print(f"wrote {Path(out_dir) / path.name if path.parent == tmp else path}")


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
    fuels: Annotated[str, typer.Option(help="comma-separated fuels")] = "hydro,wind,geothermal",
    n_sites: Annotated[int, typer.Option(help="number of sites", min=1)] = 200,
    radius_km: Annotated[float | None, typer.Option(help="cluster radius, km")] = None,
    max_per_country: Annotated[int | None, typer.Option(help="cap per country")] = None,
    year: Annotated[int | None, typer.Option(help="grid-intensity year")] = None,
    mirror: Mirror = None,
    cache: Cache = None,
) -> None:
    """Generate candidate sites at renewable clusters (GPPD), enriched, ranked by energy."""
    from siting.data import loaders, sites
    from siting.intensity import yearly_table

    chosen = _fuels(fuels)
    kw = {"mirror": mirror, "cache": cache}
    plants = loaders.load_plants(**kw)
    gen = sites.generate_sites(plants, fuels=chosen, radius_km=radius_km,
                               n_sites=n_sites, max_per_country=max_per_country)
    enriched = sites.enrich(gen, plants=plants, boundaries=loaders.load_boundaries(**kw),
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
    from siting.intensity import yearly_table
    from siting.outdir import check_not_input

    check_not_input(out_path, [path])  # one file, written atomically by write_sites
    user = sites.read_sites(path)
    kw = {"mirror": mirror, "cache": cache}
    enriched = sites.enrich(user, plants=loaders.load_plants(**kw),
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
    keep_incumbent: Annotated[bool, typer.Option(
        help="on Ctrl-C during the solve, write the best plan found so far (status interrupted)")
    ] = False,
) -> None:
    """Place workloads on sites with the least CO2; writes assignments.csv, sites.csv, summary.json."""
    from pathlib import Path

    from siting.model import ModelOptions, Scenario, load_scenario
    from siting.model import optimize as run_optimize
    from siting.outdir import output_folder

    if formulation not in ("compact", "plain"):
        raise SitingError(f"--formulation must be compact or plain, got {formulation!r}")
    if scenario is not None:
        if sites or workloads:
            raise SitingError("give a scenario file or --sites/--workloads, not both")
        sc = load_scenario(scenario)
    else:
        if not workloads:
            raise SitingError("give a scenario file, or --workloads (and optionally --sites)")
        sc = Scenario(name=_safe_name(Path(workloads).stem),
                      sites=sites or "default", workloads=str(Path(workloads).resolve()),
                      sites_monthly=str(Path(sites_monthly).resolve()) if sites_monthly else None,
                      periods="monthly" if sites_monthly else "annual", max_sites=max_sites,
                      base_dir=Path.cwd())
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
    if max_sites is not None:
        sc.max_sites = max_sites
    target = Path(out_dir or Path("out") / sc.name)
    interrupted = None
    # the folder is locked for the whole run; the old output stays until the new one is whole
    with output_folder(target, inputs=_scenario_inputs(sc, scenario)) as tmp:
        try:
            solution = run_optimize(sc, options=ModelOptions(formulation=formulation))
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
    if interrupted is not None:
        raise interrupted
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
    baseline: Annotated[str, typer.Option(help="baseline country (ISO3)")] = "USA",
    baseline_year: Annotated[int | None, typer.Option(help="baseline intensity year")] = None,
    baseline_site: Annotated[str | None, typer.Option(help="baseline site id instead")] = None,
) -> None:
    """Optimise a scenario and write its report: CSV, Markdown, GeoJSON, summary.json, HTML."""
    from pathlib import Path

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from siting.model import load_scenario
    from siting.model import optimize as run_optimize
    from siting.outdir import output_folder
    from siting.report import build_report, write_report

    sc = load_scenario(scenario)
    target = Path(out_dir or Path("out") / sc.name)
    with output_folder(target, inputs=_scenario_inputs(sc, scenario)) as tmp, \
            Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                     console=out, transient=True) as progress:
        task = progress.add_task(f"optimising {sc.name}", total=None)
        solution = run_optimize(sc)
        progress.update(task, description="marginal values and baselines")
        rep = build_report(solution, baseline=baseline, baseline_year=baseline_year,
                           site=baseline_site)
        progress.update(task, description=f"writing {target}")
        write_report(rep, solution, tmp)
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
    baseline: Annotated[str, typer.Option(help="baseline country (ISO3)")] = "USA",
    mirror: Mirror = None,
    cache: Cache = None,
) -> None:
    """Score a list of candidate sites for a workload, without optimising, and rank them."""
    from pathlib import Path

    import pandas as pd

    from siting.data.validate import finite_number, read_csv
    from siting.model.scenario import (
        SITES_REQUIRED,
        read_workloads_table,
        sites_from_frame,
        workloads_from_frame,
    )
    from siting.outdir import check_not_input, output_folder
    from siting.report.evaluate import evaluate_sites, write_evaluation

    if horizon_hours is not None:
        from siting.assumptions import default_assumptions

        horizon_hours = finite_number(horizon_hours, "--horizon-hours", gt=0,
                                      hi=default_assumptions()["input_max_horizon_hours"])
    if workloads:
        wl = read_workloads_table(Path(workloads))
    elif gpu_hours is not None and (gpu or gpu_power_w is not None):
        row = {"workload_id": "workload", "gpu_hours": gpu_hours, "splittable": False}
        row.update({"gpu": gpu} if gpu else {"gpu_power_kw": gpu_power_w / 1000.0})
        from siting.data.validate import options_frame

        wl = workloads_from_frame(options_frame([row]), "--gpu-hours/--gpu")
    else:
        raise SitingError("give --workloads W.csv, or --gpu-hours with --gpu or --gpu-power-w")
    src = Path(sites)
    target = Path(out_dir or Path("out") / f"evaluate_{_safe_name(src.stem)}")
    check_not_input(target, [src, workloads])  # before any work, not only when writing
    raw = (read_csv(src, "sites", dtype=str, keep_default_na=False, strict_fields=True)
           if src.suffix.lower() == ".csv" else None)
    if raw is not None and all(c in raw.columns for c in SITES_REQUIRED):
        table = sites_from_frame(raw, src)
    else:
        from siting.data import loaders
        from siting.data import sites as site_data
        from siting.intensity import yearly_table

        kw = {"mirror": mirror, "cache": cache}
        with out.status("enriching sites from the datasets"):
            enriched = site_data.enrich(site_data.read_sites(src), plants=loaders.load_plants(**kw),
                                        boundaries=loaders.load_boundaries(**kw),
                                        intensity=yearly_table(), year=year)
        table = sites_from_frame(pd.DataFrame(enriched.drop(columns="geometry")), src)
    ev = evaluate_sites(table, wl, horizon_hours=horizon_hours, baseline=baseline)
    with output_folder(target, inputs=[src, workloads]) as tmp:
        write_evaluation(ev, tmp, f"siting evaluation: {src.name}")
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
