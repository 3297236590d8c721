"""The dataset registry: one entry per public dataset siting reads.

Each entry names the canonical URL(s) (those in the mirror's ``SOURCE.md``), the
licence and attribution, the format, a sha256 where the URL is pinned to an exact
version, and the loader that parses it. Names equal the folder names of the
offline mirror (``../shared/datasets``), whose layout is ``<name>/<filename>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from siting.errors import SitingError


@dataclass(frozen=True)
class DatasetFile:
    filename: str
    url: str
    sha256: str | None = None  # pinned only where the URL serves one exact version


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    licence: str
    attribution: str
    format: str
    files: tuple[DatasetFile, ...]
    loader: str  # dotted name of the parser in siting.data.loaders
    redistributable: bool  # may aggregates of it be committed into data/regions?

    def file(self, filename: str) -> DatasetFile:
        for f in self.files:
            if f.filename == filename:
                return f
        names = ", ".join(f.filename for f in self.files)
        raise SitingError(f"dataset {self.name} has no file {filename!r}; it has: {names}")


_WRI = "https://raw.githubusercontent.com/wri/global-power-plant-database"
_JRC = ("https://raw.githubusercontent.com/energy-modelling-toolkit/hydro-power-database/"
        "fd7535cbf38514c5fc8921c6ac565be0d7a26275/data")
_NE = "https://raw.githubusercontent.com/nvkelso/natural-earth-vector/master/geojson"
_EMAPS = "https://data.electricitymaps.com/2025-04-03"
_EMBER = ("https://raw.githubusercontent.com/ember-climate/ember-data-api/"
          "02ce82d403b50d2cd2acd792505411088891b34e/data")
_EMCONF = ("https://raw.githubusercontent.com/electricitymaps/electricitymaps-contrib/"
           "b354f28aad434182bf591c51481e7eded62306cf")
_CO2JS = ("https://raw.githubusercontent.com/thegreenwebfoundation/co2.js/"
          "27cbe8328aeaad0824fb07b3640dc45b72228c7b/data/output/electricity-maps")
_DCRL = ("https://raw.githubusercontent.com/HewlettPackard/dc-rl/"
         "a92b4755aca560e34a98d14028dda629eb968482/data/CarbonIntensity")

EMAPS_2022_ZONES = ("BE", "BR-CS", "CA-ON", "CA-QC", "CH", "DE", "ES", "FI", "FR", "GB",
                    "IT-NO", "NL", "PL")
EMAPS_2023_ZONES = ("DE", "FR", "GB", "US-CAL-CISO")

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="gppd-v1.3",
            title="Global Power Plant Database v1.3.0 (WRI)",
            licence="CC BY 4.0",
            attribution="Global Energy Observatory, Google, KTH Royal Institute of Technology in "
                        "Stockholm, Enipedia, World Resources Institute (2021). Global Power Plant "
                        "Database v1.3.0",
            format="csv",
            files=(
                DatasetFile("global_power_plants.csv",
                            f"{_WRI}/master/output_database/global_power_plant_database.csv"),
                DatasetFile("global_power_plant_database_country_summary.csv",
                            f"{_WRI}/7a91cfbb2a4e272597acbc00506d61fc1ec73b3d/output_database/"
                            "global_power_plant_database_country_summary.csv",
                            "63ae234463eae135c97858aa928ef17eb098fa3be53b89d6689aeb5cd1507e07"),
            ),
            loader="load_plants",
            redistributable=True,
        ),
        Dataset(
            name="owid-carbon-intensity-elec",
            title="Carbon intensity of electricity generation (Our World in Data, Ember, Energy "
                  "Institute)",
            licence="CC BY 4.0",
            attribution="Ember (2025); Energy Institute, Statistical Review of World Energy (2025) "
                        "- with major processing by Our World in Data",
            format="csv",
            files=(DatasetFile("carbon-intensity-electricity.csv",
                               "https://ourworldindata.org/grapher/carbon-intensity-electricity.csv"),),
            loader="load_grid_intensity",
            redistributable=True,
        ),
        Dataset(
            name="natural-earth-110m",
            title="Natural Earth 1:110m admin-0 countries",
            licence="public domain",
            attribution="Made with Natural Earth. Free vector and raster map data @ naturalearthdata.com",
            format="geojson",
            files=(DatasetFile("ne_110m_admin_0_countries.geojson",
                               f"{_NE}/ne_110m_admin_0_countries.geojson"),),
            loader="load_boundaries",
            redistributable=True,
        ),
        Dataset(
            name="natural-earth-50m",
            title="Natural Earth 1:50m admin-0 countries",
            licence="public domain",
            attribution="Made with Natural Earth. Free vector and raster map data @ naturalearthdata.com",
            format="geojson",
            files=(DatasetFile("ne_50m_admin_0_countries.geojson",
                               f"{_NE}/ne_50m_admin_0_countries.geojson"),),
            loader="load_boundaries",
            redistributable=True,
        ),
        Dataset(
            name="jrc-hydro",
            title="JRC Hydro-power plants database (Europe)",
            licence="CC BY 4.0",
            attribution="De Felice, M. et al., JRC Hydro-power database (Joint Research Centre)",
            format="csv",
            files=(
                DatasetFile("jrc-hydro-power-plant-database.csv",
                            f"{_JRC}/jrc-hydro-power-plant-database.csv",
                            "dda401f93d50622c9d9d3641427a927fde196b0fe52e977f289adb0c27ba9724"),
                DatasetFile("datapackage.json", f"{_JRC}/datapackage.json",
                            "778ef8ec9b1b29705933f4129e9a0b051d49af01cfbbdd20f85ee90968a93ca8"),
            ),
            loader="load_jrc_hydro",
            redistributable=True,
        ),
        Dataset(
            name="powerplantmatching",
            title="powerplantmatching: matched European power-plant dataset (powerplants.csv)",
            licence="CC BY 4.0",
            attribution="Contributors to powerplantmatching (PyPSA), Gotzens et al. (2019), "
                        "Energy Strategy Reviews 23, 1-12",
            format="csv",
            files=(DatasetFile("powerplants.csv",
                               "https://raw.githubusercontent.com/PyPSA/powerplantmatching/"
                               "9a63ed0363e748a6967673c00cb2a6dd7d6c80c4/powerplants.csv",
                               "e9022f23069c7f48c47e3d9b1b294f75ad9595dec92c1cef4354d6dfc7aa58c7"),),
            loader="load_powerplantmatching",
            redistributable=True,
        ),
        Dataset(
            name="emaps-hourly-2022",
            title="Electricity Maps hourly carbon intensity 2022 (Data Portal)",
            licence="ODbL 1.0",
            attribution="Electricity Maps (electricitymaps.com)",
            format="csv",
            files=tuple(DatasetFile(f"{z}_2022_hourly.csv", f"{_EMAPS}/{z}_2022_hourly.csv")
                        for z in EMAPS_2022_ZONES),
            loader="load_hourly_intensity",
            redistributable=False,
        ),
        Dataset(
            name="emaps-hourly-2023",
            title="Electricity Maps hourly carbon intensity 2023 (Data Portal)",
            licence="ODbL 1.0",
            attribution="Electricity Maps (electricitymaps.com)",
            format="csv",
            files=tuple(DatasetFile(f"{z}_2023_hourly.csv", f"{_EMAPS}/{z}_2023_hourly.csv")
                        for z in EMAPS_2023_ZONES),
            loader="load_hourly_intensity",
            redistributable=False,
        ),
        Dataset(
            name="epoch-ml-hardware",
            title="Epoch AI, Data on Machine Learning Hardware",
            licence="CC BY 4.0",
            attribution="Epoch AI, 'Data on Machine Learning Hardware' (epoch.ai)",
            format="csv",
            files=(DatasetFile("ml_hardware.csv", "https://epoch.ai/data/ml_hardware.csv"),),
            loader="load_gpu_specs",
            redistributable=True,
        ),
        Dataset(
            name="ember-monthly",
            title="Ember monthly electricity data: carbon intensity by country and US state",
            licence="CC BY 4.0",
            attribution="Ember (2025), monthly electricity data (ember-climate.org/data)",
            format="csv",
            files=tuple(DatasetFile(f, f"{_EMBER}/{f}") for f in
                        ("api_country_overview_monthly.csv", "api_overview_usa_monthly.csv")),
            loader="siting.data.grid_sources.load_ember_country_monthly",
            redistributable=True,
        ),
        Dataset(
            name="electricitymaps-config",
            title="Electricity Maps zone polygons and data-centre list (electricitymaps-contrib)",
            licence="AGPL-3.0 (data: treat as ODbL/AGPL; run time only)",
            attribution="Electricity Maps (electricitymaps.com), electricitymaps-contrib",
            format="geojson",
            files=(DatasetFile("world.geojson", f"{_EMCONF}/geo/world.geojson"),
                   DatasetFile("data_centers.json",
                               f"{_EMCONF}/config/data_centers/data_centers.json")),
            loader="siting.data.grid_sources.load_em_zones",
            redistributable=False,
        ),
        Dataset(
            name="co2js-grid-intensity",
            title="Electricity Maps yearly zone carbon intensity (republished by CO2.js)",
            licence="ODbL 1.0",
            attribution="Electricity Maps (electricitymaps.com), via The Green Web Foundation CO2.js",
            format="json",
            files=tuple(DatasetFile(f"yearly_{y}.json", f"{_CO2JS}/yearly_{y}.json")
                        for y in range(2021, 2026)),
            loader="siting.data.grid_sources.load_em_yearly",
            redistributable=False,
        ),
        Dataset(
            name="eia-hourly-ba-2022",
            title="US balancing-authority hourly generation by fuel, 2022 (EIA-930, via dc-rl)",
            licence="public domain (US EIA); repository MIT",
            attribution="U.S. Energy Information Administration, Form EIA-930 (Hourly Electric "
                        "Grid Monitor); files from HewlettPackard/dc-rl",
            format="csv",
            files=tuple(DatasetFile(f"{ba}_NG_&_avgCI.csv", f"{_DCRL}/{ba}_NG_%26_avgCI.csv")
                        for ba in ("AZPS", "BPAT", "CISO", "ERCO", "MISO", "NYIS", "PJM",
                                   "SOCO")),
            loader="siting.data.grid_sources.load_eia_ba_hourly",
            redistributable=True,
        ),
    )
}


def get_dataset(name: str) -> Dataset:
    if name not in DATASETS:
        raise SitingError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]
