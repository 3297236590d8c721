"""What a heuristic hands to the solver: a start solution and the root LP it came from.

Plain data, so that the solver layer (:mod:`siting.model.solve`) can take a start without
importing the heuristics that make one (:mod:`siting.model.dive`,
:mod:`siting.model.warmstart`): those depend on the solver, never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RootLp:
    """The LP relaxation a dive starts from: its value, primal values and reduced costs."""

    objective: float
    values: np.ndarray
    reduced_costs: np.ndarray


@dataclass
class Start:
    """A feasible start: its column vector, where it came from ("dive" or "greedy"), and
    the root LP when the dive got that far (for reduced-cost fixing)."""

    values: np.ndarray
    source: str
    root: RootLp | None
