"""The dashboard and the overlay show invalid stretches greyed and a turning athlete's
facing (issue 11)."""

from __future__ import annotations

import numpy as np
from kinematics_generator import default_motion, poses_dataset, render_turn

from spinepose_sports.kinematics import compute_kinematics
from spinepose_sports.plots.figures import INVALID_BAND, kinematogram_figure
from spinepose_sports.render.annotate import INVALID_COLOR, FrameAngles, annotate_frame
from spinepose_sports.skeleton import KEYPOINT_INDEX


def _turning_kin():
    m = default_motion(n_frames=90)
    xy, conf = render_turn(m, ("right_side", "right"), ("left_side", "left"), 45)
    conf[10:15, KEYPOINT_INDEX["spine_02"]] = 0.05
    return compute_kinematics(poses_dataset([(xy, conf)], m.time_s), detect_repetitions=False)


def test_kinematogram_greys_invalid_stretches_and_labels_facing():
    fig = kinematogram_figure(_turning_kin(), "track_1")
    grey = [s for s in fig.layout.shapes if s.fillcolor == INVALID_BAND]
    assert len(grey) == 1 and grey[0].x0 < 10 / 30 < 14 / 30 < grey[0].x1
    labels = [a.text for a in fig.layout.annotations]
    assert labels == ["faces right", "faces left"]


def test_overlay_greys_the_spine_and_flags_the_readout():
    image = np.zeros((400, 400, 3), np.uint8)
    xy = np.full((1, 37, 2), np.nan)
    chain = [KEYPOINT_INDEX[n] for n in ("hip", "spine_01", "spine_02", "spine_03", "spine_04")]
    xy[0, chain] = np.stack([np.full(5, 200.0), np.linspace(300, 150, 5)], axis=1)
    score = np.full((1, 37), 0.9)
    box = np.array([[150.0, 100, 250, 320]])
    angles = FrameAngles(np.zeros((1, 8)), np.zeros(1), np.zeros((1, 3)), valid=np.array([False]))
    out = annotate_frame(image, box, np.array([1]), xy, score, angles=angles, draw_boxes=False)
    assert tuple(int(v) for v in out[225, 200]) == INVALID_COLOR
    assert angles.readout_rows(0)[-1][0] == "flagged"
    ok = FrameAngles(np.zeros((1, 8)), np.zeros(1), np.zeros((1, 3)), valid=np.array([True]))
    assert len(ok.readout_rows(0)) == 4
    coloured = annotate_frame(image, box, np.array([1]), xy, score, angles=ok, draw_boxes=False)
    assert tuple(int(v) for v in coloured[225, 200]) != INVALID_COLOR
