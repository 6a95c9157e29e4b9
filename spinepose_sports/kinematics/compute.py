"""Build the kinematics dataset from a poses dataset (xarray in, xarray out, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..data import append_log, track_id_of, validate_poses
from ..skeleton import SPINE_LEVELS, SPINE_SEGMENTS
from .angles import time_derivative, to_y_up
from .cycles import (
    REPETITION_COLUMNS,
    REPETITION_DESCRIPTIONS,
    RepetitionParams,
    describe_repetition,
    find_repetitions,
    phase_labels,
)
from .halpe import BODY_SEGMENTS, JOINTS, halpe_angles
from .quantities import (
    DIFFERENTIATED,
    acceleration_name,
    description_of,
    units_of,
    velocity_name,
)
from .spine import DEFAULT_N_ARC, REGIONS, spine_angles
from .view import TrackOrientation, ViewArg, detect_orientations

KINEMATICS_DS_TYPE = "kinematics"
#: The scalar (time, individual) variables and the label used for them in tables.
SCALAR_LABELS: dict[str, str] = {"trunk_flexion": "trunk", "pelvis_tilt": "pelvis"}
#: Label dim of each (time, label, individual) variable.
LABEL_DIMS: dict[str, str] = {
    "segment_angle": "segment",
    "segmental_angle": "level",
    "regional_angle": "region",
    "curvature": "level",
    "flexion_curve": "arc",
    "joint_angle": "joint",
    "halpe_segment_angle": "body_segment",
}


def _arrays(poses: xr.Dataset, min_confidence: float | None) -> tuple[np.ndarray, np.ndarray]:
    """``(T, N, 37, 2)`` px and ``(T, N, 37)`` confidence; low-confidence points -> NaN."""
    xy = poses["position"].transpose("time", "individual", "keypoint", "space").values
    conf = poses["confidence"].transpose("time", "individual", "keypoint").values
    xy = np.asarray(xy, dtype=np.float64).copy()
    conf = np.asarray(conf, dtype=np.float64)
    if min_confidence is not None:
        xy[~(conf >= min_confidence)] = np.nan
    return xy, conf


def _tl(a: np.ndarray) -> np.ndarray:
    """``(T, N, L)`` -> ``(T, L, N)``."""
    return np.moveaxis(a, 1, 2)


def _orientation_vars(orient: Sequence[TrackOrientation]) -> dict[str, Any]:
    def var(values: list[str], description: str) -> tuple[Any, ...]:
        return ("individual", np.array(values, dtype=str), {"description": description})

    return {
        "view": var([o.view for o in orient], "left_side, right_side, front or back"),
        "facing": var(
            [o.facing for o in orient],
            "image direction (left/right) of positive in-plane angles: the athlete's front "
            "in side views, the athlete's right side in front/back views",
        ),
        "motion_plane": var(
            [o.motion_plane for o in orient],
            "what the in-plane spine angles measure: flexion-extension (side views) or "
            "lateral-bending (front/back views)",
        ),
        "view_source": var([o.view_source for o in orient], "user, body or default"),
        "facing_source": var([o.facing_source for o in orient], "user, body or default"),
    }


def _angle_vars(
    xy_up: np.ndarray, orient: Sequence[TrackOrientation], n_arc: int
) -> tuple[dict[str, Any], np.ndarray]:
    sign = np.array([o.sign for o in orient])
    flip = np.array([-1.0 if (o.is_side and o.facing == "left") else 1.0 for o in orient])
    sp = spine_angles(xy_up, sign, n_arc)
    joints, segs = halpe_angles(xy_up, flip)
    return {
        "segment_angle": (("time", "segment", "individual"), _tl(sp.segment)),
        "segmental_angle": (("time", "level", "individual"), _tl(sp.segmental)),
        "regional_angle": (("time", "region", "individual"), _tl(sp.regional)),
        "trunk_flexion": (("time", "individual"), sp.trunk),
        "pelvis_tilt": (("time", "individual"), sp.pelvis),
        "flexion_curve": (("time", "arc", "individual"), _tl(sp.flexion_curve)),
        "curvature": (("time", "level", "individual"), _tl(sp.curvature)),
        "spine_length": (("time", "individual"), sp.spine_length),
        "joint_angle": (("time", "joint", "individual"), _tl(joints)),
        "halpe_segment_angle": (("time", "body_segment", "individual"), _tl(segs)),
    }, sp.arc


def add_derivatives(kin: xr.Dataset, names: Sequence[str] = DIFFERENTIATED) -> xr.Dataset:
    """Add ``<name>_velocity`` (deg/s) and ``<name>_acceleration`` (deg/s^2) variables.

    Derivatives along ``time`` with the real time coordinate (s), NaN-aware (see
    :func:`~spinepose_sports.kinematics.angles.time_derivative`).
    """
    out = kin.copy()
    t = kin["time"].values
    for name in names:
        da = kin[name]
        axis = da.dims.index("time")
        vel = np.moveaxis(time_derivative(np.moveaxis(da.values, axis, 0), t), 0, axis)
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
        values = signal.sel(individual=ind).values
        reps = find_repetitions(values, t, params)
        lumbar = lumbar_all.sel(individual=ind).values
        pelvis = kin["pelvis_tilt"].sel(individual=ind).values
        for k, rep in enumerate(reps, start=1):
            row: dict[str, Any] = {"track": str(ind), "number": k}
            row.update(describe_repetition(rep, t, values, lumbar, pelvis))
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


def _repetition_units(column: str) -> str:
    if column.endswith("_s"):
        return "s"
    return "1" if ("ratio" in column or "share" in column) else "deg"


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
    min_confidence: float | None = None,
) -> xr.Dataset:
    """View and facing of every track, without computing any angle.

    Returns a Dataset over ``individual`` with the string variables ``view``, ``facing``,
    ``motion_plane``, ``view_source`` and ``facing_source`` (the same as in
    :func:`compute_kinematics`).  Arguments as in :func:`compute_kinematics`.
    """
    validate_poses(poses)
    xy, conf = _arrays(poses, min_confidence)
    individuals = [str(i) for i in poses["individual"].values]
    orient = detect_orientations(xy, conf, individuals, view, facing)
    return xr.Dataset(_orientation_vars(orient), coords={"individual": individuals})


def _coords(poses: xr.Dataset, arc: np.ndarray) -> dict[str, Any]:
    individuals = [str(i) for i in poses["individual"].values]
    coords: dict[str, Any] = {
        "time": poses["time"].values,
        "segment": list(SPINE_SEGMENTS),
        "level": list(SPINE_LEVELS),
        "region": list(REGIONS),
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
    min_confidence: float | None = None,
    n_arc: int = DEFAULT_N_ARC,
    repetitions: RepetitionParams | None = None,
    detect_repetitions: bool = True,
) -> xr.Dataset:
    """Spine and Halpe-26 kinematics of every track (see docs/kinematics.md).

    poses: a poses dataset (``position (time, space, keypoint, individual)`` px).
    view / facing: ``"auto"`` (from the body), a value for all tracks, or a mapping
    ``{individual: value}``; see :mod:`spinepose_sports.kinematics.view`.
    min_confidence: points below it are treated as missing (NaN).
    n_arc: samples of the flexion curve along the normalised arc length.
    repetitions / detect_repetitions: repetition detection parameters / switch.

    Returns a Dataset with dims ``time``, ``segment`` (9), ``level`` (8), ``region`` (3),
    ``arc``, ``joint`` (10), ``body_segment`` (14), ``individual`` (and ``rep``); every
    variable has ``units`` and ``description`` attrs; the poses' attrs are kept, with
    ``ds_type = "kinematics"`` and the log extended.
    """
    validate_poses(poses)
    xy, conf = _arrays(poses, min_confidence)
    individuals = [str(i) for i in poses["individual"].values]
    orient = detect_orientations(xy, conf, individuals, view, facing)
    variables, arc = _angle_vars(to_y_up(xy), orient, n_arc)
    kin = xr.Dataset(variables, coords=_coords(poses, arc), attrs=dict(poses.attrs))
    kin["time"].attrs["units"] = "s"
    kin["arc"].attrs.update(units="1", description="normalised arc length, pelvis 0 to head 1")
    for name in variables:
        _set_meta(kin, name)
    kin = add_derivatives(kin)
    for name, value in _orientation_vars(orient).items():
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
