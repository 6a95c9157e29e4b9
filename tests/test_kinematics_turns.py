"""Known answers for issue 11: athletes who turn, somersaults, wild keypoints, regions that
add up, low-confidence points under every smoother, and the per-frame quality flag."""

from __future__ import annotations

import numpy as np
import pytest
from kinematics_generator import (
    MIRRORED,
    NORMAL_FACING,
    TURNED,
    VIEWS,
    Motion,
    default_motion,
    poses_dataset,
    render,
    render_heading,
    render_turn,
    somersault_motion,
)

from spinepose_sports.kinematics import (
    QUALITY_CHECKS,
    compute_kinematics,
    kinematics_table,
    summary_table,
    wrap,
)
from spinepose_sports.skeleton import KEYPOINT_INDEX, MIN_KEYPOINT_CONFIDENCE
from spinepose_sports.smoothing import METHODS, OneEuroSmoother, smooth

TOL = 0.01  # deg
SPINE = ("segment_angle", "segmental_angle", "regional_angle", "spine_bend", "trunk_flexion",
         "pelvis_tilt", "curvature", "flexion_curve")
RELATIVE = ("segmental_angle", "regional_angle", "spine_bend", "joint_angle")


def _kin(renders, t, **kw):
    kw.setdefault("detect_repetitions", False)
    return compute_kinematics(poses_dataset(renders, t), **kw)


def _values(kin, name, individual="track_1"):
    da = kin[name].sel(individual=individual)
    return da.transpose("time", ...).values


@pytest.mark.parametrize("mirrored", [False, True])
@pytest.mark.parametrize("view", VIEWS)
def test_athlete_turning_round_mid_track(view, mirrored):
    """Every spine and Halpe angle away from the turn equals the angle of the same
    frames rendered without a turn; the uncertain window is short."""
    m = default_motion(n_frames=120)
    facing = NORMAL_FACING[view]
    if mirrored:
        facing = MIRRORED[facing]
    before, after = (view, facing), (TURNED[view], MIRRORED[facing])
    k = 60
    kin = _kin([render_turn(m, before, after, k)], m.time_s)
    sign = kin["facing_sign"].values[:, 0]
    far = np.abs(np.arange(len(m.time_s)) - k) > 3  # away from the turn (0.1 s each side)
    for (v, f), part in ((before, np.arange(120) < k), (after, np.arange(120) >= k)):
        ref = _kin([render(m, v, f)], m.time_s, view=v, facing=f)
        rows = part & far
        assert set(kin["facing_per_frame"].values[rows, 0]) == {f}
        assert set(kin["view_per_frame"].values[rows, 0]) == {v}
        for name in (*SPINE, "joint_angle", "halpe_segment_angle"):
            got, want = _values(kin, name)[rows], _values(ref, name)[rows]
            np.testing.assert_allclose(got, want, atol=TOL, err_msg=name)
    uncertain = kin["facing_uncertain"].values[:, 0]
    assert uncertain.sum() <= 3 and not uncertain[far].any()
    assert np.isnan(sign[uncertain]).all() and np.isfinite(sign[~uncertain]).all()
    theta = _values(kin, "segment_angle")
    assert np.isnan(theta[uncertain]).all()  # never guessed


def test_continuous_turn_in_a_side_view_has_a_short_uncertain_window():
    """A 1 s turn from facing right to facing left, the view fixed to a side view: the
    frames whose sign the body does not give form one window shorter than 0.5 s, and
    the sign is right on every other frame."""
    fps, n = 30.0, 150
    t = np.arange(n) / fps
    psi = np.clip((t - 2.0) / 1.0, 0, 1) * 180.0  # 0 -> 180 deg between 2 s and 3 s
    m = Motion(t, np.tile([-10.0, -4, 2, 8, 12, 8, -2, 0, 4], (n, 1)))
    kin = _kin([render_heading(m, psi)], t, view="right_side")
    sign = kin["facing_sign"].values[:, 0]
    uncertain = kin["facing_uncertain"].values[:, 0]
    idx = np.flatnonzero(uncertain)
    assert idx.size and np.all(np.diff(idx) == 1)  # one window
    assert (idx.size) / fps < 0.5
    truth = np.where(np.cos(np.radians(psi)) > 0, 1.0, -1.0)
    ok = ~uncertain
    assert np.all(sign[ok] == truth[ok])
    assert 80 < psi[idx].min() and psi[idx].max() < 100  # where the athlete faces the camera


def test_somersault_one_turn_relative_angles_bounded():
    m = somersault_motion(n_frames=91, turns=1.0)
    kin = _kin([render(m, "right_side", "right")], m.time_s)
    assert set(kin["facing_per_frame"].values[:, 0]) == {"right"}
    assert not kin["facing_uncertain"].values.any()
    trunk = kin["trunk_flexion_unwrapped"].values[:, 0]
    assert trunk[-1] - trunk[0] == pytest.approx(360.0, abs=TOL)
    halpe = kin["halpe_segment_angle_unwrapped"].sel(body_segment="trunk").values[:, 0]
    assert abs(halpe[-1] - halpe[0]) == pytest.approx(360.0, abs=TOL)
    wrapped = kin["trunk_flexion"].values[:, 0]
    assert np.all((wrapped > -180) & (wrapped <= 180))
    np.testing.assert_allclose(wrap(wrapped - trunk), 0.0, atol=1e-9)
    segmental = _values(kin, "segmental_angle")
    np.testing.assert_allclose(segmental, np.broadcast_to(np.diff(m.theta[0]), segmental.shape),
                               atol=TOL)
    for name in RELATIVE:
        v = _values(kin, name)
        assert np.all(v[np.isfinite(v)] > -180) and np.all(v[np.isfinite(v)] <= 180), name


def test_wild_keypoints_never_leave_the_circle():
    rng = np.random.default_rng(11)
    n = 200
    t = np.arange(n) / 30.0
    xy = rng.uniform([0, 0], [1920, 1080], (n, 37, 2)).transpose(0, 2, 1)
    conf = rng.uniform(0.3, 1.0, (n, 37))
    kin = _kin([(xy, conf)], t, detect_repetitions=True)
    for name in RELATIVE:
        v = kin[name].values
        assert np.all(v[np.isfinite(v)] > -180) and np.all(v[np.isfinite(v)] <= 180), name
    table = kinematics_table(kin)
    rel = table[table["quantity"].isin(RELATIVE)]
    assert rel["value"].abs().max() <= 180
    flags = kin["quality_flags"].sel(individual="track_1")
    assert flags.sel(quality_check="implausible_angle").values.sum() > n / 2
    assert kin["valid"].values.sum() < n / 4


def test_evenly_bent_chain_regions_add_up():
    n = 20
    t = np.arange(n) / 30.0
    bend = np.linspace(0, 10, n)[:, None]  # each level bends the same, up to 80 in total
    m = Motion(t, -20.0 + bend * np.arange(9))
    kin = _kin([render(m, "left_side", "left")], t)
    reg = _values(kin, "regional_angle")
    np.testing.assert_allclose(reg, bend * np.array([3, 2, 3]), atol=TOL)
    np.testing.assert_allclose(_values(kin, "spine_bend")[:, None], bend * 8, atol=TOL)
    motion = default_motion(n_frames=60)
    kin = _kin([render(motion, "front", "left")], motion.time_s)
    np.testing.assert_allclose(_values(kin, "regional_angle").sum(axis=1),
                               _values(kin, "spine_bend"), atol=1e-9)
    np.testing.assert_allclose(_values(kin, "spine_bend"),
                               motion.theta[:, 8] - motion.theta[:, 0], atol=TOL)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_low_confidence_spine_point_under_every_smoother(method):
    m = default_motion(n_frames=40)
    xy, conf = render(m, "right_side", "right")
    conf[10:30, KEYPOINT_INDEX["spine_02"]] = 0.02
    poses = smooth(poses_dataset([(xy, conf)], m.time_s), method)
    kin = compute_kinematics(poses, detect_repetitions=False)
    lumbar = kin["regional_angle"].sel(region="lumbar").values[:, 0]
    valid = kin["valid"].values[:, 0]
    low = kin["quality_flags"].sel(quality_check="low_confidence").values[:, 0]
    inside = np.arange(40)[12:28]  # well inside the stretch (smoothers may bridge its ends)
    assert np.all(np.isnan(lumbar[inside]) | low[inside])
    assert not valid[inside].any()
    assert np.isfinite(lumbar[:5]).all() and valid[:5].all()


def test_one_euro_without_gap_limit_is_not_nan():
    m = default_motion(n_frames=30)
    xy, conf = render(m, "right_side", "right")
    conf[10:14] = 0.0
    ds = poses_dataset([(xy, conf)], m.time_s)
    out = smooth(ds, OneEuroSmoother(max_gap_s=None))
    assert np.isfinite(out["position"].values).sum() > 0.8 * np.isfinite(xy).sum()
    np.testing.assert_allclose(out["position"].values[0], xy[0][..., None], atol=1e-3)


def test_quality_reasons_and_valid_only_summaries():
    m = default_motion(n_frames=60)
    xy, conf = render(m, "right_side", "right")
    xy[20, :, KEYPOINT_INDEX["spine_03"]] += (150.0, 0.0)  # a point thrown off the chain
    conf[40, KEYPOINT_INDEX["neck_02"]] = MIN_KEYPOINT_CONFIDENCE / 2
    kin = _kin([(xy, conf)], m.time_s)
    flags = kin["quality_flags"].sel(individual="track_1").transpose("time", "quality_check")
    assert list(kin["quality_check"].values) == list(QUALITY_CHECKS)
    f = {c: np.flatnonzero(flags.sel(quality_check=c).values) for c in QUALITY_CHECKS}
    assert list(f["implausible_angle"]) == [20] and list(f["segment_length"]) == [20]
    assert list(f["low_confidence"]) == [40] and f["facing_uncertain"].size == 0
    assert list(np.flatnonzero(~kin["valid"].values[:, 0])) == [20, 40]
    table = kinematics_table(kin)
    assert set(table.loc[table["frame"] == 20, "quality"]) == {"implausible_angle;segment_length"}
    assert set(table.loc[table["frame"] == 21, "valid"]) == {1}
    summary = summary_table(kin)
    row = summary[(summary["quantity"] == "segmental_angle") & (summary["label"] == "spine_03")]
    # spine_03 is finite in both invalid frames (neck_02 is not one of its points)
    assert int(row["n_valid"].iloc[0]) == 58 and int(row["n_excluded"].iloc[0]) == 2
    assert int(row["valid_frames"].iloc[0]) == 58 and int(row["invalid_frames"].iloc[0]) == 2
