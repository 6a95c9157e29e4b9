"""The pose stage: SpinePose ONNX inference on the tracked boxes of each frame.

* :mod:`.preprocess` - boxes to normalised crops (pure numpy + OpenCV);
* :mod:`.decode` - SimCC decoding and back-projection (pure numpy);
* :mod:`.estimator` - the onnxruntime session (:class:`SpinePoseEstimator`);
* :mod:`.registry` - the official model files, the per-user cache, downloads;
* :mod:`.runtime` - device -> onnxruntime providers, session options, fp16 conversion;
* :mod:`.rtmpose` / :mod:`.convert` - the network in torch (stand-ins, fine-tuning) and
  ONNX export / import (they import torch: not imported here).

Only this package imports onnxruntime (lazily, when an estimator is built).
"""

from .estimator import PoseModelError, SpinePoseEstimator
from .registry import (
    DEFAULT_SIZE,
    DEFAULT_VERSION,
    ModelDownloadError,
    ModelFile,
    ModelHashMismatchError,
    ModelRegistryError,
    list_models,
    resolve_model,
)
from .runtime import DeviceError, resolve_device

__all__ = [
    "DEFAULT_SIZE",
    "DEFAULT_VERSION",
    "DeviceError",
    "ModelDownloadError",
    "ModelFile",
    "ModelHashMismatchError",
    "ModelRegistryError",
    "PoseModelError",
    "SpinePoseEstimator",
    "list_models",
    "resolve_device",
    "resolve_model",
]
