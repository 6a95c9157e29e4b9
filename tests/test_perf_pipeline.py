"""The pipeline's speed features: the detector through ONNX, detect-every-N, read-ahead,
the device and fp16 wiring, the settings in the stage cache key.  No timing is asserted
here (speed: ``benchmarks/run_all.py``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from spinepose_sports.config import AnalyzeConfig
from spinepose_sports.data import FrameDetections
from spinepose_sports.pipeline.cache import stage_key
from spinepose_sports.pipeline.sparse import SparseDetection
from spinepose_sports.pipeline.stages import make_pose_estimator
from spinepose_sports.video import read_ahead, read_frames

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from sparse_iou import box_iou, matched_ious

N_FRAMES = 12


@pytest.fixture(scope="module")
def export_cache(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("detector-cache")
    old = os.environ.get("SPINEPOSE_SPORTS_CACHE_DIR")
    os.environ["SPINEPOSE_SPORTS_CACHE_DIR"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("SPINEPOSE_SPORTS_CACHE_DIR", None)
    else:
        os.environ["SPINEPOSE_SPORTS_CACHE_DIR"] = old


@pytest.fixture(scope="module")
def frames(sports2d_clip) -> list[np.ndarray]:
    return [f.image for f, _ in zip(read_frames(sports2d_clip), range(N_FRAMES), strict=False)]


@pytest.fixture(scope="module")
def onnx_tracker(person_detector, export_cache):
    from spinepose_sports.detection import YoloTracker

    return YoloTracker(person_detector, person_classes=(0, 1), backend="onnx")


def test_onnx_export_is_cached_beside_read_only_weights_and_reused(
    onnx_tracker, person_detector, export_cache
):
    from spinepose_sports.detection import YoloTracker

    path = onnx_tracker.model_path
    assert path.suffix == ".onnx" and path.parent == export_cache / "detectors"
    assert onnx_tracker.weights_sha256[:12] in path.name
    assert not list(person_detector.parent.glob("*.onnx"))  # the shared folder untouched
    mtime = path.stat().st_mtime_ns
    again = YoloTracker(person_detector, person_classes=(0, 1), backend="auto", device="cpu")
    assert again.backend == "onnx" and again.model_path == path
    assert path.stat().st_mtime_ns == mtime  # reused, not exported again
    assert onnx_tracker.describe()["backend"] == "onnx"


def test_onnx_boxes_equal_the_torch_boxes_on_a_real_clip(onnx_tracker, person_detector, frames):
    from spinepose_sports.detection import YoloTracker

    torch_tracker = YoloTracker(person_detector, person_classes=(0, 1), backend="torch")
    for tracker in (torch_tracker, onnx_tracker):
        tracker.reset()
    pairs = [(torch_tracker.update(f), onnx_tracker.update(f)) for f in frames]
    assert sum(len(a) for a, _ in pairs) >= N_FRAMES  # people were found
    for a, b in pairs:
        assert len(a) == len(b)
        assert (a.track_id == b.track_id).all()
        if len(a):
            assert np.diag(box_iou(a.xyxy, b.xyxy)).min() >= 0.99


def test_detect_every_3_keeps_the_boxes_of_per_frame_detection(onnx_tracker, frames):
    onnx_tracker.reset()
    full = [onnx_tracker.update(f) for f in frames]
    sparse = SparseDetection(onnx_tracker, every=3)
    sparse.reset()
    thin = [sparse.update(f) for f in frames]
    assert sparse.counts == {"detected": 4, "predicted": 8, "redetections": 0}
    ious, _ = matched_ious(full, thin)
    assert ious.size >= N_FRAMES and ious.mean() >= 0.8, ious
    assert all(set(a.track_id) == set(b.track_id) for a, b in zip(full, thin, strict=True))


class _FakeTracker:
    """One person moving right; ``predict`` and ``update`` logged."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def _dets(self) -> FrameDetections:
        x = float(len(self.calls))
        return FrameDetections(
            xyxy=np.array([[x, 0, x + 10, 20]], np.float32),
            confidence=np.array([0.9], np.float32), track_id=np.array([1]),
        )

    def update(self, frame):
        self.calls.append("D")
        return self._dets()

    def predict(self, frame):
        self.calls.append("p")
        return self._dets()

    def reset(self) -> None:
        self.calls.clear()

    def describe(self) -> dict:
        return {"detector": "fake"}


def test_sparse_detection_schedule_and_a_fresh_detection_when_confidence_drops():
    fake = _FakeTracker()
    sparse = SparseDetection(fake, every=3)
    frame = np.zeros((4, 4, 3), np.uint8)
    for score in (0.9, 0.9, 0.9, 0.9, 0.5, 0.9, 0.9, 0.9):  # the 5th frame's pose is poor
        dets = sparse.update(frame)
        sparse.observe(dets, np.full((1, 37), score, np.float32))
    assert "".join(fake.calls) == "DppDpDpp"
    assert sparse.counts == {"detected": 3, "predicted": 5, "redetections": 1}
    assert sparse.describe()["detect_every"] == 3
    sparse.reset()
    assert sparse.update(frame) is not None and fake.calls == ["D"]


def test_read_ahead_keeps_order_raises_where_the_error_is_and_stops_early():
    assert list(read_ahead(iter(range(50)), depth=2)) == list(range(50))

    def broken():
        yield 1
        yield 2
        raise ValueError("damaged")

    got = []
    with pytest.raises(ValueError, match="damaged"):
        for item in read_ahead(broken()):
            got.append(item)
    assert got == [1, 2]
    closed = []

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.append(True)

    gen = read_ahead(endless(), depth=2)
    assert next(gen) == 0
    gen.close()
    assert closed == [True]


def test_device_and_fp16_reach_the_pose_model():
    seen = {}

    def new_api(path, *, channel_order, device, fp16):
        seen.update(device=device, fp16=fp16)

    make_pose_estimator(new_api, "m.onnx", channel_order="rgb", device=None, fp16=True)
    assert seen == {"device": "auto", "fp16": True}

    def old_api(path, *, channel_order, providers=None):
        seen["providers"] = providers

    make_pose_estimator(old_api, "m.onnx", channel_order="rgb", device="cpu", fp16=False)
    assert seen["providers"] == ["CPUExecutionProvider"]
    make_pose_estimator(old_api, "m.onnx", channel_order="rgb", device="cuda:1", fp16=False)
    assert seen["providers"][0] == ("CUDAExecutionProvider", {"device_id": 1})
    from spinepose_sports.pose import PoseModelError

    with pytest.raises(PoseModelError, match="fp16"):
        make_pose_estimator(old_api, "m.onnx", channel_order="rgb", device="cpu", fp16=True)


def test_speed_settings_that_change_boxes_or_poses_are_in_the_stage_cache_key():
    base = AnalyzeConfig()
    keys = {stage_key(base)}
    for change in ({"detect_every": 3}, {"detector_backend": "torch"}, {"fp16": True},
                   {"device": "cpu"}):
        keys.add(stage_key(base.replace(**change)))
    assert len(keys) == 5
    assert AnalyzeConfig.from_settings(device="auto").detector.device == "auto"


def test_csv_tables_written_by_blocks_equal_the_whole_table(tmp_path, monkeypatch):
    from synthetic import synthetic_motion

    from spinepose_sports.data import poses_to_table, save_keypoints_csv
    from spinepose_sports.kinematics import compute_kinematics, io

    poses = synthetic_motion(fps=30.0, duration_s=1.0, n_tracks=2, seed=1).noisy
    save_keypoints_csv(poses, tmp_path / "k.csv", block_frames=7)
    whole = poses_to_table(poses).to_csv(index=False, float_format="%.3f")
    assert (tmp_path / "k.csv").read_text() == whole
    kin = compute_kinematics(poses)
    monkeypatch.setattr(io, "CSV_BLOCK_TRACK_FRAMES", 7)  # 3 frames of 2 tracks
    io.save_kinematics(kin, tmp_path)
    table = io.kinematics_table(kin).to_csv(index=False, float_format="%.4f")
    assert (tmp_path / io.ANGLES_FILE).read_text() == table
