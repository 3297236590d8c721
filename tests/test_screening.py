"""Screening of whole-job placements by bounds on each site's part (siting.model.hourly.screening)
against brute force over every placement."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from siting.model.hourly.screening import allowed_groups, completion, group_index, group_masks


def partitions(jobs: list[int]):
    """Every partition of ``jobs`` into non-empty groups (as bit masks)."""
    if not jobs:
        yield []
        return
    first, rest = jobs[0], jobs[1:]
    for r in range(len(rest) + 1):
        for extra in itertools.combinations(rest, r):
            g = (1 << first) | sum(1 << j for j in extra)
            others = [j for j in rest if j not in extra]
            for tail in partitions(others):
                yield [g, *tail]


def test_group_masks_list_every_subset_once():
    masks = group_masks(3)
    assert masks.shape == (8, 3)
    assert not masks[0].any()
    assert len({tuple(row) for row in masks}) == 8
    assert masks[5].tolist() == [True, False, True]  # bit mask 0b101
    assert [group_index(row) for row in masks] == list(range(8))


@pytest.mark.parametrize("n_jobs", [1, 2, 3, 4])
def test_completion_is_the_least_partition_sum(n_jobs):
    rng = np.random.default_rng(n_jobs)
    best = rng.uniform(0, 10, size=(3, 2**n_jobs))
    out = completion(best)
    for R in range(1, 2**n_jobs):
        jobs = [j for j in range(n_jobs) if R >> j & 1]
        brute = np.min([[sum(best[s, g] for g in part) for part in partitions(jobs)] for s in range(3)], axis=1)
        np.testing.assert_allclose(out[:, R], brute)
    assert (out[:, 0] == 0).all()


def placements_within(LB: np.ndarray, n_jobs: int, threshold: float) -> np.ndarray:
    """(S, 2**n) bool: some placement of every job (each group at its own site) with sum of
    ``LB`` at most ``threshold`` puts exactly group g at site s (brute force)."""
    S = LB.shape[0]
    out = np.zeros(LB.shape, bool)
    out[:, 0] = True
    for sites in itertools.product(range(S), repeat=n_jobs):
        groups: dict = {}
        for j, s in enumerate(sites):
            groups[s] = groups.get(s, 0) | (1 << j)
        if sum(LB[s, g] for s, g in groups.items()) <= threshold:
            for s, g in groups.items():
                out[s, g] = True
    return out


@pytest.mark.parametrize("seed", range(6))
def test_screening_never_takes_out_a_placement_within_the_threshold(seed):
    rng = np.random.default_rng(seed)
    S, n = 5, 3
    single = rng.uniform(1, 10, size=(S, n))
    masks = group_masks(n)
    # a group's bound at least its largest member's and at most their sum (as value cuts give)
    LB = np.array([[max([0.0, *single[s, masks[g]]]) + rng.uniform(0, 1) * (single[s, masks[g]].sum()
                    - max([0.0, *single[s, masks[g]]])) for g in range(2**n)] for s in range(S)])
    LB[:, 0] = 0.0
    sums = sorted({sum(LB[s, g] for s, g in zip(sites, part, strict=False))
                   for part in partitions(list(range(n))) for sites in itertools.permutations(range(S), len(part))})
    for threshold in np.quantile(sums, [0.0, 0.05, 0.3, 1.0]):
        got = allowed_groups(LB, threshold + 1e-9)  # sums in another order round apart
        want = placements_within(LB, n, threshold)
        assert (got | ~want).all()  # every placement some plan within the threshold has is kept
        if threshold == sums[0]:
            assert got[:, 1:].sum() < want.shape[0] * (2**n - 1)  # at the least sum, some are taken out


def test_screening_takes_out_what_the_bounds_rule_out():
    # two jobs: A costs 10 anywhere but 6 at site 0; B costs 5, or 4 beside A at site 0 (A+B: 9)
    LB = np.array([[0, 6, 5, 9], [0, 10, 5, 12], [0, 10, 5, 12]], float)
    got = allowed_groups(LB, 9.0)
    # A must be at site 0 (6 + 5 = 11 > 9 elsewhere apart, A+B there 9); B alone nowhere (5 + 6 > 9)
    assert got.tolist() == [[True, False, False, True], [True, False, False, False], [True, False, False, False]]
    assert allowed_groups(LB, 11.0)[1:, 2].all()  # at 11, B apart from A at site 0 fits


# ----------------------------------------------------------------------- on the master
def site_rows_on_placements_only(dec) -> int:
    """How many rows of the master have only placement columns of one site (the form of a
    screening row; the assignment rows span the sites)."""
    from siting.model.hourly.testing import master_rows

    A, _, _ = master_rows(dec.h)
    x = dec.m.cols["x"]  # (W, S)
    site_of = np.full(dec.h.getNumCol(), -1)
    for s in range(x.shape[1]):
        site_of[x[:, s]] = s
    n = 0
    for r in range(A.shape[0]):
        cols = A.indices[A.indptr[r]:A.indptr[r + 1]]
        sites = set(site_of[cols].tolist())
        n += cols.size >= 2 and len(sites) == 1 and -1 not in sites
    return n


def test_screening_keeps_the_optimum_with_storage_and_is_undone_after_the_solve(monkeypatch):
    """With whole-job placements screened out by the value cuts' bounds (least CO2; least cost
    under a CO2 cap), the decomposition still equals the independent explicit model; after each
    solve no column stays fixed and no screening row stays; placements were screened (the test
    is not vacuous)."""
    from siting.model.hourly.decompose import Decomposition
    from siting.model.hourly.problem import Objective
    from siting.model.hourly.testing import random_hourly_problem
    from tests.hourly_reference import reference_solve

    screened = []
    real = Decomposition._screen

    def record(self, incumbent):
        out = real(self, incumbent)
        screened.append(out)
        return out

    monkeypatch.setattr(Decomposition, "_screen", record)
    for seed, split in ((3, 0.0), (5, 0.0), (7, 0.0), (8, 0.3), (11, 0.3)):  # 8, 11: splittable jobs too
        p = random_hourly_problem(6, 3, 96, seed, storage=True, max_sites=2, splittable_share=split)
        free, clean = reference_solve(p, "min_cost"), reference_solve(p, "min_co2")
        cap = 0.5 * (free["co2_t"] + clean["co2_t"])
        dec = Decomposition(p, Objective("min_co2"))
        x = dec.m.cols["x"].ravel().astype(np.int32)
        for obj, ref in ((Objective("min_co2"), clean), (Objective("min_cost", co2_cap_t=cap),
                                                         reference_solve(p, "min_cost", co2_cap_t=cap))):
            dec.set_objective(obj)
            raw = dec.solve(rel_gap=1e-10)
            assert raw.status == "optimal"
            assert raw.objective == pytest.approx(ref["objective"], rel=1e-6)
            assert dec._screened is None
            assert (np.asarray(dec.h.getLp().col_upper_)[x] == 1.0).all()
            assert not site_rows_on_placements_only(dec)
    assert sum(cols for cols, _ in screened) > 0 and sum(rows for _, rows in screened) > 0


def test_seeding_skips_the_sites_screened_out_and_seeds_them_when_a_later_solve_allows_them():
    """Under a CO2 cap at the least CO2, the cost objective's value cuts are seeded only where
    the whole jobs may be (fewer cuts than loads x battery sites); without the cap the rest are
    seeded, each (load, site) once in all."""
    from siting.model.hourly.decompose import Decomposition
    from siting.model.hourly.problem import Objective
    from siting.model.hourly.testing import random_hourly_problem
    from tests.hourly_reference import reference_solve

    p = random_hourly_problem(6, 3, 96, 3, storage=True, max_sites=2, splittable_share=0.0)
    n_all = (len(p.workloads) + 1) * int(p.battery_sites.sum())
    least = reference_solve(p, "min_co2")["co2_t"]
    dec = Decomposition(p, Objective("min_co2"))
    assert dec.seed_value_cuts() == n_all  # nothing to screen by yet
    dec.set_objective(Objective("min_cost", co2_cap_t=least * (1 + 1e-4)))
    capped = dec.seed_value_cuts()
    assert 0 < capped < n_all
    dec.set_objective(Objective("min_cost"))
    assert dec.seed_value_cuts() == n_all - capped
    assert dec.seed_value_cuts() == 0
