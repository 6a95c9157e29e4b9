"""The stage cache: detection, tracking and pose results kept per video, reused when only
later stages' settings change.

What is cached is the streaming pass's output, *before* any offline track processing:
the online tracker's poses and boxes (``tracker_poses.nc``, ``tracker_boxes.nc``) and the
per-track torso colour descriptors that stitching needs (``appearance.nc``).  Everything
after it (stitching, filtering, athlete selection and names, smoothing, kinematics,
dashboard, overlay) re-runs from the cache without loading a model, so changing any
``[tracks]``, ``[smoothing]``, ``[kinematics]`` or ``[outputs]`` setting costs no model
time.

An entry is keyed on

* the video's content (sha256 of the file, not its path or name), and
* :func:`stage_key`: every setting of the ``[input]``, ``[detector]``, ``[pose]`` and
  ``[performance]`` sections (the time range, the detector and tracker, the pose model and
  ``min_keypoint_confidence``, which decides which keypoints the torso colours use), the
  sha256 of model files given as paths, the package version and :data:`CACHE_FORMAT`.

Layout: ``<cache_dir>/<video sha256[:24]>-<stage key[:24]>/`` holding the three netCDF
files and ``entry.json`` (the full keys and the models' description).  An entry is built
in ``<cache_dir>/.incoming/<host>-<pid>-<random>/`` and renamed into place in one step
when complete, so a killed run never leaves a half entry where a reader looks; when two
workers make the same entry at once the first rename wins and the other is discarded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xarray as xr

from .. import __version__
from ..config import AnalyzeConfig
from ..data import load_netcdf, save_netcdf

#: Bump when the cached files change meaning; old entries are then ignored.
CACHE_FORMAT = 1
#: The sections whose settings the cached stages depend on.
STAGE_SECTIONS = ("input", "detector", "pose", "performance")
#: Settings that may name a local model file: its content joins the key.
_MODEL_FILES = (("detector", "detector_weights"), ("pose", "pose_model"))
ENTRY_FILE = "entry.json"
INCOMING = ".incoming"
FILES = {"poses": "tracker_poses.nc", "boxes": "tracker_boxes.nc",
         "appearance": "appearance.nc"}


@dataclass
class RawResults:
    """The streaming pass's output for one video: ``poses`` and ``boxes`` per online
    tracker id, ``appearance (time, feature, individual)`` (None without tracks), the
    loaded models' description, and how the cache served it (``cache``)."""

    poses: xr.Dataset
    boxes: xr.Dataset
    appearance: xr.DataArray | None
    models: dict[str, Any] | None
    cache: dict[str, Any] = field(default_factory=dict)


_file_digests: dict[tuple[str, int, int], str] = {}


def _file_digest(path: Path) -> str:
    """sha256 of a model file, remembered per (path, size, mtime) in this process."""
    from ..results import file_sha256

    stat = path.stat()
    memo = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if memo not in _file_digests:
        _file_digests[memo] = file_sha256(path)
    return _file_digests[memo]


def stage_key(config: AnalyzeConfig) -> str:
    """sha256 of everything the detection, tracking and pose stages depend on (besides
    the video's content): see the module doc."""
    tables = config.to_tables(skip_none=False)
    values: dict[str, Any] = {s: tables[s] for s in STAGE_SECTIONS}
    values["model_files"] = {
        name: _file_digest(Path(str(tables[s][name])))
        for s, name in _MODEL_FILES
        if Path(str(tables[s][name])).is_file()
    }
    values["version"] = __version__
    values["format"] = CACHE_FORMAT
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def cache_dir_of(config: AnalyzeConfig) -> Path:
    """The cache folder of ``config``: ``cache_dir``, else ``<output>/.stage_cache``."""
    return Path(config.batch.cache_dir or Path(config.outputs.output) / ".stage_cache")


class StageCache:
    """One cache folder (see the module doc)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def entry_dir(self, video_sha256: str, key: str) -> Path:
        return self.root / f"{video_sha256[:24]}-{key[:24]}"

    def load(self, video_sha256: str, key: str) -> RawResults | None:
        """The entry of this video and key, or None when absent, incomplete or stale."""
        folder = self.entry_dir(video_sha256, key)
        try:
            meta = json.loads((folder / ENTRY_FILE).read_text())
        except (OSError, ValueError):
            return None
        if meta.get("video_sha256") != video_sha256 or meta.get("stage_key") != key:
            return None
        try:
            poses = load_netcdf(folder / FILES["poses"])
            boxes = load_netcdf(folder / FILES["boxes"])
            appearance = None
            if (folder / FILES["appearance"]).is_file():
                appearance = load_netcdf(folder / FILES["appearance"])["appearance"]
        except (OSError, ValueError):
            return None
        return RawResults(poses, boxes, appearance, meta.get("models"))

    def store(self, video_sha256: str, key: str, raw: RawResults, source: Path) -> Path:
        """Write an entry (complete or not at all); returns its folder."""
        final = self.entry_dir(video_sha256, key)
        incoming = self.root / INCOMING / f"{socket.gethostname()}-{os.getpid()}-" \
            f"{uuid.uuid4().hex[:8]}"
        incoming.mkdir(parents=True)
        try:
            save_netcdf(raw.poses, incoming / FILES["poses"])
            save_netcdf(raw.boxes, incoming / FILES["boxes"])
            if raw.appearance is not None:
                save_netcdf(raw.appearance.to_dataset(), incoming / FILES["appearance"])
            meta = {"video_sha256": video_sha256, "stage_key": key, "format": CACHE_FORMAT,
                    "source": str(source), "models": raw.models}
            (incoming / ENTRY_FILE).write_text(json.dumps(meta, indent=2, default=str))
            try:
                os.rename(incoming, final)
            except OSError:
                if not (final / ENTRY_FILE).is_file():  # not a rival's complete entry
                    raise
        finally:
            shutil.rmtree(incoming, ignore_errors=True)
        return final

    def remove_abandoned(self) -> list[Path]:
        """Remove entries being built by processes of this host that no longer run (a
        killed run's leftovers); returns what was removed."""
        removed = []
        host = socket.gethostname()
        for folder in sorted((self.root / INCOMING).glob(f"{host}-*")):
            pid = folder.name[len(host) + 1:].split("-")[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _with_source(raw: RawResults, video_path: Path) -> RawResults:
    """Entries are shared by identical videos: the datasets name this one."""
    for ds in (raw.poses, raw.boxes):
        ds.attrs["source_file"] = str(video_path)
    return raw


def cached_raw_results(
    video_path: Path,
    video_sha256: str,
    config: AnalyzeConfig,
    compute: Callable[[], RawResults],
) -> RawResults:
    """The streaming pass's results of ``video_path``: from the stage cache when it holds
    them, else from ``compute()`` (the models), stored and read back (so that a fresh
    run and a cached one continue from the very same bits).  With ``stage_cache`` off,
    ``compute()`` always."""
    if not config.batch.stage_cache:
        raw = compute()
        raw.cache = {"enabled": False, "hit": False}
        return raw
    cache = StageCache(cache_dir_of(config))
    key = stage_key(config)
    info: dict[str, Any] = {"enabled": True, "stage_key": key,
                            "entry": str(cache.entry_dir(video_sha256, key))}
    found = cache.load(video_sha256, key)
    if found is None:
        cache.store(video_sha256, key, compute(), video_path)
        found = cache.load(video_sha256, key)
        if found is None:
            raise RuntimeError(f"stage cache {cache.root}: the entry just written is unreadable")
        info["hit"] = False
    else:
        info["hit"] = True
    found.cache = info
    return _with_source(found, video_path)


__all__ = [
    "CACHE_FORMAT",
    "STAGE_SECTIONS",
    "RawResults",
    "StageCache",
    "cache_dir_of",
    "cached_raw_results",
    "stage_key",
]
