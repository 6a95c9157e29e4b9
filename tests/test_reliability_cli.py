"""The reliability catalogue, cases met through the command line (docs/reliability.md).

One ``analyze`` batch runs over a folder of awkward videos, in a folder whose name has
accents, an apostrophe and spaces, writing to another such folder: every file either
completes or gets one ``failed`` line, and the batch goes on.  Model and output problems
get their own short runs.  Nothing ends in a traceback.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import videogen
from cli_runner import run_cli

from spinepose_sports.data import load_poses
from spinepose_sports.video import VideoWriter, read_frames

FOLDER = "vidéos d'été 2024"
OUT = "résultats à jour"


def _people(vtest: Path, n: int, size: tuple[int, int] = (384, 288)) -> list[np.ndarray]:
    """The first ``n`` frames of the street clip (pedestrians), resized to ``size`` (w, h)."""
    out = []
    for frame in read_frames(vtest, end_s=n / 10):
        out.append(cv2.resize(frame.image, size, interpolation=cv2.INTER_AREA))
    return out[:n]


def _encode(path: Path, frames: list[np.ndarray], codec: str, pix_fmt: str) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], \
            pix_fmt
        for image in frames:
            frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format=pix_fmt)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _cut(path: Path, fraction: float, faststart: bool, frames: list[np.ndarray]) -> Path:
    full = path.with_name("full_" + path.name)
    if faststart:
        with VideoWriter(full, 10, preset="ultrafast") as writer:
            for image in frames:
                writer.write(image)
    else:
        videogen.write_clip(full, frames)
    data = full.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    full.unlink()
    return path


def _make_videos(folder: Path, vtest: Path) -> dict[str, Path]:
    folder.mkdir(parents=True)
    people = _people(vtest, 6)
    v: dict[str, Path] = {}
    stamps_ms = [0, 90, 150, 300, 310, 700]
    v["vfr"] = videogen.write_clip(folder / "vfr clip.mkv", people, pts=stamps_ms,
                                   time_base=Fraction(1, 1000))
    v["rotated"] = videogen.write_clip(folder / "phone rotated.mp4", people, rotation=90)
    v["tiny"] = videogen.write_clip(folder / "tiny.mp4", [cv2.resize(f, (24, 18)) for f in people])
    big = [cv2.resize(f, (7680, 4320), interpolation=cv2.INTER_NEAREST) for f in people[:2]]
    v["8k"] = _encode(folder / "eight k.mp4", big, "libx264", "yuv420p")
    del big
    v["gray"] = _encode(folder / "grayscale.mkv", people, "ffv1", "gray")
    v["10bit"] = _encode(folder / "ten bit.mp4", people, "libx264", "yuv420p10le")
    v["cut_short"] = _cut(folder / "cut short.mp4", 0.6, True, _people(vtest, 20))
    v["no_index"] = _cut(folder / "no index.mp4", 0.5, False, people)
    container = av.open(str(folder / "zero frames.mkv"), "w")
    s = container.add_stream("ffv1", rate=10)
    s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
    container.start_encoding()
    container.close()
    v["zero_frames"] = folder / "zero frames.mkv"
    v["audio_only"] = videogen.write_audio_clip(folder / "sound only.m4a", 0.5, codec="aac")
    v["empty_file"] = folder / "empty.mp4"
    v["empty_file"].write_bytes(b"")
    v["not_video"] = folder / "notes.mp4"
    v["not_video"].write_text("not a video\n" * 40)
    field = [np.full((240, 320, 3), (40, 140 + i, 60), np.uint8) for i in range(6)]
    v["no_people"] = videogen.write_clip(folder / "empty field.mp4", field)
    v["short"] = videogen.write_clip(folder / "short people.mp4", people[:3])
    return v


@pytest.fixture(scope="module")
def odd_batch(tmp_path_factory, vtest_clip, person_detector, standin_onnx):
    """One batch over every awkward video.  Returns (videos, output folder, process)."""
    work = tmp_path_factory.mktemp("odd")
    videos = _make_videos(work / FOLDER, vtest_clip)
    out = work / OUT
    proc = run_cli(
        "analyze", work / FOLDER, videos["audio_only"], "-o", out,
        "--detector-weights", person_detector, "--person-classes", "0,1",
        "--pose-model", standin_onnx, "--no-dashboard", "--imgsz", "320", "-q", timeout=900,
    )
    return videos, out, proc


def _line(proc, video: Path) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if f" {video}:" in ln or f"{video}:" in ln]
    assert lines, (video.name, proc.stderr)
    return lines[0]


def _done(odd_batch, key: str) -> tuple[Path, dict]:
    videos, out, proc = odd_batch
    assert _line(proc, videos[key]).startswith("done"), proc.stderr
    folder = out / videos[key].stem
    run = json.loads((folder / "run.json").read_text())
    assert run["status"] == "completed"
    return folder, run


def test_the_batch_goes_on_and_never_shows_a_traceback(odd_batch) -> None:
    _, out, proc = odd_batch
    assert proc.returncode == 1  # some inputs failed
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    # no staging folder left behind (the stage cache is the only hidden folder)
    hidden = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert out.is_dir() and hidden in ([], [".stage_cache"]), hidden


@pytest.mark.parametrize(("key", "message"), [
    ("empty_file", "empty (0 bytes)"),
    ("not_video", "not a readable video file"),
    ("no_index", "not a readable video file"),
    ("zero_frames", "not a readable video file"),
    ("audio_only", "no video stream"),
])
def test_unreadable_inputs_get_one_line(odd_batch, key: str, message: str) -> None:
    videos, out, proc = odd_batch
    line = _line(proc, videos[key])
    assert line.startswith("failed") and message in line, line
    assert not (out / videos[key].stem).exists()  # nothing written for it


def test_variable_frame_rate_keeps_real_timestamps(odd_batch) -> None:
    folder, _ = _done(odd_batch, "vfr")
    times = load_poses(folder / "poses.nc")["time"].values
    np.testing.assert_allclose(times, np.array([0, 90, 150, 300, 310, 700]) / 1000, atol=1e-3)


def test_rotated_phone_clip_is_analysed_upright(odd_batch) -> None:
    folder, run = _done(odd_batch, "rotated")
    poses = load_poses(folder / "poses.nc")
    assert (poses.attrs["frame_width"], poses.attrs["frame_height"]) == (288, 384)
    assert run["video"]["rotation_deg"] == 90
    with av.open(str(folder / "overlay.mp4")) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (288, 384)


@pytest.mark.parametrize("key", ["tiny", "8k", "gray", "10bit", "no_people"])
def test_odd_sizes_and_pixel_formats_complete(odd_batch, key: str) -> None:
    folder, run = _done(odd_batch, key)
    poses = load_poses(folder / "poses.nc")
    assert poses.sizes["time"] == run["n_frames"] > 0
    assert (folder / "overlay.mp4").is_file()
    if key == "8k":
        assert (poses.attrs["frame_width"], poses.attrs["frame_height"]) == (7680, 4320)
    if key == "no_people":
        assert "no person was tracked" in " ".join(run["warnings"])


def test_truncated_video_keeps_what_decodes_and_says_where_it_stopped(odd_batch) -> None:
    folder, run = _done(odd_batch, "cut_short")
    n = load_poses(folder / "poses.nc").sizes["time"]
    assert 0 < n < 20
    (warning,) = [w for w in run["warnings"] if "truncated" in w]
    assert f"announces {run['video']['frame_count']} frames" in warning
    assert "warning: the video ended after frame" in odd_batch[2].stderr


def test_a_clip_shorter_than_the_minimum_track_blames_the_filter(odd_batch) -> None:
    _, run = _done(odd_batch, "short")
    (warning,) = run["warnings"]
    assert "shorter than the track filter's minimum track duration" in warning
    assert "--min-track" in warning and "--person-classes" not in warning


def test_non_ascii_paths_with_spaces(odd_batch) -> None:
    folder, run = _done(odd_batch, "rotated")
    assert FOLDER in run["input"] and OUT in str(folder)
    assert load_poses(folder / "poses.nc").attrs["source_file"].endswith("phone rotated.mp4")


# ------------------------------------------------------------------ models and outputs


def _one_line_error(proc) -> str:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("short") / "walk.mp4"
    return videogen.write_clip(path, [videogen.pattern(96, 128, i) for i in range(3)])


@pytest.mark.parametrize(("defect", "message"), [
    ("output_shape", "output 'simcc_x' has shape"),
    ("input_channels", "expected (N, 3, h, w)"),
    ("keypoints", "expected (N, 37,"),
    ("garbage", "not a loadable ONNX model"),
    ("half", "not a loadable ONNX model"),
])
def test_a_model_file_with_the_wrong_contract_or_corrupt(
    tmp_path, short_clip, person_detector, standin_onnx, defect, message
) -> None:
    from standins import make_bad_model

    model = tmp_path / f"{defect}.onnx"
    if defect == "garbage":
        model.write_bytes(b"\x08\x07garbage" * 100)
    elif defect == "half":
        data = standin_onnx.read_bytes()
        model.write_bytes(data[: len(data) // 2])
    else:
        make_bad_model(model, defect=defect)
    proc = run_cli("analyze", short_clip, "-o", tmp_path / "out", "--pose-model", model,
                   "--detector-weights", person_detector, "-q")
    line = _one_line_error(proc)
    assert message in line and model.name in line, line


def test_an_output_folder_that_cannot_be_written(tmp_path, short_clip, standin_onnx) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    t_args = ["--pose-model", standin_onnx, "-q"]
    line = _one_line_error(run_cli("analyze", short_clip, "-o", blocker / "out", *t_args))
    assert "cannot write results here" in line and "Not a directory" in line


def test_nothing_to_analyze_and_a_broken_poses_file(tmp_path) -> None:
    (tmp_path / "no videos").mkdir()
    line = _one_line_error(run_cli("analyze", tmp_path / "no videos", "-o", tmp_path / "o"))
    assert "no video found" in line
    broken = tmp_path / "poses.nc"
    broken.write_bytes(b"CDF\x01 not really")
    proc = run_cli("analyze", broken, "-o", tmp_path / "o", "-q")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"failed  {broken}" in proc.stderr
