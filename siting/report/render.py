"""Write a report: CSV tables, Markdown, summary.json, a GeoJSON of sites with results and
a self-contained HTML page (offline Leaflet map through folium, charts, tables).

Every file is written to a temporary name and renamed into place."""

from __future__ import annotations

import base64
import html
import json
import os
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import xstatic.pkg.leaflet as xleaflet
from branca.element import Element

from siting.io import write_geojson, write_json, write_table, write_text
from siting.paths import regions_file
from siting.report import charts
from siting.report.analysis import Report
from siting.units import WGS84

FORMATS = {
    "gpu_hours": "{:,.0f}", "energy_mwh": "{:,.0f}", "emissions_t": "{:,.1f}",
    "renewable_share": "{:.0%}", "effective_ci_g_per_kwh": "{:,.1f}", "gpu_utilisation": "{:.0%}",
    "mw_utilisation": "{:.0%}", "renewable_utilisation": "{:.0%}", "t_saved_per_gpu": "{:,.3f}",
    "t_saved_per_mw": "{:,.1f}", "t_saved_per_renewable_mwh": "{:,.4f}", "optimised_t": "{:,.1f}",
    "saved_t": "{:,.1f}", "saved_share": "{:.1%}", "ci_g_per_kwh": "{:,.1f}", "value": "{:g}",
}


def _cell(col: str, v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, bool | np.bool_):
        return str(v)
    if col in FORMATS and isinstance(v, int | float | np.number):
        return FORMATS[col].format(v)
    if isinstance(v, float | np.floating):
        # quantities without a set format: readable precision by size
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.2f}" if abs(v) >= 1 else f"{v:.3g}"
    return str(v)


def markdown_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(c, v).replace("|", "/") for c, v in
                                         zip(cols, row, strict=True)) + " |")
    return "\n".join(lines)


def html_table(df: pd.DataFrame, table_id: str) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(c, v))}</td>" for c, v in
                                    zip(df.columns, row, strict=True)) + "</tr>"
                   for row in df.itertuples(index=False))
    return (f'<div class="scroll"><table id="{table_id}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def key_figures(r: Report) -> list[tuple[str, str]]:
    t = r.totals
    figs = [("Emissions", f"{t['emissions_t']:,.1f} tCO2e"),
            ("Energy", f"{t['energy_mwh']:,.0f} MWh"),
            ("Renewable share", f"{t['renewable_share']:.0%}"),
            ("Effective intensity", f"{t['effective_ci_g_per_kwh']:,.1f} g/kWh"),
            ("Sites open", f"{t['sites_open']}")]
    for b in r.baselines.itertuples():
        figs.append((f"vs {b.baseline}", f"-{b.saved_t:,.0f} t ({b.saved_share:.0%})"))
    return figs


def to_markdown(r: Report) -> str:
    s = r.summary
    marg = r.ranked[["rank", "site_id", "binding", "t_saved_per_gpu", "t_saved_per_mw",
                     "t_saved_per_renewable_mwh"]]
    parts = [
        f"# siting report: {r.scenario}",
        "",
        f"Status **{s['status']}** (objective {s['objective_t']:,.3f} t, bound "
        f"{'-' if s['bound_t'] is None else format(s['bound_t'], ',.3f')} t, solver {s['solver']}, "
        f"build {s['build_s']:.3f} s, solve {s['solve_s']:.3f} s, {s['n_variables']:,} variables, "
        f"{s['n_constraints']:,} constraints).",
        "",
        "## Key figures",
        "",
        *[f"- {k}: **{v}**" for k, v in key_figures(r)],
        "",
        "## Ranked placements (cleanest first)",
        "",
        markdown_table(r.ranked.drop(columns=["t_saved_per_gpu", "t_saved_per_mw",
                                              "t_saved_per_renewable_mwh"])),
        "",
        "## Baselines",
        "",
        markdown_table(r.baselines),
        "",
        "## What binds, and what one more unit would save",
        "",
        "From the LP with the site and job decisions fixed: tCO2e saved by one more GPU (over the "
        "horizon), one more MW of facility power, or one more MWh of renewables at each open site.",
        "",
        markdown_table(marg),
        "",
        *(["## Notes", "", *[f"- {n}" for n in r.notes], ""] if r.notes else []),
        "## Assumptions",
        "",
        markdown_table(r.assumptions[["key", "value", "unit", "source"]]),
        "",
        "## Data sources and licences",
        "",
        markdown_table(r.sources[["dataset", "licence", "attribution", "url"]]),
        "",
    ]
    return "\n".join(parts)


def sites_geodataframe(r: Report) -> gpd.GeoDataFrame:
    s = r.sites
    return gpd.GeoDataFrame(s, geometry=gpd.points_from_xy(s["lon"], s["lat"]), crs=WGS84)


def _intensity_colour(ci: float) -> str:
    stops = [(0, "#1a9850"), (50, "#91cf60"), (150, "#d9ef8b"), (300, "#fee08b"),
             (500, "#fc8d59"), (np.inf, "#d73027")]
    return next(colour for limit, colour in stops if ci <= limit)


def points_map(g: gpd.GeoDataFrame, popup_cols: list[str]) -> folium.Map:
    """Offline Leaflet map: country outlines as the base layer (no tiles) and one circle
    per row of ``g`` (columns ``radius``, ``colour``, ``open``: open ones outlined, on top)."""
    m = folium.Map(location=[30, 0], zoom_start=2, tiles=None, control_scale=True)
    m.default_js, m.default_css = [], []  # Leaflet is inlined by the page, nothing from a CDN
    outlines = gpd.read_file(regions_file("countries_110m.geojson"), engine="pyogrio")
    folium.GeoJson(outlines.__geo_interface__, name="countries",
                   style_function=lambda f: {"fillColor": "#f1f3f5", "color": "#adb5bd",
                                             "weight": 0.6, "fillOpacity": 1.0},
                   tooltip=folium.GeoJsonTooltip(["name"], labels=False)).add_to(m)
    props = g[popup_cols + ["radius", "colour", "open", "geometry"]].copy()
    for col in popup_cols:
        if pd.api.types.is_float_dtype(props[col]):
            props[col] = props[col].round(3)
    order = props.sort_values("open", kind="stable")  # open sites drawn last, on top

    def style(feature):
        p = feature["properties"]
        return {"radius": p["radius"], "fill": True, "fillColor": p["colour"], "fillOpacity": 0.85,
                "color": "#212529" if p["open"] else p["colour"], "weight": 2.5 if p["open"] else 0.5}

    folium.GeoJson(json.loads(order.to_json()), name="sites", marker=folium.CircleMarker(fill=True),
                   style_function=style,
                   popup=folium.GeoJsonPopup(popup_cols, aliases=[c.replace("_", " ") for c in popup_cols])
                   ).add_to(m)
    return m


def site_map(r: Report) -> folium.Map:
    """Candidates coloured by grid intensity; chosen sites sized by energy and outlined."""
    g = sites_geodataframe(r)
    emax = max(float(g["energy_mwh"].max()), 1.0)
    g = g.assign(
        radius=np.where(g["open"], 6 + 18 * np.sqrt(g["energy_mwh"] / emax), 3.5),
        colour=[_intensity_colour(c) for c in np.where(g["open"], g["effective_ci_g_per_kwh"],
                                                       g["grid_ci_mean_g_per_kwh"])],
        status=np.where(g["open"], "chosen", "candidate"),
    )
    return points_map(g, ["site_id", "name", "country_iso3", "status", "energy_mwh", "emissions_t",
                          "renewable_share", "grid_ci_mean_g_per_kwh", "renewable_ci_g_per_kwh",
                          "binding"])


def _leaflet_inline() -> str:
    base = Path(xleaflet.BASE_DIR)
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    return f"<style>{css}</style>\n<script>{js}</script>"


PAGE_CSS = """
html, body { height: auto !important; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #212529;
       max-width: 1200px !important; margin: 1.5rem auto !important; padding: 0 1rem !important; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.cards { display: flex; flex-wrap: wrap; gap: .75rem; }
.card { border: 1px solid #dee2e6; border-radius: 6px; padding: .6rem .9rem; min-width: 9rem; }
.card b { display: block; font-size: 1.15rem; } .card span { color: #6c757d; font-size: .8rem; }
.folium-map { height: 540px !important; border: 1px solid #dee2e6; border-radius: 6px; }
table { border-collapse: collapse; font-size: .82rem; margin: .5rem 0; }
th, td { border-bottom: 1px solid #e9ecef; padding: .25rem .5rem; text-align: right; }
th { background: #f8f9fa; } td:nth-child(-n+4) { text-align: left; }
.scroll { overflow-x: auto; } .charts img { max-width: 100%; } .note { color: #6c757d; font-size: .85rem; }
"""


def html_page(title: str, m: folium.Map, top: str, bottom: str) -> str:
    """A self-contained page: inlined Leaflet and CSS, ``top`` (with the map placeholder
    ``<!--siting-map-->``), the map, then ``bottom``."""
    fig = m.get_root()
    fig.header.add_child(Element(_leaflet_inline()), name="leaflet_inline", index=0)
    fig.header.add_child(Element(f"<style>{PAGE_CSS}</style><title>{html.escape(title)}</title>"),
                         name="page_css")
    fig.html.add_child(Element(top), name="top", index=0)
    fig.html.add_child(Element(bottom), name="bottom")
    page = fig.render()
    # folium appends the map's div at the end of the body: move it under the "Map" heading
    div = re.search(rf'<div class="folium-map" id="{m.get_name()}"[^>]*>\s*</div>', page)
    if div is None:
        raise RuntimeError("folium output changed: map div not found")
    return page.replace(div.group(0), "", 1).replace("<!--siting-map-->", div.group(0), 1)


def png_img(png: bytes, element_id: str, alt: str) -> str:
    return (f'<img id="{element_id}" alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode()}">')


def cards_html(figures: list[tuple[str, str]]) -> str:
    return '<div class="cards">' + "".join(
        f'<div class="card"><span>{html.escape(k)}</span><b>{html.escape(v)}</b></div>'
        for k, v in figures) + "</div>"


def to_html(r: Report) -> str:
    s = r.summary
    top = (f"<h1>siting report: {html.escape(r.scenario)}</h1>"
           f"<p class='note'>Status {s['status']}; objective {s['objective_t']:,.3f} t; solver "
           f"{s['solver']}; {s['n_variables']:,} variables, {s['n_constraints']:,} constraints; "
           f"build {s['build_s']:.3f} s, solve {s['solve_s']:.3f} s.</p>"
           + cards_html(key_figures(r)) + "<h2>Map</h2>"
           "<p class='note'>Chosen sites are outlined and sized by energy; colour is the "
           "effective intensity (chosen) or the grid intensity (candidates), green = clean.</p>"
           "<!--siting-map-->")
    marg = r.ranked[["rank", "site_id", "binding", "t_saved_per_gpu", "t_saved_per_mw",
                     "t_saved_per_renewable_mwh"]]
    bottom = (
        "<h2>Ranked placements (cleanest first)</h2>"
        + html_table(r.ranked.drop(columns=["t_saved_per_gpu", "t_saved_per_mw",
                                            "t_saved_per_renewable_mwh"]), "ranked")
        + "<h2>Charts</h2><div class='charts'>"
        + png_img(charts.emissions_by_site(r.sites), "chart-sites", "Emissions by site")
        + png_img(charts.baseline_vs_optimised(r.baselines), "chart-baseline",
                  "Baseline vs optimised")
        + "</div><h2>Baselines</h2>" + html_table(r.baselines, "baselines")
        + "<h2>What binds, and what one more unit would save</h2><p class='note'>tCO2e saved by "
          "one more GPU (over the horizon), MW of facility power, or MWh of renewables, from the "
          "LP with site and job decisions fixed.</p>" + html_table(marg, "marginals")
        + ("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in r.notes) + "</ul>"
           if r.notes else "")
        + "<h2>Assumptions</h2>" + html_table(r.assumptions[["key", "value", "unit", "source"]],
                                              "assumptions")
        + "<h2>Data sources and licences</h2>"
        + html_table(r.sources[["dataset", "licence", "attribution", "url"]], "sources"))
    return html_page(f"siting: {r.scenario}", site_map(r), top, bottom)


def write_report(r: Report, solution, out_dir: str | os.PathLike) -> list[Path]:
    """All report files in ``out_dir`` (created): the solution's CSVs, ranked.csv,
    baselines.csv, marginals.csv, report.md, report.html, sites.geojson, summary.json."""
    out = Path(out_dir)
    written = solution.write(out)
    written += [
        write_table(out / "ranked.csv", r.ranked),
        write_table(out / "baselines.csv", r.baselines),
        write_table(out / "marginals.csv", r.sites[["site_id", "binding", "t_saved_per_gpu",
                                                     "t_saved_per_mw", "t_saved_per_renewable_mwh"]]),
        write_json(out / "summary.json", r.summary),
        write_text(out / "report.md", to_markdown(r)),
        write_text(out / "report.html", to_html(r)),
        write_geojson(out / "sites.geojson", sites_geodataframe(r)),
    ]
    return sorted(set(written))

