"""The command line: ``spinepose-sports analyze | models``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from . import __version__

if TYPE_CHECKING:
    from .pipeline import AnalyzeConfig

app = typer.Typer(
    name="spinepose-sports",
    help=(
        "Spine biomechanics from ordinary sports footage: YOLO tracking, SpinePose "
        "keypoints (37 points, 9 along the spine), overlay videos and data files."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
models_app = typer.Typer(
    help=(
        "The SpinePose model files: list, download, locate. The official weights are "
        "CC-BY-NC-4.0 (non-commercial use only)."
    ),
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")


def _die(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"spinepose-sports {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Spine biomechanics from ordinary sports footage."""


def _parse_classes(text: str) -> tuple[int, ...]:
    try:
        classes = tuple(int(c) for c in text.replace(" ", "").split(",") if c != "")
    except ValueError:
        _die(f"--person-classes: expected comma-separated integers like '0' or '0,1', got {text!r}")
    if not classes:
        _die("--person-classes: give at least one class id")
    return classes


def _parse_tracker_options(items: list[str] | None, tracker: str) -> dict[str, Any]:
    """``["new_track_thresh=0.1", "fuse_score=false"]`` -> checked tracker settings."""
    import yaml

    from .detection import DetectorError, tracker_config

    options: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip() or not text.strip():
            _die(f"--tracker-option: expected KEY=VALUE like new_track_thresh=0.1, got {item!r}")
        try:
            options[key.strip()] = yaml.safe_load(text.strip())
        except yaml.YAMLError:
            options[key.strip()] = text.strip()
    try:
        tracker_config(tracker, options)
    except DetectorError as exc:
        _die(f"--tracker-option: {exc}")
    return options


@app.command()
def analyze(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="Video files, folders of videos, or saved poses.nc files (re-run "
            "everything after the pose stage without the models).",
            show_default=False,
        ),
    ],
    output_dir: Annotated[
        Path, typer.Option("--output", "-o", help="Results folder; one subfolder per video.")
    ] = Path("results"),
    detector_weights: Annotated[
        str,
        typer.Option(
            help="YOLO weights: an official name (downloaded and cached by ultralytics) "
            "or a local .pt/.onnx file."
        ),
    ] = "yolo11n.pt",
    tracker: Annotated[
        str, typer.Option(help="Multi-object tracker: bytetrack or botsort.")
    ] = "bytetrack",
    person_classes: Annotated[
        str, typer.Option(help="Detector class ids that are persons, comma-separated.")
    ] = "0",
    det_conf: Annotated[
        float,
        typer.Option(help="Detector confidence threshold (ByteTrack also matches 0.1-0.25 boxes)."),
    ] = 0.1,
    det_iou: Annotated[float, typer.Option(help="Detector NMS IoU threshold.")] = 0.7,
    imgsz: Annotated[int, typer.Option(help="Detector input size, px.")] = 640,
    device: Annotated[
        str | None, typer.Option(help="Detector device (cpu, cuda:0); default: automatic.")
    ] = None,
    tracker_option: Annotated[
        list[str] | None,
        typer.Option(
            metavar="KEY=VALUE",
            help="Change one setting of the tracker's ultralytics yaml, KEY=VALUE; repeat "
            "for more (new_track_thresh=0.1, track_buffer=60, fuse_score=false).",
        ),
    ] = None,
    pose_model: Annotated[
        str,
        typer.Option(
            help="SpinePose model: a size (s, m, l; x for v1) fetched from the registry, "
            "or a path to an .onnx file."
        ),
    ] = "m",
    model_version: Annotated[
        str, typer.Option(help="SpinePose release: v2 (simspine, latest) or v1 (spinetrack).")
    ] = "v2",
    model_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder of already downloaded SpinePose .onnx files "
            "(also: SPINEPOSE_SPORTS_MODEL_DIR).",
        ),
    ] = None,
    channel_order: Annotated[
        str,
        typer.Option(
            help="Channel order fed to SpinePose: rgb (as trained) or bgr (the official "
            "inference library's behaviour)."
        ),
    ] = "rgb",
    start: Annotated[
        float | None, typer.Option("--start", help="Analyze from this time, s.")
    ] = None,
    end: Annotated[float | None, typer.Option("--end", help="Analyze up to this time, s.")] = None,
    stitch: Annotated[
        bool,
        typer.Option(
            "--stitch/--no-stitch",
            help="Join each athlete's track fragments into one id (motion, size, torso colour).",
        ),
    ] = True,
    max_gap: Annotated[
        float, typer.Option("--max-gap", help="Longest gap a track may be stitched across, s.")
    ] = 1.5,
    filter_tracks: Annotated[
        bool,
        typer.Option(
            "--filter-tracks/--no-filter-tracks",
            help="Drop tracks that are too short, too small, static or low-confidence "
            "(reported in run.json).",
        ),
    ] = True,
    min_track: Annotated[float, typer.Option("--min-track", help="Shortest track kept, s.")] = 0.5,
    min_track_height: Annotated[
        float,
        typer.Option(help="Smallest median box height kept, fraction of the frame height; 0: off."),
    ] = 0.03,
    min_track_motion: Annotated[
        float,
        typer.Option(
            help="Tracks whose box moves less than this (box heights) are static and "
            "dropped; 0 keeps athletes who stand still.",
        ),
    ] = 0.1,
    min_track_confidence: Annotated[
        float,
        typer.Option(help="Lowest mean detection confidence of a kept track; 0: off."),
    ] = 0.2,
    athletes: Annotated[
        str | None,
        typer.Option(
            help="Analyze only these athletes: longest[:N], largest[:N], central[:N], "
            "moving[:N], id:3,5 or point:T,X,Y (time s, x px, y px)."
        ),
    ] = None,
    names: Annotated[
        str | None,
        typer.Option(help="Athlete names by track id, shown in outputs: '3=Anna,5=Ben'."),
    ] = None,
    smoothing: Annotated[
        str,
        typer.Option(
            help="Temporal smoothing of the keypoints: kalman (confidence-weighted Kalman + "
            "RTS, gaps bridged, outliers rejected), kalman-ca, kalman-causal, spine-prior, "
            "butterworth, one-euro or none."
        ),
    ] = "kalman",
    view: Annotated[
        str,
        typer.Option(
            help="Camera view of every athlete: auto (from the body), left_side, right_side, "
            "front or back. Side views give flexion/extension, front/back lateral bending."
        ),
    ] = "auto",
    facing: Annotated[
        str,
        typer.Option(
            help="Image direction in which positive angles point (the athlete's front in "
            "side views, their right in front/back views): auto, left or right."
        ),
    ] = "auto",
    kinematics: Annotated[
        bool,
        typer.Option(
            "--kinematics/--no-kinematics",
            help="Compute spine and joint kinematics (kinematics.nc, angles.csv, summary.csv).",
        ),
    ] = True,
    overlay: Annotated[
        bool, typer.Option("--overlay/--no-overlay", help="Render overlay.mp4.")
    ] = True,
    dashboard: Annotated[
        bool,
        typer.Option(
            "--dashboard/--no-dashboard",
            help="Write dashboard.html (interactive, offline; needs the kinematics).",
        ),
    ] = True,
    min_score: Annotated[
        float, typer.Option(help="Keypoints below this score are not drawn.")
    ] = 0.3,
    skip_completed: Annotated[
        bool,
        typer.Option(
            "--skip-completed/--redo",
            help="Skip videos whose results folder already holds a completed run "
            "(resume an interrupted batch).",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Track every athlete, estimate 37 keypoints per track and write the results.

    Writes <output>/<video stem>/ with poses.nc, boxes.nc, keypoints.csv, overlay.mp4 and
    run.json. One bad file never stops a batch: it is reported and the rest go on; the exit
    status is 1 when any input failed.
    """
    from .pipeline import AnalyzeConfig, expand_inputs

    if tracker not in ("bytetrack", "botsort"):
        _die(f"--tracker: expected bytetrack or botsort, got {tracker!r}")
    if channel_order not in ("rgb", "bgr"):
        _die(f"--channel-order: expected rgb or bgr, got {channel_order!r}")
    if start is not None and end is not None and end <= start:
        _die(f"--end ({end}) must be after --start ({start})")
    from .smoothing import METHODS
    from .tracking import parse_names, parse_selection

    try:
        if athletes:
            parse_selection(athletes)
        if names:
            parse_names(names)
    except ValueError as exc:
        _die(f"--athletes/--names: {exc}")

    for flag, value in (("--min-track", min_track), ("--min-track-height", min_track_height),
                        ("--min-track-motion", min_track_motion),
                        ("--min-track-confidence", min_track_confidence)):
        if value < 0:
            _die(f"{flag}: expected a value >= 0 (0 turns the test off), got {value}")
    if smoothing not in METHODS:
        _die(f"--smoothing: expected one of {', '.join(METHODS)}, got {smoothing!r}")
    if view not in ("auto", "left_side", "right_side", "front", "back"):
        _die(f"--view: expected auto, left_side, right_side, front or back, got {view!r}")
    if facing not in ("auto", "left", "right"):
        _die(f"--facing: expected auto, left or right, got {facing!r}")
    if model_version not in ("v1", "v2"):
        _die(f"--model-version: expected v1 or v2, got {model_version!r}")
    config = AnalyzeConfig(
        output_dir=output_dir,
        detector_weights=detector_weights,
        tracker=tracker,
        person_classes=_parse_classes(person_classes),
        detector_confidence=det_conf,
        detector_iou=det_iou,
        detector_imgsz=imgsz,
        device=device,
        tracker_options=_parse_tracker_options(tracker_option, tracker),
        pose_model=pose_model,
        model_version=model_version,
        model_dir=model_dir,
        channel_order="bgr" if channel_order == "bgr" else "rgb",
        stitch=stitch,
        max_gap_s=max_gap,
        filter_tracks=filter_tracks,
        min_track_s=min_track,
        min_track_height=min_track_height,
        min_track_motion=min_track_motion,
        min_track_confidence=min_track_confidence,
        athletes=athletes,
        names=names,
        smoothing=smoothing,
        kinematics=kinematics,
        view=view,
        facing=facing,
        start_s=start,
        end_s=end,
        overlay=overlay,
        dashboard=dashboard,
        overlay_min_score=min_score,
        skip_completed=skip_completed,
        progress=not quiet,
    )
    _run_batch(expand_inputs(inputs), config)


@app.command()
def run(
    definition: Annotated[
        Path, typer.Argument(help="A batch definition (TOML), e.g. pipelines/sample.toml.")
    ],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Run a batch pipeline definition: its inputs with its parameters (see pipelines/)."""
    from .batchconfig import BatchConfigError, load_batch_config

    try:
        paths, config = load_batch_config(definition)
    except BatchConfigError as exc:
        _die(str(exc))
    if quiet:
        config.progress = False
    _run_batch(paths, config)


def _run_batch(paths: list[Path], config: AnalyzeConfig) -> None:
    from .pipeline import analyze_batch, print_summary

    if not paths:
        _die("no video found in the given inputs")
    try:
        results = analyze_batch(paths, config)
    except KeyboardInterrupt:
        _die("interrupted: completed videos are saved; rerun with --skip-completed to resume", 130)
    except Exception as exc:
        if _is_user_error(exc):
            _die(str(exc))
        raise
    print_summary(results)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


def _is_user_error(exc: BaseException) -> bool:
    from .detection import DetectorError
    from .pose import ModelDownloadError, PoseModelError

    return isinstance(exc, (ModelDownloadError, PoseModelError, DetectorError))


@models_app.command("list")
def models_list() -> None:
    """List the official SpinePose models, their URLs and whether they are cached."""
    from .pose import list_models

    typer.echo(
        f"{'version':<8}{'size':<6}{'input WxH':<11}{'params':>8}{'GFLOPs':>8}  file / where"
    )
    for m in list_models():
        w, h = m["input_size"]
        mark = " (default)" if m.get("default") else ""
        typer.echo(
            f"{m['version']:<8}{m['size']:<6}{f'{w}x{h}':<11}{m['params_m']:>7}M"
            f"{m['gflops']:>8}  {m['file']}{mark}\n{'':<41}{m['cached'] or m['url']}"
        )
    typer.echo("Licence of the official weights: CC-BY-NC-4.0 (non-commercial use only).")


@models_app.command("download")
def models_download(
    size: Annotated[str, typer.Argument(help="s, m, l (or x for v1).")] = "m",
    model_version: Annotated[str, typer.Option(help="v2 (simspine) or v1 (spinetrack).")] = "v2",
    sha256: Annotated[
        str | None, typer.Option(help="Expected sha256: pin it instead of trusting first use.")
    ] = None,
) -> None:
    """Download an official SpinePose model into the user cache (CC-BY-NC-4.0 weights)."""
    from .pose import ModelDownloadError, resolve_model

    try:
        m = resolve_model(size, model_version, expected_sha256=sha256, progress=True)
    except (ModelDownloadError, ValueError) as exc:
        _die(str(exc))
    typer.echo(f"{m.path}\nsha256 {m.sha256}")


@models_app.command("path")
def models_path(
    size: Annotated[str, typer.Argument(help="s, m, l (or x for v1).")] = "m",
    model_version: Annotated[str, typer.Option(help="v2 (simspine) or v1 (spinetrack).")] = "v2",
) -> None:
    """Print the local path of a model, without downloading it (exit 1 if absent)."""
    from .pose import ModelDownloadError, resolve_model

    try:
        m = resolve_model(size, model_version, download=False, progress=False)
    except (ModelDownloadError, ValueError) as exc:
        _die(str(exc))
    typer.echo(str(m.path))


def _register_render_commands() -> None:
    from .cli_render import render_command, report_command

    app.command("render")(render_command)
    app.command("report")(report_command)


_register_render_commands()


def _register_export_commands() -> None:
    from .cli_export import export_command

    app.command("export")(export_command)


_register_export_commands()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:  # piping into `head`
        sys.exit(0)


if __name__ == "__main__":
    main()
