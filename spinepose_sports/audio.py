"""Put the source's audio, cut to the rendered time range, beside a rendered video track.

The overlay is first written without sound; :func:`mux_with_audio` then copies its video
packets and the source's audio packets of ``[start_s, end_s)`` into the final MP4 (moov
atom in front: ``+faststart``), shifted so that the audio at ``start_s`` plays with the
first frame.  AAC and MP3 are copied as they are (cut at packet boundaries, about 21 ms
for AAC); other codecs (Opus, Vorbis, PCM, ...) are decoded and re-encoded to AAC.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import warnings
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.container

_COPYABLE = frozenset({"aac", "mp3"})
_MEDIA_ERRORS = (av.FFmpegError, OSError, EOFError)


def has_audio(path: str | os.PathLike[str]) -> bool:
    """True when the file at ``path`` has at least one audio stream (False if unreadable)."""
    try:
        with av.open(str(path), mode="r") as c:
            return bool(c.streams.audio)
    except _MEDIA_ERRORS:
        return False


def _video_origin_s(source: av.container.InputContainer) -> float:
    """Start time (s) of the source's first video stream: frame times count from it."""
    if not source.streams.video:
        return 0.0
    v = source.streams.video[0]
    if v.start_time is None or v.time_base is None:
        return 0.0
    return float(v.start_time * v.time_base)


def _time_s(packet: av.Packet) -> float:
    ts = packet.dts if packet.dts is not None else packet.pts
    if ts is None or packet.time_base is None:
        return 0.0
    return float(ts * packet.time_base)


def _video_packets(
    container: av.container.InputContainer, out: av.VideoStream
) -> Iterator[tuple[float, int, av.Packet]]:
    for packet in container.demux(container.streams.video[0]):
        if packet.size == 0 or packet.dts is None:
            continue
        packet.stream = out
        yield _time_s(packet), 0, packet


def _copied_audio(
    source: av.container.InputContainer,
    out: av.AudioStream,
    start_s: float,
    end_s: float,
) -> Iterator[tuple[float, int, av.Packet]]:
    """Source audio packets of ``[start_s, end_s)`` (source-absolute s), shifted to 0."""
    stream = source.streams.audio[0]
    tb = stream.time_base
    assert tb is not None
    shift = round(Fraction(start_s).limit_denominator(10**9) / tb)
    for packet in source.demux(stream):
        if packet.size == 0 or packet.pts is None:
            continue
        t = float(packet.pts * tb)
        if t < start_s - 1e-6:
            continue
        if t >= end_s:
            break
        packet.pts -= shift
        packet.dts = packet.pts if packet.dts is None else packet.dts - shift
        packet.stream = out
        yield t - start_s, 1, packet


def _encoded_audio(
    source: av.container.InputContainer,
    out: av.AudioStream,
    start_s: float,
    end_s: float,
) -> Iterator[tuple[float, int, av.Packet]]:
    """Decode, cut to ``[start_s, end_s)`` and re-encode to AAC (timestamps from 0)."""
    stream = source.streams.audio[0]
    rate = out.rate or 48000
    for frame in source.decode(stream):
        if frame.pts is None or frame.time_base is None:
            continue
        t = float(frame.pts * frame.time_base)
        if t < start_s - 1e-6:
            continue
        if t >= end_s:
            break
        frame.pts = round((t - start_s) * rate)
        frame.time_base = Fraction(1, rate)
        for packet in out.encode(frame):
            yield _time_s(packet), 1, packet
    for packet in out.encode(None):
        yield _time_s(packet), 1, packet


def _add_audio_stream(
    output: av.container.OutputContainer,
    source: av.container.InputContainer,
    start_s: float,
    end_s: float,
) -> Iterator[tuple[float, int, av.Packet]]:
    src = source.streams.audio[0]
    if src.codec_context.name in _COPYABLE:
        return _copied_audio(source, output.add_stream_from_template(src), start_s, end_s)
    encoder = output.add_stream("aac", rate=src.rate or 48000)
    encoder.layout = "mono" if src.channels == 1 else "stereo"
    return _encoded_audio(source, encoder, start_s, end_s)


def mux_with_audio(
    video_only: str | os.PathLike[str],
    audio_source: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    start_s: float,
    end_s: float,
) -> bool:
    """Write ``out_path``: the video of ``video_only`` with the audio of ``audio_source``.

    start_s, end_s: the rendered range in the source's frame times (s from its video
    stream's start, as :func:`~spinepose_sports.video.read_frames` reports them).  The
    output is written to ``<out_path>.part`` and renamed at the end.  When the source has
    no audio, ``video_only`` is simply renamed to ``out_path``.  Returns whether audio was
    added.  ``video_only`` is removed in every case.  An audio track that cannot be read or
    re-encoded gives a ``RuntimeWarning`` and a video without sound, not an error.
    """
    video_only, out_path = Path(video_only), Path(out_path)
    if not has_audio(audio_source):
        os.replace(video_only, out_path)
        return False
    part = out_path.with_name(out_path.name + ".part")
    try:
        with (
            av.open(str(video_only), mode="r") as vin,
            av.open(str(audio_source), mode="r") as ain,
            av.open(
                str(part), mode="w", format="mp4", container_options={"movflags": "+faststart"}
            ) as output,
        ):
            vout = output.add_stream_from_template(vin.streams.video[0])
            origin = _video_origin_s(ain)
            audio = _add_audio_stream(output, ain, origin + start_s, origin + end_s)
            merged = heapq.merge(_video_packets(vin, vout), audio, key=lambda p: (p[0], p[1]))
            for _, _, packet in merged:
                output.mux(packet)
    except _MEDIA_ERRORS as err:
        with contextlib.suppress(OSError):
            part.unlink()
        warnings.warn(
            f"{audio_source}: the audio could not be carried over ({err}); "
            f"{out_path.name} is written without sound",
            RuntimeWarning,
            stacklevel=2,
        )
        os.replace(video_only, out_path)
        return False
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise
    os.replace(part, out_path)
    video_only.unlink(missing_ok=True)
    return True


__all__ = ["has_audio", "mux_with_audio"]
