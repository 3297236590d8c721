"""The one validation layer: every table and number siting reads is checked here, and every
failure is one line in one format::

    <file>: row <file line number>, field <name>: expected <rule>, got <value, at most 60 chars>

* **Files** (:func:`read_text`, :func:`read_csv`): UTF-8 (a BOM is fine); other bytes are decoded
  with the documented fallback cp1252 and a warning naming it (:class:`EncodingFallback`), and
  text that is neither (or holds NUL bytes) is refused. Empty and header-only files are one line.
* **Row numbers** are file line numbers: :func:`read_csv` records the first line of every
  record (blank lines skipped and multi-line quoted fields counted, as the csv module reads
  them) in ``df.attrs``; :func:`file_line` maps a row back. Frames built in code fall back to
  "data row + 2" (header on line 1).
* **Numbers** (:func:`numeric_column`): parsed vectorised; NaN, inf and overflow on parse
  (``1e400``) are refused wherever a finite number is needed; ranges, strict lower bounds
  (``gt=0`` for quantities that must be positive), whole numbers (months), and magnitude limits
  from the assumptions table (``limit_key``) are rules of the same kind.
* **Ids and names**: :func:`id_column` (empty, duplicate), :func:`known_name` (unknown names
  with suggestions).
* **pydantic errors** (:func:`pydantic_message`): field name, value and the rule, never a URL.

The checks are vectorised numpy masks over whole columns (no row loops); the first failing row
in file order is reported. pandera was considered (and is a dependency), but its import costs
~1 s on every CLI call and its failure cases would still need this mapping to file lines.
"""

from __future__ import annotations

import csv
import difflib
import io
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting.errors import SitingError
from siting.units import WGS84

SHOW_CHARS = 60
FALLBACK_ENCODING = "cp1252"
LINES_ATTR = "siting_file_lines"
# read_csv options that change which lines become rows: then no line map is recorded
_LINE_SHIFTING = {"skiprows", "comment", "header", "nrows", "skipfooter", "skip_blank_lines",
                  "sep", "delimiter", "quotechar", "escapechar", "lineterminator", "chunksize",
                  "iterator", "names", "usecols_only"}


class EncodingFallback(UserWarning):
    """A file was not UTF-8 and was decoded as cp1252 (the CLI prints it as one line)."""


# ------------------------------------------------------------------------------ display
def show(value, limit: int = SHOW_CHARS) -> str:
    """A value as the user wrote it, on one line, at most ``limit`` characters: text quoted
    (``repr``, so newlines show as ``\\n``), numbers plain."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, str) and not value.strip()):
        return "an empty value"
    text = repr(value) if isinstance(value, str) else str(value)
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def where(source, row: int | None = None, field: str | None = None) -> str:
    """``<file>: row <n>, field <f>`` (the parts that are known)."""
    parts = [f"row {row}"] if row is not None else []
    if field is not None:
        parts.append(f"field {show(str(field), 40).strip(chr(39))}")
    return f"{source}: {', '.join(parts)}" if parts else str(source)


def problem(source, row: int | None, field: str | None, rule: str, value=...) -> SitingError:
    """The one message format: ``<file>: row <n>, field <f>: expected <rule>, got <value>``."""
    got = "" if value is ... else f", got {show(value)}"
    return SitingError(f"{where(source, row, field)}: expected {rule}{got}")


# ------------------------------------------------------------------------------ files
def decode(data: bytes, source) -> str:
    """Text of a file: UTF-8 (BOM allowed), else cp1252 with an :class:`EncodingFallback`
    warning; NUL bytes or bytes valid in neither are one-line errors."""
    if b"\x00" in data:
        raise SitingError(f"{source}: contains NUL bytes; expected a text file (UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    try:
        text = data.decode(FALLBACK_ENCODING)
    except UnicodeDecodeError:
        line = data[:first_bad].count(b"\n") + 1
        raise SitingError(f"{source}: line {line}: expected UTF-8 (or {FALLBACK_ENCODING}) text, got "
                          f"byte 0x{data[first_bad]:02x} at offset {first_bad}; save the file as "
                          "UTF-8") from None
    line = data[:first_bad].count(b"\n") + 1
    warnings.warn(f"{source}: not UTF-8 (line {line}); read as {FALLBACK_ENCODING} (Windows "
                  "Western European)", EncodingFallback, stacklevel=2)
    return text


def read_text(path: str | Path, what: str = "") -> str:
    """A text file decoded by :func:`decode`; missing, unreadable or empty files are one line."""
    p = Path(path)
    if not p.is_file():
        raise SitingError(f"{p}: {what + ' ' if what else ''}file not found")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise SitingError(f"{p}: cannot read ({exc.strerror})") from None
    if not data.strip():
        raise SitingError(f"{p}: empty file; expected {'a ' + what + ' ' if what else ''}"
                          "table with a header line and rows")
    return decode(data, p)


class _LineNumbers:
    """File line of each data row, by original row position; immutable, so pandas' attrs
    propagation (deepcopy) shares it instead of copying."""

    def __init__(self, lines: np.ndarray):
        self.lines = lines

    def __deepcopy__(self, memo):
        return self


def record_lines(text: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(first file line of every CSV record after the header, its number of fields, the
    header's number of fields); blank lines skipped, multi-line quoted fields span lines."""
    reader = csv.reader(io.StringIO(text))
    starts, widths, end = [], [], 0
    for record in reader:
        start = end + 1
        end = reader.line_num
        if record:
            starts.append(start)  # csv yields [] for a blank line: no record starts there
            widths.append(len(record))
    header = widths[0] if widths else 0
    return np.asarray(starts[1:], dtype=np.int64), np.asarray(widths[1:], dtype=np.int64), header


def read_csv(path: str | Path, what: str = "", *, allow_empty: bool = False,
             strict_fields: bool = False, **kwargs) -> pd.DataFrame:
    """``pd.read_csv`` on the file decoded by :func:`read_text`; every failure is one line
    naming the file. Header-only files are an error unless ``allow_empty``. The file line of
    each row is recorded for :func:`file_line`. With ``strict_fields`` a row with more fields
    than the header is an error (pandas would silently take the first field as an index)."""
    p = Path(path)
    text = read_text(p, what)
    kwargs.pop("encoding", None)
    kwargs.pop("low_memory", None)
    try:
        df = pd.read_csv(io.StringIO(text), low_memory=False, **kwargs)
    except pd.errors.EmptyDataError:
        raise SitingError(f"{p}: empty file; expected a header line and rows") from None
    except (ValueError, pd.errors.ParserError, OverflowError, csv.Error) as exc:
        raise SitingError(f"{p}: not a readable CSV ({show(str(exc).strip(), 120)})") from None
    bad = [c for c in df.columns if not isinstance(c, str) or "\n" in c or "\r" in c]
    if bad:
        raise problem(p, 1, None, "a header line of column names without line breaks", bad[0])
    if df.empty and not allow_empty:
        raise SitingError(f"{p}: header only, no data rows")
    if not (_LINE_SHIFTING & kwargs.keys()):
        try:
            lines, widths, header = record_lines(text)
        except csv.Error:
            lines = None
        if lines is not None and strict_fields and "index_col" not in kwargs:
            # more fields than the header: pandas would silently take the first as an index
            row = first_bad_row(widths > header)
            if row is not None:
                raise problem(p, int(lines[row]), None, f"{header} fields, like the header",
                              int(widths[row]))
        if lines is not None and len(lines) == len(df):
            df.attrs[LINES_ATTR] = _LineNumbers(lines)
    return df


def options_frame(records: list[dict]) -> pd.DataFrame:
    """A table built from command-line options: its errors name no row."""
    df = pd.DataFrame(records)
    df.attrs[LINES_ATTR] = False
    return df


def file_line(df: pd.DataFrame, pos: int) -> int | None:
    """File line number of the row at position ``pos`` of ``df`` (see :func:`read_csv`);
    None for a frame from :func:`options_frame`."""
    lines = df.attrs.get(LINES_ATTR)
    if lines is False:
        return None
    if lines is not None:
        label = df.index[pos]
        if isinstance(label, int | np.integer) and 0 <= label < len(lines.lines):
            return int(lines.lines[label])
    return pos + 2


def require_columns(df: pd.DataFrame, columns: Iterable[str], source: str | Path) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        found = ", ".join(show(str(c), 30).strip("'") for c in list(df.columns)[:20])
        raise SitingError(f"{source}: missing column(s) {', '.join(missing)}; found {found}")


def first_bad_row(mask: pd.Series) -> int | None:
    """Position (0-based data row) of the first True in ``mask``, or None."""
    bad = np.asarray(mask).nonzero()[0]
    return int(bad[0]) if len(bad) else None


# ------------------------------------------------------------------------------ numbers
def _range_rule(lo, hi, gt, integer: bool) -> str:
    low = f"> {gt:g}" if gt is not None else (f">= {lo:g}" if lo is not None else None)
    bounded = low is not None and hi is not None  # a range says "finite" by itself
    kind = "a whole number" if integer else ("a number" if bounded else "a finite number")
    if low and hi is not None:
        return (f"{kind} in ({gt:g}, {hi:g}]" if gt is not None else f"{kind} in [{lo:g}, {hi:g}]")
    if low:
        return f"{kind} {low}"
    if hi is not None:
        return f"{kind} <= {hi:g}"
    return kind


def parse_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(float values, mask of cells that are given but not numbers). Empty cells are NaN and
    not in the mask; ``inf``/``1e400`` parse to inf (the finite rule refuses them)."""
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype(float), pd.Series(False, index=raw.index)
    if pd.api.types.is_numeric_dtype(raw.dtype):
        return raw.astype(float), pd.Series(False, index=raw.index)
    text = raw.astype("string").str.strip()
    empty = text.isna() | (text == "")
    values = pd.to_numeric(text.where(~empty), errors="coerce").astype(float)
    return values, (values.isna() & ~empty).fillna(False).astype(bool)


def numeric_column(df: pd.DataFrame, column: str, source: str | Path, *, lo: float | None = None,
                   hi: float | None = None, gt: float | None = None, integer: bool = False,
                   required: bool = True, limit: float | None = None, limit_key: str | None = None
                   ) -> pd.Series:
    """``df[column]`` as float, checked: a finite number (no NaN, inf or overflow), ``>= lo`` or
    ``> gt``, ``<= hi``, whole when ``integer``, and ``<= limit`` (a magnitude the solver can
    handle; ``limit_key`` names its assumption). Empty cells are errors when ``required``,
    NaN in the result otherwise. The first failing row in file order is one line."""
    raw = df[column]
    values, unparsed = parse_numbers(raw)
    v = values.to_numpy()
    present = ~np.isnan(v)
    rule = _range_rule(lo, hi, gt, integer)
    checks: list[tuple[np.ndarray, str]] = [(unparsed.to_numpy(), rule)]
    if required:
        checks.append((~present & ~unparsed.to_numpy(), rule))
    with np.errstate(invalid="ignore"):
        checks.append((present & ~np.isfinite(v), rule))
        out_of_range = np.zeros(len(v), bool)
        if lo is not None:
            out_of_range |= v < lo
        if gt is not None:
            out_of_range |= v <= gt
        if hi is not None:
            out_of_range |= v > hi
        checks.append((present & np.isfinite(v) & out_of_range, rule))
        if integer:
            checks.append((present & np.isfinite(v) & (v != np.round(v)), rule))
        if limit is not None:
            where = f" (limit {limit_key} in siting/resources/assumptions.csv)" if limit_key else ""
            checks.append((present & np.isfinite(v) & (np.abs(v) > limit),
                           f"a number <= {limit:g}{where}"))
    _raise_first(df, column, source, raw, checks)
    return values.astype(float)


def _raise_first(df, column, source, raw, checks: Sequence[tuple[np.ndarray, str]]) -> None:
    """Report the failing row that comes first in the file (ties: the first check)."""
    best = None
    for mask, rule in checks:
        row = first_bad_row(mask)
        if row is not None and (best is None or row < best[0]):
            best = (row, rule)
    if best is not None:
        row, rule = best
        raise problem(source, file_line(df, row), column, rule, raw.iloc[row])


def finite_number(value, name: str, *, lo: float | None = None, gt: float | None = None,
                  hi: float | None = None, source: str = "option") -> float:
    """One number given on the command line or in code, checked like a table cell."""
    df = pd.DataFrame({name: [value]})
    return float(numeric_column(df, name, source, lo=lo, gt=gt, hi=hi).iloc[0])


# ------------------------------------------------------------------------------ ids, names
def id_column(df: pd.DataFrame, column: str, source: str | Path) -> pd.Series:
    """``df[column]`` as stripped strings; empty or duplicate ids name file, row and field."""
    ids = df[column].astype("string").str.strip()
    row = first_bad_row((ids.isna() | (ids == "")).to_numpy())
    if row is not None:
        raise problem(source, file_line(df, row), column, "a non-empty id", df[column].iloc[row])
    row = first_bad_row(ids.duplicated().to_numpy())
    if row is not None:
        first = first_bad_row((ids == ids.iloc[row]).to_numpy())
        raise problem(source, file_line(df, row), column,
                      f"a unique id (also on row {file_line(df, first)})", ids.iloc[row])
    return ids.astype(str)


def suggest(name: str, known: Iterable[str], n: int = 3) -> str:
    """``"; did you mean a, b?"`` for the closest known names, or ``""``."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=n, cutoff=0.6)
    return f"; did you mean {', '.join(close)}?" if close else ""


def known_names(df: pd.DataFrame, column: str, source: str | Path, known: Iterable[str],
                what: str) -> pd.Series:
    """``df[column]`` stripped; a name not in ``known`` is one line with suggestions."""
    names = df[column].astype("string").str.strip()
    known = list(known)
    row = first_bad_row((~names.isin(known)).to_numpy())
    if row is not None:
        name = names.iloc[row]
        raise SitingError(f"{problem(source, file_line(df, row), column, what, name)}"
                          f"{suggest(name, known)}")
    return names.astype(str)


def check_geoframe(gdf: gpd.GeoDataFrame, source: str | Path, crs: str = WGS84) -> gpd.GeoDataFrame:
    """Assert the frame has the expected CRS and only valid, non-empty geometries."""
    if gdf.crs is None or not gdf.crs.equals(crs):
        raise SitingError(f"{source}: expected CRS {crs}, got {gdf.crs}")
    invalid = ~gdf.geometry.is_valid | gdf.geometry.is_empty
    row = first_bad_row(invalid)
    if row is not None:
        raise SitingError(f"{source}: row {file_line(gdf, row)} has an invalid or empty geometry")
    return gdf


# ------------------------------------------------------------------------------ pydantic
def _known_fields(model, loc: Sequence) -> list[str]:
    """Field names of the (nested) pydantic model that ``loc`` points into."""
    from pydantic import BaseModel

    for part in loc[:-1]:
        info = getattr(model, "model_fields", {}).get(part)
        annotation = getattr(info, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return [k for k in getattr(model, "model_fields", {}) if k != "base_dir"]


def pydantic_message(exc, source, prefix: str = "", model=None) -> SitingError:
    """The first error of a pydantic ``ValidationError`` as field, rule and value (no URL);
    an unknown field (often a misspelt required one) comes first, with suggestions from
    ``model``'s fields."""
    errors = exc.errors(include_url=False)
    err = next((e for e in errors if e.get("type") == "extra_forbidden"), errors[0])
    loc = ".".join(str(x) for x in err.get("loc", ()) if x != "__root__")
    field = (prefix + loc) if loc else (prefix.rstrip(".") or None)
    msg = err.get("msg", "a valid value")
    ctx = err.get("ctx") or {}
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        known = _known_fields(model, err.get("loc", ())) if model is not None else []
        name = str(err.get("loc", ("",))[-1])
        hint = suggest(name, known).removeprefix("; ")
        rule = f"a known field ({hint or 'see siting schema'})"
    elif kind == "missing":
        rule = "a value (the field is required)"
    elif kind == "literal_error" and "expected" in ctx:
        rule = f"one of {ctx['expected']}"
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
              "less_than_equal": "<="}[kind]
        bound = next(iter(ctx.values())) if ctx else "?"
        rule = f"a number {op} {bound:g}" if isinstance(bound, int | float) else f"a number {op} {bound}"
    elif kind == "finite_number":
        rule = "a finite number"
    elif kind == "string_pattern_mismatch" and "pattern" in ctx:
        rule = f"text matching {ctx['pattern']}"
    else:
        rule = msg[0].lower() + msg[1:] if msg else "a valid value"
        rule = rule.removeprefix("input should be ").removeprefix("value error, ")
    value = err.get("input", ...)
    if kind == "missing":
        value = ...
    return problem(source, None, field, rule, value if not isinstance(value, dict) else ...)
