"""The MILP as a PuLP 4 problem: named variables and named constraints, built with the
batch idiom (one expression per row from arrays of variable ids and coefficients)."""

from __future__ import annotations

import numpy as np
import pulp

from siting.model.formulation import MatrixModel


def _expression(model, variables: list, ids: np.ndarray, coefs: np.ndarray):
    """LpAffineExpression of sum(coef * var): PuLP 4's Rust batch path (the one its own
    ``lpSum_vars`` uses), falling back to the public (variable, coefficient) pairs idiom."""
    expr = pulp.LpAffineExpression.empty()
    batch = getattr(expr, "_expr", None)
    if batch is not None and hasattr(batch, "add_term_ids_coeffs"):
        batch.add_term_ids_coeffs(model, ids, coefs)
        return expr
    return pulp.LpAffineExpression.from_list([(variables[j], c) for j, c in zip(ids, coefs, strict=True)])


def to_pulp(mm: MatrixModel) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    """A PuLP problem equal to ``mm``, and its variables in column order."""
    prob = pulp.LpProblem(mm.problem.name.replace("-", "_"), pulp.LpMinimize)
    variables: list[pulp.LpVariable] = []
    for name, lb, ub, is_int in zip(mm.col_names, mm.lb, mm.ub, mm.integer, strict=True):
        cat = (pulp.LpBinary if is_int and lb == 0 and ub == 1 else
               pulp.LpInteger if is_int else pulp.LpContinuous)
        variables.append(prob.add_variable(name, float(lb),
                                           None if not np.isfinite(ub) else float(ub), cat))
    model = prob.toRustModel()
    ids = np.fromiter((v.id for v in variables), dtype=np.uint64, count=len(variables))
    nz = np.flatnonzero(mm.cost)
    prob.setObjective(_expression(model, variables, ids[nz], mm.cost[nz]))
    A = mm.A
    for i, name in enumerate(mm.row_names):
        lo, hi = A.indptr[i], A.indptr[i + 1]
        expr = _expression(model, variables, ids[A.indices[lo:hi]], A.data[lo:hi])
        if mm.row_lb[i] == mm.row_ub[i]:
            prob.addConstraint(expr == float(mm.row_ub[i]), name)
        elif np.isfinite(mm.row_ub[i]):
            prob.addConstraint(expr <= float(mm.row_ub[i]), name)
        else:
            prob.addConstraint(expr >= float(mm.row_lb[i]), name)
    return prob, variables
