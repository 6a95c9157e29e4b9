"""The results folder: every output's name, where a video's folder is, and what it holds.

One folder per input video, ``<output>/<folder name>/``.  This module alone knows:

* the name of every output file (:data:`OUTPUTS`, by role) and of ``run.json``;
* the folder naming rule (:func:`assign_folders`): ``<output>/<video stem>/``, unless that
  folder belongs to another input (a video of the same name in another folder, recorded
  in its ``run.json``) or another input of the same batch has the same stem: then
  ``<output>/<stem>-<8 hex digits of the SHA-1 of the video's absolute folder path>/``.
  The same video always gets the same folder again, and two videos never share one;
* what "completed" means (:func:`is_completed`): ``run.json`` says ``completed`` for the
  same video *content* (sha256) and the same settings (:meth:`AnalyzeConfig.results_key`);
* writing: every file goes to a temporary name first and is renamed when complete
  (:func:`atomic_path`); when a run completes, the outputs it did not make are removed
  (:func:`remove_stale`), so a folder never mixes two runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

#: Every output file by role, as written into a results folder.
OUTPUTS: dict[str, str] = {
    "poses": "poses.nc",
    "boxes": "boxes.nc",
    "poses_smoothed": "poses_smoothed.nc",
    "tracker_poses": "tracker_poses.nc",
    "tracker_boxes": "tracker_boxes.nc",
    "keypoints_csv": "keypoints.csv",
    "kinematics": "kinematics.nc",
    "angles": "angles.csv",
    "summary": "summary.csv",
    "repetitions": "repetitions.csv",
    "metric": "metric.nc",
    "speeds": "speeds.csv",
    "jumps": "jumps.csv",
    "dashboard": "dashboard.html",
    "overlay": "overlay.mp4",
}
RUN_FILE = "run.json"
POSES_FILE = OUTPUTS["poses"]
BOXES_FILE = OUTPUTS["boxes"]
SMOOTHED_POSES_FILE = OUTPUTS["poses_smoothed"]
TRACKER_POSES_FILE = OUTPUTS["tracker_poses"]
TRACKER_BOXES_FILE = OUTPUTS["tracker_boxes"]
CSV_FILE = OUTPUTS["keypoints_csv"]
KINEMATICS_FILE = OUTPUTS["kinematics"]
ANGLES_FILE = OUTPUTS["angles"]
SUMMARY_FILE = OUTPUTS["summary"]
REPETITIONS_FILE = OUTPUTS["repetitions"]
DASHBOARD_FILE = OUTPUTS["dashboard"]
OVERLAY_FILE = OUTPUTS["overlay"]
PART_SUFFIX = ".part"


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block ends
    without an error, delete it otherwise.  Readers never see a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + PART_SUFFIX)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def remove_stale(folder: Path, made: Mapping[str, str] | Sequence[str]) -> list[str]:
    """Remove the outputs in ``folder`` that this run did not make: every known output
    name (:data:`OUTPUTS`) and every file the previous ``run.json`` listed, minus
    ``made`` (file names).  Returns the removed names."""
    keep = set(made.values() if isinstance(made, Mapping) else made) | {RUN_FILE}
    previous = read_run(folder) or {}
    listed = previous.get("outputs") or {}
    candidates = set(OUTPUTS.values()) | {
        Path(str(p)).name for p in (listed.values() if isinstance(listed, dict) else listed)
    }
    removed = []
    for name in sorted(candidates - keep):
        target = folder / name
        if target.is_file():
            target.unlink()
            removed.append(name)
    for leftover in folder.glob(f"*{PART_SUFFIX}"):
        leftover.unlink(missing_ok=True)
    return removed


# --------------------------------------------------------------------------------------
# run.json
# --------------------------------------------------------------------------------------


def read_run(folder: Path) -> dict[str, Any] | None:
    """``folder/run.json`` as a dict, or None when absent or unreadable."""
    try:
        record = json.loads((Path(folder) / RUN_FILE).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_run(folder: Path, record: Mapping[str, Any]) -> Path:
    """Write ``folder/run.json`` atomically."""
    return write_text(Path(folder) / RUN_FILE, json.dumps(record, indent=2, default=str) + "\n")


def is_completed(
    folder: Path, input_sha256: str | None = None, results_key: str | None = None
) -> bool:
    """True when ``folder/run.json`` records a completed run; with ``input_sha256`` and
    ``results_key``, of that video content with those settings."""
    record = read_run(folder)
    if record is None or record.get("status") != "completed":
        return False
    if input_sha256 is not None and record.get("input_sha256") != input_sha256:
        return False
    return results_key is None or record.get("results_key") == results_key


# --------------------------------------------------------------------------------------
# Inputs: identity and folders
# --------------------------------------------------------------------------------------


def file_sha256(path: Path, known: Mapping[str, Any] | None = None) -> str:
    """sha256 of a file's content.  ``known``: a previous ``run.json``; its recorded
    digest is reused when the file's size and modification time are unchanged."""
    stat = path.stat()
    if known and known.get("input_size") == stat.st_size and known.get(
        "input_mtime_ns"
    ) == stat.st_mtime_ns and known.get("input_sha256"):
        return str(known["input_sha256"])
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_identity(path: Path, folder: Path) -> dict[str, Any]:
    """What ``run.json`` records of an input: absolute path, size, mtime and sha256."""
    stat = path.stat()
    return {
        "input_resolved": str(path.resolve()),
        "input_size": stat.st_size,
        "input_mtime_ns": stat.st_mtime_ns,
        "input_sha256": file_sha256(path, read_run(folder)),
    }


def owner_of(folder: Path) -> Path | None:
    """The input video a results folder belongs to (from its ``run.json``), or None."""
    record = read_run(folder)
    if record is None:
        return None
    recorded = record.get("source_resolved") or record.get("input_resolved")
    return Path(str(recorded)) if recorded else None


def _suffix(source: Path) -> str:
    return hashlib.sha1(str(source.parent).encode()).hexdigest()[:8]


def assign_folders(sources: Sequence[Path], output_dir: Path) -> list[Path]:
    """The results folder of each source video (the rule in the module doc).

    ``sources``: the videos, in batch order; the first of several with the same stem keeps
    ``<stem>`` unless that folder already belongs to another video."""
    taken: dict[Path, Path] = {}
    out: list[Path] = []
    for source in sources:
        resolved = Path(source).resolve()
        plain = Path(output_dir) / resolved.stem
        owner = owner_of(plain)
        free = owner in (None, resolved) and taken.get(plain, resolved) == resolved
        folder = plain if free else Path(output_dir) / f"{resolved.stem}-{_suffix(resolved)}"
        taken.setdefault(folder, resolved)
        out.append(folder)
    return out


__all__ = [
    "ANGLES_FILE",
    "BOXES_FILE",
    "CSV_FILE",
    "DASHBOARD_FILE",
    "KINEMATICS_FILE",
    "OUTPUTS",
    "OVERLAY_FILE",
    "POSES_FILE",
    "REPETITIONS_FILE",
    "RUN_FILE",
    "SMOOTHED_POSES_FILE",
    "SUMMARY_FILE",
    "TRACKER_BOXES_FILE",
    "TRACKER_POSES_FILE",
    "assign_folders",
    "atomic_path",
    "file_sha256",
    "input_identity",
    "is_completed",
    "owner_of",
    "read_run",
    "remove_stale",
    "write_run",
    "write_text",
]
