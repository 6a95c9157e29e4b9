"""Issue 11 measurements: the error around a turn, the uncertain window, quality reasons.

Run from the repository root::

    PYTHONPATH=.:tests python benchmarks/bench_kinematics_quality.py [RESULTS_DIR ...]

1. Instant turn round (every view, both directions, 30 fps, 4 s): frames left uncertain
   around the turn and the largest spine-angle error on every other frame.
2. Turn in place lasting D s (heading 0 -> 180 deg), the view fixed to a side view: length
   of the uncertain window, frames with a wrong sign (must be 0), and the largest
   segment-angle error against the sagittal truth by distance from the moment the
   athlete faces the camera (2D projection error, not a sign error).
3. For each results folder given (a ``poses.nc`` from the pipeline), the frames each
   quality check flags.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
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
)

from spinepose_sports.data import load_poses
from spinepose_sports.kinematics import QUALITY_CHECKS, compute_kinematics

SPINE = ("segment_angle", "segmental_angle", "regional_angle", "trunk_flexion", "pelvis_tilt")
FPS = 30.0


def _kin(renders, t, **kw):
    return compute_kinematics(poses_dataset(renders, t), detect_repetitions=False, **kw)


def instant_turns() -> list[str]:
    rows = ["| before | after | uncertain frames | max error elsewhere (deg) |",
            "|---|---|---|---|"]
    m = default_motion(n_frames=120)
    k = 60
    for view in VIEWS:
        for mirrored in (False, True):
            f = NORMAL_FACING[view] if not mirrored else MIRRORED[NORMAL_FACING[view]]
            before, after = (view, f), (TURNED[view], MIRRORED[f])
            kin = _kin([render_turn(m, before, after, k)], m.time_s)
            unc = kin["facing_uncertain"].values[:, 0]
            err = 0.0
            for (v, fc), part in ((before, np.arange(120) < k), (after, np.arange(120) >= k)):
                ref = _kin([render(m, v, fc)], m.time_s, view=v, facing=fc)
                rows_ok = part & ~unc
                for name in SPINE:
                    d = np.abs(kin[name].values[rows_ok] - ref[name].values[rows_ok])
                    err = max(err, float(np.nanmax(d)))
            rows.append(f"| {before[0]}/{before[1]} | {after[0]}/{after[1]} | {int(unc.sum())} "
                        f"| {err:.2e} |")
    return rows


def slow_turns() -> list[str]:
    rows = ["| turn duration (s) | uncertain window (s) | wrong-sign frames | max error, more "
            "than 0.5 s from facing the camera (deg) | max error, 0.25-0.5 s from it (deg) |",
            "|---|---|---|---|---|"]
    theta0 = np.array([-10.0, -4, 2, 8, 12, 8, -2, 0, 4])
    for dur in (0.5, 1.0, 2.0, 4.0):
        n = int(FPS * (4.0 + dur))
        t = np.arange(n) / FPS
        psi = np.clip((t - 2.0) / dur, 0, 1) * 180.0
        m = Motion(t, theta0 + 20 * np.sin(2 * np.pi * 0.5 * t)[:, None])
        kin = _kin([render_heading(m, psi)], t, view="right_side")
        unc = kin["facing_uncertain"].values[:, 0]
        sign = kin["facing_sign"].values[:, 0]
        truth = np.where(np.cos(np.radians(psi)) > 0, 1.0, -1.0)
        wrong = int(np.sum(sign[~unc] != truth[~unc]))
        seg = kin["segment_angle"].transpose("time", "segment", "individual").values[:, :, 0]
        with np.errstate(invalid="ignore"):
            err = np.fmax.reduce(np.abs(seg - m.theta), axis=1)  # NaN only if all NaN
        dist = np.abs(t - (2.0 + dur / 2))
        far, near = dist > 0.5, (dist > 0.25) & (dist <= 0.5)
        near_err = np.nanmax(err[near & ~unc]) if (near & ~unc).any() else float("nan")
        rows.append(f"| {dur:.1f} | {unc.sum() / FPS:.3f} ({int(unc.sum())} frames) | {wrong} "
                    f"| {np.nanmax(err[far]):.2e} | {near_err:.1f} |")
    return rows


def real_clips(folders: list[str]) -> list[str]:
    rows = ["| clip | track | frames seen | valid | " + " | ".join(QUALITY_CHECKS) + " |",
            "|---|---|---|---|" + "---|" * len(QUALITY_CHECKS)]
    for folder in folders:
        poses = load_poses(Path(folder) / "poses.nc")
        kin = compute_kinematics(poses, detect_repetitions=False)
        flags = kin["quality_flags"].transpose("time", "individual", "quality_check").values
        seen = np.isfinite(poses["position"].transpose("time", "individual", ...).values)
        seen = seen.reshape(seen.shape[0], seen.shape[1], -1).any(-1)
        for j, ind in enumerate(kin["individual"].values):
            counts = " | ".join(str(int(flags[:, j, c].sum())) for c in range(len(QUALITY_CHECKS)))
            rows.append(f"| {Path(folder).name} | {ind} | {int(seen[:, j].sum())} | "
                        f"{int(kin['valid'].values[:, j].sum())} | {counts} |")
    return rows


def main(argv: list[str]) -> None:
    print("## Instant turn round (30 fps, turn at frame 60 of 120)\n")
    print("\n".join(instant_turns()))
    print("\n## Turn in place, view fixed to right_side (30 fps)\n")
    print("\n".join(slow_turns()))
    if argv:
        print("\n## Quality checks on pipeline results\n")
        print("\n".join(real_clips(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
