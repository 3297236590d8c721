"""A small column/row builder for the hourly models: named variable blocks, sparse row
blocks, and the hand-over to HiGHS. Every constraint family adds one named block, so a
model can be read (and debugged) family by family."""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from siting.model.solve import new_highs

INF = highspy.kHighsInf


@dataclass
class LinearModel:
    n_cols: int = 0
    lb: list = field(default_factory=list)
    ub: list = field(default_factory=list)
    integer: list = field(default_factory=list)
    cols: dict = field(default_factory=dict)  # name -> index array (shaped like the block)
    blocks: list = field(default_factory=list)  # (name, A (coo), lo, hi)
    rows: dict = field(default_factory=dict)  # name -> row index array
    # name -> the segments a per-segment row family has rows for (when not every segment)
    segments_of: dict = field(default_factory=dict)
    # credit name -> (a (S, J), b (S, K)) of its initial cuts cred <= a . lam and cred <= b . P
    init_cuts: dict = field(default_factory=dict)
    n_rows: int = 0
    cost: np.ndarray | None = None

    def add_vars(self, name: str, shape, lb=0.0, ub=np.inf, integer: bool = False) -> np.ndarray:
        n = int(np.prod(shape))
        idx = np.arange(self.n_cols, self.n_cols + n).reshape(shape)
        self.lb.append(np.broadcast_to(np.asarray(lb, float), shape).ravel())
        self.ub.append(np.broadcast_to(np.asarray(ub, float), shape).ravel())
        self.integer.append(np.full(n, integer))
        self.cols[name] = idx
        self.n_cols += n
        return idx

    def add_rows(self, name: str, row, col, val, n: int, lo, hi) -> np.ndarray:
        """Rows ``lo <= sum val * x[col] <= hi`` given as coordinate triplets
        (``row`` numbered 0..n-1 within the block)."""
        row, col = np.asarray(row).ravel(), np.asarray(col).ravel()
        val = np.broadcast_to(np.asarray(val, float), np.shape(row)).ravel()
        keep = val != 0
        self.blocks.append((name, row[keep] + self.n_rows, col[keep], val[keep]))
        self.lo = getattr(self, "lo", []) + [np.broadcast_to(np.asarray(lo, float), n).ravel()]
        self.hi = getattr(self, "hi", []) + [np.broadcast_to(np.asarray(hi, float), n).ravel()]
        idx = np.arange(self.n_rows, self.n_rows + n)
        self.rows[name] = idx
        self.n_rows += n
        return idx

    def matrix(self) -> sp.csc_matrix:
        if not self.blocks:
            return sp.csc_matrix((0, self.n_cols))
        r = np.concatenate([b[1] for b in self.blocks])
        c = np.concatenate([b[2] for b in self.blocks])
        v = np.concatenate([b[3] for b in self.blocks])
        return sp.coo_matrix((v, (r, c)), shape=(self.n_rows, self.n_cols)).tocsc()

    def bounds(self):
        lo = np.concatenate(self.lo) if self.n_rows else np.zeros(0)
        hi = np.concatenate(self.hi) if self.n_rows else np.zeros(0)
        return (np.concatenate(self.lb), np.concatenate(self.ub), lo, hi)

    def to_highs(self, integer: bool = True) -> highspy.Highs:
        A = self.matrix()
        clb, cub, rlo, rhi = self.bounds()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.n_cols, self.n_rows
        lp.col_cost_ = np.zeros(self.n_cols) if self.cost is None else self.cost
        lp.col_lower_ = np.where(np.isfinite(clb), clb, -INF)
        lp.col_upper_ = np.where(np.isfinite(cub), cub, INF)
        lp.row_lower_ = np.where(np.isfinite(rlo), rlo, -INF)
        lp.row_upper_ = np.where(np.isfinite(rhi), rhi, INF)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data
        ints = np.concatenate(self.integer)
        if integer and ints.any():
            lp.integrality_ = np.where(
                ints, highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
            ).tolist()
        h = new_highs()
        h.passModel(lp)
        return h

    @property
    def is_integer(self) -> np.ndarray:
        return np.concatenate(self.integer)
