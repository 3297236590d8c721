"""User-facing errors. The CLI prints their message on one line and exits with ``exit_code``.

Exit codes: 2 bad input (and a locked output folder), 3 infeasible, 1 the environment failed
(disk full, no permission), 4 no plan found within the time limit, 130 interrupted (Ctrl-C / SIGTERM)."""

from __future__ import annotations


class SitingError(Exception):
    """A mistake in the user's input or environment (bad file, unknown name, ...): exit code 2."""

    exit_code = 2


class DownloadError(SitingError):
    """A dataset could not be fetched or failed its checks."""


class InfeasibleError(SitingError):
    """The optimisation problem has no solution; the message says why, with numbers."""

    exit_code = 3


class NoSolutionError(SitingError):
    """The solver stopped (time limit) before finding any feasible plan."""

    exit_code = 4


class OutputLockedError(SitingError):
    """Another live siting process holds the lock of the output folder (exit 2)."""


class OutputError(SitingError):
    """Writing the output failed (disk full, permission, ...); the previous output is intact."""

    exit_code = 1


class Interrupted(SitingError):
    """The user interrupted the run (SIGINT/SIGTERM). ``incumbent`` and ``model`` carry the best
    plan found so far when an interrupted solve had one (see siting.model.interrupt).
    Code that catches SitingError to go on with the next item (a studies runner) must
    re-raise this one, or Ctrl-C would only skip an item."""

    exit_code = 130

    def __init__(self, message: str = "interrupted", *, incumbent=None, model=None,
                 solver_running: bool = False):
        super().__init__(message)
        self.incumbent = incumbent  # siting.model.solve.RawSolution or None
        self.model = model  # the MatrixModel it belongs to
        self.solver_running = solver_running  # an abandoned solver thread still runs
