"""Report charts: PNG bytes, embedded in the HTML page. Figures are made without pyplot,
so rendering never changes the caller's matplotlib backend (notebooks keep theirs)."""

from __future__ import annotations

import io

import pandas as pd
from matplotlib.figure import Figure

CLEAN, DIRTY, EMBODIED = "#2a9d8f", "#e76f51", "#8d99ae"


def _subplots(width: float, height: float):
    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot()


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def emissions_by_site(sites: pd.DataFrame, top: int = 15) -> bytes:
    """Horizontal bars: operational (location-based when the table has ``location_t``) and
    embodied tCO2e of the open sites."""
    op = "location_t" if "location_t" in sites else "operational_emissions_t"
    s = sites[sites["open"]].assign(_total=lambda d: d[op] + d["embodied_t"])
    s = s.nlargest(top, "_total").iloc[::-1]
    fig, ax = _subplots(7, 0.45 * len(s) + 1.2)
    labels = s["site_id"] + " " + s["name"].str.slice(0, 28)
    ax.barh(labels, s[op], color=DIRTY if op == "location_t" else CLEAN,
            label="operational, location-based" if op == "location_t" else "operational")
    ax.barh(labels, s["embodied_t"], left=s[op], color=EMBODIED, label="embodied")
    ax.set_xlabel("tCO2e")
    ax.set_title("Emissions by site (open sites)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.3 / max(len(s), 1)), ncol=2,
              frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def baseline_vs_optimised(baselines: pd.DataFrame) -> bytes:
    """Grouped bars: each baseline against the plan for the same workloads."""
    fig, ax = _subplots(7, 3.2)
    y = range(len(baselines))
    ax.barh([i + 0.2 for i in y], baselines["emissions_t"], height=0.4, color=DIRTY,
            label="baseline")
    ax.barh([i - 0.2 for i in y], baselines["optimised_t"], height=0.4, color=CLEAN,
            label="siting plan (location-based)")
    ax.set_yticks(list(y), baselines["baseline"].str.slice(0, 40))
    for i, (b, o) in enumerate(zip(baselines["emissions_t"], baselines["optimised_t"], strict=True)):
        ax.text(b, i + 0.2, f" {b:,.0f} t", va="center", fontsize=8)
        ax.text(o, i - 0.2, f" {o:,.0f} t", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("tCO2e")
    ax.set_title("Baselines vs the plan, like for like (location-based, operational)")
    ax.set_xlim(0, baselines["emissions_t"].max() * 1.18)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def evaluation_bars(ev: pd.DataFrame, top: int = 20) -> bytes:
    """Horizontal bars: emissions of the best-ranked sites, renewables vs grid share."""
    s = ev.head(top).iloc[::-1]
    fig, ax = _subplots(7, 0.38 * len(s) + 1.2)
    ax.barh(s["site_id"], s["emissions_t"], color=[CLEAN if f else DIRTY for f in s["fits"]])
    ax.set_xlabel("tCO2e if the site took all the work")
    ax.set_title("Candidate sites (green: has the room, red: too small)")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def _svg(fig: Figure) -> str:
    """An inline ``<svg>`` element (no XML prolog), fonts as paths, so the page stays offline."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "siting"}):  # stable ids: same input, same bytes
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


def pareto_chart(pareto: pd.DataFrame, title: str = "Cost against CO2: the Pareto front") -> str:
    """Scatter and step line of the non-dominated plans: ``cost_usd`` (x, USD) against ``co2_t``
    (y, tCO2e), labelled by ``label`` when the frame has one. Returns inline SVG text."""
    missing = [c for c in ("cost_usd", "co2_t") if c not in pareto]
    if missing:
        raise ValueError(f"pareto table needs columns cost_usd, co2_t; missing {missing}")
    p = pareto.sort_values("cost_usd", kind="stable")
    fig, ax = _subplots(7, 4)
    ax.plot(p["cost_usd"] / 1e6, p["co2_t"], color=CLEAN, marker="o", drawstyle="steps-post",
            label="plans (non-dominated)")
    if "label" in p:
        for x, y, text in zip(p["cost_usd"] / 1e6, p["co2_t"], p["label"].astype(str), strict=True):
            ax.annotate(text, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
    ax.set_xlabel("cost (million USD)")
    ax.set_ylabel("tCO2e")
    ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def cfe_heatmap(cfe, title: str) -> str:
    """Month (rows, Jan-Dec) x hour of day (columns, 0-23 UTC) heatmap of the hourly
    carbon-free energy share (0-1; NaN drawn blank). Returns inline SVG text."""
    import numpy as np

    grid = np.asarray(cfe, dtype=float)
    if grid.shape != (12, 24):
        raise ValueError(f"cfe_heatmap expects a 12 x 24 array (month x hour), got {grid.shape}")
    fig, ax = _subplots(7, 3.2)
    im = ax.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap="RdYlGn", vmin=0.0, vmax=1.0,
                   interpolation="nearest")
    ax.set_yticks(range(12), ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                              "Nov", "Dec"], fontsize=7)
    ax.set_xticks(range(0, 24, 3), [f"{h:02d}" for h in range(0, 24, 3)], fontsize=7)
    ax.set_xlabel("hour of day (UTC)")
    ax.set_title(title, fontsize=9)
    bar = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label("CFE share (hourly-matched)", fontsize=7)
    return _svg(fig)
