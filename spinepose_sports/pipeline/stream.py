"""The streaming pass: decode, track and estimate poses, one frame at a time.

Only the per-frame results (boxes, keypoints, torso colours) are kept; every frame is
dropped as soon as its stages are done, so memory grows with the video's length only by
those small results.
"""

from __future__ import annotations

import time
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np

from ..config import AnalyzeConfig
from ..data import FramePoses, TrackAccumulator
from ..video import VideoError, VideoFrame, VideoInfo, read_ahead, read_frames
from .stages import Stages, StageTimer


def progress_bar(total: int | None, desc: str, enabled: bool) -> Any:
    """A tqdm progress bar over frames (disabled when ``enabled`` is false); in a batch
    worker, a bar that reports to the batch's display (:mod:`.progress`)."""
    from tqdm.auto import tqdm

    from .progress import sink_bar

    if enabled and (bar := sink_bar(total, desc)) is not None:
        return bar

    return tqdm(total=total, desc=desc, unit="frame", disable=not enabled, dynamic_ncols=True)


def track_and_estimate(
    video_path: Path,
    info: VideoInfo,
    stages: Stages,
    timer: StageTimer,
    config: AnalyzeConfig,
    *,
    progress: bool = True,
    warnings: list[str] | None = None,
) -> tuple[TrackAccumulator, Any]:
    """Stream the video once: track every frame, estimate the pose of every track.

    Returns the per-frame results and the per-track torso colour descriptors
    (an ``AppearanceCollector``, for stitching).  A video that stops decoding part way
    (truncated, corrupt) keeps the frames before the damage: the place where it stopped
    is appended to ``warnings``; with no frame decoded it raises.
    """
    from ..tracking import AppearanceCollector, torso_descriptor

    min_conf = config.pose.min_keypoint_confidence
    start_s, end_s = config.input.start, config.input.end
    stages.tracker.reset()
    results = TrackAccumulator()
    appearance = AppearanceCollector()
    frames = closing(read_ahead(read_frames(video_path, start_s=start_s, end_s=end_s)))
    _warm_up_smoothing()
    observe = getattr(stages.tracker, "observe", None)
    total = expected_frames(info, start_s, end_s)
    last: VideoFrame | None = None
    with frames as frames_in, progress_bar(total, f"track+pose {video_path.name}", progress) as bar:
        while True:
            t0 = time.perf_counter()
            frame = _next_frame(frames_in, last, warnings)
            timer.add("decode", time.perf_counter() - t0)
            if frame is None:
                break
            dets = timer.timed("detect_track", stages.tracker.update, frame.image)
            poses = None
            if len(dets):
                xy, score = timer.timed("pose", stages.pose, frame.image, dets.xyxy)
                poses = FramePoses(xy=xy, score=score, track_id=dets.track_id)
                if observe is not None:
                    observe(dets, score)
                confident_xy = np.where(score[..., None] >= min_conf, xy, np.nan)
                descriptors = timer.timed(
                    "appearance", torso_descriptor, frame.image, dets.xyxy, confident_xy
                )
                appearance.add(frame.index, dets.track_id, descriptors)
            results.add(frame.time_s, frame.index, dets, poses)
            last = frame
            bar.update(1)
            bar.set_postfix(tracks=len(dets), refresh=False)
    if len(results) == 0:
        raise ValueError(f"{video_path}: no frame in the requested time range")
    if warnings is not None and last is not None and not warnings:
        warnings.extend(_cut_short(info, last, start_s, end_s, len(results)))
    return results, appearance


def _warm_up_smoothing() -> None:
    """Load the smoother's compiled loops in a background thread while the models run
    (their first use in a process costs about half a second)."""
    import threading

    from ..smoothing._compiled import warm_up

    threading.Thread(target=warm_up, name="smoothing-warm-up", daemon=True).start()


def _cut_short(
    info: VideoInfo, last: VideoFrame, start_s: float | None, end_s: float | None, n: int
) -> list[str]:
    """A warning when a video read to its end gave fewer frames than its header announces
    (a truncated file that FFmpeg ends quietly)."""
    to_the_end = end_s is None or end_s >= info.duration_s
    if not to_the_end or info.frame_count <= 0 or last.index + 1 >= info.frame_count - 1:
        return []
    return [
        f"the video ended after frame {last.index} (t = {last.time_s:.3f} s) but its header "
        f"announces {info.frame_count} frames ({info.duration_s:.2f} s): the file may be "
        f"truncated; the results cover the {n} frames that decoded"
    ]


def _next_frame(
    frames: Any, last: VideoFrame | None, warnings: list[str] | None
) -> VideoFrame | None:
    """The next frame, or None at the end; a decoding error after at least one good frame
    ends the video there (noted in ``warnings``), before any frame it is raised."""
    try:
        return next(frames, None)
    except VideoError as exc:
        if last is None:
            raise
        if warnings is not None:
            warnings.append(
                f"the video stopped decoding after frame {last.index} "
                f"(t = {last.time_s:.3f} s): {exc}; the results cover the frames before it"
            )
        return None


def expected_frames(info: VideoInfo, start_s: float | None, end_s: float | None) -> int:
    """Frames of ``info`` in ``[start_s, end_s)`` (the progress bar's total)."""
    start = max(start_s or 0.0, 0.0)
    end = min(end_s if end_s is not None else info.duration_s, info.duration_s)
    if start == 0.0 and end >= info.duration_s:
        return info.frame_count
    return max(round((end - start) * info.fps), 0)


__all__ = ["expected_frames", "progress_bar", "track_and_estimate"]
