"""Candidate sites: read a user's list, generate sites near renewable clusters, enrich them.

Distances are great-circle (haversine; neighbour search with a k-d tree on unit vectors),
never degrees. Everything is array work: no Python loop runs over rows.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting.assumptions import RENEWABLE_FUELS, Assumptions, default_assumptions
from siting.data.loaders import points
from siting.data.plants import distance_to_polygons_km
from siting.data.validate import (
    check_geoframe,
    first_bad_row,
    id_column,
    numeric_column,
    read_csv,
    require_columns,
)
from siting.errors import SitingError
from siting.geo import pairs_within_km
from siting.io import atomic_path, write_table
from siting.units import WGS84

VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".fgb"}


def read_sites(path: str | os.PathLike) -> gpd.GeoDataFrame:
    """A user's candidate sites from CSV (``site_id, lat, lon`` + optional columns) or a
    point layer (GeoJSON, GeoPackage, ...; needs ``site_id``). Returns EPSG:4326 points."""
    p = Path(path)
    if not p.is_file():
        raise SitingError(f"{p}: file not found")
    if p.suffix.lower() in VECTOR_SUFFIXES:
        try:
            gdf = gpd.read_file(p, engine="pyogrio")
        except Exception as exc:
            raise SitingError(f"{p}: not a readable vector file ({exc})") from exc
        require_columns(gdf, ["site_id"], p)
        if gdf.crs is None:
            raise SitingError(f"{p}: no CRS stated; expected EPSG:4326 or another stated CRS")
        gdf = gdf.to_crs(WGS84)
        types = gdf.geometry.geom_type
        row = first_bad_row(types != "Point")
        if row is not None:
            raise SitingError(f"{p}: feature {row + 1} is a {types.iloc[row]}, expected a Point")
        df = pd.DataFrame(gdf.drop(columns="geometry"))
        df["lat"], df["lon"] = gdf.geometry.y.to_numpy(), gdf.geometry.x.to_numpy()
    else:
        df = read_csv(p)
        require_columns(df, ["site_id", "lat", "lon"], p)
    df["site_id"] = id_column(df, "site_id", p)
    df["lat"] = numeric_column(df, "lat", p, lo=-90, hi=90)
    df["lon"] = numeric_column(df, "lon", p, lo=-180, hi=180)
    return check_geoframe(gpd.GeoDataFrame(df, geometry=points(df, "lon", "lat")), p)


EXISTING_SUPPLY_LABEL = "existing, non-additional (annual share of nearby plants)"


def renewable_energy_near(sites: gpd.GeoDataFrame, plants: gpd.GeoDataFrame, radius_km: float,
                          fuels: Sequence[str] = RENEWABLE_FUELS,
                          assumptions: Assumptions | None = None) -> pd.DataFrame:
    """Per site: yearly generation (MWh) of *existing* plants of each fuel within
    ``radius_km`` (``existing_renewable_<fuel>_mwh_per_year``), the total
    ``existing_renewable_mwh_per_year``, its lifecycle intensity
    ``existing_renewable_ci_g_per_kwh`` and ``n_existing_plants_nearby``.

    This output is already in the grid average: it is existing, non-additional supply, not
    something a new data centre adds. Give cleaned plants (:mod:`siting.data.plants`)."""
    assumptions = default_assumptions() if assumptions is None else assumptions
    sel = plants[plants["fuel"].isin(fuels)]
    pairs = pairs_within_km(sites.geometry.y, sites.geometry.x, sel.geometry.y, sel.geometry.x,
                            radius_km)
    pairs["fuel"] = sel["fuel"].to_numpy()[pairs["j"]]
    pairs["mwh"] = sel["generation_mwh_per_year"].to_numpy()[pairs["j"]]
    by_fuel = (pairs.pivot_table(index="i", columns="fuel", values="mwh", aggfunc="sum")
               .reindex(index=range(len(sites)), columns=list(fuels)).fillna(0.0))
    total = by_fuel.sum(axis=1)
    weighted = by_fuel.mul(assumptions.lifecycle_by_fuel().reindex(list(fuels)), axis=1).sum(axis=1)
    out = by_fuel.add_prefix("existing_renewable_").add_suffix("_mwh_per_year")
    out["existing_renewable_mwh_per_year"] = total
    out["existing_renewable_ci_g_per_kwh"] = (weighted / total).where(total > 0)
    out["n_existing_plants_nearby"] = pairs.groupby("i").size().reindex(range(len(sites))).fillna(0)
    out.index = sites.index
    return out


def place_on_land(sites: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame,
                  assumptions: Assumptions | None = None) -> gpd.GeoDataFrame:
    """Sites on land: each point inside a country polygon stays; one outside every polygon
    is moved to the nearest coast point (20 m inland) when that is at most ``site_snap_max_km``
    away (haversine), else dropped. ``country_iso3`` is set from the polygon; ``snap_km`` is
    the distance moved (0 inside); ``lat``/``lon`` are rewritten (5 decimals, ~1 m) and the
    geometry is the rounded point. Rows keep their order; dropped rows are absent."""
    assumptions = default_assumptions() if assumptions is None else assumptions
    check_geoframe(sites, "sites")
    polys = boundaries[["country_iso3", "geometry"]].reset_index(drop=True)
    pts = sites[["geometry"]].reset_index(drop=True)
    inside = gpd.sjoin(pts, polys, how="left", predicate="within")
    inside = inside[~inside.index.duplicated()]
    country = inside["country_iso3"].to_numpy(dtype=object)
    lat, lon = pts.geometry.y.to_numpy().copy(), pts.geometry.x.to_numpy().copy()
    snap_km = np.zeros(len(pts))
    missing = pd.isna(inside["country_iso3"]).to_numpy()
    if missing.any():
        proj = "EPSG:8857"  # Equal Earth, metres: only to pick the nearest polygon
        near = gpd.sjoin_nearest(pts[missing].to_crs(proj), polys.to_crs(proj), how="left")
        near = near[~near.index.duplicated()]
        poly = gpd.GeoSeries(polys.geometry.iloc[near["index_right"].to_numpy()].to_numpy(),
                             crs=WGS84)
        dist, coast = distance_to_polygons_km(pts.geometry[missing], poly)
        # step a little inland along the line from the site to the coast point
        dx = coast.x.to_numpy() - lon[missing]
        dy = coast.y.to_numpy() - lat[missing]
        norm = np.hypot(dx, dy)
        step = np.where(norm > 0, SNAP_INLAND_DEG / np.where(norm > 0, norm, 1.0), 0.0)
        lon[missing] = coast.x.to_numpy() + dx * step
        lat[missing] = coast.y.to_numpy() + dy * step
        snap_km[missing] = dist
        country[missing] = near["country_iso3"].to_numpy()
    keep = snap_km <= assumptions["site_snap_max_km"]
    out = sites.reset_index(drop=True).copy()
    out["lat"], out["lon"] = np.round(lat, 5), np.round(lon, 5)
    out["country_iso3"] = country
    out["snap_km"] = np.round(snap_km, 3)
    out = out.set_geometry(gpd.points_from_xy(out["lon"], out["lat"]), crs=WGS84)
    return out[keep].reset_index(drop=True)


SNAP_INLAND_DEG = 2e-4  # ~20 m: a snapped point lies strictly inside, also after rounding to 1e-5


def assign_country(sites: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame,
                   max_offshore_km: float | None = None,
                   assumptions: Assumptions | None = None) -> pd.Series:
    """ISO3 of the country each site lies in; sites just outside every polygon (coast, coarse
    borders) take the nearest country within ``max_offshore_km`` (default: the site radius)."""
    assumptions = default_assumptions() if assumptions is None else assumptions
    if max_offshore_km is None:
        max_offshore_km = assumptions["site_radius_km"]
    pts = sites[["geometry"]].reset_index(drop=True)
    inside = gpd.sjoin(pts, boundaries[["country_iso3", "geometry"]], how="left",
                       predicate="within")
    inside = inside[~inside.index.duplicated()]["country_iso3"]
    missing = inside.isna()
    if missing.any():
        # nearest polygon in an equal-area metric projection (Equal Earth), metres
        proj = "EPSG:8857"
        near = gpd.sjoin_nearest(pts[missing].to_crs(proj),
                                 boundaries[["country_iso3", "geometry"]].to_crs(proj),
                                 how="left", max_distance=max_offshore_km * 1000.0)
        near = near[~near.index.duplicated()]["country_iso3"]
        inside = inside.fillna(near)
    inside.index = sites.index
    return inside


def grid_intensity_for(countries: pd.Series, table: pd.DataFrame, year: int | None
                       ) -> pd.DataFrame:
    """``grid_ci_g_per_kwh, grid_year`` for each country: the given year, else the latest year
    before it, else the latest; countries without data take the world value (``WLD``)."""
    t = table if year is None else table[table["year"] <= year]
    t = t if not t.empty else table
    latest = t.sort_values("year").groupby("country_iso3").last()
    world = latest.loc["WLD"] if "WLD" in latest.index else None
    ci = countries.map(latest["ci_g_per_kwh"])
    yr = countries.map(latest["year"])
    source = pd.Series(np.where(ci.notna(), "country", "world"), index=countries.index)
    if world is not None:
        ci, yr = ci.fillna(world["ci_g_per_kwh"]), yr.fillna(world["year"])
    return pd.DataFrame({"grid_ci_g_per_kwh": ci, "grid_year": yr.astype("Int64"),
                         "grid_ci_source": source})


def enrich(sites: gpd.GeoDataFrame, *, plants: gpd.GeoDataFrame,
           boundaries: gpd.GeoDataFrame, intensity: pd.DataFrame, year: int | None = None,
           radius_km: float | None = None, fuels: Sequence[str] = RENEWABLE_FUELS,
           assumptions: Assumptions | None = None) -> gpd.GeoDataFrame:
    """Add country, grid intensity, existing renewables nearby by fuel, and model defaults.

    Columns the user already gave (``pue``, ``capacity_gpus``, ``renewable_mwh_per_year``,
    ``renewable_ci_g_per_kwh``, ``country_iso3``) are kept; missing values take defaults from
    the assumptions table. ``existing_renewable_*`` columns are the output of existing plants
    nearby: already in the grid average, non-additional. ``renewable_mwh_per_year`` (what the
    annual model may credit, labelled by ``renewable_supply_basis``) defaults to
    ``site_renewable_share_available`` x that existing generation: an explicit,
    non-additional, annually matched option, not procured supply."""
    assumptions = default_assumptions() if assumptions is None else assumptions
    for name, frame in (("sites", sites), ("plants", plants), ("boundaries", boundaries)):
        check_geoframe(frame, name)
    radius = assumptions["site_radius_km"] if radius_km is None else float(radius_km)
    out = sites.copy()
    if "country_iso3" not in out or out["country_iso3"].isna().any():
        found = assign_country(out, boundaries, assumptions=assumptions)
        out["country_iso3"] = out["country_iso3"].fillna(found) if "country_iso3" in out else found
    # finest grid intensity from the embedded default only (permissive data: this feeds data/regions)
    from siting.data.grid import site_grid_intensity
    grid = site_grid_intensity(out, assumptions, year=year, runtime=False,
                               yearly=intensity)
    grid["grid_year"] = grid["grid_ci_year"]
    if "grid_ci_g_per_kwh" in out:
        grid.loc[out["grid_ci_g_per_kwh"].notna(), "grid_ci_source"] = "user-supplied"
    for col in grid:
        if col == "grid_ci_g_per_kwh" and col in out:
            out[col] = out[col].fillna(grid[col])
        else:
            out[col] = grid[col]
    near = renewable_energy_near(out, plants, radius, fuels, assumptions)
    out[near.columns] = near
    out["radius_km"] = radius

    def default(col: str, values) -> None:
        out[col] = out[col].fillna(values) if col in out else values

    given = out["renewable_mwh_per_year"].notna() if "renewable_mwh_per_year" in out else False
    default("renewable_mwh_per_year", near["existing_renewable_mwh_per_year"]
            * assumptions["site_renewable_share_available"])
    out["renewable_supply_basis"] = np.where(given, "given", EXISTING_SUPPLY_LABEL)
    default("renewable_ci_g_per_kwh", near["existing_renewable_ci_g_per_kwh"]
            .fillna(assumptions["lifecycle_hydro_g_per_kwh"]))
    default("pue", assumptions["pue_default"])
    default("capacity_gpus", assumptions["site_capacity_gpus_default"])
    return out


def generate_sites(plants: gpd.GeoDataFrame, *, boundaries: gpd.GeoDataFrame | None = None,
                   fuels: Sequence[str] = ("hydro", "wind", "geothermal"),
                   radius_km: float | None = None, n_sites: int = 200,
                   max_per_country: int | None = None, min_mwh_per_year: float = 0.0,
                   assumptions: Assumptions | None = None) -> gpd.GeoDataFrame:
    """Candidate sites at the centres of renewable clusters, ranked by low-carbon energy.

    Each plant of ``fuels`` scores the generation of same-fuel-set plants within the cluster
    radius. Greedily the best-scoring plant becomes a site and every plant within twice the
    radius is removed, so sites do not share supply. The loop runs once per site chosen.

    Give cleaned plants (:func:`siting.data.plants.clean_plants`). Offshore plants
    (``offshore`` column) count as supply but never seed a site. With ``boundaries`` (Natural
    Earth 1:50m) a seed must lie on land or within ``site_snap_max_km`` of it (then it is
    snapped to the coast, see :func:`place_on_land`), and ``country_iso3`` and the id prefix
    come from the polygon; without them they come from the plant record. Ids are
    ``<ISO3>-<rank within that country>`` (``CHN-001`` is China's largest cluster), so a
    country's ids change only when its own clusters do; deterministic for given inputs."""
    assumptions = default_assumptions() if assumptions is None else assumptions
    radius = assumptions["site_cluster_radius_km"] if radius_km is None else float(radius_km)
    sel = plants[plants["fuel"].isin(fuels) & (plants["generation_mwh_per_year"] > 0)]
    sel = sel.reset_index(drop=True)
    seedable = ~sel["offshore"].to_numpy(bool) if "offshore" in sel else np.ones(len(sel), bool)
    placed = None
    if boundaries is not None:
        placed = place_on_land(sel[["geometry"]].assign(_k=np.arange(len(sel))), boundaries,
                               assumptions).set_index("_k")
        seedable &= np.isin(np.arange(len(sel)), placed.index.to_numpy())
    lat, lon = sel.geometry.y.to_numpy(), sel.geometry.x.to_numpy()
    pairs = pairs_within_km(lat, lon, lat, lon, 2 * radius)
    gen = sel["generation_mwh_per_year"].to_numpy()
    close = pairs[pairs["distance_km"] <= radius]
    score = np.bincount(close["i"], weights=gen[close["j"]], minlength=len(sel))
    order = np.argsort(pairs["i"].to_numpy(), kind="stable")
    pi, pj = pairs["i"].to_numpy()[order], pairs["j"].to_numpy()[order]
    starts = np.searchsorted(pi, np.arange(len(sel) + 1))
    alive = (score >= max(min_mwh_per_year, np.finfo(float).tiny)) & seedable
    countries = sel["country_iso3"].to_numpy().astype(object)
    if placed is not None:
        countries[placed.index.to_numpy()] = placed["country_iso3"].to_numpy()
    per_country: dict[str, int] = {}
    chosen: list[int] = []
    while len(chosen) < n_sites and alive.any():
        k = int(np.argmax(np.where(alive, score, -np.inf)))
        alive[pj[starts[k]:starts[k + 1]]] = False
        alive[k] = False
        c = countries[k]
        if max_per_country is not None and per_country.get(c, 0) >= max_per_country:
            continue
        per_country[c] = per_country.get(c, 0) + 1
        chosen.append(k)
    seeds = sel.iloc[chosen].reset_index(drop=True)
    if placed is not None:
        seeds = gpd.GeoDataFrame(seeds.drop(columns="geometry"),
                                 geometry=placed.geometry.loc[chosen].to_numpy(), crs=WGS84)
        seeds["snap_km"] = placed["snap_km"].loc[chosen].to_numpy()
    else:
        seeds["snap_km"] = 0.0
    seeds["country_iso3"] = countries[chosen]
    members = close[close["i"].isin(chosen)]
    by_fuel = members.assign(fuel=sel["fuel"].to_numpy()[members["j"]], mwh=gen[members["j"]])
    dominant = (by_fuel.groupby(["i", "fuel"])["mwh"].sum().reset_index()
                .sort_values("mwh").groupby("i").last()["fuel"])
    largest = by_fuel.sort_values("mwh").groupby("i").last()["j"].reindex(chosen)
    names = sel["name"].to_numpy()[largest.to_numpy()]
    rank_in_country = seeds.groupby("country_iso3", sort=False).cumcount().to_numpy() + 1
    out = gpd.GeoDataFrame({
        "site_id": [f"{c}-{n:03d}" for c, n in
                    zip(seeds["country_iso3"], rank_in_country, strict=True)],
        "name": pd.Series(names).str.slice(0, 60) + " cluster",
        "country_iso3": seeds["country_iso3"],
        "dominant_fuel": dominant.reindex(chosen).to_numpy(),
        "cluster_mwh_per_year": score[chosen],
        "lat": seeds.geometry.y.round(5), "lon": seeds.geometry.x.round(5),
        "snap_km": seeds["snap_km"].to_numpy(),
        "kind": "cluster",
    }, geometry=seeds.geometry.to_numpy(), crs=WGS84)
    return check_geoframe(out, "generated sites")


def write_sites(gdf: gpd.GeoDataFrame, path: str | os.PathLike) -> Path:
    """Write sites atomically as CSV (with lat/lon, no geometry) or a vector file by suffix."""
    dest = Path(path)
    if dest.suffix.lower() == ".csv":
        return write_table(dest, pd.DataFrame(gdf.drop(columns="geometry")), float_format=None)
    suffix = dest.suffix.lower()
    with atomic_path(dest) as tmp:
        if suffix in (".geojson", ".json", ".gpkg"):
            tmp.unlink()
            driver = "GPKG" if suffix == ".gpkg" else "GeoJSON"
            # GDAL picks the format from the name: write under the real suffix
            named = tmp.with_name(tmp.name + suffix)
            try:
                layer = {"layer": "sites"} if driver == "GPKG" else {}
                gdf.to_file(named, driver=driver, engine="pyogrio", **layer)
                os.replace(named, tmp)
            finally:
                named.unlink(missing_ok=True)
        else:
            raise SitingError(f"{dest}: unsupported output type {suffix!r}; use .csv, .geojson "
                              "or .gpkg")
    return dest
