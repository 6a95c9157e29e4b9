"""Small synthetic video clips for the video tests, written with PyAV directly.

These helpers deliberately do not use ``spinepose_sports.video`` so that the reader is
checked against files it did not write.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

#: BGR colour of the marker block in :func:`pattern` (pure red).
RED_BGR = (0, 0, 255)


def pattern(height: int, width: int, index: int = 0) -> np.ndarray:
    """A ``uint8 (H, W, 3)`` BGR test image with an asymmetric layout.

    Smooth gradients (compress well, so lossy round trips stay close), a red block in the
    top-left corner (a quarter of each side, marks orientation and channel order) and a
    white square whose x position moves with ``index`` (frames differ).
    """
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = (60 + 120 * x + 0 * y).astype(np.uint8)
    image[..., 1] = (60 + 120 * y + 0 * x).astype(np.uint8)
    image[..., 2] = 90
    image[: height // 4, : width // 4] = RED_BGR
    side = max(2, min(height, width) // 6)
    x0 = (width // 3 + 3 * index) % max(1, width - side)
    image[height // 2 : height // 2 + side, x0 : x0 + side] = 255
    return image


def write_clip(
    path: Path,
    frames: Sequence[np.ndarray],
    *,
    fps: int = 10,
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    rotation: int | None = None,
    codec: str = "libx264",
) -> Path:
    """Encode BGR ``frames`` to ``path`` (container from the suffix) with PyAV.

    Args:
        pts: each frame's timestamp in ``time_base`` units (variable frame rate); default
            ``0, 1, 2, ...`` with ``time_base = 1/fps``.
        rotation: counterclockwise display rotation stored as a display matrix, deg.
        codec: video encoder name.
    """
    time_base = time_base or Fraction(1, fps)
    pts = list(range(len(frames))) if pts is None else list(pts)
    height, width = frames[0].shape[:2]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = time_base
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for image, stamp in zip(frames, pts, strict=True):
            # through rgb24 on purpose: the reader's BGR order is then checked, not assumed
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[..., ::-1]), "rgb24")
            frame.pts, frame.time_base = stamp, time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_audio_clip(path: Path, seconds: float, *, codec: str, rate: int = 16000) -> Path:
    """Write an audio-only file: a 440 Hz tone, mono, ``seconds`` long."""
    samples = int(seconds * rate)
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / rate) * 32767).astype(np.int16)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        chunk = 1024
        for start in range(0, samples, chunk):
            block = tone[None, start : start + chunk]
            frame = av.AudioFrame.from_ndarray(block, format="s16", layout="mono")
            frame.sample_rate, frame.pts = rate, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def add_audio(video: Path, audio: Path, out: Path) -> Path:
    """Mux ``video``'s video and ``audio``'s audio into ``out`` (both copied), with PyAV."""
    with av.open(str(video)) as vin, av.open(str(audio)) as ain, av.open(str(out), "w") as dst:
        vs = dst.add_stream_from_template(vin.streams.video[0])
        aus = dst.add_stream_from_template(ain.streams.audio[0])
        for src, target in ((vin, vs), (ain, aus)):
            for packet in src.demux(src.streams[0]):
                if packet.dts is not None:
                    packet.stream = target
                    dst.mux(packet)
    return out


def ffmpeg_decode_bgr(path: Path, width: int, height: int) -> np.ndarray:
    """Decode ``path`` with the ffmpeg command line (autorotate on) to ``(T, H, W, 3)`` BGR."""
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path)]
    cmd += ["-f", "rawvideo", "-pix_fmt", "bgr24", "-"]
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def ffmpeg_set_rotation(src: Path, dst: Path, ccw_deg: int) -> Path:
    """Copy ``src`` to ``dst`` with the ffmpeg command line, adding a display rotation."""
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y"]
    cmd += ["-display_rotation", str(ccw_deg), "-i", str(src), "-c", "copy", str(dst)]
    subprocess.run(cmd, check=True, capture_output=True)
    return dst
