"""The hourly problem: sites, workloads, technologies and their series on a time grid,
as arrays in one fixed order (sites s, workloads w, technologies k, hours t, segments j).

Workloads run flat over their window of hours, so the time grid splits into *segments*
(:meth:`siting.timegrid.TimeGrid.segments`) within which every site's load is constant:
``lam_sj`` MW in every hour of segment j. GPU capacity and a facility MW cap then hold in
every hour exactly when they hold in every segment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from siting.accounting import annuity_usd_per_kw_year, co2_t_per_mwh, horizon_cost_usd_per_mw
from siting.errors import SitingError
from siting.timegrid import Periods, TimeGrid
from siting.units import HOURS_PER_YEAR

ObjectiveKind = Literal["min_co2", "min_cost", "cost_plus_carbon"]


@dataclass(frozen=True)
class Objective:
    """What to optimise and the limits that hold.

    * ``min_co2``: least tCO2e (subject to ``budget_usd`` when given);
    * ``min_cost``: least cost (subject to ``co2_cap_t`` when given);
    * ``cost_plus_carbon``: least cost + ``carbon_price_usd_per_t`` x tCO2e.
    Any of them with ``cfe_target`` (hourly CFE share), per site or overall.
    """

    kind: ObjectiveKind = "min_co2"
    co2_cap_t: float | None = None
    budget_usd: float | None = None
    carbon_price_usd_per_t: float = 0.0
    cfe_target: float | None = None
    cfe_scope: Literal["overall", "site"] = "overall"

    @property
    def uses_cost(self) -> bool:
        return self.kind != "min_co2" or self.budget_usd is not None

    @property
    def uses_co2(self) -> bool:
        return self.kind != "min_cost" or self.co2_cap_t is not None

    @property
    def uses_cfe(self) -> bool:
        return self.cfe_target is not None


@dataclass
class HourlyProblem:
    """Arrays on the time grid. Energies MWh, powers MW, intensities g/kWh, costs USD."""

    name: str
    grid: TimeGrid
    sites: pd.DataFrame  # site_id, capacity_gpus, pue, capacity_mw (inf: none), embodied_t, fixed_cost_usd
    workloads: (
        pd.DataFrame
    )  # workload_id, gpu_hours, gpu_power_kw, overhead_share, splittable, first_hour, last_hour
    grid_ci: np.ndarray  # (S, T) g/kWh
    price: np.ndarray  # (S, T) USD/MWh
    technologies: pd.DataFrame  # index technology: lifecycle_ci_g_per_kwh, annuity_usd_per_kw_year
    cf: np.ndarray  # (S, K, T)
    potential_mw: np.ndarray  # (S, K)
    storage_potential_mwh: np.ndarray | None = None  # (S,) None or zeros: no storage
    storage: dict = field(default_factory=dict)  # annuity_usd_per_kwh_year, efficiency, duration_h
    max_sites: int | None = None
    provenance: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __post_init__(self):
        S, T, K = len(self.sites), self.grid.n_hours, len(self.technologies)
        for name, arr, shape in (
            ("grid_ci", self.grid_ci, (S, T)),
            ("price", self.price, (S, T)),
            ("cf", self.cf, (S, K, T)),
            ("potential_mw", self.potential_mw, (S, K)),
        ):
            if np.shape(arr) != shape:
                raise SitingError(f"hourly problem: {name} has shape {np.shape(arr)}, expected {shape}")
        if (self.price < 0).any():
            raise SitingError(
                "hourly problem: grid prices must be >= 0 USD/MWh (negative prices would "
                "make buying grid energy pay, which the decomposition does not model)"
            )
        if not ((self.cf >= 0) & (self.cf <= 1)).all():
            raise SitingError("hourly problem: capacity factors must lie in [0, 1]")
        first = self.workloads["first_hour"].to_numpy(int)
        last = self.workloads["last_hour"].to_numpy(int)
        if ((first < 0) | (last > T) | (last <= first)).any():
            raise SitingError("hourly problem: a workload window lies outside the time grid")
        self.segments: Periods = self.grid.segments(first, last)
        self.active = np.zeros((len(self.workloads), self.segments.n), bool)  # (W, J)
        seg_first = np.concatenate([[0], np.cumsum(self.segments.hours)[:-1]]).astype(int)
        self.segment_start = seg_first
        self.active = (seg_first[None, :] >= first[:, None]) & (seg_first[None, :] < last[:, None])

    # --------------------------------------------------------------- sizes
    @property
    def n_sites(self) -> int:
        return len(self.sites)

    @property
    def n_workloads(self) -> int:
        return len(self.workloads)

    @property
    def n_tech(self) -> int:
        return len(self.technologies)

    @property
    def n_hours(self) -> int:
        return self.grid.n_hours

    @property
    def has_storage(self) -> bool:
        return self.storage_potential_mwh is not None and bool(np.any(self.storage_potential_mwh > 0))

    @property
    def battery_sites(self) -> np.ndarray:
        """(S,) bool: the sites where a battery may be built."""
        if not self.has_storage:
            return np.zeros(self.n_sites, bool)
        return self.storage_potential_mwh > 0

    # --------------------------------------------------------------- workload rates
    @property
    def window_hours(self) -> np.ndarray:
        return (self.workloads["last_hour"] - self.workloads["first_hour"]).to_numpy(float)

    @property
    def gpus_busy(self) -> np.ndarray:
        """(W,) GPUs a workload keeps busy in each hour of its window."""
        return self.workloads["gpu_hours"].to_numpy(float) / self.window_hours

    @property
    def it_power_mw(self) -> np.ndarray:
        """(W,) IT power (MW) of a workload while it runs (GPUs x power x (1 + overhead))."""
        w = self.workloads
        return (
            self.gpus_busy
            * w["gpu_power_kw"].to_numpy(float)
            * (1 + w["overhead_share"].to_numpy(float))
            / 1000.0
        )

    @property
    def it_mw_by_segment(self) -> np.ndarray:
        """(W, J) IT power (MW) of each workload in every hour of each segment (0 where it
        does not run)."""
        return self.active * self.it_power_mw[:, None]

    @property
    def maximal_segments(self) -> np.ndarray:
        """Indices of the segments whose set of running workloads is not inside another
        segment's (of equal sets, the first). A site's GPUs busy (and its load) in any segment
        is at most that of a segment whose set contains it, since every share and rate is
        >= 0: capacity rows of the other segments are implied. On the large bench instance
        (100 workloads, 8,760 h) 6 of 153 segments."""
        a = self.active.astype(np.int64)  # (W, J)
        size = a.sum(axis=0)
        inside = (a.T @ a) == size[:, None]  # inside[j, k]: set j within set k
        np.fill_diagonal(inside, False)
        same = inside & inside.T
        strictly = inside & ~same
        later_copy = np.triu(same, k=1).any(axis=0)  # an equal set comes earlier
        return np.flatnonzero(~(strictly.any(axis=1) | later_copy))

    # --------------------------------------------------------------- coefficient tables
    def capacity_cost_usd_per_mw(self) -> np.ndarray:
        """(K,) cost of 1 MW of each technology held over the horizon."""
        return horizon_cost_usd_per_mw(
            self.technologies["annuity_usd_per_kw_year"].to_numpy(float), self.n_hours, HOURS_PER_YEAR
        )

    def storage_cost_usd_per_mwh(self) -> float:
        if not self.storage:
            return 0.0
        return float(
            horizon_cost_usd_per_mw(self.storage["annuity_usd_per_kwh_year"], self.n_hours, HOURS_PER_YEAR)
        )

    def lifecycle_t_per_mw(self) -> np.ndarray:
        """(S, K) tCO2e of everything 1 MW of technology k generates at site s over the horizon
        (all procured generation carries its lifecycle factor, used or spilled)."""
        lc = self.technologies["lifecycle_ci_g_per_kwh"].to_numpy(float)
        return co2_t_per_mwh(lc)[None, :] * self.cf.sum(axis=2)

    def segment_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values[..., t]`` over each segment's hours -> ``[..., j]``."""
        return np.add.reduceat(np.asarray(values, float), self.segment_start, axis=-1)

    def load_mwh(self, lam: np.ndarray) -> np.ndarray:
        """(S, T) hourly load from per-segment loads (S, J)."""
        return lam[:, self.segments.of_hour]


def technology_table(techs: pd.DataFrame, discount_rate: float) -> pd.DataFrame:
    """Technologies with their yearly cost per kW (annuity + fixed O&M) computed."""
    out = techs.copy()
    out["annuity_usd_per_kw_year"] = annuity_usd_per_kw_year(
        out["capex_usd_per_kw"].to_numpy(float),
        out["fixed_om_usd_per_kw_year"].to_numpy(float),
        out["lifetime_years"].to_numpy(float),
        discount_rate,
    )
    return out
