"""Plant cleaning: what the site builder may count as existing renewable supply.

GPPD records are taken as evidence, not as truth. Before any site is built this module

- removes pumped storage (a net consumer of electricity, not generation), from every signal
  available: GPPD's ``Storage`` fuel, JRC hydro's type ``HPHS`` and powerplantmatching's
  ``Pumped Storage`` technology (matched to GPPD by id, else spatially + capacity), plant
  names ("pumped", "PSH", "Pumpspeicher", "抽水", ...), siting's list of known pumped-storage
  stations (``siting/resources/pumped_storage.csv``) and implausibly low generation per MW;
- removes duplicates (similar name and capacity within a few km) and flags distinct names at
  (almost) the same coordinates (the later record is left out);
- checks coordinates against the plant's own country polygon (Natural Earth 1:50m): a plant
  farther than a few km outside it is flagged and left out, except offshore wind, which stays
  supply (``offshore`` = True) but never becomes a site location;
- drops plants listed as misplaced in ``siting/resources/plant_corrections.csv``.

:func:`clean_plants` returns the kept plants and a report with one row per removed or flagged
plant and reason. Distances are haversine km (k-d tree neighbour search, see
:mod:`siting.geo`); every threshold is a row of the assumptions table.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from importlib import resources

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting.assumptions import RENEWABLE_FUELS, Assumptions, default_assumptions
from siting.data.validate import check_geoframe
from siting.errors import SitingError
from siting.geo import haversine_km, pairs_within_km
from siting.units import HOURS_PER_YEAR, WGS84

REPORT_COLUMNS = ["plant_id", "name", "country_iso3", "fuel", "capacity_mw", "lat", "lon",
                  "reason", "action", "related_plant_id", "detail"]

# reason -> what happens to the plant
REMOVED = "removed"          # not supply, not a site location
FLAGGED = "flagged"          # left out of supply and clusters, kept in the report
KEPT_AS_SUPPLY = "kept as supply, not a site location"

REASONS = {
    "pumped_storage_gppd_fuel": REMOVED,
    "pumped_storage_jrc": REMOVED,
    "pumped_storage_ppm": REMOVED,
    "pumped_storage_name": REMOVED,
    "pumped_storage_known": REMOVED,
    "low_generation": REMOVED,
    "duplicate": REMOVED,
    "colocated_different_name": FLAGGED,
    "outside_country": FLAGGED,
    "no_country_polygon": FLAGGED,
    "misplaced_known": FLAGGED,
    "offshore_wind": KEPT_AS_SUPPLY,
}

# words in plant names that mark pumped storage (English, German, French "STEP", Spanish
# "bombeo", Italian "pompaggio", Chinese/Japanese "pumped water", Korean "yangsu")
PUMPED_NAME = re.compile(
    r"pumped|pump[\s-]*storage|\bpump\b|\bpsh\b|\bpsp\b|\bpspp\b|\bpsw\b|\bpss\b|pumpspeicher"
    r"|\bstep\b|bombeo|pompaggio|pompage|抽水|揚水|yangsu", re.IGNORECASE)

# generic words dropped before names are compared
_NAME_STOPWORDS = frozenset("""
power plant station stations dam hydro hydroelectric hydropower hydel hpp hep hes ges pumped
pump storage psh psp pspp psw pss project wind farm windfarm park parc eolien eolico solar
energy generating generation centre center central centrale kraftwerk the of de del la le and
plant. pv co ltd llc inc company limited scheme facility complex unit units
""".split())
_ROMAN = frozenset("i ii iii iv v vi vii viii ix x xi xii".split())


def _normalise(names: pd.Series) -> pd.Series:
    """Lower-case ASCII words, punctuation removed."""
    ascii_ = names.fillna("").map(
        lambda s: unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode())
    return ascii_.str.lower().str.replace(r"[^a-z0-9]+", " ", regex=True).str.strip()


def _name_tokens(norm: str, stopwords: frozenset[str] = frozenset()
                 ) -> tuple[frozenset[str], frozenset[str]]:
    """(words without generic terms and unit marks, unit marks: numbers, roman numerals and
    single letters such as the F in "Jinchuan F")."""
    words = norm.split()
    unit = {w for w in words if w in _ROMAN or len(w) == 1}
    numbers = frozenset(re.findall(r"\d+", norm)) | frozenset(unit)
    core = frozenset(w for w in words if w not in _NAME_STOPWORDS and w not in unit
                     and w not in stopwords and not w.isdigit())
    return core, numbers


def similar_names(a: pd.Series, b: pd.Series, min_ratio: float, *, same_units: bool = True,
                  stopwords: frozenset[str] = frozenset()) -> np.ndarray:
    """Element-wise: do names ``a[k]`` and ``b[k]`` name the same plant?

    Generic words (power, station, dam, pumped, ...) and ``stopwords`` (country names) are
    ignored; the remaining words must be equal, or as many and, sorted, match with a
    ``difflib`` ratio >= ``min_ratio``,
    and the unit marks (digits, roman numerals, single letters) must be equal, so "Jinping I"
    and "Jinping II" stay two plants (``same_units=False`` drops that last test: units of one scheme). Runs
    over candidate pairs only, never over the whole table."""
    na, nb = _normalise(a).to_numpy(), _normalise(b).to_numpy()
    out = np.zeros(len(na), dtype=bool)
    for k, (x, y) in enumerate(zip(na, nb, strict=True)):
        (cx, ux), (cy, uy) = _name_tokens(x, stopwords), _name_tokens(y, stopwords)
        if (same_units and ux != uy) or not cx or not cy:
            continue
        if cx == cy:
            out[k] = True
        elif len(cx) == len(cy):  # "Guadian" / "Guandi"; an extra word ("LBPH") is another plant
            sx, sy = " ".join(sorted(cx)), " ".join(sorted(cy))
            out[k] = difflib.SequenceMatcher(None, sx, sy).ratio() >= min_ratio
    return out


def share_a_word(a: pd.Series, b: pd.Series, stopwords: frozenset[str] = frozenset()
                 ) -> np.ndarray:
    """Element-wise: do the names share a specific word (3+ letters, generic words ignored)?
    "Hoover Dam (AZ)" and "Hoover Dam (NV)" do: two powerhouses of one scheme."""
    na, nb = _normalise(a).to_numpy(), _normalise(b).to_numpy()
    out = np.zeros(len(na), dtype=bool)
    for k, (x, y) in enumerate(zip(na, nb, strict=True)):
        cx = {w for w in _name_tokens(x, stopwords)[0] if len(w) >= 3}
        cy = {w for w in _name_tokens(y, stopwords)[0] if len(w) >= 3}
        out[k] = bool(cx & cy)
    return out


def country_words(boundaries: gpd.GeoDataFrame) -> frozenset[str]:
    """Lower-case words of country names (GEODB plant names end with the country)."""
    return frozenset(" ".join(_normalise(boundaries["name"].astype(str))).split())


def _rows(plants: gpd.GeoDataFrame, mask, reason: str, related=None, detail=None
          ) -> pd.DataFrame:
    sel = plants[np.asarray(mask, dtype=bool)]
    n = len(sel)
    return pd.DataFrame({
        "plant_id": sel["plant_id"].to_numpy(), "name": sel["name"].to_numpy(),
        "country_iso3": sel["country_iso3"].to_numpy(), "fuel": sel["fuel"].to_numpy(),
        "capacity_mw": sel["capacity_mw"].to_numpy(),
        "lat": sel.geometry.y.round(5).to_numpy(), "lon": sel.geometry.x.round(5).to_numpy(),
        "reason": reason, "action": REASONS[reason],
        "related_plant_id": (np.asarray(related, dtype=object)[np.asarray(mask, dtype=bool)]
                             if related is not None else [""] * n),
        "detail": (np.asarray(detail, dtype=object)[np.asarray(mask, dtype=bool)]
                   if detail is not None else [""] * n),
    })


def _match_to_gppd(plants: gpd.GeoDataFrame, other: gpd.GeoDataFrame, other_gppd_ids: pd.Series,
                   assumptions: Assumptions) -> pd.Series:
    """For each row of ``other``, the position in ``plants`` of its GPPD twin (-1 when none):
    the GPPD id the record gives, else the GPPD hydro plant within ``plant_match_km`` whose
    capacity agrees within ``plant_match_capacity_tolerance``: one sharing a name word first,
    then the nearest (haversine, k-d tree)."""
    pos = pd.Series(np.arange(len(plants)), index=plants["plant_id"].to_numpy())
    ids = other_gppd_ids.fillna("").astype(str).str.split(";").str[0]
    by_id = ids.map(pos).fillna(-1).astype(int).to_numpy()
    hydro = np.flatnonzero(plants["fuel"].to_numpy() == "hydro")
    pairs = pairs_within_km(other.geometry.y, other.geometry.x, plants.geometry.y.iloc[hydro],
                            plants.geometry.x.iloc[hydro], assumptions["plant_match_km"])
    cap_o = other["capacity_mw"].to_numpy(float)[pairs["i"]]
    cap_p = plants["capacity_mw"].to_numpy(float)[hydro[pairs["j"]]]
    rel = np.abs(cap_o - cap_p) / np.maximum(np.maximum(cap_o, cap_p), 1e-9)
    pairs = pairs[rel <= assumptions["plant_match_capacity_tolerance"]].reset_index(drop=True)
    # among the candidates a GPPD plant sharing a name word comes first, then the nearest
    pairs["named"] = share_a_word(other["name"].iloc[pairs["i"]].reset_index(drop=True),
                                  plants["name"].iloc[hydro[pairs["j"]]].reset_index(drop=True))
    nearest = (pairs.sort_values(["i", "named", "distance_km"], ascending=[True, False, True])
               .drop_duplicates("i"))
    spatial = np.full(len(other), -1)
    spatial[nearest["i"].to_numpy()] = hydro[nearest["j"].to_numpy()]
    return pd.Series(np.where(by_id >= 0, by_id, spatial), index=other.index)


def _resource_table(filename: str, columns: list[str]) -> pd.DataFrame:
    path = resources.files("siting") / "resources" / filename
    with path.open(encoding="utf-8") as fh:
        table = pd.read_csv(fh, dtype=str, keep_default_na=False, comment="#")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise SitingError(f"{path}: missing column(s) {', '.join(missing)}")
    return table


def known_pumped_storage() -> pd.DataFrame:
    """siting's list of pumped-storage stations: ``country_iso3, name, capacity_mw, source``."""
    return _resource_table("pumped_storage.csv", ["country_iso3", "name", "capacity_mw", "source"])


def plant_corrections() -> pd.DataFrame:
    """Plants known to be misplaced in GPPD: ``plant_id, name, reason, source``."""
    return _resource_table("plant_corrections.csv", ["plant_id", "name", "reason", "source"])


def _pumped_storage(plants: gpd.GeoDataFrame, jrc, ppm, assumptions: Assumptions,
                    stopwords: frozenset[str]) -> list[pd.DataFrame]:
    hydro = plants["fuel"].to_numpy() == "hydro"
    found = [_rows(plants, plants["gppd_fuel"].to_numpy() == "Storage",
                   "pumped_storage_gppd_fuel", detail=np.full(len(plants), "GPPD fuel Storage"))]
    if jrc is not None and len(jrc):
        phs = jrc[jrc["type"] == "HPHS"].reset_index(drop=True)
        twin = _match_to_gppd(plants, phs, phs["gppd_id"], assumptions)
        hit = np.zeros(len(plants), dtype=bool)
        related = np.full(len(plants), "", dtype=object)
        ok = twin.to_numpy() >= 0
        hit[twin.to_numpy()[ok]] = True
        related[twin.to_numpy()[ok]] = "JRC:" + phs["plant_id"].to_numpy()[ok].astype(object)
        found.append(_rows(plants, hit, "pumped_storage_jrc", related,
                           np.full(len(plants), "JRC hydro type HPHS")))
    if ppm is not None and len(ppm):
        phs = ppm[ppm["technology"] == "Pumped Storage"].reset_index(drop=True)
        twin = _match_to_gppd(plants, phs, phs["gppd_ids"], assumptions)
        hit = np.zeros(len(plants), dtype=bool)
        related = np.full(len(plants), "", dtype=object)
        ok = twin.to_numpy() >= 0
        hit[twin.to_numpy()[ok]] = True
        related[twin.to_numpy()[ok]] = phs["plant_id"].to_numpy()[ok]
        found.append(_rows(plants, hit, "pumped_storage_ppm", related,
                           np.full(len(plants), "powerplantmatching technology Pumped Storage")))
    by_name = hydro & plants["name"].str.contains(PUMPED_NAME).to_numpy()
    found.append(_rows(plants, by_name, "pumped_storage_name",
                       detail=plants["name"].str.extract(f"({PUMPED_NAME.pattern})",
                                                         flags=re.IGNORECASE)[0]
                       .fillna("").to_numpy()))
    # siting's list of known stations: same country, similar name, capacity in range
    known = known_pumped_storage()
    cand = plants[hydro]
    pairs = cand[["plant_id", "name", "country_iso3", "capacity_mw"]].reset_index().merge(
        known.rename(columns={"name": "known_name", "capacity_mw": "known_mw"}),
        on="country_iso3")
    if len(pairs):
        known_mw = pd.to_numeric(pairs["known_mw"], errors="coerce")
        rel = (pairs["capacity_mw"] - known_mw).abs() / np.maximum(pairs["capacity_mw"], known_mw)
        pairs = pairs[rel.fillna(0).to_numpy() <= assumptions["plant_known_capacity_tolerance"]]
        # exact names (generic words aside): a fuzzy match took Liyuan dam for Liyang
        same = similar_names(pairs["name"], pairs["known_name"], 1.0, stopwords=stopwords)
        pairs = pairs[same].drop_duplicates("index")
        hit = plants.index.isin(pairs["index"])
        detail = pd.Series("", index=plants.index, dtype=object)
        detail.loc[pairs["index"].to_numpy()] = ("listed as " + pairs["known_name"]).to_numpy()
        found.append(_rows(plants, hit, "pumped_storage_known", detail=detail.to_numpy()))
    cf = plants["capacity_factor"].to_numpy(float).copy()
    if jrc is not None and len(jrc):
        # JRC's expected annual generation, where it has one, is better evidence than GPPD's
        # modelled estimate
        rated = jrc[jrc["generation_mwh_per_year"].notna() & (jrc["capacity_mw"] > 0)]
        rated = rated.reset_index(drop=True)
        twin = _match_to_gppd(plants, rated, rated["gppd_id"], assumptions).to_numpy()
        ok = twin >= 0
        cf[twin[ok]] = (rated["generation_mwh_per_year"].to_numpy()[ok]
                        / (rated["capacity_mw"].to_numpy()[ok] * HOURS_PER_YEAR))
    low = (hydro & (plants["capacity_mw"].to_numpy() >= assumptions["plant_low_generation_min_mw"])
           & (np.nan_to_num(cf, nan=1.0) < assumptions["plant_min_hydro_capacity_factor"]))
    found.append(_rows(plants, low, "low_generation",
                       detail=np.char.add("capacity factor ", np.round(np.nan_to_num(cf), 3)
                                          .astype(str))))
    return found


def _duplicates(plants: gpd.GeoDataFrame, assumptions: Assumptions, stopwords: frozenset[str]
                ) -> list[pd.DataFrame]:
    """Same fuel within ``plant_duplicate_km``: similar name and capacity -> duplicate (the
    smaller, then later record goes); different name within ``plant_colocated_km``, both of
    at least ``plant_colocated_min_mw`` -> the later record (larger id) is flagged."""
    lat, lon = plants.geometry.y.to_numpy(), plants.geometry.x.to_numpy()
    reach = max(assumptions["plant_duplicate_km"], assumptions["plant_colocated_km"])
    pairs = pairs_within_km(lat, lon, lat, lon, reach)
    pairs = pairs[pairs["i"] < pairs["j"]]
    fuel = plants["fuel"].to_numpy()
    pairs = pairs[fuel[pairs["i"]] == fuel[pairs["j"]]].reset_index(drop=True)
    cap = plants["capacity_mw"].to_numpy(float)
    ids = plants["plant_id"].to_numpy()
    ci, cj = cap[pairs["i"]], cap[pairs["j"]]
    rel = np.abs(ci - cj) / np.maximum(np.maximum(ci, cj), 1e-9)
    names = plants["name"].reset_index(drop=True)
    cand = pairs[(rel <= assumptions["plant_duplicate_capacity_tolerance"])
                 & (pairs["distance_km"] <= assumptions["plant_duplicate_km"]).to_numpy()]
    same_name = similar_names(names.iloc[cand["i"]].reset_index(drop=True),
                              names.iloc[cand["j"]].reset_index(drop=True),
                              assumptions["plant_duplicate_name_similarity"], stopwords=stopwords)
    dup = cand[same_name]
    # keep the larger record; on a tie the smaller id (the earlier record)
    i, j = dup["i"].to_numpy(), dup["j"].to_numpy()
    j_first = (cap[j] > cap[i]) | ((cap[j] == cap[i]) & (ids[j] < ids[i]))
    drop, keep = np.where(j_first, i, j), np.where(j_first, j, i)
    dropped = np.zeros(len(plants), dtype=bool)
    related = np.full(len(plants), "", dtype=object)
    detail = np.full(len(plants), "", dtype=object)
    dropped[drop] = True
    related[drop] = ids[keep]
    detail[drop] = [f"{d:.2f} km from it" for d in dup["distance_km"]]
    out = [_rows(plants, dropped, "duplicate", related, detail)]
    country = plants["country_iso3"].to_numpy()
    close = pairs[(pairs["distance_km"] <= assumptions["plant_colocated_km"])
                  & (np.minimum(ci, cj) >= assumptions["plant_colocated_min_mw"])
                  & (country[pairs["i"]] == country[pairs["j"]])]
    a = names.iloc[close["i"]].reset_index(drop=True)
    b = names.iloc[close["j"]].reset_index(drop=True)
    units = (similar_names(a, b, assumptions["plant_duplicate_name_similarity"],
                           same_units=False, stopwords=stopwords)
             | share_a_word(a, b, stopwords))
    co = close[~units]
    i, j = co["i"].to_numpy(), co["j"].to_numpy()
    later = np.where(ids[i] > ids[j], i, j)
    earlier = np.where(ids[i] > ids[j], j, i)
    flagged = np.zeros(len(plants), dtype=bool)
    related = np.full(len(plants), "", dtype=object)
    detail = np.full(len(plants), "", dtype=object)
    flagged[later] = True
    related[later] = ids[earlier]
    detail[later] = [f"{d:.2f} km from a different plant" for d in co["distance_km"]]
    out.append(_rows(plants, flagged & ~dropped, "colocated_different_name", related, detail))
    return out


def distance_to_polygons_km(pts: gpd.GeoSeries, polygons: gpd.GeoSeries
                            ) -> tuple[np.ndarray, gpd.GeoSeries]:
    """Element-wise haversine distance (km) from each point to the matching polygon and the
    nearest point on it (0 and the point itself when inside). Both in EPSG:4326.

    The nearest point is found in lon/lat (shapely), its distance measured on the sphere."""
    p = shapely.points(pts.x.to_numpy(), pts.y.to_numpy()) if len(pts) else np.array([])
    g = polygons.to_numpy()
    line = shapely.shortest_line(p, g)
    end = shapely.get_point(line, 1)
    dist = haversine_km(pts.y.to_numpy(), pts.x.to_numpy(), shapely.get_y(end),
                        shapely.get_x(end))
    inside = shapely.covers(g, p)
    dist = np.where(inside, 0.0, dist)
    nearest = gpd.GeoSeries(np.where(inside, p, end), index=pts.index, crs=WGS84)
    return dist, nearest


def _coordinates(plants: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame, ppm,
                 assumptions: Assumptions) -> tuple[list[pd.DataFrame], np.ndarray]:
    """Distance of each plant to its own country's polygon; returns report rows and the
    offshore-wind mask."""
    polys = boundaries.dissolve("country_iso3")["geometry"]
    has = plants["country_iso3"].isin(polys.index).to_numpy()
    dist = np.full(len(plants), np.nan)
    sel = plants[has]
    if len(sel):
        d, _ = distance_to_polygons_km(sel.geometry,
                                       gpd.GeoSeries(polys.reindex(sel["country_iso3"]).to_numpy(),
                                                     crs=WGS84))
        dist[has] = d
    tol = assumptions["plant_country_tolerance_km"]
    outside = has & (dist > tol)
    if "sovereign" in boundaries and outside.any():
        # a territory of the same sovereign state (Puerto Rico plants coded USA) is home too
        sov = boundaries.drop_duplicates("country_iso3").set_index("country_iso3")["sovereign"]
        out_pts = plants[outside][["country_iso3", "geometry"]].reset_index()
        hit = gpd.sjoin(out_pts, boundaries[["sovereign", "geometry"]], predicate="within")
        home = hit["sovereign"].to_numpy() == hit["country_iso3"].map(sov).to_numpy()
        outside[hit.loc[home, "index"].to_numpy()] = False
    wind = plants["fuel"].to_numpy() == "wind"
    named_offshore = plants["name"].str.contains(r"offshore", case=False).to_numpy().copy()
    if ppm is not None and len(ppm):
        off = ppm[ppm["technology"] == "Offshore"]
        pos = pd.Series(np.arange(len(plants)), index=plants["plant_id"].to_numpy())
        ids = off["gppd_ids"].str.split(";").explode()
        hit = ids.map(pos).dropna().astype(int).to_numpy()
        named_offshore[hit] = True
    offshore = wind & ((outside & (dist <= assumptions["plant_offshore_wind_max_km"]))
                       | named_offshore)
    misplaced = outside & ~offshore
    detail = np.array([f"{d:.1f} km outside its country" for d in np.nan_to_num(dist)],
                      dtype=object)
    return [
        _rows(plants, misplaced, "outside_country", detail=detail),
        _rows(plants, ~has, "no_country_polygon",
              detail=np.full(len(plants), "no Natural Earth polygon for this code")),
        _rows(plants, offshore, "offshore_wind", detail=detail),
    ], offshore


def clean_plants(plants: gpd.GeoDataFrame, *, boundaries: gpd.GeoDataFrame,
                 jrc: gpd.GeoDataFrame | None = None, ppm: gpd.GeoDataFrame | None = None,
                 assumptions: Assumptions | None = None
                 ) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Clean GPPD plants (:func:`siting.data.loaders.load_plants`) with the other sources.

    Pumped storage is searched among all plants; duplicates, co-located records and
    coordinates are checked on the renewable plants (``RENEWABLE_FUELS``), the only ones that
    become supply or cluster seeds (fossil and nuclear records pass through unchanged).

    Returns ``(clean, report)``: ``clean`` is ``plants`` without the removed and flagged
    records, with an ``offshore`` column (offshore wind: supply, never a site location);
    ``report`` has one row per plant and reason (``REPORT_COLUMNS``; ``action`` says what was
    done, ``related_plant_id`` names the record kept or matched). ``jrc`` (JRC hydro) and
    ``ppm`` (powerplantmatching) are optional extra evidence for pumped storage."""
    assumptions = default_assumptions() if assumptions is None else assumptions
    check_geoframe(plants, "plants")
    check_geoframe(boundaries, "boundaries")
    plants = plants.reset_index(drop=True)
    stopwords = country_words(boundaries)
    parts = _pumped_storage(plants, jrc, ppm, assumptions, stopwords)
    supply = plants["fuel"].isin(RENEWABLE_FUELS).to_numpy()
    sub = plants[supply].reset_index(drop=True)
    parts += _duplicates(sub, assumptions, stopwords)
    coords, off_sub = _coordinates(sub, boundaries, ppm, assumptions)
    parts += coords
    offshore = np.zeros(len(plants), dtype=bool)
    offshore[np.flatnonzero(supply)] = off_sub
    corr = plant_corrections()
    known_bad = plants["plant_id"].isin(corr["plant_id"]).to_numpy()
    detail = plants["plant_id"].map(corr.set_index("plant_id")["reason"]).fillna("").to_numpy()
    parts.append(_rows(plants, known_bad, "misplaced_known", detail=detail))
    report = pd.concat([p for p in parts if len(p)], ignore_index=True)
    report = report.reindex(columns=REPORT_COLUMNS)
    order = {r: k for k, r in enumerate(REASONS)}
    report = (report.assign(_o=report["reason"].map(order))
              .sort_values(["_o", "country_iso3", "plant_id"], kind="stable")
              .drop(columns="_o").reset_index(drop=True))
    out_ids = report.loc[report["action"] != KEPT_AS_SUPPLY, "plant_id"]
    # a duplicate offshore record is listed as a duplicate only
    report = report[(report["action"] != KEPT_AS_SUPPLY)
                    | ~report["plant_id"].isin(out_ids)].reset_index(drop=True)
    keep = ~plants["plant_id"].isin(out_ids).to_numpy()
    clean = plants.assign(offshore=offshore)[keep].reset_index(drop=True)
    return check_geoframe(clean, "clean plants"), report


def removal_counts(report: pd.DataFrame) -> pd.DataFrame:
    """Plants and capacity per reason: ``reason, action, plants, capacity_mw``."""
    return (report.groupby(["reason", "action"], sort=False)
            .agg(plants=("plant_id", "size"), capacity_mw=("capacity_mw", "sum")).reset_index())


def load_clean_plants(assumptions: Assumptions | None = None, **fetch_kwargs
                      ) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """GPPD cleaned with JRC hydro, powerplantmatching and Natural Earth 1:50m from the cache
    (or mirror / network): ``(clean plants, report)``."""
    from siting.data import loaders

    assumptions = default_assumptions() if assumptions is None else assumptions
    return clean_plants(
        loaders.load_plants(assumptions=assumptions, **fetch_kwargs),
        boundaries=loaders.load_boundaries(**fetch_kwargs),
        jrc=loaders.load_jrc_hydro(**fetch_kwargs),
        ppm=loaders.load_powerplantmatching(**fetch_kwargs),
        assumptions=assumptions)


__all__ = ["clean_plants", "load_clean_plants", "removal_counts", "similar_names",
           "distance_to_polygons_km", "known_pumped_storage", "plant_corrections",
           "REPORT_COLUMNS", "REASONS"]
