"""The command line end to end: real detector, real video I/O, stand-in SpinePose model."""

from __future__ import annotations

import json
import shutil
import time

import av
import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli

from spinepose_sports.data import load_netcdf, load_poses, read_log


def test_analyze_writes_every_output(sports2d_run) -> None:
    folder, proc = sports2d_run
    for name in (
        "poses.nc",
        "boxes.nc",
        "keypoints.csv",
        "overlay.mp4",
        "run.json",
        "poses_smoothed.nc",
        "dashboard.html",
        "kinematics.nc",
        "angles.csv",
        "summary.csv",
        "repetitions.csv",
    ):
        assert (folder / name).is_file(), name
    assert not list(folder.glob("*.part"))
    assert "done" in proc.stderr and "sports2d_demo" in proc.stderr


def test_overlay_is_browser_playable_h264_with_every_frame(sports2d_run) -> None:
    folder, _ = sports2d_run
    with av.open(str(folder / "overlay.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.width, stream.height) == (1768, 994)
        n_frames = sum(1 for _ in container.decode(stream))
    assert n_frames == 230


def test_poses_follow_the_schema_and_tracks_are_plausible(sports2d_run) -> None:
    folder, _ = sports2d_run
    poses = load_poses(folder / "poses.nc")
    assert poses.sizes["time"] == 230 and poses.sizes["keypoint"] == 37
    assert poses.attrs["source_software"] == "spinepose-sports"
    assert poses.attrs["frame_width"] == 1768 and poses.attrs["frame_height"] == 994
    assert poses.attrs["fps"] == pytest.approx(30.0, rel=1e-3)
    assert poses.attrs["pose_model"] == "standin.onnx"
    assert len(poses.attrs["pose_model_sha256"]) == 64
    np.testing.assert_allclose(np.diff(poses["time"].values), 1 / 30, atol=2e-3)
    frames_seen = poses["position"].notnull().any(("space", "keypoint")).sum("time").values
    long_tracks = int((frames_seen > poses.attrs["fps"]).sum())
    assert 2 <= long_tracks <= 5, frames_seen
    # keypoints lie inside their track's (padded) box
    boxes = load_netcdf(folder / "boxes.nc")
    assert list(boxes["individual"].values) == list(poses["individual"].values)
    cx = boxes["position"].sel(space="x")
    w = boxes["shape"].sel(space="x")
    x = poses["position"].sel(space="x", keypoint="hip")
    inside = (abs(x - cx) <= 0.75 * w) | x.isnull()
    assert bool(inside.all())


def test_csv_and_run_record(sports2d_run) -> None:
    folder, _ = sports2d_run
    table = pd.read_csv(folder / "keypoints.csv")
    assert list(table.columns) == ["time_s", "frame", "track", "keypoint", "x", "y", "confidence"]
    assert table["frame"].between(0, 229).all()
    run = json.loads((folder / "run.json").read_text())
    assert run["status"] == "completed"
    assert run["n_frames"] == 230
    assert run["config"]["detector"]["person_classes"] == [0, 1]
    assert run["models"]["pose_model"]["sha256"]
    assert run["versions"]["ultralytics"] != "not installed"
    for stage in ("decode", "detect_track", "pose", "render_overlay"):
        assert run["timing_s"][stage] > 0, stage
    assert run["video"]["frame_count"] == 230
    tracking = run["tracking"]
    assert tracking["tracks_in"] >= tracking["tracks_out"] == len(run["tracks"])
    assert tracking["quality"]["params"]["min_seen_s"] == 0.5


def test_kinematics_outputs_are_consistent(sports2d_run) -> None:
    from spinepose_sports.kinematics import load_kinematics

    folder, _ = sports2d_run
    kin = load_kinematics(folder / "kinematics.nc")
    poses = load_poses(folder / "poses.nc")
    assert list(kin["individual"].values) == list(poses["individual"].values)
    assert kin["segment_angle"].attrs["units"] == "deg"
    assert kin.sizes["segment"] == 9 and kin.sizes["level"] == 8
    # kinematics use the smoothed poses; where their hip is missing, angles are NaN, never 0
    smoothed = load_poses(folder / "poses_smoothed.nc")
    hip_missing = smoothed["position"].sel(keypoint="hip", space="x").isnull()
    assert bool(hip_missing.any())
    assert bool(kin["trunk_flexion"].where(hip_missing).isnull().all())
    angles = pd.read_csv(folder / "angles.csv")
    assert {"time_s", "frame", "track", "quantity", "label", "value", "units"} <= set(angles)
    summary = pd.read_csv(folder / "summary.csv")
    assert set(summary["track"]) <= {int(i.split("_")[1]) for i in poses["individual"].values}


def test_smoothed_poses_are_saved_with_their_log(sports2d_run) -> None:
    folder, _ = sports2d_run
    raw = load_poses(folder / "poses.nc")
    smoothed = load_poses(folder / "poses_smoothed.nc")
    raw_ops = [e["operation"] for e in read_log(raw)]
    assert "stitch_tracks" in raw_ops and "smooth" not in raw_ops
    assert read_log(smoothed)[: len(raw_ops)] == read_log(raw)
    entry = read_log(smoothed)[-1]
    assert entry["operation"] == "smooth" and entry["parameters"]["method"] == "kalman"
    # nothing invented: a keypoint the model never gave stays NaN after smoothing
    never = raw["position"].isnull().all("time")
    assert bool(smoothed["position"].where(never).isnull().all())
    assert smoothed["position"].shape == raw["position"].shape


def test_rerun_from_saved_poses_needs_no_model(sports2d_run, tmp_path) -> None:
    folder, _ = sports2d_run
    proc = run_cli(
        "analyze",
        folder / "poses.nc",
        "-o",
        tmp_path,
        "--no-overlay",
        "-q",
        "--smoothing",
        "one-euro",
        env={"SPINEPOSE_SPORTS_MODEL_DIR": str(tmp_path / "nothing")},
    )
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "sports2d_demo"
    assert (out / "keypoints.csv").is_file() and (out / "run.json").is_file()
    assert (out / "kinematics.nc").is_file() and not (out / "overlay.mp4").exists()
    again = load_poses(out / "poses.nc")
    original = load_poses(folder / "poses.nc")
    np.testing.assert_array_equal(again["position"].values, original["position"].values)
    assert read_log(load_poses(out / "poses_smoothed.nc"))[-1]["parameters"]["method"] == (
        "one-euro"
    )
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["smoothing"]["smoothing"] == "one-euro" and run["models"] is None


@pytest.mark.parametrize("kind", ["missing", "empty", "text"])
def test_bad_input_gets_a_short_clear_error(kind, tmp_path) -> None:
    path = tmp_path / f"{kind}.mp4"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not a video\n" * 20)
    proc = run_cli("analyze", path, "-o", tmp_path / "out", "-q")
    assert proc.returncode != 0
    assert path.name in proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert len(proc.stderr.strip().splitlines()) <= 3


def test_missing_pose_model_offline_fails_fast_naming_url(
    sports2d_clip, person_detector, tmp_path
) -> None:
    t0 = time.perf_counter()
    proc = run_cli(
        "analyze",
        sports2d_clip,
        "-o",
        tmp_path,
        "--detector-weights",
        person_detector,
        "--person-classes",
        "0,1",
        "-q",
        env={
            "SPINEPOSE_SPORTS_CACHE_DIR": str(tmp_path / "cache"),
            "SPINEPOSE_SPORTS_MODEL_DIR": str(tmp_path / "empty"),
        },
    )
    elapsed = time.perf_counter() - t0
    assert proc.returncode != 0
    assert elapsed < 30
    assert "https://huggingface.co/dfki-av/spinepose/resolve/main/" in proc.stderr
    assert "--pose-model" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_batch_survives_a_bad_file_and_resumes(
    tmp_path, vtest_clip, pose2sim_clip, person_detector, standin_onnx
) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(vtest_clip, videos / "a_street.avi")
    (videos / "b_broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    shutil.copy(pose2sim_clip, videos / "c_lab.mp4")
    out = tmp_path / "out"
    args = [
        "analyze",
        videos,
        "-o",
        out,
        "--detector-weights",
        person_detector,
        "--person-classes",
        "0,1",
        "--pose-model",
        standin_onnx,
        "--end",
        "0.5",
        "-q",
    ]
    proc = run_cli(*args)
    assert proc.returncode == 1
    assert "b_broken.mp4" in proc.stderr and "Traceback" not in proc.stderr
    for stem in ("a_street", "c_lab"):
        run = json.loads((out / stem / "run.json").read_text())
        assert run["status"] == "completed"
        assert 4 <= run["n_frames"] <= 31
    with av.open(str(out / "c_lab" / "overlay.mp4")) as c:
        assert c.streams.video[0].frames in (
            0,
            load_poses(out / "c_lab" / "poses.nc").sizes["time"],
        )
    mtime = (out / "a_street" / "poses.nc").stat().st_mtime
    proc = run_cli(*args, "--skip-completed")
    assert "skipped" in proc.stderr
    assert (out / "a_street" / "poses.nc").stat().st_mtime == mtime


def test_help_is_there_for_every_command() -> None:
    for args in (
        ["--help"],
        ["analyze", "--help"],
        ["models", "--help"],
        ["run", "--help"],
        ["models", "list"],
        ["--version"],
    ):
        proc = run_cli(*args)
        assert proc.returncode == 0, (args, proc.stderr)
        assert proc.stdout.strip()
    assert "CC-BY-NC-4.0" in run_cli("models", "list").stdout


def test_video_without_people_completes_and_says_so(tmp_path, person_detector, standin_onnx):
    from spinepose_sports.video import VideoWriter

    clip = tmp_path / "empty_field.mp4"
    rng = np.random.default_rng(0)
    with VideoWriter(clip, fps=10) as writer:
        for i in range(12):
            frame = np.full((240, 320, 3), (40, 140 + i, 60), np.uint8)
            frame += rng.integers(0, 8, frame.shape, dtype=np.uint8)
            writer.write(frame)
    proc = run_cli(
        "analyze",
        clip,
        "-o",
        tmp_path / "out",
        "--detector-weights",
        person_detector,
        "--person-classes",
        "0,1",
        "--pose-model",
        standin_onnx,
        "-q",
    )
    assert proc.returncode == 0, proc.stderr
    assert "no person was tracked" in proc.stderr
    assert "Loading" not in proc.stderr and "ONNX Runtime" not in proc.stderr  # -q is quiet
    folder = tmp_path / "out" / "empty_field"
    poses = load_poses(folder / "poses.nc")
    assert poses.sizes == {"time": 12, "space": 2, "keypoint": 37, "individual": 0}
    run = json.loads((folder / "run.json").read_text())
    assert run["status"] == "completed" and run["warnings"]
    with av.open(str(folder / "overlay.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 12


def test_render_and_report_from_saved_results(sports2d_run, tmp_path) -> None:
    folder, _ = sports2d_run
    work = tmp_path / "sports2d_demo"
    shutil.copytree(folder, work)
    (work / "overlay.mp4").unlink()
    (work / "dashboard.html").unlink()
    env = {"SPINEPOSE_SPORTS_MODEL_DIR": str(tmp_path / "nothing")}  # no model is needed
    proc = run_cli("render", work, "--start", "1", "--end", "2", "-q", env=env)
    assert proc.returncode == 0, proc.stderr
    with av.open(str(work / "overlay.mp4")) as c:
        video = c.streams.video[0]
        assert video.codec_context.name == "h264" and video.codec_context.pix_fmt == "yuv420p"
        assert 28 <= sum(1 for _ in c.decode(video)) <= 31
    proc = run_cli("report", work, env=env)
    assert proc.returncode == 0, proc.stderr
    html = (work / "dashboard.html").read_text()
    assert "plotly" in html.lower() and len(html) > 1_000_000  # plotly.js embedded: offline
    bad = run_cli("render", tmp_path / "nowhere")
    assert bad.returncode != 0 and "nowhere" in bad.stderr and "Traceback" not in bad.stderr


def test_names_and_selection_from_saved_results(sports2d_run, tmp_path) -> None:
    folder, _ = sports2d_run
    first = str(load_poses(folder / "poses.nc")["individual"].values[0])
    track = int(first.split("_")[1])
    proc = run_cli(
        "analyze",
        folder / "poses.nc",
        "-o",
        tmp_path,
        "--no-overlay",
        "-q",
        "--athletes",
        f"id:{track}",
        "--names",
        f"{track}=Anna",
    )
    assert proc.returncode == 0, proc.stderr
    poses = load_poses(tmp_path / "sports2d_demo" / "poses.nc")
    assert list(poses["individual"].values) == [first]
    assert list(poses["name"].values) == ["Anna"]
    assert load_poses(folder / "poses.nc").sizes["individual"] >= 1  # the source is untouched
    bad = run_cli("analyze", folder / "poses.nc", "-o", tmp_path, "--athletes", "tallest:2")
    assert bad.returncode != 0 and "--athletes" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tracker-options", "new_track_thresh"], "KEY=VALUE"),
        (["--tracker-options", "new_track_tresh=0.1"], "new_track_tresh"),
        (["--tracker-options", "fuse_score=maybe"], "fuse_score expects type bool"),
        (["--tracker", "botsort", "--tracker-options", "tracker_type=bytetrack"], "--tracker"),
        (["--min-track-motion", "-1"], "--min-track-motion"),
    ],
    ids=["no-value", "unknown-key", "bad-type", "tracker-type", "negative-threshold"],
)
def test_bad_tracking_options_are_refused_before_any_work(args, message, sports2d_clip,
                                                          tmp_path) -> None:
    proc = run_cli("analyze", sports2d_clip, "-o", tmp_path / "out", *args, "-q")
    assert proc.returncode == 1
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_render_progress_total_counts_the_frames_in_range(sports2d_run, tmp_path) -> None:
    from spinepose_sports.cli_render import _frames_in_range

    folder, _ = sports2d_run
    assert _frames_in_range(folder, None, None) == 230
    assert _frames_in_range(folder, 1.0, 3.0) == 60  # 30 fps, end exclusive
    assert _frames_in_range(tmp_path, None, None) is None  # no results: render says why
