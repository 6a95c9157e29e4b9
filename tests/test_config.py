"""The configuration model: one name per setting, every value checked before any work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer.main
from cli_runner import run_cli

from spinepose_sports.cli import app
from spinepose_sports.config import (
    SECTIONS,
    AnalyzeConfig,
    ConfigError,
    iter_settings,
    reference_markdown,
    setting_sections,
)

ROOT = Path(__file__).resolve().parents[1]

#: One bad value per setting, with a word the error must contain.  Every setting is here
#: (test_every_setting_has_a_validation_case checks that).
BAD_VALUES: dict[str, tuple[object, str]] = {
    "output": ([1, 2], "output"),
    "overlay": ("maybe", "bool"),
    "dashboard": ("sometimes", "bool"),
    "overlay_preset": ("warp", "veryfast"),
    "skip_completed": ("perhaps", "bool"),
    "start": (-1, "greater than or equal to 0"),
    "end": (0, "greater than 0"),
    "detector_weights": ("no/such/file.pt", "no such file"),
    "person_classes": ("person", "class ids"),
    "tracker": ("sort", "bytetrack"),
    "det_conf": (1.5, "less than or equal to 1"),
    "det_iou": (0, "greater than 0"),
    "imgsz": (8, "greater than or equal to 32"),
    "device": ("gpu", "cuda"),
    "detector_backend": ("tensorrt", "'auto', 'torch' or 'onnx'"),
    "detect_every": (0, "greater than or equal to 1"),
    "fp16": ("half", "bool"),
    "tracker_options": ({"new_track_tresh": 0.1}, "new_track_tresh"),
    "pose_model": ("q", "size (s, m, l, x)"),
    "model_version": ("v3", "'v1' or 'v2'"),
    "model_dir": ("/no/such/folder", "no such folder"),
    "channel_order": ("bgra", "'rgb' or 'bgr'"),
    "min_keypoint_confidence": (2, "less than or equal to 1"),
    "stitch": ("often", "bool"),
    "max_gap": (-1, "greater than 0"),
    "filter_tracks": ("some", "bool"),
    "min_track": (-1, "greater than or equal to 0"),
    "min_track_height": (-0.1, "greater than or equal to 0"),
    "min_track_motion": (-1, "greater than or equal to 0"),
    "min_track_confidence": (1.5, "less than or equal to 1"),
    "athletes": ("longst:2", "longest"),
    "names": ("Anna", "ID=NAME"),
    "smoothing": ("kalmann", "'kalman'"),
    "kinematics": ("lots", "bool"),
    "view": ("side", "left_side"),
    "facing": ("up", "'left'"),
    "workers": (0, "greater than or equal to 1"),
    "scheduler": ("localhost:8786", "tcp://HOST:8786"),
    "stage_cache": ("kept", "bool"),
    "cache_dir": ([1, 2], "cache_dir"),
    "batch_summary": ("some", "bool"),
    "index_html": ("nope", "bool"),
    "athlete_height": (17.8, "human height"),
    "athlete_heights": ("3:1.82", "TRACK=METRES"),
    "calibration": ("/no/such/calibration.toml", "no such calibration file"),
    "calibration_points": ("1,2,3", "X1,Y1,X2,Y2"),
    "calibration_distance": (0, "greater than 0"),
    "floor_angle": (60, "less than or equal to 45"),
    "export": ("fbx", "trc, mot, c3d"),
}


def test_every_setting_has_a_validation_case() -> None:
    assert set(BAD_VALUES) == set(setting_sections())


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_every_setting_refuses_a_bad_value_naming_key_and_value(name: str) -> None:
    value, allowed = BAD_VALUES[name]
    with pytest.raises(ConfigError) as info:
        AnalyzeConfig.from_settings({name: value})
    message = str(info.value)
    assert name in message and allowed in message, message
    assert "\n" not in message
    # in a pipeline file's table, with the file's name
    section = setting_sections()[name]
    with pytest.raises(ConfigError, match=rf"club.toml: .*{name}"):
        AnalyzeConfig.from_tables({section: {name: value}}, source="club.toml")


def test_cross_checks_and_unknown_names() -> None:
    with pytest.raises(ConfigError, match=r"end = 2.0: must be after start \(3.0\)"):
        AnalyzeConfig.from_settings(start=3, end=2)
    with pytest.raises(ConfigError, match="x size exists only in v1"):
        AnalyzeConfig.from_settings(pose_model="x")
    assert AnalyzeConfig.from_settings(pose_model="x", model_version="v1").pose.pose_model == "x"
    with pytest.raises(ConfigError, match="unknown setting 'det_cnf'; did you mean 'det_conf'"):
        AnalyzeConfig.from_settings(det_cnf=0.2)
    with pytest.raises(ConfigError, match=r"\[detector\] unknown setting 'imgsize'.*'imgsz'"):
        AnalyzeConfig.from_tables({"detector": {"imgsize": 320}})
    with pytest.raises(ConfigError, match="unknown setting '\\[trackz\\]'; did you mean 'tracks'"):
        AnalyzeConfig.from_tables({"trackz": {}})


def test_good_values_are_read_as_their_types(tmp_path) -> None:
    config = AnalyzeConfig.from_settings(
        det_conf="0.25", imgsz="1280", person_classes="0,1", stitch="false", start="1.5",
        tracker_options={"fuse_score": False}, device="cuda:0", model_dir=str(tmp_path),
    )
    assert config.detector.det_conf == 0.25 and config.detector.imgsz == 1280
    assert config.detector.person_classes == (0, 1) and config.tracks.stitch is False
    assert config.input.start == 1.5 and config.pose.model_dir == tmp_path
    assert config.detector.tracker_options == {"fuse_score": False}


def test_the_effective_configuration_round_trips_through_toml() -> None:
    import tomllib

    config = AnalyzeConfig.from_settings(
        det_conf=0.2, names="3=Anna", end=4.0, tracker_options={"track_buffer": 60}
    )
    back = AnalyzeConfig.from_tables(tomllib.loads(config.to_toml()))
    assert back == config
    assert back.results_key() == config.results_key()
    assert config.replace(output="elsewhere").results_key() == config.results_key()
    assert config.replace(smoothing="none").results_key() != config.results_key()


def _analyze_flags() -> set[str]:
    command = typer.main.get_command(app)
    analyze = command.commands["analyze"]  # type: ignore[attr-defined]
    return {opt for p in analyze.params for opt in (*p.opts, *p.secondary_opts)}


def test_every_setting_is_a_flag_of_the_same_name() -> None:
    flags = _analyze_flags()
    for _section, name, info in iter_settings():
        flag = "--" + name.replace("_", "-")
        assert flag in flags, flag
        if info.annotation is bool:
            assert f"--no-{flag[2:]}" in flags, flag
    others = {"--config", "--print-config", "--quiet", "-q", "-o", "--help"}
    setting_flags = {f for f in flags - others if f.startswith("--") and not f.startswith("--no-")}
    assert {f[2:].replace("-", "_") for f in setting_flags} == set(setting_sections())


def test_docs_configuration_reference_is_current() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    assert text == reference_markdown() + "\n", (
        "docs/configuration.md is stale: python -c \"from spinepose_sports.config import "
        "reference_markdown; print(reference_markdown())\" > docs/configuration.md"
    )
    for section, model in SECTIONS.items():
        assert f"## `[{section}]`" in text
        for name in model.model_fields:
            assert f"| `{name}` |" in text


def test_shipped_pipeline_files_use_known_settings() -> None:
    from spinepose_sports.batchconfig import load_config_file

    for path in sorted((ROOT / "pipelines").glob("*.toml")):
        inputs, _config = load_config_file(path)
        assert inputs, path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--smoothing", "kalmann"], "--smoothing kalmann"),
        (["--view", "side"], "--view side"),
        (["--tracker", "sort"], "--tracker sort"),
        (["--athletes", "longst:2"], "--athletes longst:2"),
        (["--min-track", "-1"], "--min-track -1"),
        (["--det-conf", "abc"], "--det-conf abc"),
        (["--model-version", "v3"], "--model-version v3"),
        (["--pose-model", "q"], "--pose-model q"),
    ],
)
def test_bad_flags_exit_1_at_once_with_one_line(args, message, tmp_path) -> None:
    proc = run_cli("analyze", tmp_path / "clip.mp4", "-o", tmp_path / "out", *args, timeout=60)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


def test_bad_pipeline_file_exits_1_at_once_naming_file_and_key(tmp_path) -> None:
    for table, text in (("smoothing", 'smoothing = "kalmann"'), ("kinematics", 'view = "side"'),
                        ("detector", 'tracker = "sort"'), ("tracks", 'athletes = "longst:2"'),
                        ("tracks", "min_track = -1")):
        definition = tmp_path / "club.toml"
        definition.write_text(f'inputs = ["clip.mp4"]\n[{table}]\n{text}\n')
        for cmd in (["run", definition], ["analyze", "--config", definition]):
            proc = run_cli(*cmd, timeout=60)
            assert proc.returncode == 1, proc.stderr
            key = text.split(" = ")[0]
            assert "club.toml" in proc.stderr and key in proc.stderr, proc.stderr
            assert len(proc.stderr.strip().splitlines()) == 1


def test_print_config_shows_file_settings_overridden_by_flags(tmp_path) -> None:
    import tomllib

    definition = tmp_path / "club.toml"
    definition.write_text('inputs = ["clip.mp4"]\n[detector]\nimgsz = 1280\ndet_conf = 0.05\n')
    proc = run_cli("analyze", "--config", definition, "--det-conf", "0.2", "--print-config")
    assert proc.returncode == 0, proc.stderr
    printed = tomllib.loads(proc.stdout)
    assert printed["detector"]["imgsz"] == 1280 and printed["detector"]["det_conf"] == 0.2
    assert printed["outputs"]["output"] == "results"  # the default: ./results
    assert AnalyzeConfig.from_tables(printed).detector.imgsz == 1280


@pytest.mark.parametrize(
    "args", [["models", "download", "q"], ["models", "path", "x"],
             ["models", "path", "m", "--model-version", "v3"]],
)
def test_models_commands_refuse_unknown_models_in_one_line(args) -> None:
    proc = run_cli(*args, timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "error:" in proc.stderr


def test_analyze_config_and_run_give_identical_results(
    tmp_path, vtest_clip, person_detector, standin_onnx
) -> None:
    from spinepose_sports.data import load_netcdf

    definition = tmp_path / "club.toml"
    definition.write_text(
        f'inputs = ["{vtest_clip}"]\n[outputs]\noutput = "out"\noverlay = false\n'
        f'dashboard = false\n[detector]\ndetector_weights = "{person_detector}"\n'
        f'person_classes = [0, 1]\n[pose]\npose_model = "{standin_onnx}"\n[input]\nend = 0.6\n'
        '[smoothing]\nsmoothing = "one-euro"\n'
    )
    assert run_cli("run", definition, "-q").returncode == 0
    proc = run_cli("analyze", "--config", definition, "-o", tmp_path / "again", "-q")
    assert proc.returncode == 0, proc.stderr
    first, second = tmp_path / "out" / "vtest", tmp_path / "again" / "vtest"
    for name in ("poses.nc", "poses_smoothed.nc", "kinematics.nc"):
        a, b = load_netcdf(first / name), load_netcdf(second / name)
        assert a.equals(b), name
    run_a, run_b = (json.loads((f / "run.json").read_text()) for f in (first, second))
    assert run_a["results_key"] == run_b["results_key"]
    run_a["config"]["outputs"].pop("output")
    run_b["config"]["outputs"].pop("output")
    assert run_a["config"] == run_b["config"]
