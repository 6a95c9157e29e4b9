"""Tests of the smoothing stage: known answers, filterpy parity, never inventing, Done-when."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from filterpy.kalman import KalmanFilter
from synthetic import spine_segment_angles, synthetic_motion

from spinepose_sports.data import make_poses, read_log
from spinepose_sports.skeleton import KEYPOINT_INDEX, NUM_KEYPOINTS, SPINE_CHAIN_INDICES
from spinepose_sports.smoothing import (
    METHODS,
    ButterworthSmoother,
    KalmanSmoother,
    OneEuroSmoother,
    SpinePriorSmoother,
    make_smoother,
    smooth,
)
from spinepose_sports.smoothing.engine import forward_filter, rerun, rts_smoother, transition
from spinepose_sports.smoothing.kalman import _Recheck

ATTRS = dict(fps=30.0, source_file="test", frame_width=1920, frame_height=1080)


def poses_from_track(xy: np.ndarray, time_s: np.ndarray, conf: float | np.ndarray = 0.9):
    """All 37 keypoints of one track follow ``xy (T, 2)`` px, each at a fixed offset.

    Keypoint ``k`` is offset by ``(10k, 10k)`` px, except the spine chain, which stands as a
    straight vertical line 25 px per segment above ``xy``.
    """
    offsets = np.stack([10.0 * np.arange(NUM_KEYPOINTS)] * 2)
    for i, k in enumerate(SPINE_CHAIN_INDICES):
        offsets[:, k] = (0.0, -25.0 * i)
    pos = xy[:, :, None, None] + offsets[None, :, :, None]
    c = np.broadcast_to(
        np.asarray(conf, dtype=float).reshape(-1, 1, 1) if np.ndim(conf) else conf,
        (len(time_s), NUM_KEYPOINTS, 1),
    )
    return make_poses(pos, np.array(c), time_s, [1], **ATTRS)


def err(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance (px) between two position arrays ``(T, 2, ...)``."""
    return np.sqrt(((a - b) ** 2).sum(1))


def rmse(a: np.ndarray, mask: np.ndarray | None = None) -> float:
    a = a if mask is None else a[mask]
    return float(np.sqrt(np.nanmean(a**2)))


@pytest.fixture(scope="module")
def motion():
    """3 tracks, 20 s at 30 fps, 1 Hz flexion, the benchmark's noise model."""
    return synthetic_motion(fps=30.0, duration_s=20.0, n_tracks=3, flexion_hz=1.0, seed=3)


# --------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", [1, 2])
def test_transition_is_the_exact_white_noise_model(order):
    F, Q = transition(order, 2.0, np.array([0.0, 0.5]))
    assert np.allclose(F[0], np.eye(order + 1)) and np.allclose(Q[0], 0)
    if order == 1:
        assert np.allclose(F[1], [[1, 0.5], [0, 1]])
        assert np.allclose(Q[1], 2.0 * np.array([[0.5**3 / 3, 0.5**2 / 2], [0.5**2 / 2, 0.5]]))
    assert np.allclose(Q[1], Q[1].T) and np.linalg.eigvalsh(Q[1]).min() > 0


@pytest.mark.parametrize("order", [1, 2])
def test_vectorised_filter_and_smoother_equal_filterpy(order):
    rng = np.random.default_rng(0)
    n_time, n_ser = 80, 4
    time_s = np.cumsum(rng.uniform(0.01, 0.05, n_time))  # irregular timestamps
    z = np.cumsum(rng.normal(0, 3, (n_time, 2, n_ser)), axis=0) + 100
    var = rng.uniform(1, 30, (n_time, n_ser))
    valid = rng.random((n_time, n_ser)) > 0.2
    valid[:7, 3] = False  # this series starts late
    valid[[0, 0, 0], [0, 1, 2]] = True
    init_var = np.array([1e6, 400.0**2, 3000.0**2])[: order + 1]
    F, Q = transition(order, 5e4, np.diff(time_s, prepend=time_s[:1]))
    fw = forward_filter(z, var, valid, time_s, F, Q, init_var)
    x_s, P_s = rts_smoother(fw, F, Q)
    for m in range(n_ser):
        f0 = int(np.argmax(valid[:, m]))
        for c in range(2):
            kf = KalmanFilter(dim_x=order + 1, dim_z=1)
            kf.x = np.zeros(order + 1)
            kf.x[0] = z[f0, c, m]
            kf.P = np.diag(init_var)
            kf.H = np.eye(1, order + 1)
            Fs, Qs = list(F[f0:]), list(Q[f0:])
            Fs[0], Qs[0] = np.eye(order + 1), np.zeros((order + 1, order + 1))
            zs = [np.array([z[t, c, m]]) if valid[t, m] else None for t in range(f0, n_time)]
            Rs = [np.array([[var[t, m]]]) for t in range(f0, n_time)]
            xf, pf, _, _ = kf.batch_filter(zs, Fs=Fs, Qs=Qs, Rs=Rs)
            xs, ps, _, _ = kf.rts_smoother(xf, pf, Fs=Fs, Qs=Qs)
            np.testing.assert_allclose(fw.x[f0:, :, c, m], xf, rtol=0, atol=1e-6)
            np.testing.assert_allclose(fw.P[f0:, :, :, m], pf, rtol=1e-9, atol=1e-6)
            np.testing.assert_allclose(x_s[f0:, :, c, m], xs, rtol=0, atol=1e-6)
            np.testing.assert_allclose(P_s[f0:, :, :, m], ps, rtol=1e-9, atol=1e-6)


def test_local_rerun_equals_a_full_rerun(motion):
    t = motion.noisy["time"].values
    n_time = t.size
    z = motion.noisy["position"].values.reshape(n_time, 2, -1).astype(float)
    conf = motion.noisy["confidence"].values.reshape(n_time, -1).astype(float)
    prob = KalmanSmoother().problem(z, conf, t)
    fw = prob.filter()
    x_s, P_s = rts_smoother(fw, prob.F, prob.Q)
    check = _Recheck(prob, conf, 0.5)
    reject, admit = check(prob, fw, x_s, P_s, None)
    assert reject.sum() > 10
    touched = np.zeros_like(reject)
    prob2 = rerun(prob, fw, x_s, P_s, reject, admit, touched=touched)
    full = prob2.filter()
    xs_full, Ps_full = rts_smoother(full, prob.F, prob.Q)
    assert (full.accepted == fw.accepted).all()
    np.testing.assert_allclose(x_s, xs_full, rtol=0, atol=1e-6)
    np.testing.assert_allclose(P_s, Ps_full, rtol=1e-8, atol=1e-6)
    # the next round, computed on the touched region only, equals a full recomputation
    part = check(prob2, fw, x_s, P_s, touched)
    whole = _Recheck(prob2, conf, 0.5)(prob2, fw, x_s, P_s, None)
    assert (part[0] == whole[0]).all() and (part[1] == whole[1]).all()


# --------------------------------------------------------------------------------------
# Known answers
# --------------------------------------------------------------------------------------


def test_constant_velocity_track_is_reproduced():
    t = np.arange(90) / 30.0
    xy = np.stack([100 + 120 * t, 500 - 40 * t], axis=1)
    out = smooth(poses_from_track(xy, t), "kalman")
    truth = poses_from_track(xy, t)["position"].values
    assert np.nanmax(err(out["position"].values, truth)) < 0.05  # the weak velocity prior


@pytest.mark.parametrize("method", sorted(METHODS))
def test_a_keypoint_never_observed_stays_nan(method, motion):
    ds = synthetic_motion(duration_s=4.0, never_seen=["left_small_toe", "spine_03"], seed=1).noisy
    out = smooth(ds, method)
    for name in ("left_small_toe", "spine_03"):
        k = KEYPOINT_INDEX[name]
        assert np.isnan(out["position"].values[:, :, k]).all()
        assert np.isnan(out["confidence"].values[:, k]).all() or method == "none"


@pytest.mark.parametrize("method", ["kalman", "kalman-ca", "spine-prior", "butterworth"])
def test_short_gaps_bridged_long_gaps_and_ends_stay_nan(method):
    t = np.arange(300) / 30.0
    xy = np.stack([400 + 50 * np.sin(2 * np.pi * 0.5 * t), 300 + 30 * np.cos(2 * np.pi * t)], 1)
    ds = poses_from_track(xy, t)
    pos = ds["position"].values.copy()
    pos[:5] = np.nan  # before the first observation
    pos[50:59] = np.nan  # 0.3 s: bridged
    pos[100:160] = np.nan  # 2 s: left NaN
    pos[290:] = np.nan  # after the last observation
    ds["position"].values[:] = pos
    out = smooth(ds, method, max_gap_s=0.5)["position"].values
    assert np.isnan(out[:5]).all() and np.isnan(out[290:]).all()
    assert np.isnan(out[100:160]).all()
    assert np.isfinite(out[50:59]).all() and np.isfinite(out[5:100]).all()
    truth = poses_from_track(xy, t)["position"].values
    worst = np.nanmax(err(out[50:59], truth[50:59]))
    assert worst < (10.0 if method == "butterworth" else 3.0)  # linear vs model-based bridge


def test_an_outlier_is_rejected_and_confidence_lowered():
    t = np.arange(120) / 30.0
    xy = np.stack([300 + 80 * np.sin(2 * np.pi * 0.7 * t), 400 + 10 * t], axis=1)
    ds = poses_from_track(xy, t)
    truth = ds["position"].values.copy()
    ds["position"].values[60, 0] += 80.0  # an 80 px jump of every keypoint
    ds["position"].values[0, 1] -= 60.0  # and a wrong first point (no forward gate there)
    out = smooth(ds, "kalman")
    e = err(out["position"].values, truth)
    assert e[60].max() < 2.0 and e[1:].max() < 5.0
    assert np.isnan(e[0, 0::2]).all()  # x moved: before the first accepted point: not invented
    assert (out["confidence"].values[60] < 0.9).all()
    assert out["confidence"].values[30, 0, 0] == pytest.approx(0.9)


@pytest.mark.parametrize(("conf", "kept"), [(0.35, False), (0.8, True)])
def test_a_lone_doubtful_detection_inside_a_dropout_is_not_trusted(conf, kept):
    t = np.arange(90) / 30.0
    xy = np.stack([300 + 20 * t, 400 + 0 * t], axis=1)
    confidence = np.full(90, 0.9)
    confidence[45] = conf
    ds = poses_from_track(xy, t, confidence)
    ds["position"].values[42:49] = np.nan
    ds["position"].values[45] = poses_from_track(xy, t)["position"].values[45] + 15.0
    out = smooth(ds, "kalman")["position"].values
    truth = poses_from_track(xy, t)["position"].values
    e = err(out, truth)[45]
    assert (e.min() > 5.0) == kept  # a confident point is believed, a doubtful one is not
    assert (e.max() < 1.0) == (not kept)
    assert np.isfinite(out[42:49]).all()  # the 0.23 s hole is bridged either way


def test_a_fast_genuine_movement_is_followed_not_gated_out():
    t = np.arange(150) / 30.0
    x = np.where(t < 2.5, 300.0, 300.0 + 900.0 * (t - 2.5))  # starts moving at 900 px/s
    xy = np.stack([x, 400 + 0 * t], axis=1)
    out = smooth(poses_from_track(xy, t), "kalman")["position"].values
    truth = poses_from_track(xy, t)["position"].values
    e = err(out, truth)
    assert np.nanmax(e[:70]) < 15 and np.nanmax(e[90:]) < 2.0
    assert np.isfinite(out).all()


def test_the_same_motion_at_25_and_120_fps_gives_similar_error():
    res = {}
    for fps in (25.0, 120.0):
        m = synthetic_motion(fps=fps, duration_s=10.0, flexion_hz=1.0, seed=5)
        out = smooth(m.noisy, "kalman")["position"].values
        raw = m.noisy["position"].values
        res[fps] = rmse(err(out, m.truth["position"].values), np.isfinite(raw[:, 0]))
    assert res[25.0] < 3.5 and res[120.0] < 3.5
    assert 0.3 < res[120.0] / res[25.0] < 1.0  # more frames per second: a bit better


def test_irregular_timestamps_are_handled():
    m = synthetic_motion(fps=30.0, duration_s=10.0, time_jitter=0.3, seed=2)
    out = smooth(m.noisy, "kalman")["position"].values
    raw = m.noisy["position"].values
    assert rmse(err(out, m.truth["position"].values), np.isfinite(raw[:, 0])) < 3.5


def test_causal_mode_uses_the_past_only():
    m = synthetic_motion(fps=30.0, duration_s=6.0, seed=4)
    ds = m.noisy
    changed = ds.copy(deep=True)
    changed["position"].values[100:] += 50.0
    a = smooth(ds, "kalman-causal")["position"].values
    b = smooth(changed, "kalman-causal")["position"].values
    np.testing.assert_array_equal(a[:100], b[:100])
    offline = smooth(changed, "kalman")["position"].values
    assert not np.allclose(np.nan_to_num(a[90:100]), np.nan_to_num(offline[90:100]))


# --------------------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------------------


def test_smooth_returns_a_new_dataset_and_logs_its_parameters(motion):
    ds = motion.noisy
    before = ds.copy(deep=True)
    out = smooth(ds, "kalman", process_noise=5e5, max_gap_s=0.25)
    xr.testing.assert_identical(ds, before)
    assert out["position"].dims == ds["position"].dims and out["position"].dtype == np.float32
    assert out["confidence"].dtype == np.float32
    assert list(out["keypoint"].values) == list(ds["keypoint"].values)
    entry = read_log(out)[-1]
    assert entry["operation"] == "smooth"
    p = entry["parameters"]
    assert p["method"] == "kalman" and p["process_noise"] == 5e5 and p["max_gap_s"] == 0.25
    assert p["gate"] == 4.0 and p["measurement_noise"] == 3.0
    assert {k: v for k, v in out.attrs.items() if k != "log"} == {
        k: v for k, v in ds.attrs.items() if k != "log"
    }


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_runs_through_smooth(method, motion):
    out = smooth(motion.noisy.isel(time=slice(0, 90)), method)
    assert read_log(out)[-1]["parameters"]["method"].startswith(method.split("-")[0])
    pos = out["position"].values
    assert np.array_equal(np.isnan(pos[:, 0]), np.isnan(out["confidence"].values)) or (
        method == "none"
    )


@pytest.mark.parametrize("n_time", [0, 1, 2])
@pytest.mark.parametrize("n_tracks", [0, 1])
def test_tiny_inputs(n_time, n_tracks):
    pos = np.full((n_time, 2, NUM_KEYPOINTS, n_tracks), 100.0)
    ds = make_poses(
        pos,
        np.full((n_time, NUM_KEYPOINTS, n_tracks), 0.9),
        np.arange(n_time) / 30.0,
        list(range(1, n_tracks + 1)),
        **ATTRS,
    )
    for method in METHODS:
        out = smooth(ds, method)
        assert out["position"].shape == ds["position"].shape
        np.testing.assert_allclose(out["position"].values, pos, atol=1e-3)


def test_strategy_objects_and_errors(motion):
    ds = motion.noisy.isel(time=slice(0, 60))
    out = smooth(ds, ButterworthSmoother(cutoff_hz=4.0))
    assert read_log(out)[-1]["parameters"]["cutoff_hz"] == 4.0
    assert make_smoother("kalman-ca").name == "kalman-ca"
    with pytest.raises(TypeError, match="strategy object"):
        smooth(ds, KalmanSmoother(), gate=3.0)
    with pytest.raises(ValueError, match="method"):
        smooth(ds, "savgol")
    with pytest.raises(ValueError, match="measurement_noise"):
        KalmanSmoother(measurement_noise=0.0)
    with pytest.raises(ValueError, match="model"):
        KalmanSmoother(model="cj")
    with pytest.raises(ValueError, match="causal"):
        SpinePriorSmoother(causal=True)


def test_confidence_out_is_kept_where_observed_and_lower_where_bridged():
    t = np.arange(90) / 30.0
    xy = np.stack([200 + 30 * t, 300 + 0 * t], axis=1)
    conf = np.linspace(0.6, 0.9, 90)
    ds = poses_from_track(xy, t, conf)
    ds["position"].values[40:46] = np.nan
    out = smooth(ds, "kalman")["confidence"].values[:, 0, 0]
    np.testing.assert_allclose(out[:40], conf[:40], rtol=1e-6)
    assert (out[40:46] <= min(conf[39], conf[46]) + 1e-6).all()
    assert (out[40:46] > 0).all()


# --------------------------------------------------------------------------------------
# The other strategies
# --------------------------------------------------------------------------------------


def test_butterworth_passes_slow_motion_and_removes_fast_jitter():
    t = np.arange(600) / 60.0
    slow = 50 * np.sin(2 * np.pi * 1.0 * t)
    jitter = 5 * np.sin(2 * np.pi * 20.0 * t)
    ds = poses_from_track(np.stack([300 + slow + jitter, 300 + 0 * t], 1), t)
    out = smooth(ds, "butterworth", cutoff_hz=6.0)["position"].values[:, 0, 0, 0]
    assert np.abs(out - 300 - slow)[60:-60].max() < 0.5


def test_one_euro_is_causal_and_lags_a_ramp_less_at_higher_beta():
    t = np.arange(300) / 60.0
    ds = poses_from_track(np.stack([100 + 200 * t, 300 + 0 * t], 1), t)
    lags = []
    for beta in (0.0, 0.05):
        out = smooth(ds, OneEuroSmoother(beta=beta))["position"].values[:, 0, 0, 0]
        lags.append(np.mean(100 + 200 * t[150:] - out[150:]) / 200.0)
    assert lags[0] > lags[1] > 0  # behind the ramp (causal), less with the speed term


def test_spine_prior_without_shape_term_equals_kalman(motion):
    ds = motion.noisy.isel(time=slice(0, 240))
    a = smooth(ds, "kalman", reacquire_s=None)["position"].values
    b = smooth(ds, "spine-prior", spine_sigma=np.inf, reacquire_s=None)["position"].values
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    assert np.nanmax(np.abs(a - b)) < 1e-3  # float32 output; the solvers agree to 1e-9 px


def test_spine_prior_helps_when_noise_dominates_bending():
    m = synthetic_motion(
        fps=30.0, duration_s=10.0, n_tracks=2, amplitude_deg=10.0, noise_px=(5.0, 8.0), seed=6
    )
    chain = list(SPINE_CHAIN_INDICES)
    raw = spine_segment_angles(m.noisy["position"].values, m.facing)
    seen = np.isfinite(raw)
    res = {}
    for method in ("kalman", "spine-prior"):
        pos = smooth(m.noisy, method)["position"].values
        res[method] = rmse(spine_segment_angles(pos, m.facing) - m.angles_deg, seen)
        assert np.isfinite(pos[:, :, chain]).mean() > 0.9
    assert res["spine-prior"] < 0.85 * res["kalman"]


@pytest.mark.parametrize("method", ["kalman", "spine-prior"])
def test_smoothing_turns_with_the_image(method):
    """Rotating the image by 90 degrees rotates the result: no axis is special."""
    m = synthetic_motion(fps=30.0, duration_s=4.0, n_tracks=2, seed=8)
    ds = m.noisy
    turned = ds.copy(deep=True)
    x, y = ds["position"].values[:, 0], ds["position"].values[:, 1]
    turned["position"].values[:, 0], turned["position"].values[:, 1] = 2000.0 - y, x
    a = smooth(ds, method)["position"].values
    b = smooth(turned, method)["position"].values
    back = np.stack([b[:, 1], 2000.0 - b[:, 0]], axis=1)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(back))
    assert np.nanmax(np.abs(a - back)) < 1e-3


def test_spine_reference_is_validated_and_logged(motion):
    with pytest.raises(ValueError, match="spine_reference"):
        SpinePriorSmoother(spine_reference="curved")
    out = smooth(motion.noisy.isel(time=slice(0, 60)), "spine-prior", spine_reference="straight")
    p = read_log(out)[-1]["parameters"]
    assert p["method"] == "spine-prior" and p["spine_reference"] == "straight"
    assert p["spine_sigma"] == 4.0 and "causal" not in p


# --------------------------------------------------------------------------------------
# The Done-when figures, at modest size
# --------------------------------------------------------------------------------------


def test_done_when_figures_on_the_synthetic_benchmark(motion):
    truth = motion.truth["position"].values
    raw = motion.noisy["position"].values
    seen = np.isfinite(raw[:, 0])
    raw_ang = spine_segment_angles(raw, motion.facing)
    ang_seen = np.isfinite(raw_ang)
    pos_raw = rmse(err(raw, truth), seen)
    ang_raw = rmse(raw_ang - motion.angles_deg, ang_seen)
    kal = smooth(motion.noisy, "kalman")["position"].values
    but = smooth(motion.noisy, "butterworth")["position"].values
    pos_k = rmse(err(kal, truth), seen)
    ang_k = rmse(spine_segment_angles(kal, motion.facing) - motion.angles_deg, ang_seen)
    ang_b = rmse(spine_segment_angles(but, motion.facing) - motion.angles_deg, ang_seen)
    assert pos_k <= 0.5 * pos_raw
    assert ang_k <= 0.5 * ang_raw
    assert ang_k < ang_b
    assert np.nanmax(err(kal, truth)[motion.outlier]) <= 15.0


@pytest.mark.parametrize("method", ["kalman", "kalman-ca", "kalman-causal", "spine-prior",
                                    "butterworth", "one-euro", "none"])
def test_tracks_smoothed_a_few_at_a_time_equal_one_call(method, monkeypatch) -> None:
    """smooth() bounds its memory by smoothing a few tracks per call (the Kalman smoothers:
    a few keypoints of a long track); every method treats tracks independently, the
    Kalman smoothers keypoints too, so the result is the same, bit for bit."""
    import spinepose_sports.smoothing as smoothing

    noisy = synthetic_motion(n_tracks=5, duration_s=3.0, seed=4).noisy
    position = noisy["position"].values.copy()
    position[:20, :, :, 1] = np.nan  # tracks that start and end at different times
    position[60:, :, :, 3] = np.nan
    noisy = noisy.assign(position=noisy["position"].copy(data=position))
    n_time = noisy.sizes["time"]
    results = []
    for track_frames in (10**9, 2 * n_time, 1):  # all at once, two per call, one per call
        monkeypatch.setattr(smoothing, "CHUNK_TRACK_FRAMES", track_frames)
        results.append(smooth(noisy, method))
    for other in results[1:]:
        for var in ("position", "confidence"):
            np.testing.assert_array_equal(other[var].values, results[0][var].values)
