"""Planner workflow: score a given list of candidate sites for a set of workloads, without
optimising. Each site is scored as if it took all the work: energy, renewables used,
emissions, effective intensity, whether it has the room, and a rank. Array work over sites."""

from __future__ import annotations

import html
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting.assumptions import Assumptions, default_assumptions
from siting.data.grid import site_grid_intensity
from siting.intensity import country_intensity
from siting.io import write_geojson, write_json, write_table, write_text
from siting.report import charts
from siting.report.analysis import BASELINE_COUNTRY_ISO3
from siting.report.render import (
    SOURCE_COLUMNS,
    _intensity_colour,
    cards_html,
    html_page,
    html_table,
    legend_html,
    markdown_table,
    png_img,
    points_map,
)
from siting.units import HOURS_PER_YEAR, WGS84

LOCATION_BASED = "location-based (grid average at the site)"
EXISTING_CREDITED = ("location-based, minus existing non-additional renewables nearby credited "
                     "over the year (annually matched; not additional)")


def evaluate_sites(sites: pd.DataFrame, workloads: pd.DataFrame,
                   assumptions: Assumptions | None = None, *,
                   horizon_hours: float | None = None, baseline: str = BASELINE_COUNTRY_ISO3,
                   grid_at_site: bool = True, existing_renewables: bool = False,
                   year: int | None = None, mirror=None, cache=None, runtime: bool = True
                   ) -> gpd.GeoDataFrame:
    """One row per site, ranked by emissions (lowest first). ``sites`` has the model columns
    (see siting.model.scenario.read_sites_table); ``workloads`` the workload columns.

    Emissions are **location-based**: energy x the grid intensity at the site. With
    ``grid_at_site`` (default) that intensity is looked up at the site's coordinates at the
    finest resolution available (:func:`siting.data.grid.site_grid_intensity`: Electricity Maps
    zone, US state or country; run-time sources from ``mirror``/``cache`` unless
    ``runtime=False``), with its source and resolution; else the table's
    ``grid_ci_g_per_kwh`` is used as given. Existing renewable plants nearby are already in the
    grid average: their energy is shown separately as ``existing_nonadditional_mwh`` and only
    credited when ``existing_renewables=True`` (annually matched, labelled as such).
    Returns a GeoDataFrame in EPSG:4326."""
    a = default_assumptions() if assumptions is None else assumptions
    H = a["horizon_hours"] if horizon_hours is None else float(horizon_hours)
    it_mwh = float(workloads["energy_mwh"].sum())
    gpu_hours = float(workloads["gpu_hours"].sum())
    # a site that gives no PUE (no column, or an empty cell) takes the scenario's pue_default
    pue = (sites["pue"].astype(float).fillna(a["pue_default"]).to_numpy(float) if "pue" in sites
           else np.full(len(sites), a["pue_default"]))
    if grid_at_site:
        prov = site_grid_intensity(sites, a, mirror=mirror, cache=cache, year=year,
                                   runtime=runtime)
    else:
        prov = pd.DataFrame({"grid_ci_g_per_kwh": sites["grid_ci_g_per_kwh"].to_numpy(float),
                             "grid_ci_source": "sites table (as given)",
                             "grid_ci_resolution": "as given", "grid_ci_zone": "",
                             "grid_ci_year": -1, "grid_ci_basis": "as given"}, index=sites.index)
    grid = prov["grid_ci_g_per_kwh"].to_numpy(float)
    rci = sites["renewable_ci_g_per_kwh"].to_numpy(float)
    existing = sites["renewable_mwh_per_year"].to_numpy(float) * H / HOURS_PER_YEAR
    energy = it_mwh * pue
    if existing_renewables:
        ren = np.where(rci < grid, np.minimum(energy, existing), 0.0)
    else:
        ren = np.zeros_like(energy)
    emissions = ((energy - ren) * grid + ren * rci) / 1000.0
    location_t = energy * grid / 1000.0
    cap = sites["capacity_gpus"].to_numpy(float) * H
    base_ci, _ = country_intensity(baseline)
    base_t = it_mwh * a["pue_default"] * base_ci / 1000.0
    out = pd.DataFrame({
        "site_id": sites["site_id"], "name": sites["name"], "country_iso3": sites["country_iso3"],
        "lat": sites["lat"], "lon": sites["lon"],
        "grid_ci_g_per_kwh": grid,
        **{c: prov[c].to_numpy() for c in prov.columns if c != "grid_ci_g_per_kwh"},
        "pue": pue, "energy_mwh": energy,
        "location_based_t": location_t,
        "existing_nonadditional_mwh": existing,
        "existing_nonadditional_ci_g_per_kwh": rci,
        "renewable_mwh": ren, "renewable_share": ren / energy,
        "emissions_t": emissions, "effective_ci_g_per_kwh": emissions * 1000 / energy,
        "accounting_basis": EXISTING_CREDITED if existing_renewables else LOCATION_BASED,
        "gpu_hours_needed": gpu_hours, "gpu_hours_capacity": cap,
        "fits": cap >= gpu_hours,
        f"saved_vs_{baseline.upper()}_t": base_t - emissions,
    })
    for col in ("existing_renewable_mwh_per_year", "existing_renewable_hydro_mwh_per_year",
                "existing_renewable_wind_mwh_per_year",
                "existing_renewable_geothermal_mwh_per_year", "renewable_supply_basis",
                *SOURCE_COLUMNS):
        if col in sites:
            out[col] = sites[col].to_numpy()
    out = out.sort_values(["emissions_t", "site_id"], kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs=WGS84)


def evaluation_html(ev: pd.DataFrame, title: str) -> str:
    """The evaluation as a self-contained HTML page: map, ranked table and chart."""
    ev = pd.DataFrame(ev).drop(columns="geometry", errors="ignore")
    g = gpd.GeoDataFrame(ev, geometry=gpd.points_from_xy(ev["lon"], ev["lat"]), crs=WGS84)
    best = ev["rank"] <= 3
    g = g.assign(radius=np.where(best, 11, 6), colour=[_intensity_colour(c) for c in
                                                       ev["effective_ci_g_per_kwh"]], open=best)
    m = points_map(g, ["rank", "site_id", "name", "country_iso3", "emissions_t",
                       "effective_ci_g_per_kwh", "grid_ci_g_per_kwh", "existing_nonadditional_mwh",
                       "fits", *SOURCE_COLUMNS],
                   fit_to=np.column_stack([ev["lat"].to_numpy(float), ev["lon"].to_numpy(float)]))
    first = ev.iloc[0]
    figures = [("Sites scored", f"{len(ev)}"),
               ("Best site", f"{first['site_id']} ({first['emissions_t']:,.1f} t)"),
               ("Worst site", f"{ev.iloc[-1]['site_id']} ({ev.iloc[-1]['emissions_t']:,.1f} t)"),
               ("Energy at best", f"{first['energy_mwh']:,.0f} MWh"),
               ("Sites with room", f"{int(ev['fits'].sum())}")]
    cols = [c for c in ev.columns if c not in ("lat", "lon")]
    top = (f"<h1>{html.escape(title)}</h1><p class='note'>Each site scored as if it took all "
           "the work; ranked by emissions ("
           + html.escape(str(ev["accounting_basis"].iloc[0])) + "). Existing renewable plants "
           "nearby are shown as existing, non-additional supply. The three best are outlined.</p>"
           + cards_html(figures) + "<h2>Map</h2><!--siting-map-->")
    bottom = ("<h2>Ranked sites</h2>" + html_table(ev[cols], "ranked") + "<h2>Chart</h2>"
              "<div class='charts'>" + png_img(charts.evaluation_bars(ev), "chart-sites",
                                                "Emissions by site") + "</div>")
    return html_page(title, m, top, bottom, legend=legend_html(
        "Grid intensity at the site, location-based, site taking all the work (gCO2e/kWh)",
        "outlined, labelled: the three best"))


def write_evaluation(ev: pd.DataFrame, out_dir: str | os.PathLike, title: str) -> list[Path]:
    """evaluation.csv/.md/.geojson/.html and summary.json in ``out_dir``, written atomically."""
    ev = pd.DataFrame(ev).drop(columns="geometry", errors="ignore")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    geo = gpd.GeoDataFrame(ev, geometry=gpd.points_from_xy(ev["lon"], ev["lat"]), crs=WGS84)
    summary = {"title": title, "n_sites": len(ev), "best_site": ev.iloc[0]["site_id"],
               "best_emissions_t": float(ev.iloc[0]["emissions_t"]),
               "worst_emissions_t": float(ev.iloc[-1]["emissions_t"])}
    return [
        write_table(out / "evaluation.csv", ev),
        write_text(out / "evaluation.md", f"# {title}\n\nEach site scored as if it took all the "
                   f"work; ranked by emissions ({ev['accounting_basis'].iloc[0]}). Grid intensity"
                   " source and resolution per site in grid_ci_source / grid_ci_resolution;"
                   " existing_nonadditional_mwh is existing, non-additional supply.\n\n"
                   + markdown_table(ev.drop(columns=["lat", "lon"])) + "\n"),
        write_geojson(out / "evaluation.geojson", geo),
        write_json(out / "summary.json", summary),
        write_text(out / "evaluation.html", evaluation_html(ev, title)),
    ]
