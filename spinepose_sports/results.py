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
  (:func:`atomic_path`);
* publishing a run (:class:`StagedRun`): a run writes into a staging folder beside the
  results folder, ``<output>/.<folder name>.partial-<pid>/``, and swaps it in at the end
  (Linux: one ``renameat2(RENAME_EXCHANGE)``; elsewhere two renames, undone at the next
  start if a kill lands between them).  The results folder therefore always holds one
  whole run, the previous one or the new one, never a mix; an interrupted run leaves
  only its staging folder, removed by the next run in that output folder
  (:func:`clean_stale_staging`).  Files a run does not make (a user's notes) are carried
  over into the new folder; the outputs of the previous run (every :data:`OUTPUTS` name,
  every file its ``run.json`` listed, ``export/``) are not.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import re
import shutil
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
#: Folders inside a results folder derived from its outputs, with the patterns of the
#: files a run makes there (``export``'s files): those are stale once the outputs change,
#: so a new run never carries them over; other files there (a user's) are carried.
DERIVED_FILES: dict[str, tuple[str, ...]] = {
    "export": (
        "*.trc", "*.mot", "*.c3d", "*.xlsx", "metric.nc", "speeds.csv", "jumps.csv",
        "*.part", "openpose/*_keypoints.json", "openpose/*.part",
    ),
}
DERIVED_DIRS = tuple(DERIVED_FILES)
STAGING_MARK = ".partial-"
PREVIOUS_MARK = ".previous-"
_LEFTOVER = re.compile(r"^\.(?P<name>.+)(?P<mark>\.partial-|\.previous-)(?P<pid>\d+)$")


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


def stale_outputs(folder: Path, made: Mapping[str, str] | Sequence[str]) -> list[str]:
    """The outputs in ``folder`` that a run which made ``made`` (file names) did not make:
    every known output name (:data:`OUTPUTS`) and every file the folder's ``run.json``
    listed, present in ``folder``, minus ``made``."""
    keep = set(made.values() if isinstance(made, Mapping) else made) | {RUN_FILE}
    return sorted(n for n in _output_names(folder) - keep if (Path(folder) / n).is_file())


def _output_names(folder: Path) -> set[str]:
    """Every file name an analyze run may have made in ``folder``."""
    previous = read_run(folder) or {}
    listed = previous.get("outputs") or {}
    return set(OUTPUTS.values()) | {
        Path(str(p)).name for p in (listed.values() if isinstance(listed, dict) else listed)
    }


def remove_stale(folder: Path, made: Mapping[str, str] | Sequence[str]) -> list[str]:
    """Remove the outputs in ``folder`` that this run did not make
    (:func:`stale_outputs`) and every ``*.part`` leftover.  Returns the removed names."""
    removed = stale_outputs(folder, made)
    for name in removed:
        (Path(folder) / name).unlink()
    for leftover in Path(folder).glob(f"*{PART_SUFFIX}"):
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
# Publishing a run: staging folder, atomic swap, leftovers
# --------------------------------------------------------------------------------------


def staging_folder(folder: Path, pid: int | None = None) -> Path:
    """The staging folder of a run of process ``pid`` (default: this one) for ``folder``."""
    folder = Path(folder)
    return folder.with_name(f".{folder.name}{STAGING_MARK}{pid or os.getpid()}")


def is_staging_name(name: str) -> bool:
    """True for the name of a staging folder or of a swapped-out previous run."""
    return _LEFTOVER.match(name) is not None


def _alive(pid: int) -> bool:
    """True when process ``pid`` runs on this machine."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def clean_stale_staging(output_dir: Path) -> list[Path]:
    """Tidy what killed runs left in ``output_dir``: a staging folder of a process that no
    longer runs is removed; a previous run swapped out by the two-rename fallback whose
    results folder is missing (killed between the renames) is put back.  Returns the paths
    removed or restored."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return []
    done = []
    for child in sorted(output_dir.iterdir()):
        match = _LEFTOVER.match(child.name)
        if match is None or not child.is_dir() or _alive(int(match["pid"])):
            continue
        target = output_dir / match["name"]
        if match["mark"] == PREVIOUS_MARK and not target.exists():
            os.rename(child, target)
        else:
            shutil.rmtree(child, ignore_errors=True)
        done.append(child)
    return done


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).
    Returns False where the system or the file system cannot (nothing is changed)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, f"cannot swap {a} and {b}: {os.strerror(code)}")


def swap_in(staging: Path, folder: Path, *, atomic_exchange: bool = True) -> None:
    """Make ``staging`` the results ``folder``; the previous folder, if any, is deleted.

    A reader sees the previous folder until the swap and the new one after it: one
    rename when ``folder`` does not exist, one exchange on Linux, otherwise ``folder`` is
    renamed aside to ``.<name>.previous-<pid>`` first (put back by
    :func:`clean_stale_staging` if the process dies between the two renames)."""
    staging, folder = Path(staging), Path(folder)
    if not folder.exists():
        try:
            os.rename(staging, folder)
            return
        except OSError as exc:  # the folder appeared meanwhile: swap with it
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
    if atomic_exchange and exchange(staging, folder):
        shutil.rmtree(staging, ignore_errors=True)  # now the previous run
        return
    previous = folder.with_name(f".{folder.name}{PREVIOUS_MARK}{os.getpid()}")
    os.rename(folder, previous)
    os.rename(staging, folder)
    shutil.rmtree(previous, ignore_errors=True)


def _carry_over(old: Path, new: Path) -> list[str]:
    """Link (or copy) into ``new`` what ``old`` holds that no analyze run makes: a user's
    own files and folders.  Outputs, ``run.json``, ``*.part`` and :data:`DERIVED_DIRS`
    stay behind.  Returns the names carried."""
    if not old.is_dir():
        return []
    skip = _output_names(old) | {RUN_FILE, *DERIVED_DIRS}
    carried = _carry_user_files_of_derived(old, new)
    for item in sorted(old.iterdir()):
        if item.name in skip or item.name.endswith(PART_SUFFIX) or (new / item.name).exists():
            continue
        if item.is_dir():
            shutil.copytree(item, new / item.name, copy_function=link_or_copy)
        else:
            link_or_copy(item, new / item.name)
        carried.append(item.name)
    return carried


def _carry_user_files_of_derived(old: Path, new: Path) -> list[str]:
    """The user's files inside :data:`DERIVED_FILES` folders (those no run makes)."""
    carried = []
    for name, patterns in DERIVED_FILES.items():
        root = old / name
        if not root.is_dir():
            continue
        made = {p for pattern in patterns for p in root.glob(pattern)}
        for item in sorted(root.rglob("*")):
            target = new / item.relative_to(old)
            if item.is_dir() or item in made or target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            link_or_copy(item, target)
            carried.append(str(item.relative_to(old)))
    return carried


def link_or_copy(src: str | Path, dst: str | Path) -> None:
    """Hard-link ``src`` to ``dst``; copy it where links are impossible."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


class ResultsFolderError(OSError):
    """The output folder cannot hold results (not a folder, read-only, ...)."""


def check_writable(output_dir: Path) -> Path:
    """Create ``output_dir`` if needed and prove a file can be written in it.

    Raises:
        ResultsFolderError: it cannot be created or written, with the system's reason.
    """
    output_dir = Path(output_dir)
    probe = output_dir / f".write-test-{os.getpid()}"
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ResultsFolderError(
            exc.errno, f"{output_dir}: cannot write results here ({exc.strerror or exc})"
        ) from exc
    return output_dir


class StagedRun:
    """A run's staging folder for the results ``folder``: write into :attr:`path`, then
    :meth:`publish`; :meth:`discard` (also on leaving a ``with`` block) removes what was
    not published.

    ``with StagedRun(folder) as stage: ...; stage.publish()``
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = staging_folder(self.folder)
        self.published = False
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)

    def publish(self) -> None:
        """Carry the user's own files over and swap the staging folder in."""
        _carry_over(self.folder, self.path)
        swap_in(self.path, self.folder)
        self.published = True

    def discard(self) -> None:
        if not self.published:
            shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> StagedRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


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
    "DERIVED_DIRS",
    "DERIVED_FILES",
    "KINEMATICS_FILE",
    "OUTPUTS",
    "OVERLAY_FILE",
    "POSES_FILE",
    "REPETITIONS_FILE",
    "RUN_FILE",
    "SMOOTHED_POSES_FILE",
    "STAGING_MARK",
    "SUMMARY_FILE",
    "TRACKER_BOXES_FILE",
    "TRACKER_POSES_FILE",
    "ResultsFolderError",
    "StagedRun",
    "assign_folders",
    "atomic_path",
    "check_writable",
    "clean_stale_staging",
    "exchange",
    "file_sha256",
    "input_identity",
    "is_completed",
    "is_staging_name",
    "link_or_copy",
    "owner_of",
    "read_run",
    "remove_stale",
    "staging_folder",
    "stale_outputs",
    "swap_in",
    "write_run",
    "write_text",
]
