"""Optimisation model: assign GPU-hour workloads to sites with the least CO2."""

from siting.model.formulation import ModelOptions, formulate
from siting.model.optimize import NoSolutionError, optimize
from siting.model.scenario import (
                                   Problem,
                                   Scenario,
                                   SolverOptions,
                                   build_problem,
                                   load_problem,
                                   load_scenario,
                                   read_sites_table,
                                   read_workloads_table,
)
from siting.model.solution import Solution

__all__ = ["ModelOptions", "NoSolutionError", "Problem", "Scenario", "Solution", "SolverOptions",
           "build_problem", "formulate", "load_problem", "load_scenario", "optimize",
           "read_sites_table", "read_workloads_table"]
