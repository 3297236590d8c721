"""A site's clean-energy dispatch with a battery, and the cuts it gives on the site's credits.

Without storage a site's best use of its clean supply is ``m_t = min(L_t, G_t)`` in every
hour, whatever the weights. With a battery of ``E`` MWh (power ``E / duration_h`` each way,
charge efficiency ``eta`` = round trip, cyclic state of charge) energy moves in time, and the
credits (CO2 saved, cost saved, clean MWh) of one dispatch trade against each other. For
weights ``w_t >= 0`` the most a site can be credited is the LP

    H_w(L, G, E) = max sum_t w_t m_t
        m_t <= L_t                                    [u_t >= 0]
        m_t + ch_t - dis_t <= G_t                     [pi_t >= 0]
        soc_t - soc_{t-1} - eta ch_t + dis_t = 0      [sigma_t free]  (t - 1 cyclic)
        ch_t <= E / d, dis_t <= E / d, soc_t <= E     [alpha_t, beta_t, gamma_t >= 0]
        m, ch, dis, soc >= 0

Its right-hand sides are linear in the master's (lam, P, E) with no constant, so ``H_w`` is
concave and positively homogeneous: for *any* dual-feasible (u, pi, sigma, alpha, beta,
gamma), weak duality gives, at every (lam, P, E),

    sum_i mu_i cred_i <= H_w <= sum_t u_t L_t + pi_t G_t + E (sum_t (alpha_t + beta_t) / d + gamma_t)

with ``w = sum_i mu_i v_i``: a cut valid everywhere. It is tight at the trial point when the
duals are optimal there. Dual feasibility does not rest on the solver's signs: from its
``pi`` (clipped at 0) and ``sigma``, ``u, alpha, beta, gamma`` are set to the least values
the dual rows allow (:func:`dual_cut`), so every cut is valid by construction and its
tightness is checked against the primal value.

Several credits share one dispatch, so at a trial point with claimed credits ``c_i`` the
oracle solves ``max delta : sum_t v_it m_t - scale_i delta >= c_i`` over the dispatches
(:class:`SiteDispatch`). ``delta >= 0``: one dispatch achieves every claim. ``delta < 0``:
its duals ``mu_i >= 0`` (``sum_i mu_i scale_i = 1``) give the direction in which the claim
lies outside the site's credit set, and the cut ``sum_i mu_i cred_i <= ...`` removes it (by
``-delta``, in the scaled units). At a point with ``E = 0`` the dispatch is ``min(L, G)``
and :func:`zero_storage_cut` gives the cut without a solve.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import highspy
import numba
import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from siting.model.hourly.linear import INF
from siting.model.solve import new_highs


@dataclass
class StorageCut:
    """``mu . cred <= u . L + pi . G + g_e E`` (hourly coefficients; the caller maps them onto
    the master's lam and P columns). ``value``: its right-hand side at the trial point."""

    mu: np.ndarray  # (R,)
    u: np.ndarray  # (T,)
    pi: np.ndarray  # (T,)
    g_e: float
    value: float


@dataclass
class Dispatch:
    """One dispatch of a site's clean energy and battery (MWh per hour)."""

    m: np.ndarray
    ch: np.ndarray
    dis: np.ndarray
    soc: np.ndarray
    credits: np.ndarray  # (R,) sum_t v_it m_t
    delta: float  # min_i (credits_i - target_i) / scale_i over the targeted credits


def dual_cut(
    w: np.ndarray,
    pi: np.ndarray,
    sigma: np.ndarray,
    efficiency: float,
    duration_h: float,
    L: np.ndarray,
    G: np.ndarray,
    E: float,
    mu: np.ndarray,
) -> StorageCut:
    """The cut of the dual point (pi, sigma) for weights ``w``: the remaining duals at the least
    values the dual rows allow, so the cut is valid whatever (pi, sigma) are."""
    pi = np.maximum(pi, 0.0)
    u = np.maximum(w - pi, 0.0)
    alpha = np.maximum(efficiency * sigma - pi, 0.0)
    beta = np.maximum(pi - sigma, 0.0)
    gamma = np.maximum(np.roll(sigma, -1) - sigma, 0.0)
    g_e = float((alpha.sum() + beta.sum()) / duration_h + gamma.sum())
    value = float(u @ L + pi @ G + g_e * E)
    return StorageCut(mu, u, pi, g_e, value)


def run_suffix_max(pi: np.ndarray) -> np.ndarray:
    """For each hour in a run of hours with ``pi > 0``, the largest ``pi`` from that hour to the
    run's end (0 elsewhere): what a MWh held now is worth if it is kept for the run's best hour.
    A run may wrap around the end of the horizon (the state of charge is cyclic)."""
    T = pi.size
    zero = np.flatnonzero(pi <= 0)
    if zero.size == 0:  # one run around the whole cycle: the largest pi everywhere
        return np.full(T, float(pi.max()))
    shift = int(zero[-1]) + 1  # rotate so that the horizon ends with a zero hour
    q = np.roll(pi, -shift)[::-1]  # reversed: runs become prefixes that restart after zeros
    run_id = np.cumsum(q <= 0)
    # cumulative max restarted at each run: lift each run above every earlier one
    lift = run_id * (float(q.max()) + 1.0)
    out = np.maximum.accumulate(q + lift) - lift
    out = np.where(q > 0, out, 0.0)[::-1]
    return np.roll(out, shift)


def zero_storage_cut(
    w: np.ndarray, L: np.ndarray, G: np.ndarray, efficiency: float, duration_h: float, mu: np.ndarray
) -> StorageCut:
    """The cut at a point without battery (``E = 0``): the dispatch ``min(L, G)`` is optimal,
    with ``u = w`` where the load binds and ``pi = w`` where generation does; of two choices of
    ``sigma`` (the value of a stored MWh: a constant, or the best ``pi`` left in each run of
    hours short of clean supply), the one that makes the battery's coefficient least (valid
    for every E, exact at E = 0)."""
    g_branch = L > G
    pi = np.where(g_branch, w, 0.0)
    # g_e(c) = (sum_t max(0, eta c - pi_t) + max(0, pi_t - c)) / d is convex in c: its minimum
    # lies at one of the breakpoints pi_t or pi_t / eta (or 0)
    s = np.sort(pi)
    prefix = np.concatenate([[0.0], np.cumsum(s)])
    cand = np.unique(np.concatenate([[0.0], s, s / efficiency]))
    below = np.searchsorted(s, efficiency * cand, side="left")  # pi_t < eta c
    above = np.searchsorted(s, cand, side="right")  # pi_t > c from here
    charge = efficiency * cand * below - prefix[below]
    discharge = prefix[-1] - prefix[above] - cand * (s.size - above)
    cost = charge + discharge
    c = float(cand[int(np.argmin(cost))])
    cuts = [
        dual_cut(w, pi, sigma, efficiency, duration_h, L, G, 0.0, mu)
        for sigma in (np.full(w.size, c), run_suffix_max(pi))
    ]
    return min(cuts, key=lambda cut: cut.g_e)


def level_duals(
    w: np.ndarray, L: np.ndarray, G: np.ndarray, efficiency: float, n_quantiles: int, with_zero: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate values ``c`` of a stored MWh (``n_quantiles`` quantiles of ``w`` and the same
    over ``eta``, and 0 when ``with_zero``), and for each the best ``pi_t`` in ``[eta c, c]`` at
    the point (L, G): as large as ``w`` allows where load exceeds supply, ``eta c`` where it
    does not. Returns (levels (K,), pis (K, T))."""
    q = np.quantile(w, np.linspace(0.0, 1.0, n_quantiles))
    levels = np.unique(np.concatenate([[0.0] if with_zero else [], q, q / efficiency]))
    deficit = L > G
    pis = np.where(deficit[None, :], np.clip(w[None, :], efficiency * levels[:, None], levels[:, None]),
                   efficiency * levels[:, None])
    return levels, pis


def unlimited_battery_cut(
    w: np.ndarray, L: np.ndarray, G: np.ndarray, efficiency: float, mu: np.ndarray, n_levels: int = 33
) -> StorageCut:
    """A cut with no battery term (valid for every E, however large): ``sigma`` a constant c and
    ``pi_t`` in [eta c, c], so that no charge, discharge or energy dual is needed. At the point
    (L, G) each hour takes the best ``pi`` in that range (as large as ``w`` allows where load
    exceeds supply, ``eta c`` where it does not); c is the best of ``n_levels`` quantiles of
    ``w`` and ``w / eta``. It bounds what any battery can add, where the zero-battery cut's
    coefficient grows without end (on the default sites with a 400 MWh battery it bounded the
    gain at 1.5x the true one, the zero-battery cut at 3-5x)."""
    levels, pis = level_duals(w, L, G, efficiency, n_levels, with_zero=False)
    values = np.maximum(w[None, :] - pis, 0.0) @ L + pis @ G
    k = int(np.argmin(values))
    return dual_cut(w, pis[k], np.full(w.size, levels[k]), efficiency, 1.0, L, G, 0.0, mu)


# the levels of a stored MWh's value that the exact dual needs are 0, every weight w_t and
# every w_t / eta (see hourly_dual); beyond this many the levels are quantiles (valid, less tight)
MAX_LEVELS = 96


@numba.njit(cache=True, nogil=True)
def _hour_costs(w, L, G, pe, eta, levels):  # pragma: no cover - compiled
    """``f[t, k]``: the least ``(w_t - pi)^+ L_t + pi G_t + pe ((eta s - pi)^+ + (pi - s)^+)``
    over pi >= 0 at ``s = levels[k]`` (convex in pi: least at 0, ``w_t``, ``eta s`` or ``s``),
    and that pi."""
    T, K = w.size, levels.size
    f = np.empty((T, K))
    arg = np.empty((T, K))
    for t in range(T):
        for k in range(K):
            s = levels[k]
            best, best_pi = np.inf, 0.0
            for c in range(4):
                pi = 0.0 if c == 0 else (w[t] if c == 1 else (eta * s if c == 2 else s))
                v = max(w[t] - pi, 0.0) * L[t] + pi * G[t] + pe * (max(eta * s - pi, 0.0) + max(pi - s, 0.0))
                if v < best:
                    best, best_pi = v, pi
            f[t, k] = best
            arg[t, k] = best_pi
    return f, arg


@numba.njit(cache=True, nogil=True)
def _sigma_path_value(f, levels, E, start, keep):  # pragma: no cover - compiled
    """Least ``sum_t f[t, k_t] + E sum_t (levels[k_{t+1}] - levels[k_t])^+`` over level paths
    ``k`` (no rise counted across the end; ``start`` >= 0 fixes ``k_0`` and counts the rise from
    the last level back to it). Returns (value, last level, the table of partial values when
    ``keep``, else an empty one)."""
    T, K = f.shape
    v = np.empty(K)
    for j in range(K):
        v[j] = f[0, j] if (start < 0 or j == start) else np.inf
    table = np.empty((T if keep else 0, K))
    if keep:
        table[0] = v
    m = np.empty(K)
    for t in range(1, T):
        best = np.inf  # min over i < j of v_i - E l_i
        for j in range(K):
            m[j] = E * levels[j] + best
            a = v[j] - E * levels[j]
            if a < best:
                best = a
        suffix = np.inf  # min over i >= j of v_i
        for j in range(K - 1, -1, -1):
            if v[j] < suffix:
                suffix = v[j]
            if suffix < m[j]:
                m[j] = suffix
        for j in range(K):
            v[j] = f[t, j] + m[j]
        if keep:
            table[t] = v
    out, last = np.inf, 0
    for j in range(K):
        total = v[j]
        if start >= 0 and levels[start] > levels[j]:
            total += E * (levels[start] - levels[j])
        if total < out:
            out, last = total, j
    return out, last, table


@numba.njit(cache=True, nogil=True)
def _backtrack(table, levels, E, last):  # pragma: no cover - compiled
    T, K = table.shape
    k = np.empty(T, np.int64)
    k[T - 1] = last
    for t in range(T - 1, 0, -1):
        best, arg = np.inf, 0
        for i in range(K):
            c = table[t - 1, i]
            if levels[k[t]] > levels[i]:
                c += E * (levels[k[t]] - levels[i])
            if c < best:
                best, arg = c, i
        k[t - 1] = arg
    return k


def dual_levels(w: np.ndarray, efficiency: float, max_levels: int = MAX_LEVELS) -> np.ndarray:
    """The values a stored MWh may take in :func:`hourly_dual`: 0, each weight and each weight
    over ``efficiency`` (every vertex of the dual takes its values there), or ``max_levels``
    quantiles of those when there are more."""
    levels = np.unique(np.concatenate([[0.0], w, w / efficiency]))
    if levels.size > max_levels:
        q = np.quantile(levels, np.linspace(0.0, 1.0, max_levels - 1))
        levels = np.unique(np.concatenate([[0.0], q]))
    return levels


def hourly_dual(
    w: np.ndarray,
    L: np.ndarray,
    G: np.ndarray,
    E: float,
    efficiency: float,
    duration_h: float,
    levels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A dual point (pi, sigma) of the dispatch LP at (L, G, E), found without an LP. For a
    fixed ``sigma`` (the value of a stored MWh, hour by hour) the best other duals are hour by
    hour: ``pi_t`` minimises ``(w_t - pi)^+ L_t + pi G_t + E/d ((eta sigma_t - pi)^+ + (pi -
    sigma_t)^+)`` (its least value ``f_t(sigma_t)`` is at 0, ``w_t``, ``eta sigma_t`` or
    ``sigma_t``), and each rise of sigma from one hour to the next costs ``E`` times the rise
    (the energy dual). So the dual is a shortest path of sigma over the hours, a dynamic
    programme over ``levels`` (:func:`dual_levels`) with O(levels) per hour (a rise costs E per
    unit, a fall nothing: prefix and suffix minima). Its value equals the LP's when every
    vertex value of sigma is a level (0, ``w_t`` and ``w_t / eta``: the default scenario's
    weights take 12 values, so 25 levels), which :func:`dual_levels` keeps up to MAX_LEVELS.
    The state of charge is cyclic, so the rise from the last hour back to the first counts:
    the path is first found without it; when it rises there, the start level is fixed at the
    best one (:func:`_best_start`) and the path found again. Any (pi, sigma) gives a valid cut
    (:func:`dual_cut`); the levels only decide how tight."""
    pi, sigma, _ = _hourly_dual(w, L, G, E, efficiency, duration_h, levels, None)
    return pi, sigma


def _hourly_dual(w, L, G, E, efficiency, duration_h, levels, hint: int | None):
    """:func:`hourly_dual` with the search for the cyclic path's start level begun at
    ``hint`` (:func:`_best_start`); also returns the start level used (``hint`` when the free
    path needed none)."""
    levels = dual_levels(w, efficiency) if levels is None else levels
    T = w.size
    f, pi_best = _hour_costs(np.ascontiguousarray(w, float), np.ascontiguousarray(L, float),
                             np.ascontiguousarray(G, float), float(E) / duration_h, float(efficiency), levels)
    _, last, table = _sigma_path_value(f, levels, float(E), -1, True)
    k = _backtrack(table, levels, float(E), last)
    if levels[k[0]] > levels[k[-1]]:
        # the free path rises across the end, where it counts no rise: fix the start level at
        # the best one (the least value over paths from a fixed start, rise back to it counted,
        # is convex in that level) and find that path
        hint = _best_start(f, levels, float(E), hint)
        _, last, table = _sigma_path_value(f, levels, float(E), hint, True)
        k2 = _backtrack(table, levels, float(E), last)
        if _path_cost(f, levels, E, k2) < _path_cost(f, levels, E, k):
            k = k2
    return pi_best[np.arange(T), k], levels[k], hint


def _best_start(f: np.ndarray, levels: np.ndarray, E: float, hint: int | None = None) -> int:
    """The start level (index) of the least cyclic path, a minimum of a convex sequence: from
    ``hint`` (e.g. the last start of a search whose supply moved a little) the steps double
    downhill until the sequence rises, which brackets the minimum; without one the bracket
    is every level. Then a binary search in the bracket for the first step that does not
    fall. In one value_cut search on the default's points (site 69, the third workload, 400 MWh)
    the path was evaluated 96 times in 5 searches with a ternary search over every level, 76
    times from the hint (Kelley's planes move the supply far), 52 with the binary search."""
    seen: dict = {}

    def value(c: int) -> float:
        if c not in seen:
            seen[c] = _sigma_path_value(f, levels, E, c, False)[0]
        return seen[c]

    n = levels.size
    lo, hi = 0, n - 1
    if hint is not None:
        c = min(max(int(hint), 0), n - 1)
        step = 1 if c + 1 < n and value(c + 1) < value(c) else -1 if c > 0 and value(c - 1) < value(c) else 0
        if step == 0:
            return c  # no neighbour lower: the minimum of a convex sequence
        a, b, d = c, c + step, 1
        end = n - 1 if step > 0 else 0
        while b != end:
            nxt = b + step * 2 * d
            nxt = min(nxt, end) if step > 0 else max(nxt, end)
            if value(nxt) >= value(b):
                b = nxt  # the sequence rose: the minimum lies in [a, nxt]
                break
            a, b, d = b, nxt, 2 * d
        lo, hi = min(a, b), max(a, b)
    while lo < hi:  # a step that does not fall ends the fall: a minimum is at or before it
        mid = (lo + hi) // 2
        if value(mid + 1) < value(mid):
            lo = mid + 1
        else:
            hi = mid
    return lo


def _path_cost(f: np.ndarray, levels: np.ndarray, E: float, k: np.ndarray) -> float:
    """The dual objective of the level path ``k`` (the cyclic rise counted)."""
    sig = levels[k]
    return float(f[np.arange(k.size), k].sum() + E * np.maximum(np.roll(sig, -1) - sig, 0.0).sum())


def hourly_dual_cut(
    w: np.ndarray,
    L: np.ndarray,
    G: np.ndarray,
    E: float,
    efficiency: float,
    duration_h: float,
    mu: np.ndarray,
) -> StorageCut:
    """The cut of :func:`hourly_dual` at (L, G, E): valid for every (L, G, E), and tight at the
    point when the weights take few values (see there). On the default scenario's weights (12
    values a site) it met the dispatch LP's optimum to 1.7e-13 (relative) at 420 points (14
    sites, each workload alone, supply 0.5-2 times the load's energy, 40 and 400 MWh), about
    1 ms each, where the 24-hour blocks of the cut it replaced overstated it by up to 23 %."""
    pi, sigma = hourly_dual(w, L, G, E, efficiency, duration_h)
    return dual_cut(w, pi, sigma, efficiency, duration_h, L, G, E, mu)


@dataclass
class ValueCut:
    """``c . P - w . m >= -u . L - g_e E + kappa`` for every procurement ``0 <= P <= potential``
    and dispatch m of the site (``kappa = sum_k potential_k min(0, c_k - pi . cf_k) <= 0``): a
    bound on the site's part of a weighted objective that depends on its load and battery only.
    ``value``: the right-hand side at the trial point; ``P``: the procurement that came closest
    to it (a lower bound on the best is ``value``)."""

    u: np.ndarray  # (T,)
    pi: np.ndarray  # (T,)
    g_e: float
    kappa: float
    value: float
    P: np.ndarray  # (K,)
    iterations: int


def value_cut(
    w: np.ndarray,
    L: np.ndarray,
    cf: np.ndarray,
    c: np.ndarray,
    potential: np.ndarray,
    E: float,
    efficiency: float,
    duration_h: float,
    max_iter: int = 40,
    tol: float = 1e-6,
) -> ValueCut:
    """A cut on a site's whole part of a weighted objective, ``V(L, E) = min over 0 <= P <=
    potential of c . P - H_w(L, cf' P, E)`` (procurement at cost ``c`` per MW, credits at hourly
    weights ``w``), with the procurement projected out: for any dual point (pi, sigma) of the
    dispatch, weak duality gives ``H_w <= u . L + pi . cf' P + g_e E``, and the least of
    ``(c_k - pi . cf_k) P_k`` over ``[0, potential_k]`` is ``potential_k min(0, c_k - pi .
    cf_k)``. So the cut is valid for every load, procurement and battery, whatever (pi, sigma).

    The dual point is found without an LP: Kelley's cutting planes minimise the convex
    ``h(P) = c . P - D(P)`` over the box, where ``D(P)`` is the value of the dual of
    :func:`hourly_dual` at supply ``cf' P`` (an upper bound on ``H_w``, concave in P,
    with supergradient ``cf pi``); the weights of the active planes at the last Kelley LP
    (its duals) combine their dual points into one whose reduced costs ``c_k - pi . cf_k``
    vanish where the best procurement is inside the box (a combination of dual-feasible
    points is dual-feasible). Without a battery (``E = 0``) the best ``pi`` is exact hour by
    hour and so is the cut at its point; with one, wherever :func:`hourly_dual` is exact (few
    weight values). On the default's points it took 5-11 planes, 10-50 ms (the 24-hour-block
    dual it replaced left the cut 0.03-1.2 % from the exact value)."""
    K = cf.shape[0]
    potential = np.asarray(potential, float)
    # the search's box: an unlimited potential is searched up to ten times the supply that
    # would match the load's energy (the cut itself uses the true potential)
    enough = 10.0 * float(L.sum()) / np.maximum(cf.sum(axis=1), 1e-9)
    top = np.where(np.isfinite(potential), potential, enough)
    box = [(0.0, float(pk)) for pk in top] + [(None, None)]
    # the first point: each technology alone would match the load's energy, a K-th of that each
    # (on the default's seeds 6.9 evaluations a search instead of 7.3 from half the box)
    P = np.minimum(top, float(L.sum()) / np.maximum(cf.sum(axis=1), 1e-9) / K)
    levels = dual_levels(w, efficiency)
    points, hs, grads, pis, sigmas = [], [], [], [], []  # the planes and their dual points
    best_h, best_P = math.inf, P
    weights = np.ones(1)
    start = None  # the cyclic path's start level at the last plane: where the next search begins
    while len(hs) < max_iter:
        G = P @ cf
        if E > 0:
            pi, sigma, start = _hourly_dual(w, L, G, E, efficiency, duration_h, levels, start)
        else:  # without battery: the exact dual of min(L, G), hour by hour
            pi, sigma = np.where(L > G, w, 0.0), np.zeros_like(w)
        cut = dual_cut(w, pi, sigma, efficiency, duration_h, L, G, E, np.ones(1))
        h = float(c @ P) - cut.value
        points.append(P)
        hs.append(h)
        grads.append(c - cf @ cut.pi)
        pis.append(cut.pi)
        sigmas.append(sigma)
        if h < best_h:
            best_h, best_P = h, P
        g = np.array(grads)
        A = np.column_stack([g, -np.ones(len(hs))])
        b = np.einsum("ik,ik->i", g, np.array(points)) - np.array(hs)
        res = linprog(np.r_[np.zeros(K), 1.0], A_ub=A, b_ub=b, bounds=box, method="highs")
        weights = np.maximum(-np.asarray(res.ineqlin.marginals), 0.0)
        P = np.clip(res.x[:K], 0.0, top)
        if best_h - res.fun <= tol * (1.0 + abs(best_h)):
            break
    if weights.sum() <= 0:
        weights = np.eye(len(hs))[int(np.argmin(hs))]
    weights = weights / weights.sum()
    pi, sigma = weights @ np.array(pis), weights @ np.array(sigmas)
    cut = dual_cut(w, pi, sigma, efficiency, duration_h, L, best_P @ cf, E, np.ones(1))
    reduced = c - cf @ cut.pi
    # -inf when an unlimited technology still pays (no finite bound: the caller drops the cut)
    kappa = float(np.sum(np.where(reduced < 0.0, reduced * potential, 0.0)))
    value = float(-cut.u @ L - cut.g_e * E + kappa)
    return ValueCut(cut.u, cut.pi, cut.g_e, kappa, value, best_P, len(hs))


@dataclass
class DispatchStats:
    cold: int = 0  # solved from scratch
    warm: int = 0  # from a basis: the site's own last one, or another site's (other_basis)
    other_basis: int = 0
    seconds: float = 0.0


class SiteDispatch:
    """The oracle LP of one site (module docstring), kept in HiGHS between calls so that a
    re-solve at a nearby point starts from the last basis (dual simplex). The first solve uses
    the interior point method with crossover (3-10x faster than simplex from scratch on
    8,760 hours)."""

    def __init__(self, v: np.ndarray, efficiency: float, duration_h: float):
        R, T = v.shape
        self.v, self.eta, self.dur, self.T, self.R = v, float(efficiency), float(duration_h), T, R
        t = np.arange(T)
        im, ich, idis, isoc, idel = 0, T, 2 * T, 3 * T, 4 * T
        ones = np.ones(T)
        rows = [t, t, t, T + t, T + t, T + t, T + t]
        cols = [im + t, ich + t, idis + t, isoc + t, isoc + (t - 1) % T, ich + t, idis + t]
        vals = [ones, ones, -ones, ones, -ones, -self.eta * ones, ones]
        for i in range(R):
            rows += [np.full(T, 2 * T + i), np.array([2 * T + i])]
            cols += [im + t, np.array([idel])]
            vals += [v[i], np.array([-1.0])]
        n_col, n_row = 4 * T + 1, 2 * T + R
        A = sp.csc_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_row, n_col)
        )
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_col, n_row
        cost = np.zeros(n_col)
        cost[idel] = -1.0  # max delta
        lp.col_cost_ = cost
        lp.col_lower_ = np.concatenate([np.zeros(4 * T), [-INF]])
        lp.col_upper_ = np.concatenate([np.zeros(4 * T), [INF]])
        lp.row_lower_ = np.concatenate([np.full(T, -INF), np.zeros(T), np.full(R, -INF)])
        lp.row_upper_ = np.concatenate([np.zeros(T), np.zeros(T), np.full(R, INF)])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data
        self.h = new_highs()
        # Dantzig pricing for the dual simplex: a re-solve here starts from a basis whose
        # bounds (and, from another site's basis, costs) moved, and HiGHS's default steepest
        # edge spends much of it on its weights. Default scenario, 400 MWh per site, least CO2,
        # 120 s: 0.50 s per dispatch LP instead of 0.70 s (164 LPs against 131); devex 0.51 s,
        # primal simplex 1.16 s; at 300 s 0.35 s instead of 0.45 s (576 LPs against 456, gap
        # 6.0 % either way). The optimum, and the validity of every cut, do not depend on it.
        self.h.setOptionValue("simplex_dual_edge_weight_strategy", 0)
        self.h.passModel(lp)
        self.solved = False
        self._cols = np.arange(4 * T, dtype=np.int32)
        self._delta_col = idel

    def solve(
        self, L: np.ndarray, G: np.ndarray, E: float, target: np.ndarray, targeted: np.ndarray
    ) -> tuple[Dispatch, StorageCut | None]:
        """The dispatch that best meets ``target`` (scaled) on the ``targeted`` credits, and the cut
        it gives (None when every targeted claim is met)."""
        if not np.any(targeted):
            raise ValueError("site dispatch: at least one credit must be targeted")
        T, R, h = self.T, self.R, self.h
        # the master's values may lie a rounding error below 0
        L, G, E = np.maximum(L, 0.0), np.maximum(G, 0.0), max(float(E), 0.0)
        P_e = E / self.dur
        h.changeColsBounds(
            4 * T,
            self._cols,
            np.zeros(4 * T),
            np.concatenate([L, np.full(T, P_e), np.full(T, P_e), np.full(T, E)]),
        )
        scale = 1.0 + np.abs(target)
        # the delta column's coefficient in row i is -scale_i / (largest targeted scale): the
        # duals mu then have the size of the weights, not 1/scale (at 1e-4 HiGHS's absolute dual
        # tolerance of 1e-7 left cuts loose by 1e-6 relative)
        unit = scale / float(scale[targeted].max())
        for i in range(R):
            h.changeCoeff(2 * T + i, self._delta_col, -float(unit[i]) if targeted[i] else 0.0)
        h.changeRowsBounds(T, np.arange(T, dtype=np.int32), np.full(T, -INF), G)
        lo = np.where(targeted, target, -INF)
        h.changeRowsBounds(R, np.arange(2 * T, 2 * T + R, dtype=np.int32), lo, np.full(R, INF))
        if not self.solved:
            h.setOptionValue("solver", "ipm")
            h.setOptionValue("run_crossover", "on")
        else:
            h.setOptionValue("solver", "simplex")
        h.run()
        # fresh starts when that fails: the warm basis can fail after a large move of the
        # bounds, and the interior point method called one LP infeasible that the simplex
        # method solved (3 sites, 96 h: cost and CO2 claims of 18,045 and 82.3); the LP always
        # has a solution (no dispatch and delta low enough)
        for solver in ("ipm", "simplex"):
            if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                break
            h.clearSolver()
            h.setOptionValue("solver", solver)
            h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            status = h.modelStatusToString(h.getModelStatus())
            raise RuntimeError(f"site dispatch LP: {status} (run: {h.getInfo().valid})")
        self.solved = True
        sol = h.getSolution()
        x = np.asarray(sol.col_value)
        m = np.clip(x[:T], 0.0, L)
        ch, dis, soc = (np.clip(x[k * T : (k + 1) * T], 0.0, None) for k in (1, 2, 3))
        credits = self.v @ m
        delta = float(np.min(((credits - target) / scale)[targeted])) if targeted.any() else 0.0
        disp = Dispatch(m, ch, dis, soc, credits, delta)
        if delta >= 0.0:
            return disp, None
        y = np.asarray(sol.row_dual)
        mu = np.where(targeted, np.abs(y[2 * T :]), 0.0)
        if mu.sum() <= 0:
            return disp, None
        k = 1.0 / float(mu @ scale)  # sum_i mu_i scale_i = 1; every dual scales alike
        mu, y = mu * k, y * k
        w = mu @ self.v
        pi = np.abs(y[:T])
        # sigma's sign depends on the solver's convention; both give valid cuts: keep the tighter
        cuts = [dual_cut(w, pi, sgn * y[T : 2 * T], self.eta, self.dur, L, G, E, mu) for sgn in (1.0, -1.0)]
        cut = min(cuts, key=lambda c: c.value)
        # a cut that does not separate the claim (duals loose by solver tolerances) is no progress
        return disp, cut if float(mu @ target) > cut.value else None


@dataclass
class StorageOracle:
    """Site dispatch LPs for the sites with a battery, created on first use and kept (the
    ``max_kept`` most recently used; a site dropped is rebuilt and solved cold if needed)."""

    v: np.ndarray  # (S, R, T) weights of the credits
    efficiency: float
    duration_h: float
    max_kept: int = 24
    stats: DispatchStats = field(default_factory=DispatchStats)
    # HiGHS's threads option of the site LPs: their master's (set by its solve), since a HiGHS
    # solve on a thread whose scheduler another size made does not run (status Not Set: a
    # cloned master on one thread failed after a site LP with the default 0 ran there)
    threads: int = 0

    def __post_init__(self):
        self._sites: OrderedDict[int, SiteDispatch] = OrderedDict()
        self._basis = None  # the last optimal basis of any site (all sites' LPs share a shape)

    def fresh(self) -> StorageOracle:
        """An oracle with the same weights and no site LP (for a master on another thread),
        starting from this one's last basis."""
        other = StorageOracle(self.v, self.efficiency, self.duration_h, self.max_kept, threads=self.threads)
        other._basis = self._basis
        return other

    def solve(self, s: int, L, G, E: float, target, targeted) -> tuple[Dispatch, StorageCut | None]:
        t0 = time.perf_counter()
        sd = self._sites.pop(s, None)
        if sd is None:
            sd = SiteDispatch(self.v[s], self.efficiency, self.duration_h)
            if self._basis is not None:
                # another site's optimal basis: on the default sites 0.06-0.5 s to re-optimise
                # against 2.2-2.5 s from scratch (interior point and crossover)
                sd.h.setBasis(self._basis)
                sd.solved = True
                self.stats.other_basis += 1
        warm = sd.solved
        sd.h.setOptionValue("threads", int(self.threads))
        out = sd.solve(L, G, E, target, targeted)
        self._basis = sd.h.getBasis()
        self._sites[s] = sd
        while len(self._sites) > self.max_kept:
            self._sites.popitem(last=False)
        self.stats.seconds += time.perf_counter() - t0
        if warm:
            self.stats.warm += 1
        else:
            self.stats.cold += 1
        return out
