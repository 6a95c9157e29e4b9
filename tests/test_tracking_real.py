"""Stitching on real tracker output: sports2d_demo.mp4 through the real detector.

The clip shows three people: one walks side-on across (right to left, 1.2 to 6.7 s), one
does jumping jacks on a roof, flips down and lands in front (the whole clip), and one
stands far behind (about 40 px tall) whom the offline detector never finds. ByteTrack
cuts the athlete into three ids (the flip, and a box that swallowed the athlete for three
frames) and the walker into two (leaving the frame): 5 ids, 4 of them seen for more than
1 s. After stitching and filtering: one id per detected person. With the settings of
pipelines/far_athletes.toml the far person is detected and tracked too: 3 ids.

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


@pytest.mark.slow
def test_sports2d_far_athletes_settings_give_one_track_per_person(sports2d_far_run) -> None:
    """With pipelines/far_athletes.toml (detector at 1280 px, a tracker that accepts weak
    boxes), the person standing far behind is found too: exactly 3 tracks seen for more
    than 1 s, one per person, each whole."""
    import json

    boxes = load_netcdf(sports2d_far_run / "boxes.nc")
    run = json.loads((sports2d_far_run / "run.json").read_text())
    assert run["status"] == "completed"
    assert run["models"]["detector"]["imgsz"] == 1280
    assert run["models"]["detector"]["tracker_config"]["fuse_score"] is False
    assert count_tracks(boxes, 1.0) == 3
    assert run["tracking"]["tracks_out_over_1s"] == 3
    frame_h = boxes.attrs["frame_height"]
    seen = boxes["position"].notnull().all("space")
    first = boxes["time"].where(seen).min("time").to_series()
    last = boxes["time"].where(seen).max("time").to_series()
    frames = seen.sum("time").to_series()
    height = boxes["shape"].sel(space="y").median("time").to_series()
    centre = boxes["position"].median("time").to_pandas()
    # the person standing far behind: small, in one place, the whole clip in one id
    # (hidden behind the walker for about 1 s near 1.5 s)
    far = height.idxmin()
    assert height[far] < 0.06 * frame_h
    assert abs(centre.loc["x", far] - 1480) < 30 and abs(centre.loc["y", far] - 612) < 30
    assert first[far] < 0.2 and last[far] > 7.4 and frames[far] >= 150
    # the two others as with the default settings: the athlete through the whole clip,
    # the walker from 1.2 s
    others = [i for i in frames.index if i != far and frames[i] >= 30]
    athlete = min(others, key=lambda i: first[i])
    walker = next(i for i in others if i != athlete)
    assert first[athlete] == 0.0 and last[athlete] > 7.5 and frames[athlete] >= 200
    assert first[walker] == pytest.approx(1.2, abs=0.1) and last[walker] > 6.5
