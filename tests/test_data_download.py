"""Downloading against a real HTTP server on the loopback interface (127.0.0.1 only).

The server serves a small synthetic dataset and can misbehave per file: answer 404,
serve corrupted bytes, or announce the full length and hang up half-way. The catalog
entry is pointed at it, so the code under test is exactly what runs for real mirrors.
"""

import dataclasses
import gzip
import hashlib
import http.server
import io
import threading

import pytest

import xprop.data
from idxfiles import NAMES, idx_bytes, images_and_labels
from xprop.data import DatasetNotFoundError, load_dataset
from xprop.data.catalog import ROLES, RemoteFile
from xprop.data.download import fetch


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.files, self.faults, self.requests = {}, {}, []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        server.requests.append(self.path)
        body, fault = server.files.get(self.path), server.faults.get(self.path)
        if body is None or fault == "404":
            self.send_error(404)
            return
        if fault == "corrupt":
            body = body[:100] + bytes([body[100] ^ 0xFF]) + body[101:]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault == "interrupt":
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    with Server() as httpd:
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        thread.start()
        yield httpd
        httpd.shutdown()


@pytest.fixture
def remote(server, monkeypatch, tmp_path):
    """fashion-mnist served from two loopback mirrors, its other places empty."""
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    train, test = images_and_labels(300, 0), images_and_labels(40, 1)
    arrays = dict(zip(ROLES, (*train, *test)))
    files = {}
    for role in ROLES:
        body = gzip.compress(idx_bytes(arrays[role]), mtime=0)
        name = NAMES[role] + ".gz"
        files[role] = RemoteFile(name, hashlib.sha256(body).hexdigest(), len(body))
        for mirror in ("a", "b"):
            server.files[f"/{mirror}/{name}"] = body
    spec = dataclasses.replace(xprop.data.DATASETS["fashion-mnist"], files=files, system_dirs=(),
                               mirrors=(f"{server.url}/a/", f"{server.url}/b/"))
    monkeypatch.setitem(xprop.data.DATASETS, "fashion-mnist", spec)
    return spec


def cache_of(tmp_path):
    return tmp_path / "cache" / "xprop" / "fashion-mnist"


def load(tmp_path, log=None):
    return load_dataset("fashion-mnist", env={"XDG_CACHE_HOME": str(tmp_path / "cache")},
                        validation_size=50, log=log)


def test_downloads_into_the_cache_once(tmp_path, server, remote):
    log = io.StringIO()
    data = load(tmp_path, log)
    assert data.source == str(cache_of(tmp_path))
    assert (len(data.training), len(data.validation), len(data.test)) == (250, 50, 40)
    assert sorted(p.name for p in cache_of(tmp_path).iterdir()) == sorted(f.name for f in remote.files.values())
    assert len(server.requests) == 4 and all(r.startswith("/a/") for r in server.requests)
    assert "downloading 4 files" in log.getvalue() and f"{server.url}/a/train-images-idx3-ubyte.gz" in log.getvalue()
    load(tmp_path)
    assert len(server.requests) == 4  # the second load reads the cache


def test_a_corrupted_file_is_refused_and_the_next_mirror_used(tmp_path, server, remote):
    server.faults["/a/train-images-idx3-ubyte.gz"] = "corrupt"
    log = io.StringIO()
    data = load(tmp_path, log)
    assert len(data.test) == 40
    assert "/b/train-images-idx3-ubyte.gz" in server.requests
    assert "checksum mismatch" in log.getvalue()


def test_an_interrupted_download_leaves_nothing_behind(tmp_path, server, remote):
    for mirror in ("a", "b"):
        server.faults[f"/{mirror}/t10k-images-idx3-ubyte.gz"] = "interrupt"
    with pytest.raises(DatasetNotFoundError) as caught:
        load(tmp_path)
    size = remote.files["test_images"].size
    assert f"t10k-images-idx3-ubyte.gz: interrupted: received {size // 2:,} of {size:,} bytes" in str(caught.value)
    left = sorted(p.name for p in cache_of(tmp_path).iterdir())
    assert left == sorted(f.name for r, f in remote.files.items() if r != "test_images")  # no partial or temp file
    server.faults.clear()
    assert len(load(tmp_path).test) == 40  # the next run fetches only what is missing
    assert server.requests[-1] == "/a/t10k-images-idx3-ubyte.gz"


def test_corrupted_everywhere_gives_the_not_found_message(tmp_path, server, remote):
    for mirror in ("a", "b"):
        server.faults[f"/{mirror}/train-labels-idx1-ubyte.gz"] = "corrupt"
    with pytest.raises(DatasetNotFoundError) as caught:
        load(tmp_path)
    message = str(caught.value)
    assert "was not found and could not be downloaded" in message
    assert f"Tried to download into {cache_of(tmp_path)}:" in message
    assert message.count("train-labels-idx1-ubyte.gz: checksum mismatch") == 2
    assert "Fix it in one of these ways:" in message
    assert not (cache_of(tmp_path) / "train-labels-idx1-ubyte.gz").exists()


def test_missing_on_the_first_mirror(tmp_path, server, remote):
    server.faults["/a/t10k-labels-idx1-ubyte.gz"] = "404"
    log = io.StringIO()
    load(tmp_path, log)
    assert "HTTP 404" in log.getvalue()


def test_an_unreachable_mirror_is_reported(tmp_path, remote):
    with Server() as closed:
        dead = closed.url  # bound, then closed: nothing listens there any more
    expected = remote.files["test_labels"]
    with pytest.raises(xprop.data.DownloadError, match="cannot connect"):
        fetch(f"{dead}/x", tmp_path / "x", expected, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_a_wrong_size_with_the_right_length_header_is_refused(tmp_path, server, remote):
    expected = dataclasses.replace(remote.files["test_labels"], size=remote.files["test_labels"].size + 1)
    with pytest.raises(xprop.data.DownloadError, match="wrong size"):
        fetch(f"{server.url}/a/{expected.name}", tmp_path / "x", expected)
    assert list(tmp_path.iterdir()) == []


def test_the_download_shows_a_progress_bar_on_a_terminal(tmp_path, server, remote):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    log = Terminal()
    expected = remote.files["train_images"]
    fetch(f"{server.url}/a/{expected.name}", tmp_path / expected.name, expected, log=log)
    assert f"{expected.name}  [" in log.getvalue() and "100%" in log.getvalue()
    assert hashlib.sha256((tmp_path / expected.name).read_bytes()).hexdigest() == expected.sha256


def test_an_unreachable_mirror_is_tried_once(tmp_path, server, remote, monkeypatch):
    with Server() as closed:
        dead = f"{closed.url}/a/"
    monkeypatch.setitem(xprop.data.DATASETS, "fashion-mnist",
                        dataclasses.replace(remote, mirrors=(dead, f"{server.url}/b/")))
    log = io.StringIO()
    assert len(load(tmp_path, log).test) == 40
    assert log.getvalue().count(f"xprop: downloading {dead}") == 1
    assert server.requests == [f"/b/{remote.files[r].name}" for r in ROLES]


def test_offline_every_mirror_is_tried_once(tmp_path, remote, monkeypatch):
    dead = []
    for _ in range(2):
        with Server() as closed:
            dead.append(f"{closed.url}/")
    monkeypatch.setitem(xprop.data.DATASETS, "fashion-mnist", dataclasses.replace(remote, mirrors=tuple(dead)))
    with pytest.raises(DatasetNotFoundError) as caught:
        load(tmp_path)
    failures = [line for line in str(caught.value).splitlines() if "cannot connect" in line]
    assert [line.split("/train-")[0].strip() for line in failures] == [d.rstrip("/") for d in dead]
