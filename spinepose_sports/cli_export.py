"""The ``export`` command: saved results -> TRC, MOT, C3D, OpenPose JSON, Excel, metric.

Registered on the main app in :mod:`spinepose_sports.cli`::

    app.command("export")(export_command)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli_common import die

FORMAT_HELP = (
    "Comma-separated formats: trc (marker trajectories in m, OpenSim), mot (angle time "
    "series, OpenSim storage), c3d (points in mm + angles: Visual3D, Mokka), openpose "
    "(JSON per frame with the track id), xlsx (Excel: summary, angles, repetitions, "
    "speeds), metric (metric.nc, speeds.csv, jumps.csv). trc, c3d and metric need a "
    "calibration. Default: all that the data allows."
)
DEFAULT_PIXELS = "mot,openpose,xlsx"
DEFAULT_CALIBRATED = "trc,mot,c3d,openpose,xlsx,metric"


def parse_heights(items: list[str] | None) -> dict[str, float]:
    """``["3=1.82", "track_7=1.65"]`` -> ``{"track_3": 1.82, "track_7": 1.65}``."""
    from .metric import CalibrationError
    from .metric import parse_heights as parse

    try:
        return parse(items)
    except CalibrationError as exc:
        raise CalibrationError(f"--height: {exc}") from None


def parse_points(text: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """``"x1,y1,x2,y2"`` px -> two points."""
    from .metric import CalibrationError
    from .metric import parse_points as parse

    try:
        return parse(text)
    except CalibrationError as exc:
        raise CalibrationError(f"--points: {exc}") from None


def build_calibration(
    athlete_height: float | None,
    heights: list[str] | None,
    calibration_file: Path | None,
    points: str | None,
    distance: float | None,
    floor_angle: float | None,
):  # -> Calibration | None
    """The calibration the options describe (None when none is given)."""
    from .metric import Calibration, CalibrationError

    per_athlete = parse_heights(heights)
    given = [
        n
        for n, on in (
            ("--athlete-height/--height", athlete_height is not None or bool(per_athlete)),
            ("--calibration", calibration_file is not None),
            ("--points/--distance", points is not None or distance is not None),
        )
        if on
    ]
    if len(given) > 1:
        raise CalibrationError(f"give one calibration method, not {' and '.join(given)}")
    if calibration_file is not None:
        cal = Calibration.from_file(calibration_file)
        if floor_angle is not None:
            cal = Calibration.from_mapping({**cal.to_dict(), "floor_angle_deg": floor_angle})
        return cal
    if points is not None or distance is not None:
        if points is None or distance is None:
            raise CalibrationError("--points and --distance go together")
        p1, p2 = parse_points(points)
        return Calibration.from_points(p1, p2, distance, floor_angle_deg=floor_angle)
    if athlete_height is not None or per_athlete:
        return Calibration.from_height(athlete_height, per_athlete, floor_angle_deg=floor_angle)
    return None


def export_command(
    results: Annotated[
        list[Path],
        typer.Argument(
            help="Results folders of `spinepose-sports analyze` (or a folder of them).",
            show_default=False,
        ),
    ],
    formats: Annotated[
        str | None, typer.Option("--format", "-f", help=FORMAT_HELP, metavar="FORMATS")
    ] = None,
    athlete_height: Annotated[
        float | None,
        typer.Option(help="Standing height of every athlete (m), e.g. 1.78.", min=0.0),
    ] = None,
    height: Annotated[
        list[str] | None,
        typer.Option(
            "--height",
            "--athlete-heights",
            help="Height of some athletes: TRACK=METRES, comma-separated or repeated, e.g. "
            "3=1.82,5=1.70 (--athlete-heights: analyze's name).",
        ),
    ] = None,
    calibration: Annotated[
        Path | None,
        typer.Option(help="Calibration file (TOML or JSON; see docs/exports.md)."),
    ] = None,
    points: Annotated[
        str | None,
        typer.Option(
            "--points",
            "--calibration-points",
            help="Two image points a known distance apart: X1,Y1,X2,Y2 (px).",
        ),
    ] = None,
    distance: Annotated[
        float | None,
        typer.Option(
            "--distance", "--calibration-distance", help="Real distance between --points (m)."
        ),
    ] = None,
    floor_angle: Annotated[
        float | None,
        typer.Option(
            help="Floor tilt in the image (deg, anticlockwise +); default: from the feet."
        ),
    ] = None,
    athletes: Annotated[
        str | None, typer.Option(help="Track ids to export, e.g. 3,7 (default: all).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Output folder (default: RESULTS/export)."),
    ] = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="Export the raw poses, not the smoothed ones.")
    ] = False,
) -> None:
    """Export saved results for OpenSim, Visual3D, Kinovea, Excel and OpenPose-format tools.

    Formats: trc, mot, c3d, openpose, xlsx, metric.  No model runs.
    """
    from .cli_render import results_folders
    from .export import export_results
    from .metric import CalibrationError

    try:
        cal = build_calibration(athlete_height, height, calibration, points, distance, floor_angle)
        chosen = [a.strip() for a in athletes.split(",") if a.strip()] if athletes else None
        folders = results_folders(results)
        for folder in folders:
            out = output / folder.name if (output is not None and len(folders) > 1) else output
            wanted = formats or (DEFAULT_CALIBRATED if cal is not None else DEFAULT_PIXELS)
            written = export_results(folder, wanted, cal, out, athletes=chosen, smoothed=not raw)
            for fmt, paths in written.items():
                where = paths[0].parent if paths else folder
                typer.echo(f"{folder.name}: {fmt}: {len(paths)} file(s) in {where}")
    except (ValueError, CalibrationError) as exc:
        die(str(exc))
