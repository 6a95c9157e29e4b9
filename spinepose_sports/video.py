"""Reading and writing video with PyAV.

Reading is streamed: :func:`read_frames` decodes one frame at a time and keeps none of
them. Each :class:`VideoFrame` carries its real presentation time (variable frame rates
work) and an upright ``uint8 (H, W, 3)`` BGR image: a rotation stored in the container's
display matrix (phones) is applied, so width and height are those a player shows.

Writing (:class:`VideoWriter`) produces H.264 (libx264), yuv420p (BT.601) MP4 with the
``moov`` atom at the front (``+faststart``). It writes to ``<path>.part`` and renames to
``<path>`` only on a successful close, so an interrupted run never leaves a truncated file
under the final name. An audio track can be carried over from a source video.

Every failure to read or write a file is raised as :class:`VideoError`, whose message
names the file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import av
import av.container
import cv2
import numpy as np

T = TypeVar("T")

__all__ = [
    "VideoError", "VideoFrame", "VideoInfo", "VideoWriter", "probe", "read_ahead", "read_frames",
]

#: cv2 rotation that turns a decoded image upright, by counterclockwise display angle (deg).
_UPRIGHT = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}
#: Exceptions that PyAV and the OS raise for unreadable or unwritable media.
_MEDIA_ERRORS = (av.FFmpegError, OSError, EOFError)
#: Audio codecs that an MP4 holds as they are (copied without re-encoding).
#: FFmpeg colour tags of what the writer stores: BT.601 matrix, limited range.
_AVCOL_SPC_SMPTE170M, _AVCOL_RANGE_MPEG = 6, 1


class VideoError(Exception):
    """A video file could not be read or written; the message names the file."""


def _reason(err: BaseException) -> str:
    """FFmpeg's / the OS's short reason for ``err``, without the file name it may repeat."""
    reason = getattr(err, "strerror", None)
    return str(reason) if reason else str(err)


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` learns about a video file.

    Attributes:
        path: the file.
        width: display width in px, after the rotation is applied.
        height: display height in px, after the rotation is applied.
        fps: average frame rate, frames/s.
        frame_count: number of frames: the container's own count when it stores one (MP4,
            AVI), otherwise counted by demuxing the whole video stream (one packet per
            frame; WebM/MKV), which reads the file but decodes nothing.
        duration_s: duration of the video stream in s.
        rotation_deg: 0, 90, 180 or 270: the counterclockwise rotation that the display
            matrix asks a player to apply (FFmpeg's convention, as ``ffmpeg
            -display_rotation``). A phone clip with the legacy tag ``rotate=90``
            (clockwise) reports 270. Frames from :func:`read_frames` have it applied.
        codec: FFmpeg's name of the video codec (``h264``, ``vp9``, ...).
        has_audio: whether the file has at least one audio stream.
    """

    path: Path
    width: int
    height: int
    fps: float
    frame_count: int
    duration_s: float
    rotation_deg: int
    codec: str
    has_audio: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-able dict (``path`` as a string)."""
        out = asdict(self)
        out["path"] = str(self.path)
        return out


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame.

    Attributes:
        index: 0-based index of the frame in the whole video, in output (presentation)
            order, counted from the file's first frame even when reading starts later.
        time_s: presentation time in s from the start of the video stream
            (``(pts - start) * time_base``); real timestamps, so variable frame rates work.
        image: ``uint8 (H, W, 3)`` BGR, C-contiguous, upright (rotation applied).
    """

    index: int
    time_s: float
    image: np.ndarray


# --------------------------------------------------------------------------- reading


def _check_file(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a Path, or raise VideoError if it is missing or empty."""
    p = Path(path)
    if not p.exists():
        raise VideoError(f"{p}: no such file")
    if not p.is_file():
        raise VideoError(f"{p}: not a regular file")
    if p.stat().st_size == 0:
        raise VideoError(f"{p}: the file is empty (0 bytes)")
    return p


@contextlib.contextmanager
def _open_video(path: Path) -> Iterator[tuple[av.container.InputContainer, av.VideoStream]]:
    """Open ``path`` and yield (container, first video stream); errors become VideoError."""
    try:
        container = av.open(str(path), mode="r")
    except _MEDIA_ERRORS as err:
        raise VideoError(f"{path}: not a readable video file ({_reason(err)})") from err
    with container:
        if not container.streams.video:
            raise VideoError(f"{path}: the file has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame + slice threads: decodes ahead on spare cores
        yield container, stream


def _decoded(
    container: av.container.InputContainer, stream: av.VideoStream, path: Path
) -> Iterator[av.VideoFrame]:
    """Yield the decoded frames of ``stream`` one at a time; decode errors become VideoError."""
    count = 0
    try:
        for frame in container.decode(stream):
            count += 1
            yield frame
    except _MEDIA_ERRORS as err:
        raise VideoError(f"{path}: decoding failed after {count} frames ({_reason(err)})") from err


def _rotation_ccw(frame: av.VideoFrame, stream: av.VideoStream) -> int:
    """Counterclockwise display rotation in deg (0, 90, 180, 270) of ``frame``.

    Read from the frame's display matrix; a legacy ``rotate`` stream tag (clockwise) is the
    fallback. Angles are rounded to the nearest quarter turn.
    """
    angle = float(frame.rotation)
    if angle == 0.0:
        tag = stream.metadata.get("rotate")
        with contextlib.suppress(ValueError):
            angle = -float(tag) if tag is not None else 0.0
    return (round(angle / 90.0) * 90) % 360


def _upright_bgr(frame: av.VideoFrame, rotation: int) -> np.ndarray:
    """Convert ``frame`` to upright ``uint8 (H, W, 3)`` BGR, C-contiguous.

    The colour matrix is the frame's own (BT.709 for HD, ...), as PyAV's reformat reads it.
    """
    kwargs: dict[str, Any] = {}
    if frame.color_range:  # a tagged range (e.g. full-range phone video) must be honoured
        kwargs["src_color_range"] = frame.color_range
    image = frame.to_ndarray(format="bgr24", **kwargs)
    if rotation:
        return cv2.rotate(image, _UPRIGHT[rotation])
    return np.ascontiguousarray(image)  # PyAV's array views padded rows: copy once


def _frame_rate(stream: av.VideoStream) -> Fraction | None:
    """Average frame rate of ``stream`` in frames/s, or None when the file does not say."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return Fraction(rate)
    return None


def _count_frames(container: av.container.InputContainer, stream: av.VideoStream) -> int:
    """Number of frames in ``stream``: the container's count, else its non-empty packets."""
    if stream.frames > 0:
        return int(stream.frames)
    container.seek(0)
    count = 0
    for packet in container.demux(stream):
        if packet.size > 0:
            count += 1
    return count


def _duration_s(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    frame_count: int,
    fps: float,
) -> float:
    """Duration of the video stream in s: stream, else container, else frames / fps."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return frame_count / fps if fps > 0 else 0.0


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Describe the video file at ``path`` (size, rate, frame count, rotation, codec, audio).

    The first frame is decoded to prove the file is readable and to read the rotation.

    Raises:
        VideoError: missing or empty file, not a media file, no video stream, or no frame
            that decodes.
    """
    p = _check_file(path)
    with _open_video(p) as (container, stream):
        first = next(_decoded(container, stream, p), None)
        if first is None:
            raise VideoError(f"{p}: the video stream has no decodable frame")
        rotation = _rotation_ccw(first, stream)
        width, height = first.width, first.height
        if rotation in (90, 270):
            width, height = height, width
        try:
            frame_count = _count_frames(container, stream)
        except _MEDIA_ERRORS as err:
            raise VideoError(f"{p}: could not count the frames ({_reason(err)})") from err
        rate = _frame_rate(stream)
        duration = _duration_s(container, stream, frame_count, float(rate or 0))
        fps = float(rate) if rate else (frame_count / duration if duration > 0 else 0.0)
        codec = stream.codec_context.name
        has_audio = bool(container.streams.audio)
    return VideoInfo(
        path=p,
        width=width,
        height=height,
        fps=fps,
        frame_count=frame_count,
        duration_s=duration,
        rotation_deg=rotation,
        codec=codec,
        has_audio=has_audio,
    )


def read_frames(
    path: str | os.PathLike[str],
    start_s: float | None = None,
    end_s: float | None = None,
) -> Iterator[VideoFrame]:
    """Yield the frames of the video at ``path``, one at a time, decoding as it goes.

    Nothing is kept between frames: memory stays at about one frame whatever the length.
    PyAV's frame and slice threads decode ahead on spare cores.

    Args:
        path: the video file.
        start_s: first time to yield, s (inclusive); None for the start. Earlier frames are
            decoded (so ``index`` keeps counting from the file's first frame) but not
            converted to BGR.
        end_s: time at which to stop, s (exclusive); None for the end.

    Yields:
        :class:`VideoFrame`: ``image`` is ``uint8 (H, W, 3)`` BGR, upright; ``time_s`` is
        the frame's presentation time from the stream start, s.

    Raises:
        VideoError: the file cannot be opened or decoded, or it yields no frame in the range.
        ValueError: ``end_s`` is before ``start_s``.
    """
    if start_s is not None and end_s is not None and end_s < start_s:
        raise ValueError(f"end_s ({end_s}) is before start_s ({start_s})")
    p = _check_file(path)
    with _open_video(p) as (container, stream):
        yielded = decoded = 0
        for index, frame, time_s in _timed(_decoded(container, stream, p), stream):
            decoded += 1
            if end_s is not None and time_s >= end_s:
                break
            if start_s is not None and time_s < start_s:
                continue
            image = _upright_bgr(frame, _rotation_ccw(frame, stream))
            yielded += 1
            yield VideoFrame(index=index, time_s=time_s, image=image)
    if decoded == 0:
        raise VideoError(f"{p}: the video stream has no decodable frame")
    if yielded == 0:
        raise VideoError(f"{p}: no frame between start_s={start_s} and end_s={end_s}")


def _timed(
    frames: Iterator[av.VideoFrame], stream: av.VideoStream
) -> Iterator[tuple[int, av.VideoFrame, float]]:
    """Attach (index, time in s from the stream start) to each decoded frame.

    Time is ``(pts - start) * time_base`` with ``start`` the stream's start time, else the
    first frame's pts. A frame without pts gets the previous time plus one frame period.
    """
    rate = _frame_rate(stream)
    period = float(1 / rate) if rate else 0.0
    origin = stream.start_time
    previous = -period
    for index, frame in enumerate(frames):
        if frame.pts is None or frame.time_base is None:
            time_s = previous + period
        else:
            if origin is None:
                origin = frame.pts
            time_s = float((frame.pts - origin) * frame.time_base)
        previous = time_s
        yield index, frame, time_s


# --------------------------------------------------------------------------- writing


def _as_rate(fps: float | Fraction) -> Fraction:
    """Frame rate as an exact fraction: 30.0 -> 30, 12.5 -> 25/2, and NTSC rates given
    to 3 decimals (29.97, 59.94, 23.976) -> n*1000/1001, as cameras record them."""
    if isinstance(fps, Fraction):
        rate = fps
    else:
        value = float(fps)
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        ntsc = Fraction(round(value * 1.001) * 1000, 1001)
        if value != round(value) and abs(float(ntsc) - value) < 1e-3:
            rate = ntsc
        else:
            rate = Fraction(value).limit_denominator(1001)
            if abs(float(rate) - value) > 1e-9 * value:
                rate = Fraction(value).limit_denominator(1_000_000)
    if rate <= 0:
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    return rate


class VideoWriter:
    """Write BGR frames to an H.264 (libx264, yuv420p) MP4, as a context manager.

    ``with VideoWriter(path, fps) as w: w.write(image)`` for each ``uint8 (H, W, 3)`` BGR
    image. Frames go to ``<path>.part``; :meth:`close` flushes the encoder (every frame
    written is in the file), writes the index at the front (``+faststart``) and renames
    the file to ``path``. If the ``with`` block raises, the partial file is deleted and
    nothing appears at ``path``.

    Args:
        path: output ``.mp4`` file; its folder must exist.
        fps: frame rate, frames/s (29.97 is stored exactly as 30000/1001).
        width, height: frame size in px; None (both) to take it from the first frame. Every
            frame must have this size. Odd sizes are padded to even by repeating the last
            column / row (H.264 4:2:0 needs even sizes).
        preset: libx264 speed preset (``ultrafast`` ... ``veryslow``).
        crf: libx264 constant rate factor (0 lossless, 18-23 visually good).
        audio_from: a video whose audio track is carried into the output (copied if AAC
            or MP3, re-encoded to AAC otherwise), cut at the video's end; nothing is added
            when it has no audio. Its audio starts with the output's first frame.

    Attributes:
        frames_written: frames passed to :meth:`write` so far.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float | Fraction,
        width: int | None = None,
        height: int | None = None,
        *,
        preset: str = "veryfast",
        crf: float = 20,
        audio_from: str | os.PathLike[str] | None = None,
    ) -> None:
        if (width is None) != (height is None):
            raise ValueError("give both width and height, or neither")
        self.size: tuple[int, int] | None = None
        if width is not None and height is not None:
            if width <= 0 or height <= 0:
                raise ValueError(f"frame size must be positive, got {width}x{height}")
            self.size = (int(width), int(height))
        self.path = Path(path)
        self.part_path = self.path.with_name(self.path.name + ".part")
        self.rate = _as_rate(fps)
        self.preset = preset
        self.crf = crf
        self.frames_written = 0
        self._stream: av.VideoStream | None = None
        self._audio_from = None if audio_from is None else _check_file(audio_from)
        try:
            self._output: av.container.OutputContainer | None = av.open(
                str(self.part_path),
                mode="w",
                format="mp4",
                container_options={"movflags": "+faststart"},
            )
        except _MEDIA_ERRORS as err:
            raise VideoError(f"{self.path}: cannot create the file ({_reason(err)})") from err

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _start(self, width: int, height: int) -> av.VideoStream:
        """Add the H.264 stream for ``width`` x ``height`` px frames."""
        assert self._output is not None
        stream = self._output.add_stream(
            "libx264", rate=self.rate, options={"preset": self.preset, "crf": str(self.crf)}
        )
        stream.width = width + width % 2
        stream.height = height + height % 2
        stream.pix_fmt = "yuv420p"
        # OpenCV converts with the BT.601 matrix, limited range: say so in the stream
        stream.codec_context.colorspace = _AVCOL_SPC_SMPTE170M
        stream.codec_context.color_range = _AVCOL_RANGE_MPEG
        return stream

    def write(self, image_bgr: np.ndarray) -> None:
        """Encode one ``uint8 (H, W, 3)`` BGR frame (H, W as the first frame / the given size).

        Raises:
            ValueError: wrong dtype, shape or size.
            VideoError: the writer is closed, or encoding or writing failed.
        """
        if self._output is None:
            raise VideoError(f"{self.path}: the writer is closed")
        image = np.asarray(image_bgr)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(
                f"{self.path}: expected a uint8 (H, W, 3) BGR image, "
                f"got {image.dtype} {image.shape}"
            )
        height, width = image.shape[:2]
        if self.size is None:
            self.size = (width, height)
        if (width, height) != self.size:
            raise ValueError(
                f"{self.path}: frame {self.frames_written} is {width}x{height}, "
                f"expected {self.size[0]}x{self.size[1]}"
            )
        try:
            if self._stream is None:
                self._stream = self._start(width, height)
            self._encode(image)
            self.frames_written += 1
        except _MEDIA_ERRORS as err:
            raise VideoError(f"{self.path}: encoding failed ({_reason(err)})") from err

    def _encode(self, image: np.ndarray) -> None:
        """Pad ``image`` to even size, convert to yuv420p (BT.601), encode and mux it."""
        assert self._output is not None and self._stream is not None
        pad_h, pad_w = image.shape[0] % 2, image.shape[1] % 2
        if pad_h or pad_w:
            image = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE)
        # OpenCV's conversion is about 3x faster than swscale's and rounds without bias
        i420 = np.asarray(
            cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2YUV_I420), dtype=np.uint8
        )
        frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
        frame.colorspace, frame.color_range = _AVCOL_SPC_SMPTE170M, _AVCOL_RANGE_MPEG
        frame.pts = self.frames_written
        frame.time_base = 1 / self.rate
        self._output.mux(self._stream.encode(frame))

    def close(self) -> None:
        """Flush the encoder, finish the file and rename it to ``path``.

        Raises:
            VideoError: no frame was written (no file is made), or finishing failed.
        """
        if self._output is None:
            return
        if self._stream is None:
            self.abort()
            raise VideoError(f"{self.path}: no frame was written, no file made")
        try:
            self._output.mux(self._stream.encode(None))
            self._output.close()
        except _MEDIA_ERRORS as err:
            self.abort()
            raise VideoError(f"{self.path}: finishing the file failed ({_reason(err)})") from err
        self._output = None
        try:
            if self._audio_from is not None:  # the one audio muxer (spinepose_sports.audio)
                from .audio import mux_with_audio

                end_s = float(self.frames_written / self.rate)
                mux_with_audio(self.part_path, self._audio_from, self.path, start_s=0.0,
                               end_s=end_s)
            else:
                os.replace(self.part_path, self.path)
        except OSError as err:
            raise VideoError(f"{self.path}: cannot rename {self.part_path.name} ({err})") from err

    def abort(self) -> None:
        """Stop writing and delete the partial file; nothing is left at ``path``."""
        output, self._output = self._output, None
        if output is not None:
            with contextlib.suppress(*_MEDIA_ERRORS):
                output.close()
        self.part_path.unlink(missing_ok=True)


#: Frames decoded ahead by :func:`read_ahead` (a few full frames of memory).
READ_AHEAD_FRAMES = 3


def read_ahead(frames: Iterator[T], depth: int = READ_AHEAD_FRAMES) -> Generator[T, None, None]:
    """``frames`` produced by a background thread, up to ``depth`` ahead of the consumer.

    Decoding (PyAV, which releases the GIL) then overlaps the models' inference or the
    encoder instead of adding to it.  An exception of the producer is raised where the
    consumer reaches it, after the items before it; stopping early (``close()``, a
    ``break``) stops the thread and closes ``frames``.
    """
    import queue
    import threading

    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=max(int(depth), 1))
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in frames:
                if not put(("item", item)):
                    break
            else:
                put(("end", None))
        except BaseException as exc:  # handed to the consumer
            put(("error", exc))
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = box.get()
            if kind == "item":
                yield value
            elif kind == "end":
                return
            else:
                raise value
    finally:
        stop.set()
        worker.join(timeout=5.0)
