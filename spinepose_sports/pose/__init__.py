"""The pose stage: SpinePose ONNX inference on the tracked boxes of each frame.

* :mod:`.preprocess` - boxes to normalised crops (pure numpy + OpenCV);
* :mod:`.decode` - SimCC decoding and back-projection (pure numpy);
* :mod:`.estimator` - the onnxruntime session (:class:`SpinePoseEstimator`);
* :mod:`.registry` - the official model files, the per-user cache, downloads.

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

__all__ = [
    "DEFAULT_SIZE",
    "DEFAULT_VERSION",
    "ModelDownloadError",
    "ModelFile",
    "ModelHashMismatchError",
    "ModelRegistryError",
    "PoseModelError",
    "SpinePoseEstimator",
    "list_models",
    "resolve_model",
]
