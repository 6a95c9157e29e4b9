"""Person detection and tracking: the tracker contract and the ultralytics adapter.

The tracker stage turns one decoded frame into the tracked person boxes of that frame::

    tracker.update(frame_bgr) -> FrameDetections   # frame: uint8 (H, W, 3), BGR
    tracker.reset()                                # before the first frame of another video

:class:`YoloTracker` implements it with an ultralytics YOLO detector and one of its trackers
(ByteTrack or BoT-SORT). This is the only module of the package that imports ultralytics,
and it does so lazily, when a tracker is made or a result is converted.

Weights are either a local file (``.pt``, or an exported model ultralytics can load) or
the bare name of an official ultralytics asset such as ``yolo11n.pt``, which ultralytics
downloads once into its weights folder. Where the machine is offline (``YOLO_OFFLINE`` or
``SPINEPOSE_SPORTS_OFFLINE`` set) and the official file is not cached, a
:class:`DetectorError` is raised at once, without touching the network.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .data import FrameDetections

__all__ = [
    "DEFAULT_WEIGHTS",
    "TRACKERS",
    "DetectorError",
    "YoloTracker",
    "from_ultralytics",
    "resolve_weights",
    "tracker_config",
]

TRACKERS = ("bytetrack", "botsort")
BACKENDS = ("auto", "torch", "onnx")
DEFAULT_WEIGHTS = "yolo11n.pt"
OFFLINE_ENV_VARS = ("YOLO_OFFLINE", "SPINEPOSE_SPORTS_OFFLINE")

# Settings this product applies on top of ultralytics' own tracker yaml files. BoT-SORT: no
# ReID (it would load or download an extra model), sparse optical flow for camera motion.
TRACKER_OVERRIDES: dict[str, dict[str, Any]] = {
    "bytetrack": {},
    "botsort": {"with_reid": False, "gmc_method": "sparseOptFlow"},
}

# Tasks whose results carry axis-aligned boxes (``Results.boxes``).
_BOX_TASKS = ("detect", "segment", "pose")
_HINT = "pass a local weights file with --detector-weights path/to/model.pt"
_TRUTHY = ("1", "true", "yes", "on", "y", "t")


class DetectorError(RuntimeError):
    """The detector cannot be set up: weights missing or unloadable, or a bad option."""


# --------------------------------------------------------------------------------------
# ultralytics, lazily
# --------------------------------------------------------------------------------------


def _ultralytics() -> Any:
    """Import ultralytics (with its auto-install of missing packages turned off)."""
    # ultralytics pip-installs missing requirements at run time unless told not to; a
    # pipeline must never do that behind the user's back. An explicit setting wins.
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    try:
        import ultralytics
    except ImportError as exc:
        raise ImportError(
            "the detection stage needs ultralytics and lap: "
            "pip install 'ultralytics>=8.3' 'lap>=0.5'"
        ) from exc
    return ultralytics


def _offline() -> bool:
    """True when an environment variable in :data:`OFFLINE_ENV_VARS` is set to a true value."""
    return any(os.environ.get(v, "").strip().lower() in _TRUTHY for v in OFFLINE_ENV_VARS)


def _official_names() -> frozenset[str]:
    from ultralytics.utils.downloads import GITHUB_ASSETS_NAMES

    return frozenset(GITHUB_ASSETS_NAMES)


def _weights_dir() -> Path:
    from ultralytics.utils import SETTINGS

    return Path(SETTINGS["weights_dir"])


# --------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------


def resolve_weights(weights: str | Path) -> Path:
    """The local file for ``weights``: a path as is, or an official name, downloaded once.

    A bare official name (``yolo11n.pt``; ``yolo11n`` means the same) is looked up in the
    working folder, then in ultralytics' weights folder, then downloaded into the latter.
    Raises :class:`DetectorError` naming ``weights`` when the file does not exist, when it is
    not cached and the machine is offline, or when the download fails.
    """
    _ultralytics()
    text = str(weights).strip()
    path = Path(text).expanduser()
    if path.is_file():
        return path
    name = path.name if path.suffix else f"{path.name}.pt"
    if text in (path.name, path.stem) and name in _official_names():
        for candidate in (Path(name), _weights_dir() / name):
            if candidate.is_file():
                return candidate
        return _download_official(name)
    raise DetectorError(
        f"detector weights {text!r}: no such file ({path.resolve()}); {_HINT}, "
        f"or an official ultralytics name such as {DEFAULT_WEIGHTS!r} to download it"
    )


def _download_official(name: str) -> Path:
    """Download the official asset ``name`` into ultralytics' weights folder."""
    target = _weights_dir() / name
    if _offline():
        set_vars = [v for v in OFFLINE_ENV_VARS if os.environ.get(v)]
        raise DetectorError(
            f"detector weights {name!r} are not cached ({target}) and this machine is offline "
            f"({', '.join(set_vars)} set); {_HINT}, or copy {name} to {target}"
        )
    from ultralytics.utils.downloads import attempt_download_asset

    try:
        # one retry only: a failing download should end in seconds, not minutes
        local = Path(attempt_download_asset(str(target), retry=1))
    except Exception as exc:  # ultralytics raises ConnectionError, OSError, requests errors
        raise DetectorError(
            f"detector weights {name!r} could not be downloaded ({exc}); {_HINT}"
        ) from exc
    if not local.is_file():
        raise DetectorError(f"detector weights {name!r}: download gave no file; {_HINT}")
    return local


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _load_model(path: Path) -> Any:
    """An ``ultralytics.YOLO`` for the local file ``path``; errors name the file."""
    from ultralytics import YOLO

    try:
        model = YOLO(str(path))
    except Exception as exc:  # corrupt or foreign files raise TypeError, RuntimeError, ...
        raise DetectorError(f"detector weights {str(path)!r} could not be loaded: {exc}") from exc
    if model.task not in _BOX_TASKS:
        raise DetectorError(
            f"detector weights {str(path)!r}: task {model.task!r} gives no boxes; "
            f"expected one of {_BOX_TASKS}"
        )
    return model


def _check_classes(person_classes: Sequence[int], names: Mapping[int, str]) -> tuple[int, ...]:
    """Validate class ids against the model's ``names``; return them as a tuple of ints."""
    classes = tuple(int(c) for c in person_classes)
    if not classes:
        raise DetectorError("person_classes: expected at least one class id, received none")
    unknown = [c for c in classes if c not in names]
    if unknown:
        shown = ", ".join(f"{k}={v!r}" for k, v in sorted(names.items())[:10])
        more = ", ..." if len(names) > 10 else ""
        raise DetectorError(
            f"person_classes: class id(s) {unknown} not in the detector's {len(names)} "
            f"classes ({shown}{more})"
        )
    return classes


# --------------------------------------------------------------------------------------
# Tracker configuration
# --------------------------------------------------------------------------------------


def tracker_config(
    tracker: str = "bytetrack", overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The tracker settings used: ultralytics' ``<tracker>.yaml``, then this product's
    :data:`TRACKER_OVERRIDES`, then ``overrides`` (keys must exist in the yaml)."""
    if tracker not in TRACKERS:
        raise DetectorError(f"tracker: expected one of {TRACKERS}, received {tracker!r}")
    _ultralytics()
    from ultralytics.utils import ROOT, YAML

    cfg = dict(YAML.load(Path(ROOT) / "cfg" / "trackers" / f"{tracker}.yaml"))
    cfg.update(TRACKER_OVERRIDES[tracker])
    if overrides is not None and not isinstance(overrides, Mapping):
        raise DetectorError(
            f"tracker settings: expected a mapping of setting -> value, received {overrides!r}"
        )
    if "tracker_type" in (overrides or {}):
        raise DetectorError("tracker_type: choose the tracker with --tracker, not an option")
    unknown = sorted(set(overrides or {}) - set(cfg))
    if unknown:
        raise DetectorError(
            f"tracker {tracker}: unknown setting(s) {unknown}; known: {sorted(cfg)}"
        )
    for key, value in (overrides or {}).items():
        cfg[key] = _checked_setting(tracker, key, value, cfg[key])
    return cfg


def _checked_setting(tracker: str, key: str, value: Any, default: Any) -> Any:
    """``value`` for setting ``key`` if it has the type of the yaml's ``default``."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and isinstance(default, int) and not float(value).is_integer():
            ok = False
        if ok:
            value = type(default)(value)
    elif default is None:
        ok = True
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise DetectorError(
            f"tracker {tracker}: setting {key} expects type {type(default).__name__} "
            f"(default {default!r}), received {value!r}"
        )
    return value


def _write_tracker_yaml(cfg: Mapping[str, Any]) -> Path:
    """Write ``cfg`` to a content-addressed yaml file in the temp folder; return its path."""
    import yaml

    text = yaml.safe_dump(dict(cfg), sort_keys=False)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "spinepose-sports" / "trackers"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{cfg['tracker_type']}-{digest}.yaml"
    if not path.is_file() or path.read_text() != text:
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        part.write_text(text)
        part.replace(path)
    return path


# --------------------------------------------------------------------------------------
# Results adapter
# --------------------------------------------------------------------------------------


def _numpy(values: Any) -> np.ndarray:
    """A torch tensor or array-like as a numpy array on the CPU."""
    if hasattr(values, "cpu"):
        values = values.cpu().numpy()
    return np.asarray(values)


def from_ultralytics(result: Any) -> FrameDetections:
    """Tracked boxes of one ultralytics ``Results`` object.

    Boxes without a track id (a plain ``predict`` result) are dropped, so a result without
    ids gives an empty :class:`FrameDetections`. xyxy ``(n, 4)`` float32 px, clipped to the
    image (``result.orig_shape``); confidence ``(n,)`` float32 in [0, 1]; track_id ``(n,)``
    int64.
    """
    boxes = getattr(result, "boxes", None)
    if boxes is None or len(boxes) == 0 or boxes.id is None:
        return FrameDetections.empty()
    ids = _numpy(boxes.id)
    keep = np.isfinite(ids)
    xyxy = _numpy(boxes.xyxy).astype(np.float32)[keep]
    height, width = result.orig_shape[:2]
    np.clip(xyxy[:, 0::2], 0, width, out=xyxy[:, 0::2])
    np.clip(xyxy[:, 1::2], 0, height, out=xyxy[:, 1::2])
    return FrameDetections(
        xyxy=np.ascontiguousarray(xyxy),
        confidence=_numpy(boxes.conf).astype(np.float32)[keep],
        track_id=ids[keep].astype(np.int64),
    )


def _check_frame(frame: Any) -> np.ndarray:
    if not isinstance(frame, np.ndarray):
        raise TypeError(f"frame: expected a numpy array, received {type(frame).__name__}")
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(
            f"frame: expected uint8 (H, W, 3) BGR, received {frame.dtype} {frame.shape}"
        )
    return frame


def _choose_backend(backend: str, weights: Path, device: str | None) -> str:
    """``"torch"`` or ``"onnx"`` for the requested ``backend`` (auto: onnx for ``.pt``
    weights on the CPU, where it is faster with the same boxes; torch on a GPU).  Weights
    that are already ``.onnx`` always run as onnx."""
    if backend not in BACKENDS:
        raise DetectorError(f"backend: expected one of {BACKENDS}, received {backend!r}")
    suffix = weights.suffix.lower()
    if suffix == ".onnx":
        return "onnx"
    if backend == "onnx" and suffix != ".pt":
        raise DetectorError(f"backend onnx: needs .pt or .onnx weights, received {weights}")
    if backend == "auto":
        on_cpu = device == "cpu" or (device in (None, "auto") and not _cuda_available())
        return "onnx" if on_cpu and suffix == ".pt" else "torch"
    return backend


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


# --------------------------------------------------------------------------------------
# The tracker
# --------------------------------------------------------------------------------------


@contextlib.contextmanager
def _ultralytics_quiet() -> Iterator[None]:
    """ultralytics' INFO lines ("Loading ... for ONNX Runtime inference...") held back while
    the predictor is set up: they ignore ``verbose=False``; warnings still show."""
    import logging

    logger = logging.getLogger("ultralytics")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


class YoloTracker:
    """Detect people with an ultralytics YOLO model and track them across frames.

    weights: a local file, or an official ultralytics name (downloaded once).
    tracker: ``"bytetrack"`` or ``"botsort"`` (BoT-SORT without ReID, with sparse optical
    flow camera-motion compensation); ``tracker_overrides`` changes single settings of its
    yaml (``track_buffer``, ``match_thresh``, ...).
    person_classes: the class ids that are people (``(0,)`` for COCO models).
    conf: minimum detection confidence passed to the tracker; 0.1 as ultralytics' own
    ``track`` default, so that ByteTrack's second, low-score association (detections between
    ``track_low_thresh`` and ``track_high_thresh``) keeps tracks alive; new tracks still need
    ``new_track_thresh`` (0.25). iou: NMS IoU threshold; imgsz: inference
    size, px; device: ``"cpu"``, ``"cuda:0"``, ... or None for ultralytics' choice;
    agnostic_nms: one NMS over all person classes (merges duplicates across classes).
    backend: ``"torch"`` (the weights as given), ``"onnx"`` (``.pt`` weights exported once
    through ultralytics and cached, :mod:`.detection_onnx`; run by onnxruntime with
    non-spinning threads, ``threads`` of them, None: one per core) or ``"auto"`` (onnx on
    the CPU, torch on a GPU).
    """

    def __init__(
        self,
        weights: str | Path = DEFAULT_WEIGHTS,
        *,
        tracker: str = "bytetrack",
        person_classes: Sequence[int] = (0,),
        conf: float = 0.1,
        iou: float = 0.7,
        imgsz: int = 640,
        device: str | None = None,
        agnostic_nms: bool = True,
        tracker_overrides: Mapping[str, Any] | None = None,
        backend: str = "torch",
        threads: int | None = None,
    ) -> None:
        if not 0.0 <= float(conf) <= 1.0 or not 0.0 <= float(iou) <= 1.0:
            raise DetectorError(f"conf and iou: expected values in [0, 1], received {conf}, {iou}")
        self.tracker = tracker
        self.tracker_settings = tracker_config(tracker, tracker_overrides)
        self.weights = str(weights)
        self.weights_path = resolve_weights(weights)
        self.weights_sha256 = _sha256(self.weights_path)
        self.backend = _choose_backend(backend, self.weights_path, device)
        self.threads = threads
        self.model_path = self.weights_path
        if self.backend == "onnx" and self.weights_path.suffix.lower() == ".pt":
            from .detection_onnx import ExportError, onnx_export

            try:
                self.model_path = onnx_export(self.weights_path, self.weights_sha256, imgsz=imgsz)
            except ExportError as exc:
                raise DetectorError(str(exc)) from exc
        self._model = _load_model(self.model_path)
        self._session_tuned = self.backend != "onnx"
        with _ultralytics_quiet():  # an exported model's names load it
            names = self._model.names
        self.class_names: dict[int, str] = {int(k): str(v) for k, v in names.items()}
        self.person_classes = _check_classes(person_classes, self.class_names)
        self.conf = float(conf)
        self.iou = float(iou)
        self.imgsz = int(imgsz)
        self.device = None if device == "auto" else device
        self.agnostic_nms = bool(agnostic_nms)
        self._tracker_yaml = _write_tracker_yaml(self.tracker_settings)

    @property
    def model(self) -> Any:
        """The underlying ``ultralytics.YOLO`` object."""
        return self._model

    def _track_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "persist": True,
            "tracker": str(self._tracker_yaml),
            "classes": list(self.person_classes),
            "agnostic_nms": self.agnostic_nms,
            "conf": self.conf,
            "iou": self.iou,
            "imgsz": self.imgsz,
            "verbose": False,
        }
        if self.device is not None:
            kwargs["device"] = self.device
        return kwargs

    def update(self, frame_bgr: np.ndarray) -> FrameDetections:
        """Detect and track the people in the next frame of the video.

        frame_bgr: uint8 ``(H, W, 3)``, BGR. Returns the boxes that have a track id:
        xyxy ``(n, 4)`` px, confidence ``(n,)``, track_id ``(n,)``, ids unique in a frame.
        """
        frame = _check_frame(frame_bgr)
        if not self._tracker_yaml.is_file():  # a temp cleaner may have removed it
            self._tracker_yaml = _write_tracker_yaml(self.tracker_settings)
        if self._session_tuned:
            results = self._model.track(frame, **self._track_kwargs())
        else:  # the predictor (and its model session) is made by the first call
            from .detection_onnx import tune_session

            with _ultralytics_quiet():
                results = self._model.track(frame, **self._track_kwargs())
                tune_session(self._model, self.model_path, self.threads)
            self._session_tuned = True
        return from_ultralytics(results[0])

    def predict(self, frame_bgr: np.ndarray) -> FrameDetections:
        """The next frame without running the detector: every tracked box (confirmed or
        new) moved one frame by its motion model (the tracker's Kalman prediction), with its last
        detection's confidence.  Before any detection (no tracker yet) it detects.

        The tracker's state advances one frame, so a later :meth:`update` matches its
        detections against where the tracks are then.
        """
        frame = _check_frame(frame_bgr)
        predictor = getattr(self._model, "predictor", None)
        trackers = getattr(predictor, "trackers", None)
        if not trackers:
            return self.update(frame)
        tracker = trackers[0]
        moving = [*tracker.tracked_stracks, *tracker.lost_stracks]
        if moving:
            tracker.multi_predict(moving)
        tracker.frame_id += 1
        # new tracks too: per-frame detection would show them from their second detection
        # on, which this frame skips; a track seen once only is dropped by the track
        # filters later (min_track)
        shown = list(tracker.tracked_stracks)
        if not shown:
            return FrameDetections.empty()
        xyxy = np.array([t.xyxy for t in shown], dtype=np.float32).reshape(-1, 4)
        height, width = frame.shape[:2]
        np.clip(xyxy[:, 0::2], 0, width, out=xyxy[:, 0::2])
        np.clip(xyxy[:, 1::2], 0, height, out=xyxy[:, 1::2])
        return FrameDetections(
            xyxy=np.ascontiguousarray(xyxy),
            confidence=np.array([t.score for t in shown], dtype=np.float32),
            track_id=np.array([t.track_id for t in shown], dtype=np.int64),
        )

    def reset(self) -> None:
        """Forget all tracks (call before a new video); track ids restart at 1.

        ultralytics keeps its trackers on the predictor; dropping them makes the next
        :meth:`update` build fresh ones from the same settings.
        """
        predictor = getattr(self._model, "predictor", None)
        if predictor is not None and hasattr(predictor, "trackers"):
            # no attribute at all: every ultralytics release (8.3.0 on) then builds fresh
            # trackers on the next track() call; an empty list would not do for all
            del predictor.trackers
        from ultralytics.trackers.basetrack import BaseTrack

        BaseTrack.reset_id()  # track ids restart at 1, whichever release builds them

    def describe(self) -> dict[str, Any]:
        """Settings of this tracker for ``run.json`` (JSON-serialisable)."""
        predictor = getattr(self._model, "predictor", None)
        used = getattr(predictor, "device", None)
        return {
            "detector": "ultralytics",
            "ultralytics_version": str(_ultralytics().__version__),
            "weights": self.weights,
            "weights_path": str(self.weights_path.resolve()),
            "weights_sha256": self.weights_sha256,
            "task": str(self._model.task),
            "tracker": self.tracker,
            "tracker_config": dict(self.tracker_settings),
            "person_classes": list(self.person_classes),
            "person_class_names": [self.class_names[c] for c in self.person_classes],
            "conf": self.conf,
            "iou": self.iou,
            "imgsz": self.imgsz,
            "agnostic_nms": self.agnostic_nms,
            "backend": self.backend,
            "model_path": str(self.model_path.resolve()),
            "device": self.device,
            "device_used": None if used is None else str(used),
        }

    def __repr__(self) -> str:
        return (
            f"YoloTracker({self.weights!r}, tracker={self.tracker!r}, "
            f"person_classes={self.person_classes}, imgsz={self.imgsz})"
        )
