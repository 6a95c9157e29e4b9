"""The torch RTMPose (SpinePose architecture): size vs the paper, ONNX export, ONNX -> torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from spinepose_sports.pose import SpinePoseEstimator
from spinepose_sports.pose.convert import (
    ConversionError,
    export_onnx,
    infer_size,
    onnx_to_state_dict,
    rtmpose_from_onnx,
)
from spinepose_sports.pose.rtmpose import (
    SIZES,
    RTMPose,
    build_rtmpose,
    count_macs,
    count_macs_torch,
    count_parameters,
)


@pytest.fixture(scope="module")
def model_s() -> RTMPose:
    return build_rtmpose("s", seed=3)


@pytest.fixture(scope="module")
def onnx_s(model_s: RTMPose, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_onnx(model_s, tmp_path_factory.mktemp("rtmpose") / "s.onnx")


def _crops(n: int) -> np.ndarray:
    return np.random.default_rng(0).normal(0, 1, (n, 3, 256, 192)).astype(np.float32)


@pytest.mark.parametrize("size", ["s", "m", "l"])
def test_parameters_and_macs_match_the_paper(size: str) -> None:
    """Within 5% of the SpinePose paper's table; its "GFLOPs" are multiply-accumulates."""
    with torch.device("meta"):  # shapes only: nothing computed
        model = RTMPose(size)
    spec = SIZES[size]
    assert count_parameters(model) / 1e6 == pytest.approx(spec.paper_params_m, rel=0.05)
    assert count_macs(model) / 1e9 == pytest.approx(spec.paper_gflops, rel=0.05)


def test_mac_counter_equals_torch_flop_counter() -> None:
    with torch.device("meta"):
        model = RTMPose("s")
    assert count_macs(model) == count_macs_torch(model)


def test_output_shapes(model_s: RTMPose) -> None:
    with torch.no_grad():
        sx, sy = model_s(torch.from_numpy(_crops(2)))
    assert sx.shape == (2, 37, 384) and sy.shape == (2, 37, 512)


def test_export_has_the_official_contract(onnx_s: Path, tmp_path: Path) -> None:
    est = SpinePoseEstimator(onnx_s, device="cpu")
    assert est.batch_dynamic and est.input_name == "input" and est.input_wh == (192, 256)
    assert est.output_names == ["simcc_x", "simcc_y"]
    fixed = export_onnx(build_rtmpose("s"), tmp_path / "b1.onnx", batch=1)
    assert SpinePoseEstimator(fixed, device="cpu").batch_size == 1
    assert infer_size(onnx.load(str(onnx_s))) == ("s", 37, (192, 256))


def _assert_same_outputs(path: Path, model: RTMPose) -> None:
    crops = _crops(2)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ref = session.run(["simcc_x", "simcc_y"], {"input": crops})
    with torch.no_grad():
        got = model(torch.from_numpy(crops))
    for r, g in zip(ref, got, strict=True):
        assert np.abs(r - g.numpy()).max() < 1e-4


def test_onnx_to_torch_gives_identical_outputs(model_s: RTMPose, onnx_s: Path) -> None:
    """BatchNorm folded into the convs (as the official files): same outputs within 1e-4."""
    back = rtmpose_from_onnx(onnx_s)
    _assert_same_outputs(onnx_s, back)
    original = model_s.state_dict()
    head = ("gau.gamma", "gau.beta", "mlp.0.g", "gau.ln.g", "gau.res_scale.scale",
            "cls_x.weight", "final_layer.bias")  # fmt: skip
    for key in (f"head.{name}" for name in head):
        torch.testing.assert_close(back.state_dict()[key], original[key], rtol=0, atol=0)


def test_unfolded_batchnorm_graph_converts(model_s: RTMPose, tmp_path: Path) -> None:
    """A graph with BatchNormalization nodes and transposed weights: the exact parameters."""
    path = export_onnx(model_s, tmp_path / "unfolded.onnx", fold=False)
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert "BatchNormalization" in ops
    back = rtmpose_from_onnx(path)
    original = model_s.state_dict()
    for key, value in back.state_dict().items():
        torch.testing.assert_close(value, original[key], rtol=0, atol=0, msg=key)
    _assert_same_outputs(path, back)


def test_wrong_size_is_a_clear_error(onnx_s: Path) -> None:
    with pytest.raises(ConversionError, match="Conv layers: the module has"):
        onnx_to_state_dict(onnx_s, RTMPose("m"))
