"""Spine angles on the analytic generator: every view, both facing directions, any scale."""

from __future__ import annotations

import numpy as np
import pytest
from kinematics_generator import (
    NORMAL_FACING,
    SIDE_VIEWS,
    SPINE_LENGTHS,
    VIEWS,
    Motion,
    default_motion,
    poses_dataset,
    render,
    trunk_lean,
    truth_curvature,
    truth_flexion_curve,
    truth_regional,
    truth_segmental,
)

from spinepose_sports.kinematics import compute_kinematics, detect_view, wrap
from spinepose_sports.skeleton import KEYPOINT_INDEX, SPINE_LEVELS, SPINE_SEGMENTS

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

TOL = 0.01  # deg, noise-free recovery
PLACEMENTS = [  # (scale px per body unit ~ body height, hip position px)
    (100.0, (1850.0, 950.0)),
    (260.0, (300.0, 500.0)),
    (900.0, (960.0, 540.0)),
]


def _kin(m: Motion, view: str, facing: str, scale: float, origin: tuple[float, float], **kwargs):
    ds = poses_dataset([render(m, view, facing, scale, origin)], m.time_s)
    return compute_kinematics(ds, detect_repetitions=False, **kwargs)


def _one(kin, name: str) -> np.ndarray:
    da = kin[name].sel(individual="track_1")
    return da.transpose("time", ...).values


@pytest.fixture(scope="module")
def motion() -> Motion:
    return default_motion(n_frames=40, seed=1)


@pytest.mark.parametrize("scale,origin", PLACEMENTS)
@pytest.mark.parametrize("facing", ["left", "right"])
@pytest.mark.parametrize("view", VIEWS)
def test_every_spine_angle_recovered(motion, view, facing, scale, origin):
    kin = _kin(motion, view, facing, scale, origin)
    theta = motion.theta
    np.testing.assert_allclose(_one(kin, "segment_angle"), theta, atol=TOL, rtol=0)
    np.testing.assert_allclose(
        _one(kin, "segmental_angle"), truth_segmental(theta), atol=TOL, rtol=0
    )
    np.testing.assert_allclose(_one(kin, "regional_angle"), truth_regional(theta), atol=TOL, rtol=0)
    np.testing.assert_allclose(_one(kin, "trunk_flexion"), trunk_lean(theta), atol=TOL, rtol=0)
    np.testing.assert_allclose(_one(kin, "pelvis_tilt"), theta[:, 0], atol=TOL, rtol=0)
    np.testing.assert_allclose(
        _one(kin, "flexion_curve"), truth_flexion_curve(theta), atol=TOL, rtol=0
    )
    # curvature = segmental / share: the angle tolerance scaled by 1 / share
    share = (SPINE_LENGTHS[:-1] + SPINE_LENGTHS[1:]) / 2 / SPINE_LENGTHS.sum()
    np.testing.assert_allclose(
        _one(kin, "curvature") * share, truth_curvature(theta) * share, atol=TOL, rtol=0
    )
    np.testing.assert_allclose(_one(kin, "spine_length"), scale * SPINE_LENGTHS.sum(), rtol=1e-5)


@pytest.mark.parametrize("facing", ["left", "right"])
@pytest.mark.parametrize("view", VIEWS)
def test_view_and_facing_detected(motion, view, facing):
    kin = _kin(motion, view, facing, 300.0, (700.0, 500.0))
    assert str(kin["view"].values[0]) == view
    assert str(kin["facing"].values[0]) == facing
    plane = "flexion-extension" if view in SIDE_VIEWS else "lateral-bending"
    assert str(kin["motion_plane"].values[0]) == plane
    assert str(kin["facing_source"].values[0]) == "body"
    only = detect_view(poses_dataset([render(motion, view, facing)], motion.time_s))
    assert str(only["view"].values[0]) == view and str(only["facing"].values[0]) == facing


def test_signs_are_physical():
    """Forward lean is positive whichever way the athlete faces (side views)."""
    t = np.arange(5) / 30.0
    theta = np.tile([10.0, 12, 14, 16, 18, 20, 22, 24, 26], (5, 1))
    m = Motion(t, theta)
    for facing in ("left", "right"):
        xy, _ = render(m, "left_side" if facing == "left" else "right_side", facing)
        neck, hip = xy[0, :, KEYPOINT_INDEX["neck"]], xy[0, :, KEYPOINT_INDEX["hip"]]
        # the neck is ahead of the hip in the facing direction, and above it
        assert np.sign(neck[0] - hip[0]) == (1 if facing == "right" else -1)
        assert neck[1] < hip[1]
        kin = _kin(m, "left_side" if facing == "left" else "right_side", facing, 300, (500, 500))
        assert np.all(_one(kin, "trunk_flexion") > 0)
        assert np.all(_one(kin, "segmental_angle") > 0)  # each segment further forward


def test_user_overrides_view_and_facing(motion):
    ds = poses_dataset([render(motion, "right_side", "right")], motion.time_s)
    kin = compute_kinematics(ds, view="front", facing={"track_1": "left"}, detect_repetitions=False)
    assert str(kin["view"].values[0]) == "front"
    assert str(kin["facing"].values[0]) == "left"
    assert str(kin["view_source"].values[0]) == "user"
    assert str(kin["motion_plane"].values[0]) == "lateral-bending"
    # facing the wrong way flips every in-plane angle
    np.testing.assert_allclose(_one(kin, "segment_angle"), -motion.theta, atol=TOL)
    with pytest.raises(ValueError, match="view"):
        compute_kinematics(ds, view="sideways")
    with pytest.raises(ValueError, match="unknown individuals"):
        compute_kinematics(ds, facing={"track_9": "left"})


def test_several_tracks_each_with_its_own_view(motion):
    renders = [
        render(motion, v, NORMAL_FACING[v], 200.0, (300.0 + 400 * i, 600.0))
        for i, v in enumerate(VIEWS)
    ]
    kin = compute_kinematics(
        poses_dataset(renders, motion.time_s, [3, 5, 8, 13]), detect_repetitions=False
    )
    assert [str(v) for v in kin["view"].values] == list(VIEWS)
    for ind in kin["individual"].values:
        got = kin["segment_angle"].sel(individual=ind).transpose("time", "segment").values
        np.testing.assert_allclose(got, motion.theta, atol=TOL)


def test_missing_point_gives_nan_never_zero(motion):
    xy, conf = render(motion, "right_side", "right")
    xy[5, :, KEYPOINT_INDEX["spine_02"]] = np.nan
    # a zero-length segment has no direction either
    xy[9, :, KEYPOINT_INDEX["spine_02"]] = xy[9, :, KEYPOINT_INDEX["spine_01"]]
    kin = compute_kinematics(poses_dataset([(xy, conf)], motion.time_s), detect_repetitions=False)
    seg = kin["segment_angle"].sel(individual="track_1")
    for frame, missing in (
        (5, ["spine_01-spine_02", "spine_02-spine_03"]),
        (9, ["spine_01-spine_02"]),
    ):
        assert np.isnan(seg.isel(time=frame).sel(segment=missing).values).all()
        others = seg.isel(time=frame).drop_sel(segment=missing)
        assert np.isfinite(others.values).all()
        assert np.isfinite(kin["trunk_flexion"].values[frame, 0])
        assert np.isfinite(kin["pelvis_tilt"].values[frame, 0])
    # lumbar = sum of the levels spine_01..spine_03: needs spine_02 (frames 5 and 9)
    lumbar = kin["regional_angle"].sel(individual="track_1", region="lumbar").values
    assert np.isnan(lumbar[5]) and np.isnan(lumbar[9]) and np.isfinite(lumbar[8])
    thoracic = kin["regional_angle"].sel(individual="track_1", region="thoracic").values
    assert np.isfinite(thoracic[5]) and np.isfinite(thoracic[9])
    levels = kin["segmental_angle"].sel(individual="track_1").isel(time=5)
    assert np.isnan(levels.sel(level=["spine_01", "spine_02", "spine_03"]).values).all()
    assert np.isfinite(levels.sel(level=["spine_04", "neck"]).values).all()
    assert np.isnan(kin["flexion_curve"].values[5]).all()
    assert np.isnan(kin["curvature"].values[5]).all()
    # derivatives: NaN at the gap, finite around it (one-sided differences)
    vel = kin["segment_angle_velocity"].sel(individual="track_1", segment="spine_01-spine_02")
    assert np.isnan(vel.values[5]) and np.isfinite(vel.values[[4, 6]]).all()
    # nothing anywhere was silently replaced by zero
    for name in ("segment_angle", "segmental_angle", "regional_angle"):
        assert not (kin[name].values == 0).any()


def test_unwrapped_across_180_with_a_gap_and_ramp_velocity():
    """A somersault: the whole body turns 2 full turns at a constant rate."""
    rng = np.random.default_rng(7)
    t = np.cumsum(rng.uniform(0.025, 0.04, 120))  # uneven real timestamps
    rate = 240.0  # deg/s
    base = np.array([-20.0, -10, 0, 10, 20, 15, 5, 0, -5])
    theta = base + rate * (t - t[0])[:, None]
    m = Motion(t, theta)
    xy, conf = render(m, "right_side", "right", 250.0, (900.0, 500.0))
    xy[40:47, :, KEYPOINT_INDEX["spine_03"]] = np.nan  # gap spanning ~ 60 deg of turn
    kin = compute_kinematics(
        poses_dataset([(xy, conf)], t), view="right_side", facing="right", detect_repetitions=False
    )
    seg = _one(kin, "segment_angle_unwrapped")
    ok = np.isfinite(seg)
    assert ok.sum() == seg.size - 2 * 7
    np.testing.assert_allclose(seg[ok], np.broadcast_to(theta, seg.shape)[ok], atol=TOL)
    assert np.all(seg[0] > -180) and np.all(seg[0] <= 180)
    assert np.nanmax(seg) > 500  # kept going past +180 and +360
    wrapped = _one(kin, "segment_angle")  # the same, reported in (-180, 180]
    assert np.nanmax(wrapped) <= 180 and np.nanmin(wrapped) > -180
    np.testing.assert_allclose(np.abs(wrap(wrapped[ok] - seg[ok])), 0.0, atol=TOL)
    vel = _one(kin, "segment_angle_velocity")
    np.testing.assert_allclose(vel[np.isfinite(vel)], rate, rtol=1e-4)
    acc = _one(kin, "segment_angle_acceleration")
    np.testing.assert_allclose(acc[np.isfinite(acc)], 0.0, atol=0.5)
    trunk_vel = _one(kin, "trunk_flexion_velocity")
    np.testing.assert_allclose(trunk_vel, rate, rtol=1e-4)


def test_labels_units_and_descriptions(motion):
    kin = _kin(motion, "back", "right", 300.0, (600.0, 600.0))
    assert list(kin["segment"].values) == list(SPINE_SEGMENTS)
    assert list(kin["level"].values) == list(SPINE_LEVELS)
    assert list(kin["region"].values) == ["lumbar", "thoracic", "cervical"]
    assert kin["arc"].values[0] == 0 and kin["arc"].values[-1] == 1
    expect = {
        "segment_angle": "deg",
        "segment_angle_velocity": "deg/s",
        "segment_angle_acceleration": "deg/s^2",
        "curvature": "deg/spine_length",
        "spine_length": "px",
        "joint_angle": "deg",
        "halpe_segment_angle_velocity": "deg/s",
    }
    for name, units in expect.items():
        assert kin[name].attrs["units"] == units
    for name, da in kin.data_vars.items():
        if da.dims and da.dims[0] == "time" and da.dtype.kind not in "USO":
            assert da.attrs.get("units") and da.attrs.get("description"), name
    assert kin.attrs["ds_type"] == "kinematics"
    assert kin.attrs["fps"] == 30.0 and kin.attrs["source_file"] == "synthetic.mp4"
    assert "compute_kinematics" in kin.attrs["log"]
    np.testing.assert_array_equal(kin["frame"].values, np.arange(len(motion.time_s)))


def test_min_confidence_masks_points(motion):
    xy, conf = render(motion, "left_side", "left")
    conf[3, KEYPOINT_INDEX["neck"]] = 0.1
    ds = poses_dataset([(xy, conf)], motion.time_s)
    kin = compute_kinematics(ds, min_confidence=0.3, detect_repetitions=False)
    assert np.isnan(kin["trunk_flexion"].values[3, 0])
    assert np.isfinite(kin["trunk_flexion"].values[[2, 4], 0]).all()
