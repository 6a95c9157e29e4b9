"""Benchmark: memory and time of smooth() on many tracks, all in one call vs by chunks.

    python benchmarks/bench_smoothing_memory.py   # writes benchmarks/results/smoothing_memory.md

Synthetic poses like a street clip: 795 frames at 10 fps, 39 tracks each seen in a window
of a quarter to a half of the video, 37 keypoints, 2 px noise. Each case runs in a fresh
subprocess: wall time and the process's peak RSS of a first, untraced smooth(), then
tracemalloc's peak during a second one (numpy's arrays are traced). "one call" sets
CHUNK_TRACK_FRAMES to 10**9 (every track in one smoother call, as before chunking);
"chunked" is the default.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
N_TIME, N_TRACKS, FPS = 795, 39, 10.0


def synthetic_street(n_time: int = N_TIME, n_tracks: int = N_TRACKS, seed: int = 0):
    """Poses of ``n_tracks`` people, each seen in one window of the video."""
    import numpy as np

    from spinepose_sports.data import make_poses

    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 2, (n_time, 2, 1, n_tracks)), axis=0)
    base = rng.uniform(100, 600, (1, 2, 1, n_tracks)) + walk
    offsets = rng.normal(0, 30, (1, 2, 37, n_tracks))
    pos = base + offsets + rng.normal(0, 2, (n_time, 2, 37, n_tracks))
    conf = rng.uniform(0.2, 1.0, (n_time, 37, n_tracks))
    for j in range(n_tracks):
        a = rng.integers(0, n_time // 2)
        b = a + rng.integers(n_time // 4, n_time // 2)
        pos[:a, ..., j] = np.nan
        pos[b:, ..., j] = np.nan
        conf[:a, :, j] = 0.0
        conf[b:, :, j] = 0.0
    return make_poses(pos.astype("float32"), conf.astype("float32"), np.arange(n_time) / FPS,
                      list(range(1, n_tracks + 1)), fps=FPS, frame_width=768,
                      frame_height=576, source_file="synthetic")


def run_one(method: str, chunked: bool) -> None:
    import tracemalloc

    import spinepose_sports.smoothing as smoothing

    poses = synthetic_street()
    if not chunked:
        smoothing.CHUNK_TRACK_FRAMES = 10**9
    t0 = time.perf_counter()
    smoothing.smooth(poses, method)  # timed without tracing (tracemalloc slows allocations)
    seconds = time.perf_counter() - t0
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    smoothing.smooth(poses, method)
    peak = tracemalloc.get_traced_memory()[1]
    print(json.dumps({"method": method, "chunked": chunked, "seconds": seconds,
                      "traced_peak_mib": peak / 2**20,
                      "rss_mib": rss_mib}))


def main() -> int:
    rows = []
    t0 = time.perf_counter()
    for method in ("kalman", "spine-prior", "butterworth"):
        for chunked in (False, True):
            out = subprocess.run([sys.executable, __file__, "--one", method, str(int(chunked))],
                                 capture_output=True, text=True, check=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    lines = [
        "# smooth() memory: all tracks in one call vs a few tracks per call",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.platform()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "- command: `python benchmarks/bench_smoothing_memory.py` "
        f"({time.perf_counter() - t0:.0f} s)",
        f"- data: {N_TIME} frames at {FPS:g} fps, {N_TRACKS} tracks seen in windows of a quarter "
        "to a half of the video, 37 keypoints (synthetic, seeded); default parameters",
        "- time and peak RSS (the whole process, input included): a first smooth(), untraced; "
        "smooth() peak: tracemalloc during a second one (the input excluded)",
        "",
        "| method | tracks per call | smooth() peak MiB | time s | process peak RSS MiB |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        per_call = f"{max(1, 4096 // N_TIME)} (CHUNK_TRACK_FRAMES 4096)" if r["chunked"] else "all"
        lines.append(f"| {r['method']} | {per_call} | {r['traced_peak_mib']:.0f} | "
                     f"{r['seconds']:.2f} | {r['rss_mib']:.0f} |")
    text = "\n".join(lines) + "\n"
    out = ROOT / "benchmarks" / "results" / "smoothing_memory.md"
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        run_one(sys.argv[2], bool(int(sys.argv[3])))
    else:
        raise SystemExit(main())
