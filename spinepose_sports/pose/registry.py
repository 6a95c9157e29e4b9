"""The registry of official SpinePose ONNX files: look-up, per-user cache, download.

The official weights (CC-BY-NC-4.0: non-commercial use only) are published on Hugging Face
(design §4).  A size letter resolves to a file in this order:

1. the folder ``model_dir=`` or the environment variable ``SPINEPOSE_SPORTS_MODEL_DIR``
   (files downloaded by hand, used as they are);
2. the per-user cache ``cache_dir=`` / ``SPINEPOSE_SPORTS_CACHE_DIR`` /
   ``platformdirs.user_cache_dir("spinepose-sports")/models``;
3. a download into the cache (:mod:`.download`: one process at a time per file, under a
   file lock; an interrupted download resumes where it stopped; the file gets its name only
   when complete and verified; progress bar on stderr).

Integrity: no sha256 of the official files is published anywhere reachable, so the registry
records the sha256 of the first complete download (or of the first file found in the cache)
in ``hashes.json`` in the cache folder and verifies every later use and download against it
(trust on first use).  A user pins a value with ``expected_sha256=`` or with the environment
variable ``SPINEPOSE_SPORTS_MODEL_SHA256`` (a 64-hex digest; it applies to the model the
process resolves); a pin, or a digest in :data:`MODELS`, takes precedence over the record.
A cached file that no longer matches its pin or record (corrupted on disk) is deleted and
downloaded again when downloads are possible, and reported otherwise; a file in the user's
model folder is never touched, only reported.

``SPINEPOSE_SPORTS_OFFLINE=1`` never touches the network; ``SPINEPOSE_SPORTS_MODEL_BASE_URL``
replaces the Hugging Face base URL (a mirror).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .download import DownloadFailed, download_file, sha256_of

BASE_URL = "https://huggingface.co/dfki-av/spinepose/resolve/main"
LICENCE = "CC-BY-NC-4.0"
DEFAULT_SIZE = "m"
DEFAULT_VERSION = "v2"
#: Seconds allowed to connect and for each read of a download.
DOWNLOAD_TIMEOUT_S = 10.0
HASHES_FILE = "hashes.json"

ENV_MODEL_DIR = "SPINEPOSE_SPORTS_MODEL_DIR"
ENV_CACHE_DIR = "SPINEPOSE_SPORTS_CACHE_DIR"
ENV_OFFLINE = "SPINEPOSE_SPORTS_OFFLINE"
ENV_SHA256 = "SPINEPOSE_SPORTS_MODEL_SHA256"
ENV_BASE_URL = "SPINEPOSE_SPORTS_MODEL_BASE_URL"

_VERSION_ALIASES = {
    "v2": "v2", "latest": "v2", "simspine": "v2",
    "v1": "v1", "spinetrack": "v1",
}  # fmt: skip
_SIZE_ALIASES = {
    "s": "s", "small": "s", "m": "m", "medium": "m",
    "l": "l", "large": "l", "x": "x", "xlarge": "x",
}  # fmt: skip
_DATASET = {"v2": "simspine", "v1": "spinetrack"}
#: Paper figures per size: params (millions), GFLOPs (as reported), spine AP (v1).
_PAPER = {
    "s": (5.98, 0.72, 89.6),
    "m": (14.34, 1.98, 91.4),
    "l": (28.66, 4.22, 91.0),
    "x": (50.69, 17.37, 89.3),
}


@dataclass(frozen=True)
class ModelSpec:
    """One official file: size letter, version, file name, input ``(w, h)`` px, sha256."""

    size: str
    version: str
    file: str
    input_wh: tuple[int, int]
    sha256: str | None = None  # not published anywhere reachable: trust on first use

    @property
    def url(self) -> str:
        return f"{base_url()}/{self.file}"


def _spec(size: str, version: str) -> ModelSpec:
    dataset = _DATASET[version]
    if size == "x":
        name = f"spinepose-x_32xb128-10e_{dataset}-384x288.onnx"
        return ModelSpec(size, version, name, (288, 384))
    name = f"spinepose-{size}_32xb256-10e_{dataset}-256x192.onnx"
    return ModelSpec(size, version, name, (192, 256))


#: ``(size, version) -> ModelSpec`` for every official file (x exists for v1 only).
MODELS: dict[tuple[str, str], ModelSpec] = {
    (size, version): _spec(size, version)
    for version in ("v2", "v1")
    for size in ("s", "m", "l", "x")
    if not (size == "x" and version == "v2")
}


class ModelRegistryError(RuntimeError):
    """A model could not be resolved (unknown spec, missing file, failed check)."""


class ModelDownloadError(ModelRegistryError):
    """The weights are not available locally and could not be downloaded."""


class ModelHashMismatchError(ModelRegistryError):
    """A model file's sha256 differs from the pinned or recorded value."""


@dataclass(frozen=True)
class ModelFile:
    """A resolved model file.

    path: the ``.onnx`` file; sha256: its hex digest; name: the file name; url: where the
    official file comes from (None for a user's file); size: ``s/m/l/x`` or None; version:
    ``v1``/``v2`` or None; source: ``"path"``, ``"model_dir"``, ``"cache"`` or ``"download"``.
    """

    path: Path
    sha256: str
    name: str
    url: str | None
    size: str | None
    version: str | None
    source: str = "path"


def base_url() -> str:
    """The download base URL (``SPINEPOSE_SPORTS_MODEL_BASE_URL`` or Hugging Face)."""
    return os.environ.get(ENV_BASE_URL, "").rstrip("/") or BASE_URL


def default_cache_dir() -> Path:
    """``SPINEPOSE_SPORTS_CACHE_DIR`` or ``<user cache>/spinepose-sports/models``."""
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("spinepose-sports")) / "models"


def is_offline() -> bool:
    """True when ``SPINEPOSE_SPORTS_OFFLINE`` is set to a true value."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in {"1", "true", "yes", "on"}


def lookup(size: str, version: str = DEFAULT_VERSION) -> ModelSpec:
    """The registry entry of a size letter (or name) and version; clear error if none."""
    s = _SIZE_ALIASES.get(str(size).strip().lower())
    v = _VERSION_ALIASES.get(str(version).strip().lower())
    if v is None:
        raise ModelRegistryError(f"unknown SpinePose version {version!r}: expected v2 or v1")
    if s is None:
        raise ModelRegistryError(
            f"unknown pose model {size!r}: expected a size (s, m, l; x for v1) "
            "or a path to an .onnx file"
        )
    spec = MODELS.get((s, v))
    if spec is None:
        raise ModelRegistryError(f"SpinePose {v} has no size {s!r} (x exists for v1 only)")
    return spec


# --------------------------------------------------------------------------------------
# Hash records (trust on first use)
# --------------------------------------------------------------------------------------


def _read_hashes(cache_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((cache_dir / HASHES_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _record_hash(cache_dir: Path, name: str, sha256: str, url: str | None) -> None:
    data = _read_hashes(cache_dir)
    if name in data:
        return
    data[name] = {"sha256": sha256, "url": url, "recorded": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / (HASHES_FILE + ".part")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    tmp.replace(cache_dir / HASHES_FILE)


def _pinned(expected_sha256: str | None, spec: ModelSpec | None) -> tuple[str | None, str]:
    """The digest a file must have before any record, and where that demand comes from."""
    if expected_sha256:
        return expected_sha256.strip().lower(), "expected_sha256="
    env = os.environ.get(ENV_SHA256, "").strip().lower()
    if env:
        return env, ENV_SHA256
    if spec is not None and spec.sha256:
        return spec.sha256, "the registry"
    return None, ""


def _verify(path: Path, actual: str, expected: str | None, origin: str) -> None:
    if expected is not None and actual != expected:
        raise ModelHashMismatchError(
            f"{path}: sha256 {actual} differs from {expected} ({origin}). The file may be "
            "corrupt or a different release: delete it to download it again, or pin the new "
            f"digest with {ENV_SHA256} / expected_sha256= if you trust it."
        )


# --------------------------------------------------------------------------------------
# Resolution
# --------------------------------------------------------------------------------------


def resolve_model(
    spec: str | os.PathLike[str],
    version: str = DEFAULT_VERSION,
    *,
    model_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    expected_sha256: str | None = None,
    progress: bool = True,
) -> ModelFile:
    """Find (or download) a SpinePose ONNX file.

    Args:
        spec: a size (``s``, ``m``, ``l``; ``x`` for v1; or ``small`` ...) or the path of an
            ``.onnx`` file, used as is.
        version: ``v2`` (``simspine``, default, also ``latest``) or ``v1`` (``spinetrack``).
        model_dir: folder of files downloaded by hand (default: ``SPINEPOSE_SPORTS_MODEL_DIR``).
        cache_dir: per-user cache folder (default: :func:`default_cache_dir`).
        download: allow a download when the file is nowhere local.
        expected_sha256: pin the file's digest (default: ``SPINEPOSE_SPORTS_MODEL_SHA256``).
        progress: show a download progress bar on stderr.

    Returns:
        The resolved :class:`ModelFile`.

    Raises:
        ModelDownloadError: not local and not downloadable (offline, no network, HTTP error).
        ModelHashMismatchError: the file differs from the pinned or recorded digest.
        ModelRegistryError: unknown size/version, or a path that does not exist.
    """
    text = os.fspath(spec)
    if text.strip().lower() not in _SIZE_ALIASES:
        return _resolve_path(Path(text).expanduser(), expected_sha256)
    entry = lookup(text, version)
    pin, origin = _pinned(expected_sha256, entry)

    folder = model_dir if model_dir is not None else os.environ.get(ENV_MODEL_DIR)
    if folder:
        candidate = Path(folder).expanduser() / entry.file
        if candidate.is_file():
            digest = sha256_of(candidate)
            _verify(candidate, digest, pin, origin)
            return _model_file(candidate, digest, entry, "model_dir")

    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    if pin is None:
        pin = _read_hashes(cache).get(entry.file, {}).get("sha256")
        origin = f"recorded in {cache / HASHES_FILE} when first seen"
    cached = cache / entry.file
    can_download = download and not is_offline()
    if cached.is_file():
        digest = sha256_of(cached)
        if pin is None or digest == pin or not can_download:
            _verify(cached, digest, pin, origin)  # corrupt and offline: reported
            _record_hash(cache, entry.file, digest, entry.url)
            return _model_file(cached, digest, entry, "cache")
        print(f"warning: {cached} is corrupt (sha256 {digest[:12]}..., expected "
              f"{pin[:12]}... {origin}): downloading it again", file=sys.stderr)

    if is_offline():
        raise ModelDownloadError(_failure_message(entry, cache, f"{ENV_OFFLINE} is set"))
    if not download:
        raise ModelDownloadError(_failure_message(entry, cache, "downloads are disabled"))
    try:
        digest = download_file(
            entry.url, cached, verify=lambda d: _verify(cached, d, pin, origin),
            timeout_s=DOWNLOAD_TIMEOUT_S, progress=progress,
        )
    except DownloadFailed as exc:
        raise ModelDownloadError(_failure_message(entry, cache, str(exc))) from exc
    _record_hash(cache, entry.file, digest, entry.url)
    return _model_file(cached, digest, entry, "download")


def _model_file(path: Path, digest: str, entry: ModelSpec, source: str) -> ModelFile:
    return ModelFile(path, digest, entry.file, entry.url, entry.size, entry.version, source)


def _resolve_path(path: Path, expected_sha256: str | None) -> ModelFile:
    if not path.is_file():
        raise ModelRegistryError(
            f"{path}: no such file. Expected a pose model size (s, m, l; x for v1) or the "
            "path of an existing .onnx file."
        )
    digest = sha256_of(path)
    pin, origin = _pinned(expected_sha256, None)
    _verify(path, digest, pin, origin)
    return ModelFile(path.resolve(), digest, path.name, None, None, None, "path")


def _failure_message(entry: ModelSpec, cache: Path, reason: str) -> str:
    return (
        f"Could not get the SpinePose weights {entry.file} ({reason}).\n"
        f"  URL: {entry.url}\n"
        f"The weights are published by DFKI under {LICENCE}: non-commercial use only.\n"
        "Offline options:\n"
        f"  - download the file by hand from the URL above into a folder and set "
        f"{ENV_MODEL_DIR} to that folder;\n"
        "  - pass the path of an .onnx file with --pose-model;\n"
        "  - run `spinepose-sports models download` on a machine with internet access and "
        f"copy its cache folder to {cache}."
    )


def list_models(
    *,
    model_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> list[dict[str, Any]]:
    """One row per official file, for ``spinepose-sports models list``.

    Keys: ``size``, ``version``, ``dataset``, ``file``, ``url``, ``input_size`` (``(w, h)``
    px), ``params_m``, ``gflops``, ``spine_ap_v1`` (paper figures), ``default`` (bool),
    ``licence``, ``cached`` (path of a local copy in the model folder or the cache, or None;
    not hashed here).
    """
    folder = model_dir if model_dir is not None else os.environ.get(ENV_MODEL_DIR)
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    rows = []
    for (size, version), spec in MODELS.items():
        places = [Path(folder).expanduser() / spec.file] if folder else []
        places.append(cache / spec.file)
        local = next((str(p) for p in places if p.is_file()), None)
        params, gflops, ap = _PAPER[size]
        rows.append({
            "size": size, "version": version, "dataset": _DATASET[version],
            "file": spec.file, "url": spec.url, "input_size": spec.input_wh,
            "params_m": params, "gflops": gflops, "spine_ap_v1": ap,
            "default": size == DEFAULT_SIZE and version == DEFAULT_VERSION,
            "licence": LICENCE, "cached": local,
        })  # fmt: skip
    return rows
