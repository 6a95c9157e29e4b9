"""The model registry: look-up order, offline failure, download, trust-on-first-use hashes.

No test touches the network: downloads come from a tiny HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from spinepose_sports.pose import (
    ModelDownloadError,
    ModelFile,
    ModelHashMismatchError,
    ModelRegistryError,
    list_models,
    registry,
    resolve_model,
)

M_FILE = "spinepose-m_32xb256-10e_simspine-256x192.onnx"
ENV_VARS = (
    registry.ENV_MODEL_DIR, registry.ENV_CACHE_DIR, registry.ENV_OFFLINE,
    registry.ENV_SHA256, registry.ENV_BASE_URL,
)  # fmt: skip


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No registry variables set except an empty cache in tmp; returns the cache folder."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv(registry.ENV_CACHE_DIR, str(cache))
    return cache


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``files`` with an ETag and byte ranges (``If-Range`` honoured); names in
    ``truncate`` lose the second half of their body; ``delay_s`` between 64 KiB chunks."""

    files: ClassVar[dict[str, bytes]] = {}
    truncate: ClassVar[set[str]] = set()
    requests: ClassVar[list[tuple[str, str | None]]] = []
    delay_s: ClassVar[float] = 0.0

    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        body = self.files.get(name)
        self.requests.append((name, self.headers.get("Range")))
        if body is None:
            self.send_error(404)
            return
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        start, wanted = 0, self.headers.get("Range")
        if wanted and self.headers.get("If-Range", etag) == etag:
            start = int(wanted.split("=")[1].split("-")[0])
            if start >= len(body):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.send_header("ETag", etag)
        self.end_headers()
        sent = body[start:]
        if name in self.truncate:
            sent = sent[: len(sent) // 2]
        for i in range(0, len(sent), 1 << 16):
            self.wfile.write(sent[i : i + (1 << 16)])
            time.sleep(self.delay_s)
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Handler]]:
    """A local server for the official file names; the registry's base URL points at it."""
    handler = type("Handler", (_Handler,), {"files": {}, "truncate": set(), "requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv(registry.ENV_BASE_URL, f"http://127.0.0.1:{httpd.server_port}/")
    yield handler
    httpd.shutdown()
    httpd.server_close()


def _names(folder: Path) -> list[str]:
    """Files in ``folder`` except the download locks."""
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


def test_registry_entries(clean_env: Path) -> None:
    rows = list_models()
    assert {(r["size"], r["version"]) for r in rows} == {
        ("s", "v2"), ("m", "v2"), ("l", "v2"), ("s", "v1"), ("m", "v1"), ("l", "v1"), ("x", "v1"),
    }  # fmt: skip
    default = [r for r in rows if r["default"]]
    assert len(default) == 1 and default[0]["file"] == M_FILE
    x = next(r for r in rows if r["size"] == "x")
    assert x["file"] == "spinepose-x_32xb128-10e_spinetrack-384x288.onnx"
    assert x["input_size"] == (288, 384)
    for r in rows:
        assert r["url"] == f"https://huggingface.co/dfki-av/spinepose/resolve/main/{r['file']}"
    assert registry.lookup("small", "spinetrack").file == (
        "spinepose-s_32xb256-10e_spinetrack-256x192.onnx"
    )
    with pytest.raises(ModelRegistryError, match="x exists for v1 only"):
        registry.lookup("x", "v2")
    with pytest.raises(ModelRegistryError, match="unknown SpinePose version"):
        registry.lookup("m", "v3")


def test_offline_fails_fast_with_a_clear_message(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(registry.ENV_OFFLINE, "1")
    start = time.perf_counter()
    with pytest.raises(ModelDownloadError) as info:
        resolve_model("m")
    assert time.perf_counter() - start < 5.0
    message = str(info.value)
    assert f"https://huggingface.co/dfki-av/spinepose/resolve/main/{M_FILE}" in message
    assert "CC-BY-NC-4.0" in message and "non-commercial" in message
    for option in (registry.ENV_MODEL_DIR, "--pose-model", "spinepose-sports models download"):
        assert option in message
    with pytest.raises(ModelDownloadError, match="downloads are disabled"):
        monkeypatch.delenv(registry.ENV_OFFLINE)
        resolve_model("m", download=False)


def test_unreachable_server_fails_fast(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(registry.ENV_BASE_URL, f"http://127.0.0.1:{port}")
    start = time.perf_counter()
    with pytest.raises(ModelDownloadError, match="network error"):
        resolve_model("s", progress=False)
    assert time.perf_counter() - start < 5.0
    assert _names(clean_env) == []  # no partial file for a download that never started


def test_model_dir_then_cache_then_path(
    clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(registry.ENV_OFFLINE, "1")
    folder = tmp_path / "manual"
    folder.mkdir()
    (folder / M_FILE).write_bytes(b"manual")
    clean_env.mkdir(parents=True)
    (clean_env / M_FILE).write_bytes(b"cached")
    got = resolve_model("medium", model_dir=folder)
    assert got.source == "model_dir" and got.path == folder / M_FILE
    assert got.sha256 == hashlib.sha256(b"manual").hexdigest()
    monkeypatch.setenv(registry.ENV_MODEL_DIR, str(folder))
    assert resolve_model("m").source == "model_dir"
    monkeypatch.setenv(registry.ENV_MODEL_DIR, str(tmp_path / "empty"))
    cached = resolve_model("m")
    assert cached.source == "cache" and cached.path == clean_env / M_FILE
    # the first sight of a cached file is recorded (trust on first use)
    hashes = json.loads((clean_env / registry.HASHES_FILE).read_text())
    assert hashes[M_FILE]["sha256"] == hashlib.sha256(b"cached").hexdigest()
    user = tmp_path / "mine.onnx"
    user.write_bytes(b"user")
    own = resolve_model(str(user))
    assert isinstance(own, ModelFile) and own.source == "path" and own.url is None
    assert own.sha256 == hashlib.sha256(b"user").hexdigest()
    with pytest.raises(ModelRegistryError, match="no such file"):
        resolve_model(str(tmp_path / "missing.onnx"))
    with pytest.raises(ModelHashMismatchError, match="differs"):
        resolve_model(str(user), expected_sha256="0" * 64)


def test_download_records_and_verifies(
    server: type[_Handler], clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.files[M_FILE] = b"first release" * 1000
    got = resolve_model("m")
    assert got.source == "download" and got.path.read_bytes() == server.files[M_FILE]
    assert "127.0.0.1" in (got.url or "")
    assert M_FILE in capsys.readouterr().err  # the progress bar names the file
    hashes = json.loads((clean_env / registry.HASHES_FILE).read_text())
    assert hashes[M_FILE]["sha256"] == got.sha256
    assert resolve_model("m", progress=False).source == "cache"
    # a changed upstream file no longer matches the record: refused, nothing left behind
    got.path.unlink()
    server.files[M_FILE] = b"tampered" * 1000
    with pytest.raises(ModelHashMismatchError, match="recorded"):
        resolve_model("m", progress=False)
    assert _names(clean_env) == [registry.HASHES_FILE]
    # a user's pin wins over the record
    pin = hashlib.sha256(server.files[M_FILE]).hexdigest()
    assert resolve_model("m", expected_sha256=pin, progress=False).sha256 == pin
    assert capsys.readouterr().err == ""


def test_env_pin_and_truncated_download(
    server: type[_Handler], clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "spinepose-s_32xb256-10e_spinetrack-256x192.onnx"
    server.files[name] = b"abc" * 5000
    monkeypatch.setenv(registry.ENV_SHA256, "f" * 64)
    with pytest.raises(ModelHashMismatchError, match=registry.ENV_SHA256):
        resolve_model("s", "v1", progress=False)
    monkeypatch.delenv(registry.ENV_SHA256)
    server.truncate.add(name)
    with pytest.raises(ModelDownloadError, match="truncated"):
        resolve_model("s", "v1", progress=False)
    # nothing under the final name; the partial file waits to be resumed
    assert _names(clean_env) == [f"{name}.part", f"{name}.part.json"]
    with pytest.raises(ModelDownloadError, match="HTTP 404"):
        resolve_model("l", progress=False)
    assert _names(clean_env) == [f"{name}.part", f"{name}.part.json"]


def test_an_interrupted_download_resumes_where_it_stopped(
    server: type[_Handler], clean_env: Path
) -> None:
    name = "spinepose-s_32xb256-10e_simspine-256x192.onnx"
    body = bytes(range(256)) * 4000
    server.files[name] = body
    server.truncate.add(name)
    with pytest.raises(ModelDownloadError, match="truncated"):
        resolve_model("s", progress=False)
    half = (clean_env / f"{name}.part").stat().st_size
    assert 0 < half < len(body)
    server.truncate.clear()
    got = resolve_model("s", progress=False)
    assert got.path.read_bytes() == body and got.source == "download"
    assert server.requests[-1] == (name, f"bytes={half}-")  # only the rest was fetched
    assert _names(clean_env) == [registry.HASHES_FILE, name]
    assert json.loads((clean_env / registry.HASHES_FILE).read_text())[name]["sha256"] == (
        hashlib.sha256(body).hexdigest()
    )


def test_a_changed_file_is_never_spliced_onto_a_partial_one(
    server: type[_Handler], clean_env: Path
) -> None:
    name = "spinepose-s_32xb256-10e_simspine-256x192.onnx"
    server.files[name] = b"A" * 200_000
    server.truncate.add(name)
    with pytest.raises(ModelDownloadError, match="truncated"):
        resolve_model("s", progress=False)
    server.truncate.clear()
    server.files[name] = b"B" * 300_000  # a new release meanwhile: If-Range says so
    got = resolve_model("s", progress=False)
    assert got.path.read_bytes() == b"B" * 300_000


def test_a_corrupted_cache_file_is_replaced_or_reported(
    server: type[_Handler], clean_env: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = b"weights" * 20_000
    server.files[M_FILE] = body
    path = resolve_model("m", progress=False).path
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF  # one flipped byte on disk
    path.write_bytes(bytes(data))
    monkeypatch.setenv(registry.ENV_OFFLINE, "1")  # offline: reported, file left as is
    with pytest.raises(ModelHashMismatchError, match="delete it"):
        resolve_model("m", progress=False)
    monkeypatch.delenv(registry.ENV_OFFLINE)
    got = resolve_model("m", progress=False)  # online: detected, downloaded again
    assert got.path.read_bytes() == body and got.source == "download"
    assert "corrupt" in capsys.readouterr().err
    # a half-written file under the final name (copied by hand) is caught the same way
    path.write_bytes(body[: len(body) // 2])
    assert resolve_model("m", progress=False).path.read_bytes() == body


def test_two_processes_downloading_at_once_end_with_one_verified_file(
    server: type[_Handler], clean_env: Path
) -> None:
    body = bytes(range(251)) * 16_000  # 4 MB in 64 KiB chunks 50 ms apart: ~3 s
    server.files[M_FILE] = body
    server.delay_s = 0.05
    code = ("from spinepose_sports.pose import resolve_model; "
            "print(resolve_model('m', progress=False).sha256)")

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    procs = [start()]
    deadline = time.monotonic() + 60
    while not (clean_env / f"{M_FILE}.part").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    procs.append(start())  # while the first one is downloading
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    expected = hashlib.sha256(body).hexdigest()
    assert [o[0].strip() for o in outs] == [expected, expected]
    assert [r for r in server.requests if r[0] == M_FILE] == [(M_FILE, None)]  # once
    assert "waiting for another process" in outs[1][1]
    assert _names(clean_env) == [registry.HASHES_FILE, M_FILE]
    assert (clean_env / M_FILE).read_bytes() == body


def test_list_models_shows_local_copies(clean_env: Path) -> None:
    clean_env.mkdir(parents=True)
    (clean_env / M_FILE).write_bytes(b"x")
    rows = {(r["size"], r["version"]): r for r in list_models()}
    assert rows[("m", "v2")]["cached"] == str(clean_env / M_FILE)
    assert rows[("s", "v2")]["cached"] is None
    assert rows[("m", "v2")]["licence"] == "CC-BY-NC-4.0"
