"""The SpinePose ONNX session: boxes of a frame in, 37 keypoints per box out.

Contract (design §1): ``estimator(frame_bgr, xyxy) -> (xy (n, 37, 2), score (n, 37))``.
All crops of a frame go through the model in one batched call when the model's batch
dim is dynamic, one call per crop when it is fixed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..skeleton import NUM_KEYPOINTS
from .decode import decode_simcc, to_frame_coords
from .preprocess import CHANNEL_ORDERS, DEFAULT_PADDING, ChannelOrder, crop_and_normalise
from .registry import ModelFile, sha256_of
from .runtime import CUDA, DeviceChoice, DeviceError, float16_model, resolve_device, session_options

#: Boxes narrower or lower than this (px) get no keypoints.
MIN_BOX_PX = 1.0


class PoseModelError(RuntimeError):
    """The pose model file is missing, unreadable, or breaks the SpinePose contract."""


def _dim(value: Any) -> int | None:
    """A static positive dim as int, a symbolic / unknown one as None."""
    return int(value) if isinstance(value, int) and value > 0 else None


class SpinePoseEstimator:
    """Top-down SpinePose inference with onnxruntime.

    Args:
        model_path: the ``.onnx`` file, or a :class:`ModelFile` from ``resolve_model``.
        channel_order: ``"rgb"`` (default: the order the model was trained with) or ``"bgr"``
            (what the official inference library feeds).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:i"`` or ``"auto"`` (default; ``None`` too:
            CUDA when this onnxruntime build offers it, else CPU).  See :mod:`.runtime`.
        fp16: run the model in float16 (converted at load, input / outputs stay float32):
            for GPUs; its accuracy cost is in ``docs/pose-model.md``.
        intra_op_threads: onnxruntime intra-op threads (default: onnxruntime's choice).
        padding: box padding factor (1.25, as the official pipeline).
        providers: expert override of the onnxruntime providers chosen from ``device``.

    Raises:
        DeviceError: an unknown device, CUDA asked for without onnxruntime's GPU build, or
            CUDA that onnxruntime could not start (missing CUDA / cuDNN libraries).
        PoseModelError: missing file, not ONNX, or not the SpinePose input/output contract
            (1 float32 NCHW input with 3 channels; 2 outputs ``(N, 37, 2w)``, ``(N, 37, 2h)``).
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | ModelFile,
        *,
        channel_order: ChannelOrder = "rgb",
        device: str | None = "auto",
        fp16: bool = False,
        intra_op_threads: int | None = None,
        padding: float = DEFAULT_PADDING,
        providers: list[Any] | None = None,
    ) -> None:
        if channel_order not in CHANNEL_ORDERS:
            raise ValueError(
                f"channel_order: expected one of {CHANNEL_ORDERS}, got {channel_order!r}"
            )
        self._sha256: str | None = None
        if isinstance(model_path, ModelFile):
            self._sha256 = model_path.sha256
            model_path = model_path.path
        self.path = Path(model_path)
        self.channel_order: ChannelOrder = channel_order
        self.padding = float(padding)
        self.device: DeviceChoice = resolve_device(device)
        self.fp16 = bool(fp16)
        self.session = self._open(providers or self.device.providers, intra_op_threads)
        if providers is None and self.device.requested.startswith("cuda"):
            self._check_cuda_started()
        self._read_contract()
        self._outputs_checked = False

    # ---------------------------------------------------------------- loading

    def _open(self, providers: list[Any], intra_op_threads: int | None) -> Any:
        import onnxruntime as ort

        if not self.path.is_file():
            raise PoseModelError(f"{self.path}: pose model file not found")
        options = session_options(intra_op_threads)
        try:
            model: str | bytes = float16_model(self.path) if self.fp16 else str(self.path)
        except ImportError:
            raise
        except Exception as exc:  # onnx raises its own exception types
            raise PoseModelError(
                f"{self.path}: could not convert to float16 ({type(exc).__name__}: "
                f"{str(exc).strip()[:300]})"
            ) from exc
        try:
            return ort.InferenceSession(model, sess_options=options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise PoseModelError(
                f"{self.path}: not a loadable ONNX model ({type(exc).__name__}: "
                f"{str(exc).strip()[:300]})"
            ) from exc

    def _check_cuda_started(self) -> None:
        """onnxruntime falls back to the CPU when CUDA fails to start: say so instead."""
        used = self.session.get_providers()
        if CUDA not in used:
            raise DeviceError(
                f"device {self.device.requested!r}: onnxruntime could not start CUDA (providers "
                f"in use: {used}); check the CUDA and cuDNN libraries onnxruntime-gpu needs, "
                "or use device='cpu' or 'auto'"
            )

    def _fail(self, what: str) -> PoseModelError:
        return PoseModelError(f"{self.path}: not a SpinePose model: {what}")

    def _read_contract(self) -> None:
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1:
            raise self._fail(f"expected 1 input, found {len(inputs)}")
        inp = inputs[0]
        shape = list(inp.shape)
        if inp.type != "tensor(float)" or len(shape) != 4:
            raise self._fail(
                f"input {inp.name!r} is {inp.type} {shape}, expected float32 (N, 3, h, w)"
            )
        channels, h, w = (_dim(d) for d in shape[1:])
        if channels != 3 or h is None or w is None:
            raise self._fail(f"input {inp.name!r} has shape {shape}, expected (N, 3, h, w)")
        self.input_name: str = inp.name
        self.input_wh: tuple[int, int] = (w, h)
        self.batch_size: int | None = _dim(shape[0])  # None: dynamic
        if len(outputs) != 2:
            raise self._fail(f"expected 2 outputs (simcc_x, simcc_y), found {len(outputs)}")
        names = [o.name for o in outputs]
        if set(names) == {"simcc_x", "simcc_y"}:
            names = ["simcc_x", "simcc_y"]
        self.output_names: list[str] = names
        by_name = {o.name: o for o in outputs}
        for name, bins in zip(names, (2 * w, 2 * h), strict=True):
            self._check_output(name, list(by_name[name].shape), bins)
        self.split_ratio = 2.0

    def _check_output(self, name: str, shape: list[Any], bins: int) -> None:
        expected = (NUM_KEYPOINTS, bins)
        if len(shape) != 3 or any(
            _dim(d) is not None and _dim(d) != e for d, e in zip(shape[1:], expected, strict=True)
        ):
            raise self._fail(
                f"output {name!r} has shape {shape}, expected (N, {NUM_KEYPOINTS}, {bins})"
            )

    # ---------------------------------------------------------------- inference

    @property
    def batch_dynamic(self) -> bool:
        """True when the model takes any number of crops in one call."""
        return self.batch_size is None

    def run_model(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on normalised crops.

        Args:
            batch: ``(n, 3, h, w)`` float32, ``n >= 1``.

        Returns:
            simcc_x ``(n, 37, 2w)``, simcc_y ``(n, 37, 2h)`` float32.
        """
        if self.batch_size is None:
            sx, sy = self.session.run(self.output_names, {self.input_name: batch})
        else:
            sx, sy = self._run_fixed(batch, self.batch_size)
        if not self._outputs_checked:
            w, h = self.input_wh
            for name, arr, bins in zip(self.output_names, (sx, sy), (2 * w, 2 * h), strict=True):
                if arr.shape != (batch.shape[0], NUM_KEYPOINTS, bins):
                    raise self._fail(f"output {name!r} came out as {arr.shape}")
            self._outputs_checked = True
        return sx, sy

    def _run_fixed(self, batch: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        n = batch.shape[0]
        xs, ys = [], []
        for start in range(0, n, size):
            chunk = batch[start : start + size]
            if chunk.shape[0] < size:  # pad the last chunk with zeros
                pad = np.zeros((size - chunk.shape[0], *chunk.shape[1:]), chunk.dtype)
                chunk = np.concatenate([chunk, pad])
            sx, sy = self.session.run(self.output_names, {self.input_name: chunk})
            xs.append(sx)
            ys.append(sy)
        return np.concatenate(xs)[:n], np.concatenate(ys)[:n]

    def __call__(self, frame_bgr: np.ndarray, xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints of the people in ``n`` boxes of one frame.

        Args:
            frame_bgr: ``(H, W, 3)`` uint8 frame, BGR.
            xyxy: ``(n, 4)`` boxes ``x1, y1, x2, y2``, frame px.

        Returns:
            xy ``(n, 37, 2)`` float32 frame px (NaN where invalid), score ``(n, 37)`` float32.
            A box with a non-finite corner or narrower or lower than :data:`MIN_BOX_PX`
            gives no keypoints (NaN, score 0): its crop shows nothing to estimate.
        """
        boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        n = boxes.shape[0]
        xy = np.full((n, NUM_KEYPOINTS, 2), np.nan, np.float32)
        score = np.zeros((n, NUM_KEYPOINTS), np.float32)
        with np.errstate(invalid="ignore"):
            usable = np.isfinite(boxes).all(axis=1) & (
                np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) >= MIN_BOX_PX
            )
        if not usable.any():
            return xy, score
        batch, center, scale = crop_and_normalise(
            frame_bgr, boxes[usable], self.input_wh, self.channel_order, self.padding
        )
        sx, sy = self.run_model(batch)
        xy_input, got_score = decode_simcc(sx, sy, self.split_ratio)
        xy[usable] = to_frame_coords(xy_input, center, scale, self.input_wh)
        score[usable] = got_score
        return xy, score

    # ---------------------------------------------------------------- metadata

    @property
    def sha256(self) -> str:
        """Hex sha256 of the model file (computed once)."""
        if self._sha256 is None:
            self._sha256 = sha256_of(self.path)
        return self._sha256

    def describe(self) -> dict[str, Any]:
        """What ``run.json`` records about the pose model."""
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "input_size": list(self.input_wh),
            "batch_dynamic": self.batch_dynamic,
            "batch_size": self.batch_size,
            "channel_order": self.channel_order,
            "padding": self.padding,
            "split_ratio": self.split_ratio,
            "input_name": self.input_name,
            "output_names": list(self.output_names),
            "device": self.device.requested,
            "device_used": "cuda" if CUDA in self.session.get_providers() else "cpu",
            "fp16": self.fp16,
            "providers": list(self.session.get_providers()),
        }

    def __repr__(self) -> str:
        mode = "dynamic batch" if self.batch_dynamic else f"batch {self.batch_size}"
        return (
            f"SpinePoseEstimator({str(self.path)!r}, {self.input_wh}, {mode}, "
            f"{self.channel_order}, {self.device.name}{', fp16' if self.fp16 else ''})"
        )
