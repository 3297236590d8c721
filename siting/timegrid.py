"""Time as an object: an hourly UTC grid over the planning horizon.

A :class:`TimeGrid` is ``n_hours`` consecutive UTC hours from ``start``. Every time
series in siting (grid intensity, capacity factors, loads) lives on one, and the
coarser period modes are aggregations of it:

* ``periods("hourly")``  one period per hour;
* ``periods("monthly")`` one period per calendar month the grid touches;
* ``periods("annual")``  one period for the whole horizon.

A :class:`Periods` maps each hour to its period and carries the hours in each period
(its weight), so sums and hour-weighted means over periods are ``aggregate`` calls,
never hand-written month arithmetic.

Workloads run flat over a window of hours. :meth:`TimeGrid.segments` splits the grid
into the fewest intervals in which the set of running workloads is constant: a
constraint that must hold "in every hour" for flat loads holds in every hour exactly
when it holds once per segment (the load is the same in every hour of a segment).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from siting.errors import SitingError

PeriodMode = Literal["annual", "monthly", "hourly"]


@dataclass(frozen=True)
class Periods:
    """A partition of the grid's hours into consecutive periods."""

    mode: PeriodMode
    labels: tuple[str, ...]
    of_hour: np.ndarray  # (T_hours,) period index of each hour
    hours: np.ndarray  # (P,) hours in each period (the period's weight)

    @property
    def n(self) -> int:
        return len(self.labels)

    def aggregate(self, values: np.ndarray, how: Literal["sum", "mean"] = "sum") -> np.ndarray:
        """Sum (or hour-weighted mean) of ``values[..., hour]`` per period -> ``[..., period]``."""
        values = np.asarray(values, dtype=float)
        flat = values.reshape(-1, values.shape[-1])
        out = np.zeros((flat.shape[0], self.n))
        for i in range(flat.shape[0]):  # rows are few (sites x technologies); bincount is vectorised
            out[i] = np.bincount(self.of_hour, weights=flat[i], minlength=self.n)
        if how == "mean":
            out = out / self.hours
        return out.reshape(values.shape[:-1] + (self.n,))

    def expand(self, values: np.ndarray) -> np.ndarray:
        """Per-period values ``[..., period]`` repeated onto hours ``[..., hour]``."""
        return np.asarray(values)[..., self.of_hour]


@dataclass(frozen=True)
class TimeGrid:
    """``n_hours`` consecutive hours from ``start`` (UTC, on the hour)."""

    start: pd.Timestamp
    n_hours: int

    def __post_init__(self):
        start = pd.Timestamp(self.start)
        start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
        if start != start.floor("h"):
            raise SitingError(f"time grid: start {start} is not on the hour")
        if int(self.n_hours) != self.n_hours or self.n_hours < 1:
            raise SitingError(f"time grid: n_hours must be a positive integer, got {self.n_hours!r}")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "n_hours", int(self.n_hours))

    # ---------------------------------------------------------------- constructors
    @classmethod
    def year(cls, year: int) -> TimeGrid:
        """Every hour of a calendar year in UTC (8,760 or 8,784 hours)."""
        start = pd.Timestamp(year=int(year), month=1, day=1, tz="UTC")
        end = pd.Timestamp(year=int(year) + 1, month=1, day=1, tz="UTC")
        return cls(start, int((end - start) / pd.Timedelta(hours=1)))

    @classmethod
    def between(cls, start, end) -> TimeGrid:
        """Hours from ``start`` (inclusive) to ``end`` (exclusive)."""
        s, e = pd.Timestamp(start), pd.Timestamp(end)
        s = s.tz_localize("UTC") if s.tzinfo is None else s
        e = e.tz_localize("UTC") if e.tzinfo is None else e
        n = (e - s) / pd.Timedelta(hours=1)
        if n < 1 or n != int(n):
            raise SitingError(f"time grid: {s} to {e} is not a positive whole number of hours")
        return cls(s, int(n))

    # ---------------------------------------------------------------- views
    @property
    def end(self) -> pd.Timestamp:
        return self.start + pd.Timedelta(hours=self.n_hours)

    @property
    def timestamps(self) -> pd.DatetimeIndex:
        return pd.date_range(self.start, periods=self.n_hours, freq="h", tz="UTC", name="timestamp")

    @property
    def month(self) -> np.ndarray:
        """Calendar month (1-12) of each hour."""
        return self.timestamps.month.to_numpy()

    @property
    def hour_of_day(self) -> np.ndarray:
        """Hour of day (0-23, UTC) of each hour."""
        return self.timestamps.hour.to_numpy()

    @property
    def horizon_hours(self) -> float:
        return float(self.n_hours)

    def periods(self, mode: PeriodMode) -> Periods:
        """The grid's hours grouped into ``annual``, ``monthly`` or ``hourly`` periods."""
        ts = self.timestamps
        if mode == "hourly":
            of_hour = np.arange(self.n_hours)
            labels = tuple(ts.strftime("%Y-%m-%dT%H"))
        elif mode == "monthly":
            key = (ts.year * 12 + ts.month - 1).to_numpy()
            uniq, of_hour = np.unique(key, return_inverse=True)
            labels = tuple(f"{k // 12}-{k % 12 + 1:02d}" for k in uniq)
        elif mode == "annual":
            of_hour = np.zeros(self.n_hours, dtype=int)
            labels = ("horizon",)
        else:
            raise SitingError(f"time grid: unknown period mode {mode!r}; expected annual, monthly or hourly")
        hours = np.bincount(of_hour).astype(float)
        return Periods(mode, labels, of_hour, hours)

    # ---------------------------------------------------------------- windows
    def hour_index(self, when) -> int:
        """Index of the hour containing ``when`` (clipped to [0, n_hours])."""
        t = pd.Timestamp(when)
        t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
        k = int(np.floor((t - self.start) / pd.Timedelta(hours=1)))
        return min(max(k, 0), self.n_hours)

    def month_window(self, start_month: int, end_month: int) -> tuple[int, int]:
        """Hours ``[first, last)`` of calendar months ``start_month..end_month`` (inclusive) in the grid."""
        m = self.month
        inside = np.flatnonzero((m >= start_month) & (m <= end_month))
        if inside.size == 0:
            raise SitingError(f"time grid: months {start_month}-{end_month} are not in {self}")
        return int(inside[0]), int(inside[-1]) + 1

    def window_mask(self, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Boolean (W, T_hours): hour t is inside window ``[first_w, last_w)``."""
        t = np.arange(self.n_hours)
        return (t[None, :] >= np.asarray(first)[:, None]) & (t[None, :] < np.asarray(last)[:, None])

    def segments(self, first: np.ndarray, last: np.ndarray) -> Periods:
        """The coarsest partition of the grid on which every window ``[first_w, last_w)`` is
        constant: boundaries at every window start and end. Loads flat over their windows
        are constant within each segment, so "in every hour" equals "in every segment"."""
        cuts = np.unique(np.concatenate([[0, self.n_hours], np.asarray(first), np.asarray(last)]))
        cuts = cuts[(cuts >= 0) & (cuts <= self.n_hours)]
        of_hour = np.searchsorted(cuts, np.arange(self.n_hours), side="right") - 1
        hours = np.diff(cuts).astype(float)
        ts = self.timestamps
        labels = tuple(f"{ts[a]:%Y-%m-%dT%H}/{int(b - a)}h" for a, b in zip(cuts[:-1], cuts[1:], strict=True))
        return Periods("segments", labels, of_hour, hours)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.n_hours} h from {self.start:%Y-%m-%d %H:%M} UTC"
