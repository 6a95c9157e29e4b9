"""Build the kinematics dataset from a poses dataset (xarray in, xarray out, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..data import append_log, track_id_of, validate_poses
from ..skeleton import MIN_KEYPOINT_CONFIDENCE, SPINE_CHAIN_INDICES, SPINE_LEVELS, SPINE_SEGMENTS
from .angles import time_derivative, to_y_up, unwrap_time
from .cycles import (
    REPETITION_COLUMNS,
    REPETITION_DESCRIPTIONS,
    RepetitionParams,
    describe_repetition,
    find_repetitions,
    phase_labels,
)
from .facing import FrameOrientation, detect_frame_orientations, orientation_vars
from .halpe import BODY_SEGMENTS, JOINTS, halpe_angles
from .quality import QUALITY_CHECKS, quality_flags
from .quantities import (
    DIFFERENTIATED,
    acceleration_name,
    description_of,
    units_of,
    velocity_name,
)
from .spine import DEFAULT_N_ARC, REGIONS, SpineAngles, spine_angles
from .view import ViewArg

KINEMATICS_DS_TYPE = "kinematics"
#: The scalar (time, individual) variables and the label used for them in tables.
SCALAR_LABELS: dict[str, str] = {
    "trunk_flexion": "trunk",
    "trunk_flexion_unwrapped": "trunk",
    "pelvis_tilt": "pelvis",
    "pelvis_tilt_unwrapped": "pelvis",
    "spine_bend": "spine",
}
#: Label dim of each (time, label, individual) variable.
LABEL_DIMS: dict[str, str] = {
    "segment_angle": "segment",
    "segment_angle_unwrapped": "segment",
    "segmental_angle": "level",
    "regional_angle": "region",
    "curvature": "level",
    "flexion_curve": "arc",
    "joint_angle": "joint",
    "halpe_segment_angle": "body_segment",
    "halpe_segment_angle_unwrapped": "body_segment",
}


def _arrays(
    poses: xr.Dataset, min_confidence: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(T, N, 37, 2)`` px with low-confidence points NaN, ``(T, N, 37)`` confidence and
    ``(T, N)`` bool: the track is seen in the frame (any point, whatever its confidence)."""
    xy = poses["position"].transpose("time", "individual", "keypoint", "space").values
    conf = poses["confidence"].transpose("time", "individual", "keypoint").values
    xy = np.asarray(xy, dtype=np.float64).copy()
    conf = np.asarray(conf, dtype=np.float64)
    present = np.asarray(np.isfinite(xy).all(axis=-1).any(axis=-1), dtype=bool)
    if min_confidence is not None:
        with np.errstate(invalid="ignore"):
            xy[~(conf >= min_confidence)] = np.nan
    return xy, conf, present


def _tl(a: np.ndarray) -> np.ndarray:
    """``(T, N, L)`` -> ``(T, L, N)``."""
    return np.moveaxis(a, 1, 2)


def _angle_vars(
    xy_up: np.ndarray, orient: FrameOrientation, n_arc: int
) -> tuple[dict[str, Any], SpineAngles]:
    sp = spine_angles(xy_up, orient.sign, n_arc)
    joints, segs, segs_u = halpe_angles(xy_up, orient.flip)
    tn = ("time", "individual")
    return {
        "segment_angle": (("time", "segment", "individual"), _tl(sp.segment)),
        "segment_angle_unwrapped": (("time", "segment", "individual"), _tl(sp.segment_unwrapped)),
        "segmental_angle": (("time", "level", "individual"), _tl(sp.segmental)),
        "regional_angle": (("time", "region", "individual"), _tl(sp.regional)),
        "spine_bend": (tn, sp.bend),
        "trunk_flexion": (tn, sp.trunk),
        "trunk_flexion_unwrapped": (tn, sp.trunk_unwrapped),
        "pelvis_tilt": (tn, sp.pelvis),
        "pelvis_tilt_unwrapped": (tn, sp.pelvis_unwrapped),
        "flexion_curve": (("time", "arc", "individual"), _tl(sp.flexion_curve)),
        "curvature": (("time", "level", "individual"), _tl(sp.curvature)),
        "spine_length": (tn, sp.spine_length),
        "joint_angle": (("time", "joint", "individual"), _tl(joints)),
        "halpe_segment_angle": (("time", "body_segment", "individual"), _tl(segs)),
        "halpe_segment_angle_unwrapped": (
            ("time", "body_segment", "individual"), _tl(segs_u)),
    }, sp


def _chain_ok(xy: np.ndarray) -> np.ndarray:
    """``(T, N, 10)`` bool: each spine chain point is there (``xy (T, N, 37, 2)``)."""
    return np.isfinite(xy[:, :, list(SPINE_CHAIN_INDICES)]).all(axis=-1)


def _quality_vars(
    chain_ok: np.ndarray, present: np.ndarray, sp: SpineAngles, orient: FrameOrientation
) -> dict[str, Any]:
    flags, valid = quality_flags(
        chain_ok, present, sp.segmental, sp.segment_length, orient.uncertain
    )
    return {
        "valid": (("time", "individual"), valid, {
            "units": "1",
            "description": "the frame passes every quality check (see quality_flags); "
                           "summaries, ROM and repetitions use valid frames only"}),
        "quality_flags": (("time", "quality_check", "individual"), np.moveaxis(flags, 1, 2), {
            "units": "1",
            "description": "failed quality checks per frame: " + ", ".join(QUALITY_CHECKS)}),
    }


def add_derivatives(kin: xr.Dataset, names: Sequence[str] = DIFFERENTIATED) -> xr.Dataset:
    """Add ``<name>_velocity`` (deg/s) and ``<name>_acceleration`` (deg/s^2) variables.

    Derivatives along ``time`` with the real time coordinate (s), NaN-aware (see
    :func:`~spinepose_sports.kinematics.angles.time_derivative`), of the series unwrapped
    over time (so a value crossing ±180 has no 360° jump in its velocity).
    """
    out = kin.copy()
    t = kin["time"].values
    for name in names:
        da = kin[name]
        axis = da.dims.index("time")
        base = unwrap_time(np.moveaxis(da.values, axis, 0))
        vel = np.moveaxis(time_derivative(base, t), 0, axis)
        acc = np.moveaxis(time_derivative(np.moveaxis(vel, axis, 0), t), 0, axis)
        for new, values in ((velocity_name(name), vel), (acceleration_name(name), acc)):
            out[new] = (da.dims, values)
            _set_meta(out, new)
    return out


def _set_meta(ds: xr.Dataset, name: str) -> None:
    ds[name].attrs = {"units": units_of(name), "description": description_of(name)}


def select_signal(kin: xr.Dataset, signal: str) -> xr.DataArray:
    """A ``(time, individual)`` series of the dataset by a short name.

    ``"trunk_flexion"``, ``"pelvis_tilt"``, a region (``"lumbar"``), a joint
    (``"right_knee"``), a Halpe segment (``"trunk"`` -> its segment angle) or
    ``"variable:label"`` (``"segment_angle:spine_02-spine_03"``).
    """
    if ":" in signal:
        var, label = signal.split(":", 1)
        return kin[var].sel({LABEL_DIMS[var]: label})
    if signal in kin and kin[signal].dims == ("time", "individual"):
        return kin[signal]
    for var in ("regional_angle", "joint_angle", "halpe_segment_angle", "segment_angle"):
        dim = LABEL_DIMS[var]
        if var in kin and signal in kin[dim].values:
            return kin[var].sel({dim: signal})
    raise ValueError(f"signal: no series named {signal!r} in the kinematics dataset")


def _track_repetitions(
    kin: xr.Dataset, signal: xr.DataArray, params: RepetitionParams
) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    t = kin["time"].values
    n_t, n_ind = signal.sizes["time"], signal.sizes["individual"]
    numbers = np.zeros((n_t, n_ind), np.int32)
    phases = np.full((n_t, n_ind), "none", dtype=object)
    rows: list[dict[str, Any]] = []
    lumbar_all = kin["regional_angle"].sel(region="lumbar")
    for j, ind in enumerate(kin["individual"].values):
        valid = _valid_of(kin, str(ind))
        values = np.where(valid, signal.sel(individual=ind).values, np.nan)
        reps = find_repetitions(values, t, params)
        lumbar = np.where(valid, lumbar_all.sel(individual=ind).values, np.nan)
        pelvis = np.where(valid, kin["pelvis_tilt"].sel(individual=ind).values, np.nan)
        for k, rep in enumerate(reps, start=1):
            row: dict[str, Any] = {"track": str(ind), "number": k}
            row.update(describe_repetition(rep, t, values, lumbar, pelvis))
            row["n_valid_frames"] = float(valid[rep.start : rep.end + 1].sum())
            rows.append(row)
        numbers[:, j], phases[:, j] = phase_labels(reps, n_t)
    return rows, numbers, phases.astype(str)


def add_repetitions(kin: xr.Dataset, params: RepetitionParams | None = None) -> xr.Dataset:
    """Detect repetitions on ``params.signal`` and store them in the dataset.

    Adds per frame ``repetition (time, individual)`` (1-based number, 0 outside) and
    ``phase (time, individual)`` (``none``, ``to_peak``, ``from_peak``), and one row per
    repetition along dim ``rep``: ``rep_track``, ``rep_number`` and ``rep_<column>`` for
    every column of :data:`~spinepose_sports.kinematics.cycles.REPETITION_COLUMNS`
    (times in s, values in deg).  Replaces any earlier repetition variables.
    """
    params = params or RepetitionParams()
    signal = select_signal(kin, params.signal)
    rows, numbers, phases = _track_repetitions(kin, signal, params)
    old = [v for v in kin.variables if str(v).startswith("rep_")]
    old += [v for v in ("repetition", "phase") if v in kin]
    out = kin.drop_vars(old).drop_dims("rep", errors="ignore")
    for name, value in _repetition_vars(rows, numbers, phases, params.signal).items():
        out[name] = value
    out.attrs["repetition_signal"] = params.signal
    return append_log(out, "add_repetitions", **params.as_dict())


def _valid_of(kin: xr.Dataset, ind: str) -> np.ndarray:
    """``(T,)`` bool validity of one track (all True for datasets without ``valid``)."""
    if "valid" not in kin:
        return np.ones(kin.sizes["time"], bool)
    return np.asarray(kin["valid"].sel(individual=ind).values, dtype=bool)


def _repetition_units(column: str) -> str:
    if column.endswith("_s"):
        return "s"
    return "1" if ("ratio" in column or "share" in column or column.startswith("n_")) else "deg"


def _repetition_vars(
    rows: list[dict[str, Any]], numbers: np.ndarray, phases: np.ndarray, signal: str
) -> dict[str, tuple[Any, ...]]:
    out: dict[str, tuple[Any, ...]] = {
        "repetition": (
            ("time", "individual"),
            numbers,
            {
                "units": "1",
                "description": f"repetition number on {signal} (1-based, 0 outside)",
            },
        ),
        "phase": (
            ("time", "individual"),
            phases,
            {
                "description": "none, to_peak (start to peak) or from_peak (peak to end)",
            },
        ),
        "rep_track": (
            "rep",
            np.array([r["track"] for r in rows], dtype=str),
            {
                "description": "individual of the repetition",
            },
        ),
        "rep_number": (
            "rep",
            np.array([r["number"] for r in rows], dtype=np.int32),
            {
                "units": "1",
                "description": "repetition number within its track (1-based)",
            },
        ),
    }
    for col in REPETITION_COLUMNS:
        values = np.array([r[col] for r in rows], dtype=np.float64)
        attrs = {"units": _repetition_units(col), "description": REPETITION_DESCRIPTIONS[col]}
        out[f"rep_{col}"] = ("rep", values, attrs)
    return out


def detect_view(
    poses: xr.Dataset,
    *,
    view: ViewArg = "auto",
    facing: ViewArg = "auto",
    min_confidence: float | None = MIN_KEYPOINT_CONFIDENCE,
) -> xr.Dataset:
    """View and facing of every track and frame, without computing any angle.

    Returns a Dataset over ``time`` and ``individual`` with the orientation variables of
    :func:`compute_kinematics` (``view``, ``facing``, ``motion_plane``, ``view_source``,
    ``facing_source`` per track; ``view_per_frame``, ``facing_per_frame``,
    ``motion_plane_per_frame``, ``facing_sign``, ``facing_uncertain`` per frame).
    Arguments as in :func:`compute_kinematics`.
    """
    validate_poses(poses)
    xy, conf, _ = _arrays(poses, min_confidence)
    individuals = [str(i) for i in poses["individual"].values]
    time_s = np.asarray(poses["time"].values, dtype=np.float64)
    orient = detect_frame_orientations(xy, conf, time_s, individuals, view, facing)
    coords = {"time": time_s, "individual": individuals}
    return xr.Dataset(orientation_vars(orient), coords=coords)


def _coords(poses: xr.Dataset, arc: np.ndarray) -> dict[str, Any]:
    individuals = [str(i) for i in poses["individual"].values]
    coords: dict[str, Any] = {
        "time": poses["time"].values,
        "segment": list(SPINE_SEGMENTS),
        "level": list(SPINE_LEVELS),
        "region": list(REGIONS),
        "quality_check": list(QUALITY_CHECKS),
        "arc": arc,
        "joint": list(JOINTS),
        "body_segment": list(BODY_SEGMENTS),
        "individual": individuals,
        "track": ("individual", np.array([track_id_of(i) for i in individuals], np.int64)),
    }
    if "frame" in poses.coords:
        coords["frame"] = ("time", poses["frame"].values)
    return coords


def compute_kinematics(
    poses: xr.Dataset,
    *,
    view: ViewArg = "auto",
    facing: ViewArg = "auto",
    min_confidence: float | None = MIN_KEYPOINT_CONFIDENCE,
    n_arc: int = DEFAULT_N_ARC,
    repetitions: RepetitionParams | None = None,
    detect_repetitions: bool = True,
) -> xr.Dataset:
    """Spine and Halpe-26 kinematics of every track (see docs/kinematics.md).

    poses: a poses dataset (``position (time, space, keypoint, individual)`` px).
    view / facing: ``"auto"`` (from the body, frame by frame), a value for all tracks, or
    a mapping ``{individual: value}``; see :mod:`spinepose_sports.kinematics.facing`.
    min_confidence: points below it are treated as missing (NaN), whatever smoothing ran
    before; default :data:`~spinepose_sports.skeleton.MIN_KEYPOINT_CONFIDENCE`; None
    keeps every point.
    n_arc: samples of the flexion curve along the normalised arc length.
    repetitions / detect_repetitions: repetition detection parameters / switch.

    Returns a Dataset with dims ``time``, ``segment`` (9), ``level`` (8), ``region`` (3),
    ``arc``, ``joint`` (10), ``body_segment`` (14), ``quality_check`` (4), ``individual``
    (and ``rep``); every variable has ``units`` and ``description`` attrs; the poses'
    attrs are kept, with ``ds_type = "kinematics"`` and the log extended.
    """
    validate_poses(poses)
    xy, conf, present = _arrays(poses, min_confidence)
    individuals = [str(i) for i in poses["individual"].values]
    time_s = np.asarray(poses["time"].values, dtype=np.float64)
    orient = detect_frame_orientations(xy, conf, time_s, individuals, view, facing)
    chain_ok = _chain_ok(xy)
    xy_up = to_y_up(xy)
    del xy, conf  # the float64 copies of the poses: one is enough while the angles are made
    variables, sp = _angle_vars(xy_up, orient, n_arc)
    del xy_up
    kin = xr.Dataset(variables, coords=_coords(poses, sp.arc), attrs=dict(poses.attrs))
    kin["time"].attrs["units"] = "s"
    kin["arc"].attrs.update(units="1", description="normalised arc length, pelvis 0 to head 1")
    for name in variables:
        _set_meta(kin, name)
    kin = add_derivatives(kin)
    extra = {**orientation_vars(orient), **_quality_vars(chain_ok, present, sp, orient)}
    for name, value in extra.items():
        kin[name] = value
    kin.attrs["ds_type"] = KINEMATICS_DS_TYPE
    kin = append_log(
        kin,
        "compute_kinematics",
        view=view if isinstance(view, str) else dict(view),
        facing=facing if isinstance(facing, str) else dict(facing),
        min_confidence=min_confidence,
        n_arc=n_arc,
    )
    if detect_repetitions:
        kin = add_repetitions(kin, repetitions)
    return kin
