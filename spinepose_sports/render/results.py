"""Re-render the overlay of a saved results folder, without running the models again."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..report import SourceVideoError, find_source_video, load_results
from ..results import OVERLAY_FILE
from ..video import probe
from .options import DEFAULT_OPTIONS, RenderOptions
from .overlay import render_overlay


def render_results(
    results_dir: str | Path,
    options: RenderOptions = DEFAULT_OPTIONS,
    *,
    out_path: str | Path | None = None,
    video_path: str | Path | None = None,
    smoothed: bool = True,
    on_frame: Callable[[int], None] | None = None,
) -> Path:
    """Render ``overlay.mp4`` (or ``out_path``) again from a results folder.

    Reads ``poses_smoothed.nc`` when present and ``smoothed`` (else ``poses.nc``),
    ``boxes.nc`` and ``kinematics.nc`` when present; when there is no ``kinematics.nc``
    the angles are computed from the poses (pure analysis, no models).  The source video
    is ``video_path`` or the one recorded in the poses (see
    :func:`~spinepose_sports.report.find_source_video`).  Athletes are labelled with
    ``options.names``, else with the names stored by ``analyze --names``.

    Raises:
        ResultsFolderError: no results folder / ``poses.nc``.
        SourceVideoError: the source video is not found, or its frame size differs from
            the one the results were made on.
    """
    from ..tracking import names_of

    results = load_results(results_dir, smoothed=smoothed)
    video = find_source_video(results, video_path)
    _check_same_video(video, results.poses.attrs)
    kin = results.kinematics
    if kin is None:
        from ..kinematics import compute_kinematics

        kin = compute_kinematics(results.poses)
    if options.names is None:
        options = options.but(names=names_of(results.poses) or None)
    out = Path(out_path) if out_path is not None else results.folder / OVERLAY_FILE
    return render_overlay(
        video, results.poses, out, boxes=results.boxes, kinematics=kin, options=options,
        on_frame=on_frame,
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
