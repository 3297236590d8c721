"""All-or-nothing output folders, with a lock against concurrent runs.

Usage::

    with output_folder(out_dir, inputs=[scenario_file, sites_csv]) as tmp:
        write_report(report, solution, tmp)      # write everything into tmp

What it guarantees:

* **Atomic swap.** The block writes into a temporary sibling ``.<name>.tmp-<pid>``; only when it
  finishes without error is the folder swapped in (one ``renameat2(RENAME_EXCHANGE)`` on Linux,
  else two renames) and the old folder removed. Until then the previous output is untouched;
  after, it is the complete new one. SIGINT/SIGTERM are deferred for the few microseconds of the
  swap. A failing block (exception, disk full, Ctrl-C, SIGTERM) removes the temporary folder.
* **Lock.** ``.<name>.lock`` beside the folder holds the owner's pid under an exclusive
  ``flock``; a second run on the same folder gets :class:`OutputLockedError` (exit 2) naming
  the holder. The kernel drops the flock when its process dies, so a lock left by a killed
  process (stale, dead pid) is simply taken over. Leftovers of a killed run (temporary and
  ``.old`` folders) are cleaned (or restored) by the next run under the lock.
* **Safety.** The folder never contains or equals one of ``inputs`` (resolved paths: ``..``,
  symlinks), and an existing folder is only replaced if siting wrote it (marker file
  ``.siting-output``) or every file in it is one the new run also writes: ``--out .`` cannot
  wipe a working directory.
* **Errors.** ``OSError`` inside the block or the swap becomes :class:`OutputError` (exit 1)
  naming the path.

Test hook: siting.faults (``SITING_FAULT_AT=write:<file>`` or ``swap``) signals or fails the
process at a chosen write step.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import shutil
import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from siting.errors import OutputError, OutputLockedError, SitingError
from siting.faults import fault_point

MARKER = ".siting-output"
_DEFER = (signal.SIGINT, signal.SIGTERM)


# ------------------------------------------------------------------------------ paths
def check_not_input(dest: str | os.PathLike, inputs: Iterable[str | os.PathLike | None],
                    what: str = "output") -> Path:
    """``dest`` resolved; a one-line error if it is one of ``inputs`` or (a folder) holds one."""
    target = Path(dest).expanduser().resolve()
    for inp in inputs:
        if inp is None:
            continue
        src = Path(inp).expanduser().resolve()
        if src == target or target in src.parents:
            raise SitingError(f"{dest}: {what} would overwrite the input {inp}; choose another --out")
    return target


def _is_owned(folder: Path, new_names: set[str]) -> bool:
    """May ``folder`` be replaced? Yes when siting wrote it (marker), it is empty, or it holds
    only plain files that the new run writes too (output of a siting version without marker)."""
    if (folder / MARKER).is_file():
        return True
    for entry in os.scandir(folder):
        if not entry.is_file(follow_symlinks=False) or entry.name not in new_names:
            return False
    return True


# ------------------------------------------------------------------------------ lock
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def folder_lock(dest: Path) -> Iterator[Path]:
    """Hold ``.<name>.lock`` beside ``dest`` (exclusive flock, our pid inside) for the block."""
    lock = dest.parent / f".{dest.name}.lock"
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"{lock}: cannot create the lock file ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            alive = holder.isdigit() and _pid_alive(int(holder))
            raise OutputLockedError(
                f"{dest}: another siting run (pid {holder}{'' if alive else ', not running'}) "
                f"is writing this folder; wait for it to finish or choose another --out") from None
        # the file may have been unlinked by its previous holder meanwhile: lock the live one
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield lock
    finally:
        with suppress(OSError):
            lock.unlink()
        os.close(fd)


# ------------------------------------------------------------------------------ swap
def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """SIGINT/SIGTERM that arrive during the block are acted on right after it. (Python-level
    handlers, not a signal mask: the kernel may hand a signal to any thread, e.g. a HiGHS
    worker, which would then interrupt the main thread mid-swap.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {s: signal.signal(s, lambda signum, _frame: pending.append(signum)) for s in _DEFER}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if pending:
            handler = previous[pending[0]]
            if callable(handler):
                handler(pending[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(pending[0])


def _swap_in(tmp: Path, dest: Path) -> None:
    old = dest.parent / f".{dest.name}.old-{os.getpid()}"
    try:
        with _signals_deferred():
            if not dest.exists():
                os.rename(tmp, dest)
                return
            if _exchange(tmp, dest):
                os.rename(tmp, old)  # tmp now holds the previous folder
            else:
                os.rename(dest, old)
                os.rename(tmp, dest)
    finally:  # also when a signal deferred during the swap is raised on leaving it
        if dest.exists():
            shutil.rmtree(old, ignore_errors=True)


def _clean_leftovers(dest: Path) -> None:
    """Remove temporary folders of killed runs; restore ``dest`` if a run died mid-swap."""
    for p in dest.parent.glob(f".{dest.name}.old-*"):
        if not dest.exists() and p.is_dir():
            os.rename(p, dest)
        else:
            shutil.rmtree(p, ignore_errors=True)
    for p in dest.parent.glob(f".{dest.name}.tmp-*"):
        shutil.rmtree(p, ignore_errors=True)


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt in the block (main thread), so cleanup runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _output_error(exc: OSError, tmp: Path, dest: Path | None = None) -> OutputError:
    """One line naming the path (inside the temporary folder: as the destination path)."""
    path = str(exc.filename or tmp)
    if dest is not None and path.startswith(str(tmp)):
        path = str(dest) + path[len(str(tmp)):]
    kept = "; the previous output is unchanged" if dest is not None else ""
    return OutputError(f"{path}: {exc.strerror or exc}{kept}")


@contextmanager
def output_folder(out_dir: str | os.PathLike, *, inputs: Iterable[str | os.PathLike | None] = (),
                  marker: bool = True) -> Iterator[Path]:
    """Yield an empty temporary folder; swap it in as ``out_dir`` when the block succeeds
    (see the module doc for the guarantees). Raises :class:`OutputLockedError` (exit 2) when
    another run holds the folder, :class:`OutputError` (exit 1) on disk/permission errors,
    :class:`SitingError` (exit 2) when ``out_dir`` would overwrite an input or is not a
    siting output folder. ``marker=False`` leaves out the ``.siting-output`` marker (for folders
    kept in git, such as data/regions: there the new run must rewrite every existing file)."""
    dest = check_not_input(out_dir, inputs)
    if dest.exists() and not dest.is_dir():
        raise SitingError(f"{out_dir}: exists and is not a folder; choose another --out")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _output_error(exc, dest.parent) from None
    with _terminate_as_interrupt(), folder_lock(dest):
        _clean_leftovers(dest)
        tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}"
        try:
            try:
                tmp.mkdir()
                yield tmp
                if marker:
                    (tmp / MARKER).write_text("written by siting; replaced as a whole by the next run\n")
                if dest.exists() and not _is_owned(dest, {p.name for p in tmp.iterdir()}):
                    raise SitingError(f"{out_dir}: folder exists with files siting did not write; "
                                      "choose a new or empty --out folder")
                fault_point("swap")
                _swap_in(tmp, dest)
            except OSError as exc:
                raise _output_error(exc, tmp, dest) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
