"""Parity with the official SpinePose library (``spinepose==2.1.0``), used as the oracle.

Its pre- and post-processing functions and its per-crop ``RTMPose`` tool are run side by
side with ours on real frames and real boxes (measured with the real detector), plus boxes
that touch or cross the border, tiny and very elongated ones.  ``docs/pose-parity.md``
explains the results.  The oracle is a test dependency: these tests never skip.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from spinepose.metainfo import metainfo as official_metainfo
from spinepose.tools.pose_estimation.post_processings import get_simcc_maximum
from spinepose.tools.pose_estimation.pre_processings import (
    bbox_xyxy2cs,
    get_warp_matrix,
    top_down_affine,
)
from spinepose.tools.pose_estimation.rtmpose import RTMPose
from standins import make_standin_model

from spinepose_sports import skeleton
from spinepose_sports.pose import SpinePoseEstimator
from spinepose_sports.pose.decode import decode_simcc, to_frame_coords
from spinepose_sports.pose.preprocess import (
    MEAN,
    STD,
    box_to_center_scale,
    crop_affine,
    crop_and_normalise,
    crop_boxes,
    fix_aspect_ratio,
)

INPUT_WH = (192, 256)
#: the official tool's settings, for calling its methods without building a session
OFFICIAL = SimpleNamespace(model_input_size=INPUT_WH, mean=MEAN, std=STD)

#: (clip fixture, frame index, person boxes measured with the real detector)
REAL = {
    "sports2d_f60": (
        "sports2d_clip", 60, [[1250.2, 531.1, 1517.3, 951.8], [477.6, 19.6, 762.6, 464.3]]
    ),
    "sports2d_f150": (
        "sports2d_clip", 150, [[370.5, 496.7, 630.8, 942.1], [708.2, 34.8, 879.7, 744.4]]
    ),
    "vtest_f100": (
        "vtest_clip", 100,
        [[365.5, 172.3, 416.7, 245.6], [501.8, 145.8, 552.8, 218.6],
         [340.9, 193.5, 386.0, 275.5], [57.5, 492.2, 169.0, 555.3]],
    ),
}  # fmt: skip


def _edge_boxes(h: int, w: int) -> list[list[float]]:
    """Touching / crossing the border, tiny, very elongated, sub-pixel."""
    return [
        [0.0, 0.0, 150.0, 300.0],  # touches the top-left corner
        [w - 120.0, h - 260.0, w + 0.0, h + 0.0],  # touches the bottom-right corner
        [-60.0, h * 0.4, 90.0, h * 0.4 + 350.0],  # crosses the left edge
        [w * 0.5, -100.0, w * 0.5 + 80.0, 140.0],  # crosses the top edge
        [w - 50.0, h - 40.0, w + 150.0, h + 200.0],  # mostly outside
        [w * 0.3, h * 0.3, w * 0.3 + 2.0, h * 0.3 + 3.0],  # tiny
        [w * 0.6, h * 0.6, w * 0.6 + 1.0, h * 0.6 + 1.0],  # one pixel
        [10.0, h * 0.5, w - 10.0, h * 0.5 + 12.0],  # very wide
        [w * 0.7, 5.0, w * 0.7 + 9.0, h - 5.0],  # very tall
        [100.37, 50.81, 233.19, 410.55],  # sub-pixel corners
    ]


def _read(path: Path, index: int) -> np.ndarray:
    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, frame = cap.read()
    cap.release()
    assert ok, f"could not decode frame {index} of {path}"
    return frame


@pytest.fixture(scope="session")
def scenes(request: pytest.FixtureRequest) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (frame BGR uint8, boxes ``(n, 4)`` float64: real ones then edge cases)."""
    out = {}
    for name, (clip, index, boxes) in REAL.items():
        frame = _read(request.getfixturevalue(clip), index)
        every = boxes + _edge_boxes(*frame.shape[:2])
        out[name] = (frame, np.array(every, dtype=np.float64))
    return out


@pytest.fixture(scope="session")
def parity_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("parity_models")
    return {
        "template": make_standin_model(root / "template.onnx"),
        "template_b1": make_standin_model(root / "template_b1.onnx", batch=1),
        "compute": make_standin_model(root / "compute.onnx", kind="compute"),
        "compute_b1": make_standin_model(root / "compute_b1.onnx", kind="compute", batch=1),
    }


# ------------------------------------------------------------------ pre-processing


def test_crop_geometry_and_pixels_equal_official(
    scenes: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    for frame, boxes in scenes.values():
        center, scale = box_to_center_scale(boxes)
        scale = fix_aspect_ratio(scale, INPUT_WH[0] / INPUT_WH[1])
        matrices = crop_affine(center, scale, INPUT_WH)
        crops, _, _ = crop_boxes(frame, boxes, INPUT_WH)
        for i, box in enumerate(boxes):
            c_ref, s_ref = bbox_xyxy2cs(box, padding=1.25)
            crop_ref, s_ref = top_down_affine(INPUT_WH, s_ref, c_ref, frame)
            m_ref = get_warp_matrix(c_ref, s_ref, 0, output_size=INPUT_WH)
            np.testing.assert_array_equal(center[i], c_ref)
            np.testing.assert_array_equal(scale[i], s_ref)
            np.testing.assert_array_equal(matrices[i], m_ref)
            np.testing.assert_array_equal(crops[i], crop_ref)


def test_normalised_batch_equals_official(
    scenes: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    """bgr mode is the official input bit for bit; rgb mode is it on the RGB frame."""
    for frame, boxes in scenes.values():
        bgr, _, _ = crop_and_normalise(frame, boxes, INPUT_WH, "bgr")
        rgb, _, _ = crop_and_normalise(frame, boxes, INPUT_WH, "rgb")
        rgb_frame = np.ascontiguousarray(frame[..., ::-1])
        for i, box in enumerate(boxes):
            ref, _, _ = RTMPose.preprocess(OFFICIAL, frame, box)
            np.testing.assert_array_equal(bgr[i], ref.transpose(2, 0, 1).astype(np.float32))
            ref_rgb, _, _ = RTMPose.preprocess(OFFICIAL, rgb_frame, box)
            np.testing.assert_array_equal(rgb[i], ref_rgb.transpose(2, 0, 1).astype(np.float32))


def test_float32_boxes_departure_is_tiny(
    scenes: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    """Ours promotes boxes to float64; the official computes in the boxes' dtype."""
    worst_cs = worst_m = 0.0
    for frame, boxes in scenes.values():
        boxes32 = boxes.astype(np.float32)
        crops, center, scale = crop_boxes(frame, boxes32, INPUT_WH)
        matrices = crop_affine(center, scale, INPUT_WH)
        for i, box in enumerate(boxes32):
            c_ref, s_ref = bbox_xyxy2cs(box, padding=1.25)
            crop_ref, s_ref = top_down_affine(INPUT_WH, s_ref, c_ref, frame)
            m_ref = get_warp_matrix(c_ref, s_ref, 0, output_size=INPUT_WH)
            cs = max(np.abs(center[i] - c_ref).max(), np.abs(scale[i] - s_ref).max())
            worst_cs = max(worst_cs, cs)
            worst_m = max(worst_m, np.abs(matrices[i] - m_ref).max())
            diff = np.abs(crops[i].astype(np.int16) - crop_ref)
            assert diff.max() <= 1 and (diff > 0).mean() < 0.005
    assert worst_cs < 1e-3 and worst_m < 1e-2


# ------------------------------------------------------------------ decoding


def _official_decode(
    sx: np.ndarray, sy: np.ndarray, center: np.ndarray, scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The official per-crop post-processing, crop by crop."""
    kps, scores = [], []
    for i in range(sx.shape[0]):
        kp, sc = RTMPose.postprocess(OFFICIAL, [sx[i : i + 1], sy[i : i + 1]], center[i], scale[i])
        kps.append(kp[0])
        scores.append(sc[0])
    return np.array(kps), np.array(scores)


def _compare_decoding(sx: np.ndarray, sy: np.ndarray, center: np.ndarray, scale: np.ndarray) -> int:
    """Assert ours equals the official decoding; return the number of invalid points."""
    ref_xy, ref_score = _official_decode(sx, sy, center, scale)
    xy_in, score = decode_simcc(sx, sy)
    xy = to_frame_coords(xy_in, center, scale, INPUT_WH)
    valid = ref_score > 0
    np.testing.assert_array_equal(np.isfinite(xy).all(axis=-1), valid)
    np.testing.assert_allclose(score, ref_score, rtol=0, atol=1e-6)
    np.testing.assert_allclose(xy[valid], ref_xy[valid], rtol=0, atol=1e-4)
    locs, _ = get_simcc_maximum(sx, sy)  # the official marks invalid points with -1
    assert np.all(locs[~valid] == -1)
    return int((~valid).sum())


def test_decoding_equals_official(
    scenes: dict[str, tuple[np.ndarray, np.ndarray]], parity_models: dict[str, Path]
) -> None:
    rng = np.random.default_rng(7)
    est = SpinePoseEstimator(parity_models["template"], channel_order="bgr")
    invalid = 0
    for frame, boxes in scenes.values():
        batch, center, scale = crop_and_normalise(frame, boxes, INPUT_WH, "bgr")
        n = len(boxes)
        # 1. the stand-in model's outputs on the real crops
        invalid += _compare_decoding(*est.run_model(batch), center, scale)
        # 2. synthetic peaks at random places and heights, some negative
        loc = rng.uniform(0, 1, (n, 37, 2)) * np.array([384, 512])
        peak = rng.uniform(-0.3, 1.0, (n, 37, 1))
        sx = peak * np.exp(-((np.arange(384) - loc[..., :1]) ** 2) / 10.0)
        sy = peak * np.exp(-((np.arange(512) - loc[..., 1:]) ** 2) / 10.0)
        invalid += _compare_decoding(sx.astype(np.float32), sy.astype(np.float32), center, scale)
        # 3. noise, with exact ties (quantised logits)
        sx = np.round(rng.normal(0, 1, (n, 37, 384)), 1).astype(np.float32)
        sy = np.round(rng.normal(-0.5, 1, (n, 37, 512)), 1).astype(np.float32)
        invalid += _compare_decoding(sx, sy, center, scale)
    assert invalid > 0  # the invalid branch was exercised


# ------------------------------------------------------------------ skeleton


def test_skeleton_equals_official_metainfo() -> None:
    info = official_metainfo["keypoint_info"]
    names = tuple(info[i]["name"] for i in sorted(info))
    assert names == skeleton.KEYPOINT_NAMES
    assert [info[i]["id"] for i in sorted(info)] == list(range(skeleton.NUM_KEYPOINTS))
    swaps = {info[i]["name"]: info[i]["swap"] for i in info}
    assert swaps == skeleton.SWAPS
    links_info = official_metainfo["skeleton_info"]
    links = [links_info[i]["link"] for i in sorted(links_info)]
    assert {tuple(link) for link in links} == set(skeleton.LINKS)
    assert [tuple(link) for link in links] == list(skeleton.LINKS)


# ------------------------------------------------------------------ whole stage


def _official_raw(tool: RTMPose, frame: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, ...]:
    """The official tool's SimCC outputs, one crop at a time."""
    outs = [tool.inference(tool.preprocess(frame, box)[0]) for box in boxes]
    return tuple(np.concatenate([o[j] for o in outs]) for j in range(2))


def _assert_same_or_tie(
    ours: tuple[np.ndarray, np.ndarray],
    ref: tuple[np.ndarray, np.ndarray],
    raw_ours: tuple[np.ndarray, ...],
    raw_ref: tuple[np.ndarray, ...],
) -> float:
    """Keypoints within 1e-3 px, except SimCC near-ties (within 1e-5); return the max diff."""
    xy, score = ours
    ref_xy, ref_score = ref
    valid = ref_score > 0
    np.testing.assert_array_equal(np.isfinite(xy).all(axis=-1), valid)
    np.testing.assert_allclose(score, ref_score, atol=1e-5)
    diff = np.where(valid, np.abs(xy - ref_xy).max(axis=-1), 0.0)
    for i, k in zip(*np.nonzero(diff > 1e-3), strict=True):
        for r_ours, r_ref in zip(raw_ours, raw_ref, strict=True):
            a, b = np.argmax(r_ours[i, k]), np.argmax(r_ref[i, k])
            assert r_ours[i, k, a] - r_ours[i, k, b] <= 1e-5, f"crop {i} keypoint {k} moved"
    return float(diff[diff <= 1e-3].max())


@pytest.mark.parametrize("kind", ["template", "compute"])
def test_departures_move_no_keypoint(
    scenes: dict[str, tuple[np.ndarray, np.ndarray]], parity_models: dict[str, Path], kind: str
) -> None:
    """Batched crops, rows kept in box order, NaN for invalid: no keypoint moves > 1e-3 px."""
    official = RTMPose(
        str(parity_models[kind]), model_input_size=INPUT_WH, hardware_acceleration=False
    )
    batched = SpinePoseEstimator(parity_models[kind], channel_order="bgr")
    per_crop = SpinePoseEstimator(parity_models[f"{kind}_b1"], channel_order="bgr")
    assert batched.batch_dynamic and not per_crop.batch_dynamic
    # the compute stand-in (SpinePose-s cost) on one frame keeps the test fast
    chosen = list(scenes.values()) if kind == "template" else [scenes["sports2d_f60"]]
    for frame, boxes in chosen:
        ref = official(frame, boxes)
        raw_ref = _official_raw(official, frame, boxes)
        batch, _, _ = crop_and_normalise(frame, boxes, INPUT_WH, "bgr")
        for est in (batched, per_crop):
            got = est(frame, boxes)
            assert _assert_same_or_tie(got, ref, est.run_model(batch), raw_ref) < 1e-3
        # rows follow the boxes: a permutation of the boxes permutes the results exactly,
        # so the caller's track ids stay attached to the right person
        order = np.random.default_rng(0).permutation(len(boxes))
        xy, score = batched(frame, boxes[order])
        full_xy, full_score = batched(frame, boxes)
        np.testing.assert_array_equal(xy, full_xy[order])
        np.testing.assert_array_equal(score, full_score[order])
