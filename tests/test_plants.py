"""Plant cleaning: name matching on hand-made pairs, and the real records of the mirror
(GPPD v1.3, JRC hydro, powerplantmatching, Natural Earth 1:50m)."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from siting.assumptions import default_assumptions
from siting.data import loaders, plants
from siting.geo import haversine_km
from siting.units import WGS84

RATIO = default_assumptions()["plant_duplicate_name_similarity"]

# the pumped-storage stations issue 9 names, with the words that find them in GPPD
NAMED_PUMPED_STORAGE = ["Dinorwig", "Cruachan", "Ffestiniog", "Vianden", "Goldisthal",
                        "Bath County", "Ludington", "Shisanling", "Tianhuangping",
                        "Guangzhou Pump", "Kazunogawa"]
OKINAWA_YANBARU = (26.67, 128.27)  # seawater pumped storage, decommissioned 2016


@pytest.mark.parametrize("a, b, same", [
    ("Dinorwig", "Dinorwig", True),
    ("Guadian Dam", "Guandi", True),                     # GPPD's two records of one dam
    ("PSW Vianden", "Vianden Pumped Storage Power Plant", True),
    ("Jinping I", "Jinping II", False),                   # two stages, not one plant
    ("Jinchuan F", "Jinchuan G", False),
    ("SRISAILAM", "SRISAILAM LBPH", False),               # another powerhouse
    ("Baihetan Dam", "Xiluodu", False),
])
def test_similar_names(a, b, same):
    assert plants.similar_names(pd.Series([a]), pd.Series([b]), RATIO)[0] == same


def test_pumped_name_pattern():
    hits = pd.Series(["Pumpspeicherwerk Rönkhausen", "Kiev (pumped storage)", "GHATGHAR PSS",
                      "STEP UR1 *", "天荒坪抽水蓄能电站", "Sir Adam Beck Pump"])
    misses = pd.Series(["Pumpkin Hill", "Schwarze Pumpe power station", "Three Gorges Dam",
                        "Steppe Wind"])
    assert hits.str.contains(plants.PUMPED_NAME).all()
    assert not misses.str.contains(plants.PUMPED_NAME).any()


def test_distance_to_polygons_km_is_haversine():
    from shapely.geometry import box

    pts = gpd.GeoSeries(gpd.points_from_xy([-1.0, 5.0], [5.0, 5.0]), crs=WGS84)
    polys = gpd.GeoSeries([box(0, 0, 10, 10)] * 2, crs=WGS84)
    dist, nearest = plants.distance_to_polygons_km(pts, polys)
    assert dist[0] == pytest.approx(haversine_km(5.0, -1.0, 5.0, 0.0))
    assert dist[1] == 0 and nearest.iloc[1].equals(pts.iloc[1])


def _fixture_plants():
    rows = [  # plant_id, name, fuel, gppd_fuel, capacity_mw, capacity_factor, lat, lon
        ("P1", "Alpha Dam", "hydro", "Hydro", 1000.0, 0.4, 5.0, 5.0),
        ("P2", "Alpha", "hydro", "Hydro", 980.0, 0.4, 5.01, 5.0),        # 1.1 km: duplicate
        ("P3", "Beta", "hydro", "Hydro", 500.0, 0.4, 5.0005, 5.0),       # 55 m: co-located
        ("P4", "Gamma Pumped Storage", "hydro", "Hydro", 300.0, 0.2, 2.0, 2.0),
        ("P5", "Offshore One", "wind", "Wind", 200.0, 0.4, 5.0, -0.5),   # 55 km at sea
        ("P6", "Far Wind", "wind", "Wind", 50.0, 0.3, 5.0, -5.0),        # 550 km at sea
        ("P7", "Lost Hydro", "hydro", "Hydro", 50.0, 0.4, 5.0, -0.2),    # 22 km at sea
        ("P8", "Battery", "other", "Storage", 20.0, 0.1, 3.0, 3.0),
        ("P9", "Delta", "hydro", "Hydro", 200.0, 0.01, 8.0, 8.0),        # 1 % capacity factor
        ("P10", "Epsilon", "solar", "Solar", 100.0, 0.2, 5.0, 15.0),     # coded AAA, inside BBB
    ]
    df = pd.DataFrame(rows, columns=["plant_id", "name", "fuel", "gppd_fuel", "capacity_mw",
                                     "capacity_factor", "lat", "lon"])
    df["country_iso3"] = "AAA"
    df["generation_mwh_per_year"] = df["capacity_mw"] * df["capacity_factor"] * 8760
    return gpd.GeoDataFrame(df.drop(columns=["lat", "lon"]),
                            geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=WGS84)


def _fixture_boundaries():
    from shapely.geometry import box

    return gpd.GeoDataFrame({"country_iso3": ["AAA", "BBB"], "name": ["Aland", "Bland"],
                             "continent": ["X", "X"], "sovereign": ["AAA", "BBB"]},
                            geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=WGS84)


def test_clean_plants_rules_on_a_fixture():
    clean, report = plants.clean_plants(_fixture_plants(), boundaries=_fixture_boundaries())
    reasons = report.groupby("plant_id")["reason"].apply(set).to_dict()
    assert reasons["P2"] == {"duplicate"}
    assert report.loc[report["plant_id"] == "P2", "related_plant_id"].item() == "P1"
    assert reasons["P3"] == {"colocated_different_name"}
    assert reasons["P4"] == {"pumped_storage_name"}
    assert reasons["P5"] == {"offshore_wind"}
    assert reasons["P6"] == {"outside_country"} and reasons["P7"] == {"outside_country"}
    assert reasons["P8"] == {"pumped_storage_gppd_fuel"}
    assert reasons["P9"] == {"low_generation"}
    assert reasons["P10"] == {"outside_country"}  # 556 km outside its own country's polygon
    assert list(clean["plant_id"]) == ["P1", "P5"]
    assert list(clean["offshore"]) == [False, True]


def test_clean_plants_thresholds_come_from_assumptions():
    """A 0.5 km duplicate radius keeps Alpha's second record; a 600 km offshore range makes
    Far Wind offshore supply."""
    a = default_assumptions().with_overrides({"plant_duplicate_km": 0.5,
                                              "plant_offshore_wind_max_km": 600})
    clean, report = plants.clean_plants(_fixture_plants(), boundaries=_fixture_boundaries(),
                                        assumptions=a)
    assert {"P1", "P2", "P5", "P6"} <= set(clean["plant_id"])
    assert "duplicate" not in set(report["reason"])


@pytest.fixture(scope="module")
def cleaned(fetch_kwargs):
    raw = loaders.load_plants(**fetch_kwargs)
    clean, report = plants.load_clean_plants(**fetch_kwargs)
    return raw, clean, report


def _hydro_named(frame, word):
    return frame[(frame["fuel"] == "hydro") & frame["name"].str.contains(word, case=False)]


@pytest.mark.shared
@pytest.mark.parametrize("word", NAMED_PUMPED_STORAGE)
def test_named_pumped_storage_removed(cleaned, word):
    raw, clean, report = cleaned
    assert len(_hydro_named(raw, word)) >= 1  # GPPD has it, as "Hydro"
    assert _hydro_named(clean, word).empty
    ps = report[report["reason"].str.startswith("pumped_storage")]
    assert not _hydro_named(ps, word).empty


@pytest.mark.shared
def test_known_list_matches_exact_names_only(cleaned):
    """Liyuan (a Jinsha river dam) is not the Liyang pumped-storage station; HE Bajina Basta
    is the conventional plant beside the reversible RHE Bajina Basta."""
    _, clean, report = cleaned
    known = report[report["reason"] == "pumped_storage_known"]
    assert not known["name"].isin(["Liyuan", "HE BAJINA BASTA"]).any()
    assert {"Liyuan", "HE BAJINA BASTA"} <= set(clean["name"])
    assert {"Liyang", "RHE BAJINA BASTA", "Bailanhe"} <= set(known["name"])


@pytest.mark.shared
def test_low_generation_uses_jrc_expected_generation(cleaned):
    """Dlouhé Stráně (CZ, pumped storage): JRC's expected generation gives a capacity factor
    under 0.05, though GPPD's modelled estimate does not."""
    raw, _, report = cleaned
    row = report[(report["reason"] == "low_generation") & report["name"].str.startswith("Dlouh")]
    assert len(row) == 1
    gppd_cf = raw.set_index("plant_id").loc[row["plant_id"].item(), "capacity_factor"]
    assert gppd_cf > default_assumptions()["plant_min_hydro_capacity_factor"]


@pytest.mark.shared
def test_european_pumped_storage_found_by_jrc_and_ppm(cleaned):
    """Not by the hand list: JRC's type HPHS and powerplantmatching's technology."""
    _, _, report = cleaned
    for word in ["Dinorwig", "Cruachan", "Ffestiniog", "Vianden", "Goldisthal"]:
        reasons = set(_hydro_named(report, word)["reason"])
        assert reasons & {"pumped_storage_jrc", "pumped_storage_ppm"}, word


@pytest.mark.shared
def test_okinawa_yanbaru_not_supply(cleaned):
    raw, clean, _ = cleaned
    assert raw["name"].str.contains("Yanbaru|Okinawa", case=False).sum() == 0  # not in GPPD
    d = haversine_km(OKINAWA_YANBARU[0], OKINAWA_YANBARU[1], clean.geometry.y, clean.geometry.x)
    assert not ((d < 10) & (clean["fuel"] == "hydro")).any()


@pytest.mark.shared
@pytest.mark.parametrize("dropped, kept", [
    ("GBR2001139", "GBR1000151"),    # Dinorwig, 0.7 km apart
    ("GBR2001140", "GBR1000455"),    # Cruachan
    ("WRI1006007", "GEODB0045216"),  # PSW Vianden (DEU) / Vianden (LUX)
    ("WRI1070884", "WRI1000470"),    # Guadian Dam / Guandi
])
def test_duplicates_removed_with_the_kept_record_named(cleaned, dropped, kept):
    _, clean, report = cleaned
    dup = report[(report["reason"] == "duplicate") & (report["plant_id"] == dropped)]
    assert list(dup["related_plant_id"]) == [kept]
    assert dropped not in set(clean["plant_id"])


@pytest.mark.shared
def test_guandi_counted_once(cleaned):
    _, clean, _ = cleaned
    near = haversine_km(27.82, 101.88, clean.geometry.y, clean.geometry.x) < 5
    assert clean.loc[near & (clean["capacity_mw"] == 2400), "plant_id"].tolist() == ["WRI1000470"]


@pytest.mark.shared
def test_baihetan_does_not_double_xiluodu(cleaned):
    _, clean, report = cleaned
    flags = report[report["plant_id"] == "WRI1070877"]
    assert "colocated_different_name" in set(flags["reason"])
    assert flags.loc[flags["reason"] == "colocated_different_name",
                     "related_plant_id"].item() == "WRI1000453"  # Xiluodu
    assert "WRI1070877" not in set(clean["plant_id"]) and "WRI1000453" in set(clean["plant_id"])


@pytest.mark.shared
def test_tarfaya_flagged_and_left_out(cleaned):
    raw, clean, report = cleaned
    row = raw[raw["name"] == "Parc Eolien Tarfaya"]
    # the record lies ~1000 km from Tarfaya (27.93 N, 12.93 W), near Tetouan
    assert haversine_km(row.geometry.y.item(), row.geometry.x.item(), 27.93, -12.93) > 900
    assert "misplaced_known" in set(report.loc[report["plant_id"] == "WRI1023709", "reason"])
    assert "WRI1023709" not in set(clean["plant_id"])


@pytest.mark.shared
def test_coordinates_checked_against_own_country(cleaned):
    _, clean, report = cleaned
    outside = report[report["reason"] == "outside_country"].set_index("plant_id")
    assert "WRI1005410" in outside.index  # "Outside the Northeast", NLD, 3270 km away
    assert "WRI1005872" in outside.index  # Kopswerk I coded DEU, in Austria
    # Puerto Rico plants are coded USA: a territory of the same sovereign state is home
    assert "WRI1026818" in set(clean["plant_id"])  # Santa Isabel Wind Farm
    assert not set(outside.index) & set(clean["plant_id"])


@pytest.mark.shared
def test_offshore_wind_kept_as_supply(cleaned):
    _, clean, report = cleaned
    off = clean.set_index("name")
    for name in ["London Array", "Gemini", "Amrumbank West", "Walney 3"]:
        assert bool(off.loc[name, "offshore"]), name
    rows = report[report["reason"] == "offshore_wind"]
    assert (rows["fuel"] == "wind").all()
    assert (rows["action"] == plants.KEPT_AS_SUPPLY).all()
    assert set(rows["plant_id"]) <= set(clean["plant_id"])


@pytest.mark.shared
def test_report_lists_reasons_and_matches_removals(cleaned):
    raw, clean, report = cleaned
    assert list(report.columns) == plants.REPORT_COLUMNS
    assert set(report["reason"]) <= set(plants.REASONS)
    assert (report["action"] == report["reason"].map(plants.REASONS)).all()
    gone = set(report.loc[report["action"] != plants.KEPT_AS_SUPPLY, "plant_id"])
    assert len(clean) == len(raw) - len(gone)
    assert not gone & set(clean["plant_id"])
    counts = plants.removal_counts(report).set_index("reason")["plants"]
    assert counts["pumped_storage_jrc"] >= 50 and counts["duplicate"] >= 4
    # cleaning only removes: every kept plant is GPPD's record, unchanged
    merged = clean.merge(pd.DataFrame(raw.drop(columns="geometry")), on="plant_id",
                         suffixes=("", "_raw"))
    assert np.allclose(merged["capacity_mw"], merged["capacity_mw_raw"])


@pytest.mark.shared
def test_cli_writes_report(tmp_path, fetch_kwargs):
    from typer.testing import CliRunner

    from siting.cli import app

    dest = tmp_path / "plants.csv"
    res = CliRunner().invoke(app, ["data", "plants", "--report", str(dest),
                                   "--cache", str(fetch_kwargs["cache"]),
                                   "--mirror", str(fetch_kwargs["mirror"])])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(dest)
    assert list(table.columns) == plants.REPORT_COLUMNS
    assert "pumped_storage_known" in set(table["reason"])
