"""Property-based tests (hypothesis): SimCC decoding, crop geometry, smoothing and
kinematics with random shapes, NaNs and extreme values.  No input crashes them; NaN in
gives NaN out where it must; no number is silently wrong (never inf, never a position
with a broken score, never a pose invented where the input had none)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from spinepose_sports.data import make_poses
from spinepose_sports.pose.decode import decode_simcc, to_frame_coords
from spinepose_sports.pose.preprocess import box_to_center_scale, crop_affine, fix_aspect_ratio
from spinepose_sports.skeleton import KEYPOINT_INDEX, NUM_KEYPOINTS

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
ANY_FLOAT32 = st.floats(width=32, allow_nan=True, allow_infinity=True)
FINITE_FLOAT32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


# ------------------------------------------------------------------ SimCC decoding


@st.composite
def simcc_pair(draw, elements=ANY_FLOAT32):
    n, k = draw(st.integers(0, 3)), draw(st.integers(1, 4))
    wx, wy = draw(st.integers(1, 16)), draw(st.integers(1, 16))
    sx = draw(hnp.arrays(np.float32, (n, k, wx), elements=elements))
    sy = draw(hnp.arrays(np.float32, (n, k, wy), elements=elements))
    return sx, sy


@SETTINGS
@given(simcc_pair())
def test_simcc_decoding_never_invents_a_keypoint(pair) -> None:
    sx, sy = pair
    xy, score = decode_simcc(sx, sy)
    assert xy.shape == (*sx.shape[:2], 2) and score.shape == sx.shape[:2]
    assert not np.isinf(xy).any() and not np.isinf(score).any()
    valid = ~np.isnan(xy).any(axis=-1)
    # a position is given only with a finite, positive score, inside the input
    assert (np.isfinite(score[valid]) & (score[valid] > 0)).all()
    assert (xy[valid][:, 0] <= (sx.shape[2] - 1) / 2).all()
    assert (xy[valid][:, 1] <= (sy.shape[2] - 1) / 2).all()
    assert (xy[valid] >= 0).all()
    # NaN or inf anywhere in a keypoint's maxima: no position and a NaN score
    broken = np.isnan(sx).any(-1) | np.isnan(sy).any(-1) | np.isposinf(sx).any(-1) \
        | np.isposinf(sy).any(-1)
    assert np.isnan(xy[broken]).all() and np.isnan(score[broken]).all()


@SETTINGS
@given(simcc_pair(elements=FINITE_FLOAT32))
def test_simcc_decoding_of_finite_logits_is_the_argmax(pair) -> None:
    sx, sy = pair
    xy, score = decode_simcc(sx, sy)
    expected = 0.5 * (sx.max(-1).astype(np.float64) + sy.max(-1))
    np.testing.assert_allclose(score, expected.astype(np.float32), rtol=1e-6)
    valid = expected > 0
    np.testing.assert_array_equal(xy[..., 0][valid], sx.argmax(-1)[valid] / 2)
    np.testing.assert_array_equal(xy[..., 1][valid], sy.argmax(-1)[valid] / 2)


@SETTINGS
@given(st.integers(0, 383), st.integers(0, 511), st.floats(1e-3, 1e6))
def test_simcc_encode_then_decode(ix: int, iy: int, peak: float) -> None:
    sx = np.zeros((1, 1, 384), np.float32)
    sy = np.zeros((1, 1, 512), np.float32)
    sx[0, 0, ix], sy[0, 0, iy] = peak, peak
    xy, score = decode_simcc(sx, sy)
    assert xy[0, 0].tolist() == [ix / 2, iy / 2]
    assert score[0, 0] == pytest.approx(np.float32(peak), rel=1e-6)


# ------------------------------------------------------------------ crop geometry


@st.composite
def boxes(draw):
    n = draw(st.integers(1, 4))
    cx = draw(hnp.arrays(np.float64, n, elements=st.floats(-1e4, 2e4)))
    cy = draw(hnp.arrays(np.float64, n, elements=st.floats(-1e4, 2e4)))
    w = draw(hnp.arrays(np.float64, n, elements=st.floats(1.0, 8000.0)))
    h = draw(hnp.arrays(np.float64, n, elements=st.floats(1.0, 8000.0)))
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


@SETTINGS
@given(boxes(), st.sampled_from([(192, 256), (288, 384)]),
       st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_crop_then_back_projection_round_trips(xyxy, input_wh, fu, fv) -> None:
    center, scale = box_to_center_scale(xyxy, 1.25)
    scale = fix_aspect_ratio(scale, input_wh[0] / input_wh[1])
    w, h = xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]
    # the crop holds the padded box, at the model's aspect ratio
    assert (scale[:, 0] >= 1.25 * w * (1 - 1e-9)).all()
    assert (scale[:, 1] >= 1.25 * h * (1 - 1e-9)).all()
    np.testing.assert_allclose(scale[:, 0] / scale[:, 1], input_wh[0] / input_wh[1], rtol=1e-9)
    matrices = crop_affine(center, scale, input_wh)
    # a point of the crop goes back to the frame and forward to the same crop point
    uv = np.array([fu * input_wh[0], fv * input_wh[1]])
    frame_xy = to_frame_coords(np.broadcast_to(uv, (len(xyxy), 1, 2)), center, scale,
                               input_wh)[:, 0]
    forward = np.einsum("nij,nj->ni", matrices, np.c_[frame_xy, np.ones(len(xyxy))])
    tolerance = 1e-3 * input_wh[1] + 1e-4 * np.abs(center).max() / scale.min() * input_wh[1]
    np.testing.assert_allclose(forward, np.broadcast_to(uv, forward.shape), atol=tolerance)
    # the box centre is the crop centre
    centre_uv = np.einsum("nij,nj->ni", matrices, np.c_[center, np.ones(len(xyxy))])
    np.testing.assert_allclose(centre_uv, np.broadcast_to(np.array(input_wh) / 2,
                                                          centre_uv.shape), atol=tolerance)


# ------------------------------------------------------------------ poses: smoothing, kinematics


@st.composite
def poses(draw, max_frames: int = 24):
    t = draw(st.integers(1, max_frames))
    n = draw(st.integers(0, 2))
    scale = draw(st.sampled_from([1.0, 1e3, 1e6]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    base = rng.uniform(0, 1, (1, 2, NUM_KEYPOINTS, n)) * scale
    position = base + rng.normal(0, 0.02 * scale, (t, 2, NUM_KEYPOINTS, n))
    confidence = rng.uniform(0, 1, (t, NUM_KEYPOINTS, n))
    holes = rng.uniform(0, 1, (t, NUM_KEYPOINTS, n)) < draw(st.floats(0.0, 0.9))
    position[:, :, holes.any(0)] = np.where(holes[:, None], np.nan,
                                            position)[:, :, holes.any(0)]
    confidence[holes] = np.nan
    if n and draw(st.booleans()):  # one keypoint never seen
        position[:, :, KEYPOINT_INDEX["hip"], 0] = np.nan
        confidence[:, KEYPOINT_INDEX["hip"], 0] = np.nan
    steps = rng.uniform(0.001, 0.2, t)
    time_s = np.cumsum(steps) - steps[0]  # strictly increasing, variable rate
    return make_poses(position, confidence, time_s, list(range(1, n + 1)), fps=30.0,
                      source_file="synthetic.mp4", frame_width=1920, frame_height=1080)


def _no_inf(ds) -> None:
    for name, var in ds.data_vars.items():
        if np.issubdtype(var.dtype, np.floating):
            assert not np.isinf(var.values).any(), name


@pytest.mark.parametrize("method", ["kalman", "one-euro", "butterworth", "none"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ds=poses())
def test_smoothing_never_crashes_or_invents_points(method: str, ds) -> None:
    from spinepose_sports.smoothing import smooth

    out = smooth(ds, method=method)
    assert out["position"].shape == ds["position"].shape
    _no_inf(out)
    never = ds["position"].isnull().all("time")
    assert bool(out["position"].where(never).isnull().all())


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ds=poses(max_frames=16))
def test_kinematics_never_crash_and_missing_points_give_nan(ds) -> None:
    from spinepose_sports.kinematics import compute_kinematics

    kin = compute_kinematics(ds)
    assert kin.sizes["time"] == ds.sizes["time"]
    _no_inf(kin)
    for name in ("segmental_angle", "segment_angle", "trunk_flexion", "joint_angle"):
        values = kin[name].values
        finite = values[np.isfinite(values)]
        assert ((finite > -180 - 1e-9) & (finite <= 180 + 1e-9)).all(), name
    # no hip: no trunk flexion and no pelvis, never a number made up
    hip = ds["position"].sel(keypoint="hip").isnull().any("space")
    assert bool(kin["trunk_flexion"].where(hip).isnull().all())
    assert bool(kin["pelvis_tilt"].where(hip).isnull().all())
