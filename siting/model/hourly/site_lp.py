"""One site's hourly dispatch and procurement as an LP, given its load.

For a site s with load ``L_t`` (MWh in hour t; flat within each workload segment, so
``L_t = lam_j`` for t in segment j) the LP chooses procured capacity ``P_k`` (MW of
technology k, ``0 <= P_k <= potential_k``), optional storage energy ``E`` (MWh, fixed
duration ``d`` hours, round-trip efficiency ``eta``), and per hour the carbon-free energy
used ``m_t``, grid energy ``g_t``, charge, discharge and state of charge:

    bal_t:  m_t + g_t = L_t                                   (load served)
    sup_t:  m_t + ch_t - dis_t <= sum_k cf_kt P_k             (clean supply; spill is slack)
    soc_t:  soc_t = soc_{t-1} + eta ch_t - dis_t              (cyclic over the horizon)
            ch_t <= E/d,  dis_t <= E/d,  soc_t <= E

Its three outputs are linear in the columns (the one accounting rule, ``siting.accounting``):

    cost_usd = sum_k annuity_k P_k + annuity_E E + sum_t price_t g_t
    co2_t    = sum_t ci_t g_t / 1000 + sum_k lifecycle_k (sum_t cf_kt) P_k / 1000
    cfe_mwh  = sum_t m_t

``value(lam, weights)`` is ``min weights . (cost, co2, -cfe)``, a convex piecewise-linear
function of the segment loads ``lam``; its subgradient is the sum of the ``bal_t`` duals over
each segment. ``separate(lam, point)`` finds, for a master point (cost*, co2*, cfe*), the
weights of a hyperplane that cuts it off when the point is not achievable at ``lam``.
These two calls are all the master problem needs (Benders decomposition by site).
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from siting.accounting import co2_t_per_mwh, hourly_outputs
from siting.model.solve import new_highs

INF = highspy.kHighsInf
OUTPUTS = ("cost_usd", "co2_t", "cfe_mwh")


@dataclass(frozen=True)
class SiteData:
    """Everything one site's LP needs (arrays on the time grid's hours)."""

    grid_ci: np.ndarray  # (T,) g/kWh
    price: np.ndarray  # (T,) USD/MWh
    cf: np.ndarray  # (K, T) capacity factors of procurable technologies
    potential_mw: np.ndarray  # (K,) most that can be procured (inf: no limit)
    annuity_usd_per_mw: np.ndarray  # (K,) over the horizon
    lifecycle_g_per_kwh: np.ndarray  # (K,)
    segment_of_hour: np.ndarray  # (T,) segment index j of each hour
    n_segments: int
    storage_potential_mwh: float = 0.0  # 0: no storage
    storage_annuity_usd_per_mwh: float = 0.0  # over the horizon
    storage_duration_h: float = 4.0
    storage_efficiency: float = 0.85

    @property
    def n_hours(self) -> int:
        return len(self.grid_ci)

    @property
    def has_storage(self) -> bool:
        return self.storage_potential_mwh > 0


@dataclass
class LpPoint:
    """The LP's answer at one load vector."""

    value: float  # weights . (cost, co2, -cfe)
    gradient: np.ndarray  # (J,) d value / d lam_j
    outputs: np.ndarray  # (3,) cost_usd, co2_t, cfe_mwh at the optimum
    columns: np.ndarray  # primal values (for the hourly table)


class SiteLP:
    """A persistent HiGHS LP for one site; loads and weights change between solves."""

    def __init__(self, data: SiteData):
        self.d = data
        T, K = data.n_hours, len(data.potential_mw)
        self.T, self.K = T, K
        st = data.has_storage
        # column blocks
        self.c_P = np.arange(K)
        nxt = K
        self.c_E = nxt if st else -1
        nxt += 1 if st else 0
        self.c_m = nxt + np.arange(T)
        self.c_g = nxt + T + np.arange(T)
        nxt += 2 * T
        if st:
            self.c_ch, self.c_dis, self.c_soc = (nxt + np.arange(T), nxt + T + np.arange(T),
                                                 nxt + 2 * T + np.arange(T))
            nxt += 3 * T
        self.c_sig = nxt + np.arange(3)
        self.n_cols = nxt + 3
        rows, cols, vals, lo, hi = [], [], [], [], []
        r = 0

        def block(n, entries, lo_v, hi_v):
            nonlocal r
            for c, v, rr in entries:
                rows.append(r + rr)
                cols.append(c)
                vals.append(v)
            lo.append(np.broadcast_to(lo_v, n))
            hi.append(np.broadcast_to(hi_v, n))
            start = r
            r += n
            return np.arange(start, start + n)

        t = np.arange(T)
        one = np.ones(T)
        self.r_bal = block(T, [(self.c_m, one, t), (self.c_g, one, t)], 0.0, 0.0)
        sup = [(self.c_m, one, t)]
        for k in range(K):
            sup.append((np.full(T, k), -data.cf[k], t))
        if st:
            sup += [(self.c_ch, one, t), (self.c_dis, -one, t)]
        self.r_sup = block(T, sup, -INF, 0.0)
        if st:
            eta, dur = data.storage_efficiency, data.storage_duration_h
            block(T, [(self.c_soc, one, t), (self.c_soc[(t - 1) % T], -one, t),
                      (self.c_ch, -eta * one, t), (self.c_dis, one, t)], 0.0, 0.0)
            block(T, [(self.c_ch, one, t), (np.full(T, self.c_E), -one / dur, t)], -INF, 0.0)
            block(T, [(self.c_dis, one, t), (np.full(T, self.c_E), -one / dur, t)], -INF, 0.0)
            block(T, [(self.c_soc, one, t), (np.full(T, self.c_E), -one, t)], -INF, 0.0)
        # output rows (free in value mode; bounded in separation mode)
        self.out_coef = self._output_coefficients()
        self.r_out = np.arange(r, r + 3)
        for i in range(3):
            nz = np.flatnonzero(self.out_coef[i])
            rows.append(np.full(len(nz), r + i))
            cols.append(nz)
            vals.append(self.out_coef[i][nz])
            rows.append(np.array([r + i]))
            cols.append(np.array([self.c_sig[i]]))
            vals.append(np.array([1.0 if i == 2 else -1.0]))
        lo.append(np.full(3, -INF))
        hi.append(np.full(3, INF))
        r += 3
        A = sp.coo_matrix((np.concatenate([np.asarray(v, float).ravel() for v in vals]),
                           (np.concatenate([np.asarray(x).ravel() for x in rows]),
                            np.concatenate([np.asarray(x).ravel() for x in cols]))),
                          shape=(r, self.n_cols)).tocsc()
        col_lo = np.zeros(self.n_cols)
        col_hi = np.full(self.n_cols, INF)
        col_hi[self.c_P] = np.where(np.isfinite(data.potential_mw), data.potential_mw, INF)
        if st:
            col_hi[self.c_E] = data.storage_potential_mwh
        col_hi[self.c_sig] = 0.0
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.n_cols, r
        lp.col_cost_ = np.zeros(self.n_cols)
        lp.col_lower_, lp.col_upper_ = col_lo, col_hi
        lp.row_lower_ = np.concatenate(lo).astype(float)
        lp.row_upper_ = np.concatenate(hi).astype(float)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data
        self.h = new_highs()
        self.h.passModel(lp)
        self._lam = None

    # ------------------------------------------------------------------ coefficients
    def _output_coefficients(self) -> np.ndarray:
        d = self.d
        c = np.zeros((3, self.n_cols))
        c[0, self.c_P] = d.annuity_usd_per_mw
        c[0, self.c_g] = d.price
        c[1, self.c_g] = co2_t_per_mwh(d.grid_ci)
        c[1, self.c_P] = co2_t_per_mwh(d.lifecycle_g_per_kwh) * d.cf.sum(axis=1)
        c[2, self.c_m] = 1.0
        if d.has_storage:
            c[0, self.c_E] = d.storage_annuity_usd_per_mwh
        return c

    def _set_load(self, lam: np.ndarray) -> None:
        lam = np.asarray(lam, float)
        if self._lam is not None and np.array_equal(lam, self._lam):
            return
        L = lam[self.d.segment_of_hour]
        self.h.changeRowsBounds(self.T, self.r_bal.astype(np.int32), L, L)
        self._lam = lam.copy()

    def _run(self) -> None:
        self.h.run()
        status = self.h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            # a warm start gone wrong is retried from scratch before giving up
            self.h.clearSolver()
            self.h.run()
            status = self.h.getModelStatus()
            if status != highspy.HighsModelStatus.kOptimal:
                raise RuntimeError(f"site LP: {self.h.modelStatusToString(status)}")

    # ------------------------------------------------------------------ queries
    def value(self, lam: np.ndarray, weights: np.ndarray) -> LpPoint:
        """``min weights . (cost, co2, -cfe)`` at segment loads ``lam`` and its subgradient."""
        w = np.asarray(weights, float)
        self._set_load(lam)
        cost = w[0] * self.out_coef[0] + w[1] * self.out_coef[1] - w[2] * self.out_coef[2]
        self.h.changeColsCost(self.n_cols, np.arange(self.n_cols, dtype=np.int32), cost)
        self.h.changeColsBounds(3, self.c_sig.astype(np.int32), np.zeros(3), np.zeros(3))
        self.h.changeRowsBounds(3, self.r_out.astype(np.int32), np.full(3, -INF), np.full(3, INF))
        self._run()
        sol = self.h.getSolution()
        x = np.asarray(sol.col_value)
        dual = np.asarray(sol.row_dual)[self.r_bal]
        grad = np.bincount(self.d.segment_of_hour, weights=dual, minlength=self.d.n_segments)
        outputs = self.out_coef @ x
        return LpPoint(float(cost @ x), grad, outputs, x)

    def separate(self, lam: np.ndarray, point: np.ndarray, active: np.ndarray,
                 scale: np.ndarray) -> tuple[float, np.ndarray]:
        """Is (cost*, co2*, cfe*) = ``point`` achievable at ``lam`` on the ``active`` outputs?
        Returns the least scaled violation and the normalised weights of the separating
        hyperplane (the output rows' duals); violation <= 0 means achievable."""
        self._set_load(lam)
        cost = np.zeros(self.n_cols)
        cost[self.c_sig] = active.astype(float)
        self.h.changeColsCost(self.n_cols, np.arange(self.n_cols, dtype=np.int32), cost)
        sig_hi = np.where(active, INF, 0.0)
        self.h.changeColsBounds(3, self.c_sig.astype(np.int32), np.zeros(3), sig_hi)
        self.h.changeColsCost(3, self.c_sig.astype(np.int32), active.astype(float))
        # sigma enters as a violation scaled by ``scale`` (coefficients -scale, -scale, +scale)
        for i in range(3):
            self.h.changeCoeff(int(self.r_out[i]), int(self.c_sig[i]), float(scale[i] * (1 if i == 2 else -1)))
        lo = np.array([-INF, -INF, point[2] if active[2] else -INF])
        hi = np.array([point[0] if active[0] else INF, point[1] if active[1] else INF, INF])
        self.h.changeRowsBounds(3, self.r_out.astype(np.int32), lo, hi)
        self._run()
        sol = self.h.getSolution()
        violation = float(np.asarray(sol.col_value)[self.c_sig] @ active)
        duals = np.abs(np.asarray(sol.row_dual)[self.r_out]) * active
        return violation, duals

    def hourly(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Per-hour tables from a primal vector (see :func:`siting.accounting.hourly_outputs`)."""
        d = self.d
        P = x[self.c_P]
        gen = P @ d.cf if self.K else np.zeros(self.T)
        m, g = x[self.c_m], x[self.c_g]
        ch = x[self.c_ch] if d.has_storage else np.zeros(self.T)
        dis = x[self.c_dis] if d.has_storage else np.zeros(self.T)
        soc = x[self.c_soc] if d.has_storage else np.zeros(self.T)
        return hourly_outputs(load_mwh=m + g, cfe_used_mwh=m, grid_mwh=g, generation_mwh=gen,
                              charge_mwh=ch, discharge_mwh=dis, soc_mwh=soc)
