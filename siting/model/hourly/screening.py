"""Screening of the whole-job placements by bounds on each site's part of a sum of site parts.

A plan's tCO2e, and its cost, are sums of one part per site, each >= 0 (grid energy, lifecycle
and embodied emissions, procurement, battery, fixed cost and grid purchases are all >= 0).
The unsplittable ("whole") workloads fall into *groups*, one per open site that holds any of
them. When ``LB[s, g]`` bounds site s's part from below whenever the whole jobs there are
exactly group g (splittable shares may be there too: a site's best part never falls as its load
grows, see :meth:`siting.model.hourly.decompose.Decomposition._presence_rows`), every plan
that puts exactly g at s has a sum of at least

    LB[s, g] + min over partitions of the other whole jobs into groups h of sum_h min_{s' != s} LB[s', h]

(the other groups' sites differ from s; that they also differ from each other is not used,
nor the limit on open sites, so the bound only gets weaker). Where that exceeds a threshold
the sum cannot stay under, no such plan exists: for the objective, the incumbent's value (no
plan better than the incumbent puts g at s); for a CO2 cap or a budget, the limit (no plan
keeping it does). The screened placements are taken out of the master for one solve
(:meth:`~siting.model.hourly.decompose.Decomposition.solve`): it stays a relaxation of the plans
that can still beat the incumbent and keep the limits. The incumbent stays in it unless it
keeps a limit only to its tolerance; a screened master with no plan left means the incumbent is
optimal.

Groups are bit masks over the whole jobs (bit i: the i-th whole job), ``1 .. 2**n - 1``; the
completion is a dynamic programme over subsets (3**n steps, each over every site at once), so
screening is on only up to MAX_JOBS whole jobs.
"""

from __future__ import annotations

import numpy as np

# screening's subset programme takes 3**n steps: beyond this many whole jobs it is off
MAX_JOBS = 8


def group_masks(n_jobs: int) -> np.ndarray:
    """(2**n, n) bool: which whole jobs each group (bit mask) holds; row 0 is the empty group."""
    g = np.arange(2**n_jobs)
    return ((g[:, None] >> np.arange(n_jobs)[None, :]) & 1).astype(bool)


def group_index(held: np.ndarray) -> int:
    """The group (bit mask, as in :func:`group_masks`) of the whole jobs ``held`` (n,) bool."""
    return int(np.asarray(held, bool) @ (1 << np.arange(np.size(held))))


def completion(best: np.ndarray) -> np.ndarray:
    """``out[:, R]``: the least ``sum_h best[:, h]`` over partitions of the jobs in mask R into
    groups h (``best``: (S, 2**n), per row its own table; column 0 unused)."""
    n_groups = best.shape[1]
    out = np.full(best.shape, np.inf)
    out[:, 0] = 0.0
    for R in range(1, n_groups):
        low = R & -R  # a partition of R has one group with R's lowest job
        rest = R ^ low
        sub = rest
        while True:  # every group low | sub with sub a submask of rest
            g = low | sub
            np.minimum(out[:, R], best[:, g] + out[:, R ^ g], out=out[:, R])
            if sub == 0:
                break
            sub = (sub - 1) & rest
    return out


def allowed_groups(LB: np.ndarray, threshold: float) -> np.ndarray:
    """(S, 2**n) bool: can a plan whose sum of site parts is at most ``threshold`` put exactly
    group g of the whole jobs at site s? ``LB`` (S, 2**n): a lower bound on site s's part with
    exactly g there (column 0, no whole job, is not screened: True)."""
    S, n_groups = LB.shape
    full = n_groups - 1
    order = np.argsort(LB, axis=0, kind="stable")
    cols = np.arange(n_groups)
    best1 = LB[order[0], cols]
    best2 = LB[order[1], cols] if S > 1 else np.full(n_groups, np.inf)
    # each site's table of the other sites' least bounds: the second least where it is the least
    others = np.where(order[0][None, :] == np.arange(S)[:, None], best2[None, :], best1[None, :])
    rest = completion(others)
    total = LB + rest[:, full ^ cols]
    out = total <= threshold
    out[:, 0] = True
    return out
