"""The results folder: unique per input, owns its files, completed by content and settings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_runner import run_cli

from spinepose_sports.data import load_poses
from spinepose_sports.results import (
    OUTPUTS,
    RUN_FILE,
    assign_folders,
    atomic_path,
    is_completed,
    remove_stale,
    write_run,
)


def _own(folder: Path, source: Path, **extra: object) -> None:
    write_run(folder, {"status": "completed", "input_resolved": str(source.resolve()), **extra})


def test_same_stem_from_different_folders_never_share_a_folder(tmp_path) -> None:
    day1, day2 = tmp_path / "day1" / "GX010001.MP4", tmp_path / "day2" / "GX010001.MP4"
    out = tmp_path / "results"
    first, second = assign_folders([day1, day2], out)
    assert first == out / "GX010001" and second != first
    assert second.parent == out and second.name.startswith("GX010001-")
    # the folders are stable: the same video finds its folder again, alone or in a batch
    _own(first, day1)
    _own(second, day2)
    assert assign_folders([day2], out) == [second]
    assert assign_folders([day2, day1], out) == [second, first]
    # a folder owned by another video is never taken, even when the owner is absent
    other = tmp_path / "day3" / "GX010001.MP4"
    assert assign_folders([other], out)[0] not in (first, second)


def test_a_folder_without_owner_is_free_and_the_rule_is_deterministic(tmp_path) -> None:
    video = tmp_path / "a" / "clip.mp4"
    (tmp_path / "results" / "clip").mkdir(parents=True)
    assert assign_folders([video], tmp_path / "results") == [tmp_path / "results" / "clip"]
    twin = tmp_path / "b" / "clip.mp4"
    assert assign_folders([video, twin], tmp_path / "r") == assign_folders(
        [video, twin], tmp_path / "r"
    )


def test_completed_is_keyed_on_content_and_settings(tmp_path) -> None:
    folder = tmp_path / "clip"
    write_run(folder, {"status": "completed", "input_sha256": "aa", "results_key": "k1"})
    assert is_completed(folder) and is_completed(folder, "aa", "k1")
    assert not is_completed(folder, "bb", "k1") and not is_completed(folder, "aa", "k2")
    write_run(folder, {"status": "running", "input_sha256": "aa", "results_key": "k1"})
    assert not is_completed(folder, "aa", "k1")


def test_stale_outputs_are_removed_and_partial_files_never_survive(tmp_path) -> None:
    folder = tmp_path / "clip"
    folder.mkdir()
    for name in OUTPUTS.values():
        (folder / name).write_text("old")
    (folder / "notes.txt").write_text("the user's own file")
    (folder / "kinematics.nc.part").write_text("half")
    removed = remove_stale(folder, {"poses": "poses.nc", "keypoints_csv": "keypoints.csv"})
    assert sorted(p.name for p in folder.iterdir()) == ["keypoints.csv", "notes.txt", "poses.nc"]
    assert "overlay.mp4" in removed and "kinematics.nc" in removed
    with pytest.raises(RuntimeError), atomic_path(folder / "summary.csv") as tmp:
        tmp.write_text("half written")
        raise RuntimeError("disk full")
    assert not (folder / "summary.csv").exists() and not list(folder.glob("*.part"))


@pytest.fixture(scope="module")
def two_days(tmp_path_factory, vtest_clip, person_detector, standin_onnx):
    """One analyze batch over day1/clip.avi and day2/clip.avi (same stem, 0.4 s each)."""
    work = tmp_path_factory.mktemp("season")
    for day in ("day1", "day2"):
        (work / day).mkdir()
        shutil.copy(vtest_clip, work / day / "clip.avi")
    args = ["-o", work / "results", "--detector-weights", person_detector,
            "--person-classes", "0,1", "--pose-model", standin_onnx, "--end", "0.4", "-q"]
    proc = run_cli("analyze", work / "day1", work / "day2", *args)
    assert proc.returncode == 0, proc.stderr
    return work, args


def test_two_inputs_with_the_same_stem_get_two_folders(two_days) -> None:
    work, _ = two_days
    folders = sorted(p for p in (work / "results").iterdir() if (p / RUN_FILE).is_file())
    assert len(folders) == 2
    inputs = {json.loads((f / RUN_FILE).read_text())["input_resolved"] for f in folders}
    assert inputs == {str(work / "day1" / "clip.avi"), str(work / "day2" / "clip.avi")}
    for folder in folders:
        run = json.loads((folder / RUN_FILE).read_text())
        assert run["status"] == "completed" and len(run["input_sha256"]) == 64
        assert set(run["outputs"].values()) <= {p.name for p in folder.iterdir()}


def test_skip_completed_needs_the_same_content_and_settings(two_days, pose2sim_clip) -> None:
    work, args = two_days
    day2 = work / "day2" / "clip.avi"
    proc = run_cli("analyze", work / "day1", work / "day2", *args, "--skip-completed")
    assert proc.returncode == 0 and proc.stderr.count("skipped") == 2, proc.stderr
    # other settings: redone
    proc = run_cli("analyze", day2, *args, "--skip-completed", "--smoothing", "butterworth",
                   "--no-overlay")
    assert "skipped" not in proc.stderr and "done" in proc.stderr, proc.stderr
    # other content under the same name: redone, into the same folder
    shutil.copy(pose2sim_clip, day2)
    proc = run_cli("analyze", day2, *args, "--skip-completed", "--smoothing", "butterworth",
                   "--no-overlay")
    assert "skipped" not in proc.stderr and "done" in proc.stderr, proc.stderr
    folders = [p for p in (work / "results").iterdir() if (p / RUN_FILE).is_file()]
    assert len(folders) == 2


def test_a_rerun_with_fewer_outputs_leaves_none_of_the_old(two_days, tmp_path) -> None:
    work, _ = two_days
    folder = work / "results" / "clip"
    shutil.copytree(folder, tmp_path / "clip")
    folder = tmp_path / "clip"
    assert (folder / "overlay.mp4").is_file() and (folder / "kinematics.nc").is_file()
    proc = run_cli("analyze", folder / "poses.nc", "-o", tmp_path, "--smoothing", "none",
                   "--no-kinematics", "--no-overlay", "-q")
    assert proc.returncode == 0, proc.stderr
    left = {p.name for p in folder.iterdir()}
    for stale in ("poses_smoothed.nc", "kinematics.nc", "angles.csv", "summary.csv",
                  "repetitions.csv", "dashboard.html", "overlay.mp4"):
        assert stale not in left, stale
    assert {"poses.nc", "boxes.nc", "keypoints.csv", "run.json"} <= left
    run = json.loads((folder / RUN_FILE).read_text())
    assert set(run["outputs"].values()) | {RUN_FILE} == left - {"tracker_poses.nc",
                                                                 "tracker_boxes.nc"} | {
        n for n in ("tracker_poses.nc", "tracker_boxes.nc") if n in left}
    assert "overlay.mp4" in run["removed_stale_outputs"]


def test_saved_poses_honour_start_and_end(two_days, tmp_path) -> None:
    work, _ = two_days
    source = work / "results" / "clip" / "poses.nc"
    proc = run_cli("analyze", source, "-o", tmp_path, "--start", "0.1", "--end", "0.3",
                   "--no-overlay", "-q")
    assert proc.returncode == 0, proc.stderr
    poses = load_poses(tmp_path / "clip" / "poses.nc")
    times = poses["time"].values
    assert times.min() >= 0.1 - 1e-9 and times.max() < 0.3 and len(times) == 2
    proc = run_cli("analyze", source, "-o", tmp_path, "--start", "5", "-q")
    assert proc.returncode == 1 and "time range" in proc.stderr


def test_render_shows_the_names_stored_by_analyze(monkeypatch, tmp_path) -> None:
    from render_data import make_results_folder
    from test_render_overlay import _write_clip_with_audio  # the overlay tests' clip

    import spinepose_sports.render.results as render_results_module
    from spinepose_sports.data import save_netcdf
    from spinepose_sports.render import RenderOptions, render_results
    from spinepose_sports.tracking.select import NAME_COORD

    clip = _write_clip_with_audio(tmp_path / "drill.mp4")
    folder = make_results_folder(tmp_path / "drill", clip)
    poses = load_poses(folder / "poses.nc")
    names = ["Anna" if str(i) == "track_3" else "" for i in poses["individual"].values]
    save_netcdf(poses.assign_coords({NAME_COORD: ("individual", names)}), folder / "poses.nc")
    seen: list[RenderOptions] = []

    def capture(*args, options, **kw):  # type: ignore[no-untyped-def]
        seen.append(options)
        return Path(args[2])

    monkeypatch.setattr(render_results_module, "render_overlay", capture)
    render_results(folder, smoothed=False)
    assert dict(seen[-1].names or {}) == {3: "Anna"}
    render_results(folder, RenderOptions(names={3: "Bea"}), smoothed=False)
    assert dict(seen[-1].names or {}) == {3: "Bea"}
