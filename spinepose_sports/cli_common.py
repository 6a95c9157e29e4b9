"""What the command-line modules share: the one-line error exit and results folders."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer

from .results import POSES_FILE, is_staging_name


def die(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def results_folders(paths: list[Path]) -> list[Path]:
    """Results folders (holding ``poses.nc``) among ``paths``; a folder of results folders
    (an ``analyze -o`` folder) stands for every results folder directly inside it (not
    the staging folders of runs in progress)."""
    out: list[Path] = []
    for p in paths:
        if (p / POSES_FILE).is_file() or not p.is_dir():
            out.append(p)
            continue
        inner = sorted(
            c for c in p.iterdir()
            if (c / POSES_FILE).is_file() and not is_staging_name(c.name)
        )
        out.extend(inner or [p])
    return out


__all__ = ["die", "results_folders"]
