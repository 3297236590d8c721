"""Solve the hourly model exactly without hourly columns: outer approximation of the
credits (see :mod:`siting.model.hourly.formulation`).

Loop: solve the master (first its LP relaxation, then the MILP); at its point (lam, P)
compute each site's exact credits ``F_s = sum_t v_t min(L_st, G_st)`` in one array pass
over the hours; where a credit variable exceeds F, add the cut that is tight there; stop
when no credit the objective or a limit uses is overstated by more than ``cut_tol``
(relative), or, when no limit involves a credit, when the plan's true objective is within
``rel_gap`` of the master's bound. The master is a relaxation of the explicit model at
every step, so its bound is a valid lower bound, and the final plan is evaluated exactly.

With a battery (sites with ``storage_potential_mwh > 0``) the hours are coupled and the
credits of one site share one dispatch: at a point with battery ``E > 0`` a site's claims
are checked, and cut, by its dispatch LP (:mod:`siting.model.hourly.dispatch`: one joint cut
on the credits the objective or a limit uses, valid everywhere by weak duality); at ``E = 0``
the ``min(L, G)`` cut above gets a battery coefficient that keeps it valid for every E. The
final plan's credits are those of one dispatch that meets them all, and that dispatch is the
plan's hourly table.

Two steps make the MIP rounds fewer without changing what they prove (every cut is valid
everywhere, every plan is evaluated exactly): the point where a MIP round's plan overstates a
site's credit is carried to the other sites (:meth:`Decomposition.transfer_cuts`), and, without
batteries, each MIP round's plan is polished (LP rounds with its integer decisions fixed, until
its credits are exact), so the next MIP round sees tight cuts around it. On the default
scenario's 7-point front (no battery) the two took the run from 313 s to 168-197 s (polish
alone: 261 s). Before the first MIP round, the binaries that no plan better than the incumbent
can move (by the converged LP master's reduced costs) are fixed for the rest of that solve
(:meth:`Decomposition._fix_by_reduced_cost`; 486 of 944 on the front's least-CO2 point, whose
MIP rounds went from 10.3 s to 3.7 s; few at loose caps, where the LP bound is far below).

With batteries, a plan from a MIP round that cannot beat the incumbent even with every
overstated battery claim at a cheap upper bound (:func:`hourly_dual_cut`, ~1 ms a site) gets
those cheap cuts instead of its dispatch LPs (:meth:`Decomposition.evaluate`): on the default
scenario with 400 MWh per site, least CO2 in 300 s, the LPs took 78 s instead of 203 s, the
MIP rounds went from 24 to 33 and the gap from 6.0 % to 5.7 %. The points where a battery
site's claim is cut are carried to the other battery sites with cheap cuts
(:meth:`Decomposition.transfer_battery_cuts`): 5.4 %, with 15 s of dispatch LPs in 300 s.

The cuts above bound each credit over (lam, P, E), and the MIP rounds kept finding sites and
procurement mixes where they overstated a battery's value. A *value cut* bounds a battery site's
whole part of the objective (procurement cost less weighted credits) by its load and battery
alone, the procurement projected out (:func:`~siting.model.hourly.dispatch.value_cut`: a dual of
the site's dispatch found without an LP, valid for every input). They are seeded at every
battery site, once per objective, at two loads (every workload there; the largest alone), and
added at each MIP round's open battery sites (:meth:`Decomposition.seed_value_cuts`,
:meth:`Decomposition.add_value_cuts`). Default scenario, 400 MWh per site, least CO2, 300 s:
gap 0.44-0.63 % (7 MIP rounds; seeding 472 cuts took 27-46 s) instead of 5.4-5.7 %; value cuts
at the plans' sites alone, without the seeds: 6.0 % (the rounds' plans moved to 30 other sites).
Seeding takes at most half the time a solve has left (SEED_SHARE): at 60 s, seeding to the limit
left no MIP round and no bound; with the share, 8.5 % (plan 390.2 t). Those runs let the last
MIP master overrun its time (306-335 s at 300 s, see :func:`set_time_left`); within the limit
the gap is 0.87 % at 291 s (two runs) and 10.6 % at 55.8 s.

Each seeded value cut also bounds the site's whole part of the objective when a whole-job
workload is there (*presence cuts*, :meth:`Decomposition._presence_rows`: ``obj_s >= LB_sw
x_ws``, valid since a site's best objective never falls as its load grows). The master's LP
relaxation spread the largest workload over several sites at fractional shares, where a site's
hourly-matched value per MWh is lowest. Same case, 300 s: 0.41 % in two runs (10 MIP rounds
instead of 6; 612 rows), against 0.87 %.

With the exact hourly dual of :func:`~siting.model.hourly.dispatch.hourly_dual` (a stored MWh's
value hour by hour as a shortest path; exact when the weights take few values, as the
default's weights, 12 values a site) the value cuts are exact at their points. Seeded at each
workload alone and all, the default with 400 MWh per site ended at 0.036-0.042 % in 300 s,
its MIP rounds putting one load mix at one new site after another; each open battery site's
IT load is now carried to every battery site as value cuts (:meth:`Decomposition.carry_value_cuts`):
optimal (gap 9.8e-6) in 148 s, 3 MIP rounds.

A master can be cloned (:meth:`Decomposition.clone`; with batteries each clone has its own
dispatch LPs): the two share their
plans, their bounds and, through a log each reads at every round (:meth:`Decomposition._sync`),
their cuts, so the points of a Pareto front can be solved two at a time, one master per thread
(:func:`siting.model.hourly.optimize.pareto_front`). A solve starts from the best bound of the
earlier solves of its objective whose CO2 cap and budget are at least as loose
(:meth:`Decomposition._looser_bound`: their plans include its own), and takes at every MIP
round the plans and bounds the other masters have ended since: a front's point that keeps a
looser point's plan is then over before any round. The masters without batteries branch with
``mip_pscost_minreliable`` 0 (PSCOST_MINRELIABLE_NO_BATTERY).

Before its MIP rounds a solve with batteries *screens* the whole-job placements
(:mod:`siting.model.hourly.screening`, :meth:`Decomposition._screen`): each value cut also
bounds a site's part with every group of whole jobs there, and a group that no plan can put at a
site without its objective passing the incumbent's, or its tCO2e the CO2 cap, or its cost the
budget, is taken out of the master for that solve. Default scenario with 400 MWh per site: at
the front's lexicographic least-CO2 end (cap within 1e-4 of the least CO2) the 405B job could
go to 2 sites of 236, and that point took 41-48 s instead of 93-117 s; at the capped points,
to 60-80. Those capped points have no battery in use, so their plans' overstated credits at
E = 0 are carried to the other sites too, battery sites included (:meth:`transfer_cuts`):
5-13 MIP rounds a point instead of 9-21; the whole front with min CO2, 288.9 s against 344 s.
Then, in turn: such plans polished like those without batteries (186.2 s with the next two),
loads carried only where screening lets their whole jobs be (least CO2 76.1 s instead of
98-105 s), seeds likewise per (objective, load, site) (159.6 s; least CO2 60.4 s), and the
masters whose incumbent has no battery in use branched with pscost 0 (133.0 s; 162.8 s in
the bench's two runs: 162.8 s and 152.9 s). Then such solves carry each overstated point, and
each polished MIP plan's point, to every site that overstates it, and those of cost alone (the
least-cost end and the capped points) seed no value cut (capped points on one master 51.5 s
instead of 71.6 s); with the bounds shared, 113.9-147.0 s in six runs, split on how fast the
second master's first capped point goes (3 or 5 MIP rounds). With the least-cost end started
beside the plan once its value cuts are seeded (:attr:`Decomposition.after_seeding`) and the
capped points then solved ahead at the caps of the plan's incumbent
(:class:`siting.model.hourly.optimize.SolveAhead`, which reads :attr:`Decomposition.incumbent`),
99.7-119.8 s in eight runs (four of bench/hourly_bench.py: 103.8, 100.2, 107.2, 119.8 s).

One reduction, on only where it is valid (:func:`battery_at_potential`: ``min_co2`` without a
budget): every open site's battery at its potential. On the default scenario with 400 MWh per
site, least CO2 in 300 s: gap 6.1 % instead of 6.5 % (same plan, 387.5 t).

Valid for every objective of :class:`Objective`, with or without storage.
"""

from __future__ import annotations

import copy
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import highspy
import numpy as np

from siting.model.hourly.dispatch import (
    StorageOracle,
    hourly_dual_cut,
    unlimited_battery_cut,
    value_cut,
    zero_storage_cut,
)
from siting.model.hourly.formulation import CREDITS, create_model, credit_weights
from siting.model.hourly.linear import INF, LinearModel
from siting.model.hourly.problem import HourlyProblem, Objective
from siting.model.hourly.rounding import round_plan
from siting.model.hourly.screening import MAX_JOBS, allowed_groups, group_index, group_masks
from siting.model.solve import START_TUNING, new_highs, set_threads

# a credit is cut when it overstates its exact value by more than this (relative); HiGHS keeps
# rows to 1e-7 (its primal feasibility tolerance), so a smaller threshold would re-add the
# same cut at the same point without end
CUT_TOL = 1e-6
# a CO2 cap, budget or CFE target is met by a plan with exact credits to what its credits' own
# tolerance allows (twice CUT_TOL on each credit in the limit) and this relative floor (HiGHS's
# primal feasibility tolerance). A flat 1e-5 let a plan 5e-6 over its budget, with CO2 1.5e-5
# below the reference optimum, be the incumbent.
LIMIT_TOL = 1e-7
# a MIP round starts, under a time limit and with a plan in hand, only when the time left is at
# least this many times the longest master solve (the large bench's MIP master, given 75 s, ran 106 s)
MIP_START_FACTOR = 2.0
# share of a time limit kept back from the master for what follows its last solve (HiGHS ends a
# timed-out solve up to ~0.2 s late; the large bench then ended at 300.2 s against 300 s)
TIME_RESERVE_SHARE = 0.005
# a battery below this (MWh) is none: its site's credits are those of min(L, G)
STORAGE_EPS_MWH = 1e-9
# transfer_cuts: the sites that get each overstated point's cut, and the least overstatement
# (relative) that counts. With batteries, a solve whose incumbent has no battery in use (the
# front's least-cost end and capped points) carries each point to every site that overstates
# it: on the default with 400 MWh per site the front took 61.4 s instead of 70.7 s (the capped
# points 5.5-21.2 s each instead of 14.2-30.1 s), while least CO2, whose plans use batteries,
# took one MIP round more (4 instead of 3) with it, so it keeps TRANSFER_SITES
TRANSFER_SITES = 16
TRANSFER_TOL = 1e-3
# seed_value_cuts: the search for a site's best procurement stops this close (relative) to its
# bound (add_value_cuts at a plan's sites: 1e-6)
SEED_TOL = 1e-4
# ... and takes at most this share of the time a solve has left (default with 400 MWh per site,
# least CO2, 60 s: seeding to the limit left no MIP round and no bound)
SEED_SHARE = 0.5
# screening (siting.model.hourly.screening): a placement is taken out only when its bound passes
# the threshold (incumbent, cap or budget) by more than this (relative). An incumbent that keeps a
# cap or budget only to its tolerance (_limit_slack, which grows with the credits) may be taken
# out with it: the master's own limit row excludes it as well, and a screened master left with
# no plan returns the incumbent as optimal (Decomposition.solve)
SCREEN_TOL = 1e-6
# share of rel_gap kept back from the master's own gap (see Decomposition.solve)
MIP_GAP_MARGIN = 0.1
# a presence cut is added only when its bound beats the site's last one for that workload and
# objective by this much (relative): the rows differ only in that bound
PRESENCE_TOL = 1e-9
# HiGHS's reliability branching strong-branches a column until this many pseudo-cost
# observations (its default: 8). A solver setting, not a reduction: it changes how fast a master
# is solved, never its optimum. Measured on the 24 MIP masters of the default scenario's 7-point
# front without batteries (each master written out and re-solved alone): 164.8 s with HiGHS's
# default, 94.6-106.4 s with 0 (fewer LP iterations: strong branching was half of them); on 5
# masters with 400 MWh batteries per site, 85.6 s against 171.4 s (far more nodes), so with a
# battery HiGHS keeps its default, also while the plan without battery is solved first (with 0
# there, the default with 400 MWh per site, least CO2, 300 s, ended at 0.80 % against 0.38 %),
# except where the incumbent has no battery in use (the front's capped points): with 0 there the
# default front's capped points took 10-26 s instead of 12-44 s, and the whole run 146.4 s
# against 159.6 s (0 for every min-cost master: the lexicographic end took 40.4 s, not 23.3 s).
PSCOST_MINRELIABLE_NO_BATTERY = 0
PSCOST_MINRELIABLE_DEFAULT = 8


def relative_gap(objective: float, bound: float | None) -> float | None:
    """``(objective - bound) / |objective|``, at least 0 (an exact plan's objective can sit a
    rounding error below the master's bound); None without a finite bound."""
    if bound is None or not math.isfinite(bound):
        return None
    return max(0.0, objective - bound) / max(abs(objective), 1e-9)


def set_time_left(h: highspy.Highs, left_s: float) -> None:
    """Let the next ``run`` of ``h`` take at most ``left_s`` seconds. HiGHS 1.16 reads its
    ``time_limit`` on two clocks: an LP run compares it with the run clock of the object, which
    adds up over runs (a persistent master given the time left as its limit stopped at once once
    its earlier runs had used that much: the large bench's second LP round stopped after 2.8 s
    and 0 iterations), while a MIP run compares it with the time since that run started (the
    run-clock form let a MIP master given 16.4 s run 41 s: the default scenario with 400 MWh per
    site, least CO2, ended at 308-335 s against a 300 s limit)."""
    left = max(left_s, 0.0)
    mip = any(v == highspy.HighsVarType.kInteger for v in h.getLp().integrality_)
    h.setOptionValue("time_limit", float(left if mip else h.getRunTime() + left))


@dataclass
class HourlyRaw:
    status: str  # optimal | feasible | infeasible | no_solution
    objective: float | None
    bound: float | None
    gap: float | None
    values: np.ndarray | None
    solve_s: float
    iterations: int = 0
    n_cuts: int = 0
    detail: dict = field(default_factory=dict)
    # per site with a battery in use: the plan's dispatch (None: min(L, G) in every hour)
    dispatch: dict | None = None


@dataclass
class Evaluation:
    """A point's exact credits (``F[name]``, per site) with one dispatch per site that achieves
    them all; the hourly branch mask of the sites without a battery in use; the cuts of the
    sites with one (``storage_cuts``: site -> its cuts, only where a claim is overstated)."""

    F: dict
    mask: np.ndarray
    active: np.ndarray
    dispatch: dict = field(default_factory=dict)
    storage_cuts: dict = field(default_factory=dict)
    storage_violation: dict = field(default_factory=dict)
    exact: bool = True  # False: some battery sites were only cut (see Decomposition.evaluate)


def branch_cut(p: HourlyProblem, v: np.ndarray, mask: np.ndarray, sites: np.ndarray):
    """The coefficients of the cut ``cred_s <= a_s . lam_s + b_s . P_s`` of each site in
    ``sites`` whose hours on the load branch (``L <= G``) are ``mask`` (n, T): ``v`` (n, T)
    summed over those hours per segment, and over the others against each technology's
    capacity factor. Tight at every point with that branch pattern."""
    return p.segment_sum(v * mask), np.einsum("st,skt->sk", v * ~mask, p.cf[sites])


def exact_credits(m: LinearModel, p: HourlyProblem, values: np.ndarray, weights: dict | None = None):
    """Per site and credit, the value ``F`` of the dispatch ``min(L, G)`` (exact without a
    battery) at the point, and for the sites with any load and procurement (the others have
    F = 0) the branch mask ``L <= G`` by hour."""
    weights = credit_weights(p) if weights is None else weights
    lam = values[m.cols["lam"]]
    P = values[m.cols["P"]]
    active = np.flatnonzero((lam.sum(axis=1) > 0) & (P.sum(axis=1) > 0))
    L = p.load_mwh(lam[active])
    G = np.einsum("sk,skt->st", P[active], p.cf[active])
    mask = L <= G
    used = np.minimum(L, G)
    F = {}
    for name, v in weights.items():
        f = np.zeros(p.n_sites)
        f[active] = (v[active] * used).sum(axis=1)
        F[name] = f
    return F, mask, active


def battery_at_potential(obj: Objective) -> bool:
    """Reduction: every open site's battery at its potential (``E_s = potential_s y_s``). Valid
    when the objective is ``min_co2`` and no budget limits the plan: a battery carries no
    tCO2e in the accounting rule, and a larger one keeps every dispatch of a smaller one
    feasible (its charge, discharge and energy limits only widen), so no credit, and neither
    the CO2 cap nor a CFE target, gets worse. Off for every objective or limit with cost in it
    (a battery costs money). It removes the battery size from what the master explores at each
    site (the least-CO2 MIP rounds kept opening sites with small batteries whose value the
    master overstated)."""
    return obj.kind == "min_co2" and obj.budget_usd is None


def credit_unit(name: str) -> np.ndarray:
    """The weights ``mu`` (in the order of CREDITS) of a cut on the one credit ``name``."""
    return (np.array(CREDITS) == name).astype(float)


def relevant_credits(obj: Objective) -> list[str]:
    out = []
    if obj.uses_co2:
        out.append("cred_co2")
    if obj.uses_cost:
        out.append("cred_cost")
    if obj.uses_cfe:
        out.append("cfe")
    return out


class Decomposition:
    """A persistent master (HiGHS) that keeps its cuts across objectives (Pareto fronts).
    ``transfer`` and ``polish_mip`` (both on) switch the two steps of the module docstring, for
    comparisons; neither changes the optimum."""

    def __init__(self, p: HourlyProblem, obj: Objective):
        self.p = p
        self.m = create_model(p, obj, "decomposed")
        self.h = self.m.to_highs(integer=False)
        # The master is small and re-solved after every round of cuts: HiGHS's sub-MIP
        # heuristics and restarts took 7 of 8 s per round at (20 sites, 10 workloads) and
        # found nothing the next round would not; off, a round takes about 1 s.
        for option, value in START_TUNING.items():
            self.h.setOptionValue(option, value)
        self.integer = self.m.is_integer
        # every improving plan HiGHS finds inside a MIP round is kept: cuts at all of them
        # (not only the round's optimum) mean fewer rounds
        self._pool: list[np.ndarray] = []
        self.h.setCallback(self._collect, None)
        self.obj = obj
        self.n_cuts = 0
        self.weights = credit_weights(p)
        # the best plan of every earlier solve (other objectives or limits, e.g. the points of
        # a Pareto front): each is a candidate incumbent of the next solve, kept if it meets
        # that solve's limits with exact credits (a start never changes the optimum, only
        # how early HiGHS can prune)
        self.plans: list[np.ndarray] = []
        # the bound each earlier solve proved, as (objective without its CO2 cap and budget, cap,
        # budget, bound), shared with the clones like ``plans``: a solve with the same objective
        # and limits at most as loose starts from the best of them (_looser_bound)
        self.bounds: list[tuple] = []
        # cloned masters (see clone): the log of cuts they share, and how far this one has read it
        self._shared: list | None = None
        self._seen = 0
        # every per-credit cut of the sites without a battery, as (site, coefficients on the
        # site's lam and P columns): the master's outer approximation of each credit, evaluated
        # where a cut may be carried to other sites (transfer_cuts); seeded with the model's
        # initial cuts (_pool_add keeps the sites without a battery)
        self.cut_pool = {name: ([], []) for name in CREDITS}
        # The same for the sites with a battery (battery_pool), on their lam, P and E columns:
        # every cut on one credit alone (a joint cut on several bounds none of them alone)
        self.battery_pool = {name: ([], []) for name in CREDITS}
        sites = np.arange(p.n_sites)
        battery = np.flatnonzero(p.battery_sites)
        zero_e = np.zeros((battery.size, 1))
        for name, (a, b) in self.m.init_cuts.items():
            for coef in (np.hstack([a, np.zeros_like(b)]), np.hstack([np.zeros_like(a), b])):
                self._pool_add(name, sites, coef)
                self.battery_pool[name][0].append(battery)
                self.battery_pool[name][1].append(np.hstack([coef[battery], zero_e]))
        self.transfer = True
        self._saved_bounds = None  # integer bounds before reduced-cost fixing (see solve)
        self.polish_mip = True
        self._battery_off = False  # solving the plan without batteries (see solve)
        # the credits whose cuts a solve without batteries has built (see solve)
        self._credits_without_battery: set = set()
        # sites with a battery: their dispatch LPs (weights in the order of CREDITS)
        self.storage_sites = p.battery_sites
        self.oracle = (
            StorageOracle(
                np.stack([self.weights[name] for name in CREDITS], axis=1),
                p.storage["efficiency"],
                p.storage["duration_h"],
            )
            if self.storage_sites.any()
            else None
        )
        self.battery_full = False  # see battery_at_potential
        self._set_battery_full(obj)
        self.value_stats = {"added": 0, "seeded": 0, "presence": 0, "seconds": 0.0}  # add_value_cuts
        self.value_cuts = True
        self._seeded: set = set()  # the objectives whose value cuts are seeded
        self._presence_lb: dict = {}  # (site, objective) -> the largest presence bound so far, by workload
        self.carry_values = True
        self.search_threads = 1  # threads of the value-cut searches (set by solve from its threads)
        self._carried: set = set()  # ((objective's _value_key, IT load), site) carried (carry_value_cuts)
        # screening (see _screen): every whole-job group's IT load (MW by segment), and per
        # objective (its cost vector's bytes) the best bound so far on each site's part with
        # exactly that group there (shared by clones, like the presence bounds)
        whole = np.flatnonzero(~p.workloads["splittable"].to_numpy(bool))
        self._whole = whole
        self._groups = group_masks(whole.size) if 1 <= whole.size <= MAX_JOBS else None
        self._group_it_mw = (None if self._groups is None
                             else self._groups.astype(float) @ p.it_mw_by_segment[whole])  # (groups, J)
        self._group_lb: dict = {}
        self._screened = None  # (rows added, x columns fixed, their upper bounds) for this solve
        self._allowed_now = None  # (S, groups) which whole-job groups each site may hold in this solve
        # called once by the next solve (with batteries on) where its value cuts are (or would
        # be) seeded, i.e. when what is left of it runs mostly on one core (optimize_hourly)
        self.after_seeding = None
        # the running solve's incumbent (its exact values), None before it has one; read by
        # other threads (:class:`siting.model.hourly.optimize.SolveAhead`)
        self.incumbent: np.ndarray | None = None
        # whether the solves read the other masters' cuts (see _sync); off, they wait in the log
        self.read_log = True

    def clone(self) -> Decomposition:
        """A second master with this one's rows (every cut so far), objective, limits, basis
        and settings, independent from here on except for ``plans`` and ``bounds``, which the two share (a
        plan either finds is a candidate incumbent of the other's next solve): two points of a
        Pareto front can then be solved at once, one master per thread (HiGHS releases the GIL
        while it runs, and gives each calling thread its own scheduler, sized by the instance's
        ``threads`` when that thread first runs it: the clone keeps this master's ``threads``, so
        that it runs on this thread too, whose scheduler is sized already).

        With batteries the clone gets a dispatch oracle of its own (HiGHS objects are used by
        one thread only) that starts from this one's last basis, and the two share what says
        which work is done for every master: the objectives whose value cuts are seeded, the
        loads carried, the presence bounds and the credits cut by a solve without batteries
        (the rows themselves reach the other master through the log, :meth:`_sync`; a master
        that finds an objective seeded before the rows reach it solves on without them for a
        round: slower, never wrong, since every row is valid everywhere)."""
        if self._shared is None:
            self._shared, self._seen = [], 0
        other = copy.copy(self)
        other.m = copy.copy(self.m)
        other.m.rows = dict(self.m.rows)
        other.h = new_highs()
        other.h.passModel(self.h.getModel())
        for option, value in START_TUNING.items():
            other.h.setOptionValue(option, value)
        other.h.setOptionValue("threads", self.h.getOptionValue("threads")[1])
        basis = self.h.getBasis()
        if basis.valid:
            other.h.setBasis(basis)
        other.h.setCallback(other._collect, None)
        other._pool = []
        other.cut_pool = {name: (list(a), list(b)) for name, (a, b) in self.cut_pool.items()}
        other.battery_pool = {name: (list(a), list(b)) for name, (a, b) in self.battery_pool.items()}
        other.value_stats = dict(self.value_stats)
        # shared, not copied (see above): the same set and dict objects
        other._seeded, other._presence_lb = self._seeded, self._presence_lb
        other._carried, other._credits_without_battery = self._carried, self._credits_without_battery
        other._group_lb = self._group_lb
        other._screened = other._allowed_now = None
        other.after_seeding = None
        if self.oracle is not None:
            other.oracle = self.oracle.fresh()
        other._saved_bounds = None
        other._seen = len(self._shared)  # the clone has every row this master has
        return other

    def _collect(self, kind, message, data_out, data_in, user_data) -> None:
        if kind == highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution:
            self._pool.append(np.array(data_out.mip_solution, dtype=float))

    # -------------------------------------------------------------- exact credits and cuts
    def evaluate(
        self, values: np.ndarray, names: list[str], tol: float = CUT_TOL, cutoff: float = math.inf
    ) -> Evaluation:
        """The exact credits at ``values`` (module docstring). A site with a battery in use
        (E > 0) whose claims on ``names`` exceed what ``min(L, G)`` gives is checked by its
        dispatch LP, and cut when a claim is overstated by more than ``tol`` (scaled).

        ``cutoff`` (the incumbent's objective) lets the LPs be skipped: each such site first
        gets, per claimed credit, the cheap cut of :func:`hourly_dual_cut` (an upper bound on
        the credit). When every site whose cheap cuts leave a claim within ``tol`` has its LP
        solved and the plan, with the other sites at their upper bounds, still cannot beat
        ``cutoff`` (the credits enter every objective with coefficients <= 0), the other LPs
        are skipped: those sites get their separating cheap cuts, and the evaluation is not
        exact (``ev.exact`` False: not an incumbent). A plan whose cheap cuts separate nothing
        is always evaluated exactly, so a round that adds no cut has an exact plan."""
        p, m = self.p, self.m
        F, mask, active = exact_credits(m, p, values, self.weights)
        ev = Evaluation(F, mask, active)
        if self.oracle is None:
            return ev
        E = values[m.cols["E"]]
        idx = {name: i for i, name in enumerate(CREDITS)}
        targeted = np.zeros(len(CREDITS), bool)
        targeted[[idx[n] for n in names]] = True
        lam, P = values[m.cols["lam"]], values[m.cols["P"]]
        eta, dur = self.oracle.efficiency, self.oracle.duration_h
        # every site with a battery in use, with or without load and supply (the min(L, G) cut
        # of a site without supply is not tight once it has a battery: its LP's cut is)
        pending = []  # (site, L, G, claim, cheap upper bounds, separating cheap cuts)
        for s in np.flatnonzero(self.storage_sites & (E > STORAGE_EPS_MWH)):
            claim = np.array([values[m.cols[name][s]] for name in CREDITS])
            base = np.array([F[name][s] for name in CREDITS])
            if np.all(((claim - base) / (1.0 + np.abs(claim)))[targeted] <= tol):
                continue  # min(L, G) meets every claim: no LP needed
            L = p.load_mwh(lam[s : s + 1])[0]
            G = P[s] @ p.cf[s]
            ub, cheap = claim.copy(), []
            if math.isfinite(cutoff):
                for i in np.flatnonzero(targeted):
                    cut = hourly_dual_cut(self.oracle.v[s, i], L, G, float(E[s]), eta, dur,
                                         credit_unit(CREDITS[i]))
                    ub[i] = min(claim[i], cut.value)
                    if (claim[i] - cut.value) / (1.0 + abs(claim[i])) > tol:
                        cheap.append(cut)
            pending.append((int(s), L, G, claim, ub, cheap))
        # the sites whose claims no cheap cut separates need their LP in any case
        order = sorted(pending, key=lambda item: len(item[5]) > 0)
        skip_from = len(order)
        if math.isfinite(cutoff):
            bound_values = values.copy()
            for s, _, _, _, ub, _ in order:
                for i, name in enumerate(CREDITS):
                    bound_values[m.cols[name][s]] = ub[i]
            plain = np.ones(p.n_sites, bool)  # the other sites: exact
            plain[[item[0] for item in order]] = False
            for name in names:
                bound_values[m.cols[name][plain]] = F[name][plain]
        for j, (s, L, G, claim, _, cheap) in enumerate(order):
            if cheap and math.isfinite(cutoff) and float(m.cost @ bound_values) >= cutoff:
                skip_from = j  # the plan cannot beat the incumbent: the rest keep cheap cuts
                break
            disp, cut = self.oracle.solve(s, L, G, float(E[s]), claim, targeted)
            ev.dispatch[s] = disp
            for i, name in enumerate(CREDITS):
                F[name][s] = disp.credits[i]
                if math.isfinite(cutoff):
                    bound_values[m.cols[name][s]] = disp.credits[i]
            ev.storage_violation[s] = max(0.0, -disp.delta)
            if cut is not None and -disp.delta > tol:
                ev.storage_cuts[s] = [cut]
        for s, _, _, claim, ub, cheap in order[skip_from:]:
            ev.exact = False
            ev.storage_cuts[s] = cheap
            ev.storage_violation[s] = float(np.max(((claim - ub) / (1.0 + np.abs(claim)))[targeted]))
        return ev

    def add_cuts(
        self, values: np.ndarray, names: list[str], tol: float, ev: Evaluation | None = None
    ) -> tuple[int, float]:
        """Add every violated cut at ``values``; returns (cuts added, largest relative violation)."""
        p, m = self.p, self.m
        ev = self.evaluate(values, names, tol) if ev is None else ev
        F, mask, active = ev.F, ev.mask, ev.active
        row_of = np.full(p.n_sites, -1)
        row_of[active] = np.arange(active.size)
        lam_cols, P_cols = m.cols["lam"], m.cols["P"]
        lam, P = values[lam_cols], values[P_cols]
        joint = np.zeros(p.n_sites, bool)  # sites checked by their dispatch LP
        joint[list(ev.storage_violation)] = True
        added, worst = 0, max(ev.storage_violation.values(), default=0.0)
        unlimited: list = []  # (site, cut) bounding what any battery adds
        for name in names:
            cred = values[m.cols[name]]
            v = self.weights[name]
            scale = 1.0 + np.abs(F[name])
            rel = (cred - F[name]) / scale
            rel[joint] = 0.0
            worst = max(worst, float(rel.max(initial=0.0)))
            sites = np.flatnonzero(rel > tol)
            if sites.size == 0:
                continue
            # a site without load or without procurement has F = 0: its cut is the initial one
            # of the missing side (all hours on the G branch when P = 0, else the L branch)
            mk = np.empty((sites.size, p.n_hours), bool)
            has = row_of[sites] >= 0
            mk[has] = mask[row_of[sites[has]]]
            mk[~has] = (P[sites[~has]].sum(axis=1) > 0)[:, None]  # P > 0, no load: L <= G
            a, b = branch_cut(p, v[sites], mk, sites)  # (n, J), (n, K)
            cols = [m.cols[name][sites], lam_cols[sites], P_cols[sites]]
            vals = [np.ones(sites.size), -a, -b]
            if self.oracle is not None:
                # the battery's coefficient that keeps the cut valid for every E (0 without one),
                # and a second cut that bounds what any battery adds
                g_e = np.zeros(sites.size)
                mu = credit_unit(name)
                eta, dur = self.oracle.efficiency, self.oracle.duration_h
                for i in np.flatnonzero(self.storage_sites[sites]):
                    s = sites[i]
                    L, G = p.load_mwh(lam[s : s + 1])[0], P[s] @ p.cf[s]
                    g_e[i] = zero_storage_cut(v[s], L, G, eta, dur, mu).g_e
                    unlimited.append((int(s), unlimited_battery_cut(v[s], L, G, eta, mu)))
                cols.append(m.cols["E"][sites])
                vals.append(-g_e)
            self._add_rows(np.column_stack(cols), np.column_stack(vals))
            self._pool_add(name, sites, np.hstack([a, b]))
            if self.oracle is not None:
                on = self.storage_sites[sites]
                self._battery_pool_add(name, sites[on], np.hstack([a[on], b[on], g_e[on, None]]))
            added += sites.size
        if ev.storage_cuts:
            added += self._add_storage_cuts([(s, c) for s, cuts in ev.storage_cuts.items() for c in cuts])
        if unlimited:
            self.n_cuts += self._add_storage_cuts(unlimited)  # not counted as progress: valid rows
        self.n_cuts += added
        return added, worst

    def _pool_add(self, name: str, sites: np.ndarray, coef: np.ndarray, log: bool = True) -> None:
        keep = ~self.p.battery_sites[sites]
        self.cut_pool[name][0].append(np.asarray(sites)[keep])
        self.cut_pool[name][1].append(np.asarray(coef, float)[keep])
        if log and self._shared is not None:
            self._shared.append((id(self), "pool", (name, sites, coef)))

    def transfer_cuts(self, values: np.ndarray, names: list[str], per_point: int = TRANSFER_SITES,
                      every_open: bool = False) -> int:
        """Carry the points where a plan overstates a credit to the other sites. A MIP round's
        plan typically opens a small third site whose credits the master overstates at a
        load/supply mix it never saw there; the next round opens another site with the same
        mix. At each such point (lam, P) of a site without a battery in use (no battery there,
        or E = 0), every other site's exact credits without battery are computed at the same
        (lam, P) (one array pass over the hours), and the ``per_point`` sites whose master
        overstates them most there (at E = 0) get their cut, valid everywhere and tight at that
        point: at a site with a battery it gets the battery coefficient of
        :func:`zero_storage_cut`, which keeps it valid for every E (on the default scenario with
        400 MWh per site the front's capped points have no battery in use and took 9-21 MIP
        rounds each before these sites were carried). Returns the number of cuts added."""
        p, m = self.p, self.m
        battery = p.battery_sites
        lam_all, P_all = values[m.cols["lam"]], values[m.cols["P"]]
        source = ~battery
        if self.oracle is not None:
            source = source | (values[m.cols["E"]] <= STORAGE_EPS_MWH)
        F, _, _ = exact_credits(m, p, values, self.weights)
        over_at = {}  # credit -> the sites that overstate it
        for name in names:
            rel = (values[m.cols[name]] - F[name]) / (1.0 + np.abs(F[name]))
            over_at[name] = source & (rel > TRANSFER_TOL)
            if every_open:
                over_at[name] = source & (values[m.cols["y"]] > 0.5)
        pools = {}
        for name in names:
            if not over_at[name].any():
                continue
            sites_pool, coef_pool = list(self.cut_pool[name][0]), list(self.cut_pool[name][1])
            if self.oracle is not None:  # the battery sites' cuts at E = 0
                sites_pool += self.battery_pool[name][0]
                coef_pool += [c[:, :-1] for c in self.battery_pool[name][1]]
            pools[name] = [np.concatenate(sites_pool), np.vstack(coef_pool)]
        if self.oracle is not None:
            eta, dur = self.oracle.efficiency, self.oracle.duration_h
        added = 0
        for s in np.flatnonzero(np.logical_or.reduce([over_at[n] for n in names])):
            # every site at site s's point: one pass over the hours for all credits
            lam, P = lam_all[s], P_all[s]
            L = lam[p.segments.of_hour]  # (T,)
            G = np.einsum("k,skt->st", P, p.cf)  # (S, T)
            mask = L[None, :] <= G
            used = np.minimum(L[None, :], G)
            point = np.concatenate([lam, P])
            for name in names:
                if not over_at[name][s]:
                    continue
                v = self.weights[name]
                sites_pool, coef_pool = pools[name]
                f = (v * used).sum(axis=1)
                approx = np.full(p.n_sites, np.inf)
                np.minimum.at(approx, sites_pool, coef_pool @ point)
                over = approx - f
                over[s] = -np.inf
                over[(over / (1.0 + np.abs(f))) <= TRANSFER_TOL] = -np.inf
                top = np.argsort(over)[::-1][:per_point]
                top = top[np.isfinite(over[top])]
                if top.size == 0:
                    continue
                a, b = branch_cut(p, v[top], mask[top], top)
                on = battery[top]
                if (~on).any():
                    t = top[~on]
                    cols = np.column_stack([m.cols[name][t], m.cols["lam"][t], m.cols["P"][t]])
                    self._add_rows(cols, np.column_stack([np.ones(t.size), -a[~on], -b[~on]]))
                    self._pool_add(name, t, np.hstack([a[~on], b[~on]]))
                if on.any():
                    t = top[on]
                    mu = credit_unit(name)
                    g_e = np.array([zero_storage_cut(v[j], L, G[j], eta, dur, mu).g_e for j in t])
                    cols = np.column_stack([m.cols[name][t], m.cols["lam"][t], m.cols["P"][t],
                                            m.cols["E"][t]])
                    self._add_rows(cols, np.column_stack([np.ones(t.size), -a[on], -b[on], -g_e]))
                    self._battery_pool_add(name, t, np.hstack([a[on], b[on], g_e[:, None]]))
                pools[name] = [np.concatenate([sites_pool, top]), np.vstack([coef_pool, np.hstack([a, b])])]
                added += top.size
        self.n_cuts += added
        return added

    def _add_rows(self, idx: np.ndarray, val: np.ndarray, log: bool = True) -> None:
        """Rows ``val . x[idx] <= 0``, one per row of ``idx`` (written to the shared log of
        cloned masters, see :meth:`_sync`)."""
        n, width = idx.shape
        starts = (np.arange(n) * width).astype(np.int32)
        self.h.addRows(
            n, np.full(n, -INF), np.zeros(n), idx.size, starts, idx.astype(np.int32).ravel(), val.ravel()
        )
        if log and self._shared is not None:
            self._shared.append((id(self), "rows", (idx, val)))

    def _sync(self) -> int:
        """Add the cuts that the masters cloned with this one (:meth:`clone`) have added since
        the last call: every cut is valid for every objective and limit, so each master's
        cuts tighten the others'. Called by the master's own thread only (HiGHS objects are
        not shared between threads; the log is a list that the others only append to).
        Returns the number of rows added."""
        if self._shared is None or not self.read_log:
            return 0
        end = len(self._shared)
        added = 0
        for origin, kind, args in self._shared[self._seen : end]:
            if origin == id(self):
                continue
            if kind == "rows":
                self._add_rows(*args, log=False)
                added += args[0].shape[0]
            elif kind == "battery_pool":
                self._battery_pool_add(*args, log=False)
            else:
                self._pool_add(*args, log=False)
        self._seen = end
        self.n_cuts += added
        return added

    def _add_storage_cuts(self, cuts: list) -> int:
        """The joint cuts of the dispatch LPs: ``sum_i mu_i cred_i <= u . L + pi . G + g_e E``
        on the site's columns, scaled so that the largest ``mu_i`` is 1."""
        p, m = self.p, self.m
        for s, cut in cuts:
            k = 1.0 / float(cut.mu.max())
            on = np.flatnonzero(cut.mu > 0)
            idx = np.concatenate(
                [[m.cols[CREDITS[i]][s] for i in on], m.cols["lam"][s], m.cols["P"][s], [m.cols["E"][s]]]
            )
            val = np.concatenate(
                [k * cut.mu[on], -k * p.segment_sum(cut.u), -k * (p.cf[s] @ cut.pi), [-k * cut.g_e]]
            )
            self._add_rows(idx[None, :], val[None, :])
            if on.size == 1:
                self._battery_pool_add(CREDITS[on[0]], np.array([s]), -val[None, 1:] / val[0])
        return len(cuts)

    def _battery_pool_add(self, name: str, sites: np.ndarray, coef: np.ndarray, log: bool = True) -> None:
        """A cut on credit ``name`` alone at battery sites (``battery_pool``), logged for the
        masters cloned with this one (:meth:`_sync`)."""
        self.battery_pool[name][0].append(sites)
        self.battery_pool[name][1].append(coef)
        if log and self._shared is not None:
            self._shared.append((id(self), "battery_pool", (name, sites, coef)))

    def transfer_battery_cuts(self, values: np.ndarray, names: list[str], ev: Evaluation,
                              per_point: int = TRANSFER_SITES) -> int:
        """:meth:`transfer_cuts` for the sites with a battery: at each point (lam, P, E) where
        the plan's claim on a credit at a battery site was cut (``ev.storage_cuts``), the
        master's bound on that credit at every other battery site (the least of its pooled
        cuts there, with E at most that site's potential) is compared with what that site's
        clean supply gives without a battery; the ``per_point`` sites where that difference is
        largest get the cheap cut of :func:`hourly_dual_cut` at the point when it lowers their
        bound by more than TRANSFER_TOL (relative). Every such cut is valid everywhere."""
        p, m = self.p, self.m
        if self.oracle is None or not ev.storage_cuts:
            return 0
        battery = np.flatnonzero(self.storage_sites)
        lam_all, P_all, E_all = values[m.cols["lam"]], values[m.cols["P"]], values[m.cols["E"]]
        eta, dur = self.oracle.efficiency, self.oracle.duration_h
        pot = p.storage_potential_mwh[battery]
        cf = p.cf[battery]  # (n, K, T), once per call
        pools = {name: [np.concatenate(self.battery_pool[name][0]), np.vstack(self.battery_pool[name][1])]
                 for name in names}
        added = 0
        for s in ev.storage_cuts:
            # every battery site at site s's point: its supply without battery, in one pass
            lam, P = lam_all[s], P_all[s]
            E = np.minimum(E_all[s], pot)  # (n,) at most each site's potential
            L = lam[p.segments.of_hour]
            G = np.einsum("k,skt->st", P, cf)  # (n, T)
            used = np.minimum(L[None, :], G)
            point = np.concatenate([lam, P, [0.0]])
            for name in names:
                sites_pool, coef_pool = pools[name]
                v = self.weights[name]
                base = (v[battery] * used).sum(axis=1)
                # each pooled row at its own site's E
                rows_E = coef_pool[:, -1] * np.minimum(E_all[s], p.storage_potential_mwh[sites_pool])
                approx_all = np.full(p.n_sites, np.inf)
                np.minimum.at(approx_all, sites_pool, coef_pool @ point + rows_E)
                approx = approx_all[battery]
                room = np.where(battery == s, -np.inf, approx - base)
                top = np.argsort(room)[::-1][:per_point]
                top = top[np.isfinite(room[top]) & (room[top] > 0)]
                mu = credit_unit(name)
                for j in top:
                    t = int(battery[j])
                    cut = hourly_dual_cut(v[t], L, G[j], float(E[j]), eta, dur, mu)
                    if (approx[j] - cut.value) / (1.0 + abs(cut.value)) > TRANSFER_TOL:
                        added += self._add_storage_cuts([(t, cut)])
                        pools[name] = [np.append(sites_pool, t),
                                       np.vstack([coef_pool, self.battery_pool[name][1][-1]])]
                        sites_pool, coef_pool = pools[name]
        self.n_cuts += added
        return added

    def objective_site_part(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The objective's part at each site that depends on procurement and credits: the
        cost ``c`` (S, K) of a procured MW and the weights ``mult`` (in the order of CREDITS)
        of the credits (each entering with coefficient ``-mult_i``); None when a credit would
        enter with a positive coefficient (no objective of :class:`Objective` does)."""
        m = self.m
        mult = np.array([-float(m.cost[m.cols[name][0]]) for name in CREDITS])
        if np.any(mult < 0):
            return None
        return m.cost[m.cols["P"]], mult

    def _value_key(self) -> tuple | None:
        """What a value cut depends on of the objective (its part at each site,
        :meth:`objective_site_part`): the key under which loads are seeded and carried once;
        None when the objective has no value cuts."""
        part = self.objective_site_part()
        return None if part is None else (part[0].tobytes(), part[1].tobytes())

    def seed_value_cuts(self, tol: float = SEED_TOL, deadline: float | None = None,
                        incumbent: float | None = None) -> int:
        """Value cuts (:meth:`add_value_cuts`) at every battery site, once per objective, for
        each workload alone there and all of them together, each with the battery at its
        potential. The master's rounds otherwise open a new site each time, where its
        cuts on each credit still overstate the battery's value (default scenario, 400 MWh per
        site, least CO2, 300 s: the MIP rounds' plans spread over 30 sites; gap 6.0 % with value
        cuts at the plans' sites only, 0.80 % seeded at all workloads only, 0.44-0.63 % at all
        and the largest alone with the 24-hour-block dual; with the exact hourly dual, 0.33 % at
        those two loads, 0.036-0.042 % at each workload alone and all: the plans' third sites
        held a small workload, where cuts made at large loads were loose). Each presence bound
        (:meth:`_presence_rows`) of a workload alone is then within SEED_TOL of the site's
        value for it. Only where sites have batteries: without storage, seeding every site (40 s of a
        7-point front) gave 154 s against 180 s in one run each, within the run-to-run spread
        of the capped points (6-47 s), so it is not on. ``tol``: the search for the best
        procurement stops this close (relative) to its bound; ``deadline`` (``perf_counter``
        seconds): no site is searched after it (the objective counts as seeded there).

        Once per objective, load and site: the whole jobs' loads first, largest first, and
        after each load only at the sites that may hold it in this solve (:meth:`_allowed`,
        with ``incumbent`` the solve's incumbent objective and its CO2 cap and budget; the
        bounds of the loads seeded so far screen the next): a load that a later solve allows at
        more sites is seeded there then. Default scenario with 400 MWh per site: the front's
        lexicographic end (cap within 1e-4 of the least CO2) seeded the 405B job at 2 sites."""
        key = self._value_key()
        if key is None:
            return 0
        p = self.p
        coef = p.it_mw_by_segment  # (W, J) MW of each workload by segment
        loads = [*coef, coef.sum(axis=0)]
        position = {int(w): k for k, w in enumerate(self._whole)}  # a whole job's column in _groups
        energy = coef @ p.segments.hours
        order = sorted(range(len(coef)), key=lambda i: (i not in position, -energy[i])) + [len(coef)]
        battery = np.flatnonzero(self.storage_sites)
        added = 0
        for i in order:
            targets = battery
            allowed = self._allowed(incumbent) if i in position or i == len(coef) else None
            if allowed is not None:
                if i in position:  # the sites where some group with this job may be
                    targets = targets[allowed[targets][:, self._groups[:, position[i]]].any(axis=1)]
                else:  # every workload: the sites that may hold every whole job
                    targets = targets[allowed[targets, -1]]
            targets = np.array([t for t in targets if (key, i, int(t)) not in self._seeded], dtype=np.int64)
            if targets.size == 0:
                continue
            self._seeded.update((key, i, int(t)) for t in targets)
            added += self._value_cuts_at_load(loads[i], tol, deadline, presence=True, sites=targets)
        self.value_stats["seeded"] += added
        return added

    def _value_cuts_at_load(self, it_mw: np.ndarray, search_tol: float, deadline: float | None,
                            presence: bool, sites: np.ndarray | None = None) -> int:
        """A value cut at every battery site (or at ``sites``, battery sites) for the IT load
        ``it_mw`` (MW by segment), each site open with its battery at its potential
        (:meth:`add_value_cuts`, every cut added)."""
        p, m = self.p, self.m
        battery = np.flatnonzero(self.storage_sites) if sites is None else np.asarray(sites, dtype=np.int64)
        pue = p.sites["pue"].to_numpy(float)
        v = np.zeros(m.n_cols)
        v[m.cols["lam"][battery]] = pue[battery, None] * it_mw[None, :]
        v[m.cols["E"][battery]] = p.storage_potential_mwh[battery]
        v[m.cols["y"][battery]] = 1.0
        return self.add_value_cuts(v, battery, tol=-math.inf, search_tol=search_tol, deadline=deadline,
                                   presence=presence)

    def _value_sites(self, values: np.ndarray) -> np.ndarray:
        """The open sites with a battery in use (the value cuts' sites)."""
        if self.oracle is None or self._battery_off:
            return np.zeros(0, dtype=np.int64)
        open_ = values[self.m.cols["y"]] > 0.5
        return np.flatnonzero(self.storage_sites & open_ & (values[self.m.cols["E"]] > STORAGE_EPS_MWH))

    def add_value_cuts(
        self,
        values: np.ndarray,
        sites: np.ndarray,
        tol: float = CUT_TOL,
        search_tol: float = 1e-6,
        deadline: float | None = None,
        presence: bool = False,
    ) -> int:
        """At each of ``sites``, the cut of :func:`value_cut` at the site's load and battery in
        ``values``: ``c . P_s - sum_i mult_i cred_is >= -u . L(lam_s) - g_e E_s + kappa y_s``, a
        bound on the site's part of the objective over every procurement (the master's cuts on
        each credit are in (lam, P, E) and were overstated at procurement mixes they had not
        seen; this one does not depend on P). Added when ``values`` violates it by more than
        ``tol`` (relative; -inf: every cut); no site is searched after ``deadline``. Only with
        batteries (the callers' sites have one). ``presence``: each cut also gives the site's
        presence cuts (:meth:`_presence_rows`). Returns the number of value cuts added."""
        part = self.objective_site_part()
        if part is None or self.oracle is None or len(sites) == 0:
            return 0
        p, m = self.p, self.m
        c, mult = part
        t0 = time.perf_counter()
        lam, P, y, E = (values[m.cols[name]] for name in ("lam", "P", "y", "E"))
        eta, dur = self.oracle.efficiency, self.oracle.duration_h
        on = np.flatnonzero(mult > 0)
        idx, val = [], []

        def search(s):
            if deadline is not None and time.perf_counter() >= deadline:
                return None
            w = sum(mult[i] * self.weights[CREDITS[i]][s] for i in on)
            L = p.load_mwh(lam[s : s + 1])[0]
            return w, value_cut(w, L, p.cf[s], c[s], p.potential_mw[s], float(E[s]), eta, dur, tol=search_tol)

        # the searches are independent and release Python's lock (numba, HiGHS): on
        # ``search_threads`` threads (default with 400 MWh per site, least CO2: value cuts 58.7 s
        # on two threads against 99.1 s on one, the same cuts in the same order)
        if self.search_threads > 1 and len(sites) > 1:
            with ThreadPoolExecutor(self.search_threads, thread_name_prefix="value-cut") as pool:
                found = list(pool.map(search, sites))
        else:
            found = [search(s) for s in sites]
        for s, got in zip(sites, found, strict=True):
            if got is None:
                break
            w, cut = got
            if not math.isfinite(cut.kappa):
                continue
            self._record_group_bounds(int(s), cut, w)
            if presence:
                self._presence_rows(int(s), cut, w)
            claim = float(c[s] @ P[s]) - sum(mult[i] * values[m.cols[CREDITS[i]][s]] for i in on)
            bound = float(cut.value + cut.kappa * (y[s] - 1.0))
            if (bound - claim) / (1.0 + abs(bound)) <= tol:
                continue
            idx.append(np.concatenate([[m.cols[CREDITS[i]][s] for i in on], m.cols["P"][s], m.cols["lam"][s],
                                       [m.cols["y"][s], m.cols["E"][s]]]))
            val.append(np.concatenate([mult[on], -c[s], -p.segment_sum(cut.u), [cut.kappa, -cut.g_e]]))
        if idx:  # rows of one width: one call
            self._add_rows(np.array(idx), np.array(val))
        self.value_stats["added"] += len(idx)
        self.value_stats["seconds"] += time.perf_counter() - t0
        self.n_cuts += len(idx)
        return len(idx)

    def carry_value_cuts(self, values: np.ndarray, deadline: float | None = None) -> int:
        """Value cuts at every battery site for the IT load of each open battery site of
        ``values`` (once per load, objective and site): a MIP round's plan that overstates a
        site's value at a load mix the seeds did not cover (e.g. the 8B job with most of the
        fine-tuning sweep) was followed by plans with the same mix at one new site after
        another. While the solve screens placements (:meth:`_screen`), only to the sites that
        may hold that load's whole jobs (elsewhere the cut cannot matter to this solve; another
        solve may still carry the load there). Every cut is valid everywhere
        (:meth:`add_value_cuts`). Returns the number of cuts added."""
        objective = self._value_key()
        if objective is None:
            return 0
        m = self.m
        pue = self.p.sites["pue"].to_numpy(float)
        battery = np.flatnonzero(self.storage_sites)
        added = 0
        for s in self._value_sites(values):
            it = values[m.cols["lam"][s]] / pue[s]
            key = (objective, tuple(np.round(it, 6)))
            targets = battery
            if self._allowed_now is not None:
                group = group_index(values[m.cols["x"][self._whole, s]] > 0.5)
                targets = targets[self._allowed_now[targets, group]]
            targets = np.array([t for t in targets if (key, int(t)) not in self._carried], dtype=np.int64)
            if targets.size == 0:
                continue
            self._carried.update((key, int(t)) for t in targets)
            added += self._value_cuts_at_load(it, SEED_TOL, deadline, presence=False, sites=targets)
        return added

    def _presence_rows(self, s: int, cut, w: np.ndarray) -> int:
        """Presence cuts at site ``s`` from one value cut: ``obj_s >= LB_sw x_ws`` for each
        whole-job workload w, where ``obj_s`` is the site's part of the objective (load, procurement,
        battery, opening and credits) and ``LB_sw`` the value cut's bound on it with w's load
        alone, at the battery size that makes it least. Valid when the objective's hourly weights
        ``w`` are >= 0 and are the load's own coefficients (true of every objective: a credit
        saves what the load's hour costs), since the site's best ``obj_s`` then never falls as
        its load grows (the dispatch of a larger load, cut down to a smaller one hour by hour,
        draws less from the grid); so with w there it is at least ``LB_sw``, and without it the
        row asks ``obj_s >= 0``, which holds (weights, costs and lifecycle factors are >= 0).
        Not for splittable workloads (a share of one is not bounded by its whole load's value).
        The LP relaxation spread the largest workload over several sites at fractional shares,
        where a site's hourly-matched value per MWh is lowest; these rows take that away.
        Returns the number of rows added."""
        p, m = self.p, self.m
        whole = ~p.workloads["splittable"].to_numpy(bool)
        lb = self._part_bound(s, cut, w, p.it_mw_by_segment[whole])  # each workload alone
        if lb is None:
            return 0  # the argument above does not hold for this objective
        cols = np.concatenate([m.cols["lam"][s], m.cols["P"][s], [m.cols["E"][s], m.cols["y"][s]],
                               [m.cols[name][s] for name in CREDITS]])
        keep = m.cost[cols] != 0
        cols, coef = cols[keep], m.cost[cols[keep]]
        # a row is dominated by one of the same (site, workload, objective) with a larger bound
        key = (s, m.cost.tobytes())
        best = self._presence_lb.get(key, np.zeros(lb.size))
        rows = np.flatnonzero((lb > 0) & (lb > best * (1 + PRESENCE_TOL)))
        self._presence_lb[key] = np.maximum(best, lb)
        if rows.size:
            x_cols = m.cols["x"][np.flatnonzero(whole)[rows], s]
            idx = np.column_stack([np.tile(cols, (rows.size, 1)), x_cols])
            val = np.column_stack([np.tile(-coef, (rows.size, 1)), lb[rows]])
            self._add_rows(idx, val)
        self.value_stats["presence"] += int(rows.size)
        self.n_cuts += int(rows.size)
        return int(rows.size)

    def _part_bound(self, s: int, cut, w: np.ndarray, it_mw: np.ndarray) -> np.ndarray | None:
        """The value cut ``cut``'s bound on site ``s``'s whole part of the objective (load,
        procurement, battery, opening and credits) with each IT load of ``it_mw`` (n, J) there,
        at the battery size that makes it least; None where the bound does not hold for any
        larger load (the objective's hourly weights ``w`` must be >= 0 and be its load's own
        coefficients, see :meth:`_presence_rows`)."""
        p, m = self.p, self.m
        a = m.cost[m.cols["lam"][s]]
        if np.any(w < 0) or not np.allclose(a, p.segment_sum(w), rtol=1e-9, atol=1e-12):
            return None
        lam = float(p.sites["pue"].iloc[s]) * it_mw
        c_E, pot = float(m.cost[m.cols["E"][s]]), float(p.storage_potential_mwh[s])
        return ((a - p.segment_sum(cut.u)) @ lam.T + float(m.cost[m.cols["y"][s]]) + cut.kappa
                + min(0.0, (c_E - cut.g_e) * pot))

    def _record_group_bounds(self, s: int, cut, w: np.ndarray) -> None:
        """Keep the value cut's bound on site ``s``'s part with each group of whole jobs there
        (for :meth:`_screen`); the bound with none is 0, every part being >= 0."""
        if self._groups is None:
            return
        lb = self._part_bound(s, cut, w, self._group_it_mw)
        if lb is None:
            return
        key = self.m.cost.tobytes()
        table = self._group_lb.get(key)
        if table is None:
            table = self._group_lb.setdefault(key, np.zeros((self.p.n_sites, self._groups.shape[0])))
        np.maximum(table[s], lb, out=table[s])
        table[s, 0] = 0.0

    def _allowed(self, incumbent: float | None) -> np.ndarray | None:
        """(S, groups) bool: which groups of whole jobs each site may hold in a plan that beats
        ``incumbent`` (the objective's exact value) and keeps the CO2 cap and the budget, by the
        bounds so far (:mod:`siting.model.hourly.screening`); None when nothing is screened."""
        from siting.model.hourly.formulation import co2_terms, cost_terms

        if self._groups is None or self._battery_off:
            return None
        m, p = self.m, self.p
        tests = []
        if incumbent is not None and math.isfinite(incumbent):
            tests.append((m.cost, incumbent))
        if self.obj.co2_cap_t is not None:
            tests.append((co2_terms(m, p), self.obj.co2_cap_t))
        if self.obj.budget_usd is not None:
            tests.append((cost_terms(m, p), self.obj.budget_usd))
        allowed = np.ones((p.n_sites, self._groups.shape[0]), bool)
        for vec, limit in tests:
            table = self._group_lb.get(vec.tobytes())
            if table is not None:
                allowed &= allowed_groups(table, limit + SCREEN_TOL * max(1.0, abs(limit)))
        return None if allowed.all() else allowed

    def _screen(self, incumbent: float | None) -> tuple[int, int]:
        """Take out of the master, for this solve, every whole-job placement no plan can have
        that beats ``incumbent`` (the objective's exact value) and keeps the CO2 cap and the
        budget (:mod:`siting.model.hourly.screening`, on the bounds the value cuts gave on each
        site's part of that objective, of the plan's tCO2e and of its cost): ``x_ws`` fixed at 0
        where no allowed group at s holds w, and a row ``sum_{w in g} x_ws - sum_{w not in g}
        x_ws <= |g| - 1`` for each other group g not allowed at s. Valid for this solve only
        (this objective, incumbent and limits): undone by :meth:`_relax`. Returns (columns
        fixed, rows added)."""
        allowed = None if self._screened is not None else self._allowed(incumbent)
        if allowed is None:
            return 0, 0
        self._allowed_now = allowed
        m, h, masks = self.m, self.h, self._groups
        x = m.cols["x"][self._whole]  # (n, S)
        fix = ~(allowed[:, 1:].astype(int) @ masks[1:].astype(int) > 0)  # (S, n): no allowed group holds w
        cols = x.T[fix].astype(np.int32)
        hi = np.asarray(h.getLp().col_upper_)[cols]
        h.changeColsBounds(cols.size, cols, np.zeros(cols.size), np.zeros(cols.size))
        # the other groups not allowed, where none of their jobs is fixed at 0 already
        site, grp = np.nonzero(~allowed & ~(fix.astype(int) @ masks.T.astype(int) > 0))
        n, first = site.size, h.getNumRow()
        if n:
            sign = np.where(masks[grp], 1.0, -1.0)  # (n, jobs)
            idx = x.T[site].astype(np.int32)
            starts = (np.arange(n) * idx.shape[1]).astype(np.int32)
            h.addRows(n, np.full(n, -INF), masks[grp].sum(axis=1) - 1.0, idx.size, starts, idx.ravel(),
                      sign.ravel())
        self._screened = (np.arange(first, first + n, dtype=np.int32), cols, hi)
        return int(cols.size), int(n)

    def exact_values(self, values: np.ndarray, ev: Evaluation | None = None) -> np.ndarray:
        ev = self.evaluate(values, relevant_credits(self.obj)) if ev is None else ev
        exact = values.copy()
        for name, f in ev.F.items():
            exact[self.m.cols[name]] = f
        return exact

    # -------------------------------------------------------------- objective switching
    def set_objective(self, obj: Objective) -> None:
        """Re-aim the persistent master at ``obj`` (limits become the 'eps' rows)."""
        from siting.model.hourly.formulation import co2_terms, cost_terms

        m, h = self.m, self.h
        co2, cost = co2_terms(m, self.p), cost_terms(m, self.p)
        c = {"min_co2": co2, "min_cost": cost}.get(obj.kind, cost + obj.carbon_price_usd_per_t * co2)
        h.changeColsCost(m.n_cols, np.arange(m.n_cols, dtype=np.int32), c)
        m.cost = c
        for name, vec, limit in (("co2_cap", co2, obj.co2_cap_t), ("budget", cost, obj.budget_usd)):
            if name not in m.rows:
                if limit is None:
                    continue
                nz = np.flatnonzero(vec).astype(np.int32)
                h.addRow(-INF, float(limit), nz.size, nz, vec[nz])
                m.rows[name] = np.array([h.getNumRow() - 1])
            else:
                h.changeRowBounds(int(m.rows[name][0]), -INF, INF if limit is None else float(limit))
        self.obj = obj
        self._set_battery_full(obj)

    def _set_battery_full(self, obj: Objective, on: bool = True) -> None:
        """Switch the reduction :func:`battery_at_potential` on for ``obj`` where it is valid
        (``on=False``: off, e.g. while the plan without battery is solved): the rows
        ``E_s <= potential_s y_s`` become equalities."""
        full = on and self.oracle is not None and battery_at_potential(obj)
        if full == self.battery_full:
            return
        rows = self.m.rows["storage_le_y"].astype(np.int32)
        lo = np.full(rows.size, 0.0 if full else -INF)
        self.h.changeRowsBounds(rows.size, rows, lo, np.zeros(rows.size))
        self.battery_full = full

    def _full_battery(self, values: np.ndarray) -> np.ndarray:
        """``values`` with every open site's battery at its potential (when the reduction is on):
        a plan at least as good (module function :func:`battery_at_potential`)."""
        if not self.battery_full:
            return values
        v = values.copy()
        v[self.m.cols["E"]] = self.p.storage_potential_mwh * np.round(values[self.m.cols["y"]])
        return v

    # -------------------------------------------------------------- solve
    def _limits(self) -> list[tuple[np.ndarray, float, float]]:
        """The rows whose value depends on credits: (coefficients, lo, hi) for feasibility checks."""
        from siting.model.hourly.formulation import co2_terms, cost_terms

        out = []
        if self.obj.co2_cap_t is not None:
            out.append((co2_terms(self.m, self.p), -np.inf, self.obj.co2_cap_t))
        if self.obj.budget_usd is not None:
            out.append((cost_terms(self.m, self.p), -np.inf, self.obj.budget_usd))
        return out

    def _limit_slack(self, coef: np.ndarray, exact: np.ndarray, limit: float) -> float:
        """How far a plan may pass a limit with coefficients ``coef`` on the master's columns
        when its credits are exact: the master keeps the limit with claims that may overstate
        each credit by CUT_TOL (relative, scale 1 + |credit|); twice that on every credit the
        limit uses, and LIMIT_TOL of the limit."""
        room = 0.0
        for name in CREDITS:
            cols = self.m.cols[name]
            room += float(np.abs(coef[cols]) @ (1.0 + np.abs(exact[cols])))
        return 2.0 * CUT_TOL * room + LIMIT_TOL * max(1.0, abs(limit))

    def _feasible(self, exact: np.ndarray, limits) -> bool:
        """Does the plan keep its limits with exact credits (to :meth:`_limit_slack`)?"""
        for vec, lo, hi in limits:
            v = float(vec @ exact)
            if v > hi + self._limit_slack(vec, exact, hi) or v < lo - self._limit_slack(vec, exact, lo):
                return False
        if self.obj.cfe_target is not None:
            lam = exact[self.m.cols["lam"]]
            load = lam @ self.p.segments.hours
            cfe = exact[self.m.cols["cfe"]]
            need = self.obj.cfe_target * load
            slack = 2.0 * CUT_TOL * (1.0 + np.abs(cfe)) + LIMIT_TOL * np.maximum(1.0, load)
            if self.obj.cfe_scope == "overall":
                return bool(cfe.sum() >= need.sum() - slack.sum())
            return bool((cfe >= need - slack).all())
        return True

    def solve(
        self,
        rel_gap: float = 1e-6,
        time_limit_s: float | None = None,
        threads: int | None = None,
        max_rounds: int = 1000,
    ) -> HourlyRaw:
        """Cut until the plan is proven within ``rel_gap`` (or the limits are hit).

        With batteries, the plan without any battery is solved first when the objective or a limit
        uses a credit that no such solve without a CO2 cap or budget has cut yet (its master needs
        no dispatch LP: about as fast as the model without storage, and its LP rounds cut the
        credit where the MIP rounds with batteries would find its cuts one plan at a time: on the
        default scenario with 400 MWh per site, least cost after least CO2 took 62 MIP rounds and
        82 s without it, 1 round and 17 s with it). Its plan is a candidate incumbent (E = 0 is
        allowed, so it is a plan of this model too); its bound is not used. With a time limit it
        gets at most half of it. Solved again for each objective with its limits (tried: the
        front's capped points then opened no battery-less site whose CO2 credit was overstated,
        but the pass itself took 18-141 s at a cap on the 16,000-row master, and the whole front
        330-438 s in five runs against 384.5 s, one point once at the 300 s limit): not on."""
        t0 = t_start = time.perf_counter()
        first_plan_s = 0.0
        uses = set(relevant_credits(self.obj))
        if self.oracle is not None and not self._battery_off and not uses <= self._credits_without_battery:
            if self.obj.co2_cap_t is None and self.obj.budget_usd is None:
                # only a pass without a cap or budget counts: one under a tight cap cuts the
                # credits near its few plans (the front's lexicographic end, started beside
                # the least-cost end, once took the cost credit's pass: least cost then took 66
                # MIP rounds and 134.6 s, against 1 round and 15.5 s after its own pass)
                self._credits_without_battery |= uses
            self._battery_off = True
            E = self.m.cols["E"].astype(np.int32)
            ub = np.asarray(self.h.getLp().col_upper_)[E]
            self.h.changeColsBounds(E.size, E, np.zeros(E.size), np.zeros(E.size))
            self._set_battery_full(self.obj, on=False)
            try:
                half = None if time_limit_s is None else time_limit_s / 2
                first = self.solve(rel_gap, half, threads, max_rounds)
            finally:
                self.h.changeColsBounds(E.size, E, np.zeros(E.size), ub)
                self._battery_off = False
                self._set_battery_full(self.obj)
            first_plan_s = first.solve_s
            if time_limit_s is not None:
                time_limit_s = max(0.0, time_limit_s - (time.perf_counter() - t0))
            t0 = time.perf_counter()
        h, m = self.h, self.m
        names = relevant_credits(self.obj)
        limits = self._limits()
        # the master's gap a little below rel_gap: the plan's exact objective may pass the
        # master's by what its credits may be overstated (CUT_TOL each; the default front's
        # fourth cap once ended "optimal" at a gap of 1.0058e-4 against 1e-4)
        h.setOptionValue("mip_rel_gap", float(rel_gap) * (1 - MIP_GAP_MARGIN))
        h.setOptionValue(
            "mip_pscost_minreliable",
            PSCOST_MINRELIABLE_NO_BATTERY if self.oracle is None else PSCOST_MINRELIABLE_DEFAULT,
        )
        set_threads(h, threads)
        if self.oracle is not None:  # the site LPs run on this thread: its scheduler's size
            self.oracle.threads = int(h.getOptionValue("threads")[1])
        # the value cuts' searches get the solve's threads (None: every core)
        self.search_threads = max(1, threads if threads is not None else (os.cpu_count() or 1))
        int_cols = np.flatnonzero(self.integer).astype(np.int32)
        best, best_obj, bound, rounds, worst = None, math.inf, None, 0, 0.0
        self.incumbent = None
        after_master_s = 0.0
        phase_rounds = {"lp": 0, "mip": 0}
        phase_s = {"lp": 0.0, "mip": 0.0}

        best_dispatch: dict = {}
        mip_skipped = False
        lp_point = lp_final = None  # (objective, reduced costs, point) of an LP master's optimum
        n_fixed = 0
        screened = (0, 0)  # (columns fixed, rows added) by _screen
        # every time check of this solve against one end (the limit less its reserve)
        end = None if time_limit_s is None else t0 + time_limit_s * (1 - TIME_RESERVE_SHARE)

        def time_left() -> float:
            """Seconds a master solve may take: to the end, less what the last round's exact
            evaluation and cuts took, so that the round ends within the limit."""
            return end - time.perf_counter() - after_master_s

        def consider(values: np.ndarray) -> Evaluation:
            """Keep ``values`` as the incumbent if, with exact credits, it meets the limits
            and beats the incumbent; returns its evaluation (the cuts reuse it)."""
            nonlocal best, best_obj, best_dispatch
            values = self._full_battery(values)
            ev = self.evaluate(values, names, cutoff=best_obj)
            if not ev.exact:
                return ev  # cannot beat the incumbent: only cut
            exact = self.exact_values(values, ev)
            if self._feasible(exact, limits) and float(m.cost @ exact) < best_obj:
                best, best_obj, best_dispatch = exact, float(m.cost @ exact), dict(ev.dispatch)
                self.incumbent = exact
            return ev

        for plan in self.plans:
            consider(plan)
        n_plans = len(self.plans)  # the plans considered so far (clones append theirs as they end)
        status = "no_solution"
        phases = ("lp", "mip") if int_cols.size else ("lp",)
        # a looser solve's bound holds here too: when an incumbent is within rel_gap of it (a
        # front's point whose plan a looser cap kept), the solve is over before any round
        bound = None if self._battery_off else self._looser_bound()
        if best is not None and bound is not None and relative_gap(best_obj, bound) <= rel_gap:
            phases, status = (), "optimal"
        # with batteries, an incumbent with no battery in use (the front's least-cost end after
        # its plan without battery, and capped points): its MIP rounds branch and carry cuts as
        # without batteries (below); and where the objective is cost alone, the value cuts
        # (what a battery is worth) are not seeded at every site for it: the least-cost end took
        # 9.5-11.3 s instead of 19.1 s (a plan of a later round that uses a battery still gets
        # its value cuts, and carries them; with a carbon price or a CO2 objective a battery
        # may pay, so they are seeded as before)
        no_battery_in_use = (self.oracle is not None and not self._battery_off and best is not None
                             and self._value_sites(best).size == 0)
        per_point = self.p.n_sites if no_battery_in_use else TRANSFER_SITES
        seed = not (no_battery_in_use and self.obj.kind == "min_cost")
        if self.oracle is not None and not self._battery_off and self.value_cuts and seed and phases:
            now = time.perf_counter()
            self.seed_value_cuts(deadline=None if end is None else now + SEED_SHARE * (end - now),
                                 incumbent=best_obj if best is not None else None)
        if not self._battery_off and self.after_seeding is not None:
            hook, self.after_seeding = self.after_seeding, None
            hook()
        if self.oracle is not None and not self._battery_off and self.plans and int_cols.size and phases:
            # with batteries the LP rounds are slow (a fractional plan puts a battery at many
            # sites, each a dispatch LP) and the plan without battery's rounds already cut
            # the rest: straight to MIP rounds (a few open sites each)
            phases = ("mip",)
            if best is not None:
                # the incumbent's sites with batteries: its best procurement and batteries
                # (polishing every new choice of sites of the MIP rounds too was tried: on the
                # default scenario with 400 MWh batteries the gap at 300 s was 9.9 %, not 6.4 %)
                self._polish(best, int_cols, names, consider, end)
        master_s = 0.0  # the longest master solve's seconds
        for phase in phases:
            if phase == "mip" and end is not None and best is not None:
                # a MIP master of a large model can overrun the time HiGHS is given (its root
                # LP does not stop at the limit): start one only with time for two of the
                # longest master solves so far
                if time_left() < MIP_START_FACTOR * master_s:
                    mip_skipped = True
                    break
            if phase == "mip":
                screened = self._screen(best_obj if best is not None else None)
                if best is not None and not self._battery_off and self._value_sites(best).size == 0:
                    # an incumbent with no battery in use (the front's least-cost end and
                    # capped points): branch as a master without batteries does
                    h.setOptionValue("mip_pscost_minreliable", PSCOST_MINRELIABLE_NO_BATTERY)
            if phase == "mip" and lp_final is not None and best is not None:
                n_fixed = self._fix_by_reduced_cost(*lp_final, best_obj, int_cols)
            if phase == "mip":
                h.changeColsIntegrality(
                    int_cols.size, int_cols, np.full(int_cols.size, highspy.HighsVarType.kInteger)
                )
                h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution)
            phase_t0 = time.perf_counter()
            while rounds < max_rounds:
                rounds += 1
                self._sync()  # the cuts of the masters cloned with this one, so far
                phase_rounds[phase] += 1
                if end is not None:
                    left = time_left()
                    if left <= 0:
                        break
                    set_time_left(h, left)
                if phase == "mip" and best is not None:
                    h.setSolution(self._start(best))
                self._pool = []
                t_run = time.perf_counter()
                h.run()
                master_s = max(master_s, time.perf_counter() - t_run)
                ms = h.getModelStatus()
                if ms == highspy.HighsModelStatus.kNotset:
                    # HiGHS did not solve at all, e.g. when the master's `threads` differs from its
                    # thread's scheduler: without this the solve ended "feasible" with no bound
                    self._relax(int_cols)  # no screening or fixing left for a later solve
                    raise RuntimeError(
                        "HiGHS did not solve the master (status Not Set); its threads option is "
                        f"{h.getOptionValue('threads')[1]} (a scheduler of another size may run here)"
                    )
                if ms in (
                    highspy.HighsModelStatus.kInfeasible,
                    highspy.HighsModelStatus.kUnboundedOrInfeasible,
                ):
                    if (self._screened is not None or self._saved_bounds is not None) and best is not None:
                        # the screened (or reduced-cost fixed) master holds no plan better than
                        # the incumbent that keeps the limits (_screen, _fix_by_reduced_cost):
                        # the incumbent is optimal
                        bound, status = best_obj, "optimal"
                        break
                    self._relax(int_cols)
                    return HourlyRaw("infeasible", None, None, None, None, time.perf_counter() - t_start,
                                     rounds, self.n_cuts)
                info = h.getInfo()
                if info.primal_solution_status != 2:
                    break
                t_master = time.perf_counter()
                sol = h.getSolution()
                x = np.asarray(sol.col_value)
                solved = ms == highspy.HighsModelStatus.kOptimal
                if phase == "lp":
                    z = float(info.objective_function_value)
                    lp_point = (z, np.asarray(sol.col_dual), x) if solved else None
                # every master is a relaxation, so the best of their bounds is a valid bound: an
                # LP master's optimum, a MIP master's dual bound (also when the time limit ends it)
                if solved or (phase == "mip" and math.isfinite(info.mip_dual_bound)):
                    b = float(info.mip_dual_bound if phase == "mip" else info.objective_function_value)
                    bound = b if bound is None else max(bound, b)
                final_phase = phase == phases[-1]
                ev = consider(x) if final_phase else None
                if end is not None and time.perf_counter() >= end:
                    # out of time: the plan is judged (above), no cut is added for a round that
                    # will not run (default with batteries, 300 s: the last round's cuts and
                    # carried cuts ended the solve at 305 s)
                    gap = None if best is None else relative_gap(best_obj, bound)
                    if solved and gap is not None and gap <= rel_gap:
                        status = "optimal"
                    break
                added, worst = self.add_cuts(x, names, CUT_TOL, ev)
                if phase == "mip" and self.transfer:
                    added += self.transfer_cuts(x, names, per_point)
                    if ev is not None:
                        added += self.transfer_battery_cuts(x, names, ev)
                if phase == "mip" and self.value_cuts:
                    added += self.add_value_cuts(x, self._value_sites(x))
                    if self.carry_values:
                        added += self.carry_value_cuts(x, None if end is None else end - after_master_s)
                if phase == "mip" and self.polish_mip and added and (
                    self.oracle is None or self._value_sites(x).size == 0
                ):
                    # the round's plan with its integer decisions kept (the plans HiGHS reports
                    # while polishing are that plan's, not new ones: kept out of the pool); with
                    # batteries only for a plan with none in use (the front's capped points),
                    # whose LP rounds need no dispatch LP
                    pool, self._pool = self._pool, []
                    last = self._polish(x, int_cols, names, consider,
                                        None if end is None else end - after_master_s)
                    self._pool = pool
                    if last is not None and no_battery_in_use and self.transfer:
                        # the polished plan's points (exact at its sites) to every other site
                        # that overstates them: the next rounds tried the same loads and
                        # supply at other sites (default, 400 MWh per site, the front on one
                        # master: the capped points took 51.5 s and 13 MIP rounds in all,
                        # against 71.6 s and 17 rounds with the round's own points alone)
                        added += self.transfer_cuts(last, names, per_point, every_open=True)
                if phase == "lp" and int_cols.size:
                    # a whole plan near the LP's: an incumbent (and a gap) before any MIP round
                    plan = round_plan(self.p, m, x)
                    if plan is not None:
                        # an incumbent only: cuts at rounded plans grew the default scenario's
                        # master from 810 to 1,378 cuts and its solve from 14.2 s to 20.3 s
                        consider(plan)
                        # when no MIP round will fit (another LP round and a MIP round need
                        # 1 + MIP_START_FACTOR of the longest master solves), the rounded
                        # plan's sites get their best procurement by LP rounds instead
                        if end is not None and time_left() < (1 + MIP_START_FACTOR) * master_s:
                            self._polish(best if best is not None else plan, int_cols, names,
                                         consider, end - after_master_s)
                for other in self._pool:  # plans found on the way: incumbents and cuts
                    if end is not None and time.perf_counter() >= end:
                        break  # out of time: the round's own plan is evaluated, the rest waits
                    ev_other = consider(other)
                    more, _ = self.add_cuts(other, names, CUT_TOL, ev_other)
                    if phase == "mip" and self.transfer:
                        more += self.transfer_cuts(other, names, per_point)
                        more += self.transfer_battery_cuts(other, names, ev_other)
                    if phase == "mip" and self.value_cuts:
                        more += self.add_value_cuts(other, self._value_sites(other))
                    added += more
                if final_phase and self._shared is not None:
                    # what the masters cloned with this one ended meanwhile: their plans
                    # (candidate incumbents) and bounds (default front with 400 MWh per site:
                    # eps 2 started while eps 3, which has the same plan, was being solved)
                    for plan in self.plans[n_plans:]:
                        consider(plan)
                    n_plans = len(self.plans)
                    known = None if self._battery_off else self._looser_bound()
                    if known is not None:
                        bound = known if bound is None else max(bound, known)
                after_master_s = time.perf_counter() - t_master
                gap = None if best is None else relative_gap(best_obj, bound)
                if not final_phase:
                    if added == 0:
                        lp_final = lp_point  # the LP master's optimum, no cut left to add
                        break
                    continue
                if (solved and added == 0) or (gap is not None and gap <= rel_gap):
                    status = "optimal"
                    break
                if not solved:
                    break  # the time limit ended the master
            phase_s[phase] = time.perf_counter() - phase_t0
        self._relax(int_cols)
        solve_s = time.perf_counter() - t_start  # the plan without battery's solve included
        detail = {"worst_credit_violation": worst, "lp_rounds": phase_rounds["lp"],
                  "mip_rounds": phase_rounds["mip"], "lp_s": phase_s["lp"], "mip_s": phase_s["mip"],
                  "mip_skipped": mip_skipped, "fixed_by_reduced_cost": n_fixed,
                  "screened_columns": screened[0], "screened_rows": screened[1]}
        if self.oracle is not None:
            st = self.oracle.stats
            detail["plan_without_battery_s"] = first_plan_s
            vs = self.value_stats
            detail.update(value_cuts=vs["added"], value_cuts_seeded=vs["seeded"], value_cut_s=vs["seconds"],
                          presence_cuts=vs["presence"])
            detail.update(dispatch_lp_cold=st.cold, dispatch_lp_warm=st.warm,
                          dispatch_lp_other_basis=st.other_basis, dispatch_lp_s=st.seconds)
        if best is not None:
            self.plans.append(best)
        if bound is not None and not self._battery_off:
            # screening and reduced-cost fixing take out plans no better than the incumbent, so
            # what the solve proves is min(bound, incumbent)
            self.bounds.append((*self._limits_key(), bound if best is None else min(bound, best_obj)))
        if best is None:
            return HourlyRaw("no_solution", None, bound, None, None, solve_s, rounds, self.n_cuts)
        if status != "optimal":
            status = "feasible"
        gap = relative_gap(best_obj, bound)
        return HourlyRaw(
            status,
            best_obj,
            bound,
            gap,
            best,
            solve_s,
            rounds,
            self.n_cuts,
            detail=detail,
            dispatch=best_dispatch,
        )

    def _limits_key(self) -> tuple:
        """(the objective without its CO2 cap and budget, the cap, the budget), None as inf: how
        a solve's bound is kept in ``bounds``."""
        o = self.obj
        return (replace(o, co2_cap_t=None, budget_usd=None),
                math.inf if o.co2_cap_t is None else o.co2_cap_t,
                math.inf if o.budget_usd is None else o.budget_usd)

    def _looser_bound(self) -> float | None:
        """The best bound an earlier solve (of this master or a clone) proved for this objective
        with a CO2 cap and a budget each at least as loose as this solve's, or None. Its plans
        include every plan of this solve, so its least objective is at most this one's."""
        base, cap, budget = self._limits_key()
        return max((b for other, c, u, b in self.bounds if other == base and c >= cap and u >= budget),
                   default=None)

    def _polish(self, plan, int_cols, names, consider, deadline, max_rounds: int = 100) -> np.ndarray | None:
        """LP rounds with the plan's integer decisions (sites, whole-job placements) fixed, until
        its credits are exact: the best procurement, batteries and splittable shares for those
        sites (each round's point offered as an incumbent; the cuts stay, valid everywhere).
        Returns the last round's point (None when no round solved)."""
        h = self.h
        lp = h.getLp()
        lo = np.asarray(lp.col_lower_)[int_cols]
        hi = np.asarray(lp.col_upper_)[int_cols]
        fixed = np.round(plan[int_cols])
        h.changeColsBounds(int_cols.size, int_cols, fixed, fixed)
        longest = 0.0  # the longest round so far: no round starts without that much time left
        x = None
        try:
            for _ in range(max_rounds):
                t_round = time.perf_counter()
                if deadline is not None:
                    left = deadline - t_round
                    if left <= longest:
                        break
                    set_time_left(h, left)
                # from scratch, so that presolve drops the fixed and closed columns (from the
                # master's basis HiGHS skips presolve and re-solved the whole 1000-site LP:
                # 169 s and out of time, where the fixed one is a small LP)
                h.clearSolver()
                h.run()
                if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                    break
                x = np.asarray(h.getSolution().col_value)
                added, _ = self.add_cuts(x, names, CUT_TOL, consider(x))
                longest = max(longest, time.perf_counter() - t_round)
                if added == 0:
                    break
        finally:
            h.changeColsBounds(int_cols.size, int_cols, lo, hi)
        return x

    @staticmethod
    def _start(values: np.ndarray) -> highspy.HighsSolution:
        sol = highspy.HighsSolution()
        sol.col_value = values.tolist()
        sol.value_valid = True
        return sol

    def _fix_by_reduced_cost(
        self, z: float, d: np.ndarray, x: np.ndarray, cutoff: float, int_cols: np.ndarray
    ) -> int:
        """Fix the binaries that no plan better than ``cutoff`` (the incumbent's exact
        objective) can move. ``z``, ``d``, ``x``: an optimum of the LP master, its reduced costs
        and point. Every plan of the master with ``x_j`` moved off its bound costs at least
        ``z + |d_j|`` (LP duality); cuts added later only shrink the master, so this stays true
        for the rest of the solve. Valid for this objective and these limits only: the bounds
        are restored when the solve ends (:meth:`_relax`). The incumbent keeps its columns (its
        cost is ``cutoff``), so the master stays feasible and its MIP bound stays a bound of
        the whole problem. Returns the number of binaries fixed."""
        margin = 1e-7 * max(1.0, abs(cutoff))
        xi, di = x[int_cols], d[int_cols]
        lp = self.h.getLp()
        lo = np.asarray(lp.col_lower_)[int_cols]
        hi = np.asarray(lp.col_upper_)[int_cols]
        to_lo = (xi <= lo + 1e-9) & (z + di > cutoff + margin)
        to_hi = (xi >= hi - 1e-9) & (z - di > cutoff + margin)
        if not (to_lo.any() or to_hi.any()):
            return 0
        self._saved_bounds = (int_cols, lo, hi)
        self.h.changeColsBounds(int_cols.size, int_cols, np.where(to_hi, hi, lo), np.where(to_lo, lo, hi))
        return int(to_lo.sum() + to_hi.sum())

    def _relax(self, int_cols: np.ndarray) -> None:
        """Back to the LP relaxation, so the next objective starts with LP rounds (and the
        bounds fixed by reduced cost for this solve are undone)."""
        if self._saved_bounds is not None:
            cols, lo, hi = self._saved_bounds
            self.h.changeColsBounds(cols.size, cols, lo, hi)
            self._saved_bounds = None
        if self._screened is not None:  # after the reduced-cost fixing's bounds: it saved them screened
            rows, cols, hi = self._screened
            self.h.changeColsBounds(cols.size, cols, np.asarray(self.h.getLp().col_lower_)[cols], hi)
            if rows.size:
                self.h.deleteRows(rows.size, rows)
            self._screened = self._allowed_now = None
        self.h.stopCallback(highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution)
        if int_cols.size:
            self.h.changeColsIntegrality(
                int_cols.size, int_cols, np.full(int_cols.size, highspy.HighsVarType.kContinuous)
            )


def solve_explicit(
    p: HourlyProblem,
    obj: Objective,
    rel_gap: float = 1e-6,
    time_limit_s: float | None = None,
    threads: int | None = None,
):
    """The explicit hourly model, as written, handed to HiGHS (reference and storage path)."""
    t0 = time.perf_counter()
    m = create_model(p, obj, "explicit")
    h = m.to_highs()
    h.setOptionValue("mip_rel_gap", float(rel_gap))
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    set_threads(h, threads)
    build_s = time.perf_counter() - t0
    h.run()
    ms = h.getModelStatus()
    info = h.getInfo()
    if ms in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return HourlyRaw("infeasible", None, None, None, None, time.perf_counter() - t0), m
    if info.primal_solution_status != 2:
        return HourlyRaw("no_solution", None, None, None, None, time.perf_counter() - t0), m
    x = np.asarray(h.getSolution().col_value)
    obj_val = float(m.cost @ x)
    is_mip = bool(m.is_integer.any())
    bound = float(info.mip_dual_bound) if is_mip else obj_val
    gap = relative_gap(obj_val, bound)
    status = "optimal" if ms == highspy.HighsModelStatus.kOptimal else "feasible"
    return HourlyRaw(
        status,
        obj_val,
        bound,
        gap,
        x,
        time.perf_counter() - t0,
        detail={"build_s": build_s, "n_cols": m.n_cols, "n_rows": h.getNumRow()},
    ), m
