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

from siting.io import dumps_json, write_geojson, write_json, write_table, write_text
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

# human column headers with units, for every table the report shows
HEADERS = {
    "rank": "Rank", "site_id": "Site", "name": "Name", "country_iso3": "Country",
    "workloads": "Workloads", "gpu_hours": "GPU-hours", "energy_mwh": "Energy (MWh)",
    "renewable_share": "Renewable share (period-matched)", "emissions_t": "CO2, period-matched (tCO2e)",
    "operational_emissions_t": "Operational CO2 (tCO2e)", "location_t": "Location-based CO2 (tCO2e)",
    "embodied_t": "Embodied (tCO2e)",
    "effective_ci_g_per_kwh": "Effective CI, period-matched (g/kWh)", "gpu_utilisation": "GPU use",
    "mw_utilisation": "Power use", "renewable_utilisation": "Renewables used",
    "binding": "Binding", "t_saved_per_gpu": "Saved per GPU (tCO2e)",
    "t_saved_per_mw": "Saved per MW (tCO2e)", "t_saved_per_renewable_mwh": "Saved per MWh renewable (tCO2e)",
    "baseline": "Baseline", "basis": "Basis", "optimised_basis": "Plan basis",
    "optimised_t": "Plan (tCO2e)", "baseline_t": "Baseline (tCO2e)", "saved_t": "Saved (tCO2e)",
    "saved_share": "Saved",
    "ci_g_per_kwh": "CI (g/kWh)", "grid_ci_g_per_kwh": "Grid CI (g/kWh)",
    "grid_ci_mean_g_per_kwh": "Grid CI (g/kWh)", "renewable_ci_g_per_kwh": "Renewable CI (g/kWh)",
    "renewable_mwh": "Renewables (MWh)", "grid_mwh": "Grid (MWh)", "status": "Status",
    "key": "Key", "value": "Value", "unit": "Unit", "source": "Source", "figure": "Figure",
    "dataset": "Dataset", "licence": "Licence", "attribution": "Attribution", "url": "URL",
    "grid_ci_source": "Grid CI source", "grid_ci_resolution": "Grid CI resolution",
    "grid_year": "Grid CI year",
    "profile_source": "Profile source", "profile_sources": "Profile sources",
    "pue": "PUE", "capacity_gpus": "GPUs", "fits": "Has room", "cost_usd": "Cost (USD)",
    "co2_t": "CO2 (tCO2e)", "cfe": "Hourly CFE", "lat": "Lat", "lon": "Lon",
    "renewable_available_mwh": "Renewables available (MWh)", "gpu_hours_needed": "GPU-hours needed",
    "gpu_hours_capacity": "GPU-hours capacity", "explanation": "Why",
}
UNIT_SUFFIXES = (("_g_per_kwh", " (g/kWh)"), ("_mwh_per_year", " (MWh/yr)"), ("_mwh", " (MWh)"),
                 ("_usd", " (USD)"), ("_km", " (km)"), ("_kw", " (kW)"), ("_mw", " (MW)"),
                 ("_t", " (tCO2e)"), ("_share", " (share)"), ("_s", " (s)"))


def human(col: str) -> str:
    """A readable header with its unit: ``grid_ci_g_per_kwh`` -> ``Grid CI (g/kWh)``."""
    if col in HEADERS:
        return HEADERS[col]
    for suffix, unit in UNIT_SUFFIXES:
        if col.endswith(suffix) and len(col) > len(suffix):
            base = col[: -len(suffix)]
            return base.replace("_", " ").replace(" ci", " CI").capitalize() + unit
    return col.replace("_", " ").capitalize()


def _cell(col: str, v) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if col in FORMATS and isinstance(v, int | float | np.number):
        return FORMATS[col].format(v)
    if isinstance(v, float | np.floating):
        # quantities without a set format: readable precision by size
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.2f}" if abs(v) >= 1 else f"{v:.3g}"
    return str(v)


def markdown_table(df: pd.DataFrame) -> str:
    """A Markdown table with human headers (units) and formatted cells."""
    cols = list(df.columns)
    lines = ["| " + " | ".join(human(c) for c in cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(c, v).replace("|", "/") for c, v in
                                         zip(cols, row, strict=True)) + " |")
    return "\n".join(lines)


def html_table(df: pd.DataFrame, table_id: str) -> str:
    """An HTML table (human headers, raw column names as tooltips) in a horizontally scrolling box."""
    head = "".join(f'<th title="{html.escape(c)}">{html.escape(human(c))}</th>' for c in df.columns)
    def td(c, v) -> str:
        number = isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_)
        return f'<td{" class=\"n\"" if number else ""}>{html.escape(_cell(c, v))}</td>'

    body = "".join("<tr>" + "".join(td(c, v) for c, v in zip(df.columns, row, strict=True))
                   + "</tr>" for row in df.itertuples(index=False))
    return (f'<div class="scroll"><table id="{table_id}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _figure_value(value: float, unit: str) -> str:
    if unit == "share":
        return f"{value:.0%}"
    if unit == "USD":
        return f"${value:,.0f}"
    if unit == "sites":
        return f"{int(value)}"
    return f"{value:,.0f} {unit}" if abs(value) >= 100 else f"{value:,.1f} {unit}"


def key_figures(r: Report) -> list[tuple[str, str]]:
    """Headline figures as (label, value) pairs; baselines name their basis."""
    figs = [(row.figure, _figure_value(row.value, row.unit)) for row in r.headline.itertuples()]
    for b in r.baselines.itertuples():
        sign = "-" if b.saved_t >= 0 else "+"
        figs.append((f"vs {b.baseline} ({b.basis})",
                     f"{sign}{abs(b.saved_t):,.0f} t ({sign}{abs(b.saved_share):.0%})"))
    return figs


def without_empty_columns(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` without the columns that hold no value in any row (NaN or ""): e.g. the annual
    model's power and renewable use, which an hourly plan does not have."""
    empty = [c for c in df.columns if df[c].replace("", np.nan).isna().all()]
    return df.drop(columns=empty)


def ranked_table(r: Report) -> pd.DataFrame:
    """The open sites, cleanest first, with the columns this plan fills."""
    return without_empty_columns(r.ranked.drop(columns=["t_saved_per_gpu", "t_saved_per_mw",
                                                        "t_saved_per_renewable_mwh"]))


def marginal_table(r: Report) -> pd.DataFrame:
    """Marginal values of the open sites, with 'nothing (spare room)' where no constraint binds."""
    marg = r.ranked[["rank", "site_id", "binding", "t_saved_per_gpu", "t_saved_per_mw",
                     "t_saved_per_renewable_mwh"]].copy()
    marg["binding"] = marg["binding"].fillna("").replace("", "nothing (spare room)")
    return without_empty_columns(marg)


# the hourly plan's marginal values (siting.model.hourly.marginals), read from the solution
HEADERS.update({"constraint": "Limit", "technology": "Technology", "marginal_value": "Marginal value",
                "slack_unit": "Slack unit", "binding_hours": "Binding hours", "point": "Point",
                "marginal_abatement_cost_usd_per_t": "Marginal abatement cost (USD/tCO2e)",
                "same_plan_as": "Same plan as"})
HOURLY_MARGINALS_NOTE = (
    "What relaxing each limit by one unit would improve the objective by (tCO2e or USD, per the "
    "unit shown: one more GPU or MW for one hour, one more MW of a technology's potential, one "
    "more tonne allowed, one more USD, one percentage point less CFE), from the LP with the "
    "plan's sites and whole-job placements fixed, computed with the plan.")


def hourly_marginal_tables(r: Report) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The hourly plan's marginal values (binding limits first) and, with a Pareto front, the
    marginal abatement cost at each point; None where the solution has no such table."""
    marg = r.tables.get("marginal_values")
    if marg is not None:
        marg = marg.sort_values("binding", ascending=False, kind="stable").reset_index(drop=True)
    front = r.tables.get("pareto")
    if front is not None and "marginal_abatement_cost_usd_per_t" in front:
        cols = ["point", "co2_t", "cost_usd", "marginal_abatement_cost_usd_per_t"]
        if "same_plan_as" in front and (front["same_plan_as"].fillna("") != "").any():
            cols.append("same_plan_as")
        front = front[cols]
    else:
        front = None
    return marg, front


def hourly_marginals_markdown(r: Report) -> list[str]:
    marg, front = hourly_marginal_tables(r)
    if marg is None:
        return []
    out = ["## Marginal values (hourly plan)", "", HOURLY_MARGINALS_NOTE, "", markdown_table(marg), ""]
    if front is not None:
        out += ["Marginal abatement cost along the Pareto front (the CO2 cap's marginal value):", "",
                markdown_table(front), ""]
    return out


def hourly_marginals_html(r: Report) -> str:
    marg, front = hourly_marginal_tables(r)
    if marg is None:
        return ""
    out = ("<h2>Marginal values (hourly plan)</h2>"
           f"<p class='note'>{html.escape(HOURLY_MARGINALS_NOTE)}</p>"
           + html_table(marg, "hourly-marginals"))
    if front is not None:
        out += ("<p class='note'>Marginal abatement cost along the Pareto front (the CO2 cap's "
                "marginal value):</p>" + html_table(front, "pareto-marginals"))
    return out


def baseline_table(r: Report) -> pd.DataFrame:
    """Baselines for display: the baseline's own figure is named as such."""
    return r.baselines.rename(columns={"emissions_t": "baseline_t"})


def status_text(s: dict) -> str:
    """How the plan was solved, from whichever summary keys the model wrote (annual or hourly)."""
    unit = "USD" if s.get("objective_kind") in ("min_cost", "cost_plus_carbon") else "t"

    def num(v):
        return "-" if v is None else f"{v:,.3f}"

    parts = [f"objective {num(s.get('objective_t', s.get('objective')))} {unit}",
             f"bound {num(s.get('bound_t', s.get('bound')))} {unit}"]
    if s.get("solver"):
        parts.append(f"solver {s['solver']}")
    if s.get("formulation"):
        parts.append(f"formulation {s['formulation']}")
    parts.append(f"build {s.get('build_s', 0.0):.3f} s, solve {s.get('solve_s', 0.0):.3f} s")
    if s.get("pareto_s"):
        parts.append(f"Pareto front {s['pareto_s']:.3f} s")
    if s.get("n_variables") is not None:
        parts.append(f"{s['n_variables']:,} variables, {s['n_constraints']:,} constraints")
    if s.get("rounds") is not None:
        parts.append(f"{s['rounds']:,} rounds, {s['n_cuts']:,} cuts")
    return ", ".join(parts)


def to_markdown(r: Report) -> str:
    """The report as Markdown: headline, baselines, placements, marginal values, assumptions."""
    s = r.summary
    parts = [
        f"# siting report: {r.scenario}",
        "",
        f"Status **{s['status']}** ({status_text(s)}).",
        "",
        "## Headline",
        "",
        markdown_table(r.headline.assign(value=[_figure_value(v, u) for v, u in
                                                zip(r.headline["value"], r.headline["unit"],
                                                    strict=True)]).drop(columns="unit")),
        "",
        "## Baselines (like for like, operational only)",
        "",
        markdown_table(baseline_table(r)),
        "",
        "## Ranked placements (cleanest first)",
        "",
        markdown_table(ranked_table(r)),
        "",
        "## What binds, and what one more unit would save",
        "",
        r.marginal_note,
        "",
        markdown_table(marginal_table(r)),
        "",
        *hourly_marginals_markdown(r),
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
    """Every candidate site with results, as points in EPSG:4326."""
    s = r.sites.drop(columns="geometry", errors="ignore")
    return gpd.GeoDataFrame(s, geometry=gpd.points_from_xy(s["lon"], s["lat"]), crs=WGS84)


CI_STOPS = ((25, "#1a9850"), (50, "#91cf60"), (150, "#d9ef8b"), (300, "#fee08b"),
            (500, "#fc8d59"), (np.inf, "#d73027"))


def _intensity_colour(ci: float) -> str:
    if ci is None or not np.isfinite(ci):
        return "#adb5bd"
    return next(colour for limit, colour in CI_STOPS if ci <= limit)


def legend_html(title: str = "Grid intensity, location-based (gCO2e/kWh)",
                note: str = "outlined, large: chosen sites (area ~ energy)") -> str:
    """The map's colour legend: one swatch per class of :data:`CI_STOPS`, with units."""
    items, lo = [], 0
    for limit, colour in CI_STOPS:
        label = (f"&gt; {lo:g}" if not np.isfinite(limit) else f"&le; {limit:g}" if lo == 0
                 else f"{lo:g}&ndash;{limit:g}")
        items.append(f'<li><i style="background:{colour}"></i>{label}</li>')
        lo = limit
    return (f'<div class="map-legend" id="legend"><b>{html.escape(title)}</b><ul>{"".join(items)}'
            f'</ul><span>{html.escape(note)}</span></div>')


SOURCE_COLUMNS = ("grid_ci_source", "grid_ci_resolution", "grid_year", "profile_source",
                  "profile_sources", "renewable_profile_source", "renewable_source")


def points_map(g: gpd.GeoDataFrame, popup_cols: list[str], *, label_col: str | None = "site_id",
               fit_to: np.ndarray | None = None) -> folium.Map:
    """Offline Leaflet map: country outlines as the base layer (no tiles) and one circle
    per row of ``g`` (columns ``radius``, ``colour``, ``open``: open ones outlined, on top,
    labelled with ``label_col``). The view fits the ``open`` rows (or ``fit_to``, (n, 2)
    lat/lon), else every row. Popups show ``popup_cols`` (those present) with human headers."""
    m = folium.Map(location=[30, 0], zoom_start=2, tiles=None, control_scale=True)
    m.default_js, m.default_css = [], []  # Leaflet is inlined by the page, nothing from a CDN
    outlines = gpd.read_file(regions_file("countries_110m.geojson"), engine="pyogrio")
    folium.GeoJson(outlines.__geo_interface__, name="countries",
                   style_function=lambda f: {"fillColor": "#f1f3f5", "color": "#adb5bd",
                                             "weight": 0.6, "fillOpacity": 1.0},
                   tooltip=folium.GeoJsonTooltip(["name"], labels=False)).add_to(m)
    cols = [c for c in popup_cols if c in g.columns]
    props = g[cols + ["radius", "colour", "open", "geometry"]].copy()
    for col in cols:  # formatted text, as in the tables
        props[col] = [_cell(col, v) for v in props[col]]
    props["open"] = props["open"].astype(bool)
    order = props.sort_values("open", kind="stable")  # open sites drawn last, on top

    def style(feature):
        p = feature["properties"]
        return {"radius": p["radius"], "fill": True, "fillColor": p["colour"], "fillOpacity": 0.85,
                "color": "#212529" if p["open"] else p["colour"], "weight": 2.5 if p["open"] else 0.5}

    folium.GeoJson(json.loads(order.to_json()), name="sites", marker=folium.CircleMarker(fill=True),
                   style_function=style,
                   popup=folium.GeoJsonPopup(cols, aliases=[human(c) for c in cols])).add_to(m)
    chosen = g[g["open"].astype(bool)]
    if label_col and label_col in g.columns:
        for lat, lon, text in zip(chosen.geometry.y, chosen.geometry.x, chosen[label_col], strict=True):
            # an invisible point carrying a permanent tooltip: no marker image is loaded
            folium.CircleMarker([lat, lon], radius=1, opacity=0, fill=False, interactive=False,
                                tooltip=folium.Tooltip(html.escape(str(text)), permanent=True,
                                                       direction="right", offset=(8, 0),
                                                       class_name="site-label")).add_to(m)
    pts = fit_to if fit_to is not None else (
        np.column_stack([chosen.geometry.y, chosen.geometry.x]) if len(chosen)
        else np.column_stack([g.geometry.y, g.geometry.x]))
    if len(pts):
        m.fit_bounds([[float(pts[:, 0].min()), float(pts[:, 1].min())],
                      [float(pts[:, 0].max()), float(pts[:, 1].max())]],
                     padding=(40, 40), max_zoom=7)
    # handles for scripts and tests: the map object and the points the view was fitted to
    m.siting_handles = (f"window.sitingMap = {m.get_name()};\n"
                        f"window.sitingChosen = {dumps_json([[float(a), float(b)] for a, b in pts])};")
    return m


def site_map(r: Report) -> folium.Map:
    """Candidates coloured by grid intensity; chosen sites sized by energy, outlined, labelled."""
    g = sites_geodataframe(r)
    emax = max(float(g["energy_mwh"].max()), 1.0)
    g = g.assign(
        radius=np.where(g["open"], 6 + 18 * np.sqrt(g["energy_mwh"] / emax), 3.5),
        colour=[_intensity_colour(c) for c in g["grid_ci_mean_g_per_kwh"]],
        status=np.where(g["open"], "chosen", "candidate"),
    )
    return points_map(g, ["site_id", "name", "country_iso3", "status", "energy_mwh", "location_t",
                          "embodied_t", "grid_ci_mean_g_per_kwh", "emissions_t",
                          "effective_ci_g_per_kwh", "renewable_share", "renewable_ci_g_per_kwh",
                          "binding", *SOURCE_COLUMNS])


def _leaflet_inline() -> str:
    base = Path(xleaflet.BASE_DIR)
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    return f"<style>{css}</style>\n<script>{js}</script>"


PAGE_CSS = """
html, body { height: auto !important; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #212529;
       max-width: 1200px !important; margin: 1.5rem auto !important; padding: 0 1rem !important;
       width: auto !important; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.cards { display: flex; flex-wrap: wrap; gap: .75rem; }
.card { border: 1px solid #dee2e6; border-radius: 6px; padding: .6rem .9rem; min-width: 9rem;
        max-width: 18rem; }
.card b { display: block; font-size: 1.15rem; } .card span { color: #6c757d; font-size: .8rem; }
.card small { display: block; color: #6c757d; font-size: .7rem; margin-top: .2rem; }
.map-wrap { position: relative; }
.folium-map { height: 540px !important; border: 1px solid #dee2e6; border-radius: 6px; }
.map-legend { position: absolute; right: 10px; bottom: 24px; z-index: 1000; background: #fff;
              border: 1px solid #adb5bd; border-radius: 4px; padding: .4rem .6rem; font-size: .75rem; }
.map-legend ul { list-style: none; margin: .3rem 0; padding: 0; }
.map-legend i { display: inline-block; width: 12px; height: 12px; margin-right: 6px;
                vertical-align: middle; border: 1px solid #868e96; }
.map-legend span { color: #6c757d; }
.leaflet-tooltip.site-label { font: 600 11px system-ui, sans-serif; color: #212529; padding: 0 3px;
              background: rgba(255,255,255,.8); border: 0; box-shadow: none; }
.leaflet-tooltip.site-label::before { display: none; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: .8rem; margin: .5rem 0; }
th, td { border-bottom: 1px solid #e9ecef; padding: .25rem .45rem; text-align: right;
         vertical-align: top; }
th { background: #f8f9fa; font-weight: 600; } td { text-align: left; max-width: 22rem;
     overflow-wrap: break-word; } td.n { text-align: right; white-space: nowrap; }
.charts img, .charts svg { max-width: 100%; height: auto; } .note { color: #6c757d; font-size: .85rem; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { max-width: none !important; margin: 0 !important; padding: 0 !important; font-size: 9pt; }
  h1 { font-size: 15pt; } h2 { font-size: 11pt; break-after: avoid; }
  .folium-map { height: 110mm !important; break-inside: avoid; }
  .leaflet-control-container { display: none; }
  .scroll { overflow: visible; }
  table { font-size: 7pt; width: 100%; }
  td, td.n, th { max-width: none; white-space: normal; overflow-wrap: anywhere; }
  tr, .card, .charts img, .charts svg { break-inside: avoid; }
  .charts img, .charts svg { max-height: 120mm; }
}
"""


def html_page(title: str, m: folium.Map, top: str, bottom: str, legend: str | None = None) -> str:
    """A self-contained page: inlined Leaflet and CSS, ``top`` (with the map placeholder
    ``<!--siting-map-->``), the map (with ``legend`` over it), then ``bottom``."""
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
    wrapped = f'<div class="map-wrap">{div.group(0)}{legend or legend_html()}</div>'
    page = page.replace(div.group(0), "", 1).replace("<!--siting-map-->", wrapped, 1)
    handles = getattr(m, "siting_handles", "")
    if handles:  # after folium's scripts, which create the map
        head, tail = page.rsplit("</html>", 1)
        page = f"{head}<script>\n{handles}\n</script>\n</html>{tail}"
    return stable_ids(page)


def stable_ids(page: str) -> str:
    """folium names its elements with random uuid4 hex (``map_3f2a...``): number them in order
    of appearance instead, so the same report gives the same bytes."""
    ids: dict[str, str] = {}

    def number(match: re.Match) -> str:
        return ids.setdefault(match.group(0), f"{len(ids) + 1:032d}")

    return re.sub(r"(?<=_)[0-9a-f]{32}(?![0-9a-zA-Z])", number, page)


def png_img(png: bytes, element_id: str, alt: str) -> str:
    """An ``<img>`` with the PNG inlined as a data URI (the page stays self-contained)."""
    return (f'<img id="{element_id}" alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode()}">')


def cards_html(figures: list[tuple[str, str]] | list[tuple[str, str, str]]) -> str:
    """Key-figure cards: (label, value) or (label, value, basis)."""
    def card(f):
        basis = f"<small>{html.escape(f[2])}</small>" if len(f) > 2 and f[2] else ""
        return f'<div class="card"><span>{html.escape(f[0])}</span><b>{html.escape(f[1])}</b>{basis}</div>'

    return '<div class="cards" id="headline">' + "".join(card(f) for f in figures) + "</div>"


def hourly_charts(r: Report) -> str:
    """Pareto front and month x hour CFE heatmaps, when the solution carries those tables:
    ``pareto`` (``cost_usd, co2_t[, label]``) and ``cfe_month_hour`` (``site_id, month 1-12,
    hour 0-23, cfe`` share). Empty when neither is there."""
    parts = []
    pareto = r.tables.get("pareto")
    if pareto is not None and len(pareto):
        parts.append('<h2>Cost against CO2 (Pareto front)</h2><div class="charts" id="chart-pareto">'
                     + charts.pareto_chart(pareto) + "</div>")
    cfe = r.tables.get("cfe_month_hour")
    if cfe is not None and len(cfe):
        chosen = set(r.ranked["site_id"])
        maps = []
        for site_id, block in cfe[cfe["site_id"].isin(chosen)].groupby("site_id", sort=True):
            grid = (block.pivot_table(index="month", columns="hour", values="cfe", aggfunc="mean")
                    .reindex(index=range(1, 13), columns=range(24)).to_numpy(float))
            maps.append(charts.cfe_heatmap(grid, f"{site_id}: hourly CFE share (month x hour, UTC)"))
        if maps:
            parts.append('<h2>Hourly carbon-free energy by site</h2><div class="charts" id="chart-cfe">'
                         + "".join(maps) + "</div>")
    return "".join(parts)


def to_html(r: Report) -> str:
    """The report as one self-contained HTML page (inlined Leaflet, map, charts, tables)."""
    s = r.summary
    headline = [(row.figure, _figure_value(row.value, row.unit), row.basis)
                for row in r.headline.itertuples()]
    headline += [(f"vs {b.baseline}", f"{'-' if b.saved_t >= 0 else '+'}{abs(b.saved_t):,.0f} t "
                  f"({'-' if b.saved_t >= 0 else '+'}{abs(b.saved_share):.0%})",
                  f"{b.basis}; plan {b.optimised_basis}") for b in r.baselines.itertuples()]
    top = (f"<h1>siting report: {html.escape(r.scenario)}</h1>"
           f"<p class='note'>Status {s['status']}; {html.escape(status_text(s))}.</p>"
           + cards_html(headline) + "<h2>Map</h2>"
           "<p class='note'>Chosen sites are outlined, labelled and sized by energy; colour is the "
           "site's grid intensity (location-based). Click a site for its figures and data "
           "sources.</p><!--siting-map-->")
    bottom = (
        "<h2>Baselines (like for like, operational only)</h2>"
        + html_table(baseline_table(r), "baselines")
        + "<h2>Ranked placements (cleanest first)</h2>"
        + html_table(ranked_table(r), "ranked")
        + "<h2>Charts</h2><div class='charts'>"
        + png_img(charts.emissions_by_site(r.sites), "chart-sites", "Emissions by site")
        + png_img(charts.baseline_vs_optimised(r.baselines), "chart-baseline",
                  "Baseline vs optimised")
        + "</div>" + hourly_charts(r)
        + "<h2>What binds, and what one more unit would save</h2>"
        + f"<p id='marginal-note'>{html.escape(r.marginal_note)}</p><p class='note'>tCO2e saved by "
          "one more GPU (over the horizon), MW of facility power, or MWh of renewables, from the "
          "LP with site and job decisions fixed.</p>" + html_table(marginal_table(r), "marginals")
        + hourly_marginals_html(r)
        + ("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in r.notes) + "</ul>"
           if r.notes else "")
        + "<h2>Assumptions</h2>" + html_table(r.assumptions[["key", "value", "unit", "source"]],
                                              "assumptions")
        + "<h2>Data sources and licences</h2>"
        + html_table(r.sources[["dataset", "licence", "attribution", "url"]], "sources"))
    return html_page(f"siting: {r.scenario}", site_map(r), top, bottom)


def write_report(r: Report, solution, out_dir: str | os.PathLike) -> list[Path]:
    """All report files in ``out_dir`` (created): the solution's CSVs, ranked.csv,
    baselines.csv, marginals.csv, report.md, report.html, sites.geojson, summary.json, and the
    solution itself under ``solution/`` (so ``siting report --from`` can rebuild them)."""
    from siting.report.store import save_solution

    out = Path(out_dir)
    written = solution.write(out)
    written += save_solution(solution, out)
    written += [
        write_table(out / "ranked.csv", r.ranked),
        write_table(out / "baselines.csv", r.baselines),
        write_table(out / "headline.csv", r.headline),
        write_table(out / "marginals.csv", r.sites[["site_id", "binding", "t_saved_per_gpu",
                                                     "t_saved_per_mw", "t_saved_per_renewable_mwh"]]),
        write_json(out / "summary.json", r.summary),
        write_text(out / "report.md", to_markdown(r)),
        write_text(out / "report.html", to_html(r)),
        write_geojson(out / "sites.geojson", sites_geodataframe(r)),
    ]
    return sorted(set(written))


REPORT_FILES = ("ranked.csv", "baselines.csv", "headline.csv", "marginals.csv", "summary.json",
                "report.md", "report.html", "sites.geojson", "assignments.csv", "sites.csv",
                "site_periods.csv")


def compare_runs(runs, *, baseline: str = "USA") -> pd.DataFrame:
    """Key figures of saved runs (folders written by ``siting optimize``/``report``), one column
    per run, one row per figure, each naming its basis. Figures a run lacks are left empty."""
    from siting.report.analysis import build_report
    from siting.report.store import load_solution

    columns, order = {}, []
    for run in runs:
        rep = build_report(load_solution(run), baseline=baseline)
        name = Path(run).name or str(run)
        if name in columns:
            name = str(run)
        col = {"scenario": rep.scenario, "status": rep.summary.get("status", "")}
        for row in rep.headline.itertuples():
            key = f"{row.figure} ({row.unit})"
            col[key] = row.value
        for b in rep.baselines.itertuples():
            col[f"vs {b.baseline}: saved (tCO2e)"] = b.saved_t
        col["GPU-hours"] = rep.totals["gpu_hours"]
        col["Chosen sites"] = ", ".join(rep.ranked["site_id"])
        columns[name] = col
        order += [k for k in col if k not in order]
    table = pd.DataFrame({name: [col.get(k) for k in order] for name, col in columns.items()},
                         index=order)
    table.index.name = "figure"
    return table.reset_index()


def _compare_cell(figure: str, v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, int | float) and not isinstance(v, bool):
        if figure.endswith("(share)"):
            return f"{v:.1%}"
        if figure.endswith("(sites)"):
            return f"{v:.0f}"
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.0f}"
    return str(v)


def comparison_text(table: pd.DataFrame, fmt: str) -> str:
    """The comparison as Markdown (``md``), CSV (``csv``) or a self-contained HTML page (``html``)."""
    if fmt == "csv":
        return table.to_csv(index=False, lineterminator="\n")
    cells = table.copy()
    for col in cells.columns[1:]:
        cells[col] = [_compare_cell(f, v) for f, v in zip(table["figure"], table[col], strict=True)]
    if fmt == "md":
        cols = list(cells.columns)
        lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
        lines += ["| " + " | ".join(v.replace("|", "/") for v in row) + " |"
                  for row in cells.itertuples(index=False)]
        return "\n".join(lines) + "\n"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cells.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
                   for row in cells.itertuples(index=False))
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>siting: comparison</title>"
            f"<style>{PAGE_CSS}</style></head><body><h1>siting: runs side by side</h1>"
            f'<div class="scroll"><table id="compare"><thead><tr>{head}</tr></thead><tbody>{body}'
            "</tbody></table></div></body></html>\n")
