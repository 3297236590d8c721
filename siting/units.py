"""Unit conversions (definitions, not assumptions)."""

HOURS_PER_YEAR = 8760.0  # 365 x 24
KW_PER_W = 1e-3
MWH_PER_KWH = 1e-3
MWH_PER_GWH = 1e3
T_PER_G = 1e-6
EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
WGS84 = "EPSG:4326"
