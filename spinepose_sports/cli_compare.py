"""The ``compare`` command: several results folders side by side in ``compare.html``.

No model is run: it reads results folders of ``spinepose-sports analyze``.  Registered on
the main app in :mod:`spinepose_sports.cli`::

    app.command("compare")(compare_command)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli_common import die, results_folders


def compare_command(
    results: Annotated[
        list[Path],
        typer.Argument(
            help="Results folders of `spinepose-sports analyze` (or a folder of them): "
            "sessions, athletes, before / after.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The page to write.")
    ] = Path("compare.html"),
    athlete: Annotated[
        list[str] | None,
        typer.Option(
            "--athlete",
            help="The athlete of each folder: track_3, 3 or a name given with --names. "
            "Once for every folder, or once per folder in order (default: the track with "
            "the most frames).",
        ),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option("--label", help="Name of each session, once per folder, in order "
                     "(default: '<folder name> <track>')."),
    ] = None,
) -> None:
    """Compare sessions: ROM and peak per region and vertebral level, per repetition with
    their spread, and the repetitions time-normalised (0-100 %) overlaid.

    Writes one self-contained page (plotly.js embedded, works offline).
    """
    from .plots.compare import write_compare
    from .report import ResultsFolderError

    folders = results_folders(results)
    if len(folders) < 1:
        die("give at least one results folder")
    try:
        page = write_compare(folders, output, athletes=athlete or None, labels=label or None)
    except (ResultsFolderError, ValueError, KeyError) as exc:
        die(str(exc))
    typer.echo(f"done    {len(folders)} sessions: {page}", err=True)


__all__ = ["compare_command"]
