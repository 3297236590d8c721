"""Studies: many runs of one scenario under varied assumptions (grid, Monte Carlo draws,
variants), run serially or on Dask, with an analysis of what is robust and what matters.

Heavier parts load on first use, like ``siting`` itself."""

_LAZY = {
    "Study": "siting.studies.spec", "Member": "siting.studies.spec",
    "load_study": "siting.studies.spec", "members": "siting.studies.spec",
    "SweepResult": "siting.studies.sweep", "run_study": "siting.studies.sweep",
    "read_runs": "siting.studies.sweep", "run_task": "siting.studies.sweep",
    "StudyReport": "siting.studies.analysis", "build_study_report": "siting.studies.analysis",
    "write_study_report": "siting.studies.analysis", "study_report": "siting.studies.analysis",
    "rank_stability": "siting.studies.analysis", "tornado": "siting.studies.analysis",
    "distributions": "siting.studies.analysis", "pareto_fronts": "siting.studies.analysis",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'siting.studies' has no attribute {name!r}")
