"""Stitching on real tracker output: sports2d_demo.mp4 through the real detector.

The clip shows three people: one walks side-on across (right to left, 1.2 to 6.7 s), one
does jumping jacks on a roof, flips down and lands in front (the whole clip), and one
stands far behind (about 40 px tall) whom the offline detector never finds. ByteTrack
cuts the athlete into three ids (the flip, and a box that swallowed the athlete for three
frames) and the walker into two (leaving the frame): 5 ids, 4 of them seen for more than
1 s. After stitching and filtering: one id per detected person.

The detector output comes from the session fixture ``sports2d_run`` (the CLI's own
tracker_boxes.nc and tracker_poses.nc, written before stitching); the appearance
descriptors are computed from the decoded clip and those boxes, without running the
detector again.
"""

from __future__ import annotations

import numpy as np
import pytest

from spinepose_sports.data import load_netcdf, load_poses
from spinepose_sports.tracking import (
    AppearanceCollector,
    count_tracks,
    postprocess_tracks,
    select_athletes,
    torso_descriptor,
)
from spinepose_sports.video import read_frames

DETECTED_PEOPLE = 2


@pytest.fixture(scope="module")
def sports2d_tracks(sports2d_run, sports2d_clip):
    folder, _ = sports2d_run
    boxes = load_netcdf(folder / "tracker_boxes.nc")  # the online tracker's own output
    poses = load_poses(folder / "tracker_poses.nc")
    centre = boxes["position"].transpose("time", "individual", "space").values
    size = boxes["shape"].transpose("time", "individual", "space").values
    ids = np.array([int(i.split("_")[1]) for i in boxes["individual"].values])
    row = {int(f): t for t, f in enumerate(boxes["frame"].values)}
    collector = AppearanceCollector()
    for frame in read_frames(sports2d_clip):
        t = row[frame.index]
        seen = np.isfinite(centre[t, :, 0])
        xyxy = np.concatenate([centre[t] - size[t] / 2, centre[t] + size[t] / 2], axis=1)
        collector.add(frame.index, ids[seen], torso_descriptor(frame.image, xyxy[seen]))
    return boxes, poses, collector.to_dataarray(boxes)


@pytest.mark.slow
def test_sports2d_tracker_fragments(sports2d_tracks) -> None:
    boxes, _, _ = sports2d_tracks
    assert count_tracks(boxes) >= 4
    assert count_tracks(boxes, 1.0) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("use_appearance", [False, True], ids=["geometry", "appearance"])
def test_sports2d_one_id_per_person(sports2d_tracks, use_appearance: bool) -> None:
    boxes, poses, appearance = sports2d_tracks
    out_poses, out_boxes, report = postprocess_tracks(
        poses, boxes, appearance if use_appearance else None
    )
    assert count_tracks(out_boxes, 1.0) == DETECTED_PEOPLE
    assert report["tracks_out_over_1s"] == DETECTED_PEOPLE
    assert out_poses is not None
    assert list(out_poses["individual"].values) == list(out_boxes["individual"].values)
    seen = out_boxes["position"].notnull().all("space")
    first = out_boxes["time"].where(seen).min("time").to_series()
    last = out_boxes["time"].where(seen).max("time").to_series()
    frames = seen.sum("time").to_series()
    # the athlete: from the first frame to the last, through the flip
    athlete = first.idxmin()
    assert first[athlete] == 0.0 and last[athlete] > 7.5 and frames[athlete] >= 200
    # the walker: enters at 1.2 s on the right, leaves at about 6.7 s on the left
    walker = next(i for i in frames.index if i != athlete)
    assert first[walker] == pytest.approx(1.2, abs=0.1) and last[walker] > 6.5
    x = out_boxes["position"].sel(individual=walker, space="x").dropna("time").values
    assert x[0] > 1500 and x[-1] < 150
    # the selection rankings find them
    assert select_athletes(out_boxes, out_poses, "longest") == [athlete]
