"""The detector through onnxruntime: an ONNX export of the YOLO weights, made once and reused.

On the CPU, onnxruntime runs a YOLO detector about 1.5-2.4x faster than torch (design §8,
``benchmarks/RESULTS.md``) with the same boxes.  :func:`onnx_export` exports a ``.pt``
file once through ultralytics (offline; dynamic input size, so ultralytics keeps its
rectangular letterbox and the input equals the torch path's) and caches the result:

* next to the weights, as ``<stem>.<sha256[:12]>.onnx``, when that folder is writable
  (and not marked read-only);
* else in ``SPINEPOSE_SPORTS_CACHE_DIR/detectors`` or ``<user cache>/spinepose-sports/detectors``.

The name carries the weights' content hash, so changed weights get a new export.  The
export is written under a temporary name and renamed into place, so a killed run never
leaves half a file, and two processes exporting at once both end with a whole one.

:func:`tune_session` replaces the onnxruntime session ultralytics opened with one whose
threads do not spin while idle (two sessions, detector and pose, share the cores).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

ENV_CACHE_DIR = "SPINEPOSE_SPORTS_CACHE_DIR"


class ExportError(RuntimeError):
    """The weights could not be exported to ONNX."""


def export_dir(weights: Path) -> Path:
    """Where the export of ``weights`` goes: its own folder when writable, else the cache."""
    folder = weights.resolve().parent
    if _writable(folder):
        return folder
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return Path(env).expanduser() / "detectors"
    import platformdirs

    return Path(platformdirs.user_cache_dir("spinepose-sports")) / "detectors"


def _writable(folder: Path) -> bool:
    """The folder is writable for this user *and* its mode allows writing (root may write
    anywhere, but a folder marked read-only is meant to stay untouched)."""
    import stat

    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) and os.access(folder, os.W_OK)


def export_path(weights: Path, sha256: str) -> Path:
    """The cached export's path for ``weights`` of content hash ``sha256``."""
    return export_dir(weights) / f"{weights.stem}.{sha256[:12]}.onnx"


def onnx_export(weights: Path, sha256: str, *, imgsz: int = 640) -> Path:
    """The ONNX export of ``weights`` (a ``.pt`` file): the cached file, or a new export.

    Raises :class:`ExportError` naming the weights when ultralytics cannot export them.
    """
    target = export_path(weights, sha256)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        copy = work / weights.name
        shutil.copyfile(weights, copy)
        from ultralytics import YOLO

        try:
            made = YOLO(str(copy)).export(
                format="onnx", dynamic=True, imgsz=imgsz, simplify=False, device="cpu",
                verbose=False,
            )
        except Exception as exc:  # ultralytics raises many types
            raise ExportError(
                f"detector weights {str(weights)!r}: ONNX export failed: {exc}"
            ) from exc
        Path(made).replace(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def tune_session(model: Any, path: Path, threads: int | None = None) -> bool:
    """Reopen the onnxruntime session of an ultralytics ONNX ``model`` of file ``path``
    (after its first prediction) with idle threads that do not spin and ``threads`` intra-op threads
    (None: onnxruntime's default, one per core).  CPU sessions only (a GPU session keeps
    ultralytics' I/O binding).  Returns True when the session was replaced."""
    backend: Any = getattr(
        getattr(getattr(model, "predictor", None), "model", None), "backend", None
    )
    session = getattr(backend, "session", None)
    if backend is None or session is None or getattr(backend, "use_io_binding", False):
        return False
    if session.get_providers()[:1] != ["CPUExecutionProvider"]:
        return False
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads is not None:
        options.intra_op_num_threads = int(threads)
    try:
        backend.session = ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
    except Exception:  # keep ultralytics' own session
        return False
    return True


__all__ = ["ExportError", "export_dir", "export_path", "onnx_export", "tune_session"]
