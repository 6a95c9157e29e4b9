"""Track stitching on synthetic box sequences whose right answer is known."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tracking_scenes import (
    Fragment,
    crossing_scene,
    handover_scene,
    occlusion_scene,
    persons,
    poses_from_boxes,
    same_partition,
    scene_boxes,
)

from spinepose_sports.data import read_log, validate_poses
from spinepose_sports.tracking import (
    AppearanceCollector,
    StitchParams,
    apply_mapping,
    stitch_tracks,
)


def _seen(ds, name: str) -> np.ndarray:
    return ds["position"].sel(individual=name).notnull().all("space").values


@pytest.mark.parametrize("fps", [10, 30, 60])
def test_occlusion_gap_is_bridged(fps: float) -> None:
    scene = occlusion_scene(gap_s=0.5)
    result = stitch_tracks(scene_boxes(scene, fps, 5.0))
    assert result.mapping == {1: 1, 2: 2, 3: 1}
    assert [(r["kind"], r["from"], r["to"]) for r in result.links] == [("link", 1, 3)]
    assert result.links[0]["gap_s"] == pytest.approx(0.5, abs=1.5 / fps)


@pytest.mark.parametrize("fps", [10, 60])
def test_gap_too_long_or_jump_too_far_is_not_bridged(fps: float) -> None:
    params = StitchParams()
    too_long = occlusion_scene(gap_s=params.max_gap_s + 0.5)
    assert stitch_tracks(scene_boxes(too_long, fps, 5.0)).n_after == 3
    # reappearing 3 box heights off the path after 0.5 s: too far for the tolerance
    jump = occlusion_scene(gap_s=0.5, jump_px=3 * 200)
    assert stitch_tracks(scene_boxes(jump, fps, 5.0)).n_after == 3


@pytest.mark.parametrize("fps", [10, 60])
def test_crossing_people_keep_their_ids(fps: float) -> None:
    scene = crossing_scene(both_lost=True)
    result = stitch_tracks(scene_boxes(scene, fps, 4.0))
    # the new tracks start where the *other* person was last seen: motion decides
    assert result.mapping == {1: 1, 2: 2, 3: 1, 4: 2}
    assert same_partition(result.mapping, persons(scene))


@pytest.mark.parametrize("fps", [10, 60])
def test_overlapping_tracks_are_never_merged(fps: float) -> None:
    scene = crossing_scene(both_lost=False)  # track 2 goes on through the crossing
    result = stitch_tracks(scene_boxes(scene, fps, 4.0))
    assert result.mapping == {1: 1, 2: 2, 3: 1}
    # a duplicate of person 1 seen at the same time as track 1 for 1 s, on the same path
    dup = [*occlusion_scene(), Fragment(9, 1, 1.0, 3.0, 100, 400, vx=200)]
    mapping = stitch_tracks(scene_boxes(dup, fps, 5.0)).mapping
    assert mapping[9] != mapping[1] and mapping[9] != mapping.get(3)


def test_apply_mapping_refuses_two_observations_at_one_time() -> None:
    boxes = scene_boxes(crossing_scene(both_lost=False), 10, 4.0)
    with pytest.raises(ValueError, match="overlap in time"):
        apply_mapping(boxes, {1: 1, 2: 1, 3: 1})


def test_fps_invariance() -> None:
    scenes = [occlusion_scene(0.5), occlusion_scene(0.5, 600), crossing_scene(True),
              crossing_scene(False), handover_scene()]
    for scene in scenes:
        results = [stitch_tracks(scene_boxes(scene, fps, 5.0)).mapping for fps in (10, 60)]
        assert results[0] == results[1], scene


@pytest.mark.parametrize("fps", [10, 60])
def test_handover_overlap_is_merged_without_double_observations(fps: float) -> None:
    boxes = scene_boxes(handover_scene(), fps, 5.0)
    result = stitch_tracks(boxes)
    assert result.mapping == {1: 1, 2: 1}
    assert result.links[0]["kind"] == "handover"
    # every frame where both were seen loses exactly one of its two observations
    both = _seen(boxes, "track_1") & _seen(boxes, "track_2")
    n_dropped = sum(len(v) for v in result.dropped.values())
    assert n_dropped == both.sum() > 0
    merged = result.apply(boxes)
    assert list(merged["individual"].values) == ["track_1"]
    either = _seen(boxes, "track_1") | _seen(boxes, "track_2")
    assert _seen(merged, "track_1").sum() == either.sum()
    # no overlap allowed: nothing merged
    assert stitch_tracks(boxes, params=StitchParams(max_overlap_s=0)).n_after == 2


def test_long_overlap_is_not_a_handover() -> None:
    frags = [Fragment(1, 1, 0.0, 2.5, 300, 400, vx=100, w=110, h=240),
             Fragment(2, 1, 2.0, 5.0, 300, 400, vx=100)]
    assert stitch_tracks(scene_boxes(frags, 30, 5.0)).n_after == 2


def test_fragment_inside_a_hole_is_filled() -> None:
    # track 1 loses the person from 2.0 to 3.0 s; the tracker saw them as track 5 meanwhile
    frags = [Fragment(1, 1, 0.0, 1.9, 100, 400, vx=200), Fragment(1, 1, 3.1, 5.0, 100, 400, vx=200),
             Fragment(5, 1, 2.3, 2.7, 100, 400, vx=200)]
    result = stitch_tracks(scene_boxes(frags, 30, 5.0))
    assert result.mapping == {1: 1, 5: 1}
    assert result.links[0]["kind"] == "fill"


def test_appearance_decides_between_equal_motions() -> None:
    # person 1 is hidden 0.5 s; two people appear where they could be, one above and one
    # below the path at the same distance: only the colour tells which one it is
    frags = [Fragment(1, 1, 0.0, 2.0, 100, 400, vx=200), Fragment(2, 1, 2.5, 5.0, 100, 360, vx=200),
             Fragment(3, 2, 2.5, 5.0, 100, 440, vx=200)]
    boxes = scene_boxes(frags, 10, 5.0, jitter_px=0.0)
    red, blue = np.zeros(8), np.zeros(8)
    red[0], blue[5] = 1.0, 1.0
    collector = AppearanceCollector()
    for t, frame in enumerate(boxes["frame"].values):
        ids = [1] if t <= 20 else [2, 3]
        desc = [red] if t <= 20 else [red * 0.95 + blue * 0.05, blue]
        collector.add(int(frame), ids, np.array(desc) / np.linalg.norm(desc, axis=1)[:, None])
    appearance = collector.to_dataarray(boxes)
    assert appearance.dims == ("time", "feature", "individual")
    result = stitch_tracks(boxes, appearance=appearance)
    assert result.mapping == {1: 1, 2: 1, 3: 3}
    assert result.links[0]["similarity"] > 0.99
    # colours swapped: the other one is chosen
    swapped = appearance.copy()
    swapped.loc[{"individual": ["track_2", "track_3"]}] = appearance.sel(
        individual=["track_3", "track_2"]).values
    assert stitch_tracks(boxes, appearance=swapped).mapping == {1: 1, 2: 2, 3: 1}
    # a different colour everywhere: the appearance gate refuses both
    other = appearance.copy()
    other.loc[{"individual": ["track_2", "track_3"]}] = np.broadcast_to(
        blue[None, :, None], other.sel(individual=["track_2", "track_3"]).shape)
    assert stitch_tracks(boxes, appearance=other).n_after == 3


def test_apply_mapping_on_poses_boxes_and_appearance() -> None:
    boxes = scene_boxes(occlusion_scene(), 10, 5.0)
    poses = poses_from_boxes(boxes)
    collector = AppearanceCollector()
    for t, frame in enumerate(boxes["frame"].values):
        ids = [int(i.split("_")[1]) for i in boxes["individual"].values
               if np.isfinite(boxes["position"].sel(individual=i).values[t, 0])]
        collector.add(int(frame), ids, np.full((len(ids), 4), float(frame)))
    appearance = collector.to_dataarray(boxes)
    result = stitch_tracks(boxes, poses, appearance)
    out = [result.apply(d) for d in (boxes, poses, appearance)]
    for d in out:
        assert list(d["individual"].values) == ["track_1", "track_2"]
    merged_poses = validate_poses(out[1])
    # the merged track carries track 3's observations after the gap
    np.testing.assert_array_equal(
        merged_poses["position"].sel(individual="track_1").values[30:],
        poses["position"].sel(individual="track_3").values[30:],
    )
    np.testing.assert_array_equal(out[2].sel(individual="track_1").values[30:, 0],
                                  boxes["frame"].values[30:])
    for d in (out[0], out[1]):
        entry = read_log(d)[-1]
        assert entry["operation"] == "stitch_tracks"
        assert entry["parameters"]["mapping"] == {"3": 1}
    assert json.loads(out[2].attrs["log"])[-1]["operation"] == "stitch_tracks"
    assert json.dumps(result.report())


def test_params_reject_bad_values() -> None:
    with pytest.raises(ValueError, match="max_gap_s"):
        StitchParams(max_gap_s=-1)
    with pytest.raises(ValueError, match="max_scale_ratio"):
        StitchParams(max_scale_ratio=0.5)


def test_empty_and_single_track() -> None:
    boxes = scene_boxes([Fragment(1, 1, 0, 1, 100, 100)], 10, 2.0)
    assert stitch_tracks(boxes).mapping == {1: 1}
    assert stitch_tracks(boxes.isel(individual=[])).mapping == {}
