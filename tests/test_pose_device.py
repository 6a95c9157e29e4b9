"""The pose model's device and precision: providers chosen from the device, fp16 on CPU.

No GPU is needed: CUDA is simulated by the list of providers onnxruntime offers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from standins import make_standin_model

from spinepose_sports.pose import DeviceError, SpinePoseEstimator, resolve_device
from spinepose_sports.pose.runtime import CPU, CUDA

CPU_ONLY = [CPU]
WITH_CUDA = ["TensorrtExecutionProvider", CUDA, CPU]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_standin_model(tmp_path_factory.mktemp("device") / "template.onnx")


@pytest.mark.parametrize(
    ("device", "available", "name", "providers"),
    [
        ("cpu", WITH_CUDA, "cpu", [CPU]),
        ("mps", WITH_CUDA, "cpu", [CPU]),
        ("auto", CPU_ONLY, "cpu", [CPU]),
        (None, CPU_ONLY, "cpu", [CPU]),
        ("auto", WITH_CUDA, "cuda:0", [(CUDA, {"device_id": 0}), CPU]),
        ("cuda", WITH_CUDA, "cuda:0", [(CUDA, {"device_id": 0}), CPU]),
        ("CUDA:1", WITH_CUDA, "cuda:1", [(CUDA, {"device_id": 1}), CPU]),
    ],
)
def test_providers_follow_the_device(
    device: str | None, available: list[str], name: str, providers: list[object]
) -> None:
    choice = resolve_device(device, available)
    assert choice.name == name and choice.providers == providers


def test_cuda_without_the_gpu_build_says_how_to_install() -> None:
    with pytest.raises(DeviceError, match=r"spinepose-sports\[gpu\]"):
        resolve_device("cuda:0", CPU_ONLY)
    for bad in ("gpu", "cuda:x", "cuda0", ""):
        with pytest.raises(DeviceError, match="expected 'cpu'"):
            resolve_device(bad, WITH_CUDA)


def test_cpu_device_uses_only_the_cpu(template: Path) -> None:
    est = SpinePoseEstimator(template, device="cpu")
    assert est.session.get_providers() == [CPU]
    info = est.describe()
    assert info["device"] == "cpu" and info["device_used"] == "cpu" and info["fp16"] is False


def test_cuda_that_does_not_start_is_an_error(
    template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """onnxruntime falls back to the CPU silently; an explicit 'cuda' must not."""
    if CUDA in ort.get_available_providers():
        pytest.skip("this onnxruntime really has CUDA")
    monkeypatch.setattr(ort, "get_available_providers", lambda: WITH_CUDA)
    with pytest.raises(DeviceError, match="could not start CUDA"):
        SpinePoseEstimator(template, device="cuda")
    # "auto" accepts the fallback and records it
    assert SpinePoseEstimator(template, device="auto").describe()["device_used"] == "cpu"


def test_fp16_runs_on_cpu_close_to_fp32(template: Path) -> None:
    """fp16 keeps the float32 contract; on the template stand-in most keypoints stay put and
    the rest move by one SimCC bin at most (0.5 input px: about 1.15 frame px here)."""
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    boxes = np.array([[100, 50, 260, 420], [300, 80, 420, 400], [500, 10, 630, 470]], float)
    fp32 = SpinePoseEstimator(template, device="cpu")
    fp16 = SpinePoseEstimator(template, device="cpu", fp16=True)
    assert fp16.describe()["fp16"] is True and "fp16" in repr(fp16)
    xy32, s32 = fp32(frame, boxes)
    xy16, s16 = fp16(frame, boxes)
    assert xy16.dtype == np.float32 and xy16.shape == xy32.shape
    np.testing.assert_array_equal(np.isnan(xy16), np.isnan(xy32))
    moved = np.abs(xy16 - xy32)[~np.isnan(xy32)]
    assert moved.max() < 1.2 and (moved == 0).mean() > 0.9
    assert np.nanmax(np.abs(s16 - s32)) < 0.01
