"""The ``render`` and ``report`` commands: overlay videos and dashboards from saved results.

Neither runs a model: they read a results folder of ``spinepose-sports analyze``.  The
command functions are registered on the main app in :mod:`spinepose_sports.cli`::

    app.command("render")(render_command)
    app.command("report")(report_command)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .cli_common import die, results_folders
from .skeleton import MIN_KEYPOINT_CONFIDENCE

if TYPE_CHECKING:
    from .render import RenderOptions


def render_command(
    results: Annotated[
        list[Path],
        typer.Argument(
            help="Results folders of `spinepose-sports analyze` (or a folder of them).",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Output .mp4 (one results folder only)."),
    ] = None,
    video: Annotated[
        Path | None,
        typer.Option(help="The source video, when it moved since the analysis (one folder)."),
    ] = None,
    start: Annotated[
        float | None, typer.Option("--start", help="Render from this time, s.")
    ] = None,
    end: Annotated[float | None, typer.Option("--end", help="Render up to this time, s.")] = None,
    slow_motion: Annotated[
        float,
        typer.Option(help="Slow-motion factor: 2 plays at half speed (no audio then)."),
    ] = 1.0,
    trail: Annotated[
        float, typer.Option(help="Length of each athlete's pelvis trail, s (0: none).")
    ] = 0.0,
    panel: Annotated[
        bool,
        typer.Option(
            "--panel/--no-panel", help="Add a side panel of live angle plots (moviepy; slower)."
        ),
    ] = False,
    names: Annotated[
        str | None,
        typer.Option(
            help="Athlete names by track id, e.g. '3=Anna,7=Ben' (default: the names "
            "given to analyze)."
        ),
    ] = None,
    angle_range: Annotated[
        float,
        typer.Option(help="Spine colours run from -RANGE to +RANGE deg (segmental angle)."),
    ] = 30.0,
    min_score: Annotated[
        float, typer.Option(help="Keypoints below this confidence are not drawn.")
    ] = MIN_KEYPOINT_CONFIDENCE,
    raw: Annotated[
        bool,
        typer.Option("--raw", help="Draw the raw keypoints even when smoothed ones are saved."),
    ] = False,
    audio: Annotated[
        bool, typer.Option("--audio/--no-audio", help="Keep the source's audio track.")
    ] = True,
    preset: Annotated[
        str, typer.Option(help="libx264 preset (ultrafast ... veryslow): speed vs file size.")
    ] = "veryfast",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Render overlay.mp4 again from saved results, without running the models.

    Draws every athlete's skeleton, the spine coloured by segmental angle (with a colour
    legend), track ids and an angle readout; optionally motion trails, a side panel of
    live plots, slow motion and a time range.  H.264 MP4 that plays in browsers.
    """
    from .render import RenderOptions
    from .tracking import parse_names
    from .video import VideoError

    folders = results_folders(results)
    if len(folders) > 1 and (output is not None or video is not None):
        die("--output and --video need exactly one results folder")
    try:
        name_map = parse_names(names) if names else None
    except ValueError as exc:
        die(f"--names: {exc}")
    try:
        options = RenderOptions(
            min_score=min_score, names=name_map, preset=preset,
            trail_s=trail, panel=panel, slow_motion=slow_motion, start_s=start, end_s=end,
            audio=audio, angle_limit_deg=angle_range,
        )
    except ValueError as exc:
        die(str(exc))
    failed = 0
    for folder in folders:
        try:
            out = _render_one(folder, output, video, options, raw=raw, quiet=quiet)
        except (OSError, ValueError, VideoError) as exc:
            typer.echo(f"failed  {folder}: {exc}", err=True)
            failed += 1
            continue
        typer.echo(f"done    {folder}: {out}", err=True)
    if failed:
        raise typer.Exit(1)


def _render_one(
    folder: Path, output: Path | None, video: Path | None, options: RenderOptions, *,
    raw: bool, quiet: bool,
) -> Path:
    from tqdm.auto import tqdm

    from .render import render_results

    total = _frames_in_range(folder, options.start_s, options.end_s)
    with tqdm(total=total, desc=f"render {folder.name}", unit="frame", disable=quiet) as bar:
        return render_results(
            folder, options, out_path=output, video_path=video, smoothed=not raw,
            on_frame=lambda _i: bar.update(1),
        )


def _frames_in_range(folder: Path, start_s: float | None, end_s: float | None) -> int | None:
    """Frames of the saved poses in ``[start_s, end_s)`` (the progress bar's total), or
    None when the poses can't be read here (render_results then says why)."""
    import numpy as np
    import xarray as xr

    from .interrupts import held_interrupts
    from .results import POSES_FILE

    try:
        with held_interrupts(), xr.open_dataset(folder / POSES_FILE) as ds:
            time_s = np.asarray(ds["time"].values, dtype=float)
    except (OSError, ValueError, KeyError):
        return None
    keep = np.ones(time_s.shape, bool)
    if start_s is not None:
        keep &= time_s >= start_s
    if end_s is not None:
        keep &= time_s < end_s
    return int(keep.sum())


def report_command(
    results: Annotated[
        list[Path],
        typer.Argument(
            help="Results folders of `spinepose-sports analyze` (or a folder of them).",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Output .html (one results folder only)."),
    ] = None,
    static: Annotated[
        str | None,
        typer.Option(
            help="Also export the figures as static files, e.g. 'png' or 'png,pdf' "
            "(needs Chromium: apt-get install chromium, or BROWSER_PATH).",
        ),
    ] = None,
    max_tracks: Annotated[
        int, typer.Option(help="Show at most this many tracks (those with the most frames).")
    ] = 20,
) -> None:
    """Write dashboard.html (interactive Plotly, works offline) from saved results.

    The page holds a spine kinematogram, flexion curves per region with repetition bands,
    the spine's shape at chosen instants, the range of motion per segment, a track
    selector and the summary tables.  No model is run.
    """
    from .plots import ChromiumNotFoundError, export_static, write_dashboard

    folders = results_folders(results)
    if len(folders) > 1 and output is not None:
        die("--output needs exactly one results folder")
    formats = tuple(f.strip().lower() for f in (static or "").split(",") if f.strip())
    failed = 0
    for folder in folders:
        try:
            page = write_dashboard(folder, output, max_tracks=max_tracks)
            typer.echo(f"done    {folder}: {page}", err=True)
            if formats:
                files = export_static(folder, formats)
                typer.echo(f"        {len(files)} static files in {folder / 'figures'}", err=True)
        except ChromiumNotFoundError as exc:
            die(str(exc))
        except (OSError, ValueError) as exc:
            typer.echo(f"failed  {folder}: {exc}", err=True)
            failed += 1
    if failed:
        raise typer.Exit(1)


__all__ = ["render_command", "report_command", "results_folders"]
