"""IoU of the boxes of detect-every-N against per-frame detection (a helper of
``benchmarks/run_all.py`` and ``tests/test_perf_pipeline.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a (n, 4)`` with every box of ``b (m, 4)``, xyxy px."""
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def matched_ious(reference: list, other: list) -> tuple[np.ndarray, int]:
    """Per box of ``reference`` (per-frame FrameDetections), its best IoU in ``other``
    (0 where the other frame has no box), and the number of frames whose counts differ."""
    ious: list[float] = []
    differ = 0
    for ref, oth in zip(reference, other, strict=True):
        differ += len(ref) != len(oth)
        if len(ref) == 0:
            continue
        if len(oth) == 0:
            ious.extend([0.0] * len(ref))
            continue
        ious.extend(box_iou(ref.xyxy, oth.xyxy).max(1).tolist())
    return np.asarray(ious), differ


def compare(video: Path, weights: Path, every: int, n_frames: int, classes=(0, 1),
            backend: str = "auto") -> dict:
    """Boxes of per-frame detection and of detect-every-``every`` on the first
    ``n_frames`` frames of ``video``: IoU figures (no pose feedback: plain every N)."""
    from spinepose_sports.detection import YoloTracker
    from spinepose_sports.pipeline.sparse import SparseDetection
    from spinepose_sports.video import read_frames

    frames = [f.image for f, _ in zip(read_frames(video), range(n_frames), strict=False)]
    yolo = YoloTracker(weights, person_classes=classes, backend=backend)
    yolo.reset()
    full = [yolo.update(f) for f in frames]
    sparse = SparseDetection(yolo, every=every)
    sparse.reset()
    thin = [sparse.update(f) for f in frames]
    ious, differ = matched_ious(full, thin)
    seen = ious[ious > 0]
    return {
        "video": video.name, "frames": len(frames), "every": every, "boxes": int(ious.size),
        "mean_iou": float(ious.mean()) if ious.size else float("nan"),
        "p05_iou": float(np.percentile(ious, 5)) if ious.size else float("nan"),
        "min_iou": float(ious.min()) if ious.size else float("nan"),
        "matched_mean_iou": float(seen.mean()) if seen.size else float("nan"),
        "recall_iou_0.5": float((ious >= 0.5).mean()) if ious.size else float("nan"),
        "count_differs": differ, **sparse.counts,
    }
