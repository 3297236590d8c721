"""Studies: many runs of one scenario under varied assumptions (grid, Monte Carlo draws,
variants), run serially or on Dask, with an analysis of what is robust and what matters."""

from siting.studies.spec import Member, Study, load_study, members
from siting.studies.sweep import SweepResult, read_runs, run_study

__all__ = ["Member", "Study", "SweepResult", "load_study", "members", "read_runs", "run_study"]
