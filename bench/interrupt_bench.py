"""Ctrl-C latency of a HiGHS solve: SIGINT sent at several delays into a solve of a seeded
random instance, through siting.model.interrupt.run_interruptibly. Prints, per delay, the
seconds from the signal to the Interrupted exception, whether HiGHS itself had stopped
(else the grace limit ended the wait) and whether a feasible plan was kept.

    python bench/interrupt_bench.py [--size 300x60x12] [--delays 0.5,2,4,8] [--grace 1.0]
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time

from siting.errors import Interrupted
from siting.model.formulation import ModelOptions, formulate
from siting.model.interrupt import incumbent, run_interruptibly
from siting.model.solve import highs_model
from siting.model.testing import random_problem


def one(size: tuple[int, int, int], delay_s: float, grace_s: float) -> dict:
    mm = formulate(random_problem(*size, seed=2), ModelOptions(formulation="plain"),
                   packing_rows=False)
    h = highs_model(mm)
    h.setOptionValue("mip_rel_gap", 0.0)
    sent: list[float] = []
    timer = threading.Timer(delay_s, lambda: (sent.append(time.monotonic()),
                                              os.kill(os.getpid(), signal.SIGINT)))
    timer.start()
    try:
        run_interruptibly(h, grace_s=grace_s)
        return {"delay_s": delay_s, "result": "finished before the signal"}
    except Interrupted as exc:
        row = {"delay_s": delay_s, "stop_s": round(time.monotonic() - sent[0], 3),
               "highs_stopped": not exc.solver_running, "incumbent": incumbent(h) is not None}
        if exc.solver_running:  # let the abandoned solve end before the next one
            h.cancelSolve()
            h.wait()
        return row
    finally:
        timer.cancel()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="300x60x12")
    ap.add_argument("--delays", default="0.5,2,4,8")
    ap.add_argument("--grace", type=float, default=1.0)
    args = ap.parse_args()
    size = tuple(int(x) for x in args.size.split("x"))
    for delay in (float(d) for d in args.delays.split(",")):
        print(one(size, delay, args.grace), flush=True)


if __name__ == "__main__":
    main()
