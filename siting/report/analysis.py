"""What a planner reads: ranked placements, totals, baselines, binding constraints and
marginal values, assumptions and sources. Pure functions from a :class:`Solution`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from siting.assumptions import Assumptions, default_assumptions
from siting.data.registry import DATASETS
from siting.errors import SitingError
from siting.intensity import country_intensity
from siting.model.solution import Solution

# Meta's Llama 3.1 card: GPU-hours -> location-based tCO2e, on H100-80GB at 700 W
# Meta's Llama 3.1 card: GPU-hours -> location-based tCO2e, on H100-80GB; the figures are
# the table's llama31_<size>_gpu_hours / _location_based_t rows
LLAMA31_SIZES = ("405b", "70b", "8b")
# Default baseline country (text, so not in the numeric assumptions table): the US grid,
# where Meta's Llama 3.1 card places its location-based figures
BASELINE_COUNTRY_ISO3 = "USA"


def llama31_card(a: Assumptions) -> list[tuple[str, float, float]]:
    """``(workload id, GPU-hours, location-based tCO2e)`` of each Llama 3.1 run on Meta's card."""
    return [(f"llama31_{size}", a[f"llama31_{size}_gpu_hours"], a[f"llama31_{size}_location_based_t"])
            for size in LLAMA31_SIZES]


@dataclass
class Report:
    """Everything the report files show. ``headline`` rows are ``label, value, unit, basis``;
    ``tables`` carries extra solution tables the page can draw (``pareto``, ``cfe_hourly``)."""

    scenario: str
    ranked: pd.DataFrame
    sites: pd.DataFrame  # every candidate with results and marginal values
    totals: dict
    baselines: pd.DataFrame
    assumptions: pd.DataFrame
    sources: pd.DataFrame
    summary: dict
    notes: list[str] = field(default_factory=list)
    headline: pd.DataFrame = field(default_factory=pd.DataFrame)
    marginal_note: str = ""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


# ------------------------------------------------------------------ report inputs
REPORT_TABLES = ("marginals", "workloads", "site_inputs", "grid_ci_periods", "energy_periods")


def report_tables(solution: Solution) -> dict[str, pd.DataFrame]:
    """The problem-side tables a report needs, from a solution that still carries its model:
    the marginal values the solve computed (``solution.marginals``, read, not recomputed), the
    workloads, the site inputs (with the mean grid intensity), grid intensity per site and
    period, and the plan's IT energy per period. Saved with the solution
    (siting.report.store), they let a report be rebuilt without the model."""
    if solution.model is None:
        raise SitingError("this solution carries no model; produce it with siting.model.optimize")
    if solution.marginals is None:
        raise SitingError("this solution carries no marginal values; produce it with "
                          "siting.model.optimize")
    p = solution.problem
    site_inputs = pd.DataFrame(p.sites).copy()
    site_inputs["grid_ci_mean_g_per_kwh"] = p.grid_ci.mean(axis=1)
    ids = p.sites["site_id"].to_numpy()
    periods = np.asarray(p.periods)
    grid = pd.DataFrame({"site_id": np.repeat(ids, p.n_periods),
                         "period": np.tile(periods, p.n_sites),
                         "grid_ci_g_per_kwh": p.grid_ci.reshape(-1)})
    e = p.workloads["energy_mwh"].to_numpy(float)
    energy = pd.DataFrame({"period": periods, "it_energy_mwh": e @ p.share})
    return {"marginals": solution.marginals, "workloads": pd.DataFrame(p.workloads).copy(),
            "site_inputs": site_inputs, "grid_ci_periods": grid, "energy_periods": energy}


def ensure_report_tables(solution: Solution) -> dict[str, pd.DataFrame]:
    """``solution.tables`` with the report inputs added (computed once, from the model)."""
    tables = solution.tables
    missing = [k for k in REPORT_TABLES if k not in tables]
    if missing:
        if solution.model is None:
            raise SitingError(f"the saved solution lacks the report tables {missing}; solve again "
                              "with `siting report`")
        tables.update({k: v for k, v in report_tables(solution).items() if k in missing})
    return tables


def cfe_month_hour(site_hours: pd.DataFrame) -> pd.DataFrame:
    """Month x hour-of-day CFE share per site from an hourly table (``site_id``, ``timestamp``
    in UTC, and ``cfe`` or ``clean_mwh`` with ``energy_mwh``): ``site_id, month, hour, cfe``.
    With energies the share is energy-weighted (clean MWh / MWh), else the plain mean."""
    missing = [c for c in ("site_id", "timestamp") if c not in site_hours]
    if missing or not ("cfe" in site_hours or {"clean_mwh", "energy_mwh"} <= set(site_hours)):
        raise SitingError("site_hours needs site_id, timestamp and cfe (or clean_mwh and energy_mwh)")
    ts = pd.to_datetime(site_hours["timestamp"], utc=True)
    frame = pd.DataFrame({"site_id": site_hours["site_id"].to_numpy(), "month": ts.dt.month.to_numpy(),
                          "hour": ts.dt.hour.to_numpy()})
    keys = ["site_id", "month", "hour"]
    if {"clean_mwh", "energy_mwh"} <= set(site_hours):
        frame["clean_mwh"] = site_hours["clean_mwh"].to_numpy(float)
        frame["energy_mwh"] = site_hours["energy_mwh"].to_numpy(float)
        g = frame.groupby(keys, as_index=False)[["clean_mwh", "energy_mwh"]].sum()
        g["cfe"] = (g["clean_mwh"] / g["energy_mwh"]).where(g["energy_mwh"] > 0)
        return g[keys + ["cfe"]]
    frame["cfe"] = site_hours["cfe"].to_numpy(float)
    return frame.groupby(keys, as_index=False)["cfe"].mean()


# ------------------------------------------------------------------ baselines
def location_based_by_site(solution: Solution, tables: dict) -> pd.DataFrame:
    """Per site: facility energy and location-based tCO2e (all of it at the grid intensity of
    its periods, renewables not netted): the basis published model cards use."""
    per = solution.periods
    if per.empty:
        return pd.DataFrame({"site_id": [], "energy_mwh": [], "location_t": []})
    loc = per.assign(location_t=per["energy_mwh"] * per["grid_ci_g_per_kwh"] / 1000.0)
    return loc.groupby("site_id", as_index=False)[["energy_mwh", "location_t"]].sum()


def period_label(n_periods: int) -> str:
    """'annual', 'monthly' or 'hourly' for a number of model periods."""
    return {1: "annual", 12: "monthly"}.get(n_periods, "hourly" if n_periods >= 8760 else
                                            f"{n_periods}-period")


def baseline_country(solution: Solution, country_iso3: str, year: int | None = None, *,
                     assumptions: Assumptions | None = None, workloads: pd.DataFrame | None = None
                     ) -> dict:
    """The same workloads at a country's average grid intensity, with the default PUE
    (location-based, annual grid average)."""
    a = assumptions or default_assumptions()
    wl = workloads if workloads is not None else solution.tables["workloads"]
    ci, yr = country_intensity(country_iso3, year)
    pue = a["pue_default"]
    energy = float(wl["energy_mwh"].sum()) * pue
    return {"baseline": f"{country_iso3.upper()} grid average ({yr}, PUE {pue:g})",
            "basis": "location-based, annual grid average", "emissions_t": energy * ci / 1000.0,
            "energy_mwh": energy, "ci_g_per_kwh": ci}


def baseline_site(solution: Solution, site_id: str, tables: dict | None = None) -> dict:
    """The same workloads all at one site, on its grid (location-based)."""
    t = tables if tables is not None else solution.tables
    inputs = t["site_inputs"]
    if site_id not in set(inputs["site_id"]):
        raise SitingError(f"baseline site {site_id!r} is not in the sites table")
    row = inputs[inputs["site_id"] == site_id].iloc[0]
    grid = t["grid_ci_periods"]
    g = grid[grid["site_id"] == site_id].set_index("period")["grid_ci_g_per_kwh"]
    energy = t["energy_periods"].set_index("period")["it_energy_mwh"] * float(row["pue"])
    em = float((energy * g.reindex(energy.index)).sum()) / 1000.0
    total = float(energy.sum())
    return {"baseline": f"site {site_id} grid ({row['name']})",
            "basis": f"location-based, {period_label(len(energy))} grid intensity",
            "emissions_t": em, "energy_mwh": total, "ci_g_per_kwh": em * 1000 / max(total, 1e-9)}


def card_baseline(solution: Solution, workloads: pd.DataFrame, plan_location: pd.DataFrame,
                  assumptions: Assumptions) -> dict | None:
    """Meta's location-based figures for the Llama 3.1 runs found in the scenario (matched by
    GPU-hours at the card's GPU power), against the plan's location-based emissions for those runs."""
    wl = workloads
    card_kw = assumptions["llama31_gpu_power_w"] / 1000.0
    matched, card_t = [], 0.0
    for _, hours, tonnes in llama31_card(assumptions):
        hit = wl[np.isclose(wl["gpu_hours"], hours, rtol=1e-6) & np.isclose(wl["gpu_power_kw"], card_kw)]
        if len(hit):
            matched.append(hit["workload_id"].iloc[0])
            card_t += tonnes
    if not matched:
        return None
    a = solution.assignments
    ci = (plan_location.set_index("site_id")["location_t"]
          / plan_location.set_index("site_id")["energy_mwh"].where(lambda x: x > 0))
    mine = a[a["workload_id"].isin(matched)]
    if "co2_location_t" in mine:  # hourly model: each placement at its hours' grid intensity
        plan_t = float(mine["co2_location_t"].sum())
    else:
        plan_t = float((mine["energy_mwh"] * mine["site_id"].map(ci).fillna(0.0)).sum())
    label = "Llama 3.1 card" + ("" if len(matched) == len(LLAMA31_SIZES) else f" ({', '.join(matched)})")
    return {"baseline": label, "basis": "location-based (Meta's card; the plan at its grid "
            f"intensity, {period_label(solution.summary.get('n_periods', 1))} average)",
            "emissions_t": card_t, "optimised_t": plan_t, "workloads": ", ".join(matched)}


def ranked_placements(solution: Solution, marginals: pd.DataFrame) -> pd.DataFrame:
    """Open sites, cleanest first, with their workloads, figures and marginal values."""
    a, s = solution.assignments, pd.DataFrame(solution.sites)
    placed = (a.groupby("site_id")["workload_id"].agg(lambda ids: ", ".join(sorted(ids)))
              .rename("workloads"))
    opened = s[s["open"]].merge(placed, on="site_id", how="left").merge(
        marginals, on="site_id", how="left")
    opened = opened.sort_values(["effective_ci_g_per_kwh", "site_id"], kind="stable")
    opened.insert(0, "rank", np.arange(1, len(opened) + 1))
    cols = ["rank", "site_id", "name", "country_iso3", "workloads", "gpu_hours", "energy_mwh",
            "renewable_share", "emissions_t", "effective_ci_g_per_kwh", "gpu_utilisation",
            "mw_utilisation", "renewable_utilisation", "binding", "t_saved_per_gpu",
            "t_saved_per_mw", "t_saved_per_renewable_mwh"]
    return opened[cols].reset_index(drop=True)


def sources_table() -> pd.DataFrame:
    """Every dataset of the registry with its licence, attribution and URL."""
    return pd.DataFrame([{"dataset": d.name, "title": d.title, "licence": d.licence,
                          "attribution": d.attribution, "url": d.files[0].url,
                          "in_embedded_default": d.redistributable} for d in DATASETS.values()])


def embodied_figure(solution: Solution, gpu_hours: float, assumptions: Assumptions) -> tuple[float, str]:
    """Embodied (manufacturing) tCO2e of the plan and where the number comes from: the model's
    ``embodied_t`` when it has one, else per-site figures given in the sites table, else the
    GPU-hours at ``embodied_g_per_gpu_hour`` (anchored on BLOOM, Luccioni et al. 2022)."""
    s = solution.summary
    if s.get("embodied_t") is not None:
        return float(s["embodied_t"]), "model"
    given = float(pd.DataFrame(solution.sites)["embodied_t"].sum())
    if given > 0:
        return given, "sites table (embodied_t of opened sites)"
    factor = assumptions["embodied_g_per_gpu_hour"]
    return gpu_hours * factor / 1e6, (f"{factor:g} g per GPU-hour (BLOOM: 11.2 t over 1,082,990 "
                                      "A100 GPU-hours, Luccioni et al. 2022)")


def headline_rows(summary: dict, totals: dict) -> pd.DataFrame:
    """The first figures of the report, each with its accounting basis. Hourly-model keys
    (``co2_location_t``, ``cfe``, ``cost_usd``, ``co2_t``) appear only when the summary has them;
    period-matched renewables are labelled as such and never as physical emissions."""
    rows = []
    per = totals["period_label"]

    def add(label, value, unit, basis):
        rows.append({"figure": label, "value": value, "unit": unit, "basis": basis})

    if summary.get("co2_location_t") is not None:
        add("Location-based CO2", float(summary["co2_location_t"]), "tCO2e",
            "location-based: every MWh at the grid intensity of its hour")
    else:
        add("Location-based CO2", totals["location_t"], "tCO2e",
            f"location-based: every MWh at the {per} average grid intensity (no hourly data)")
    if summary.get("cfe") is not None:
        add("Hourly CFE share", float(summary["cfe"]), "share",
            "hourly-matched: clean supply counted only in the hour it is produced")
    if summary.get("cost_usd") is not None:
        add("Cost", float(summary["cost_usd"]), "USD", "energy and procurement over the horizon")
    add("Embodied emissions", totals["embodied_t"], "tCO2e",
        "manufacturing of the GPUs used, " + totals["embodied_source"])
    if summary.get("co2_t") is not None:
        add("Plan CO2", float(summary["co2_t"]), "tCO2e",
            "hourly-matched: procured clean supply in its hour, grid for the rest")
    if summary.get("cfe") is None:  # the annual/monthly model: period-matched, labelled so
        add(f"Plan CO2, {per}-matched renewables", totals["operational_t"], "tCO2e",
            f"market-style: nearby renewables credited against load over each {per} period at "
            "lifecycle intensity, not hour by hour; not a physical emission")
        add(f"Renewable share, {per}-matched", totals["renewable_share"], "share",
            f"{per} balance of contracted renewables, not hourly CFE")
    if summary.get("co2_annual_certificates_t") is not None:
        add("Plan CO2, annual certificates", float(summary["co2_annual_certificates_t"]), "tCO2e",
            "market-based: procured MWh netted against load over the year (what an annual "
            "certificate claim would report); not a physical emission")
    add("Energy", totals["energy_mwh"], "MWh", "facility energy (IT x PUE)")
    add("Sites open", totals["sites_open"], "sites", "")
    return pd.DataFrame(rows)


def explain_marginals(ranked: pd.DataFrame, sites: pd.DataFrame) -> str:
    """One sentence on what the marginal values say, instead of a table of zeros."""
    raw = ranked[["t_saved_per_gpu", "t_saved_per_mw", "t_saved_per_renewable_mwh"]]
    if len(raw) and raw.isna().all(axis=None):  # the hourly model reports what binds, no duals yet
        binds = ranked.loc[ranked["binding"].fillna("") != "", ["site_id", "binding"]]
        what = ("Binding: " + "; ".join(f"{r.site_id}: {r.binding}" for r in binds.itertuples()) + "."
                if len(binds) else "No site's GPUs are full in any hour.")
        return (what + " Tonnes saved per extra GPU, MW or MWh are given when the plan minimises "
                "tCO2e; the hourly plan's marginal values in its objective's units are listed under "
                "'Marginal values (hourly plan)'.")
    values = raw.fillna(0.0)
    if (ranked["binding"].fillna("") != "").any() or (values.abs() > 0).any(axis=None):
        binds = ranked.loc[ranked["binding"].fillna("") != "", ["site_id", "binding"]]
        if binds.empty:
            return "One more unit at the sites below would lower emissions."
        return ("Binding: " + "; ".join(f"{r.site_id}: {r.binding}" for r in binds.itertuples())
                + ". One more unit there saves the tonnes below.")
    open_ci = ranked["effective_ci_g_per_kwh"].dropna()
    if open_ci.empty:
        return "No constraint binds."
    best = float(open_ci.min())
    ren_ci = sites["renewable_ci_g_per_kwh"] if "renewable_ci_g_per_kwh" in sites else None
    grid = sites.get("grid_ci_mean_g_per_kwh")
    if ren_ci is None or grid is None or "cfe" in sites:  # hourly model: no tie by one CI
        return "No constraint binds: one more GPU, MW or MWh at the chosen sites would save nothing."
    reach = np.minimum(ren_ci.fillna(np.inf), grid.fillna(np.inf))
    ties = int((np.abs(reach - best) <= max(0.005 * best, 1e-6)).sum())
    return (f"No constraint binds: the chosen sites have spare GPUs, power and renewables, and "
            f"{ties} candidate sites tie at {best:,.1f} g/kWh, so one more GPU, MW or MWh anywhere "
            "would save nothing (every marginal value is 0).")


def build_report(solution: Solution, *, baseline: str = BASELINE_COUNTRY_ISO3,
                 baseline_year: int | None = None,
                 site: str | None = None, assumptions: Assumptions | None = None) -> Report:
    """Everything the Markdown/HTML/CSV outputs show, as tables and dicts. Works on a solved
    :class:`Solution` (report inputs are computed from its model and kept in
    ``solution.tables``) and on one loaded by :func:`siting.report.store.load_solution`."""
    a = assumptions or default_assumptions()
    tables = ensure_report_tables(solution)
    marg = tables["marginals"]
    ranked = ranked_placements(solution, marg)
    inputs = tables["site_inputs"]
    ref = inputs[["site_id", "renewable_ci_g_per_kwh", "pue", "capacity_gpus",
                  "grid_ci_mean_g_per_kwh"]]
    extra = [c for c in inputs.columns
             if c.endswith(("_source", "_resolution", "_sources")) or c == "grid_year"]
    sites = (pd.DataFrame(solution.sites).drop(columns="geometry", errors="ignore")
             .merge(marg, on="site_id", how="left")
             .merge(inputs[["site_id", *extra]].merge(ref, on="site_id"), on="site_id", how="left"))
    wl = tables["workloads"]
    s = solution.summary
    total_t = float(s["emissions_t"])
    energy = float(s["energy_mwh"])
    ren = float(solution.sites["renewable_mwh"].sum())
    gpu_hours = float(wl["gpu_hours"].sum())
    loc = location_based_by_site(solution, tables)
    site_embodied = float(pd.DataFrame(solution.sites)["embodied_t"].sum())
    location_t = float(loc["location_t"].sum())
    embodied_t, embodied_source = embodied_figure(solution, gpu_hours, a)
    operational_t = total_t - site_embodied
    plan_location = float(s["co2_location_t"]) if s.get("co2_location_t") is not None else location_t
    sites = sites.merge(loc[["site_id", "location_t"]], on="site_id", how="left")
    sites["location_t"] = sites["location_t"].fillna(0.0)
    if site_embodied == 0 and s.get("embodied_t") is None:  # per-GPU-hour factor, by site
        sites["embodied_t"] = sites["gpu_hours"] * a["embodied_g_per_gpu_hour"] / 1e6
    per = period_label(int(s.get("n_periods", 1)))
    totals = {"emissions_t": total_t, "operational_t": operational_t, "location_t": plan_location,
              "embodied_t": embodied_t, "embodied_source": embodied_source,
              "total_location_with_embodied_t": plan_location + embodied_t,
              "energy_mwh": energy, "renewable_mwh": ren,
              "renewable_share": ren / energy if energy else 0.0,
              "effective_ci_g_per_kwh": operational_t * 1000 / energy if energy else 0.0,
              "location_ci_g_per_kwh": plan_location * 1000 / energy if energy else 0.0,
              "gpu_hours": gpu_hours, "sites_open": int(solution.sites["open"].sum()),
              "period_label": per}
    first = baseline_site(solution, site, tables) if site else baseline_country(
        solution, baseline, baseline_year, assumptions=a, workloads=wl)
    first["optimised_t"] = plan_location
    rows = [first]
    card = card_baseline(solution, wl, loc, a)
    if card:
        rows.append(card)
    baselines = pd.DataFrame(rows)
    baselines["optimised_basis"] = ("location-based at hourly grid intensity"
                                    if s.get("co2_location_t") is not None
                                    else f"location-based, {per} grid average")
    baselines["saved_t"] = baselines["emissions_t"] - baselines["optimised_t"]
    baselines["saved_share"] = baselines["saved_t"] / baselines["emissions_t"]
    headline = headline_rows(s, totals)
    summary = {**s, "totals": totals, "headline": headline.to_dict("records"),
               "baselines": baselines.to_dict("records")}
    notes = [f"Embodied emissions ({embodied_t:,.1f} t) are reported apart and left out of every "
             "baseline comparison (the same GPU-hours carry the same embodied share anywhere)."]
    if per != "hourly":
        notes.append(f"{per.capitalize()} periods: renewable supply is matched over each {per} "
                     "period, not hour by hour; the renewable share and the matched CO2 are "
                     "market-style figures, not physical emissions. The location-based figure "
                     "is the one to compare with published model cards.")
    if s["status"] != "optimal":
        notes.append(f"Solver status {s['status']}: the plan is feasible, within "
                     f"a relative gap of {s['gap']:.2%} of the best bound.")
    marginal_note = explain_marginals(ranked, sites)
    extra_tables = {k: v for k, v in solution.tables.items() if k not in REPORT_TABLES}
    if "cfe_month_hour" not in extra_tables and "site_hours" in extra_tables:
        try:
            extra_tables["cfe_month_hour"] = cfe_month_hour(extra_tables["site_hours"])
        except SitingError as exc:
            notes.append(f"No CFE heatmaps: {exc}.")
    atable = a.table().reset_index()
    return Report(s.get("scenario", "scenario"), ranked, sites, totals, baselines, atable,
                  sources_table(), summary, notes, headline, marginal_note, extra_tables)
