"""Batch pipeline definitions (pipelines/*.toml) and `spinepose-sports run`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_runner import run_cli

from spinepose_sports.batchconfig import BatchConfigError, load_batch_config

ROOT = Path(__file__).resolve().parents[1]


def test_sample_definition_loads() -> None:
    inputs, config = load_batch_config(ROOT / "pipelines" / "sample.toml")
    assert inputs == [ROOT / "sample_videos" / "sports2d_demo.mp4"]
    assert config.output_dir == ROOT / "results"
    assert config.skip_completed and config.pose_model == "m"


def test_bad_definitions_name_file_and_key(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('inputs = ["a.mp4"]\n[analyze]\npose_modle = "s"\n')
    with pytest.raises(BatchConfigError, match=r"bad.toml.*pose_modle"):
        load_batch_config(bad)
    bad.write_text('inputs = ["a.mp4"]\n[analyze]\ntracker_options = "fuse_score=false"\n')
    with pytest.raises(BatchConfigError, match=r"bad.toml.*tracker_options must be a table"):
        load_batch_config(bad)
    bad.write_text("inputs = 3\n")
    with pytest.raises(BatchConfigError, match="inputs"):
        load_batch_config(bad)
    bad.write_text("inputs = [\n")
    with pytest.raises(BatchConfigError, match="TOML"):
        load_batch_config(bad)


def test_run_a_definition_end_to_end(tmp_path, vtest_clip, person_detector, standin_onnx):
    (tmp_path / "clips").mkdir()
    shutil.copy(vtest_clip, tmp_path / "clips" / "street.avi")
    definition = tmp_path / "club.toml"
    definition.write_text(
        'inputs = ["clips/*.avi"]\noutput_dir = "out"\n[analyze]\n'
        f'detector_weights = "{person_detector}"\npose_model = "{standin_onnx}"\n'
        "person_classes = [0, 1]\nend_s = 0.5\noverlay = false\ndashboard = false\n"
    )
    proc = run_cli("run", definition, "-q")
    assert proc.returncode == 0, proc.stderr
    run = json.loads((tmp_path / "out" / "street" / "run.json").read_text())
    assert run["status"] == "completed" and run["n_frames"] == 5
    assert run["parameters"]["end_s"] == 0.5
    assert not (tmp_path / "out" / "street" / "overlay.mp4").exists()
    proc = run_cli("run", tmp_path / "missing.toml")
    assert proc.returncode != 0 and "missing.toml" in proc.stderr


def test_every_parameter_is_documented_for_batch_files() -> None:
    import dataclasses

    from spinepose_sports.pipeline import AnalyzeConfig

    text = (ROOT / "pipelines" / "README.md").read_text()
    missing = [f.name for f in dataclasses.fields(AnalyzeConfig) if f.name not in text]
    assert not missing


def test_far_athletes_definition_loads() -> None:
    inputs, config = load_batch_config(ROOT / "pipelines" / "far_athletes.toml")
    assert inputs == [ROOT / "sample_videos" / "sports2d_demo.mp4"]
    assert config.detector_imgsz == 1280 and config.detector_confidence == 0.05
    assert config.min_track_motion == 0 and config.min_track_confidence == 0.14
    assert config.tracker_options == {"track_high_thresh": 0.1, "track_low_thresh": 0.05,
                                      "new_track_thresh": 0.1, "fuse_score": False}


def test_bad_tracker_option_in_a_definition_names_it(tmp_path, vtest_clip, person_detector,
                                                     standin_onnx) -> None:
    definition = tmp_path / "club.toml"
    definition.write_text(
        f'inputs = ["{vtest_clip}"]\noutput_dir = "out"\n[analyze]\n'
        f'detector_weights = "{person_detector}"\npose_model = "{standin_onnx}"\n'
        "person_classes = [0, 1]\n[analyze.tracker_options]\nnew_track_thresh = 'low'\n"
    )
    proc = run_cli("run", definition, "-q")
    assert proc.returncode == 1
    assert "new_track_thresh expects type float" in proc.stderr
    assert "Traceback" not in proc.stderr
