"""One athlete, one set of numbers: a second track on the same athlete is dropped."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tracking_scenes import duplicate_scene, handover_scene, poses_from_boxes, scene_boxes

from spinepose_sports.tracking import QualityParams, assess_tracks, postprocess_tracks


@pytest.mark.parametrize("fps", [10.0, 30.0])
def test_duplicate_track_of_one_athlete_ends_as_one_track(fps) -> None:
    boxes = scene_boxes(duplicate_scene(), fps, 4.0)
    poses = poses_from_boxes(boxes)
    poses_out, boxes_out, report = postprocess_tracks(poses, boxes)
    assert [str(i) for i in boxes_out["individual"].values] == ["track_1", "track_2"]
    assert [str(i) for i in poses_out["individual"].values] == ["track_1", "track_2"]
    quality = json.loads(json.dumps(report["quality"]))  # what run.json stores
    assert quality["dropped"] == ["track_5"]
    row = next(r for r in quality["tracks"] if r["individual"] == "track_5")
    assert row["reason"] == "duplicate" and row["duplicate_of"] == 1
    assert row["overlap_s"] == pytest.approx(3.0, abs=0.15)


def test_handover_and_apart_tracks_are_not_duplicates() -> None:
    boxes = scene_boxes(handover_scene(), 10.0, 5.0)
    table = assess_tracks(boxes, params=QualityParams(min_motion=None))
    assert "duplicate" not in ";".join(table["reason"])
    assert table["duplicate_of"].isna().all()


def test_duplicate_test_can_be_switched_off_or_flag_only() -> None:
    boxes = scene_boxes(duplicate_scene(), 10.0, 4.0)
    off = assess_tracks(boxes, params=QualityParams(duplicate_iou=None))
    assert (off["verdict"] == "keep").all() and np.isnan(off["duplicate_of"]).all()
    flag = assess_tracks(boxes, params=QualityParams(drop=("too_short",)))
    assert flag.loc["track_5", "verdict"] == "flag"
