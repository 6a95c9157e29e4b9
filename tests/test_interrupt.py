"""An interrupted ``analyze`` (SIGKILL, SIGTERM, Ctrl-C at random points) leaves the results
folder complete-old or complete-new, never a mix; the next run tidies what it left."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from cli_runner import CLI, run_cli

from spinepose_sports.batchconfig import load_config_file
from spinepose_sports.results import RUN_FILE, is_staging_name, staging_folder

SEEDS = (0, 1, 3, 4)
SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGKILL)


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir()) if p.is_file()
    }


def _check_whole(folder: Path, old: dict[str, str], keys: dict[str, str]) -> str:
    """``folder`` is exactly the old run or a whole new one; returns "old" or "new"."""
    run = json.loads((folder / RUN_FILE).read_text())
    assert run["status"] == "completed", run.get("error")
    if run["results_key"] == keys["old"]:
        assert _digests(folder) == old
        return "old"
    assert run["results_key"] == keys["new"]
    names = {p.name for p in folder.iterdir()}
    assert names == set(run["outputs"].values()) | {RUN_FILE}
    for name in names:
        if name.endswith(".nc"):
            xr.load_dataset(folder / name)
    return "new"


def _wait_for_staging(out: Path, proc: subprocess.Popen, limit_s: float) -> float:
    """Seconds until a staging folder appears in ``out`` (or the process ends)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit_s and proc.poll() is None:
        if any(is_staging_name(p.name) for p in out.iterdir()):
            break
        time.sleep(0.02)
    return time.perf_counter() - t0


def _wait_or_dump(proc: subprocess.Popen, limit_s: float, what: str) -> str:
    """stderr of ``proc`` once it ends; a run still alive after ``limit_s`` gets SIGABRT
    (the CLI's faulthandler then prints every thread's stack) and fails the test."""
    try:
        return proc.communicate(timeout=limit_s)[1]
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        pytest.fail(f"analyze still running {limit_s:.0f} s after the signal ({what}):\n{err}")


@pytest.fixture(scope="module")
def interrupted_setup(tmp_path_factory, vtest_clip, person_detector, standin_onnx):
    work = tmp_path_factory.mktemp("interrupt")
    clip = work / "clip.avi"
    shutil.copy(vtest_clip, clip)
    common = [clip, "-o", work / "out", "--detector-weights", person_detector,
              "--person-classes", "0,1", "--pose-model", standin_onnx, "--end", "1.0", "-q"]
    old_args = [*common, "--no-overlay"]
    new_args = [*common, "--smoothing", "butterworth", "--no-dashboard"]
    t0 = time.perf_counter()
    proc = run_cli("analyze", *old_args)
    full_s = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    folder = work / "out" / "clip"
    snapshot = work / "snapshot"
    shutil.copytree(folder, snapshot)
    # the new run's settings key, from its effective configuration (no run needed)
    printed = run_cli("analyze", *new_args, "--print-config")
    assert printed.returncode == 0, printed.stderr
    (work / "new.toml").write_text(printed.stdout)
    keys = {
        "old": json.loads((snapshot / RUN_FILE).read_text())["results_key"],
        "new": load_config_file(work / "new.toml")[1].results_key(),
    }
    assert keys["old"] != keys["new"]
    return work, folder, snapshot, new_args, keys, full_s


def test_interrupted_analyze_leaves_old_or_new_never_a_mix(interrupted_setup) -> None:
    _, folder, snapshot, new_args, keys, full_s = interrupted_setup
    old = _digests(snapshot)
    env = dict(os.environ, YOLO_OFFLINE="1", SPINEPOSE_SPORTS_OFFLINE="1")
    cmd = [str(CLI)] if CLI.exists() else [sys.executable, "-m", "spinepose_sports"]
    seen = []
    for seed, sig in zip(SEEDS, SIGNALS, strict=True):
        shutil.rmtree(folder)
        shutil.copytree(snapshot, folder)
        t0 = time.perf_counter()
        proc = subprocess.Popen([*cmd, "analyze", *map(str, new_args)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # a random point of the run's writing phase: after its staging folder appears
        staged_s = _wait_for_staging(folder.parent, proc, full_s * 3)
        fraction = float(np.random.default_rng(seed).uniform(0.0, 1.2))
        delay = fraction * max(full_s - staged_s, 1.0)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(sig)
        delay = time.perf_counter() - t0
        err = _wait_or_dump(proc, 120, f"seed {seed}, {sig.name} after {delay:.1f} s")
        assert "Traceback" not in err, err
        state = _check_whole(folder, old, keys)
        seen.append((seed, sig.name, round(delay, 1), proc.returncode, state))
        if sig != signal.SIGKILL and proc.returncode in (130, 143):
            # a handled interrupt tidies its own staging folder
            assert not staging_folder(folder, proc.pid).exists()
            assert "interrupted" in err
    print(seen)
    # the next run removes what killed runs left and completes
    proc = run_cli("analyze", *new_args)
    assert proc.returncode == 0, proc.stderr
    assert _check_whole(folder, old, keys) == "new"
    assert not [p for p in folder.parent.iterdir() if is_staging_name(p.name)]
