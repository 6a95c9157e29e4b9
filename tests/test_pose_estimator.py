"""The SpinePose onnxruntime stage on a real frame, with generated stand-in models."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from standins import make_bad_model, make_standin_model, template_keypoints

from spinepose_sports.pose import ModelFile, PoseModelError, SpinePoseEstimator
from spinepose_sports.pose.decode import decode_simcc, to_frame_coords
from spinepose_sports.pose.preprocess import crop_and_normalise
from spinepose_sports.skeleton import KEYPOINT_INDEX, SPINE_CHAIN_INDICES

# sports2d_demo.mp4 frame 60: two people measured with the real detector, plus a box
# crossing the top-left corner and a tiny one
BOXES_F60 = np.array(
    [
        [1250.2, 531.1, 1517.3, 951.8],
        [477.6, 19.6, 762.6, 464.3],
        [-40.0, -30.0, 160.0, 380.0],
        [900.0, 500.0, 906.0, 512.0],
    ],
    dtype=np.float32,
)
INVALID = KEYPOINT_INDEX["left_small_toe"]


@pytest.fixture(scope="session")
def standin_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Template stand-ins (dynamic batch, batch 1, batch 2) and compute stand-ins."""
    root = tmp_path_factory.mktemp("pose_models")
    return {
        "dynamic": make_standin_model(root / "template_dyn.onnx"),
        "fixed": make_standin_model(root / "template_b1.onnx", batch=1),
        "fixed2": make_standin_model(root / "template_b2.onnx", batch=2),
        "compute": make_standin_model(root / "compute_dyn.onnx", kind="compute"),
        "compute_fixed": make_standin_model(root / "compute_b1.onnx", kind="compute", batch=1),
    }


@pytest.fixture(scope="session")
def frame_f60(sports2d_clip: Path) -> np.ndarray:
    """Frame 60 of sports2d_demo.mp4, ``(994, 1768, 3)`` uint8 BGR."""
    cap = cv2.VideoCapture(str(sports2d_clip))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 60)
    ok, frame = cap.read()
    cap.release()
    assert ok, "could not decode frame 60 of sports2d_demo.mp4"
    return frame


def test_shapes_dtypes_and_figure(standin_models: dict[str, Path], frame_f60: np.ndarray) -> None:
    est = SpinePoseEstimator(standin_models["dynamic"])
    assert est.input_wh == (192, 256) and est.batch_dynamic
    xy, score = est(frame_f60, BOXES_F60)
    assert xy.shape == (4, 37, 2) and score.shape == (4, 37)
    assert xy.dtype == np.float32 and score.dtype == np.float32
    valid = np.ones(37, bool)
    valid[INVALID] = False
    assert np.isnan(xy[:, INVALID]).all() and np.all(score[:, INVALID] <= 0)
    assert np.isfinite(xy[:, valid]).all()
    assert np.all((score[:, valid] > 0.4) & (score[:, valid] < 1))
    for box, pts in zip(BOXES_F60, xy, strict=True):
        w, h = box[2] - box[0], box[3] - box[1]
        slack = 0.05 * np.array([w, h]) + 2.0
        assert np.all(pts[valid] >= box[:2] - slack) and np.all(pts[valid] <= box[2:] + slack)
        chain_y = pts[list(SPINE_CHAIN_INDICES), 1]  # pelvis to head: going up the image
        assert np.all(np.diff(chain_y) < 0)
        assert pts[KEYPOINT_INDEX["left_shoulder"], 0] > pts[KEYPOINT_INDEX["right_shoulder"], 0]


def test_matches_the_pipeline_by_hand(
    standin_models: dict[str, Path], frame_f60: np.ndarray
) -> None:
    est = SpinePoseEstimator(standin_models["dynamic"])
    xy, score = est(frame_f60, BOXES_F60)
    batch, center, scale = crop_and_normalise(frame_f60, BOXES_F60, (192, 256), "rgb")
    sx, sy = est.session.run(None, {"input": batch})
    xy_in, score_ref = decode_simcc(sx, sy)
    np.testing.assert_array_equal(score, score_ref)
    by_hand = to_frame_coords(xy_in, center, scale, (192, 256)).astype(np.float32)
    np.testing.assert_array_equal(xy, by_hand)
    # template keypoints: within the stand-in's largest input-dependent shift (3 px + a bin)
    assert np.nanmax(np.abs(xy_in - template_keypoints()[None])) <= 3.5


def test_dynamic_and_fixed_batch_agree(
    standin_models: dict[str, Path], frame_f60: np.ndarray
) -> None:
    results = {}
    for key in ("dynamic", "fixed", "fixed2"):
        est = SpinePoseEstimator(standin_models[key])
        results[key] = est(frame_f60, BOXES_F60)
    assert SpinePoseEstimator(standin_models["fixed"]).batch_size == 1
    for key in ("fixed", "fixed2"):
        np.testing.assert_array_equal(results[key][0], results["dynamic"][0])
        np.testing.assert_allclose(results[key][1], results["dynamic"][1], atol=1e-6)


def test_compute_standin_batched_vs_per_crop(
    standin_models: dict[str, Path], frame_f60: np.ndarray
) -> None:
    dyn = SpinePoseEstimator(standin_models["compute"], intra_op_threads=1)
    fixed = SpinePoseEstimator(standin_models["compute_fixed"], intra_op_threads=1)
    batch, _, _ = crop_and_normalise(frame_f60, BOXES_F60[:3])
    a = dyn.run_model(batch)
    b = fixed.run_model(batch)
    for x, y in zip(a, b, strict=True):
        assert x.shape == y.shape
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-4)


def test_channel_order(standin_models: dict[str, Path], frame_f60: np.ndarray) -> None:
    rgb = SpinePoseEstimator(standin_models["dynamic"], channel_order="rgb")
    bgr = SpinePoseEstimator(standin_models["dynamic"], channel_order="bgr")
    xy_rgb, s_rgb = rgb(frame_f60, BOXES_F60[:2])
    xy_bgr, s_bgr = bgr(frame_f60, BOXES_F60[:2])
    assert np.abs(s_rgb - s_bgr).max() > 1e-3  # the stand-in weighs the channels 1, 0.5, 0
    grey = np.repeat(cv2.cvtColor(frame_f60, cv2.COLOR_BGR2GRAY)[..., None], 3, axis=2)
    np.testing.assert_array_equal(rgb(grey, BOXES_F60)[1], bgr(grey, BOXES_F60)[1])
    assert rgb.describe()["channel_order"] == "rgb" and bgr.describe()["channel_order"] == "bgr"
    assert np.isfinite(xy_rgb[:, :INVALID]).all() and np.isfinite(xy_bgr[:, :INVALID]).all()
    with pytest.raises(ValueError, match="channel_order"):
        SpinePoseEstimator(standin_models["dynamic"], channel_order="hsv")  # type: ignore[arg-type]


def test_no_boxes_does_not_run_the_model(
    standin_models: dict[str, Path], frame_f60: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    est = SpinePoseEstimator(standin_models["dynamic"])

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model ran")

    monkeypatch.setattr(est, "run_model", fail)
    xy, score = est(frame_f60, np.zeros((0, 4), np.float32))
    assert xy.shape == (0, 37, 2) and score.shape == (0, 37)
    assert xy.dtype == np.float32 and score.dtype == np.float32


def test_describe_and_model_file(standin_models: dict[str, Path]) -> None:
    path = standin_models["fixed"]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    info = SpinePoseEstimator(path).describe()
    assert info["sha256"] == digest and info["path"] == str(path)
    assert info["input_size"] == [192, 256] and info["batch_dynamic"] is False
    assert info["providers"][-1] == "CPUExecutionProvider"
    assert info["output_names"] == ["simcc_x", "simcc_y"]
    mf = ModelFile(path, "given", path.name, None, None, None)
    assert SpinePoseEstimator(mf).describe()["sha256"] == "given"


@pytest.mark.parametrize(
    ("defect", "message"),
    [
        ("output_shape", r"output 'simcc_x' has shape .*expected \(N, 37, 384\)"),
        ("input_channels", r"expected \(N, 3, h, w\)"),
        ("one_output", "expected 2 outputs"),
        ("keypoints", r"expected \(N, 37, 384\)"),
    ],
)
def test_contract_errors(tmp_path: Path, defect: str, message: str) -> None:
    path = make_bad_model(tmp_path / f"bad_{defect}.onnx", defect=defect)
    with pytest.raises(PoseModelError, match=message) as info:
        SpinePoseEstimator(path)
    assert str(path) in str(info.value) and "not a SpinePose model" in str(info.value)


def test_output_shape_checked_at_first_run(tmp_path: Path, frame_f60: np.ndarray) -> None:
    path = make_bad_model(tmp_path / "hidden.onnx", defect="hidden_output_shape")
    est = SpinePoseEstimator(path)  # the declared shapes are all symbolic: accepted at load
    with pytest.raises(PoseModelError, match=r"'simcc_x' came out as \(2, 37, 300\)"):
        est(frame_f60, BOXES_F60[:2])


def test_missing_and_non_onnx_files(tmp_path: Path) -> None:
    with pytest.raises(PoseModelError, match="not found"):
        SpinePoseEstimator(tmp_path / "nothing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a protobuf" * 10)
    with pytest.raises(PoseModelError, match="not a loadable ONNX model") as info:
        SpinePoseEstimator(junk)
    assert str(junk) in str(info.value)
