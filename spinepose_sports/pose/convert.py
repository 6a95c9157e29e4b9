"""RTMPose torch module <-> ONNX: export with the SpinePose contract, load ONNX weights back.

* :func:`export_onnx` writes a model with the official contract (design §4): one float32
  input ``input (N, 3, h, w)``, outputs ``simcc_x (N, K, 2w)`` and ``simcc_y (N, K, 2h)``,
  the batch dim dynamic (``"batch"``) or fixed.
* :func:`onnx_to_state_dict` / :func:`rtmpose_from_onnx` read an RTMPose ONNX graph (the
  official SpinePose files or an export of :class:`~.rtmpose.RTMPose`) and return a torch
  state dict / module that computes the same outputs.

How the weights are found.  Exporters rename weights (``onnx::Conv_612``) and fold each
BatchNorm into the conv before it, so the graph is matched by structure, not by name:

* the ``Conv`` nodes, in graph order, are the module's convs in call order (shapes checked);
  a BatchNorm folded into its conv comes back as an identity BatchNorm (weight 1, mean 0,
  var ``1 - eps``) whose bias is the conv's bias; an unfolded ``BatchNormalization`` node
  after a conv is copied as is;
* the ``MatMul`` (or ``Gemm``) nodes with a constant operand are the Linear layers in call
  order (the ONNX weight is ``(in, out)``, torch's ``(out, in)``);
* the head's small parameters by their role: ScaleNorm's ``g`` is the constant of a ``Mul``
  whose other operand comes from a ``Div`` (``x / norm * g``), in call order (MLP, then
  GAU); the GAU's ``gamma`` a ``Mul`` and ``beta`` an ``Add`` constant of shape ``(2, s)``;
  its residual scale a ``Mul`` constant of shape ``(d,)``.

Constants are followed through ``Identity``, ``Unsqueeze``, ``Reshape``, ``Transpose`` and
``Constant``.
Anything missing or of the wrong shape raises :class:`ConversionError` naming the slot.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .rtmpose import BN_EPS, SIZES, RTMPose

OPSET = 17


class ConversionError(ValueError):
    """The ONNX graph is not an RTMPose the torch module can take weights from."""


def export_onnx(
    model: RTMPose,
    path: str | os.PathLike[str],
    *,
    batch: int | None = None,
    opset: int = OPSET,
    fold: bool = True,
) -> Path:
    """Export ``model`` (eval mode) with the official SpinePose ONNX contract.

    Args:
        model: the torch module; exported in eval mode (BatchNorm folded into the convs).
        path: output ``.onnx`` file (parent folders are created).
        batch: fixed batch size, or ``None`` for a dynamic ``"batch"`` dim.
        opset: ONNX opset.
        fold: fold constants, BatchNorm into the convs included (as the official files);
            ``False`` keeps ``BatchNormalization`` nodes and transposes of the weights.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = model.input_wh
    was_training = model.training
    model.eval()
    names = {"input": {0: "batch"}, "simcc_x": {0: "batch"}, "simcc_y": {0: "batch"}}
    mode = torch.onnx.TrainingMode.EVAL if fold else torch.onnx.TrainingMode.PRESERVE
    try:
        torch.onnx.export(
            model,
            (torch.zeros(batch or 1, 3, h, w),),
            str(path),
            input_names=["input"],
            output_names=["simcc_x", "simcc_y"],
            dynamic_axes=None if batch else names,
            opset_version=opset,
            do_constant_folding=fold,
            training=mode,
            dynamo=False,  # the TorchScript exporter: no onnxscript needed
        )
    finally:
        model.train(was_training)
    return path


# ---------------------------------------------------------------------------- reading ONNX


@dataclass
class _Graph:
    """What the converter reads out of an ONNX graph, in node order."""

    convs: list[tuple[np.ndarray, np.ndarray | None, dict[str, np.ndarray] | None]] = field(
        default_factory=list
    )  # (weight, bias, unfolded BatchNorm params)
    linears: list[np.ndarray] = field(default_factory=list)  # torch layout (out, in)
    norm_gains: list[np.ndarray] = field(default_factory=list)
    mul_consts: list[np.ndarray] = field(default_factory=list)
    add_consts: list[np.ndarray] = field(default_factory=list)
    input_hw: tuple[int, int] | None = None


def _constants(graph: Any) -> dict[str, np.ndarray]:
    """Initializers and Constant outputs, propagated through shape-only nodes."""
    from onnx import numpy_helper

    consts = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    consts[node.output[0]] = numpy_helper.to_array(attr.t)
            continue
        inputs = [consts.get(name) for name in node.input if name]
        if not inputs or any(a is None for a in inputs):
            continue
        first = inputs[0]
        assert first is not None
        if node.op_type == "Identity":
            consts[node.output[0]] = first
        elif node.op_type == "Unsqueeze":
            axes = inputs[1] if len(inputs) > 1 else _attr(node, "axes")
            assert axes is not None
            consts[node.output[0]] = np.expand_dims(first, tuple(int(a) for a in axes))
        elif node.op_type == "Transpose":
            perm = _attr(node, "perm")
            consts[node.output[0]] = np.transpose(first, None if perm is None else tuple(perm))
        elif node.op_type == "Reshape":
            shape = inputs[1]
            assert shape is not None
            consts[node.output[0]] = first.reshape([int(d) for d in shape])
    return consts


def _attr(node: Any, name: str) -> Any:
    from onnx import helper

    for attr in node.attribute:
        if attr.name == name:
            return helper.get_attribute_value(attr)
    return None


def _read_graph(model: Any) -> _Graph:
    """Conv, Linear and small-parameter constants of an RTMPose graph, in node order."""
    graph = model.graph
    consts = _constants(graph)
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    found = _Graph()
    dims = graph.input[0].type.tensor_type.shape.dim
    if len(dims) == 4 and dims[2].dim_value and dims[3].dim_value:
        found.input_hw = (int(dims[2].dim_value), int(dims[3].dim_value))
    for node in graph.node:
        op = node.op_type
        if op == "Conv":
            bias = consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
            after = consumers.get(node.output[0], [])
            bn = None
            if len(after) == 1 and after[0].op_type == "BatchNormalization":
                keys = ("weight", "bias", "running_mean", "running_var")
                bn = {k: consts[n] for k, n in zip(keys, after[0].input[1:5], strict=True)}
            found.convs.append((consts[node.input[1]], bias, bn))
        elif op in ("MatMul", "Gemm") and node.input[1] in consts:
            weight = consts[node.input[1]]
            transposed = op == "Gemm" and bool(_attr(node, "transB"))
            found.linears.append(weight if transposed else weight.T)
        elif op in ("Mul", "Add"):
            const = [consts[n] for n in node.input if n in consts]
            data = [n for n in node.input if n not in consts]
            if len(const) != 1 or len(data) != 1 or not np.issubdtype(const[0].dtype, np.floating):
                continue
            source = producer.get(data[0])
            if op == "Mul" and source is not None and source.op_type == "Div":
                found.norm_gains.append(const[0])
            elif op == "Mul":
                found.mul_consts.append(const[0])
            else:
                found.add_consts.append(const[0])
    return found


# ---------------------------------------------------------------------------- to torch


def _load_conv(
    state: dict[str, torch.Tensor],
    prefix: str,
    conv: nn.Conv2d,
    bn: nn.BatchNorm2d | None,
    found: tuple[np.ndarray, np.ndarray | None, dict[str, np.ndarray] | None],
) -> None:
    weight, bias, bn_params = found
    if tuple(weight.shape) != tuple(conv.weight.shape):
        raise ConversionError(
            f"{prefix}: conv weight {tuple(weight.shape)} in the ONNX graph, "
            f"the module expects {tuple(conv.weight.shape)}"
        )
    out = conv.out_channels
    state[f"{prefix}.weight"] = torch.from_numpy(np.array(weight, np.float32))
    bias_t = torch.from_numpy(np.array(bias, np.float32)) if bias is not None else None
    if bn is None:
        state[f"{prefix}.bias"] = bias_t if bias_t is not None else torch.zeros(out)
        return
    bn_prefix = prefix.rsplit(".", 1)[0] + ".bn"
    if bn_params is not None:
        for key, value in bn_params.items():
            state[f"{bn_prefix}.{key}"] = torch.from_numpy(np.array(value, np.float32))
        if bias_t is not None and bias_t.abs().max() > 0:  # conv bias: fold into the BN mean
            state[f"{bn_prefix}.running_mean"] = state[f"{bn_prefix}.running_mean"] - bias_t
    else:  # folded: an identity BatchNorm that carries the conv's bias
        state[f"{bn_prefix}.weight"] = torch.ones(out)
        state[f"{bn_prefix}.bias"] = bias_t if bias_t is not None else torch.zeros(out)
        state[f"{bn_prefix}.running_mean"] = torch.zeros(out)
        state[f"{bn_prefix}.running_var"] = torch.full((out,), 1.0 - BN_EPS)
    state[f"{bn_prefix}.num_batches_tracked"] = torch.tensor(0)


def _pick(values: list[np.ndarray], shape: tuple[int, ...], what: str) -> np.ndarray:
    """The first constant whose squeezed shape is ``shape``."""
    for value in values:
        if tuple(np.squeeze(value).shape) == shape or (shape == (1,) and value.size == 1):
            return np.array(value, np.float32).reshape(shape)
    raise ConversionError(f"{what}: no constant of shape {shape} in the ONNX graph")


def _load_head_params(state: dict[str, torch.Tensor], model: RTMPose, found: _Graph) -> None:
    gau = model.head.gau
    if len(found.norm_gains) != 2:
        raise ConversionError(
            f"ScaleNorm gains: expected 2 (head.mlp.0.g, head.gau.ln.g), "
            f"found {len(found.norm_gains)}"
        )
    for key, value in zip(("head.mlp.0.g", "head.gau.ln.g"), found.norm_gains, strict=True):
        state[key] = torch.from_numpy(np.array(value, np.float32).reshape(1))
    s, dim = gau.s, gau.res_scale.scale.shape[0]
    state["head.gau.gamma"] = torch.from_numpy(_pick(found.mul_consts, (2, s), "head.gau.gamma"))
    state["head.gau.beta"] = torch.from_numpy(_pick(found.add_consts, (2, s), "head.gau.beta"))
    state["head.gau.res_scale.scale"] = torch.from_numpy(
        _pick(found.mul_consts, (dim,), "head.gau.res_scale.scale")
    )


def _call_order(model: RTMPose, kind: type[nn.Module]) -> list[str]:
    """Qualified names of the ``kind`` modules in the order a forward pass calls them.

    Traced on a replica on the ``"meta"`` device: shapes only, nothing computed.
    """
    with torch.device("meta"):
        replica = RTMPose(model.size, model.num_keypoints, model.input_wh)
    names = {module: name for name, module in replica.named_modules()}
    order: list[str] = []
    hooks = [
        m.register_forward_pre_hook(lambda mod, _args: order.append(names[mod]))
        for m in replica.modules()
        if isinstance(m, kind)
    ]
    w, h = model.input_wh
    with torch.no_grad():
        replica(torch.zeros(1, 3, h, w, device="meta"))
    for hook in hooks:
        hook.remove()
    return order


def onnx_to_state_dict(onnx_model: Any, model: RTMPose) -> dict[str, torch.Tensor]:
    """The state dict that makes ``model`` compute what the ONNX graph computes.

    Args:
        onnx_model: an ``onnx.ModelProto`` or a path to an ``.onnx`` file.
        model: the target module (its size, keypoints and input size must match).

    Returns:
        A complete state dict for ``model`` (``model.load_state_dict(sd, strict=True)``).

    Raises:
        ConversionError: a layer is missing or has another shape.
    """
    import onnx

    proto = onnx_model if isinstance(onnx_model, onnx.ModelProto) else onnx.load(str(onnx_model))
    found = _read_graph(proto)
    modules = dict(model.named_modules())
    convs, linears = _call_order(model, nn.Conv2d), _call_order(model, nn.Linear)
    for what, ours, theirs in (("Conv", convs, found.convs), ("Linear", linears, found.linears)):
        if len(ours) != len(theirs):
            raise ConversionError(
                f"{what} layers: the module has {len(ours)}, the ONNX graph {len(theirs)} "
                f"(another size or not an RTMPose graph?)"
            )
    state: dict[str, torch.Tensor] = {}
    for name, conv_found in zip(convs, found.convs, strict=True):
        parent = name.rsplit(".", 1)[0]
        bn = modules.get(parent + ".bn") if name.endswith(".conv") else None
        conv = modules[name]
        assert isinstance(conv, nn.Conv2d)
        _load_conv(state, name, conv, bn if isinstance(bn, nn.BatchNorm2d) else None, conv_found)
    for name, weight in zip(linears, found.linears, strict=True):
        linear = modules[name]
        assert isinstance(linear, nn.Linear)
        expected = tuple(linear.weight.shape)
        if tuple(weight.shape) != expected:
            raise ConversionError(
                f"{name}: linear weight {tuple(weight.shape)} (torch layout) in the ONNX "
                f"graph, the module expects {expected}"
            )
        state[f"{name}.weight"] = torch.from_numpy(np.array(weight, np.float32))
    _load_head_params(state, model, found)
    missing = set(model.state_dict()) - set(state)
    if missing:
        raise ConversionError(f"not found in the ONNX graph: {sorted(missing)[:5]}")
    return state


def infer_size(onnx_model: Any) -> tuple[str, int, tuple[int, int]]:
    """``(size, num_keypoints, input_wh)`` of an RTMPose ONNX graph.

    The size comes from the stem's first conv (``32 * widen`` channels), the keypoints from
    the 7x7 head conv, the input size from the graph input.
    """
    found = _read_graph(onnx_model)
    if not found.convs or found.input_hw is None:
        raise ConversionError("no convs or no static (h, w) input: not an RTMPose graph")
    stem = found.convs[0][0].shape[0]
    by_stem = {int(64 * spec.widen // 2): name for name, spec in SIZES.items()}
    if stem not in by_stem:
        raise ConversionError(f"stem conv has {stem} channels: not one of the sizes {by_stem}")
    heads = [w for w, _, _ in found.convs if w.shape[2:] == (7, 7)]
    if not heads:
        raise ConversionError("no 7x7 head conv: not an RTMCC head")
    h, w = found.input_hw
    return by_stem[stem], int(heads[-1].shape[0]), (w, h)


def rtmpose_from_onnx(path: str | os.PathLike[str]) -> RTMPose:
    """An :class:`RTMPose` (eval mode) carrying the weights of an RTMPose ONNX file.

    Size, keypoints and input size are read from the graph (:func:`infer_size`).
    """
    import onnx

    proto = onnx.load(str(path))
    size, keypoints, input_wh = infer_size(proto)
    model = RTMPose(size, num_keypoints=keypoints, input_wh=input_wh)
    model.load_state_dict(onnx_to_state_dict(proto, model), strict=True)
    return model.eval()
