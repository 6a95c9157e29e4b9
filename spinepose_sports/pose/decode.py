"""SimCC decoding and back-projection to the frame (pure numpy).

SpinePose predicts, for every keypoint, one 1-D classification vector along x (``2 * w``
bins) and one along y (``2 * h`` bins): bin ``i`` stands for ``i / split_ratio`` px of the
model input (``split_ratio = 2``).  The keypoint is the argmax along each axis, its score the
mean of the two maxima; a score ``<= 0`` marks the keypoint invalid (NaN here, where the
official library writes ``-1`` before back-projection).
"""

from __future__ import annotations

import numpy as np

#: SimCC bins per input pixel of the SpinePose heads.
DEFAULT_SPLIT_RATIO = 2.0


def decode_simcc(
    simcc_x: np.ndarray, simcc_y: np.ndarray, split_ratio: float = DEFAULT_SPLIT_RATIO
) -> tuple[np.ndarray, np.ndarray]:
    """Argmax-decode SimCC vectors.

    Args:
        simcc_x: ``(n, K, Wx)`` logits along x (``Wx = split_ratio * input_w``).
        simcc_y: ``(n, K, Wy)`` logits along y (``Wy = split_ratio * input_h``).
        split_ratio: bins per input pixel.

    Returns:
        xy_input ``(n, K, 2)`` float32 px in model-input coordinates, NaN where invalid;
        score ``(n, K)`` float32, ``0.5 * (max_x + max_y)``; invalid where ``score <= 0``.
        Ties resolve to the first (lowest) bin.  Where the logits hold NaN or inf (a broken
        model), the maximum is not finite: the keypoint is invalid and its score NaN.
    """
    if simcc_x.ndim != 3 or simcc_y.ndim != 3 or simcc_x.shape[:2] != simcc_y.shape[:2]:
        raise ValueError(
            "simcc_x, simcc_y: expected shapes (n, K, Wx) and (n, K, Wy), received "
            f"{simcc_x.shape} and {simcc_y.shape}"
        )
    ix = np.argmax(simcc_x, axis=2)
    iy = np.argmax(simcc_y, axis=2)
    max_x = np.take_along_axis(simcc_x, ix[..., None], axis=2)[..., 0]
    max_y = np.take_along_axis(simcc_y, iy[..., None], axis=2)[..., 0]
    with np.errstate(invalid="ignore", over="ignore"):
        score = (0.5 * (max_x.astype(np.float64) + max_y)).astype(np.float32)
    # a model that outputs NaN or inf says nothing trustworthy: no position, no score
    broken = ~np.isfinite(score)
    score[broken] = np.nan
    xy = np.stack([ix, iy], axis=-1).astype(np.float32) / np.float32(split_ratio)
    xy[broken | (score <= 0)] = np.nan
    return xy, score


def to_frame_coords(
    xy_input: np.ndarray,
    center: np.ndarray,
    scale: np.ndarray,
    input_wh: tuple[int, int],
) -> np.ndarray:
    """Map model-input px back to frame px (inverse of the crop transform).

    Args:
        xy_input: ``(n, K, 2)`` px in the model input; NaN stays NaN.
        center: ``(n, 2)`` crop centers, frame px.
        scale: ``(n, 2)`` crop sizes at the model's aspect ratio, frame px.
        input_wh: model input ``(width, height)`` px.

    Returns:
        ``(n, K, 2)`` float64 frame px.
    """
    size = np.asarray(input_wh, dtype=np.float64)
    c = np.asarray(center, dtype=np.float64)[:, None, :]
    s = np.asarray(scale, dtype=np.float64)[:, None, :]
    return np.asarray(xy_input, dtype=np.float64) / size * s + c - s / 2
