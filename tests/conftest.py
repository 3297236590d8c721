"""Shared fixtures: the offline dataset mirror and a throw-away cache.

The mirror is ``$SITING_MIRROR`` (``MIRROR=dir make test`` sets it), else ``../shared/datasets``.
Without it, the tests marked ``shared`` are skipped and listed in one line at the end of the run.
Every JSON file the suite writes under pytest's temporary folder is parsed strictly at the end
(NaN/Infinity are not JSON): one that does not parse fails the run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SITING_MIRROR") or REPO.parent / "shared" / "datasets").resolve()
FIXTURES = Path(__file__).resolve().parent / "fixtures"

_skipped_for_mirror: list[str] = []
_bad_json: list[str] = []


def strict_json_loads(text: str):
    """``json.loads`` that rejects NaN, Infinity and -Infinity, as ``JSON.parse`` does."""
    def reject(token: str):
        raise ValueError(f"non-standard JSON constant {token}")

    return json.loads(text, parse_constant=reject)


def pytest_collection_modifyitems(config, items):
    if SHARED.is_dir():
        return
    skip = pytest.mark.skip(reason=f"dataset mirror {SHARED} not present (set SITING_MIRROR or MIRROR=dir)")
    for item in items:
        if "shared" in item.keywords:
            item.add_marker(skip)


def pytest_runtest_logreport(report):
    if report.skipped and report.when == "setup" and "dataset mirror" in str(report.longrepr):
        _skipped_for_mirror.append(report.nodeid.split("::", 1)[-1])


def pytest_sessionfinish(session, exitstatus):
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    try:
        base = factory.getbasetemp()
    except Exception:  # no test asked for a temporary folder
        return
    for path in sorted(base.rglob("*")):
        if path.suffix.lower() not in (".json", ".geojson") or not path.is_file():
            continue
        if "fuzz-input" in path.parts:  # inputs a test made invalid on purpose, not program output
            continue
        try:
            strict_json_loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            _bad_json.append(f"{path.relative_to(base)}: {exc}")
    if _bad_json and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_unconfigure(config):
    """The last line of the run: the tests skipped for want of the dataset mirror."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if _skipped_for_mirror and reporter is not None:
        reporter.write_line(f"skipped without the dataset mirror {SHARED} ({len(_skipped_for_mirror)}): "
                            + ", ".join(_skipped_for_mirror), yellow=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _bad_json:
        terminalreporter.write_line(f"JSON files that are not strict JSON ({len(_bad_json)}): "
                                    + "; ".join(_bad_json), red=True)


@pytest.fixture(scope="session")
def mirror() -> Path:
    return SHARED


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    """One cache for the whole test session, filled from the mirror on first use."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def fetch_kwargs(session_cache, mirror) -> dict:
    return {"cache": session_cache, "mirror": mirror}
