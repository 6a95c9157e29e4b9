"""The batch policy: which folder each input gets, what is skipped, and one bad file
never stopping the rest."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ..config import AnalyzeConfig
from ..results import (
    assign_folders,
    check_writable,
    clean_stale_staging,
    file_sha256,
    is_completed,
    read_run,
)
from ..video import probe
from .job import RunStarted, VideoResult, analyze_poses_file, analyze_video, source_of_poses
from .stages import Stages, load_stages, model_errors

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


def expand_inputs(paths: Iterable[str | Path]) -> list[Path]:
    """Video files and ``poses.nc`` files as given; folders expanded to their videos
    (sorted, not recursive).  Paths that do not exist are kept, to be reported."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(c for c in p.iterdir() if c.suffix.lower() in VIDEO_SUFFIXES))
        else:
            out.append(p)
    return out


def is_poses_file(path: Path) -> bool:
    return path.suffix.lower() == ".nc"


def plan_folders(inputs: Sequence[Path], output_dir: Path) -> list[Path]:
    """The results folder of every input (:func:`~..results.assign_folders`); a saved
    ``poses.nc`` goes to the folder of the video it came from."""
    sources = []
    for path in inputs:
        source = path
        if is_poses_file(path) and path.is_file():
            try:
                source = source_of_poses(path)
            except Exception:  # not a readable poses file: reported when it is analyzed
                source = path
        sources.append(source)
    return assign_folders(sources, output_dir)


def already_completed(path: Path, folder: Path, config: AnalyzeConfig) -> bool:
    """True when ``folder`` holds a completed run of this video's content with settings
    that give the same results."""
    if not path.is_file():
        return False
    digest = file_sha256(path, read_run(folder))
    return is_completed(folder, digest, config.results_key())


def analyze_batch(
    inputs: Sequence[Path],
    config: AnalyzeConfig,
    *,
    load: Callable[[AnalyzeConfig], Stages] | None = None,
    on_result: Callable[[VideoResult], None] | None = None,
    progress: bool = True,
) -> list[VideoResult]:
    """Analyze every input; one bad file never stops the batch.

    Videos are probed before the models load, so bad files are reported at once and a
    batch with no usable video loads nothing.  Models load once, on the first video that
    needs them (not for one the stage cache serves); a model that cannot load fails every
    video that needs it (raised, since nothing could succeed).  ``poses.nc`` inputs need
    no model.  An output folder that cannot be written raises
    :class:`~..results.ResultsFolderError` before anything runs.

    Each input's results folder is replaced as a whole when its run ends (see
    :mod:`.job`); staging folders that killed runs left in the output folder are removed
    first.
    """
    results: list[VideoResult] = []
    loaded: list[Stages] = []
    loader = load or (lambda c: load_stages(c, progress=progress))

    def stages() -> Stages:
        if not loaded:
            loaded.append(loader(config))
        return loaded[0]

    check_writable(config.outputs.output)  # before any model loads
    clean_stale_staging(config.outputs.output)
    folders = plan_folders(inputs, config.outputs.output)
    for path, folder in zip(inputs, folders, strict=True):
        result = analyze_one(path, folder, config, stages, progress=progress)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def analyze_one(
    path: Path,
    folder: Path,
    config: AnalyzeConfig,
    stages: Callable[[], Stages],
    *,
    progress: bool = True,
) -> VideoResult:
    """One input of a batch into ``folder``: skipped when completed already (with
    ``skip_completed``), failed on any error but a model that cannot load or an
    interruption, which are raised (the folder then keeps its previous run: see
    :mod:`.job`).  ``stages()`` gives the models; it is called only when the stage cache
    lacks this video."""
    skip = config.outputs.skip_completed and not is_poses_file(path)
    if skip and already_completed(path, folder, config):
        return VideoResult(path, folder, "skipped")
    started = RunStarted()
    try:
        if is_poses_file(path):
            return analyze_poses_file(path, folder, config, progress=progress, started=started)
        probe(path)  # bad input fails here, before any model loads
        return analyze_video(path, folder, config, stages, progress=progress, started=started)
    except MemoryError:
        raise
    except model_errors():
        raise
    except Exception as exc:  # one bad file never stops the batch
        return VideoResult(path, folder, "failed", error=_one_line(exc))


def _one_line(exc: BaseException) -> str:
    """An error's message on one line for the summary (its type when it has none)."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return text or type(exc).__name__


def print_summary(results: Sequence[VideoResult], stream: Any = sys.stderr) -> None:
    """One line per input: status, frames, tracks, time or the error."""
    for r in results:
        if r.status == "completed":
            ids = f" (tracker ids: {r.n_tracker_ids})" if r.n_tracker_ids is not None else ""
            line = (
                f"done    {r.input_path}: {r.n_frames} frames, {r.n_tracks} tracks{ids}, "
                f"{r.seconds:.1f} s -> {r.output_dir}"
            )
            line += "".join(f"\n        warning: {w}" for w in r.warnings)
        elif r.status == "skipped":
            line = (f"skipped {r.input_path}: already completed with these settings in "
                    f"{r.output_dir}")
        else:
            line = f"failed  {r.input_path}: {r.error}"
        print(line, file=stream)


__all__ = [
    "VIDEO_SUFFIXES",
    "already_completed",
    "analyze_batch",
    "analyze_one",
    "expand_inputs",
    "plan_folders",
    "print_summary",
]
