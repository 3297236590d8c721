"""Interruptible HiGHS solves: Ctrl-C (SIGINT) or SIGTERM during a solve cancels it instead of
waiting for HiGHS's time limit.

``run_interruptibly(h)`` runs ``h.run()`` in highspy's worker thread while the main thread waits
in short slices with a signal handler installed. The handler calls ``h.cancelSolve()``; HiGHS
stops at its next interrupt check (simplex, IPM and the MIP loop poll it). Some phases of a MIP
solve do not poll (presolve, the root LP inside the MIP solver: measured up to ~2.5 s on a
(300, 60, 12) random instance), so the main thread waits at most ``grace_s`` seconds
(assumption ``solver_interrupt_grace_s``) and then raises anyway, leaving the solver thread
running; the exception says so (``solver_running``) and the CLI then ends the process at once.

The best plan found so far is tracked through HiGHS's improving-solution callback, so it is
available even when the solver thread is still busy: :func:`incumbent` returns it, and when
the solver did stop, ``h.getSolution()`` is readable as usual.
"""

from __future__ import annotations

import signal
import threading
import time
import weakref

import highspy
import numpy as np

from siting.errors import Interrupted
from siting.faults import fault_point

SIGNALS = (signal.SIGINT, signal.SIGTERM)
WAIT_SLICE_S = 0.05  # how often the waiting main thread wakes to let Python run signal handlers

# best plan per Highs object, dropped with the object
_INCUMBENTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def incumbent(h: highspy.Highs) -> tuple[float, np.ndarray] | None:
    """(objective, column values) of the best plan the last :func:`run_interruptibly` of ``h``
    saw, or None."""
    return _INCUMBENTS.get(h)


def run_interruptibly(h: highspy.Highs, grace_s: float | None = None) -> None:
    """``h.run()``, cancelled by SIGINT/SIGTERM.

    Returns like ``run()`` when no signal arrived (read the status from ``h``). After a signal
    it cancels the solve, waits for the solver to stop (at most ``grace_s``; default: the
    assumption ``solver_interrupt_grace_s``) and raises :class:`siting.errors.Interrupted`
    with ``solver_running`` set when the solver did not stop in time. Outside the main thread
    (no signal handlers there) it is plain ``run()``."""
    if threading.current_thread() is not threading.main_thread():
        h.run()
        return
    if grace_s is None:
        from siting.assumptions import default_assumptions

        grace_s = default_assumptions()["solver_interrupt_grace_s"]
    received: list[tuple[int, float]] = []
    _INCUMBENTS.pop(h, None)

    def handler(signum, _frame):
        received.append((signum, time.monotonic()))
        h.cancelSolve()

    def improving(event):
        sol = event.data_out.mip_solution
        if sol is not None and len(sol):
            _INCUMBENTS[h] = (float(event.data_out.objective_function_value),
                                  np.array(sol, dtype=float))

    h.HandleUserInterrupt = True  # registers the simplex/IPM/MIP interrupt callbacks
    h.cbMipImprovingSolution += improving
    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    running = False
    try:
        h.startSolve()
        fault_point("solve")
        done = False
        while not done:
            done, _ = h.wait(WAIT_SLICE_S)
            if not done and received and time.monotonic() - received[0][1] > grace_s:
                running = True
                break
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
        if not running:  # never touch h while its solver thread still runs
            h.cbMipImprovingSolution -= improving
            h.HandleUserInterrupt = False
    if received:
        name = signal.Signals(received[0][0]).name
        exc = Interrupted(f"interrupted ({name}) during the solve")
        exc.solver_running = running
        raise exc
