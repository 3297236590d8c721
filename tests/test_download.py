"""Downloader against a real HTTP server on 127.0.0.1 (no mocks): retries, truncation,
checksums, and never a partial file in the cache."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from siting.data import download as dl
from siting.data.registry import Dataset, DatasetFile
from siting.errors import DownloadError

BODY = b"site_id,lat,lon\n" + b"x,1.0,2.0\n" * 5000
SHA = hashlib.sha256(BODY).hexdigest()


class Handler(BaseHTTPRequestHandler):
    plan: dict[str, list[str]] = {}  # path -> behaviours, one consumed per request
    hits: dict[str, int] = {}

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        Handler.hits[self.path] = Handler.hits.get(self.path, 0) + 1
        steps = Handler.plan.get(self.path, ["ok"])
        step = steps.pop(0) if len(steps) > 1 else steps[0]
        if step == "500":
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif step == "404":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif step in ("drop", "truncate"):
            # announce the full length, send part of it, then drop the connection
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY[: len(BODY) // (3 if step == "drop" else 2)])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
        else:
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(dl.time, "sleep", lambda s: None)
    Handler.plan.clear()
    Handler.hits.clear()


def files_in(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def test_plain_download_with_pinned_sha(server, tmp_path):
    dest = tmp_path / "d" / "f.csv"
    dl.download(f"{server}/ok", dest, DatasetFile("f.csv", "", SHA))
    assert dest.read_bytes() == BODY


def test_dropped_connection_is_retried(server, tmp_path):
    Handler.plan["/drop"] = ["drop", "ok"]
    dest = tmp_path / "f.csv"
    dl.download(f"{server}/drop", dest, DatasetFile("f.csv", "", SHA))
    assert Handler.hits["/drop"] == 2
    assert dest.read_bytes() == BODY


def test_500_then_success(server, tmp_path):
    Handler.plan["/flaky"] = ["500", "500", "ok"]
    dest = tmp_path / "f.csv"
    dl.download(f"{server}/flaky", dest, DatasetFile("f.csv", "", None))
    assert Handler.hits["/flaky"] == 3
    assert dest.read_bytes() == BODY


def test_truncated_body_fails_cleanly(server, tmp_path):
    Handler.plan["/short"] = ["truncate"]
    dest = tmp_path / "f.csv"
    with pytest.raises(DownloadError, match="failed after 5 attempts"):
        dl.download(f"{server}/short", dest, DatasetFile("f.csv", "", None))
    assert Handler.hits["/short"] == 5
    assert files_in(tmp_path) == []  # no partial file, no temp file left behind


def test_checksum_mismatch_fails_cleanly(server, tmp_path):
    dest = tmp_path / "f.csv"
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        dl.download(f"{server}/ok", dest, DatasetFile("f.csv", "", "0" * 64))
    assert files_in(tmp_path) == []


def test_404_is_not_retried(server, tmp_path):
    Handler.plan["/missing"] = ["404"]
    with pytest.raises(DownloadError, match="HTTP 404"):
        dl.download(f"{server}/missing", tmp_path / "f.csv", DatasetFile("f.csv", "", None))
    assert Handler.hits["/missing"] == 1


def test_fetch_file_uses_cache_then_network(server, tmp_path, monkeypatch):
    ds = Dataset("local", "test", "CC0", "nobody", "csv",
                 (DatasetFile("f.csv", f"{server}/ok", SHA),), "load_plants", True)
    monkeypatch.setitem(dl.DATASETS, "local", ds)
    monkeypatch.delenv(dl.MIRROR_ENV, raising=False)
    path = dl.fetch_file("local", "f.csv", cache=tmp_path)
    assert path == tmp_path / "local" / "f.csv" and path.read_bytes() == BODY
    dl.fetch_file("local", "f.csv", cache=tmp_path)
    assert Handler.hits["/ok"] == 1  # second call served from the cache
    status = {r["name"]: r for r in dl.cache_status(tmp_path)}
    assert status["local"]["cached"] == "1/1" and status["local"]["size_bytes"] == len(BODY)


def test_mirror_copy_checks_sha(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror" / "local"
    mirror.mkdir(parents=True)
    (mirror / "f.csv").write_bytes(BODY + b"tampered")
    ds = Dataset("local", "test", "CC0", "nobody", "csv",
                 (DatasetFile("f.csv", "http://127.0.0.1:9/none", SHA),), "load_plants", True)
    monkeypatch.setitem(dl.DATASETS, "local", ds)
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        dl.fetch_file("local", "f.csv", cache=tmp_path / "cache", mirror=tmp_path / "mirror")
    assert files_in(tmp_path / "cache") == []
