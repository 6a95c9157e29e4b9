"""Club-scale batches (#14): pipeline files with per-video settings, the stage cache,
resuming after a kill, local and Dask workers giving identical files, session outputs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import tomli_w
from cli_runner import CLI, run_cli

from spinepose_sports.batchconfig import BatchConfigError, load_session
from spinepose_sports.config import AnalyzeConfig
from spinepose_sports.data import load_netcdf
from spinepose_sports.pipeline import load_stages
from spinepose_sports.results import read_run
from spinepose_sports.session import SUMMARY_COLUMNS, run_session

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def clips(tmp_path_factory, vtest_clip, pose2sim_clip) -> Path:
    """A session folder: two copies of vtest, the pose2sim clip and a corrupt video."""
    folder = tmp_path_factory.mktemp("session")
    shutil.copy(vtest_clip, folder / "warmup.avi")
    shutil.copy(vtest_clip, folder / "drill.avi")
    shutil.copy(pose2sim_clip, folder / "jump.mp4")
    (folder / "broken.mp4").write_bytes(os.urandom(40_000))
    return folder


def _settings(person_detector: Path, standin_onnx: Path, **more: object) -> dict:
    return {
        "detector": {"detector_weights": str(person_detector), "person_classes": [0, 1]},
        "pose": {"pose_model": str(standin_onnx)},
        **more,
    }


def _pipeline(path: Path, inputs: list[str], tables: dict, videos: list[dict]) -> Path:
    path.write_text(tomli_w.dumps({"inputs": inputs, **tables, "videos": videos}))
    return path


# --------------------------------------------------------------------------------------
# Pipeline files
# --------------------------------------------------------------------------------------


def test_per_video_overrides_are_validated_and_applied(tmp_path) -> None:
    (tmp_path / "day").mkdir()
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        (tmp_path / "day" / name).write_bytes(b"")
    file = _pipeline(tmp_path / "s.toml", ["day/a.mp4"], {"smoothing": {"smoothing": "none"}}, [
        {"path": "day/b.mp4", "start": 1.0, "end": 3.0, "names": "1=Anna", "view": "left_side"},
        {"path": "day/[bc].mp4", "athletes": "largest:2"},
    ])
    session = load_session(file)
    assert [p.name for p in session.inputs or []] == ["a.mp4", "b.mp4", "c.mp4"]
    a, b, c = (session.config_for(p) for p in session.inputs or [])
    assert a == session.config and a.smoothing.smoothing == "none"
    assert (b.input.start, b.input.end, b.tracks.names) == (1.0, 3.0, "1=Anna")
    assert b.kinematics.view == "left_side" and b.tracks.athletes == "largest:2"
    assert c.tracks.athletes == "largest:2" and c.input.start is None
    # command-line settings win over the file and its overrides
    assert session.config_for(session.inputs[1], {"view": "front"}).kinematics.view == "front"
    for bad, message in (
        ({"path": "day/a.mp4", "view": "side"}, r"videos\[1\]: view = 'side'"),
        ({"path": "day/a.mp4", "smoothin": "none"}, "did you mean 'smoothing'"),
        ({"path": "day/a.mp4", "workers": 2}, "whole session"),
        ({"start": 1.0}, "path ="),
    ):
        _pipeline(file, [], {}, [bad])
        with pytest.raises(BatchConfigError, match=message):
            load_session(file)


def test_shipped_session_pipelines_load() -> None:
    today = load_session(REPO / "pipelines" / "todays_session.toml")
    assert today.config.outputs.overlay and today.config.batch.index_html
    assert today.overrides, "the example shows per-video settings"
    again = load_session(REPO / "pipelines" / "reanalyse_last_month.toml")
    assert again.config.batch.stage_cache and again.config.smoothing.smoothing != "kalman"
    assert not again.config.outputs.overlay


# --------------------------------------------------------------------------------------
# The stage cache
# --------------------------------------------------------------------------------------


def test_changing_only_later_stages_runs_no_model(clips, tmp_path, person_detector,
                                                   standin_onnx) -> None:
    loads: list[AnalyzeConfig] = []

    def counting_load(config: AnalyzeConfig):
        loads.append(config)
        return load_stages(config, progress=False)

    base = AnalyzeConfig.from_tables(_settings(
        person_detector, standin_onnx, outputs={"output": str(tmp_path / "out"),
                                                "overlay": False, "dashboard": False},
        input={"end": 0.5},
    ))
    video = clips / "warmup.avi"

    def run(config: AnalyzeConfig) -> dict:
        outcome = run_session([(video, config)], config, progress=False, load=counting_load)
        assert [r.status for r in outcome.results] == ["completed"]
        return read_run(outcome.jobs[0].folder) or {}

    first = run(base)
    assert len(loads) == 1 and first["stage_cache"]["hit"] is False
    raw = (tmp_path / "out" / "warmup" / "poses.nc").read_bytes()
    for change in ({"smoothing": "butterworth"}, {"view": "left_side", "min_track": 0.1},
                   {"overlay": True, "dashboard": True}):
        record = run(base.replace(**change))
        assert len(loads) == 1, f"{change} loaded the models"
        assert record["stage_cache"]["hit"] is True
        assert "detect_track" not in record["timing_s"] and "pose" not in record["timing_s"]
    assert (tmp_path / "out" / "warmup" / "overlay.mp4").is_file()
    assert (tmp_path / "out" / "warmup" / "poses.nc").read_bytes() == raw
    # a setting the models depend on runs them again
    record = run(base.replace(det_conf=0.3))
    assert len(loads) == 2 and record["stage_cache"]["hit"] is False


# --------------------------------------------------------------------------------------
# Serial, 2 local workers and a Dask LocalCluster: the same files, bit for bit
# --------------------------------------------------------------------------------------


def _nc_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.glob("*/*.nc"))}


def test_serial_workers_and_dask_make_identical_files(clips, tmp_path, person_detector,
                                                      standin_onnx) -> None:
    from distributed import LocalCluster

    tables = _settings(person_detector, standin_onnx,
                       outputs={"overlay": False, "dashboard": False},
                       input={"end": 0.6}, batch={"index_html": False})
    videos = [{"path": "jump.mp4", "end": 0.3}]
    inputs = [str(clips / n) for n in ("warmup.avi", "broken.mp4", "jump.mp4")]
    outs = {}
    for way, extra in (("serial", []), ("workers", ["--workers", "2"])):
        outs[way] = tmp_path / way
        file = _pipeline(tmp_path / f"{way}.toml", inputs,
                         tables | {"outputs": tables["outputs"] | {"output": str(outs[way])}},
                         [v | {"path": str(clips / v["path"])} for v in videos])
        proc = run_cli("run", file, "-q", *extra)
        assert proc.returncode == 1, proc.stderr[-3000:]  # the broken video
        assert "failed  " in proc.stderr and "broken.mp4" in proc.stderr
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        outs["dask"] = tmp_path / "dask"
        file = _pipeline(tmp_path / "dask.toml", inputs,
                         tables | {"outputs": tables["outputs"] | {"output": str(outs["dask"])}},
                         [v | {"path": str(clips / v["path"])} for v in videos])
        proc = run_cli("run", file, "-q", "--scheduler", cluster.scheduler_address)
        assert proc.returncode == 1, proc.stderr[-3000:]
    files = {way: _nc_files(out) for way, out in outs.items()}
    assert len(files["serial"]) >= 8, sorted(files["serial"])
    for way in ("workers", "dask"):
        assert files[way].keys() == files["serial"].keys(), way
        differ = [k for k in files[way] if files[way][k] != files["serial"][k]]
        assert differ == [], f"{way}: {differ}"
    for way, out in outs.items():
        summary = pd.read_csv(out / "batch_summary.csv")
        assert summary.loc[summary["video"].str.endswith("broken.mp4"), "status"].tolist() == [
            "failed"], way
        jump = read_run(out / "jump") or {}
        assert jump["status"] == "completed" and jump["config"]["input"]["end"] == 0.3, way


# --------------------------------------------------------------------------------------
# Killed mid-batch, resumed
# --------------------------------------------------------------------------------------


def _wait_for(predicate, timeout: float, proc: subprocess.Popen) -> None:
    t0 = time.monotonic()
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the batch ended before the kill: {proc.stderr.read()}")
        if time.monotonic() - t0 > timeout:
            raise AssertionError("the batch never reached the point of the kill")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def resumed(clips, tmp_path_factory, person_detector, standin_onnx):
    """A batch SIGKILLed while its second video runs, then run again.

    Returns (output folder, run.json records at the kill, the second run's process)."""
    work = tmp_path_factory.mktemp("killed")
    out = work / "out"
    file = _pipeline(work / "s.toml", [str(clips / n) for n in
                                       ("warmup.avi", "drill.avi", "broken.mp4", "jump.mp4")],
                     _settings(person_detector, standin_onnx,
                               outputs={"output": str(out), "skip_completed": True},
                               input={"end": 0.5}),
                     [{"path": str(clips / "drill.avi"), "start": 1.0, "end": 4.0,
                       "names": "1=Anna"},
                      {"path": str(clips / "jump.mp4"), "end": 0.3}])
    cmd = [str(CLI)] if CLI.exists() else [sys.executable, "-m", "spinepose_sports"]
    env = dict(os.environ, YOLO_OFFLINE="1", SPINEPOSE_SPORTS_OFFLINE="1")
    proc = subprocess.Popen([*cmd, "run", str(file), "-q"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        def drill_running() -> bool:  # the run writes into its staging folder
            return any(out.glob(".drill.partial-*"))

        _wait_for(drill_running, 300, proc)
        time.sleep(1.0)  # in the middle of the second video
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    at_kill = {f.name: read_run(f) for f in out.iterdir() if f.is_dir()}
    at_kill["staging"] = sorted(f.name for f in out.glob(".*.partial-*"))
    whole_files = [p for p in out.rglob("*.nc") if not p.name.endswith(".part")]
    for path in whole_files:  # every file under its final name is complete
        load_netcdf(path)
    second = run_cli("run", file, "-q")
    return out, at_kill, second


def test_a_killed_batch_resumes_without_duplicates_or_half_files(resumed) -> None:
    out, at_kill, second = resumed
    assert at_kill["warmup"]["status"] == "completed"
    assert "drill" not in at_kill and at_kill["staging"]  # killed in its staging folder
    assert second.returncode == 1, second.stderr[-3000:]  # broken.mp4, and only it
    lines = second.stderr
    assert "skipped /" in lines and "warmup.avi" in lines.split("skipped")[1].split("\n")[0]
    assert "done    " in lines and "drill.avi" in lines and "jump.mp4" in lines
    # nothing duplicated: one folder per video, the completed one untouched
    folders = sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert folders == ["drill", "jump", "thumbnails", "warmup"]
    assert read_run(out / "warmup") == at_kill["warmup"]
    drill = read_run(out / "drill") or {}
    assert drill["status"] == "completed" and drill["config"]["input"]["start"] == 1.0
    # no half file anywhere, nor a staging folder, nor a half cache entry
    assert list(out.glob(".*.partial-*")) == []
    assert [p for p in out.rglob("*") if ".part" in p.name or ".tmp" in p.name] == []
    assert list((out / ".stage_cache" / ".incoming").iterdir()) == []
    entries = [p for p in (out / ".stage_cache").iterdir() if not p.name.startswith(".")]
    assert len(entries) == 3 and all((e / "entry.json").is_file() for e in entries)


def test_batch_summary_has_a_row_per_video_and_athlete(resumed) -> None:
    out, _, _ = resumed
    table = pd.read_csv(out / "batch_summary.csv")
    assert list(table.columns) == list(SUMMARY_COLUMNS)
    assert set(table["folder"]) == {"warmup", "drill", "broken", "jump"}
    assert not table.duplicated(["folder", "athlete"]).any()
    done = table[table["status"].isin(["completed", "skipped"])]
    ok = done.dropna(subset=["athlete"])
    assert len(ok) >= 2 and (ok["frames_tracked"] > 0).all()
    assert ok["lumbar_rom_deg"].notna().all() and (ok["lumbar_rom_deg"] >= 0).all()
    assert ok["quality"].between(0, 1).all()
    assert (ok["duration_s"] > 0).all() and ok["repetitions"].notna().all()
    broken = table[table["folder"] == "broken"]
    assert broken["status"].tolist() == ["failed"] and "broken.mp4" in broken["error"].iloc[0]
    drill = table[table["folder"] == "drill"]
    assert drill["duration_s"].iloc[0] == pytest.approx(3.0, abs=0.15)


@pytest.mark.usefixtures("chromium_path")
def test_index_html_opens_offline_and_every_link_resolves(resumed, tmp_path) -> None:
    import re

    from test_dashboard import body_attrs, chromium, console_errors

    out, _, _ = resumed
    index = out / "index.html"
    page = index.read_text()
    hrefs = re.findall(r'(?:href|src)="([^"]+)"', page)
    assert not [h for h in hrefs if "://" in h], "offline: relative links only"
    assert any(h.endswith("overlay.mp4") for h in hrefs)
    assert any(h.endswith("dashboard.html") for h in hrefs)
    assert sum(h.startswith("thumbnails/") for h in hrefs) >= 3
    for h in hrefs:
        assert (out / h).is_file(), h
    proc = chromium(Path(f"{index}#check-links"), tmp_path,
                    "--allow-file-access-from-files", "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    attrs = body_attrs(proc.stdout)
    assert console_errors(proc.stderr) == []
    assert int(attrs["data-rows"]) >= 4
    assert int(attrs["data-checked"]) == len(hrefs)
    assert json.loads(attrs["data-broken"]) == []


def test_worker_progress_reaches_the_batch_display(monkeypatch) -> None:
    from spinepose_sports.pipeline import progress
    from spinepose_sports.pipeline.stream import progress_bar

    monkeypatch.setattr(progress, "INTERVAL_S", 0.0)
    got: list[dict] = []
    progress.set_sink(got.append)
    try:
        with progress_bar(5, "track+pose clip.mp4", True) as bar:
            for _ in range(5):
                bar.update(1)
                bar.set_postfix(tracks=2, refresh=False)
        with progress_bar(5, "quiet", False) as bar:  # -q: nothing sent
            bar.update(5)
    finally:
        progress.set_sink(None)
    assert got[-1] | {"worker": ""} == {"worker": "", "desc": "track+pose clip.mp4", "n": 5,
                                        "total": 5}
    assert all(m["desc"] != "quiet" for m in got)
    display = progress.BatchDisplay(2, enabled=True)
    for message in got:
        display.message(message)
    display.video_done("completed")
    display.video_done("failed")
    assert display.videos.n == 2 and display.failed == 1
    display.close()
