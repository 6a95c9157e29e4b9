"""The overlay video: the source frames with every tracked athlete's skeleton and angles.

Rendering reads the saved results (poses, boxes and kinematics datasets) and streams the
source video a second time, so it works from saved results without the models and shows
whatever the datasets hold (raw or smoothed keypoints).  Frames are streamed: one frame is
in memory at a time.

Two writers:

* the plain overlay (default) goes straight to PyAV's H.264 encoder (fast path);
* with ``panel=True`` the overlay and a live time-series panel (:mod:`.panel`) are
  composed side by side with moviepy (``clips_array``) and encoded by its ffmpeg.

Both give H.264, yuv420p MP4 with the index in front (``+faststart``), which plays in
browsers and in Jupyter.  The source's audio is then muxed in, cut to the rendered time
range (:mod:`spinepose_sports.audio`); in slow motion there is no audio (slowed speech
and music are of no use to a coach, and a track longer than the video would be).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import xarray as xr

from ..audio import mux_with_audio
from ..video import VideoWriter, read_ahead, read_frames
from .annotate import DrawStyle, annotate_frame, track_color
from .hud import ColorLegend, draw_trail, legend_ends
from .lookup import FrameLookup, FrameOverlayData, OverlayFrame
from .options import DEFAULT_OPTIONS, RenderOptions

#: Extra time (s) after the last analysed frame that still counts as inside the range.
_EPS_S = 1e-6


def _draw(
    image: np.ndarray,
    data: FrameOverlayData,
    style: DrawStyle,
    opts: RenderOptions,
) -> None:
    """Trails, then skeletons, labels and readouts, on ``image`` in place."""
    if data.trails is not None:
        for tid, path in zip(data.track_id, data.trails, strict=True):
            draw_trail(image, path, track_color(int(tid)), style.spine_px)
    annotate_frame(
        image,
        data.xyxy,
        data.track_id,
        data.xy,
        data.score,
        min_score=opts.min_score,
        names=dict(opts.names) if opts.names else None,
        angles=data.angles,
        angle_limit_deg=opts.angle_limit_deg,
        readout=opts.readout,
        in_place=True,
        style=style,
    )


def overlay_frames(
    video_path: str | Path, lookup: FrameLookup, options: RenderOptions = DEFAULT_OPTIONS
) -> Iterator[OverlayFrame]:
    """Yield the annotated frames of the analysed range within ``[options.start_s,
    options.end_s)`` s.

    Frames that are not part of the analysed results are skipped; frames without tracks
    are yielded unchanged (with the legend).  One frame at a time is in memory.
    """
    opts = options
    rows, t_first, _ = frame_range(lookup, opts.start_s, opts.end_s)
    first_frame, last_frame = int(lookup.frames[rows[0]]), int(lookup.frames[rows[-1]])
    # frames are picked by index; the time only decides where decoding starts converting
    half_period = 0.5 * _period(lookup.times)
    style: DrawStyle | None = None
    color_legend: ColorLegend | None = None
    for frame in read_ahead(read_frames(video_path, start_s=t_first - half_period)):
        if frame.index > last_frame:
            break
        if frame.index < first_frame or not lookup.has_frame(frame.index):
            continue
        image = frame.image
        if style is None:
            style = DrawStyle.for_frame(*image.shape[:2])
            if opts.legend and lookup.has_angles:
                color_legend = ColorLegend(
                    image.shape[0],
                    image.shape[1],
                    style.small_font_scale,
                    style.font_thickness,
                    limit_deg=opts.angle_limit_deg,
                    ends=legend_ends(lookup.motion_planes),
                )
        data = lookup.at_frame(frame.index)
        if data is not None:
            _draw(image, data, style, opts)
        if color_legend is not None:
            color_legend.draw(image)
        yield OverlayFrame(frame.index, frame.time_s, image)


def _period(times: np.ndarray) -> float:
    """The median frame period (s) of ``times``; 0 for a single frame."""
    return float(np.median(np.diff(times))) if len(times) > 1 else 0.0


def frame_range(
    lookup: FrameLookup, start_s: float | None, end_s: float | None
) -> tuple[np.ndarray, float, float]:
    """Poses rows to render, and the source time range ``[t_first, t_end)`` s.

    The rows are the analysed frames with ``start_s <= time < end_s``; ``t_end`` is one
    frame period after the last of them.

    Raises:
        ValueError: no analysed frame in the range.
    """
    t = lookup.times
    keep = np.ones(len(t), bool)
    if start_s is not None:
        keep &= t >= float(start_s) - _EPS_S
    if end_s is not None:
        keep &= t < float(end_s)
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        raise ValueError(
            f"no analysed frame between start_s={start_s} and end_s={end_s} "
            f"(the results cover {t[0]:.3f} to {t[-1]:.3f} s)"
        )
    return rows, float(t[rows[0]]), float(t[rows[-1]]) + max(_period(t), _EPS_S)


def render_overlay(
    video_path: str | Path,
    poses: xr.Dataset,
    out_path: str | Path,
    *,
    boxes: xr.Dataset | None = None,
    kinematics: xr.Dataset | None = None,
    options: RenderOptions = DEFAULT_OPTIONS,
    on_frame: Callable[[int], None] | None = None,
) -> Path:
    """Write an H.264 overlay MP4 of ``video_path`` with the results drawn on it.

    Args:
        video_path: the source video the results come from.
        poses: poses dataset (raw or smoothed), ``position (time, space, keypoint,
            individual)`` px; its ``frame`` coordinate says which video frames to write.
        out_path: the ``.mp4`` to write (its folder must exist).
        boxes: the boxes dataset (track boxes and labels); the keypoints' extent otherwise.
        kinematics: the kinematics dataset: colours the spine by segmental angle (with a
            colour legend) and adds the trunk / lumbar / thoracic / cervical readout.
            Without it the spine is a plain red curve and there is no readout.
        options: how to draw and encode (:class:`RenderOptions`).
        on_frame: called with the video frame index after each written frame.

    Returns ``out_path``.  Nothing is left at ``out_path`` when rendering fails.
    """
    out_path = Path(out_path)
    lookup = FrameLookup(poses, boxes, kinematics, trail_s=options.trail_s)
    rows, t_first, t_end = frame_range(lookup, options.start_s, options.end_s)
    fps = float(poses.attrs.get("fps", 30.0)) / options.slow_motion
    frames = overlay_frames(video_path, lookup, options)
    video_only = out_path.with_name(out_path.stem + ".video-only.mp4")
    try:
        if options.panel:
            from .compose import write_with_panel

            write_with_panel(
                frames, lookup, kinematics, rows, video_only, fps=fps, options=options,
                on_frame=on_frame,
            )
        else:
            _write_plain(frames, video_only, fps, options.preset, options.crf, on_frame)
        if options.audio and options.slow_motion == 1.0:
            mux_with_audio(video_only, video_path, out_path, start_s=t_first, end_s=t_end)
        else:
            os.replace(video_only, out_path)
    finally:
        video_only.unlink(missing_ok=True)
    return out_path


def _write_plain(
    frames: Iterator[OverlayFrame],
    path: Path,
    fps: float,
    preset: str,
    crf: float,
    on_frame: Callable[[int], None] | None,
) -> None:
    """Encode ``frames`` with PyAV (H.264, yuv420p, faststart), no audio."""
    with VideoWriter(path, fps=fps, preset=preset, crf=crf) as writer:
        for frame in frames:
            writer.write(frame.image)
            if on_frame is not None:
                on_frame(frame.index)


__all__ = ["FrameLookup", "OverlayFrame", "RenderOptions", "overlay_frames", "render_overlay"]
