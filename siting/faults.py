"""Fault injection for tests of interruption and failure handling (no effect in normal runs).

``SITING_FAULT_AT=<step>`` names a step; when the program reaches it, :func:`fault_point`
acts according to ``SITING_FAULT_SIGNAL``: a signal name (``SIGTERM``, the default, ``SIGINT``,
``SIGKILL``, ``SIGSTOP``) is sent to the process itself; an errno name (``ENOSPC``,
``EACCES``) raises that ``OSError``.

Steps: ``write:<file name>`` after siting.io wrote a file, ``swap`` just before an output
folder is swapped in (siting.outdir), ``solve`` once a HiGHS solve is running
(siting.model.interrupt).
"""

from __future__ import annotations

import errno
import os
import signal

FAULT_ENV = "SITING_FAULT_AT"
FAULT_SIGNAL_ENV = "SITING_FAULT_SIGNAL"


def fault_point(step: str, path: str | os.PathLike | None = None) -> None:
    """Act on ``SITING_FAULT_AT`` when it names ``step`` (see the module doc); an injected
    ``OSError`` names ``path`` (the file being written), as the real one would."""
    if os.environ.get(FAULT_ENV) != step:
        return
    what = os.environ.get(FAULT_SIGNAL_ENV, "SIGTERM").upper()
    if what.startswith("SIG"):
        os.kill(os.getpid(), getattr(signal, what))
    else:  # an errno name: ENOSPC, EACCES, EIO, ...
        code = getattr(errno, what)
        raise OSError(code, os.strerror(code), str(path) if path is not None else step)
