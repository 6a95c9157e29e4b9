"""Track quality filtering, athlete selection and names."""

from __future__ import annotations

import json

import pytest
from tracking_scenes import Fragment, occlusion_scene, poses_from_boxes, scene_boxes

from spinepose_sports.data import load_netcdf, read_log, save_netcdf, validate_poses
from spinepose_sports.tracking import (
    Point,
    QualityParams,
    apply_names,
    assess_tracks,
    filter_tracks,
    names_of,
    parse_names,
    parse_selection,
    postprocess_tracks,
    quality_summary,
    select_athletes,
)

# three people and a false detection: a tiny, static, low-confidence box on equipment
WALKER = Fragment(1, 1, 0.0, 4.0, 100, 400, vx=200)  # long, moving, near the middle row
JUMPER = Fragment(2, 2, 0.0, 4.0, 580, 360, vx=30, w=150, h=330)  # large, central, slow
RUNNER = Fragment(3, 3, 1.0, 2.0, 100, 150, vx=900, w=50, h=120)  # short, fast
EQUIPMENT = Fragment(7, 7, 0.0, 4.0, 1200, 650, w=15, h=12, conf=0.12)
CROWD = [WALKER, JUMPER, RUNNER, EQUIPMENT]


@pytest.fixture(scope="module")
def crowd():
    boxes = scene_boxes(CROWD, 30, 4.0, jitter_px=0.5)
    return boxes, poses_from_boxes(boxes)


def test_static_tiny_low_confidence_box_is_dropped_and_reported(crowd) -> None:
    boxes, poses = crowd
    table = assess_tracks(boxes, poses)
    assert list(table["verdict"]) == ["keep", "keep", "keep", "drop"]
    reasons = table.loc["track_7", "reason"].split("; ")
    assert {"too_small", "static", "low_confidence"} <= set(reasons)
    assert table.loc["track_1", "seen_s"] == pytest.approx(4.0, abs=0.05)
    assert table.loc["track_3", "duration_s"] == pytest.approx(1.0, abs=0.05)
    filtered = filter_tracks(boxes, table)
    assert list(filtered["individual"].values) == ["track_1", "track_2", "track_3"]
    entry = read_log(filtered)[-1]
    assert entry["operation"] == "filter_tracks"
    assert "static" in entry["parameters"]["dropped"]["track_7"]
    summary = json.loads(json.dumps(quality_summary(table)))
    assert summary["dropped"] == ["track_7"]


def test_quality_is_configurable(crowd) -> None:
    boxes, _ = crowd
    flag_only = QualityParams(drop=())
    table = assess_tracks(boxes, params=flag_only)
    assert table.loc["track_7", "verdict"] == "flag"
    assert filter_tracks(boxes, table).sizes["individual"] == 4
    strict = QualityParams(min_seen_s=1.5)
    table = assess_tracks(boxes, params=strict)
    assert table.loc["track_3", "verdict"] == "drop"
    assert table.loc["track_3", "reason"] == "too_short"
    off = QualityParams(min_seen_s=None, min_height=None, min_motion=None, min_confidence=None)
    assert (assess_tracks(boxes, params=off)["verdict"] == "keep").all()
    with pytest.raises(ValueError, match="unknown reason"):
        QualityParams(drop=("tall",))


def test_rankings(crowd) -> None:
    boxes, poses = crowd
    assert select_athletes(boxes, by="longest", n=2) == ["track_1", "track_2"]  # ties: id
    assert select_athletes(boxes, by="longest", n=9) == ["track_1", "track_2", "track_7",
                                                         "track_3"]
    assert select_athletes(boxes, by="largest") == ["track_2"]
    assert select_athletes(boxes, by="central") == ["track_2"]
    # path length in box heights: the runner covers 7.5, the walker 4
    assert select_athletes(boxes, poses, by="moving", n=2) == ["track_3", "track_1"]
    assert select_athletes(boxes, by="moving", n=2) == ["track_3", "track_1"]
    with pytest.raises(ValueError, match="expected one of"):
        select_athletes(boxes, by="tallest")


def test_select_by_ids_and_point(crowd) -> None:
    boxes, poses = crowd
    assert select_athletes(boxes, by=[3, "track_1"]) == ["track_3", "track_1"]
    with pytest.raises(ValueError, match="track_9"):
        select_athletes(boxes, by=[9])
    # at 1.5 s the walker is at x = 400, the runner at x = 1450 (gone), the jumper at 625
    assert select_athletes(boxes, poses, by=Point(1.5, 405, 420)) == ["track_1"]
    assert select_athletes(boxes, by=Point(1.5, 640, 300)) == ["track_2"]
    with pytest.raises(ValueError, match="no track"):
        select_athletes(boxes, by=Point(1.5, 900, 50))


def test_parse_command_line_forms() -> None:
    assert parse_selection("longest") == ("longest", 1)
    assert parse_selection("moving:2") == ("moving", 2)
    assert parse_selection("id:3,5") == ([3, 5], 1)
    assert parse_selection("3,5") == ([3, 5], 1)
    assert parse_selection("point:1.5,640,360") == (Point(1.5, 640.0, 360.0), 1)
    with pytest.raises(ValueError, match="expected one of"):
        parse_selection("best")
    assert parse_names("3=Anna, 5=Ben") == {3: "Anna", 5: "Ben"}
    with pytest.raises(ValueError, match="ID=NAME"):
        parse_names("Anna")


def test_names_round_trip_netcdf(tmp_path, crowd) -> None:
    boxes, poses = crowd
    named = apply_names(poses, {1: "Anna", 3: "Ben"})
    assert list(named["name"].values) == ["Anna", "", "Ben", ""]
    assert names_of(named) == {1: "Anna", 3: "Ben"}
    validate_poses(named)
    back = load_netcdf(save_netcdf(named, tmp_path / "poses.nc"))
    validate_poses(back)
    assert names_of(back) == {1: "Anna", 3: "Ben"}
    assert list(back["individual"].values) == list(named["individual"].values)
    # a sub-selection keeps the names; renaming one keeps the others
    assert names_of(apply_names(back.sel(individual=["track_3"]), {3: "Benjamin"})) == {
        3: "Benjamin"}
    with pytest.raises(ValueError, match="track_9"):
        apply_names(boxes, {9: "Nobody"})


def test_postprocess_one_call() -> None:
    scene = [*occlusion_scene(), EQUIPMENT]
    boxes = scene_boxes(scene, 30, 5.0)
    poses = poses_from_boxes(boxes)
    out_poses, out_boxes, report = postprocess_tracks(
        poses, boxes, select="id:3", names={3: "Anna"})
    assert report["stitch"]["mapping"] == {"1": 1, "2": 2, "3": 1, "7": 7}
    assert report["quality"]["dropped"] == ["track_7"]
    assert report["selection"]["individuals"] == ["track_1"]  # 3 was merged into 1
    assert report["names"] == {"1": "Anna"}  # named by its id before stitching
    assert report["tracks_in"] == 4 and report["tracks_out"] == 1
    assert out_poses is not None
    assert list(out_poses["individual"].values) == ["track_1"]
    assert names_of(out_poses) == names_of(out_boxes) == {1: "Anna"}
    ops = [e["operation"] for e in read_log(out_poses)]
    assert ops == ["stitch_tracks", "filter_tracks", "select_athletes", "apply_names"]
    json.dumps(report)
    # steps can be turned off; ids may be given after stitching too
    _, b2, r2 = postprocess_tracks(None, boxes, stitch=None, quality=None, select=[1, 2])
    assert list(b2["individual"].values) == ["track_1", "track_2"] and "stitch" not in r2
    with pytest.raises(ValueError, match="no track"):
        postprocess_tracks(None, boxes, names={42: "Nobody"})


def test_count_long_tracks() -> None:
    from spinepose_sports.tracking import count_tracks

    boxes = scene_boxes(CROWD, 30, 4.0)
    assert count_tracks(boxes) == 4
    assert count_tracks(boxes, 1.1) == 3  # the runner is seen 31 frames: 1.03 s
    assert count_tracks(boxes, 4.0) == 0  # 120 frames: not more than 4 s
