"""Memory that grows with a video's length: only the per-frame results (issue 13).

Not timing tests: tracemalloc's peaks (numpy's arrays are traced) and references, on
synthetic data, a few seconds in all.  ``python benchmarks/run_all.py`` case ``memory``
measures the whole ``analyze`` on 1- and 10-minute clips.
"""

from __future__ import annotations

import sys
import tracemalloc
import weakref
from pathlib import Path
from typing import Any

import pytest
from synthetic import synthetic_motion

from spinepose_sports.config import AnalyzeConfig
from spinepose_sports.kinematics import compute_kinematics
from spinepose_sports.pipeline.chain import as_float32
from spinepose_sports.smoothing import _compiled, smooth

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

FPS = 30.0
N_TRACKS = 3


def _poses(n_frames: int) -> Any:
    return synthetic_motion(fps=FPS, duration_s=n_frames / FPS, n_tracks=N_TRACKS, seed=2).noisy


def _traced_peak_kib(fn: Any, *args: Any) -> float:
    """tracemalloc's peak (KiB) above what was held before ``fn(*args)``; what it returns
    is dropped after the peak is read."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        result = fn(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return (peak - base) / 1024


def _growth_kib_per_frame(fn: Any, short: int, long: int) -> float:
    """Peak of ``fn(poses)`` on ``long`` frames minus on ``short`` frames, per frame added."""
    short_poses, long_poses = _poses(short), _poses(long)
    fn(short_poses)  # imports and compiled kernels loaded outside the trace
    grow = _traced_peak_kib(fn, long_poses) - _traced_peak_kib(fn, short_poses)
    return grow / (long - short)


@pytest.mark.skipif(not _compiled.AVAILABLE, reason="whole tracks per call without numba")
def test_kalman_smoothing_peak_does_not_grow_by_a_filter_state_per_frame() -> None:
    """The Kalman smoother keeps ~11 KiB of state per track and frame; smoothed one
    track at a time, a long video's peak grew by that (11.7 KiB per frame on 3 athletes
    of 10 minutes).  A few keypoints at a time, it grows by the results: the smoothed
    poses (1.3 KiB per frame for 3 athletes) and the float64 working copy of the input."""
    per_frame = _growth_kib_per_frame(
        lambda poses: smooth(poses, method="kalman"), short=3000, long=12000
    )
    assert per_frame < 5.0, f"{per_frame:.1f} KiB per frame"


def test_kinematics_peak_per_frame_stays_bounded() -> None:
    """compute_kinematics works in float64 (the kept dataset is float32: 2.7 KiB per frame
    for 3 athletes, 5.1 in float64): its peak per frame added, copies and intermediates
    together, is 8.2 KiB; it was 10.7 while the float64 copies of the poses (1.7 KiB
    each) stayed alive through the angles."""
    per_frame = _growth_kib_per_frame(
        lambda poses: as_float32(compute_kinematics(poses)), short=600, long=2400
    )
    assert per_frame < 10.0, f"{per_frame:.1f} KiB per frame"


def test_analyze_holds_one_copy_of_each_result(tmp_path, monkeypatch) -> None:
    """The online tracker's poses and boxes (saved as tracker_*.nc) are no longer held
    once stitched, and the dashboard takes the chain's datasets instead of reading the
    files just written (a second copy of each); its page is the one made from the files."""
    from fake_models import fake_stages
    from videogen import pattern, write_clip

    import spinepose_sports.pipeline.job as job
    import spinepose_sports.report as report
    from spinepose_sports.plots import write_dashboard

    video = write_clip(tmp_path / "clip.mp4", [pattern(120, 160, i) for i in range(12)])
    raw_refs: list[weakref.ref] = []
    alive_in_chain: list[bool] = []
    cached, finish = job.cached_raw_results, job.finish_from_poses

    def remember_raw(*args: Any, **kw: Any) -> Any:
        raw = cached(*args, **kw)
        raw_refs.extend(weakref.ref(ds) for ds in (raw.poses, raw.boxes))
        return raw

    def check_finish(*args: Any, **kw: Any) -> Any:
        alive_in_chain.extend(ref() is not None for ref in raw_refs)
        return finish(*args, **kw)

    monkeypatch.setattr(job, "cached_raw_results", remember_raw)
    monkeypatch.setattr(job, "finish_from_poses", check_finish)
    files_read: list[str] = []
    load_poses = report.load_poses
    monkeypatch.setattr(report, "load_poses", lambda path: files_read.append(Path(path).name)
                        or load_poses(path))
    config = AnalyzeConfig.from_settings(
        output=str(tmp_path), min_track_motion=0.0, min_track=0.0, overlay=False,
    )
    folder = tmp_path / "clip"
    result = job.analyze_video(video, folder, config, fake_stages(), progress=False)
    assert result.status == "completed" and result.n_tracks == N_TRACKS
    assert (folder / "tracker_poses.nc").is_file()
    assert alive_in_chain == [False, False]
    assert files_read == []
    again = write_dashboard(folder, folder / "again.html")  # same place: same video link
    assert files_read == ["poses.nc", "poses_smoothed.nc"]
    assert again.read_bytes() == (folder / "dashboard.html").read_bytes()
