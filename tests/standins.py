"""Stand-in ONNX pose models with the exact SpinePose input/output contract.

The official SpinePose weights cannot be downloaded where this project is built and tested,
so tests and benchmarks use generated stand-ins (design §4):

* input ``input`` float32 ``(N, 3, h, w)`` (default ``h, w = 256, 192``), outputs
  ``simcc_x`` float32 ``(N, 37, 2w)`` and ``simcc_y`` float32 ``(N, 37, 2h)``; ``N`` is the
  symbolic dim ``"batch"`` (dynamic) or a fixed integer;
* ``kind="template"``: SimCC logits that peak at a fixed standing-person skeleton (front
  view) in crop coordinates, so decoded keypoints form a human-like figure inside each box.
  The output is a real function of the input: a weighted channel mean ``m`` of the
  normalised crop (weights 1, 0.5, 0 on the fed channels, so RGB vs BGR matters) shifts every
  peak by ``shift_px * tanh(m)`` input px and scales the peak heights by
  ``1 + 0.1 * tanh(m)``.  Peak heights (= scores) lie in about 0.5-0.9; keypoints listed in
  ``invalid_keypoints`` (default: ``left_small_toe``) get a negative peak, so they decode as
  invalid (NaN);
* ``kind="compute"``: a plain conv stack + SimCC-like head of about SpinePose-s cost
  (~0.67 G multiply-adds per crop) with random weights, for speed benchmarks.  Its keypoints
  mean nothing.

Never present a stand-in's keypoints as a real result.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from spinepose_sports.skeleton import KEYPOINT_INDEX, KEYPOINT_NAMES, NUM_KEYPOINTS

OPSET = 17
IR_VERSION = 8
SPLIT_RATIO = 2

#: Standing person, front view, in person units: u across (athlete's left = +u, image right),
#: v down from the top of the head (0) to the soles (1).
TEMPLATE_UV: dict[str, tuple[float, float]] = {
    "nose": (0.0, 0.07),
    "left_eye": (0.03, 0.055),
    "right_eye": (-0.03, 0.055),
    "left_ear": (0.06, 0.065),
    "right_ear": (-0.06, 0.065),
    "left_shoulder": (0.22, 0.19),
    "right_shoulder": (-0.22, 0.19),
    "left_elbow": (0.27, 0.37),
    "right_elbow": (-0.27, 0.37),
    "left_wrist": (0.28, 0.52),
    "right_wrist": (-0.28, 0.52),
    "left_hip": (0.12, 0.54),
    "right_hip": (-0.12, 0.54),
    "left_knee": (0.12, 0.75),
    "right_knee": (-0.12, 0.75),
    "left_ankle": (0.12, 0.94),
    "right_ankle": (-0.12, 0.94),
    "head": (0.0, 0.01),
    "neck": (0.0, 0.17),
    "hip": (0.0, 0.55),
    "left_big_toe": (0.14, 0.985),
    "right_big_toe": (-0.14, 0.985),
    "left_small_toe": (0.18, 0.98),
    "right_small_toe": (-0.18, 0.98),
    "left_heel": (0.12, 0.97),
    "right_heel": (-0.12, 0.97),
    "spine_01": (0.0, 0.53),
    "spine_02": (0.0, 0.48),
    "spine_03": (0.0, 0.42),
    "spine_04": (0.0, 0.32),
    "spine_05": (0.0, 0.22),
    "left_latissimus": (0.15, 0.33),
    "right_latissimus": (-0.15, 0.33),
    "left_clavicle": (0.1, 0.18),
    "right_clavicle": (-0.1, 0.18),
    "neck_02": (0.0, 0.12),
    "neck_03": (0.0, 0.09),
}


def template_keypoints(input_hw: tuple[int, int] = (256, 192)) -> np.ndarray:
    """The template skeleton in model-input px, ``(37, 2)`` float64 (x, y).

    The person spans the unpadded box: the middle ``1 / 1.25`` of the crop height, and
    ``0.42 * h / 1.25`` px of width per person unit (a person box of aspect 0.42).
    """
    h, w = input_hw
    height = h / 1.25
    top = (h - height) / 2
    uv = np.array([TEMPLATE_UV[name] for name in KEYPOINT_NAMES], dtype=np.float64)
    x = w / 2 + uv[:, 0] * 0.42 * height
    y = top + uv[:, 1] * height
    return np.stack([x, y], axis=1)


def _value_info(name: str, batch: int | None, dims: Sequence[int | str]) -> onnx.ValueInfoProto:
    first: int | str = "batch" if batch is None else int(batch)
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [first, *dims])


def _const(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name)


def _template_graph(
    input_hw: tuple[int, int],
    seed: int,
    invalid_keypoints: Sequence[str | int],
    shift_px: float,
) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """Nodes computing ``peak_k * (1 + 0.1 tanh m) - a * (bin - mu_k - d tanh m)^2``."""
    h, w = input_hw
    rng = np.random.default_rng(seed)
    peak = rng.uniform(0.55, 0.85, NUM_KEYPOINTS)
    for key in invalid_keypoints:
        peak[key if isinstance(key, int) else KEYPOINT_INDEX[key]] = -0.4
    mu = template_keypoints(input_hw) * SPLIT_RATIO  # bins
    inits = [
        _const("channel_w", np.array([1.0, 0.5, 0.0]).reshape(1, 3, 1, 1)),
        _const("peak", peak.reshape(1, NUM_KEYPOINTS, 1)),
        _const("peak_gain", np.array(0.1)),
        _const("one", np.array(1.0)),
        _const("curv", np.array(0.01)),
        _const("shift_bins", np.array(shift_px * SPLIT_RATIO)),
        numpy_helper.from_array(np.array([-1, 1, 1], np.int64), "shape_n11"),
        numpy_helper.from_array(np.array([1, 2, 3], np.int64), "reduce_axes"),
    ]
    nodes = [
        helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
        helper.make_node("Mul", ["pooled", "channel_w"], ["weighted"]),
        helper.make_node("ReduceSum", ["weighted", "reduce_axes"], ["m4"], keepdims=1),
        helper.make_node("Reshape", ["m4", "shape_n11"], ["m"]),
        helper.make_node("Tanh", ["m"], ["t"]),
        helper.make_node("Mul", ["t", "peak_gain"], ["tg"]),
        helper.make_node("Add", ["tg", "one"], ["gain"]),
        helper.make_node("Mul", ["peak", "gain"], ["height"]),  # (N, 37, 1)
        helper.make_node("Mul", ["t", "shift_bins"], ["shift"]),  # (N, 1, 1)
    ]
    for axis, (col, bins) in {"x": (0, 2 * w), "y": (1, 2 * h)}.items():
        inits += [
            _const(f"bins_{axis}", np.arange(bins, dtype=np.float64).reshape(1, 1, bins)),
            _const(f"mu_{axis}", mu[:, col].reshape(1, NUM_KEYPOINTS, 1)),
        ]
        nodes += [
            helper.make_node("Add", [f"mu_{axis}", "shift"], [f"c_{axis}"]),
            helper.make_node("Sub", [f"bins_{axis}", f"c_{axis}"], [f"d_{axis}"]),
            helper.make_node("Mul", [f"d_{axis}", f"d_{axis}"], [f"d2_{axis}"]),
            helper.make_node("Mul", [f"d2_{axis}", "curv"], [f"pen_{axis}"]),
            helper.make_node("Sub", ["height", f"pen_{axis}"], [f"simcc_{axis}"]),
        ]
    return nodes, inits


#: Conv stack of the compute stand-in: (out channels, stride) per 3x3 conv.
_COMPUTE_CONVS: tuple[tuple[int, int], ...] = (
    (24, 2), (48, 2), (48, 1), (96, 2), (96, 1), (96, 1),
    (192, 2), (192, 1), (192, 1), (192, 1), (384, 2), (384, 1), (384, 1),
)  # fmt: skip


def _compute_graph(
    input_hw: tuple[int, int], seed: int
) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """Conv/ReLU backbone (stride 32) -> 1x1 conv to 37 maps -> MLP to SimCC x and y."""
    h, w = input_hw
    rng = np.random.default_rng(seed)
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    prev, c_in = "input", 3
    for i, (c_out, stride) in enumerate(_COMPUTE_CONVS):
        weight = rng.normal(0, np.sqrt(2.0 / (9 * c_in)), (c_out, c_in, 3, 3))
        inits += [_const(f"w{i}", weight), _const(f"b{i}", np.zeros(c_out))]
        nodes += [
            helper.make_node(
                "Conv", [prev, f"w{i}", f"b{i}"], [f"conv{i}"],
                kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[stride, stride],
            ),
            helper.make_node("Relu", [f"conv{i}"], [f"act{i}"]),
        ]  # fmt: skip
        prev, c_in = f"act{i}", c_out
    cells = (h // 32) * (w // 32)
    hidden = 256
    inits += [
        _const("w_head", rng.normal(0, np.sqrt(1.0 / c_in), (NUM_KEYPOINTS, c_in, 1, 1))),
        numpy_helper.from_array(np.array([0, NUM_KEYPOINTS, cells], np.int64), "head_shape"),
        _const("w_hidden", rng.normal(0, np.sqrt(1.0 / cells), (cells, hidden))),
        _const("w_x", rng.normal(0, np.sqrt(1.0 / hidden), (hidden, 2 * w))),
        _const("w_y", rng.normal(0, np.sqrt(1.0 / hidden), (hidden, 2 * h))),
    ]
    nodes += [
        helper.make_node("Conv", [prev, "w_head"], ["maps"], kernel_shape=[1, 1]),
        helper.make_node("Reshape", ["maps", "head_shape"], ["tokens"]),  # (N, 37, cells)
        helper.make_node("MatMul", ["tokens", "w_hidden"], ["hid"]),
        helper.make_node("Relu", ["hid"], ["hid_act"]),
        helper.make_node("MatMul", ["hid_act", "w_x"], ["simcc_x"]),
        helper.make_node("MatMul", ["hid_act", "w_y"], ["simcc_y"]),
    ]
    return nodes, inits


def make_standin_model(
    path: str | Path,
    *,
    batch: int | None = None,
    input_hw: tuple[int, int] = (256, 192),
    kind: str = "template",
    seed: int = 0,
    invalid_keypoints: Sequence[str | int] = ("left_small_toe",),
    shift_px: float = 3.0,
) -> Path:
    """Write a stand-in SpinePose ONNX model and return its path.

    Args:
        path: where to write the ``.onnx`` file (parent folders are created).
        batch: fixed batch size of input and outputs, or ``None`` for a dynamic ``"batch"``.
        input_hw: model input ``(height, width)`` px; outputs have ``2 * width`` and
            ``2 * height`` bins.
        kind: ``"template"`` (human-like keypoints) or ``"compute"`` (SpinePose-s cost).
        seed: seed of the peak heights (template) or the random weights (compute).
        invalid_keypoints: template only: keypoints (names or indices) whose peaks are
            negative, so that they decode as invalid.
        shift_px: template only: largest input-dependent shift of the peaks, input px.

    Returns:
        The path written.
    """
    h, w = input_hw
    if kind == "template":
        nodes, inits = _template_graph(input_hw, seed, invalid_keypoints, shift_px)
    elif kind == "compute":
        if h % 32 or w % 32:
            raise ValueError(f"input_hw: the compute stand-in needs multiples of 32: {input_hw}")
        nodes, inits = _compute_graph(input_hw, seed)
    else:
        raise ValueError(f"kind: expected 'template' or 'compute', received {kind!r}")
    graph = helper.make_graph(
        nodes,
        f"spinepose_standin_{kind}",
        [_value_info("input", batch, (3, h, w))],
        [
            _value_info("simcc_x", batch, (NUM_KEYPOINTS, 2 * w)),
            _value_info("simcc_y", batch, (NUM_KEYPOINTS, 2 * h)),
        ],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="spinepose-sports-tests",
        doc_string=f"Stand-in for SpinePose ({kind}); its keypoints are not real results.",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def make_bad_model(path: str | Path, *, defect: str) -> Path:
    """Write an ONNX model that breaks the SpinePose contract in one way.

    Args:
        path: output file.
        defect: ``"output_shape"`` (simcc_x has 300 bins instead of 384),
            ``"input_channels"`` (input has 1 channel), ``"one_output"`` (only simcc_x),
            ``"keypoints"`` (17 keypoints instead of 37), ``"hidden_output_shape"`` (declared
            output dims all symbolic, simcc_x really has 300 bins: caught at the first run).
    """
    c_in, n_kp, bins_x, outputs = 3, NUM_KEYPOINTS, 384, 2
    hidden = defect == "hidden_output_shape"
    if defect == "output_shape":
        bins_x = 300
    elif defect == "input_channels":
        c_in = 1
    elif defect == "one_output":
        outputs = 1
    elif defect == "keypoints":
        n_kp = 17
    elif hidden:
        bins_x = 300
    else:
        raise ValueError(f"defect: unknown {defect!r}")
    inits = [
        numpy_helper.from_array(np.array([1, 2, 3], np.int64), "axes"),
        _const("zx", np.zeros((1, n_kp, bins_x))),
        _const("zy", np.zeros((1, n_kp, 512))),
    ]
    nodes = [
        helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
        helper.make_node("ReduceSum", ["pooled", "axes"], ["m"], keepdims=1),  # (N,1,1,1)
        helper.make_node("Squeeze", ["m", "axes_sq"], ["m1"]),
        helper.make_node("Add", ["zx", "m1"], ["simcc_x"]),
        helper.make_node("Add", ["zy", "m1"], ["simcc_y"]),
    ]
    inits.append(numpy_helper.from_array(np.array([3], np.int64), "axes_sq"))
    if hidden:  # slice zx at a data-dependent end (always bins_x), so no tool infers it
        inits += [_const("zero", np.array(0.0)), _const("end", np.array([bins_x]))]
        inits.append(numpy_helper.from_array(np.array([2], np.int64), "slice_axis"))
        inits.append(numpy_helper.from_array(np.array([0], np.int64), "slice_start"))
        nodes[3:3] = [
            helper.make_node("ReduceMax", ["m"], ["mx"], keepdims=0),
            helper.make_node("Mul", ["mx", "zero"], ["mz"]),
            helper.make_node("Add", ["end", "mz"], ["end_f"]),
            helper.make_node("Cast", ["end_f"], ["end_i"], to=TensorProto.INT64),
            helper.make_node("Slice", ["zx", "slice_start", "end_i", "slice_axis"], ["zx_cut"]),
        ]
        nodes[-2] = helper.make_node("Add", ["zx_cut", "m1"], ["simcc_x"])
    outs = [
        _value_info("simcc_x", None, ("k", "bins_x") if hidden else (n_kp, bins_x)),
        _value_info("simcc_y", None, ("k", "bins_y") if hidden else (n_kp, 512)),
    ][:outputs]
    inputs = [_value_info("input", None, (c_in, 256, 192))]
    graph = helper.make_graph(
        nodes[: len(nodes) - 2 + outputs], "bad", inputs, outs, initializer=inits
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def make_nonfinite_model(
    path: str | Path,
    *,
    nan_keypoints: Sequence[str] = ("spine_03", "left_knee"),
    inf_keypoints: Sequence[str] = ("left_wrist",),
    neg_inf_keypoints: Sequence[str] = ("nose",),
) -> Path:
    """The template stand-in (dynamic batch) with NaN, +inf and -inf logits: a broken
    model.  ``nan_keypoints``: NaN in every bin (x and y); ``inf_keypoints``: +inf in one x
    bin; ``neg_inf_keypoints``: -inf in every bin."""
    h, w = 256, 192
    nodes, inits = _template_graph((h, w), 0, ("left_small_toe",), 3.0)
    for node in nodes:
        if node.output[0] in ("simcc_x", "simcc_y"):
            node.output[0] = "raw_" + node.output[0][-1]
    for axis, bins in (("x", 2 * w), ("y", 2 * h)):
        mask = np.zeros((1, NUM_KEYPOINTS, bins), np.float32)
        for name in nan_keypoints:
            mask[0, KEYPOINT_INDEX[name]] = np.nan
        for name in neg_inf_keypoints:
            mask[0, KEYPOINT_INDEX[name]] = -np.inf
        if axis == "x":
            for name in inf_keypoints:
                mask[0, KEYPOINT_INDEX[name], bins // 2] = np.inf
        inits.append(numpy_helper.from_array(mask, f"mask_{axis}"))
        nodes.append(helper.make_node("Add", [f"raw_{axis}", f"mask_{axis}"], [f"simcc_{axis}"]))
    graph = helper.make_graph(
        nodes, "spinepose_standin_nonfinite", [_value_info("input", None, (3, h, w))],
        [_value_info("simcc_x", None, (NUM_KEYPOINTS, 2 * w)),
         _value_info("simcc_y", None, (NUM_KEYPOINTS, 2 * h))],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
