"""Tests of spinepose_sports.video on the real clips and on generated ones."""

from __future__ import annotations

import inspect
import json
import os
import weakref
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import videogen

from spinepose_sports.video import VideoError, VideoInfo, VideoWriter, probe, read_frames

# ------------------------------------------------------------------ reading real clips


@pytest.mark.parametrize(
    ("clip", "expected"),
    [
        ("sports2d_clip", (1768, 994, 30.0, 230, "vp9", True)),
        ("vtest_clip", (768, 576, 10.0, 795, "msmpeg4", False)),
        ("pose2sim_clip", (1080, 1920, 60.0, 100, "h264", False)),
    ],
)
def test_probe_real_clips(clip: str, expected: tuple, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(clip)
    info = probe(path)
    width, height, fps, count, codec, audio = expected
    assert (info.width, info.height, info.frame_count, info.codec) == (width, height, count, codec)
    assert info.fps == pytest.approx(fps)
    assert info.has_audio is audio
    assert info.rotation_deg == 0
    assert info.duration_s == pytest.approx(count / fps, abs=0.05)
    assert info.path == Path(path)
    assert json.loads(json.dumps(info.to_dict()))["frame_count"] == count


def test_read_all_frames_sports2d(sports2d_clip: Path) -> None:
    times, indices = [], []
    for frame in read_frames(sports2d_clip):
        assert frame.image.shape == (994, 1768, 3)
        assert frame.image.dtype == np.uint8
        assert frame.image.flags.c_contiguous
        times.append(frame.time_s)
        indices.append(frame.index)
    assert indices == list(range(230))
    assert times[0] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(np.diff(times), 1 / 30, atol=1e-3)


def test_read_range_by_time(vtest_clip: Path) -> None:
    frames = list(read_frames(vtest_clip, start_s=2.0, end_s=3.0))
    assert [f.index for f in frames] == list(range(20, 30))
    np.testing.assert_allclose([f.time_s for f in frames], np.arange(20, 30) / 10)
    assert frames[0].image.shape == (576, 768, 3)


def test_read_range_outside_the_video_raises(vtest_clip: Path) -> None:
    with pytest.raises(VideoError, match=r"vtest\.avi"):
        list(read_frames(vtest_clip, start_s=500.0))
    with pytest.raises(ValueError, match="before"):
        list(read_frames(vtest_clip, start_s=3.0, end_s=2.0))


def _rss_bytes() -> int:
    """Resident memory of this process (Linux), bytes."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")
def test_reading_streams_without_holding_frames(vtest_clip: Path) -> None:
    assert inspect.isgeneratorfunction(read_frames)
    frame_bytes = 576 * 768 * 3
    frames = read_frames(vtest_clip)
    alive: list[weakref.ref[np.ndarray]] = []
    start, growth = _rss_bytes(), 0
    for _, frame in zip(range(200), frames, strict=False):
        alive.append(weakref.ref(frame.image))
        growth = max(growth, _rss_bytes() - start)
    del frame
    frames.close()
    # the reader keeps no image once the caller lets go of it ...
    assert [ref for ref in alive if ref() is not None] == []
    # ... and memory stays at the decoder's working set (200 frames held: 265 MB)
    assert growth < 30 * frame_bytes, f"grew by {growth / frame_bytes:.1f} frames"


def test_frames_held_by_the_caller_stay_intact(vtest_clip: Path) -> None:
    held = [frame.image for frame in read_frames(vtest_clip, end_s=1.0)]
    again = [frame.image.copy() for frame in read_frames(vtest_clip, end_s=1.0)]
    assert len(held) == 10
    assert all(np.array_equal(a, b) for a, b in zip(held, again, strict=True))
    assert len({image.tobytes() for image in held}) == 10


# ------------------------------------------------------------------ generated clips


@pytest.fixture(scope="module")
def upright_frames() -> list[np.ndarray]:
    """Three 48x64 (H, W) pattern frames, red block top-left."""
    return [videogen.pattern(48, 64, i) for i in range(3)]


@pytest.mark.parametrize(
    ("ccw", "maker"), [(90, "pyav"), (180, "pyav"), (270, "pyav"), (90, "ffmpeg")]
)
def test_rotated_clip_comes_out_upright(
    tmp_path: Path, upright_frames: list[np.ndarray], ccw: int, maker: str
) -> None:
    path = tmp_path / "rotated.mp4"
    if maker == "pyav":
        videogen.write_clip(path, upright_frames, rotation=ccw)
    else:
        plain = videogen.write_clip(tmp_path / "plain.mp4", upright_frames)
        videogen.ffmpeg_set_rotation(plain, path, ccw)
    info = probe(path)
    assert info.rotation_deg == ccw
    swapped = ccw in (90, 270)
    assert (info.width, info.height) == ((48, 64) if swapped else (64, 48))
    frames = list(read_frames(path))
    assert len(frames) == 3
    # the player's view: the stored image turned counterclockwise by `ccw`
    for frame, original in zip(frames, upright_frames, strict=True):
        expected = np.rot90(original, k=ccw // 90)
        assert frame.image.shape == expected.shape
        assert np.abs(frame.image.astype(int) - expected).mean() < 4
    # the red block (BGR red, so channel order is right) sits in the rotated corner
    h, w = frames[0].image.shape[:2]
    red = (frames[0].image[..., 2] > 200) & (frames[0].image[..., 1] < 60)
    rows, cols = np.nonzero(red)
    corner = {0: (0, 0), 90: (h - 1, 0), 180: (h - 1, w - 1), 270: (0, w - 1)}[ccw]
    assert abs(rows.mean() - corner[0]) < h / 4 and abs(cols.mean() - corner[1]) < w / 4
    # and it matches what the ffmpeg command line shows (autorotate)
    shown = videogen.ffmpeg_decode_bgr(path, info.width, info.height)
    assert np.abs(shown[0].astype(int) - frames[0].image).mean() < 2


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_variable_frame_rate_timestamps(tmp_path: Path, suffix: str) -> None:
    stamps_ms = [0, 33, 50, 120, 121, 300, 310, 333, 700, 701, 760, 1000]
    frames = [videogen.pattern(32, 48, i) for i in range(len(stamps_ms))]
    path = videogen.write_clip(
        tmp_path / f"vfr{suffix}", frames, pts=stamps_ms, time_base=Fraction(1, 1000)
    )
    got = list(read_frames(path))
    assert [f.index for f in got] == list(range(len(stamps_ms)))
    np.testing.assert_allclose([f.time_s for f in got], np.array(stamps_ms) / 1000, atol=1e-3)
    info = probe(path)  # MKV stores no frame count: counted from the packets
    assert (info.frame_count, info.width, info.height) == (len(stamps_ms), 48, 32)


# ------------------------------------------------------------------ writing


def _read_back(path: Path) -> tuple[av.VideoStream, list[np.ndarray], str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        images, pix_fmts = [], set()
        for frame in container.decode(stream):
            pix_fmts.add(frame.format.name)
            images.append(frame.to_ndarray(format="bgr24"))
        (pix_fmt,) = pix_fmts
        return stream, images, pix_fmt


@pytest.mark.parametrize(("fps", "rate"), [(30, Fraction(30)), (29.97, Fraction(30000, 1001))])
def test_writer_h264_round_trip(tmp_path: Path, fps: float, rate: Fraction) -> None:
    path = tmp_path / "out.mp4"
    frames = [videogen.pattern(64, 96, i) for i in range(12)]
    with VideoWriter(path, fps) as writer:
        for image in frames:
            writer.write(image)
        assert writer.part_path.exists() and not path.exists()
    assert writer.frames_written == 12
    assert not writer.part_path.exists()
    stream, images, pix_fmt = _read_back(path)
    assert stream.codec_context.name == "h264"
    assert pix_fmt == "yuv420p"
    assert stream.average_rate == rate
    assert len(images) == 12 == stream.frames
    for got, want in zip(images, frames, strict=True):
        assert np.abs(got.astype(int) - want).mean() < 3
    data = path.read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat"), "moov atom is not before mdat"
    info = probe(path)
    assert (info.width, info.height, info.frame_count, info.fps) == (96, 64, 12, float(rate))


def test_writer_pads_odd_sizes(tmp_path: Path) -> None:
    path = tmp_path / "odd.mp4"
    frames = [videogen.pattern(63, 95, i) for i in range(5)]
    with VideoWriter(path, 25, width=95, height=63, preset="ultrafast") as writer:
        for image in frames:
            writer.write(image)
    _, images, _ = _read_back(path)
    assert len(images) == 5
    assert images[0].shape == (64, 96, 3)
    assert np.abs(images[2][:63, :95].astype(int) - frames[2]).mean() < 3


def test_writer_exception_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.mp4"
    with pytest.raises(RuntimeError, match="boom"), VideoWriter(path, 10) as writer:
        writer.write(videogen.pattern(32, 32))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_bad_frames_and_empty_output(tmp_path: Path) -> None:
    path = tmp_path / "bad.mp4"
    with pytest.raises(ValueError, match="expected 32x32"), VideoWriter(path, 10) as writer:
        writer.write(videogen.pattern(32, 32))
        writer.write(videogen.pattern(32, 48))
    with pytest.raises(ValueError, match="uint8"), VideoWriter(path, 10) as writer:
        writer.write(np.zeros((32, 32, 3), np.float32))
    with pytest.raises(VideoError, match="no frame"), VideoWriter(path, 10):
        pass
    assert list(tmp_path.iterdir()) == []


def _audio_stream_info(path: Path) -> tuple[str, float] | None:
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        end = 0.0
        for packet in container.demux(stream):
            if packet.pts is not None and packet.time_base is not None:
                end = max(end, float((packet.pts + packet.duration) * packet.time_base))
        return stream.codec_context.name, end


def test_writer_copies_aac_audio(tmp_path: Path, sports2d_clip: Path) -> None:
    path = tmp_path / "with_audio.mp4"
    with VideoWriter(path, 30, preset="ultrafast", audio_from=sports2d_clip) as writer:
        for i in range(30):
            writer.write(videogen.pattern(32, 48, i))
    codec, end = _audio_stream_info(path) or ("none", 0.0)
    assert codec == "aac"
    assert end == pytest.approx(1.0, abs=0.05)
    assert probe(path).has_audio and probe(path).frame_count == 30


def test_writer_transcodes_other_audio_to_aac(tmp_path: Path) -> None:
    video = videogen.write_clip(
        tmp_path / "v.mkv", [videogen.pattern(32, 48, i) for i in range(20)]
    )
    audio = videogen.write_audio_clip(tmp_path / "a.mka", 2.0, codec="pcm_s16le")
    source = videogen.add_audio(video, audio, tmp_path / "src.mkv")
    path = tmp_path / "out.mp4"
    with VideoWriter(path, 10, preset="ultrafast", audio_from=source) as writer:
        for i in range(15):
            writer.write(videogen.pattern(32, 48, i))
    codec, end = _audio_stream_info(path) or ("none", 0.0)
    assert codec == "aac"
    assert end == pytest.approx(1.5, abs=0.1)


def test_writer_without_source_audio_writes_video_only(tmp_path: Path, vtest_clip: Path) -> None:
    path = tmp_path / "silent.mp4"
    with VideoWriter(path, 10, preset="ultrafast", audio_from=vtest_clip) as writer:
        writer.write(videogen.pattern(32, 48))
    assert _audio_stream_info(path) is None


# ------------------------------------------------------------------ errors


def _truncated(tmp_path: Path) -> Path:
    """An MP4 cut short before its index (moov at the end, as encoders write by default)."""
    full = videogen.write_clip(
        tmp_path / "full.mp4", [videogen.pattern(32, 48, i) for i in range(5)]
    )
    cut = tmp_path / "truncated.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    return cut


def _damaged(tmp_path: Path, how: str) -> Path:
    """A faststart MP4 (index first) whose frame data is zeroed or cut off."""
    path = tmp_path / f"{how}.mp4"
    with VideoWriter(path, 10, preset="ultrafast") as writer:
        for i in range(5):
            writer.write(videogen.pattern(32, 48, i))
    data = path.read_bytes()
    start = data.find(b"mdat") + 4
    damaged = data[:start] + bytes(len(data) - start) if how == "zeroed" else data[: start + 40]
    path.write_bytes(damaged)
    return path


def _audio_only(tmp_path: Path) -> Path:
    return videogen.write_audio_clip(tmp_path / "sound_only.m4a", 0.5, codec="aac")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.mp4", "no such file"),
        (lambda d: ((d / "empty.mp4").write_bytes(b"") and None) or d / "empty.mp4", "empty"),
        (lambda d: d, "not a regular file"),
        (lambda d: (d / "notes.mp4").write_text("just text\n" * 50) and d / "notes.mp4", "not a"),
        (_truncated, None),
        (_audio_only, "no video stream"),
        (lambda d: _damaged(d, "zeroed"), "decoding failed"),
        (lambda d: _damaged(d, "cut"), "decoding failed"),
    ],
    ids=["missing", "empty", "dir", "text", "truncated", "audio-only", "zeroed", "cut"],
)
def test_bad_input_raises_video_error(tmp_path: Path, make, message: str | None) -> None:
    path = make(tmp_path)
    for call in (lambda: probe(path), lambda: next(read_frames(path))):
        with pytest.raises(VideoError, match=message) as caught:
            call()
        assert path.name in str(caught.value)


def test_video_info_is_frozen(tmp_path: Path) -> None:
    info = VideoInfo(tmp_path, 2, 2, 1.0, 1, 1.0, 0, "h264", False)
    with pytest.raises(AttributeError):
        info.width = 3  # type: ignore[misc]
