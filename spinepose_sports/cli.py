"""The command line: ``spinepose-sports analyze | run | render | report | models``."""

from __future__ import annotations

import faulthandler
import inspect
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from . import __version__
from .cli_common import die
from .cli_options import given_settings, setting_parameters

if TYPE_CHECKING:
    from .config import AnalyzeConfig

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


def _analyze(
    ctx: typer.Context,
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Video files, folders of videos, or saved poses.nc files (re-run "
            "everything after the pose stage without the models). Default with --config: "
            "the file's inputs.",
            show_default=False,
        ),
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Read the settings from a pipeline file (TOML, see pipelines/) or a "
            "results folder's run.json; options given here override them.",
        ),
    ] = None,
    print_config: Annotated[
        bool,
        typer.Option(
            "--print-config",
            help="Print the effective settings as a pipeline file (TOML) and exit.",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    **settings: Any,
) -> None:
    """Track every athlete, estimate 37 keypoints per track and write the results.

    Writes one results folder per video, <output>/<video stem>/ (see docs/outputs.md),
    with poses.nc, boxes.nc, keypoints.csv, kinematics, dashboard.html, overlay.mp4 and
    run.json. Every setting is checked before any work starts. One bad file never stops a
    batch: it is reported and the rest go on; the exit status is 1 when any input failed.
    """
    from .config import AnalyzeConfig, ConfigError
    from .pipeline import expand_inputs

    paths: list[Path] | None = None
    config = AnalyzeConfig()
    session = None
    try:
        flags = given_settings(ctx, settings)
        if config_file is not None:
            from .batchconfig import load_session

            session = load_session(config_file)
            paths, config = session.inputs, session.config
        config = config.from_settings(flags, base=config, flags=True)
    except ConfigError as exc:
        die(str(exc))
    if print_config:
        typer.echo(config.to_toml(), nl=False)
        return
    if inputs:
        paths = expand_inputs(inputs)
    if paths is None:
        die("give the videos to analyze (or --config with a pipeline file that names them)")
    _run_batch(paths, config, progress=not quiet, session=session, flags=flags)


def _analyze_command() -> Any:
    """``_analyze`` with one option per setting of the configuration model."""
    signature = inspect.signature(_analyze, eval_str=True)
    params = [p for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD]
    _analyze.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*params, *setting_parameters()]
    )
    return _analyze


app.command("analyze")(_analyze_command())


@app.command()
def run(
    definition: Annotated[
        Path, typer.Argument(help="A pipeline file (TOML), e.g. pipelines/sample.toml.")
    ],
    print_config: Annotated[
        bool,
        typer.Option(
            "--print-config", help="Print the effective settings (TOML) and exit."
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Local worker processes ([batch] workers).", min=1),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address, tcp://HOST:8786 ([batch] "
                     "scheduler; docs/batch.md)."),
    ] = None,
) -> None:
    """Run a pipeline file: its inputs with its settings (see pipelines/,
    docs/configuration.md and docs/batch.md). The same as `analyze --config FILE`."""
    from .batchconfig import BatchConfigError, load_session
    from .config import ConfigError

    given = {k: v for k, v in (("workers", workers), ("scheduler", scheduler)) if v is not None}
    try:
        session = load_session(definition)
        config = session.config.from_settings(given, base=session.config, flags=True)
    except (BatchConfigError, ConfigError) as exc:
        die(str(exc))
    if print_config:
        typer.echo(config.to_toml(), nl=False)
        return
    if session.inputs is None:
        die(f"{definition}: 'inputs' must be a list of paths or globs")
    _run_batch(session.inputs, config, progress=not quiet, session=session, flags=given)


def _run_batch(
    paths: list[Path], config: AnalyzeConfig, *, progress: bool, session: Any = None,
    flags: dict[str, Any] | None = None,
) -> None:
    """Run the videos (per-video settings from a pipeline file's [[videos]]), then write
    the session's batch_summary.csv and index.html."""
    from .config import ConfigError
    from .pipeline import print_summary
    from .session import run_session

    if not paths:
        die("no video found in the given inputs")
    try:
        items = [(p, session.config_for(p, flags) if session else config) for p in paths]
    except ConfigError as exc:
        die(str(exc))
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        outcome = run_session(items, config, progress=progress)
        results = outcome.results
    except KeyboardInterrupt as exc:
        _exit_interrupted(143 if isinstance(exc, TerminatedError) else 130)
    except Exception as exc:
        if _is_user_error(exc):
            die(str(exc))
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    print_summary(results)
    for made in (outcome.summary, outcome.index):
        if made is not None:
            typer.echo(f"session: {made}", err=True)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


class TerminatedError(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that the run in progress cleans up."""


def _terminate(signum: int, frame: Any) -> None:
    raise TerminatedError()


def _exit_interrupted(code: int) -> NoReturn:
    """Leave at once after an interrupt: the run in progress has removed its staging folder
    (the ``with`` blocks have run), so nothing is left to do.  ``os._exit`` skips the
    interpreter's shutdown, which a library interrupted mid-call (an import, a model load,
    a compiler thread) could otherwise block."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    typer.echo("error: interrupted: completed videos are saved, the video in progress kept "
               "its previous results; rerun with --skip-completed to resume", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _is_user_error(exc: BaseException) -> bool:
    from .detection import DetectorError
    from .pose import ModelDownloadError, ModelRegistryError, PoseModelError
    from .results import ResultsFolderError

    return isinstance(exc, (ModelDownloadError, ModelRegistryError, PoseModelError, DetectorError,
                            ResultsFolderError))


def _model_entry(size: str, model_version: str) -> None:
    """Exit 1 with one line when ``size``/``model_version`` is not an official model."""
    from .pose import ModelRegistryError
    from .pose.registry import lookup

    try:
        lookup(size, model_version)
    except ModelRegistryError as exc:
        die(str(exc))


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
    from .pose import ModelRegistryError, resolve_model

    _model_entry(size, model_version)
    try:
        m = resolve_model(size, model_version, expected_sha256=sha256, progress=True)
    except (ModelRegistryError, ValueError) as exc:
        die(str(exc))
    typer.echo(f"{m.path}\nsha256 {m.sha256}")


@models_app.command("path")
def models_path(
    size: Annotated[str, typer.Argument(help="s, m, l (or x for v1).")] = "m",
    model_version: Annotated[str, typer.Option(help="v2 (simspine) or v1 (spinetrack).")] = "v2",
) -> None:
    """Print the local path of a model, without downloading it (exit 1 if absent)."""
    from .pose import ModelRegistryError, resolve_model

    _model_entry(size, model_version)
    try:
        m = resolve_model(size, model_version, download=False, progress=False)
    except (ModelRegistryError, ValueError) as exc:
        die(str(exc))
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


def _register_compare_command() -> None:
    from .cli_compare import compare_command

    app.command("compare")(compare_command)


_register_compare_command()


def main() -> None:
    """Console-script entry point."""
    faulthandler.enable()  # a native crash (or SIGABRT) prints every thread's traceback
    try:
        app()
    except BrokenPipeError:  # piping into `head`
        sys.exit(0)


if __name__ == "__main__":
    main()
