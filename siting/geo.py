"""Great-circle geometry on the WGS84 sphere approximation: haversine distances and
radius neighbour search with a k-d tree on unit vectors (exact for a sphere)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from siting.units import EARTH_RADIUS_KM


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km (element-wise on arrays)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _unit_vectors(lat, lon) -> np.ndarray:
    phi, lmb = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    return np.column_stack([np.cos(phi) * np.cos(lmb), np.cos(phi) * np.sin(lmb), np.sin(phi)])


def pairs_within_km(lat_a, lon_a, lat_b, lon_b, radius_km: float) -> pd.DataFrame:
    """All pairs (i in A, j in B) closer than ``radius_km`` along the great circle:
    ``i, j, distance_km``. A chord of length 2 sin(d / 2R) bounds the search exactly."""
    a, b = _unit_vectors(lat_a, lon_a), _unit_vectors(lat_b, lon_b)
    chord = 2.0 * np.sin(min(radius_km / EARTH_RADIUS_KM, np.pi) / 2.0)
    found = cKDTree(a).sparse_distance_matrix(cKDTree(b), chord, output_type="ndarray")
    pairs = pd.DataFrame({"i": found["i"].astype(int), "j": found["j"].astype(int)})
    lat_a, lon_a = np.asarray(lat_a, float), np.asarray(lon_a, float)
    lat_b, lon_b = np.asarray(lat_b, float), np.asarray(lon_b, float)
    pairs["distance_km"] = haversine_km(lat_a[pairs["i"]], lon_a[pairs["i"]],
                                        lat_b[pairs["j"]], lon_b[pairs["j"]])
    return pairs[pairs["distance_km"] <= radius_km].reset_index(drop=True)
