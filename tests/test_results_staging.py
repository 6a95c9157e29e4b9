"""Publishing a run: staging folder, atomic swap (and its two-rename fallback), leftovers
of killed runs, the user's own files carried over, partial results kept on failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spinepose_sports import results
from spinepose_sports.results import (
    RUN_FILE,
    StagedRun,
    clean_stale_staging,
    is_staging_name,
    staging_folder,
    swap_in,
    write_run,
)


def _folder(path: Path, tag: str, *names: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name in names:
        (path / name).write_text(tag)
    write_run(path, {"status": "completed", "tag": tag, "outputs": {n: n for n in names}})
    return path


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("atomic", [True, False], ids=["exchange", "two-renames"])
def test_swap_replaces_the_whole_folder(tmp_path: Path, atomic: bool) -> None:
    folder = _folder(tmp_path / "clip", "old", "poses.nc", "overlay.mp4")
    staging = _folder(staging_folder(folder), "new", "poses.nc")
    swap_in(staging, folder, atomic_exchange=atomic)
    assert sorted(p.name for p in folder.iterdir()) == ["poses.nc", RUN_FILE]
    assert (folder / "poses.nc").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip"]
    # first run: a plain rename
    fresh = _folder(tmp_path / ".other.partial-1", "new", "poses.nc")
    swap_in(fresh, tmp_path / "other")
    assert (tmp_path / "other" / "poses.nc").read_text() == "new"


def test_exchange_is_atomic_on_linux(tmp_path: Path) -> None:
    a, b = _folder(tmp_path / "a", "A", "x"), _folder(tmp_path / "b", "B", "x")
    if not results.exchange(a, b):
        pytest.skip("this file system cannot exchange two paths")
    assert (a / "x").read_text() == "B" and (b / "x").read_text() == "A"


def test_leftovers_of_killed_runs_are_tidied(tmp_path: Path) -> None:
    dead = _dead_pid()
    out = tmp_path / "out"
    _folder(out / "kept", "done", "poses.nc")
    _folder(out / f".kept.partial-{dead}", "half", "poses.nc")  # killed mid-run
    _folder(out / f".kept.partial-{os.getpid()}", "live", "poses.nc")  # a run in progress
    # killed between the two renames of the fallback: the folder is missing, put back
    _folder(out / f".lost.previous-{dead}", "old", "poses.nc")
    tidied = clean_stale_staging(out)
    assert sorted(p.name for p in tidied) == [f".kept.partial-{dead}", f".lost.previous-{dead}"]
    assert sorted(p.name for p in out.iterdir()) == [
        f".kept.partial-{os.getpid()}", "kept", "lost"]
    assert (out / "lost" / "poses.nc").read_text() == "old"
    assert is_staging_name(f".kept.partial-{dead}") and not is_staging_name("kept")
    assert clean_stale_staging(tmp_path / "nowhere") == []


def test_the_users_own_files_are_carried_over_not_old_outputs(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "clip", "old", "poses.nc", "overlay.mp4", "custom_output.bin")
    (folder / "notes.txt").write_text("mine")
    (folder / "export").mkdir()
    (folder / "export" / "clip.trc").write_text("derived from the old poses")
    (folder / "my_plots").mkdir()
    (folder / "my_plots" / "a.png").write_text("png")
    with StagedRun(folder) as stage:
        _folder(stage.path, "new", "poses.nc")
        stage.publish()
    assert sorted(p.name for p in folder.iterdir()) == [
        "my_plots", "notes.txt", "poses.nc", RUN_FILE]
    assert (folder / "notes.txt").read_text() == "mine"
    assert json.loads((folder / RUN_FILE).read_text())["tag"] == "new"


def test_an_unpublished_stage_is_discarded(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "clip", "old", "poses.nc")
    with pytest.raises(KeyboardInterrupt), StagedRun(folder) as stage:
        (stage.path / "poses.nc").write_text("half")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip"]
    assert (folder / "poses.nc").read_text() == "old"
