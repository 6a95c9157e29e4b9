"""Halpe-26 joint and segment angles against hand-computed values (Sports2D conventions)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from kinematics_generator import (
    SIDE_VIEWS,
    VIEWS,
    default_motion,
    poses_dataset,
    render,
    trunk_lean,
)

from spinepose_sports.data import make_poses
from spinepose_sports.kinematics import BODY_SEGMENTS, JOINTS, compute_kinematics
from spinepose_sports.skeleton import KEYPOINT_INDEX, NUM_KEYPOINTS

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def atan2d(y: float, x: float) -> float:
    return math.degrees(math.atan2(y, x))


# A seated-like pose facing image right, image coordinates (px, y down).
POSE = {
    "hip": (100, 200),
    "neck": (100, 100),
    "head": (110, 60),
    "right_hip": (100, 200),
    "right_knee": (150, 200),
    "right_ankle": (150, 250),
    "right_heel": (145, 255),
    "right_big_toe": (175, 255),
    "right_shoulder": (100, 100),
    "right_elbow": (100, 150),
    "right_wrist": (130, 150),
    "left_hip": (100, 200),
    "left_knee": (130, 245),
    "left_ankle": (110, 290),
    "left_heel": (104, 296),
    "left_big_toe": (134, 286),
    "left_shoulder": (100, 100),
    "left_elbow": (120, 140),
    "left_wrist": (150, 120),
}
# Hand-computed from the definitions in docs/kinematics.md (y up: y_up = -y_image).
EXPECTED_JOINTS = {
    "right_knee": 90.0,  # thigh horizontal forward, shank vertical down
    "right_hip": 90.0,  # thigh horizontal, trunk vertical
    "right_ankle": 0.0,  # foot horizontal, shank vertical
    "right_shoulder": 0.0,  # arm hanging along the trunk
    "right_elbow": 90.0,  # forearm horizontal forward
    # left thigh 30 px forward, 45 px down; shank 20 px back, 45 px down
    "left_hip": atan2d(30, 45),
    "left_knee": atan2d(30, 45) + atan2d(20, 45),
    # shank tilted forward (knee ahead of ankle) by atan(20/45), toes raised by
    # atan(10/30) (heel->toe is 30 px forward, 10 px up): dorsiflexion is their sum
    "left_ankle": atan2d(20, 45) + atan2d(10, 30),
    # arm 20 px forward, 40 down: flexion atan(20/40) from hanging; the forearm points
    # 30 forward, 20 up: 90 + atan(20/30) from hanging, so the elbow bends by the difference
    "left_shoulder": atan2d(20, 40),
    "left_elbow": 90 + atan2d(20, 30) - atan2d(20, 40),
}
EXPECTED_SEGMENTS = {
    "right_foot": 0.0,
    "right_shank": -90.0,
    "right_thigh": 0.0,
    "right_arm": -90.0,
    "right_forearm": 0.0,
    "trunk": 90.0,
    "head": atan2d(40, 10),
    "left_foot": atan2d(10, 30),
    "left_shank": atan2d(-45, -20),
    "left_thigh": atan2d(-45, 30),
    "left_arm": atan2d(-40, 20),
    "left_forearm": atan2d(20, 30),
}


def _pose_dataset(points: dict[str, tuple[float, float]], mirror_x: float | None = None):
    position = np.full((1, 2, NUM_KEYPOINTS, 1), np.nan)
    for name, (x, y) in points.items():
        position[0, :, KEYPOINT_INDEX[name], 0] = (mirror_x - x if mirror_x else x, y)
    conf = np.where(np.isnan(position[:, 0]), np.nan, 0.9)
    return make_poses(
        position,
        conf,
        np.array([0.0]),
        [1],
        fps=30,
        source_file="x.mp4",
        frame_width=400,
        frame_height=400,
    )


def _values(kin, var: str, dim: str, names) -> dict[str, float]:
    da = kin[var].isel(time=0, individual=0)
    return {n: float(da.sel({dim: n}).values) for n in names}


def test_hand_computed_pose_facing_right():
    kin = compute_kinematics(
        _pose_dataset(POSE), view="right_side", facing="right", detect_repetitions=False
    )
    got = _values(kin, "joint_angle", "joint", EXPECTED_JOINTS)
    for name, value in EXPECTED_JOINTS.items():
        assert got[name] == pytest.approx(value, abs=1e-9), name
    got = _values(kin, "halpe_segment_angle", "body_segment", EXPECTED_SEGMENTS)
    for name, value in EXPECTED_SEGMENTS.items():
        assert got[name] == pytest.approx(value, abs=1e-9), name


def test_mirrored_pose_facing_left_gives_the_same_body_angles():
    """Sports2D mirrors a left-facing athlete; only trunk, pelvis, shoulders stay in the
    image frame."""
    kin = compute_kinematics(
        _pose_dataset(POSE, mirror_x=400), view="left_side", facing="left", detect_repetitions=False
    )
    got = _values(kin, "joint_angle", "joint", EXPECTED_JOINTS)
    for name, value in EXPECTED_JOINTS.items():
        assert got[name] == pytest.approx(value, abs=1e-9), name
    got = _values(kin, "halpe_segment_angle", "body_segment", EXPECTED_SEGMENTS)
    for name, value in EXPECTED_SEGMENTS.items():
        assert got[name] == pytest.approx(value, abs=1e-9), name
    lean = dict(POSE, neck=(80, 100))  # trunk leaning forward (image right) by atan(20/100)
    right = compute_kinematics(
        _pose_dataset(lean), view="right_side", facing="right", detect_repetitions=False
    )
    left = compute_kinematics(
        _pose_dataset(lean, mirror_x=400), view="left_side", facing="left", detect_repetitions=False
    )
    trunk_r = float(right["halpe_segment_angle"].sel(body_segment="trunk")[0, 0])
    trunk_l = float(left["halpe_segment_angle"].sel(body_segment="trunk")[0, 0])
    assert trunk_r == pytest.approx(atan2d(100, -20))
    assert trunk_l == pytest.approx(atan2d(100, 20))


def test_pelvis_and_shoulders_are_axes():
    front = dict(
        POSE,
        left_hip=(120, 200),
        right_hip=(80, 205),
        left_shoulder=(140, 100),
        right_shoulder=(60, 96),
    )
    back = dict(
        POSE,
        left_hip=(80, 205),
        right_hip=(120, 200),
        left_shoulder=(60, 96),
        right_shoulder=(140, 100),
    )
    for pose in (front, back):
        kin = compute_kinematics(
            _pose_dataset(pose), view="front", facing="left", detect_repetitions=False
        )
        got = _values(kin, "halpe_segment_angle", "body_segment", ["pelvis", "shoulders"])
        assert got["pelvis"] == pytest.approx(atan2d(5, 40))
        assert got["shoulders"] == pytest.approx(atan2d(-4, 80))


@pytest.mark.parametrize("facing", ["left", "right"])
@pytest.mark.parametrize("view", SIDE_VIEWS)
def test_generator_joint_angles_recovered_in_side_views(view, facing):
    m = default_motion(n_frames=30, seed=4)
    kin = compute_kinematics(
        poses_dataset([render(m, view, facing, 350.0)], m.time_s), detect_repetitions=False
    )
    lean = trunk_lean(m.theta)
    joints = kin["joint_angle"].isel(individual=0)
    segs = kin["halpe_segment_angle"].isel(individual=0)
    for side in ("right", "left"):
        thigh = m.thigh[side]
        shank = thigh - m.knee[side]
        arm = m.shoulder[side] - lean
        expected = {
            f"{side}_knee": m.knee[side],
            f"{side}_ankle": m.ankle[side],
            f"{side}_hip": thigh + lean,
            f"{side}_shoulder": m.shoulder[side],
            f"{side}_elbow": m.elbow[side],
        }
        for name, value in expected.items():
            np.testing.assert_allclose(joints.sel(joint=name).values, value, atol=0.01)
        expected = {
            f"{side}_thigh": thigh - 90,
            f"{side}_shank": shank - 90,
            f"{side}_foot": shank + m.ankle[side],
            f"{side}_arm": arm - 90,
            f"{side}_forearm": arm + m.elbow[side] - 90,
        }
        for name, value in expected.items():
            np.testing.assert_allclose(segs.sel(body_segment=name).values, value, atol=0.01)
    trunk = 90 - lean if facing == "right" else 90 + lean
    np.testing.assert_allclose(segs.sel(body_segment="trunk").values, trunk, atol=0.01)
    # left and right hips coincide in a pure side view: no pelvis direction, NaN not 0
    assert np.isnan(segs.sel(body_segment=["pelvis", "shoulders"]).values).all()


def _scalar_sports2d(p: dict[str, np.ndarray], flip: float) -> dict[str, float]:
    """Independent scalar implementation of the documented formulas (one frame)."""

    def v(a: str, b: str, frame: str = "body") -> tuple[float, float]:
        f = flip if frame == "body" else 1.0
        return f * (p[a][0] - p[b][0]), -(p[a][1] - p[b][1])

    def rot(u, w) -> float:
        ang = atan2d(w[1], w[0]) - atan2d(u[1], u[0])
        return (ang + 180) % 360 - 180

    def wrap(a: float) -> float:
        return (a + 180) % 360 - 180

    out = {}
    for s in ("right", "left"):
        out[f"{s}_knee"] = wrap(rot(v(f"{s}_ankle", f"{s}_knee"), v(f"{s}_hip", f"{s}_knee")) - 180)
        out[f"{s}_ankle"] = wrap(
            rot(v(f"{s}_ankle", f"{s}_knee"), v(f"{s}_heel", f"{s}_big_toe")) + 90
        )
        out[f"{s}_hip"] = rot(v("neck", "hip"), v(f"{s}_hip", f"{s}_knee"))
        out[f"{s}_shoulder"] = rot(v("neck", "hip"), v(f"{s}_shoulder", f"{s}_elbow"))
        out[f"{s}_elbow"] = wrap(
            -(rot(v(f"{s}_wrist", f"{s}_elbow"), v(f"{s}_shoulder", f"{s}_elbow")) + 180)
        )
    for name, (a, b) in BODY_SEGMENTS.items():
        image = name in ("pelvis", "trunk", "shoulders")
        ang = atan2d(*v(a, b, "image" if image else "body")[::-1])
        out[name] = (ang + 90) % 180 - 90 if name in ("pelvis", "shoulders") else ang
    return out


def _close_mod(a: float, b: float, period: float) -> bool:
    return abs((a - b + period / 2) % period - period / 2) < 1e-6


@pytest.mark.parametrize("facing", ["left", "right"])
@pytest.mark.parametrize("view", VIEWS)
def test_every_view_matches_the_scalar_definitions(view, facing):
    m = default_motion(n_frames=12, seed=9)
    xy, conf = render(m, view, facing, 280.0, (800.0, 450.0))
    xy[:, 0] += np.linspace(0, 3, NUM_KEYPOINTS)  # break the exact left/right overlaps
    kin = compute_kinematics(
        poses_dataset([(xy, conf)], m.time_s), view=view, facing=facing, detect_repetitions=False
    )
    flip = -1.0 if (view in SIDE_VIEWS and facing == "left") else 1.0
    for t in range(len(m.time_s)):
        pts = {n: xy[t, :, k].astype(np.float32).astype(float) for n, k in KEYPOINT_INDEX.items()}
        ref = _scalar_sports2d(pts, flip)
        for j in JOINTS:
            got = float(kin["joint_angle"].sel(joint=j)[t, 0])
            assert _close_mod(got, ref[j], 360), (j, t, got, ref[j])
        for s in BODY_SEGMENTS:
            got = float(kin["halpe_segment_angle"].sel(body_segment=s)[t, 0])
            period = 180 if s in ("pelvis", "shoulders") else 360
            assert _close_mod(got, ref[s], period), (s, t, got, ref[s])


def test_missing_halpe_point_gives_nan():
    pose = dict(POSE)
    del pose["right_ankle"]
    kin = compute_kinematics(
        _pose_dataset(pose), view="right_side", facing="right", detect_repetitions=False
    )
    joints = kin["joint_angle"].isel(time=0, individual=0)
    assert np.isnan(joints.sel(joint=["right_knee", "right_ankle"]).values).all()
    assert np.isfinite(joints.sel(joint=["right_hip", "left_knee"]).values).all()
    segs = kin["halpe_segment_angle"].isel(time=0, individual=0)
    assert np.isnan(float(segs.sel(body_segment="right_shank")))
