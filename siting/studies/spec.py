"""Study files (YAML, validated by pydantic) and their members.

A study names a base scenario and how to vary it: a full-factorial ``grid`` of values for
dotted keys (``max_sites``, ``solver.time_limit_s``, ``assumptions.pue_default``), Monte
Carlo ``draws`` (uniform, normal or triangular, seeded) on top of every grid point, and
named ``variants`` (overrides crossed with the grid). :func:`members` resolves them into
one :class:`Member` per run: the scenario fields as plain data (paths made absolute) and
``run_id``, a hash of the resolved scenario and of the bytes of the files it reads, so a
re-run recognises what it has already done.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from siting.errors import SitingError

# scenario fields that name files (relative to the file they are written in)
PATH_KEYS = ("sites", "workloads", "sites_monthly", "sites_hourly", "technologies")
DEFAULT_SITES = "default"
BASE_VARIANT = "base"


class Distribution(BaseModel):
    """One Monte Carlo parameter: ``uniform`` (low, high), ``normal`` (mean, sd) or
    ``triangular`` (low, mode, high); ``integer: true`` rounds each draw."""

    model_config = ConfigDict(extra="forbid")
    dist: Literal["uniform", "normal", "triangular"]
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = Field(None, ge=0)
    integer: bool = False

    @model_validator(mode="after")
    def _check(self) -> Distribution:
        need = {"uniform": ("low", "high"), "normal": ("mean", "sd"),
                "triangular": ("low", "mode", "high")}[self.dist]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"{self.dist} needs {', '.join(need)} (missing {', '.join(missing)})")
        if self.dist in ("uniform", "triangular") and not self.low < self.high:
            raise ValueError(f"{self.dist}: low must be below high")
        if self.dist == "triangular" and not self.low <= self.mode <= self.high:
            raise ValueError("triangular: mode must lie within [low, high]")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.dist == "uniform":
            x = rng.uniform(self.low, self.high, n)
        elif self.dist == "normal":
            x = rng.normal(self.mean, self.sd, n)
        else:
            x = rng.triangular(self.low, self.mode, self.high, n)
        return np.round(x) if self.integer else x


class Draws(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = Field(..., ge=1, description="draws per grid point and variant")
    seed: int = Field(..., description="seed of numpy's default generator")
    params: dict[str, Distribution] = Field(..., min_length=1)


class Study(BaseModel):
    """A study file. Paths are relative to the study file."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    base: str = Field(..., description="base scenario YAML")
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="dotted key -> values "
                                       "(full factorial)")
    draws: Draws | None = None
    variants: dict[str, dict[str, Any]] = Field(default_factory=dict, description="named "
                                                "overrides, crossed with the grid")
    include_base: bool = Field(True, description="run the base scenario as variant 'base' too")
    base_dir: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _check(self) -> Study:
        for key, values in self.grid.items():
            if not values:
                raise ValueError(f"grid: {key}: needs at least one value")
        if BASE_VARIANT in self.variants:
            raise ValueError(f"variants: {BASE_VARIANT!r} is reserved for the base scenario")
        if not self.include_base and not self.variants:
            raise ValueError("include_base: false needs at least one variant")
        clash = set(self.grid) & set(self.draws.params if self.draws else {})
        if clash:
            raise ValueError(f"keys both in grid and draws: {sorted(clash)}")
        return self

    def path(self, value: str) -> Path:
        p = Path(value)
        return p if p.is_absolute() or self.base_dir is None else self.base_dir / p

    @property
    def varied_keys(self) -> list[str]:
        """The dotted keys that get a column in the result table, in study order."""
        return [*self.grid, *(self.draws.params if self.draws else {})]


@dataclass(frozen=True)
class Member:
    """One run of a study: what varies, the scenario as plain data, its hash, and the
    error that makes it unrunnable (an unknown key, a bad value), if any."""

    index: int
    run_id: str
    variant: str
    draw: int | None
    values: dict[str, Any]  # dotted key -> value, for the varied keys
    scenario: dict[str, Any]  # scenario fields, paths absolute
    base_dir: str
    error: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)  # path field -> sha256 of the file


def _read_yaml(path: Path, what: str) -> dict:
    if not path.is_file():
        raise SitingError(f"{path}: {what} file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SitingError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(raw, dict):
        raise SitingError(f"{path}: expected a mapping of {what} fields")
    return raw


def _pydantic_error(path, exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(x) for x in err["loc"])
    return f"{path}: field {where}: {err['msg']}" if where else f"{path}: {err['msg']}"


def load_study(path: str | Path) -> Study:
    """Read and validate a study file (one-line :class:`SitingError` on bad input)."""
    p = Path(path)
    raw = _read_yaml(p, "study")
    try:
        return Study(**raw, base_dir=p.resolve().parent)
    except ValidationError as exc:
        raise SitingError(_pydantic_error(p, exc)) from None


def _absolute(value: Any, folder: Path) -> Any:
    if not isinstance(value, str) or value == DEFAULT_SITES:
        return value
    p = Path(value)
    return str(p if p.is_absolute() else (folder / p).resolve())


def set_dotted(data: dict, key: str, value: Any, folder: Path) -> None:
    """Set ``a.b.c`` in nested dicts (creating levels); path fields resolved against ``folder``."""
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            raise SitingError(f"study key {key}: {part} is not a mapping")
        node = child
    node[parts[-1]] = _absolute(value, folder) if len(parts) == 1 and parts[0] in PATH_KEYS else value


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass
class _Digests:
    """sha256 of input files, read once per study."""

    cache: dict[str, str] = field(default_factory=dict)

    def __call__(self, path: str) -> str:
        if path not in self.cache:
            p = Path(path)
            if not p.is_file():
                self.cache[path] = "missing"
            else:
                h = hashlib.sha256()
                with p.open("rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
                self.cache[path] = h.hexdigest()
        return self.cache[path]


def _resolve(raw: dict, base_dir: Path, digests: _Digests) -> tuple[dict, str | None, dict]:
    """Validate scenario fields: (canonical fields, error, input digests)."""
    from siting.model.scenario import Scenario
    from siting.paths import regions_file

    try:
        sc = Scenario(**raw, base_dir=base_dir)
    except ValidationError as exc:
        return raw, _pydantic_error("scenario", exc), {}
    except SitingError as exc:
        return raw, str(exc), {}
    fields = sc.model_dump(mode="json")
    inputs = {}
    for key in PATH_KEYS:
        value = fields.get(key)
        if value is None:
            continue
        path = str(regions_file("sites.csv")) if value == DEFAULT_SITES else str(sc.path(value))
        inputs[key] = digests(path)
    return fields, None, inputs


def run_hash(fields: dict, inputs: dict, draw: int | None = None) -> str:
    """16 hex digits of sha256 over the canonical JSON of the resolved scenario, with each
    input file named by the sha256 of its bytes instead of its path: the same files give the
    same run wherever the study folder lives, and changed files give a new run. A Monte Carlo
    member also hashes its draw number: two draws that happen to be equal (integer draws)
    are two samples, so two runs."""
    named = {k: (f"sha256:{inputs[k]}" if k in inputs else v) for k, v in fields.items()}
    if draw is not None:
        named = {"scenario": named, "draw": draw}
    text = json.dumps(named, sort_keys=True, allow_nan=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def members(study: Study) -> list[Member]:
    """Every run of the study: variants x grid points x draws, in that order."""
    base_path = study.path(study.base)
    base_dir = base_path.resolve().parent
    study_dir = (study.base_dir or Path.cwd()).resolve()
    base_raw = _read_yaml(base_path, "scenario")
    for key in PATH_KEYS:
        if key in base_raw:
            base_raw[key] = _absolute(base_raw[key], base_dir)
    variants = ([(BASE_VARIANT, {})] if study.include_base else []) + list(study.variants.items())
    grid_keys = list(study.grid)
    points = list(itertools.product(*study.grid.values())) if grid_keys else [()]
    if study.draws is not None:
        # draw by draw (all parameters of draw 0, then of draw 1, ...): raising n keeps the
        # earlier draws, so a resumed study with more draws reuses the runs it has
        rng = np.random.default_rng(study.draws.seed)
        params = study.draws.params
        draws = [(i, {k: float(d.sample(rng, 1)[0]) for k, d in params.items()})
                 for i in range(study.draws.n)]
    else:
        draws = [(None, {})]
    digests = _Digests()
    out: list[Member] = []
    seen: dict[str, int] = {}
    for (vname, overrides), point, (draw, drawn) in itertools.product(variants, points, draws):
        raw = json.loads(json.dumps(base_raw))  # deep copy of plain YAML data
        for key, value in overrides.items():
            set_dotted(raw, key, value, study_dir)
        values = {k: _plain(v) for k, v in zip(grid_keys, point, strict=True)}
        values.update(drawn)
        for key, value in values.items():
            set_dotted(raw, key, value, study_dir)
        if any(isinstance(v, float) and not math.isfinite(v) for v in values.values()):
            fields, error, inputs = raw, "a varied value is not finite", {}
        else:
            fields, error, inputs = _resolve(raw, base_dir, digests)
        rid = run_hash(fields, inputs, draw) if error is None else run_hash({"unresolved": raw}, {}, draw)
        if rid in seen:
            first = out[seen[rid]]
            raise SitingError(f"study {study.name}: members {first.index} ({first.variant} "
                              f"{first.values}) and {len(out)} ({vname} {values}) are the same "
                              "scenario; remove the duplicate value or variant")
        seen[rid] = len(out)
        out.append(Member(index=len(out), run_id=rid, variant=vname, draw=draw, values=values,
                          scenario=fields, base_dir=str(base_dir), error=error, inputs=inputs))
    return out
