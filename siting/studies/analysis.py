"""What a study says: which sites are robust choices (rank stability), what each varied
assumption does to CO2 and cost (tornado), the spread across Monte Carlo draws, and the
CO2/cost Pareto front of each variant. Pure functions from the study folder's tables, and
an HTML page + CSVs with the report's conventions (:mod:`siting.report.render`)."""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from siting.assumptions import Assumptions, default_assumptions
from siting.errors import SitingError
from siting.io import write_table, write_text
from siting.studies.sweep import FAILED, PLAN_FILE, read_runs, site_table_path
from siting.units import WGS84

METRICS = ("co2_t", "cost_usd", "cfe")
METRIC_LABELS = {"co2_t": "CO2 (t)", "cost_usd": "cost (USD)", "cfe": "CFE share",
                 "sites_open": "sites open"}
SITE_COLUMNS = ["site_id", "name", "country_iso3", "lat", "lon", "open", "energy_mwh"]
ROBUST, SOMETIMES = "#2a9d8f", "#e9c46a"


@dataclass
class StudyReport:
    name: str
    runs: pd.DataFrame
    ok: pd.DataFrame  # runs with a plan
    stability: pd.DataFrame
    tornado: pd.DataFrame
    variants: pd.DataFrame  # each variant against base, paired
    distributions: pd.DataFrame
    pareto: pd.DataFrame
    pareto_axes: tuple[str, str]
    varied_keys: list[str]
    notes: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


def successful(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs that produced a plan (not failed, not infeasible, with a CO2 figure)."""
    return runs[~runs["status"].isin([FAILED, "infeasible"]) & runs["co2_t"].notna()]


def site_tables(out_dir: str | Path, run_ids) -> pd.DataFrame:
    """The per-run site tables of ``run_ids`` (columns :data:`SITE_COLUMNS` plus ``run_id``)."""
    frames = []
    for rid in run_ids:
        path = site_table_path(out_dir, rid)
        if not path.is_file():
            raise SitingError(f"{path}: site table of run {rid} missing; run the sweep again")
        df = pd.read_parquet(path)
        frames.append(df[[c for c in SITE_COLUMNS if c in df]].assign(run_id=rid))
    if not frames:
        return pd.DataFrame(columns=[*SITE_COLUMNS, "run_id"])
    return pd.concat(frames, ignore_index=True)


def rank_stability(ok: pd.DataFrame, sites: pd.DataFrame, a: Assumptions) -> pd.DataFrame:
    """Per site chosen at least once (open and hosting work): in how many runs (and which
    share, overall and by variant) it is chosen, its mean energy then, and whether it is a
    robust choice (chosen in at least ``study_robust_site_share`` of the runs)."""
    chosen = sites["open"].astype(bool) & (sites["energy_mwh"] > 0)  # open and hosting work
    opened = sites[chosen].merge(ok[["run_id", "variant"]], on="run_id")
    cols = ["site_id", "name", "country_iso3", "runs_open", "share_open", "robust",
            "energy_mwh_when_open", "lat", "lon"]
    if opened.empty:
        return pd.DataFrame(columns=cols)
    g = opened.groupby("site_id")
    out = g[["name", "country_iso3", "lat", "lon"]].first()
    out["runs_open"] = g.size()
    out["share_open"] = out["runs_open"] / len(ok)
    out["robust"] = out["share_open"] >= a["study_robust_site_share"]
    out["energy_mwh_when_open"] = g["energy_mwh"].mean()
    per_variant = ok.groupby("variant").size()
    if len(per_variant) > 1:
        counts = opened.groupby(["site_id", "variant"]).size().unstack(fill_value=0)
        for v in per_variant.index:
            share = counts[v] / per_variant[v] if v in counts else 0.0
            out[f"share_open_{v}"] = pd.Series(share, index=counts.index).reindex(out.index).fillna(0.0)
    out = out.reset_index()
    extra = [c for c in out.columns if c.startswith("share_open_")]
    return (out[cols[:6] + extra + cols[6:]]
            .sort_values(["share_open", "energy_mwh_when_open", "site_id"],
                         ascending=[False, False, True], kind="stable").reset_index(drop=True))


def _numeric_keys(ok: pd.DataFrame, keys: list[str]) -> list[str]:
    return [k for k in keys if k in ok and pd.api.types.is_numeric_dtype(ok[k])
            and ok[k].nunique() > 1]


def tornado(ok: pd.DataFrame, keys: list[str], a: Assumptions,
            metrics=("co2_t", "cost_usd")) -> pd.DataFrame:
    """Main effect of each varied numeric key on each metric: the mean of the metric over
    the runs at the key's low values minus over those at its high values, everything else
    averaged over the study (a full factorial or independent draws keep this unbiased)."""
    q = a["study_tornado_quantile"]
    rows = []
    for metric in metrics:
        if metric not in ok or ok[metric].notna().sum() == 0:
            continue
        for key in _numeric_keys(ok, keys):
            x = ok[key]
            # actual values of the key (a grid's lowest and highest), not interpolated ones
            lo_v = float(x.quantile(q, interpolation="lower"))
            hi_v = float(x.quantile(1 - q, interpolation="higher"))
            low, high = ok.loc[x <= lo_v, metric].dropna(), ok.loc[x >= hi_v, metric].dropna()
            if low.empty or high.empty:
                continue
            rows.append({"metric": metric, "key": key, "low_value": lo_v, "high_value": hi_v,
                         "n_low": len(low), "n_high": len(high), "metric_at_low": low.mean(),
                         "metric_at_high": high.mean(), "effect": high.mean() - low.mean()})
    out = pd.DataFrame(rows, columns=["metric", "key", "low_value", "high_value", "n_low", "n_high",
                                      "metric_at_low", "metric_at_high", "effect"])
    if out.empty:
        return out
    out["abs_effect"] = out["effect"].abs()
    return out.sort_values(["metric", "abs_effect", "key"], ascending=[True, False, True],
                           kind="stable").reset_index(drop=True)


def variant_effects(ok: pd.DataFrame, keys: list[str], metrics=METRICS) -> pd.DataFrame:
    """Each variant against the base scenario, run for run: the metric's difference between
    the variant and ``base`` at the same grid point and draw (paired), mean, min and max."""
    rows = []
    if "base" not in set(ok["variant"]):
        return pd.DataFrame(columns=["variant", "metric", "n_pairs", "mean_effect", "min_effect",
                                     "max_effect"])
    match = [k for k in keys if k in ok] + ["draw"]
    idx = ok[match].astype("string").fillna("<NA>").agg("|".join, axis=1)
    for metric in metrics:
        if metric not in ok or ok[metric].notna().sum() == 0:
            continue
        table = ok.assign(point=idx).pivot_table(index="point", columns="variant", values=metric,
                                                 aggfunc="first")
        for variant in [v for v in dict.fromkeys(ok["variant"]) if v != "base"]:
            if variant not in table:
                continue
            d = (table[variant] - table["base"]).dropna()
            if d.empty:
                continue
            rows.append({"variant": variant, "metric": metric, "n_pairs": len(d),
                         "mean_effect": d.mean(), "min_effect": d.min(), "max_effect": d.max()})
    return pd.DataFrame(rows, columns=["variant", "metric", "n_pairs", "mean_effect", "min_effect",
                                       "max_effect"])


def distributions(ok: pd.DataFrame, a: Assumptions, metrics=METRICS) -> pd.DataFrame:
    """Per variant and metric: n, mean, sd and the interval across the runs (the draws of a
    Monte Carlo study, the grid points otherwise)."""
    lo, hi = a["study_interval_low"], a["study_interval_high"]
    rows = []
    for metric in metrics:
        if metric not in ok or ok[metric].notna().sum() == 0:
            continue
        for variant, g in ok.groupby("variant", sort=False):
            v = g[metric].dropna()
            if v.empty:
                continue
            rows.append({"variant": variant, "metric": metric, "n": len(v), "mean": v.mean(),
                         "sd": v.std(ddof=1) if len(v) > 1 else 0.0, "min": v.min(),
                         f"p{lo * 100:g}": v.quantile(lo), "p50": v.median(),
                         f"p{hi * 100:g}": v.quantile(hi), "max": v.max()})
    return pd.DataFrame(rows)


def pareto_axes(ok: pd.DataFrame) -> tuple[str, str]:
    """(x, y) of the trade-off: cost against CO2 when the model reports cost, else the
    number of open sites against CO2."""
    x = "cost_usd" if "cost_usd" in ok and ok["cost_usd"].notna().any() else "sites_open"
    return x, "co2_t"


def pareto_fronts(ok: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Per variant, the runs no other run of the variant beats on both ``x`` and ``y``
    (both minimised), sorted by ``x``."""
    rows = []
    for variant, g in ok.dropna(subset=[x, y]).groupby("variant", sort=False):
        g = g.sort_values([x, y], kind="stable")
        best = math.inf
        for r in g.itertuples(index=False):  # one pass over a variant's sorted runs
            xv, yv = float(getattr(r, x)), float(getattr(r, y))
            if yv < best:
                best = yv
                rows.append({"variant": variant, "run_id": r.run_id, x: xv, y: yv})
    return pd.DataFrame(rows, columns=["variant", "run_id", x, y])


# ------------------------------------------------------------------------------ charts
def _png(fig: Figure) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def tornado_chart(t: pd.DataFrame) -> bytes:
    metrics = list(dict.fromkeys(t["metric"]))
    fig = Figure(figsize=(7, 0.5 * max(len(t), 2) + 1.2 * len(metrics)))
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(len(metrics), 1, i + 1)
        d = t[t["metric"] == metric].iloc[::-1]
        left = np.minimum(d["metric_at_low"], d["metric_at_high"])
        colour = np.where(d["effect"] > 0, "#e76f51", "#2a9d8f")
        labels = [f"{k} ({lv:g} -> {hv:g})" for k, lv, hv in
                  zip(d["key"], d["low_value"], d["high_value"], strict=True)]
        ax.barh(labels, d["abs_effect"].to_numpy(), left=left, color=colour)
        ax.set_xlabel(f"{METRIC_LABELS.get(metric, metric)}: mean at low vs high value "
                      "(red: rises with the value)")
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle("What each assumption does (tornado)")
    return _png(fig)


def distribution_chart(ok: pd.DataFrame, metrics: list[str]) -> bytes:
    fig = Figure(figsize=(7, 2.6 * len(metrics)))
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(len(metrics), 1, i + 1)
        for variant, g in ok.groupby("variant", sort=False):
            v = g[metric].dropna()
            if len(v):  # runs that agree to rounding get one bar, not bins of zero width
                bins = 1 if np.isclose(v.min(), v.max()) else min(20, max(len(v) // 2, 1))
                ax.hist(v, bins=bins, alpha=0.55, label=str(variant))
        ax.set_xlabel(METRIC_LABELS.get(metric, metric))
        ax.set_ylabel("runs")
        ax.legend(frameon=False, fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle("Distribution across runs")
    return _png(fig)


def pareto_chart(ok: pd.DataFrame, front: pd.DataFrame, x: str, y: str) -> bytes:
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    for variant, g in ok.dropna(subset=[x, y]).groupby("variant", sort=False):
        pts = ax.scatter(g[x], g[y], s=12, alpha=0.35)
        f = front[front["variant"] == variant]
        ax.step(f[x], f[y], where="post", color=pts.get_facecolor()[0][:3], label=str(variant))
    ax.set_xlabel(METRIC_LABELS.get(x, x))
    ax.set_ylabel(METRIC_LABELS.get(y, y))
    ax.set_title("Pareto fronts by variant (lower left is better)")
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


# ------------------------------------------------------------------------------ report
def _plan(out: Path) -> dict:
    path = out / PLAN_FILE
    if not path.is_file():
        raise SitingError(f"{out}: not a study folder (no {PLAN_FILE}); run `siting sweep` first")
    return json.loads(path.read_text(encoding="utf-8"))


def build_study_report(out_dir: str | Path, assumptions: Assumptions | None = None) -> StudyReport:
    """Every table of the study report, from a study folder written by :func:`run_study`."""
    a = assumptions or default_assumptions()
    out = Path(out_dir)
    plan = _plan(out)
    runs = read_runs(out)
    if runs.empty:
        raise SitingError(f"{out}: no runs recorded yet; run `siting sweep` first")
    keys = list(plan["varied_keys"])
    ok = successful(runs)
    sites = site_tables(out, ok.loc[ok["sites_open"].notna(), "run_id"])
    x, y = pareto_axes(ok)
    report = StudyReport(
        name=plan["study"]["name"], runs=runs, ok=ok, stability=rank_stability(ok, sites, a),
        tornado=tornado(ok, keys, a), variants=variant_effects(ok, keys),
        distributions=distributions(ok, a),
        pareto=pareto_fronts(ok, x, y), pareto_axes=(x, y), varied_keys=keys)
    counts = runs["status"].value_counts()
    missing = plan["n_members"] - len(runs)
    notes = []
    if missing:
        notes.append(f"{missing} of {plan['n_members']} members have not run yet: the study is "
                     "incomplete; run the sweep again to finish it.")
    if counts.get(FAILED, 0):
        notes.append(f"{counts[FAILED]} run(s) failed (listed below) and are left out of every figure.")
    if counts.get("infeasible", 0):
        notes.append(f"{counts['infeasible']} run(s) were infeasible and are left out of every figure.")
    periods = [p for p in plan.get("periods", []) if p != "hourly"]
    if periods:
        notes.append(f"CO2 of {'/'.join(periods)} runs comes from {'/'.join(periods)} balances: "
                     "renewable supply is matched over each period, not hour by hour, so it is "
                     "not a physical (hourly, 24/7 CFE) emission figure.")
    for metric in ("cost_usd", "cfe"):
        if ok.empty or ok[metric].isna().all():
            notes.append(f"The model reported no {metric} in these runs: its figures are omitted.")
    if x != "cost_usd":
        notes.append("Without costs, the Pareto fronts trade CO2 against the number of open sites.")
    top = report.tornado[report.tornado["metric"] == "co2_t"].head(1)
    robust = report.stability[report.stability["robust"]]
    report.notes = notes
    report.summary = {
        "study": report.name, "members": plan["n_members"], "runs": len(runs),
        "successful": len(ok), "failed": int(counts.get(FAILED, 0)),
        "infeasible": int(counts.get("infeasible", 0)),
        "robust_sites": robust["site_id"].tolist(),
        "robust_share": a["study_robust_site_share"],
        "largest_co2_effect": (None if top.empty else {"key": top["key"].iloc[0],
                                                       "effect_t": float(top["effect"].iloc[0])}),
        "co2_t": _stats(ok["co2_t"]), "cost_usd": _stats(ok["cost_usd"]), "cfe": _stats(ok["cfe"]),
    }
    return report


def _stats(v: pd.Series) -> dict | None:
    v = v.dropna()
    if v.empty:
        return None
    return {"min": float(v.min()), "median": float(v.median()), "max": float(v.max())}


def key_figures(r: StudyReport) -> list[tuple[str, str]]:
    s = r.summary
    figs = [("Runs", f"{s['successful']} ok / {s['runs']} of {s['members']}"),
            ("Robust sites", f"{len(s['robust_sites'])} (open in >= {s['robust_share']:.0%})")]
    if s["co2_t"]:
        figs.append(("CO2", f"{s['co2_t']['min']:,.0f} - {s['co2_t']['max']:,.0f} t"))
    if s["cost_usd"]:
        figs.append(("Cost", f"{s['cost_usd']['min']:,.0f} - {s['cost_usd']['max']:,.0f} USD"))
    e = s["largest_co2_effect"]
    if e and not np.isclose(e["effect_t"], 0.0):
        figs.append(("Largest CO2 effect", f"{e['key']} ({e['effect_t']:+,.1f} t)"))
    elif e:
        figs.append(("Largest CO2 effect", "none: no varied key moves CO2"))
    return figs


def stability_map(r: StudyReport):
    from siting.report.render import points_map

    s = r.stability
    g = gpd.GeoDataFrame(s, geometry=gpd.points_from_xy(s["lon"], s["lat"]), crs=WGS84)
    g = g.assign(radius=4 + 14 * np.sqrt(g["share_open"].astype(float)),
                 colour=np.where(g["robust"], ROBUST, SOMETIMES), open=g["robust"].astype(bool))
    return points_map(g, ["site_id", "name", "country_iso3", "runs_open", "share_open",
                          "energy_mwh_when_open"])


def to_html(r: StudyReport) -> str:
    from siting.report.render import cards_html, html_page, html_table, png_img

    top = (f"<h1>siting study: {html.escape(r.name)}</h1>"
           f"<p class='note'>{len(r.runs)} runs recorded; varied: "
           f"{html.escape(', '.join(r.varied_keys) or '(variants only)')}; variants: "
           f"{html.escape(', '.join(dict.fromkeys(r.runs['variant'].astype(str))))}.</p>"
           + cards_html(key_figures(r)) + "<h2>Map</h2>"
           "<p class='note'>Sites chosen in at least one run, sized by the share of runs they are "
           "open in; robust choices are outlined and green.</p><!--siting-map-->")
    parts = ["<h2>Rank stability: how often each site is chosen</h2>",
             html_table(r.stability.drop(columns=["lat", "lon"]), "stability")]
    if not r.tornado.empty:
        parts += ["<h2>Which assumptions matter (tornado)</h2><p class='note'>Mean of each metric "
                  "over the runs at a parameter's low values against its high values, all else "
                  "averaged over the study.</p><div class='charts'>",
                  png_img(tornado_chart(r.tornado), "chart-tornado", "Tornado chart"), "</div>",
                  html_table(r.tornado.drop(columns=["abs_effect"]), "tornado")]
    if not r.variants.empty:
        parts += ["<h2>What each variant does</h2><p class='note'>Difference from the base "
                  "scenario at the same grid point and draw.</p>",
                  html_table(r.variants, "variants")]
    metrics = [m for m in METRICS if not r.ok.empty and r.ok[m].notna().any()]
    if metrics:
        parts += ["<h2>Distributions across runs</h2><div class='charts'>",
                  png_img(distribution_chart(r.ok, metrics), "chart-distributions", "Distributions"),
                  "</div>", html_table(r.distributions, "distributions")]
    if not r.pareto.empty:
        x, y = r.pareto_axes
        parts += ["<h2>Pareto fronts of the variants</h2><div class='charts'>",
                  png_img(pareto_chart(r.ok, r.pareto, x, y), "chart-pareto", "Pareto fronts"),
                  "</div>", html_table(r.pareto, "pareto")]
    if r.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in r.notes)
                     + "</ul>")
    failed = r.runs[r.runs["status"].isin([FAILED, "infeasible"])]
    if len(failed):
        parts += ["<h2>Failed and infeasible runs</h2>",
                  html_table(failed[["run_id", "variant", *r.varied_keys, "status", "error"]],
                             "failed")]
    parts += ["<h2>All runs</h2>", html_table(r.runs.drop(columns=["error"]), "runs")]
    return html_page(f"siting study: {r.name}", stability_map(r), top, "".join(parts))


def _strict(obj):
    if isinstance(obj, dict):
        return {k: _strict(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_strict(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_study_report(r: StudyReport, out_dir: str | Path) -> list[Path]:
    """``study_report.html``, ``rank_stability.csv``, ``tornado.csv``, ``variants.csv``,
    ``distributions.csv``,
    ``pareto.csv``, ``runs.csv`` and ``study_summary.json`` in ``out_dir``."""
    out = Path(out_dir)
    return [write_table(out / "rank_stability.csv", r.stability),
            write_table(out / "tornado.csv", r.tornado),
            write_table(out / "variants.csv", r.variants),
            write_table(out / "distributions.csv", r.distributions),
            write_table(out / "pareto.csv", r.pareto),
            write_table(out / "runs.csv", r.runs),
            write_text(out / "study_summary.json",
                       json.dumps(_strict(r.summary), indent=2, allow_nan=False) + "\n"),
            write_text(out / "study_report.html", to_html(r))]


def study_report(out_dir: str | Path, assumptions: Assumptions | None = None) -> StudyReport:
    """Build the report of a study folder and write it there; returns the tables."""
    r = build_study_report(out_dir, assumptions)
    write_study_report(r, out_dir)
    return r
