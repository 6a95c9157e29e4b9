"""The tracker stage: the real ultralytics detector and trackers on the real clips.

The real detector costs about 0.1-0.2 s per frame on CPU, so each clip is tracked once per
session (fixtures below) and the assertions share that pass.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from spinepose_sports import detection
from spinepose_sports.data import FrameDetections
from spinepose_sports.detection import (
    TRACKERS,
    DetectorError,
    YoloTracker,
    from_ultralytics,
    resolve_weights,
    tracker_config,
)

PERSON_YOLOV8_SHA256 = "5f6f620d0fa574ed80d8348bb8d46060148eb0ba24e3eea00d31a30cdadba41d"
SPORTS2D_SHAPE = (994, 1768)
VTEST_FRAMES = 100


def read_frames(path: Path, limit: int | None = None) -> Iterator[np.ndarray]:
    """Decoded frames of ``path``, uint8 (H, W, 3) BGR, one at a time."""
    cap = cv2.VideoCapture(str(path))
    try:
        n = 0
        while limit is None or n < limit:
            ok, frame = cap.read()
            if not ok:
                break
            yield frame
            n += 1
    finally:
        cap.release()


@dataclass
class Run:
    """Per-frame results of one tracking pass."""

    frames: list[FrameDetections]
    shape: tuple[int, int]

    def frames_per_id(self) -> Counter[int]:
        return Counter(int(t) for f in self.frames for t in f.track_id)


def track(tracker: YoloTracker, path: Path, limit: int | None = None) -> Run:
    tracker.reset()
    frames, shape = [], (0, 0)
    for frame in read_frames(path, limit):
        shape = frame.shape[:2]
        frames.append(tracker.update(frame))
    return Run(frames, shape)


@pytest.fixture(scope="session")
def bytetrack(person_detector: Path) -> YoloTracker:
    return YoloTracker(person_detector, person_classes=(0, 1), device="cpu")


@pytest.fixture(scope="session")
def sports2d_run(bytetrack: YoloTracker, sports2d_clip: Path) -> Run:
    return track(bytetrack, sports2d_clip)


@pytest.fixture(scope="session")
def vtest_run(bytetrack: YoloTracker, vtest_clip: Path) -> Run:
    return track(bytetrack, vtest_clip, VTEST_FRAMES)


# --------------------------------------------------------------------------------------
# Real tracking
# --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_sports2d_three_people_few_long_tracks(sports2d_run: Run) -> None:
    assert len(sports2d_run.frames) == 230
    assert sports2d_run.shape == SPORTS2D_SHAPE
    counts = sports2d_run.frames_per_id()
    long_ids = [t for t, n in counts.items() if n > 30]
    assert 2 <= len(long_ids) <= 5, counts
    # the clip has 3 people: most frames show 2 or 3 tracked boxes, never a crowd
    per_frame = np.array([len(f) for f in sports2d_run.frames])
    assert per_frame.max() <= 6
    assert np.median(per_frame) >= 2


@pytest.mark.slow
def test_sports2d_boxes_are_valid(sports2d_run: Run) -> None:
    height, width = sports2d_run.shape
    for f in sports2d_run.frames:
        assert isinstance(f, FrameDetections)
        assert f.xyxy.dtype == np.float32 and f.confidence.dtype == np.float32
        assert f.track_id.dtype == np.int64
        if not len(f):
            continue
        x1, y1, x2, y2 = f.xyxy.T
        assert np.all((x1 >= 0) & (y1 >= 0) & (x2 <= width) & (y2 <= height))
        assert np.all((x2 > x1) & (y2 > y1))
        assert np.all((f.confidence >= 0) & (f.confidence <= 1))
        assert np.all(f.track_id >= 1)
        assert len(np.unique(f.track_id)) == len(f)


@pytest.mark.slow
def test_vtest_several_pedestrians(vtest_run: Run) -> None:
    assert len(vtest_run.frames) == VTEST_FRAMES
    counts = vtest_run.frames_per_id()
    assert sum(n >= 20 for n in counts.values()) >= 3, counts
    for f in vtest_run.frames:
        assert len(np.unique(f.track_id)) == len(f)


@pytest.mark.slow
def test_reset_restarts_cleanly(bytetrack: YoloTracker, vtest_run: Run, vtest_clip: Path) -> None:
    # vtest_run itself came after other videos on this tracker; after reset() the same
    # frames must give the same boxes and the same ids again, starting from 1
    again = track(bytetrack, vtest_clip, 20)
    assert min(int(t) for f in again.frames for t in f.track_id) == 1
    for a, b in zip(again.frames, vtest_run.frames[:20], strict=True):
        np.testing.assert_array_equal(a.track_id, b.track_id)
        np.testing.assert_allclose(a.xyxy, b.xyxy, atol=1e-3)
        np.testing.assert_allclose(a.confidence, b.confidence, atol=1e-5)


@pytest.mark.slow
def test_botsort_runs_offline(person_detector: Path, sports2d_clip: Path) -> None:
    tracker = YoloTracker(person_detector, tracker="botsort", person_classes=(0, 1), device="cpu")
    info = tracker.describe()
    assert info["tracker_config"]["with_reid"] is False
    assert info["tracker_config"]["gmc_method"] == "sparseOptFlow"
    run = track(tracker, sports2d_clip, 30)
    counts = run.frames_per_id()
    assert sum(len(f) for f in run.frames) >= 30
    assert any(n >= 20 for n in counts.values()), counts


def test_describe_is_json(bytetrack: YoloTracker) -> None:
    info = json.loads(json.dumps(bytetrack.describe()))
    assert info["weights_sha256"] == PERSON_YOLOV8_SHA256
    assert info["tracker"] == "bytetrack"
    assert info["tracker_config"]["tracker_type"] == "bytetrack"
    assert info["person_classes"] == [0, 1]
    assert info["person_class_names"] == ["Normal", "Fall"]
    assert info["ultralytics_version"]
    for key in ("conf", "iou", "imgsz", "device", "agnostic_nms", "weights", "weights_path"):
        assert key in info


def test_update_rejects_bad_frames(bytetrack: YoloTracker) -> None:
    with pytest.raises(ValueError, match="uint8"):
        bytetrack.update(np.zeros((48, 64, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        bytetrack.update(np.zeros((48, 64), np.uint8))
    with pytest.raises(TypeError, match="numpy"):
        bytetrack.update([[0]])  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


def test_missing_weights_path_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "detector.pt"
    start = time.monotonic()
    with pytest.raises(DetectorError, match=r"detector\.pt") as info:
        YoloTracker(missing)
    assert "--detector-weights" in str(info.value)
    assert time.monotonic() - start < 10


def test_unknown_bare_name_is_not_downloaded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DetectorError, match=r"my_detector\.pt"):
        resolve_weights("my_detector.pt")


def test_bad_person_class(person_detector: Path) -> None:
    with pytest.raises(DetectorError, match=r"\[7\].*Normal"):
        YoloTracker(person_detector, person_classes=(0, 7))
    with pytest.raises(DetectorError, match="at least one"):
        YoloTracker(person_detector, person_classes=())


def test_official_name_offline_fails_fast(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import ultralytics.utils.downloads as downloads

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the network must not be touched")

    monkeypatch.setenv("YOLO_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # not cached in the working folder ...
    monkeypatch.setattr(detection, "_weights_dir", lambda: tmp_path / "weights")  # ... nor here
    monkeypatch.setattr(downloads, "safe_download", no_network)
    monkeypatch.setattr(downloads, "attempt_download_asset", no_network)
    start = time.monotonic()
    with pytest.raises(DetectorError, match=r"yolo11n\.pt.*offline") as info:
        YoloTracker("yolo11n.pt")
    assert time.monotonic() - start < 30
    assert "--detector-weights" in str(info.value)
    with pytest.raises(DetectorError, match=r"yolo11n\.pt"):
        resolve_weights("yolo11n")  # the stem means the same asset


def test_tracker_config_errors() -> None:
    assert set(TRACKERS) == {"bytetrack", "botsort"}
    with pytest.raises(DetectorError, match="ocsort"):
        tracker_config("ocsort")
    with pytest.raises(DetectorError, match="track_bufer"):
        tracker_config("bytetrack", {"track_bufer": 60})
    assert tracker_config("bytetrack", {"track_buffer": 60})["track_buffer"] == 60


def test_tracker_options_are_type_checked() -> None:
    cfg = tracker_config("bytetrack", {"new_track_thresh": 0.1, "fuse_score": False,
                                       "track_buffer": 60.0, "track_low_thresh": 0})
    assert cfg["new_track_thresh"] == 0.1 and cfg["fuse_score"] is False
    assert cfg["track_buffer"] == 60 and isinstance(cfg["track_buffer"], int)
    assert isinstance(cfg["track_low_thresh"], float)
    with pytest.raises(DetectorError, match=r"fuse_score expects type bool.*'no'"):
        tracker_config("bytetrack", {"fuse_score": "no"})
    with pytest.raises(DetectorError, match=r"track_buffer expects type int.*1\.5"):
        tracker_config("bytetrack", {"track_buffer": 1.5})
    with pytest.raises(DetectorError, match=r"new_track_thresh expects type float"):
        tracker_config("botsort", {"new_track_thresh": True})
    with pytest.raises(DetectorError, match="expected a mapping"):
        tracker_config("bytetrack", "fuse_score=false")  # type: ignore[arg-type]
    with pytest.raises(DetectorError, match="--tracker"):
        tracker_config("bytetrack", {"tracker_type": "botsort"})
    # botsort keeps this product's settings unless an option replaces them
    assert tracker_config("botsort", {"gmc_method": "orb"})["gmc_method"] == "orb"
    assert tracker_config("botsort", {})["gmc_method"] == "sparseOptFlow"


def test_tracker_options_reach_ultralytics(person_detector: Path, sports2d_clip: Path) -> None:
    tracker = YoloTracker(person_detector, person_classes=(0, 1),
                          tracker_overrides={"new_track_thresh": 0.9, "track_buffer": 5})
    tracker.update(next(read_frames(sports2d_clip)))
    args = tracker.model.predictor.trackers[0].args
    assert args.new_track_thresh == 0.9 and args.track_buffer == 5
    assert tracker.describe()["tracker_config"]["new_track_thresh"] == 0.9


# --------------------------------------------------------------------------------------
# The Results adapter
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sports2d_frame(sports2d_clip: Path) -> np.ndarray:
    return next(read_frames(sports2d_clip))


def test_from_ultralytics_with_and_without_ids(
    person_detector: Path, sports2d_frame: np.ndarray
) -> None:
    from ultralytics import YOLO

    model = YOLO(str(person_detector))
    kwargs = {"classes": [0, 1], "conf": 0.1, "verbose": False, "device": "cpu"}
    plain = model.predict(sports2d_frame, **kwargs)[0]
    assert len(plain.boxes) >= 1 and plain.boxes.id is None
    empty = from_ultralytics(plain)
    assert len(empty) == 0 and empty.xyxy.shape == (0, 4)

    # name the tracker: ultralytics' own default (tracktrack here) shows no ids on frame 1
    tracked = model.track(sports2d_frame, persist=False, tracker="bytetrack.yaml", **kwargs)[0]
    dets = from_ultralytics(tracked)
    assert len(dets) == len(tracked.boxes) >= 1
    np.testing.assert_array_equal(dets.track_id, tracked.boxes.id.numpy().astype(np.int64))
    np.testing.assert_allclose(dets.xyxy, tracked.boxes.xyxy.numpy(), atol=1e-4)


def test_from_ultralytics_clips_and_types() -> None:
    import torch
    from ultralytics.engine.results import Results

    image = np.zeros((100, 200, 3), np.uint8)
    # x1, y1, x2, y2, track id, conf, class
    boxes = torch.tensor(
        [[-5.0, 10.0, 50.0, 120.0, 3, 0.9, 0], [150.0, -2.0, 210.0, 90.0, 8, 0.4, 1]]
    )
    result = Results(image, path="synthetic", names={0: "a", 1: "b"}, boxes=boxes)
    dets = from_ultralytics(result)
    assert dets.track_id.tolist() == [3, 8]
    assert dets.track_id.dtype == np.int64 and dets.xyxy.dtype == np.float32
    assert dets.xyxy.min() >= 0 and dets.xyxy[:, 2].max() <= 200 and dets.xyxy[:, 3].max() <= 100
    np.testing.assert_allclose(dets.confidence, [0.9, 0.4], atol=1e-6)
