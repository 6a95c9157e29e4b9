"""The model registry: look-up order, offline failure, download, trust-on-first-use hashes.

No test touches the network: downloads come from a tiny HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import http.server
import json
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
    files: ClassVar[dict[str, bytes]] = {}
    truncate: ClassVar[set[str]] = set()

    def do_GET(self) -> None:
        body = self.files.get(self.path.lstrip("/"))
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        sent = body[: len(body) // 2] if self.path.lstrip("/") in self.truncate else body
        self.wfile.write(sent)
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Handler]]:
    """A local server for the official file names; the registry's base URL points at it."""
    handler = type("Handler", (_Handler,), {"files": {}, "truncate": set()})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv(registry.ENV_BASE_URL, f"http://127.0.0.1:{httpd.server_port}/")
    yield handler
    httpd.shutdown()
    httpd.server_close()


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
    assert not any(clean_env.glob("*.onnx*"))


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
    assert sorted(p.name for p in clean_env.iterdir()) == [registry.HASHES_FILE]
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
    assert not clean_env.exists() or not any(clean_env.iterdir())
    with pytest.raises(ModelDownloadError, match="HTTP 404"):
        resolve_model("l", progress=False)
    assert not clean_env.exists() or not any(clean_env.iterdir())


def test_list_models_shows_local_copies(clean_env: Path) -> None:
    clean_env.mkdir(parents=True)
    (clean_env / M_FILE).write_bytes(b"x")
    rows = {(r["size"], r["version"]): r for r in list_models()}
    assert rows[("m", "v2")]["cached"] == str(clean_env / M_FILE)
    assert rows[("s", "v2")]["cached"] is None
    assert rows[("m", "v2")]["licence"] == "CC-BY-NC-4.0"
