"""The overlay video from saved results: pixels, codec, pixel format, duration and audio."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import typer
from render_data import make_results_folder
from typer.testing import CliRunner

from spinepose_sports.cli_render import render_command, report_command
from spinepose_sports.data import load_netcdf, load_poses, save_netcdf
from spinepose_sports.kinematics import load_kinematics
from spinepose_sports.render import (
    FrameLookup,
    RenderOptions,
    SourceVideoError,
    overlay_frames,
    render_results,
)
from spinepose_sports.render.colors import FLEXION_LUT_BGR, angle_colors_bgr
from spinepose_sports.render.compose import panel_width
from spinepose_sports.skeleton import KEYPOINT_INDEX, SPINE_CHAIN, SPINE_LEVELS
from spinepose_sports.tracking import parse_names
from spinepose_sports.video import read_frames

W, H, FPS, N = 640, 360, 30, 60
TONE_START_S = 1.0
AUDIO_RATE = 44100


def _background(i: int) -> np.ndarray:
    img = np.full((H, W, 3), 96, np.uint8)
    img[:, (i * 4) % W] = 160  # a moving line: frames differ
    return img


def _write_clip_with_audio(path: Path, audio_codec: str | None = "aac") -> Path:
    """640x360, 30 fps, 2 s H.264 + mono audio: silence, then a 440 Hz tone from 1.0 s."""
    with av.open(str(path), mode="w") as out:
        v = out.add_stream("libx264", rate=FPS)
        v.width, v.height, v.pix_fmt = W, H, "yuv420p"
        a = None
        if audio_codec is not None:
            a = out.add_stream(audio_codec, rate=AUDIO_RATE)
            a.layout = "mono"
        for i in range(N):
            frame = av.VideoFrame.from_ndarray(_background(i)[..., ::-1].copy(), "rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
        if a is None:
            return path
        t = np.arange(int(N / FPS * AUDIO_RATE)) / AUDIO_RATE
        wave = np.where(t >= TONE_START_S, 0.5 * np.sin(2 * np.pi * 440 * t), 0.0)
        pcm = (wave * 32767).astype(np.int16)
        for start in range(0, len(pcm), 1024):
            block = av.AudioFrame.from_ndarray(pcm[None, start : start + 1024], "s16", "mono")
            block.sample_rate, block.pts = AUDIO_RATE, start
            out.mux(a.encode(block))
        out.mux(a.encode(None))
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return _write_clip_with_audio(tmp_path_factory.mktemp("clip") / "drill.mp4")


@pytest.fixture(scope="module")
def results(clip, tmp_path_factory) -> Path:
    return make_results_folder(tmp_path_factory.mktemp("out") / "drill", clip)


def _streams(path: Path) -> dict[str, object]:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        info: dict[str, object] = {
            "codec": v.codec_context.name,
            "pix_fmt": v.codec_context.pix_fmt,
            "width": v.codec_context.width,
            "frames": sum(1 for _ in c.decode(v)),
            "fps": float(v.average_rate),
            "duration": float(v.duration * v.time_base),
            "audio": None,
        }
    with av.open(str(path)) as c:
        if c.streams.audio:
            a = c.streams.audio[0]
            info["audio"] = (a.codec_context.name, float(a.duration * a.time_base))
    return info


def _moov_before_mdat(path: Path) -> bool:
    head = path.read_bytes()[:4096]
    return b"moov" in head and (b"mdat" not in head or head.index(b"moov") < head.index(b"mdat"))


def _tone_onset_s(path: Path) -> float:
    with av.open(str(path)) as c:
        for frame in c.decode(c.streams.audio[0]):
            samples = frame.to_ndarray()[0]
            full_scale = 32767 if samples.dtype.kind == "i" else 1.0
            loud = np.flatnonzero(np.abs(samples) > 0.1 * full_scale)
            if loud.size:
                return float(frame.pts * frame.time_base) + loud[0] / frame.sample_rate
    raise AssertionError("no tone in the audio")


def test_overlay_frames_colour_each_level_by_its_segmental_angle(clip, results) -> None:
    poses = load_poses(results / "poses.nc")
    kin = load_kinematics(results)
    lookup = FrameLookup(poses, load_netcdf(results / "boxes.nc"), kin)
    frames = overlay_frames(
        clip, lookup, RenderOptions(start_s=20 / FPS, end_s=21 / FPS, readout=False)
    )
    frame = next(frames)
    assert frame.index == 20 and frame.image.shape == (H, W, 3)
    xy = poses["position"].sel(individual="track_3").isel(time=20)
    phi = kin["segmental_angle"].sel(individual="track_3").isel(time=20)
    for level in SPINE_LEVELS:
        x, y = (round(float(v)) for v in xy.sel(keypoint=level).values)
        expected = angle_colors_bgr(np.array([float(phi.sel(level=level))]))[0]
        np.testing.assert_array_equal(frame.image[y, x], expected, err_msg=level)
    # the legend's colour bar is there (bottom-left), blue end first
    corner = frame.image[H // 2 :, : W // 2]
    assert (corner == FLEXION_LUT_BGR[0]).all(axis=-1).any()
    assert (corner == FLEXION_LUT_BGR[-1]).all(axis=-1).any()


def test_render_results_writes_a_browser_ready_mp4_with_the_audio(results) -> None:
    out = render_results(results, RenderOptions(trail_s=0.5, names={3: "Anna"}))
    assert out == results / "overlay.mp4"
    info = _streams(out)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert info["frames"] == N and info["fps"] == pytest.approx(FPS)
    assert info["duration"] == pytest.approx(N / FPS, abs=0.04)
    assert info["audio"] is not None
    codec, audio_s = info["audio"]  # type: ignore[misc]
    assert codec == "aac" and audio_s == pytest.approx(N / FPS, abs=0.06)
    assert _tone_onset_s(out) == pytest.approx(TONE_START_S, abs=0.03)
    assert _moov_before_mdat(out)
    assert not list(results.glob("*.part")) and not list(results.glob("*video-only*"))
    # the encoded frame still shows the spine colours (within H.264's loss)
    image = next(f.image for f in read_frames(out, start_s=1.0) if f.index == 30)
    chain = load_poses(results / "poses.nc")["position"].sel(individual="track_3").isel(time=30)
    phi = load_kinematics(results)["segmental_angle"].sel(individual="track_3").isel(time=30)
    for level in ("spine_02", "spine_04"):
        x, y = (round(float(v)) for v in chain.sel(keypoint=level).values)
        expected = angle_colors_bgr(np.array([float(phi.sel(level=level))]))[0].astype(int)
        assert np.abs(image[y, x].astype(int) - expected).max() < 45, level


def test_time_range_keeps_the_audio_in_step(results, tmp_path) -> None:
    out = render_results(
        results, RenderOptions(start_s=0.5, end_s=1.8), out_path=tmp_path / "cut.mp4"
    )
    info = _streams(out)
    assert info["frames"] == 39  # frames 15 ... 53
    assert info["duration"] == pytest.approx(1.3, abs=0.04)
    _, audio_s = info["audio"]  # type: ignore[misc]
    assert audio_s == pytest.approx(1.3, abs=0.06)
    # the tone started at 1.0 s in the source: 0.5 s into the cut
    assert _tone_onset_s(out) == pytest.approx(TONE_START_S - 0.5, abs=0.03)


def test_slow_motion_plays_the_same_frames_slower_without_audio(results, tmp_path) -> None:
    out = render_results(
        results, RenderOptions(slow_motion=2, end_s=1.0), out_path=tmp_path / "slow.mp4"
    )
    info = _streams(out)
    assert info["frames"] == 30 and info["fps"] == pytest.approx(FPS / 2)
    assert info["duration"] == pytest.approx(2.0, abs=0.08)
    assert info["audio"] is None


def test_side_panel_is_composed_with_moviepy(results, tmp_path) -> None:
    out = render_results(
        results, RenderOptions(panel=True, end_s=1.0), out_path=tmp_path / "panel.mp4"
    )
    info = _streams(out)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert info["frames"] == 30  # no frame dropped by moviepy
    assert info["width"] == W + panel_width(H, W)
    assert info["audio"] is not None and _moov_before_mdat(out)
    frames = [f.image for f in read_frames(out)]
    side_first, side_last = frames[0][:, W + 10 :], frames[-1][:, W + 10 :]
    assert side_first.std() > 10  # plots drawn
    assert np.abs(side_last.astype(int) - side_first.astype(int)).max() > 100  # the cursor moves


@pytest.mark.parametrize("audio_codec", [None, "pcm_s16le"])
def test_sources_without_aac(audio_codec, tmp_path) -> None:
    """No audio: none in the output; PCM (not MP4-ready): re-encoded to AAC, in step."""
    clip = _write_clip_with_audio(tmp_path / "clip.mkv", audio_codec)
    folder = make_results_folder(tmp_path / "clip", clip)
    out = render_results(folder, RenderOptions(start_s=0.5, end_s=1.5))
    info = _streams(out)
    assert info["frames"] == 30
    if audio_codec is None:
        assert info["audio"] is None
    else:
        assert info["audio"] is not None and info["audio"][0] == "aac"  # type: ignore[index]
        assert _tone_onset_s(out) == pytest.approx(TONE_START_S - 0.5, abs=0.03)


def test_a_moved_source_video_is_reported_and_can_be_given(results, clip, tmp_path) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(results, moved / "drill")
    poses = load_poses(moved / "drill" / "poses.nc")
    poses.attrs["source_file"] = str(tmp_path / "gone" / "drill.mp4")
    save_netcdf(poses, moved / "drill" / "poses.nc")
    with pytest.raises(SourceVideoError, match="--video"):
        render_results(moved / "drill")
    out = render_results(
        moved / "drill", RenderOptions(end_s=0.2, audio=False), video_path=clip
    )
    assert _streams(out)["frames"] == 6


def test_render_command_and_names(results, tmp_path) -> None:
    app = typer.Typer()
    app.command("render")(render_command)
    app.command("report")(report_command)
    runner = CliRunner()
    out = tmp_path / "cli.mp4"
    args = ["render", str(results), "-o", str(out), "--start", "0.2", "--end", "0.6"]
    res = runner.invoke(app, [*args, "--names", "3=Anna,#7=Ben", "--trail", "0.3", "-q"])
    assert res.exit_code == 0, res.output
    assert _streams(out)["frames"] == 12
    bad = runner.invoke(app, [*args, "--names", "Anna"])
    assert bad.exit_code == 1 and "--names" in bad.output
    missing = runner.invoke(app, ["render", str(tmp_path / "nowhere"), "-q"])
    assert missing.exit_code == 1 and "no such results folder" in missing.output
    assert parse_names("3=Anna, 7 = Ben") == {3: "Anna", 7: "Ben"}


def test_chain_order_matches_the_levels() -> None:
    assert list(SPINE_CHAIN[1:-1]) == list(SPINE_LEVELS)
    assert KEYPOINT_INDEX["hip"] == 19
