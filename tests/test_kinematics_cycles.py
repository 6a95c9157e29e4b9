"""Repetitions, phases and the lumbopelvic rhythm on synthetic cyclic movements."""

from __future__ import annotations

import numpy as np
import pytest
from kinematics_generator import (
    REP_WEIGHTS,
    poses_dataset,
    render,
    repetition_motion,
    trunk_lean,
)

from spinepose_sports.kinematics import (
    RepetitionParams,
    add_repetitions,
    compute_kinematics,
    find_repetitions,
    repetitions_table,
)

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def _kin(
    seed: int,
    noise_px: float = 0.0,
    view: str = "right_side",
    facing: str = "right",
    scale: float = 400.0,
    **kwargs,
):
    m, cmd, truth = repetition_motion(n_reps=10, seed=seed)
    ds = poses_dataset([render(m, view, facing, scale, (900.0, 600.0), noise_px, seed)], m.time_s)
    return compute_kinematics(ds, **kwargs), m, cmd, truth


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_ten_repetitions_exact_noise_free(seed):
    kin, m, cmd, truth = _kin(seed)
    reps = repetitions_table(kin)
    assert len(reps) == 10
    assert list(reps["number"]) == list(range(1, 11))
    assert (reps["track"] == 1).all()
    t = m.time_s
    trunk = trunk_lean(m.theta)
    for i, row in reps.iterrows():
        # the peak is the sample where the command (and the trunk flexion) is largest
        in_rep = (t >= truth.start_s[i]) & (t <= truth.end_s[i])
        k = np.flatnonzero(in_rep)[np.argmax(cmd[in_rep])]
        assert row["peak_s"] == pytest.approx(t[k])
        assert row["peak_value"] == pytest.approx(trunk[k], abs=0.01)
        # start / end: where the movement leaves / returns to within 5 % of its amplitude
        rise, fall = truth.peak_s[i] - truth.start_s[i], truth.end_s[i] - truth.peak_s[i]
        assert truth.start_s[i] - 0.04 <= row["start_s"] <= truth.start_s[i] + 0.16 * rise
        assert truth.end_s[i] - 0.16 * fall <= row["end_s"] <= truth.end_s[i] + 0.04
        assert row["time_to_peak_s"] == pytest.approx(row["peak_s"] - row["start_s"])
        assert row["duration_s"] == pytest.approx(row["end_s"] - row["start_s"])
        # range of motion over the trough-to-trough window
        w = (t >= row["window_start_s"]) & (t <= row["window_end_s"])
        assert row["rom"] == pytest.approx(trunk[w].max() - trunk[w].min(), abs=0.01)
    # tempo and amplitude really vary
    assert np.ptp(reps["duration_s"]) > 0.8 and np.ptp(reps["rom"]) > 15


@pytest.mark.parametrize("seed,noise,scale", [(0, 0.3, 400.0), (5, 0.5, 250.0), (6, 1.0, 400.0)])
def test_ten_repetitions_with_a_little_noise(seed, noise, scale):
    kin, _m, _cmd, truth = _kin(seed, noise, "left_side", "left", scale)
    reps = repetitions_table(kin)
    assert len(reps) == 10
    np.testing.assert_allclose(reps["peak_s"], truth.peak_s, atol=0.15)


def test_lumbopelvic_rhythm_matches_the_prescription():
    kin, _m, _cmd, _truth = _kin(1)
    reps = repetitions_table(kin)
    # theta_i = base_i + w_i * command: pelvis turns w0 * c, lumbar (levels spine_01 to
    # spine_03 (T12/L1), segments 0..3) bends (w3 - w0) * c
    w0, w2 = REP_WEIGHTS[0], REP_WEIGHTS[3]
    np.testing.assert_allclose(reps["lumbopelvic_ratio"], (w2 - w0) / w0, rtol=1e-3)
    np.testing.assert_allclose(reps["lumbar_share"], (w2 - w0) / w2, rtol=1e-3)
    np.testing.assert_allclose(reps["lumbar_share_early"], (w2 - w0) / w2, rtol=1e-3)
    np.testing.assert_allclose(
        reps["pelvis_rotation"] / reps["lumbar_change"], w0 / (w2 - w0), rtol=1e-3
    )
    assert (reps["pelvis_rotation"] > 0).all()


def test_phases_and_repetition_numbers_per_frame():
    kin, *_ = _kin(2)
    reps = repetitions_table(kin)
    number = kin["repetition"].isel(individual=0).values
    phase = kin["phase"].isel(individual=0).values
    t = kin["time"].values
    for _, row in reps.iterrows():
        inside = (t >= row["start_s"]) & (t <= row["end_s"])
        assert (number[inside] == row["number"]).all()
        rising = (t >= row["start_s"]) & (t <= row["peak_s"])
        assert (phase[rising] == "to_peak").all()
        falling = (t > row["peak_s"]) & (t <= row["end_s"])
        assert (phase[falling] == "from_peak").all()
    assert (phase[number == 0] == "none").all()
    assert number.max() == 10


def test_other_driving_signals_and_polarity():
    kin, *_ = _kin(3)
    lumbar = add_repetitions(kin, RepetitionParams(signal="lumbar", min_prominence_deg=5.0))
    assert len(repetitions_table(lumbar)) == 10
    assert lumbar.attrs["repetition_signal"] == "lumbar"
    seg = add_repetitions(kin, RepetitionParams(signal="segment_angle:spine_04-spine_05"))
    assert len(repetitions_table(seg)) == 10
    knee = add_repetitions(kin, RepetitionParams(signal="right_knee"))
    assert len(repetitions_table(knee)) == 10
    # an upside-down signal: repetitions are troughs
    t = kin["time"].values
    values = -kin["trunk_flexion"].isel(individual=0).values
    assert len(find_repetitions(values, t, RepetitionParams(polarity="min"))) == 10
    assert len(find_repetitions(values, t, RepetitionParams(polarity="max"))) < 10
    with pytest.raises(ValueError, match="signal"):
        add_repetitions(kin, RepetitionParams(signal="nonsense"))
    with pytest.raises(ValueError, match="polarity"):
        RepetitionParams(polarity="up")


def test_short_gaps_bridged_long_gaps_split():
    t = np.arange(0, 20, 1 / 30)
    x = 40 * np.clip(np.sin(2 * np.pi * 0.25 * t), 0, None)  # 5 peaks at 1, 5, 9, 13, 17 s
    y = x.copy()
    y[(t > 4.8) & (t < 5.0)] = np.nan  # 0.17 s hole at a peak: bridged
    assert len(find_repetitions(y, t)) == 5
    z = x.copy()
    z[(t > 8) & (t < 10)] = np.nan  # 2 s hole swallowing a peak: split, that one lost
    assert len(find_repetitions(z, t)) == 4
    assert find_repetitions(np.full_like(t, np.nan), t) == []


def test_noise_wiggles_are_not_repetitions():
    rng = np.random.default_rng(0)
    t = np.arange(0, 10, 1 / 60)
    flat = 20 + rng.normal(0, 1.5, t.size)  # 1.5 deg jitter on a held posture
    assert find_repetitions(flat, t) == []
