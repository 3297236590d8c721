"""siting: decide where to train AI models so they emit the least CO2.

The public Python API. Heavier parts (model, report) load on first use, so that
``import siting`` and the CLI start fast.
"""

from siting.accounting import Footprint, emissions_t, energy_mwh, footprint
from siting.errors import InfeasibleError, SitingError

__version__ = "0.1.0"

_LAZY = {
    "default_sites": "siting.api", "grid_intensity": "siting.api", "country_outlines": "siting.api",
    "read_sites": "siting.data.sites", "enrich": "siting.api",
    "generate_sites": "siting.data.sites",
    "load_scenario": "siting.model", "load_problem": "siting.model", "build_problem": "siting.model",
    "optimize": "siting.model", "Scenario": "siting.model", "SolverOptions": "siting.model",
    "ModelOptions": "siting.model", "read_sites_table": "siting.model",
    "read_workloads_table": "siting.model",
    "build_report": "siting.report", "write_report": "siting.report",
    "evaluate_sites": "siting.report.evaluate", "write_evaluation": "siting.report.evaluate",
    "save_solution": "siting.report.store", "load_solution": "siting.report.store",
    "Solution": "siting.model", "default_assumptions": "siting.assumptions",
}

__all__ = ["Footprint", "InfeasibleError", "SitingError", "emissions_t", "energy_mwh",
           "footprint", *_LAZY]


def __dir__() -> list[str]:
    """Module attributes including the lazily loaded names (for tab completion)."""
    return sorted(set(globals()) | set(_LAZY))


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'siting' has no attribute {name!r}")
