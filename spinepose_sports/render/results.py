"""Re-render the overlay of a saved results folder, without running the models again."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..report import OVERLAY_FILE, SourceVideoError, find_source_video, load_results
from ..skeleton import MIN_KEYPOINT_CONFIDENCE
from ..video import probe
from .colors import DEFAULT_ANGLE_RANGE_DEG
from .overlay import render_overlay


def render_results(
    results_dir: str | Path,
    *,
    out_path: str | Path | None = None,
    video_path: str | Path | None = None,
    smoothed: bool = True,
    min_score: float = MIN_KEYPOINT_CONFIDENCE,
    names: dict[int, str] | None = None,
    preset: str = "veryfast",
    trail_s: float = 0.0,
    panel: bool = False,
    slow_motion: float = 1.0,
    start_s: float | None = None,
    end_s: float | None = None,
    audio: bool = True,
    angle_limit_deg: float = DEFAULT_ANGLE_RANGE_DEG,
    on_frame: Callable[[int], None] | None = None,
) -> Path:
    """Render ``overlay.mp4`` (or ``out_path``) again from a results folder.

    Reads ``poses_smoothed.nc`` when present and ``smoothed`` (else ``poses.nc``),
    ``boxes.nc`` and ``kinematics.nc`` when present; when there is no ``kinematics.nc``
    the angles are computed from the poses (pure analysis, no models).  The source video
    is ``video_path`` or the one recorded in the poses (see
    :func:`~spinepose_sports.report.find_source_video`).  Other arguments as in
    :func:`~spinepose_sports.render.render_overlay`.

    Raises:
        ResultsFolderError: no results folder / ``poses.nc``.
        SourceVideoError: the source video is not found, or its frame size differs from
            the one the results were made on.
    """
    results = load_results(results_dir, smoothed=smoothed)
    video = find_source_video(results, video_path)
    _check_same_video(video, results.poses.attrs)
    kin = results.kinematics
    if kin is None:
        from ..kinematics import compute_kinematics

        kin = compute_kinematics(results.poses)
    out = Path(out_path) if out_path is not None else results.folder / OVERLAY_FILE
    return render_overlay(
        video,
        results.poses,
        out,
        boxes=results.boxes,
        kinematics=kin,
        min_score=min_score,
        names=names,
        preset=preset,
        trail_s=trail_s,
        panel=panel,
        slow_motion=slow_motion,
        start_s=start_s,
        end_s=end_s,
        audio=audio,
        on_frame=on_frame,
        angle_limit_deg=angle_limit_deg,
    )


def _check_same_video(video: Path, attrs: Mapping[str, Any]) -> None:
    """Raise SourceVideoError when the video's size differs from the analysed one."""
    width, height = attrs.get("frame_width"), attrs.get("frame_height")
    if width is None or height is None:
        return
    info = probe(video)
    if (info.width, info.height) != (int(width), int(height)):
        raise SourceVideoError(
            f"{video}: {info.width}x{info.height} px, but the results were made on a "
            f"{int(width)}x{int(height)} px video; is it the right file?"
        )


__all__ = ["SourceVideoError", "render_results"]
