"""The data model: per-frame containers, whole-video xarray datasets, load and save.

Whole-video results follow the ``movement`` schema (singular dim names):

* poses: ``position (time, space, keypoint, individual)`` float32 px, NaN where missing;
  ``confidence (time, keypoint, individual)`` float32.
* boxes: ``position (time, space, individual)`` box centroid px, ``shape (time, space,
  individual)`` width and height px, ``confidence (time, individual)``.

Both carry a ``frame`` coordinate along ``time`` (the frame index in the video) and the
attrs listed in :data:`REQUIRED_ATTRS`.  Build them only through :func:`make_poses` and
:func:`make_boxes`, which validate every field.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import xarray as xr

from .interrupts import held_interrupts
from .results import atomic_path
from .skeleton import KEYPOINT_NAMES, NUM_KEYPOINTS

SOURCE_SOFTWARE = "spinepose-sports"
NETCDF_ENGINE: Final = "netcdf4"
REQUIRED_ATTRS = ("fps", "source_file", "frame_width", "frame_height")
CSV_COLUMNS = ("time_s", "frame", "track", "keypoint", "x", "y", "confidence")


class DataModelError(ValueError):
    """A field of a dataset has the wrong shape, dtype or value."""


# --------------------------------------------------------------------------------------
# Per-frame containers (cross the stage contracts)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrameDetections:
    """Tracked boxes of one frame.

    xyxy: ``(n, 4)`` float32 px; confidence: ``(n,)`` float32; track_id: ``(n,)`` int64.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    track_id: np.ndarray

    def __post_init__(self) -> None:
        n = _check_shape("xyxy", self.xyxy, (None, 4))[0]
        _check_shape("confidence", self.confidence, (n,))
        _check_shape("track_id", self.track_id, (n,))

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    @classmethod
    def empty(cls) -> FrameDetections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))


@dataclass(frozen=True)
class FramePoses:
    """Keypoints of the tracked people of one frame.

    xy: ``(n, 37, 2)`` float32 px, NaN where invalid; score: ``(n, 37)`` float32;
    track_id: ``(n,)`` int64.
    """

    xy: np.ndarray
    score: np.ndarray
    track_id: np.ndarray

    def __post_init__(self) -> None:
        n = _check_shape("xy", self.xy, (None, NUM_KEYPOINTS, 2))[0]
        _check_shape("score", self.score, (n, NUM_KEYPOINTS))
        _check_shape("track_id", self.track_id, (n,))

    def __len__(self) -> int:
        return int(self.xy.shape[0])


class RowBlocks:
    """Rows of one shape and dtype, appended a few at a time and held in blocks of
    :attr:`BLOCK_ROWS` rows: no Python object per row (a frame's small arrays cost more
    in object headers than in numbers)."""

    BLOCK_ROWS = 4096

    def __init__(self, row_shape: tuple[int, ...], dtype: Any) -> None:
        self.row_shape = row_shape
        self.dtype = np.dtype(dtype)
        self._blocks: list[np.ndarray] = []
        self._used = 0  # rows used in the last block

    def extend(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows).reshape(-1, *self.row_shape)
        done = 0
        while done < len(rows):
            if not self._blocks or self._used == self.BLOCK_ROWS:
                self._blocks.append(np.empty((self.BLOCK_ROWS, *self.row_shape), self.dtype))
                self._used = 0
            n = min(self.BLOCK_ROWS - self._used, len(rows) - done)
            self._blocks[-1][self._used : self._used + n] = rows[done : done + n]
            self._used += n
            done += n

    def array(self) -> np.ndarray:
        """Every row, ``(n, *row_shape)``."""
        if not self._blocks:
            return np.empty((0, *self.row_shape), self.dtype)
        return np.concatenate([*self._blocks[:-1], self._blocks[-1][: self._used]])


class TrackAccumulator:
    """Collects per-frame, per-track results while a video streams.

    Memory grows by the small per-frame results only (boxes and keypoints, as rows of
    :class:`RowBlocks`), never by frames.  :meth:`to_poses` and :meth:`to_boxes` build
    the whole-video datasets.
    """

    def __init__(self) -> None:
        self.time_s = array("d")
        self.frame_index = array("q")
        # one row per box, one per pose: the frame's row (order of ``add``) and track id
        self._box_rows = RowBlocks((2,), np.int64)
        self._xyxy = RowBlocks((4,), np.float32)
        self._box_confidence = RowBlocks((), np.float32)
        self._pose_rows = RowBlocks((2,), np.int64)
        self._xy = RowBlocks((NUM_KEYPOINTS, 2), np.float32)
        self._score = RowBlocks((NUM_KEYPOINTS,), np.float32)
        self._n_frames = 0

    def add(
        self, time_s: float, frame_index: int, boxes: FrameDetections, poses: FramePoses | None
    ) -> None:
        t = self._n_frames
        self.time_s.append(float(time_s))
        self.frame_index.append(int(frame_index))
        self._box_rows.extend(_rows_of(t, boxes.track_id))
        self._xyxy.extend(boxes.xyxy)
        self._box_confidence.extend(boxes.confidence)
        if poses is not None:
            self._pose_rows.extend(_rows_of(t, poses.track_id))
            self._xy.extend(poses.xy)
            self._score.extend(poses.score)
        self._n_frames += 1

    def __len__(self) -> int:
        return self._n_frames

    def track_ids(self) -> list[int]:
        return [int(t) for t in np.unique(self._box_rows.array()[:, 1])]

    def to_poses(self, **attrs: Any) -> xr.Dataset:
        ids = self.track_ids()
        n_frames = len(self)
        position = np.full((n_frames, 2, NUM_KEYPOINTS, len(ids)), np.nan, np.float32)
        confidence = np.full((n_frames, NUM_KEYPOINTS, len(ids)), np.nan, np.float32)
        rows = self._pose_rows.array()
        t, j = rows[:, 0], np.searchsorted(ids, rows[:, 1])
        position[t, :, :, j] = self._xy.array().transpose(0, 2, 1)
        confidence[t, :, j] = self._score.array()
        return make_poses(
            position,
            confidence,
            np.asarray(self.time_s),
            ids,
            frame_index=np.asarray(self.frame_index),
            **attrs,
        )

    def to_boxes(self, **attrs: Any) -> xr.Dataset:
        ids = self.track_ids()
        n_frames = len(self)
        centroid = np.full((n_frames, 2, len(ids)), np.nan, np.float32)
        shape = np.full((n_frames, 2, len(ids)), np.nan, np.float32)
        confidence = np.full((n_frames, len(ids)), np.nan, np.float32)
        rows = self._box_rows.array()
        t, j = rows[:, 0], np.searchsorted(ids, rows[:, 1])
        xyxy = self._xyxy.array()
        centroid[t, :, j] = (xyxy[:, :2] + xyxy[:, 2:]) / 2
        shape[t, :, j] = xyxy[:, 2:] - xyxy[:, :2]
        confidence[t, j] = self._box_confidence.array()
        return make_boxes(
            centroid,
            shape,
            confidence,
            np.asarray(self.time_s),
            ids,
            frame_index=np.asarray(self.frame_index),
            **attrs,
        )


def _rows_of(frame_row: int, track_id: np.ndarray) -> np.ndarray:
    """``(n, 2)`` int64 rows ``(frame_row, track id)``."""
    ids = np.asarray(track_id, dtype=np.int64).reshape(-1)
    return np.stack([np.full(ids.shape, frame_row, np.int64), ids], axis=1)


# --------------------------------------------------------------------------------------
# Validating constructors
# --------------------------------------------------------------------------------------


def _check_shape(name: str, arr: Any, expected: Sequence[int | None]) -> tuple[int, ...]:
    if not isinstance(arr, np.ndarray):
        raise DataModelError(f"{name}: expected a numpy array, received {type(arr).__name__}")
    if arr.ndim != len(expected) or any(
        e is not None and e != s for e, s in zip(expected, arr.shape, strict=False)
    ):
        shown = tuple("n" if e is None else e for e in expected)
        raise DataModelError(f"{name}: expected shape {shown}, received {arr.shape}")
    return tuple(arr.shape)


def individual_names(track_ids: Sequence[int]) -> list[str]:
    """Track ids ``[1, 4]`` -> individual names ``["track_1", "track_4"]``."""
    return [f"track_{int(t)}" for t in track_ids]


def track_id_of(individual: str) -> int:
    """``"track_4"`` -> ``4``."""
    try:
        return int(str(individual).rsplit("_", 1)[1])
    except (IndexError, ValueError) as exc:
        raise DataModelError(
            f"individual: expected a name like 'track_4', received {individual!r}"
        ) from exc


def _common_coords(
    time_s: np.ndarray, track_ids: Sequence[int], frame_index: np.ndarray | None
) -> tuple[dict[str, Any], int]:
    time_s = np.asarray(time_s, dtype=np.float64)
    n_time = _check_shape("time", time_s, (None,))[0]
    if n_time > 1 and not np.all(np.diff(time_s) > 0):
        raise DataModelError("time: expected strictly increasing seconds")
    if frame_index is None:
        frame_index = np.arange(n_time)
    frame_index = np.asarray(frame_index, dtype=np.int64)
    _check_shape("frame", frame_index, (n_time,))
    if len(set(int(t) for t in track_ids)) != len(track_ids):
        raise DataModelError(f"individual: track ids must be unique, received {list(track_ids)}")
    coords = {
        "time": time_s,
        "space": ["x", "y"],
        "individual": individual_names(track_ids),
        "frame": ("time", frame_index),
    }
    return coords, n_time


def _attrs(ds_type: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
    missing = [a for a in REQUIRED_ATTRS if a not in attrs]
    if missing:
        raise DataModelError(f"attrs: missing {missing}")
    out: dict[str, Any] = {
        "source_software": SOURCE_SOFTWARE,
        "ds_type": ds_type,
        "time_unit": "seconds",
        "log": "[]",
    }
    out.update({k: v for k, v in attrs.items() if v is not None})
    out["fps"] = float(out["fps"])
    out["source_file"] = str(out["source_file"])
    out["frame_width"] = int(out["frame_width"])
    out["frame_height"] = int(out["frame_height"])
    if not isinstance(out["log"], str):
        out["log"] = json.dumps(out["log"])
    return out


def make_poses(
    position: np.ndarray,
    confidence: np.ndarray,
    time_s: np.ndarray,
    track_ids: Sequence[int],
    *,
    frame_index: np.ndarray | None = None,
    **attrs: Any,
) -> xr.Dataset:
    """Build a validated poses dataset.

    position: ``(T, 2, 37, N)`` px; confidence: ``(T, 37, N)``; time_s: ``(T,)`` seconds,
    strictly increasing; track_ids: ``N`` unique integers.  attrs must include ``fps``,
    ``source_file``, ``frame_width`` and ``frame_height``; ``pose_model``,
    ``pose_model_sha256`` and ``log`` (a list or JSON string) are recommended.
    """
    coords, n_time = _common_coords(time_s, track_ids, frame_index)
    n_ind = len(track_ids)
    position = np.asarray(position)
    confidence = np.asarray(confidence)
    _check_shape("position", position, (n_time, 2, NUM_KEYPOINTS, n_ind))
    _check_shape("confidence", confidence, (n_time, NUM_KEYPOINTS, n_ind))
    coords["keypoint"] = list(KEYPOINT_NAMES)
    ds = xr.Dataset(
        {
            "position": (("time", "space", "keypoint", "individual"), position.astype(np.float32)),
            "confidence": (("time", "keypoint", "individual"), confidence.astype(np.float32)),
        },
        coords=coords,
        attrs=_attrs("poses", attrs),
    )
    ds["position"].attrs["units"] = "px"
    return ds


def make_boxes(
    centroid: np.ndarray,
    shape: np.ndarray,
    confidence: np.ndarray,
    time_s: np.ndarray,
    track_ids: Sequence[int],
    *,
    frame_index: np.ndarray | None = None,
    **attrs: Any,
) -> xr.Dataset:
    """Build a validated boxes dataset (movement's bbox schema).

    centroid, shape: ``(T, 2, N)`` px (x, y / width, height); confidence: ``(T, N)``.
    """
    coords, n_time = _common_coords(time_s, track_ids, frame_index)
    n_ind = len(track_ids)
    centroid = np.asarray(centroid)
    shape = np.asarray(shape)
    confidence = np.asarray(confidence)
    _check_shape("position", centroid, (n_time, 2, n_ind))
    _check_shape("shape", shape, (n_time, 2, n_ind))
    _check_shape("confidence", confidence, (n_time, n_ind))
    ds = xr.Dataset(
        {
            "position": (("time", "space", "individual"), centroid.astype(np.float32)),
            "shape": (("time", "space", "individual"), shape.astype(np.float32)),
            "confidence": (("time", "individual"), confidence.astype(np.float32)),
        },
        coords=coords,
        attrs=_attrs("bboxes", attrs),
    )
    ds["position"].attrs["units"] = "px"
    ds["shape"].attrs["units"] = "px"
    return ds


def validate_poses(ds: xr.Dataset) -> xr.Dataset:
    """Check that ``ds`` is a poses dataset of this schema; return it unchanged."""
    for var, dims in (
        ("position", ("time", "space", "keypoint", "individual")),
        ("confidence", ("time", "keypoint", "individual")),
    ):
        if var not in ds:
            raise DataModelError(f"{var}: missing from the dataset")
        if ds[var].dims != dims:
            raise DataModelError(f"{var}: expected dims {dims}, received {ds[var].dims}")
    if list(ds["keypoint"].values) != list(KEYPOINT_NAMES):
        raise DataModelError("keypoint: expected the 37 SpineTrack names in model order")
    if list(ds["space"].values) != ["x", "y"]:
        raise DataModelError(f"space: expected ['x', 'y'], received {list(ds['space'].values)}")
    missing = [a for a in REQUIRED_ATTRS if a not in ds.attrs]
    if missing:
        raise DataModelError(f"attrs: missing {missing}")
    return ds


# --------------------------------------------------------------------------------------
# Transform log
# --------------------------------------------------------------------------------------


def read_log(ds: xr.Dataset) -> list[dict[str, Any]]:
    """The list of transforms recorded in ``ds.attrs["log"]``."""
    raw = ds.attrs.get("log", "[]")
    return list(json.loads(raw)) if isinstance(raw, str) else list(raw)


def append_log(ds: xr.Dataset, operation: str, **parameters: Any) -> xr.Dataset:
    """Return a shallow copy of ``ds`` whose log records ``operation`` and its parameters."""
    entries = read_log(ds)
    entries.append({"operation": operation, "parameters": _jsonable(parameters)})
    out = ds.copy()
    out.attrs = dict(ds.attrs)
    out.attrs["log"] = json.dumps(entries)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


# --------------------------------------------------------------------------------------
# Load and save
# --------------------------------------------------------------------------------------


def save_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` as netCDF 4 (round-trips exactly with :func:`load_netcdf`)."""
    with held_interrupts(), atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine=NETCDF_ENGINE)
    return Path(path)


def load_netcdf(path: str | Path) -> xr.Dataset:
    """Read a dataset written by :func:`save_netcdf` fully into memory."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with held_interrupts(), xr.open_dataset(path, engine=NETCDF_ENGINE) as ds:
        return ds.load()


def load_poses(path: str | Path) -> xr.Dataset:
    """Read and validate a poses dataset."""
    return validate_poses(load_netcdf(path))


def poses_to_table(ds: xr.Dataset) -> Any:
    """Tidy table (pandas DataFrame) of a poses dataset, one row per visible keypoint.

    Columns: ``time_s, frame, track, keypoint, x, y, confidence``; ``track`` is the integer
    track id; points with a NaN coordinate are left out.
    """
    import pandas as pd

    pos = ds["position"].transpose("time", "individual", "keypoint", "space").values
    conf = ds["confidence"].transpose("time", "individual", "keypoint").values
    n_time, n_ind, n_kp, _ = pos.shape
    t_idx, i_idx, k_idx = np.meshgrid(
        np.arange(n_time), np.arange(n_ind), np.arange(n_kp), indexing="ij"
    )
    keep = ~np.isnan(pos[..., 0]) & ~np.isnan(pos[..., 1])
    tracks = np.array([track_id_of(i) for i in ds["individual"].values], dtype=np.int64)
    keypoints = np.asarray(ds["keypoint"].values)
    return pd.DataFrame(
        {
            "time_s": ds["time"].values[t_idx[keep]],
            "frame": ds["frame"].values[t_idx[keep]],
            "track": tracks[i_idx[keep]] if n_ind else np.zeros(0, np.int64),
            "keypoint": keypoints[k_idx[keep]],
            "x": pos[..., 0][keep],
            "y": pos[..., 1][keep],
            "confidence": conf[keep],
        },
        columns=list(CSV_COLUMNS),
    )


#: Track-frames of ``keypoints.csv`` built and written at a time (a block's table holds
#: about 12 KiB per track-frame: 3000 of them are some 35 MiB, whatever the video's length).
CSV_BLOCK_TRACK_FRAMES = 3000


def frames_per_block(block_track_frames: int, n_tracks: int) -> int:
    """Frames of a block of at most ``block_track_frames`` track-frames (at least 1)."""
    return max(1, block_track_frames // max(n_tracks, 1))


def save_keypoints_csv(ds: xr.Dataset, path: str | Path, block_frames: int | None = None
                       ) -> Path:
    """Write the tidy keypoint table of ``ds`` as CSV, ``block_frames`` frames at a time
    (default: :data:`CSV_BLOCK_TRACK_FRAMES` track-frames; rows are ordered by time
    first, so the file is the same; a long video's table is never in memory whole)."""
    if block_frames is None:
        block_frames = frames_per_block(CSV_BLOCK_TRACK_FRAMES, ds.sizes["individual"])
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        for lo in range(0, max(ds.sizes["time"], 1), block_frames):
            part = poses_to_table(ds.isel(time=slice(lo, lo + block_frames)))
            part.to_csv(fh, index=False, header=lo == 0, float_format="%.3f")
    return Path(path)
