"""The MILP as a PuLP 4 problem: named variables and named constraints.

Built on PuLP 4's Rust model (``LpProblem.toRustModel``): variables in batches of one
category (``add_variables_batch``), each row one expression filled from arrays of variable
ids and coefficients (``add_term_ids_coeffs``, the path PuLP's own ``lpSum_vars`` takes).
That skips the per-term checks of ``LpProblem.addConstraint``, which the arrays make
redundant: :func:`to_pulp` checks once that every coefficient and bound is finite.
At (1000,100,12) this took the plain model from 1.9 s to 0.6 s here (see bench/model_bench.py).
"""

from __future__ import annotations

import numpy as np
import pulp
from pulp import _rustcore

from siting.model.formulation import MatrixModel


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of equal values in ``flags``."""
    edges = np.flatnonzero(np.diff(flags.astype(np.int8))) + 1
    bounds = np.concatenate([[0], edges, [len(flags)]])
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))


def to_pulp(mm: MatrixModel) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    """A PuLP problem equal to ``mm``, and its variables in column order."""
    if not (np.isfinite(mm.A.data).all() and np.isfinite(mm.cost).all() and np.isfinite(mm.lb).all()):
        raise ValueError("model has a non-finite coefficient, cost or lower bound")
    prob = pulp.LpProblem(mm.problem.name.replace("-", "_"), pulp.LpMinimize)
    model = prob.toRustModel()
    rust_vars: list = []
    for lo, hi in _runs(mm.integer):  # consecutive columns of one category, ids in column order
        cat = _rustcore.Category.Integer if mm.integer[lo] else _rustcore.Category.Continuous
        rust_vars += model.add_variables_batch(mm.col_names[lo:hi], 0.0, float("inf"), cat)
    for j in np.flatnonzero(mm.lb != 0).tolist():
        rust_vars[j].set_lb(float(mm.lb[j]))
    for j in np.flatnonzero(np.isfinite(mm.ub)).tolist():
        rust_vars[j].set_ub(float(mm.ub[j]))
    ids = np.fromiter((v.id() for v in rust_vars), dtype=np.uint64, count=len(rust_vars))

    nz = np.flatnonzero(mm.cost)
    objective = pulp.LpAffineExpression.empty()
    objective._expr.add_term_ids_coeffs(model, ids[nz], mm.cost[nz])
    prob.setObjective(objective)

    A = mm.A
    equal = mm.row_lb == mm.row_ub
    upper = np.isfinite(mm.row_ub)
    rhs = np.where(upper, mm.row_ub, mm.row_lb).tolist()
    sense = np.where(equal, 0, np.where(upper, 1, 2)).tolist()
    senses = (_rustcore.Sense.Equal, _rustcore.Sense.LessEqual, _rustcore.Sense.GreaterEqual)
    indptr = A.indptr.tolist()
    for i, name in enumerate(mm.row_names):
        expr = _rustcore.AffineExpr()
        lo, hi = indptr[i], indptr[i + 1]
        expr.add_term_ids_coeffs(model, ids[A.indices[lo:hi]], A.data[lo:hi])
        expr.set_constant(-rhs[i])
        expr.set_sense(senses[sense[i]])
        expr.set_name(name)
        model.add_constraint(expr)
    return prob, [pulp.LpVariable(v) for v in rust_vars]
