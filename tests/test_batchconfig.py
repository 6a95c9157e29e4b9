"""Pipeline files (pipelines/*.toml), `spinepose-sports run` and `analyze --config`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_runner import run_cli

from spinepose_sports.batchconfig import BatchConfigError, load_batch_config, load_config_file

ROOT = Path(__file__).resolve().parents[1]


def test_sample_definition_loads() -> None:
    inputs, config = load_batch_config(ROOT / "pipelines" / "sample.toml")
    assert inputs == [ROOT / "sample_videos" / "sports2d_demo.mp4"]
    assert config.outputs.output == ROOT / "results"
    assert config.outputs.skip_completed and config.pose.pose_model == "m"


def test_bad_definitions_name_file_and_key(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    cases = [
        ('inputs = ["a.mp4"]\n[pose]\npose_modle = "s"\n', r"bad.toml.*pose_modle.*'pose_model'"),
        ('inputs = ["a.mp4"]\n[detector]\ntracker_options = "fuse_score=false"\n',
         r"bad.toml.*tracker_options"),
        ('inputs = ["a.mp4"]\n[analyze]\npose_model = "s"\n', r"bad.toml.*\[analyze\].*gone"),
        ('inputs = ["a.mp4"]\n[detecter]\nimgsz = 320\n', r"bad.toml.*detecter.*'detector'"),
        ('inputs = ["a.mp4"]\noutput_dir = "x"\n', r"bad.toml.*output_dir"),
        ("inputs = 3\n", "inputs"),
        ("inputs = [\n", "TOML"),
    ]
    for text, message in cases:
        bad.write_text(text)
        with pytest.raises(BatchConfigError, match=message):
            load_batch_config(bad)


def test_run_a_definition_end_to_end(tmp_path, vtest_clip, person_detector, standin_onnx):
    (tmp_path / "clips").mkdir()
    shutil.copy(vtest_clip, tmp_path / "clips" / "street.avi")
    definition = tmp_path / "club.toml"
    definition.write_text(
        'inputs = ["clips/*.avi"]\n[outputs]\noutput = "out"\noverlay = false\n'
        f'dashboard = false\n[detector]\ndetector_weights = "{person_detector}"\n'
        f'person_classes = [0, 1]\n[pose]\npose_model = "{standin_onnx}"\n[input]\nend = 0.5\n'
    )
    proc = run_cli("run", definition, "-q")
    assert proc.returncode == 0, proc.stderr
    run = json.loads((tmp_path / "out" / "street" / "run.json").read_text())
    assert run["status"] == "completed" and run["n_frames"] == 5
    assert run["config"]["input"]["end"] == 0.5
    assert not (tmp_path / "out" / "street" / "overlay.mp4").exists()
    proc = run_cli("run", tmp_path / "missing.toml")
    assert proc.returncode != 0 and "missing.toml" in proc.stderr


def test_far_athletes_definition_loads() -> None:
    inputs, config = load_batch_config(ROOT / "pipelines" / "far_athletes.toml")
    assert inputs == [ROOT / "sample_videos" / "sports2d_demo.mp4"]
    assert config.detector.imgsz == 1280 and config.detector.det_conf == 0.05
    assert config.tracks.min_track_motion == 0 and config.tracks.min_track_confidence == 0.14
    assert config.detector.tracker_options == {"track_high_thresh": 0.1, "track_low_thresh": 0.05,
                                               "new_track_thresh": 0.1, "fuse_score": False}


def test_bad_tracker_option_in_a_definition_names_it(tmp_path, vtest_clip, person_detector,
                                                     standin_onnx) -> None:
    definition = tmp_path / "club.toml"
    definition.write_text(
        f'inputs = ["{vtest_clip}"]\n[outputs]\noutput = "out"\n[detector]\n'
        f'detector_weights = "{person_detector}"\nperson_classes = [0, 1]\n'
        f'[pose]\npose_model = "{standin_onnx}"\n'
        "[detector.tracker_options]\nnew_track_thresh = 'low'\n"
    )
    proc = run_cli("run", definition, "-q")
    assert proc.returncode == 1
    assert "new_track_thresh expects type float" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_run_record_repeats_the_run(tmp_path) -> None:
    record = tmp_path / "run.json"
    _, config = load_batch_config(ROOT / "pipelines" / "far_athletes.toml")
    record.write_text(json.dumps({"status": "completed", "config": config.to_tables()}))
    inputs, again = load_config_file(record)
    assert inputs is None and again == config
    record.write_text(json.dumps({"status": "completed", "parameters": {}}))
    with pytest.raises(BatchConfigError, match="no 'config' recorded"):
        load_config_file(record)
