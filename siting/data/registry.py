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
    )
}


# ------------------------------------------------------------ hourly supply profiles (data.profiles)
_DCRL = ("https://raw.githubusercontent.com/HewlettPackard/dc-rl/"
         "a92b4755aca560e34a98d14028dda629eb968482/data/CarbonIntensity")
_DISPASET = ("https://raw.githubusercontent.com/energy-modelling-toolkit/Dispa-SET/"
             "b30cc1a4a16b51ef2a1b33b1647647766180864f/Database/AvailabilityFactors")
_OSEMOSYS = ("https://raw.githubusercontent.com/OSeMOSYS/osemosys_global/"
             "5983d6b9c14160537c5c36cb5c1346a8cd882d3c/resources/data/default")
EIA_BA_SHA256 = {
    "AZPS": "e05789a1dbf940e0554b0e8db42d84ed5cc0279d0050206fb048ba832ef24ef4",
    "BPAT": "ea4b1f6ea07c623958077590de68c42a693c12cb608e9e802ab70a055e59beaf",
    "CISO": "0e6d562d4105e16e652cb48c8eb818a3110d063aca8cfa8a68fa24209db3aac4",
    "ERCO": "886432b2b988d9f4e280ee147dc45e095f6a4fffa30960a1254d4ee113bf2255",
    "MISO": "9f4a155433568fa1c014a5aefc8834556f5054d71d401b5c9cfba9211fef41ee",
    "NYIS": "fe64c68f40bc9caffcdb5eb760614f2cda984aa99e6d95328fb18847cce869b8",
    "PJM": "371fcbccb6b7d768df41bffd4496d58295a86e6821daf9528f013931a047d21d",
    "SOCO": "90654744766469a90b85d971c56e921bc5013ab597c44d87bc7f6eaa6f899e72",
}
DISPASET_ZONE_SHA256 = {
    "AL": "f0a478c508208734f9962fad503a919233c258a24edb086f32b59c249ab3a2b8",
    "AT": "6df4d3d26363dc89228a1e5a2a1dc35fbd2944b510d22c0c4ca1ba1fc8aa0164",
    "BA": "e5c6a445e3a61f344e8fb07fee2c90361a02b076a887d899c77373a48ca16c8b",
    "BE": "9285c26905b7f8cc98da40bad7fe29ffdec7d198df569db519e9cb2278c5da0f",
    "BG": "c797251c825003632c7b5d636daffea508d164cd2848d3214a1c7841445d558e",
    "CH": "3aad8d7ec43238087b6cb02b26bba9a272c7afe67be3fd2430cf3353b1510086",
    "CY": "82e77af18321cf469a501753931fd66465c8f7e0fb93dfdf1cb28f358165df40",
    "CZ": "353e3d64cfc0b0dbcb9b7cbbb0e7286b2a006ef800f5614b50fa60de5a3a5307",
    "DE": "98e3bb2b2eee7fbb45fbee4699874d55cdc0475b8525f6479ac6e3c885911a9b",
    "DK": "8bf9b4577eab1e71039cea9205fc5f7dac9b2eafe8b4492d59780cbc5925e211",
    "EE": "c25c855ee80f9ffe821db4c703f64c784ad5210b5f46cfa54ded6328f44cd9b7",
    "EL": "70486c53c3b3d0f5fe9f3ed5b2dd328ecde98f01ad29b57b70049237d29eeea3",
    "ES": "cc19c7ede16c505a8a36e381a05104b99e1e811c07edeb7220199dfe16a60515",
    "FI": "1868b4b33f6dffc4dc3757c3ea2c90d035539b03f629ca037840808796189565",
    "FR": "4f15a57596347826549be74ff671c1cf3576a0dd5d63e9af4d7983f051a811a9",
    "GR": "07b0bef7b9060d2e6b747ac1f6c646c419e395ec19a98c90bb2c7ff56ec4c746",
    "HR": "98b315d2b87b2793324524a66401177486498158426ed95e85ca70dd7e4244d5",
    "HU": "85be38579a4fcdd098811100e9550aa6357c074921a02cb187628afc798ca313",
    "IE": "6509a620b9ff278c3b6215daceacb3c730a2caa0cb1787c5ed4499e57be4c0d9",
    "IT": "0d67a324704271047b8061ab77110e86779daa046b518ecbeb1d79fcb6e9bd4a",
    "LT": "201d46e5dc45b976bc78b589293978bb7fb7af8195c66c35cebba4e5a95d3b04",
    "LU": "f111efc4f3ef60d0d3b602d13bd1544268d8c1b407247fca1d4bbf71466ba5ec",
    "LV": "efc493afd209a3ecc391060f25d64fc57c090a9f24bfa63b44c36babe06a047b",
    "MD": "56f830e6bbe2e12932a4d6ab123016d3235b70234cfb5afa36709b58a709f67c",
    "ME": "e4665d51ecadab5614b72f9af2e916157a342b628b42bc20b708cb9f8d4d6bfc",
    "MK": "aa6feee216c573f9947e711ea45fe6ac8a3c2018cef2407fee95f38e38319b20",
    "MT": "17c51e572e6be45ec282f820aacab187aa76808672cd8aa97e80d10fb9823f61",
    "NL": "9bff5459178722ce13a1dfbe3716d34fb1b3a8becccde989b8cbdbab6bf62f17",
    "NO": "3df11fad9bd813db7fa255261f974d16ff841558398a798dc631c1294ae9d0f8",
    "PL": "88750b13da4bd979249dc5153d603f79511b6676309dc8d22b93179429eeafdb",
    "PT": "f8679f76f53a07cf151ce54cc417e4e746c3aa55771577f3ffb2bec74fe75169",
    "RO": "3947fea900c38d1f7eebab69f2fbe42c6006522f3ad4d1f21a11ef2623ec8958",
    "RS": "3882ebdc71d45de4a79f562f5026eece3f8ebc454781c87c8b751cf48d5e32f9",
    "SE": "dcbbd5f3b7f77b1ca5cbbfc719b68a81ac1681189f399bc5d2dddc4d3d6ed1b4",
    "SI": "1365804d022e148402d277cd3d2da571628949599ac8abf23d17ddf0bb3f8450",
    "SK": "df7165c442d41e79493234242937fb85c527f989b812077b6772a4c7d5c6ebe7",
    "UK": "b5f895be9418ebd3c11c7206483fd25ea41fa66b89d51dc3a863d11a7eb0d4b8",
}
EIA_BAS = tuple(EIA_BA_SHA256)
DISPASET_ZONES = tuple(DISPASET_ZONE_SHA256)

DATASETS.update({
    d.name: d
    for d in (
        Dataset(
            name="eia-hourly-ba-2022",
            title="US balancing-authority hourly generation by fuel, 2022 (EIA-930, via HPE dc-rl)",
            licence="public domain (US EIA); repository copy MIT",
            attribution="U.S. Energy Information Administration, Form EIA-930 Hourly Electric Grid "
                        "Monitor; extracted by Hewlett Packard Enterprise, dc-rl (2024)",
            format="csv",
            files=tuple(DatasetFile(f"{ba}_NG_&_avgCI.csv", f"{_DCRL}/{ba}_NG_%26_avgCI.csv", sha)
                        for ba, sha in EIA_BA_SHA256.items()),
            loader="siting.data.profile_sources.load_eia_ba",
            redistributable=True,
        ),
        Dataset(
            name="dispaset-af-2016",
            title="Dispa-SET hourly availability factors 2016 (PV, wind on/offshore, run-of-river)",
            licence="EUPL 1.2",
            attribution="Dispa-SET, European Commission Joint Research Centre "
                        "(energy-modelling-toolkit/Dispa-SET)",
            format="csv",
            files=tuple(DatasetFile(f"{z}_2016.csv", f"{_DISPASET}/{z}/1h/2016.csv", sha)
                        for z, sha in DISPASET_ZONE_SHA256.items()),
            loader="siting.data.profile_sources.load_dispaset",
            redistributable=False,
        ),
        Dataset(
            name="plexos-world-hydro-monthly",
            title="PLEXOS-World hydro monthly capacity factors (15-year average), via OSeMOSYS Global",
            licence="unverified (PLEXOS-World, Harvard Dataverse doi:10.7910/DVN/CBYXBY)",
            attribution="Brinkerink et al., PLEXOS-World; Gernaat et al. (2017), Nature Energy",
            format="csv",
            files=(DatasetFile("Hydro_Monthly_Profiles_15yr_avg.csv",
                               f"{_OSEMOSYS}/Hydro_Monthly_Profiles%20(15%20year%20average).csv",
                               "f03c667fc225d60758b3529265ccaf4dc5ceca09423181bae614d40aef2429d6"),),
            loader="siting.data.profile_sources.load_plexos_hydro",
            redistributable=False,
        ),
    )
})


def get_dataset(name: str) -> Dataset:
    if name not in DATASETS:
        raise SitingError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]
