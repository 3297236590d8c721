"""User-facing errors. The CLI prints their message on one line and exits with ``exit_code``."""

from __future__ import annotations


class SitingError(Exception):
    """A mistake in the user's input or environment (bad file, unknown name, ...): exit code 2."""

    exit_code = 2


class DownloadError(SitingError):
    """A dataset could not be fetched or failed its checks."""


class InfeasibleError(SitingError):
    """The optimisation problem has no solution; the message says why, with numbers."""

    exit_code = 3
