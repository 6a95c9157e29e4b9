"""Shared fixtures: the real clips and the real offline detector in ../shared."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

# Nothing in the tests touches the network.
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("SPINEPOSE_SPORTS_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SPINEPOSE_SPORTS_SHARED", REPO_ROOT.parent / "shared"))


def _find_or_install_chromium() -> str | None:
    """A headless Chromium for the browser tests: the one on PATH, else Debian's package,
    installed here when the tests run as root with apt (as on CI and a fresh machine)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]):
        subprocess.run(cmd, env=env, capture_output=True, timeout=1200, check=False)
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of headless Chromium; the browser tests fail (never skip) without one."""
    path = _find_or_install_chromium()
    if path is None:
        pytest.fail(
            "the browser tests need Chromium: apt-get install -y --no-install-recommends "
            "chromium (the tests install it themselves when run as root)"
        )
    return path


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


@pytest.fixture(scope="session")
def sports2d_far_run(tmp_path_factory, sports2d_clip, person_detector, standin_onnx):
    """``spinepose-sports run`` with the settings of pipelines/far_athletes.toml, on the
    whole sports2d clip, once per session; the offline detector and the stand-in pose
    model replace the official weights, and no overlay or dashboard is drawn.

    Returns the results folder."""
    import tomli_w
    from cli_runner import run_cli

    from spinepose_sports.batchconfig import load_config_file

    _, shipped = load_config_file(REPO_ROOT / "pipelines" / "far_athletes.toml")
    work = tmp_path_factory.mktemp("far")
    config = shipped.replace(
        detector_weights=str(person_detector), pose_model=str(standin_onnx),
        person_classes=[0, 1], overlay=False, dashboard=False, skip_completed=False,
        output=str(work / "out"),
    )
    definition = work / "far.toml"
    definition.write_text(tomli_w.dumps({"inputs": [str(sports2d_clip)], **config.to_tables()}))
    proc = run_cli("run", definition, "-q")
    assert proc.returncode == 0, proc.stderr
    return work / "out" / "sports2d_demo"
