"""Fetch datasets into a local cache: from the canonical URL, or from an offline mirror.

Cache layout equals the mirror layout: ``<cache>/<dataset>/<filename>``. Every write
goes to a temporary file in the same folder and is renamed into place only once it
is complete and its sha256 (where pinned) matches, so the cache never holds a
partial file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import platformdirs
import requests
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from siting.assumptions import Assumptions, default_assumptions
from siting.data.registry import DATASETS, Dataset, DatasetFile, get_dataset
from siting.errors import DownloadError, SitingError
from siting.io import atomic_path

CACHE_ENV = "SITING_CACHE_DIR"
MIRROR_ENV = "SITING_MIRROR"
_PROGRESS_MIN_BYTES = 1 << 20


def cache_dir(override: str | os.PathLike | None = None) -> Path:
    """The cache folder: ``override``, else ``$SITING_CACHE_DIR``, else the platform cache dir."""
    if override is not None:
        return Path(override)
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(platformdirs.user_cache_dir("siting"))


def mirror_dir(override: str | os.PathLike | None = None) -> Path | None:
    """The offline mirror: ``override``, else ``$SITING_MIRROR``, else none (use the network)."""
    value = override if override is not None else os.environ.get(MIRROR_ENV)
    if not value:
        return None
    path = Path(value)
    if not path.is_dir():
        raise SitingError(f"mirror folder {path} does not exist")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_sha(path: Path, spec: DatasetFile, origin: str) -> None:
    if spec.sha256 is None:
        return
    got = sha256_of(path)
    if got != spec.sha256:
        raise DownloadError(
            f"{origin}: sha256 mismatch for {spec.filename}: expected {spec.sha256}, got {got}"
        )


def _progress(total: int | None, label: str) -> Progress:
    show = sys.stderr.isatty() and (total is None or total >= _PROGRESS_MIN_BYTES)
    return Progress(TextColumn(label), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                    transient=True, disable=not show)


def _stream_once(session: requests.Session, url: str, tmp: Path, assumptions: Assumptions) -> None:
    """One attempt: stream ``url`` into ``tmp``; raise on HTTP errors or a short body."""
    timeout = (assumptions["download_connect_timeout_s"], assumptions["download_read_timeout_s"])
    with session.get(url, stream=True, timeout=timeout) as resp:
        if resp.status_code >= 400:
            raise requests.HTTPError(f"HTTP {resp.status_code}", response=resp)
        expected = resp.headers.get("Content-Length")
        total = int(expected) if expected and expected.isdigit() else None
        received = 0
        with tmp.open("wb") as fh, _progress(total, url.rsplit("/", 1)[-1]) as bar:
            task = bar.add_task("download", total=total)
            for chunk in resp.iter_content(int(assumptions["download_chunk_bytes"])):
                fh.write(chunk)
                received += len(chunk)
                bar.update(task, advance=len(chunk))
            fh.flush()
            os.fsync(fh.fileno())
        if total is not None and received != total:
            raise requests.ConnectionError(
                f"truncated body: got {received} of {total} bytes")


def download(url: str, dest: Path, spec: DatasetFile, session: requests.Session | None = None,
             assumptions: Assumptions | None = None) -> Path:
    """Download ``url`` to ``dest`` atomically, retrying connection errors and HTTP 5xx
    (timeouts, retries, back-off and chunk size from ``assumptions``, default: the table)."""
    assumptions = default_assumptions() if assumptions is None else assumptions
    session = session or requests.Session()
    retries = int(assumptions["download_retries"])
    backoff_s = assumptions["download_backoff_s"]
    last: Exception | None = None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff_s * 2 ** (attempt - 1))
        try:
            with atomic_path(dest) as tmp:
                _stream_once(session, url, tmp, assumptions)
                _check_sha(tmp, spec, url)
            return dest
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status < 500:
                raise DownloadError(f"{url}: HTTP {status}") from exc
            last = exc
        except (requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError) as exc:
            last = exc
    hint = ""
    if isinstance(last, requests.ConnectionError) and "resolve" in str(last).lower():
        hint = f" (offline? use --mirror DIR or set {MIRROR_ENV})"
        last = "host not reachable"
    raise DownloadError(f"{url}: failed after {retries + 1} attempts: {last}{hint}")


def copy_from_mirror(mirror: Path, dataset: Dataset, spec: DatasetFile, dest: Path) -> Path:
    src = mirror / dataset.name / spec.filename
    if not src.is_file():
        raise DownloadError(f"mirror {mirror} has no {dataset.name}/{spec.filename}")
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
        _check_sha(tmp, spec, str(src))
    return dest


def fetch_file(name: str, filename: str, *, cache: str | os.PathLike | None = None,
               mirror: str | os.PathLike | None = None, force: bool = False,
               session: requests.Session | None = None,
               assumptions: Assumptions | None = None) -> Path:
    """Path of one dataset file in the cache, fetching it (mirror or network) when missing."""
    dataset = get_dataset(name)
    spec = dataset.file(filename)
    dest = cache_dir(cache) / dataset.name / spec.filename
    if dest.is_file() and not force:
        return dest
    src_mirror = mirror_dir(mirror)
    if src_mirror is not None:
        return copy_from_mirror(src_mirror, dataset, spec, dest)
    return download(spec.url, dest, spec, session, assumptions)


def fetch(names: Iterable[str] | None = None, **kwargs) -> list[Path]:
    """Fetch every file of the named datasets (all when ``names`` is empty)."""
    selected = list(names) if names else list(DATASETS)
    return [fetch_file(n, f.filename, **kwargs) for n in selected for f in get_dataset(n).files]


def cache_status(cache: str | os.PathLike | None = None) -> list[dict]:
    """One row per dataset: name, licence, cached (all files), size_bytes, fetched (date)."""
    rows = []
    root = cache_dir(cache)
    for ds in DATASETS.values():
        paths = [root / ds.name / f.filename for f in ds.files]
        present = [p for p in paths if p.is_file()]
        newest = max((p.stat().st_mtime for p in present), default=None)
        rows.append({
            "name": ds.name,
            "licence": ds.licence,
            "cached": f"{len(present)}/{len(paths)}",
            "size_bytes": sum(p.stat().st_size for p in present),
            "fetched": time.strftime("%Y-%m-%d %H:%M", time.localtime(newest)) if newest else "",
        })
    return rows
