"""onnxruntime plumbing of the pose stage: device -> providers, session options, fp16.

* ``device``: ``"cpu"``, ``"cuda"`` / ``"cuda:i"`` or ``"auto"`` (CUDA when this
  onnxruntime build offers it, else CPU; ``None`` means ``"auto"``).  ``"mps"`` (a torch
  device the detector accepts) runs the pose model on the CPU: onnxruntime has no MPS
  provider.  Asking for CUDA where the build has no CUDA provider is an error that says how
  to install the GPU build (``pip install "spinepose-sports[gpu]"``).
* fp16: the model's float32 weights and activations converted to float16, its input and
  outputs kept float32 (the contract unchanged), with onnxruntime's bundled converter
  (``onnxruntime.transformers.float16``, which needs the ``onnx`` package).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
DEVICES_HELP = "'cpu', 'cuda', 'cuda:<index>' or 'auto'"
_CUDA_RE = re.compile(r"^cuda(?::(\d+))?$")


class DeviceError(ValueError):
    """An unknown device, or CUDA asked for where onnxruntime cannot use it."""


@dataclass(frozen=True)
class DeviceChoice:
    """The resolved device: ``kind`` ``"cpu"`` or ``"cuda"``, the CUDA ``index``, providers."""

    requested: str
    kind: str
    index: int | None
    providers: list[Any]

    @property
    def name(self) -> str:
        """``"cpu"`` or ``"cuda:i"``."""
        return self.kind if self.index is None else f"{self.kind}:{self.index}"


def resolve_device(device: str | None, available: Sequence[str] | None = None) -> DeviceChoice:
    """Providers for a device name.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:i"``, ``"auto"`` or ``None`` (= ``"auto"``);
            ``"mps"`` runs on the CPU.
        available: onnxruntime's available providers (default: asked from onnxruntime).

    Returns:
        The choice; its ``providers`` go to ``onnxruntime.InferenceSession``: CUDA (with its
        ``device_id``) then CPU, or CPU only.

    Raises:
        DeviceError: an unknown name, or CUDA asked for without a CUDA provider.
    """
    requested = "auto" if device is None else str(device).strip().lower()
    if available is None:
        import onnxruntime as ort

        available = ort.get_available_providers()
    if requested in ("cpu", "mps"):
        return DeviceChoice(requested, "cpu", None, [CPU])
    if requested == "auto":
        if CUDA in available:
            return DeviceChoice(requested, "cuda", 0, [(CUDA, {"device_id": 0}), CPU])
        return DeviceChoice(requested, "cpu", None, [CPU])
    match = _CUDA_RE.match(requested)
    if match is None:
        raise DeviceError(f"device: expected {DEVICES_HELP}, got {device!r}")
    if CUDA not in available:
        raise DeviceError(
            f"device {device!r}: this onnxruntime build has no CUDA provider (it offers "
            f'{list(available)}); install the GPU build: pip install "spinepose-sports[gpu]" '
            "(replaces onnxruntime by onnxruntime-gpu), or use device='cpu' or 'auto'"
        )
    index = int(match.group(1) or 0)
    return DeviceChoice(requested, "cuda", index, [(CUDA, {"device_id": index}), CPU])


def session_options(intra_op_threads: int | None = None, spinning: bool = False) -> Any:
    """onnxruntime session options of the pose stage.

    Args:
        intra_op_threads: threads of one op (None: onnxruntime's choice, one per core).
        spinning: let idle intra-op threads spin (off: two sessions in one process then
            stop fighting over the cores; design §8).

    Returns:
        ``onnxruntime.SessionOptions`` with all graph optimisations on.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    if intra_op_threads is not None:
        options.intra_op_num_threads = int(intra_op_threads)
    return options


def float16_model(path: str | Path) -> bytes:
    """The ONNX model at ``path`` converted to float16, serialised; input / outputs float32.

    Raises:
        ImportError: the ``onnx`` package is missing (``pip install onnx``).
    """
    try:
        import onnx
        from onnxruntime.transformers.float16 import convert_float_to_float16
    except ImportError as exc:  # pragma: no cover - onnx is a test dependency here
        raise ImportError(
            "fp16 needs the 'onnx' package: pip install onnx "
            '(or pip install "spinepose-sports[gpu]")'
        ) from exc
    model = onnx.load(str(path))
    half = convert_float_to_float16(model, keep_io_types=True)
    return bytes(half.SerializeToString())
