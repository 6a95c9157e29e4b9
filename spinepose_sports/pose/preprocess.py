"""Top-down crop preparation for SpinePose: boxes -> affine crops -> normalised NCHW batch.

Pure numpy + OpenCV, no model code.  Conventions (design §4):

* a box ``(x1, y1, x2, y2)`` in frame pixels becomes a *center* ``(cx, cy)`` px and a *scale*
  ``(sw, sh)`` px: the box size times ``padding`` (1.25), then widened or heightened to the
  model's aspect ratio ``w / h`` (0.75 for 192x256), never shrunk;
* the crop maps the scale rectangle around the center onto the model input
  ``(input_w, input_h)`` with one uniform zoom ``input_w / sw`` and no rotation
  (``cv2.warpAffine``, bilinear, black outside the frame);
* the crop is normalised per channel with the ImageNet mean and std, the first mean / std
  value applying to the first channel fed to the model.

The matrix is built from three float32 point correspondences and solved by
``cv2.getAffineTransform``: that is the construction the official SpinePose library uses, so
crops are bit-identical to it (see ``docs/pose-parity.md``).
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

#: Per-channel mean and std (ImageNet, 0-255 scale), applied in the order channels are fed.
MEAN: tuple[float, float, float] = (123.675, 116.28, 103.53)
STD: tuple[float, float, float] = (58.395, 57.12, 57.375)
#: Box padding of the official top-down pipeline.
DEFAULT_PADDING = 1.25
#: Model input size ``(width, height)`` px of the s/m/l models.
DEFAULT_INPUT_WH: tuple[int, int] = (192, 256)

ChannelOrder = Literal["rgb", "bgr"]
CHANNEL_ORDERS: tuple[str, ...] = ("rgb", "bgr")


def _as_boxes(xyxy: np.ndarray) -> np.ndarray:
    """``(n, 4)`` or ``(4,)`` boxes -> ``(n, 4)`` float64; raises ``ValueError`` otherwise."""
    boxes = np.asarray(xyxy, dtype=np.float64)
    if boxes.ndim == 1 and boxes.shape[0] == 4:
        boxes = boxes[None, :]
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"xyxy: expected shape (n, 4), received {np.shape(xyxy)}")
    return boxes


def box_to_center_scale(
    xyxy: np.ndarray, padding: float = DEFAULT_PADDING
) -> tuple[np.ndarray, np.ndarray]:
    """Boxes to crop centers and padded sizes.

    Args:
        xyxy: ``(n, 4)`` boxes ``x1, y1, x2, y2`` in frame px.
        padding: multiplier applied to the box width and height.

    Returns:
        center ``(n, 2)`` float64 px, scale ``(n, 2)`` float64 px (padded width, height).
    """
    boxes = _as_boxes(xyxy)
    x1, y1, x2, y2 = boxes.T
    center = np.stack([x1 + x2, y1 + y2], axis=1) * 0.5
    scale = np.stack([x2 - x1, y2 - y1], axis=1) * padding
    return center, scale


def fix_aspect_ratio(scale: np.ndarray, aspect_w_over_h: float) -> np.ndarray:
    """Grow each ``(sw, sh)`` along one axis so that ``sw / sh == aspect_w_over_h``.

    Args:
        scale: ``(n, 2)`` px.
        aspect_w_over_h: target width / height (0.75 for a 192x256 input).

    Returns:
        ``(n, 2)`` float64 px; each size is only ever enlarged.
    """
    scale = np.asarray(scale, dtype=np.float64).reshape(-1, 2)
    sw, sh = scale[:, 0], scale[:, 1]
    too_wide = sw > sh * aspect_w_over_h
    new_w = np.where(too_wide, sw, sh * aspect_w_over_h)
    new_h = np.where(too_wide, sw / aspect_w_over_h, sh)
    return np.stack([new_w, new_h], axis=1)


def _correspondences(
    center: np.ndarray, scale: np.ndarray, input_wh: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Three frame points and their crop images per box, float32.

    The points are: the center; the point half a scale-width above it; the point half a
    scale-width to the left of that one.  In the crop they go to the crop center, half an
    input-width above it, and half an input-width left of that.

    Returns: src ``(n, 3, 2)`` frame px, dst ``(3, 2)`` crop px.
    """
    n = center.shape[0]
    src = np.empty((n, 3, 2), dtype=np.float32)
    src[:, 0] = center
    up = np.zeros((n, 2))
    up[:, 1] = -0.5 * scale[:, 0]
    src[:, 1] = center + up
    step = src[:, 0] - src[:, 1]  # float32, (0, sw/2) up to rounding
    src[:, 2, 0] = src[:, 1, 0] - step[:, 1]
    src[:, 2, 1] = src[:, 1, 1] + step[:, 0]

    w, h = float(input_wh[0]), float(input_wh[1])
    dst = np.array([[w / 2, h / 2], [w / 2, h / 2 - w / 2], [0.0, h / 2 - w / 2]], np.float32)
    return src, dst


def crop_affine(
    center: np.ndarray, scale: np.ndarray, input_wh: tuple[int, int] = DEFAULT_INPUT_WH
) -> np.ndarray:
    """Affine matrices mapping frame px to model-input px.

    Args:
        center: ``(n, 2)`` px.
        scale: ``(n, 2)`` px, already at the model's aspect ratio (only the width is used).
        input_wh: model input ``(width, height)`` px.

    Returns:
        ``(n, 2, 3)`` float64 matrices ``M`` with ``[u, v] = M @ [x, y, 1]``.
    """
    center = np.asarray(center, dtype=np.float64).reshape(-1, 2)
    scale = np.asarray(scale, dtype=np.float64).reshape(-1, 2)
    src, dst = _correspondences(center, scale, input_wh)
    out = np.empty((center.shape[0], 2, 3), dtype=np.float64)
    for i in range(center.shape[0]):
        out[i] = cv2.getAffineTransform(src[i], dst)
    return out


def crop_boxes(
    frame_bgr: np.ndarray,
    xyxy: np.ndarray,
    input_wh: tuple[int, int] = DEFAULT_INPUT_WH,
    padding: float = DEFAULT_PADDING,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut the model-input crops of ``n`` boxes out of a frame (no normalisation).

    Args:
        frame_bgr: ``(H, W, 3)`` uint8 frame, BGR.
        xyxy: ``(n, 4)`` boxes in frame px.
        input_wh: model input ``(width, height)`` px.
        padding: box padding factor.

    Returns:
        crops ``(n, h, w, 3)`` uint8 in the frame's channel order, center ``(n, 2)`` px,
        scale ``(n, 2)`` px (padded and at the model's aspect ratio: use it to map back).
    """
    _check_frame(frame_bgr)
    w, h = int(input_wh[0]), int(input_wh[1])
    center, scale = box_to_center_scale(xyxy, padding)
    scale = fix_aspect_ratio(scale, w / h)
    matrices = crop_affine(center, scale, (w, h))
    crops = np.empty((center.shape[0], h, w, 3), dtype=np.uint8)
    for i, m in enumerate(matrices):
        cv2.warpAffine(frame_bgr, m, (w, h), dst=crops[i], flags=cv2.INTER_LINEAR)
    return crops, center, scale


def _lookup_tables(channel_order: str) -> np.ndarray:
    """``(3, 256)`` float32: normalised value of each uint8 level, per *frame* channel (BGR).

    Computed in float64 then rounded once, so it equals ``float32((v - mean) / std)``.
    """
    levels = np.arange(256, dtype=np.float64)
    fed = np.stack([(levels - m) / s for m, s in zip(MEAN, STD, strict=True)])  # fed order
    # frame channel c (B=0, G=1, R=2) is fed at position c (bgr) or 2 - c (rgb)
    return (fed if channel_order == "bgr" else fed[::-1]).astype(np.float32)


_LUTS = {order: _lookup_tables(order) for order in CHANNEL_ORDERS}


def normalise_crops(crops_bgr: np.ndarray, channel_order: ChannelOrder = "rgb") -> np.ndarray:
    """BGR uint8 crops to the model's normalised NCHW float32 batch.

    Args:
        crops_bgr: ``(n, h, w, 3)`` uint8, BGR.
        channel_order: ``"rgb"`` (as the model was trained; default) or ``"bgr"`` (what the
            official inference library feeds).

    Returns:
        ``(n, 3, h, w)`` float32; channel ``j`` of the output is the ``j``-th fed channel,
        normalised with ``MEAN[j]`` and ``STD[j]``.
    """
    lut = _LUTS.get(channel_order)
    if lut is None:
        raise ValueError(
            f"channel_order: expected one of {CHANNEL_ORDERS}, received {channel_order!r}"
        )
    n, h, w, _ = crops_bgr.shape
    out = np.empty((n, 3, h, w), dtype=np.float32)
    for c in range(3):
        fed = c if channel_order == "bgr" else 2 - c
        np.take(lut[c], crops_bgr[..., c], out=out[:, fed])
    return out


def crop_and_normalise(
    frame_bgr: np.ndarray,
    xyxy: np.ndarray,
    input_wh: tuple[int, int] = DEFAULT_INPUT_WH,
    channel_order: ChannelOrder = "rgb",
    padding: float = DEFAULT_PADDING,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes of one frame to the model's input batch.

    Args:
        frame_bgr: ``(H, W, 3)`` uint8 frame, BGR (OpenCV order).
        xyxy: ``(n, 4)`` boxes in frame px.
        input_wh: model input ``(width, height)`` px.
        channel_order: ``"rgb"`` (default, as trained) or ``"bgr"`` (official library).
        padding: box padding factor.

    Returns:
        batch ``(n, 3, h, w)`` float32, center ``(n, 2)`` px, scale ``(n, 2)`` px.
    """
    crops, center, scale = crop_boxes(frame_bgr, xyxy, input_wh, padding)
    return normalise_crops(crops, channel_order), center, scale


def _check_frame(frame: np.ndarray) -> None:
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(
            f"frame: expected a (H, W, 3) uint8 BGR array, received shape {np.shape(frame)}"
        )
    if frame.dtype != np.uint8:
        raise ValueError(f"frame: expected dtype uint8, received {frame.dtype}")
