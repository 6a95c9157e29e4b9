"""Shared fixtures: the real clips and the real offline detector in ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Nothing in the tests touches the network.
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("SPINEPOSE_SPORTS_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SPINEPOSE_SPORTS_SHARED", REPO_ROOT.parent / "shared"))


def _shared_file(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: the tests need ../shared beside the repository "
            "(or SPINEPOSE_SPORTS_SHARED pointing at it)"
        )
    return path


@pytest.fixture(scope="session")
def sports2d_clip() -> Path:
    """1768x994, 30 fps, 230 frames, VP9 + AAC; 3 people."""
    return _shared_file("videos", "sports2d_demo.mp4")


@pytest.fixture(scope="session")
def vtest_clip() -> Path:
    """768x576, 10 fps, 795 frames, MS-MPEG4 v3 AVI; street pedestrians."""
    return _shared_file("videos", "vtest.avi")


@pytest.fixture(scope="session")
def pose2sim_clip() -> Path:
    """1080x1920 portrait, 60 fps, 100 frames, H.264; one athlete."""
    return _shared_file("videos", "pose2sim_single_athlete.mp4")


@pytest.fixture(scope="session")
def person_detector() -> Path:
    """Real YOLOv8 person detector; classes 0 and 1 are both persons."""
    return _shared_file("models", "person_yolov8.pt")


@pytest.fixture(scope="session")
def standin_onnx(tmp_path_factory) -> Path:
    """A generated stand-in with SpinePose's exact contract (dynamic batch, template)."""
    from standins import make_standin_model

    return make_standin_model(tmp_path_factory.mktemp("models") / "standin.onnx")


@pytest.fixture(scope="session")
def sports2d_run(tmp_path_factory, sports2d_clip, person_detector, standin_onnx):
    """The foundation's acceptance command, once per session, on the whole clip.

    Returns (results folder, CompletedProcess)."""
    from cli_runner import run_cli

    out = tmp_path_factory.mktemp("out")
    proc = run_cli(
        "analyze",
        sports2d_clip,
        "-o",
        out,
        "--detector-weights",
        person_detector,
        "--person-classes",
        "0,1",
        "--pose-model",
        standin_onnx,
        "--quiet",
    )
    assert proc.returncode == 0, proc.stderr
    return out / "sports2d_demo", proc


def _toml_value(value) -> str:
    import json

    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)  # str, int, float, bool and lists of them are valid TOML


@pytest.fixture(scope="session")
def sports2d_far_run(tmp_path_factory, sports2d_clip, person_detector, standin_onnx):
    """``spinepose-sports run`` with the settings of pipelines/far_athletes.toml, on the
    whole sports2d clip, once per session; the offline detector and the stand-in pose
    model replace the official weights, and no overlay or dashboard is drawn.

    Returns the results folder."""
    import tomllib

    from cli_runner import run_cli

    shipped = tomllib.loads((REPO_ROOT / "pipelines" / "far_athletes.toml").read_text())
    analyze = dict(shipped["analyze"])
    analyze.update(detector_weights=str(person_detector), pose_model=str(standin_onnx),
                   person_classes=[0, 1], overlay=False, dashboard=False,
                   skip_completed=False)
    work = tmp_path_factory.mktemp("far")
    lines = [f"inputs = {_toml_value([str(sports2d_clip)])}", 'output_dir = "out"', "[analyze]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in analyze.items()]
    definition = work / "far.toml"
    definition.write_text("\n".join(lines) + "\n")
    proc = run_cli("run", definition, "-q")
    assert proc.returncode == 0, proc.stderr
    return work / "out" / "sports2d_demo"
