"""The configuration model: every setting of an analysis, typed and checked in one place.

Settings are grouped in sections, one per stage (:data:`SECTIONS`).  Each setting has one
name, the same everywhere:

* a pipeline file key, in its section's table: ``[detector] det_conf = 0.2``;
* a command-line flag of ``analyze``: ``--det-conf 0.2`` (``_`` becomes ``-``; booleans
  have ``--name/--no-name``);
* a field of the section model: ``config.detector.det_conf``.

The models validate on construction (choices, ranges, types, paths, the athlete
selection and names, the tracker's settings): a bad value raises :class:`ConfigError`
with one line naming the key, the value and what is allowed, before any model loads.
Unknown keys are refused with the nearest valid name.  ``docs/configuration.md`` is
generated from these models (:func:`reference_markdown`).
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import json
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    field_validator,
    model_validator,
)

from .config_base import ConfigError
from .config_base import Section as _Section
from .config_base import setting as _setting
from .config_perf import PerformanceSettings
from .config_units import UnitsSettings, needs_words
from .skeleton import MIN_KEYPOINT_CONFIDENCE

SmoothingMethod = Literal[
    "kalman", "kalman-ca", "kalman-causal", "spine-prior", "butterworth", "one-euro", "none"
]
View = Literal["auto", "left_side", "right_side", "front", "back"]
Facing = Literal["auto", "left", "right"]
X264Preset = Literal[
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"
]
POSE_SIZES = ("s", "m", "l", "x")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?|\d+(,\d+)*)$")
_SCHEDULER = re.compile(r"^(tcp|tls|ucx|ws|wss|inproc)://\S+$")


class OutputSettings(_Section):
    """Where results go and which outputs are made."""

    output: Path = _setting(Path("results"), "Results folder; one subfolder per video.")
    overlay: bool = _setting(True, "Render overlay.mp4.")
    dashboard: bool = _setting(
        True, "Write dashboard.html (interactive, offline; needs the kinematics)."
    )
    overlay_preset: X264Preset = _setting(
        "veryfast", "libx264 preset of overlay.mp4 (ultrafast ... veryslow): speed vs size."
    )
    skip_completed: bool = _setting(
        False,
        "Skip videos whose results folder holds a completed run of the same video content "
        "and the same settings (resume an interrupted batch).",
    )


class InputSettings(_Section):
    """Which part of each video is analysed."""

    start: float | None = _setting(None, "Analyze from this time, s.", ge=0)
    end: float | None = _setting(None, "Analyze up to this time, s.", gt=0)

    @model_validator(mode="after")
    def _end_after_start(self) -> InputSettings:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"end = {self.end}: must be after start ({self.start})")
        return self


class DetectorSettings(_Section):
    """The YOLO person detector and the multi-object tracker."""

    detector_weights: str = _setting(
        "yolo11n.pt",
        "YOLO weights: an official name (downloaded and cached by ultralytics) or a local "
        ".pt/.onnx file.",
    )
    person_classes: tuple[int, ...] = _setting(
        (0,), "Detector class ids that are persons (COCO: 0), comma-separated on the CLI."
    )
    tracker: Literal["bytetrack", "botsort"] = _setting(
        "bytetrack",
        "Multi-object tracker: bytetrack, or botsort (camera-motion compensation, for "
        "panning footage).",
    )
    det_conf: float = _setting(
        0.1, "Detector confidence threshold (ByteTrack also matches 0.1-0.25 boxes).", ge=0, le=1
    )
    det_iou: float = _setting(0.7, "Detector NMS IoU threshold.", gt=0, le=1)
    imgsz: int = _setting(640, "Detector input size, px.", ge=32, le=8192)
    device: str | None = _setting(
        None,
        "Device of the detector and the pose model: cpu, cuda, cuda:N or auto (a GPU when "
        "one is usable, else the CPU; also when unset).",
    )
    tracker_options: dict[str, bool | int | float | str] = _setting(
        {},
        "Change settings of the tracker's ultralytics yaml: KEY=VALUE on the CLI "
        "(repeat for more), a table in pipeline files (new_track_thresh=0.1, "
        "track_buffer=60, fuse_score=false).",
    )

    @field_validator("person_classes", mode="before")
    @classmethod
    def _classes(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = [int(c) for c in value.replace(" ", "").split(",") if c]
            except ValueError:
                raise ValueError("expected comma-separated class ids like 0 or 0,1") from None
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if isinstance(value, list | tuple):
            if not value:
                raise ValueError("give at least one class id")
            if any(isinstance(c, int) and c < 0 for c in value):
                raise ValueError("class ids are >= 0")
        return value

    @field_validator("detector_weights")
    @classmethod
    def _weights(cls, value: str) -> str:
        looks_local = os.sep in value or "/" in value or Path(value).is_file()
        if looks_local and not Path(value).is_file():
            raise ValueError("no such file (give an official name like yolo11n.pt or a file)")
        if Path(value).suffix.lower() not in (".pt", ".onnx", ".yaml", ".engine", ".torchscript"):
            raise ValueError("expected YOLO weights (.pt or .onnx)")
        return value

    @field_validator("device")
    @classmethod
    def _device(cls, value: str | None) -> str | None:
        if value is not None and not _DEVICE.match(value):
            raise ValueError("expected auto, cpu, cuda, cuda:N, mps or GPU indices like 0,1")
        return value

    @model_validator(mode="after")
    def _tracker_options_exist(self) -> DetectorSettings:
        if not self.tracker_options:
            return self
        from .detection import DetectorError, tracker_config

        try:
            tracker_config(self.tracker, self.tracker_options)
        except DetectorError as exc:
            raise ValueError(f"tracker_options: {exc}") from None
        return self


class PoseSettings(_Section):
    """The SpinePose model."""

    pose_model: str = _setting(
        "m",
        "SpinePose model: a size (s, m, l; x for v1) fetched from the registry, or a path "
        "to an .onnx file.",
    )
    model_version: Literal["v1", "v2"] = _setting(
        "v2", "SpinePose release: v2 (simspine, latest) or v1 (spinetrack)."
    )
    model_dir: Path | None = _setting(
        None,
        "Folder of already downloaded SpinePose .onnx files (also: "
        "SPINEPOSE_SPORTS_MODEL_DIR).",
    )
    channel_order: Literal["rgb", "bgr"] = _setting(
        "rgb",
        "Channel order fed to SpinePose: rgb (as trained) or bgr (the official inference "
        "library's behaviour).",
    )
    min_keypoint_confidence: float = _setting(
        MIN_KEYPOINT_CONFIDENCE,
        "Keypoints below this confidence are treated as missing by smoothing, kinematics, "
        "stitching and the overlay.",
        ge=0,
        le=1,
    )

    @field_validator("pose_model")
    @classmethod
    def _pose_model(cls, value: str) -> str:
        if value.lower() in POSE_SIZES:
            return value.lower()
        if not value.lower().endswith(".onnx"):
            raise ValueError("expected a size (s, m, l, x) or a path to an .onnx file")
        if not Path(value).is_file():
            raise ValueError("no such .onnx file")
        return value

    @field_validator("model_dir")
    @classmethod
    def _model_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError("no such folder")
        return value

    @model_validator(mode="after")
    def _size_in_version(self) -> PoseSettings:
        if self.pose_model == "x" and self.model_version != "v1":
            raise ValueError("pose_model = 'x': the x size exists only in v1 (model_version v1)")
        return self


class TrackSettings(_Section):
    """Offline track stitching, the track quality filter, athlete selection and names."""

    stitch: bool = _setting(
        True, "Join each athlete's track fragments into one id (motion, size, torso colour)."
    )
    max_gap: float = _setting(1.5, "Longest gap a track may be stitched across, s.", gt=0)
    filter_tracks: bool = _setting(
        True,
        "Drop tracks that are too short, too small, static or low-confidence (reported in "
        "run.json).",
    )
    min_track: float = _setting(0.5, "Shortest track kept, s; 0: off.", ge=0)
    min_track_height: float = _setting(
        0.03, "Smallest median box height kept, fraction of the frame height; 0: off.", ge=0, le=1
    )
    min_track_motion: float = _setting(
        0.1,
        "Tracks whose box moves less than this (box heights) are static and dropped; 0 "
        "keeps athletes who stand still.",
        ge=0,
    )
    min_track_confidence: float = _setting(
        0.2, "Lowest mean detection confidence of a kept track; 0: off.", ge=0, le=1
    )
    athletes: str | None = _setting(
        None,
        "Analyze only these athletes: longest[:N], largest[:N], central[:N], moving[:N], "
        "id:3,5 or point:T,X,Y (time s, x px, y px).",
    )
    names: str | None = _setting(
        None, "Athlete names by track id, shown in outputs: '3=Anna,5=Ben'."
    )

    @field_validator("athletes")
    @classmethod
    def _athletes(cls, value: str | None) -> str | None:
        from .tracking import parse_selection

        if value is not None:
            parse_selection(value)
        return value

    @field_validator("names")
    @classmethod
    def _names(cls, value: str | None) -> str | None:
        from .tracking import parse_names

        if value is not None:
            parse_names(value)
        return value


class SmoothingSettings(_Section):
    """Temporal smoothing of the keypoints."""

    smoothing: SmoothingMethod = _setting(
        "kalman",
        "kalman (confidence-weighted Kalman + RTS, gaps bridged, outliers rejected), "
        "kalman-ca, kalman-causal, spine-prior, butterworth, one-euro or none.",
    )


class KinematicsSettings(_Section):
    """Spine and joint kinematics."""

    kinematics: bool = _setting(
        True, "Compute spine and joint kinematics (kinematics.nc, angles.csv, summary.csv)."
    )
    view: View = _setting(
        "auto",
        "Camera view of every athlete: auto (from the body, frame by frame), left_side, "
        "right_side, front or back. Side views give flexion/extension, front/back lateral "
        "bending.",
    )
    facing: Facing = _setting(
        "auto",
        "Image direction in which positive angles point (the athlete's front in side "
        "views, their right in front/back views): auto, left or right.",
    )


# --- [batch]: how a session runs (club-batch, issue #14) -------------------------------
class BatchSettings(_Section):
    """How a batch runs (in parallel, with the stage cache) and the session's outputs.
    None of these change a video's results."""

    workers: int = _setting(
        1, "Local worker processes, each loading the models once; 1: one after the other.",
        ge=1, le=256,
    )
    scheduler: str | None = _setting(
        None,
        "Dask distributed scheduler address (tcp://HOST:8786): one video per task, written "
        "by the worker into the shared output folder (docs/batch.md).",
    )
    stage_cache: bool = _setting(
        True,
        "Keep the detection, tracking and pose results per video and reuse them when only "
        "later stages' settings change (no model runs).",
    )
    cache_dir: Path | None = _setting(
        None, "Folder of the stage cache; default: <output>/.stage_cache."
    )
    batch_summary: bool = _setting(
        True, "Write <output>/batch_summary.csv (one row per video and athlete)."
    )
    index_html: bool = _setting(
        True, "Write <output>/index.html (every overlay and dashboard, sortable, offline)."
    )

    @field_validator("scheduler")
    @classmethod
    def _scheduler(cls, value: str | None) -> str | None:
        if value is not None and not _SCHEDULER.match(value):
            raise ValueError("expected an address like tcp://HOST:8786")
        return value

    @model_validator(mode="after")
    def _one_way(self) -> BatchSettings:
        if self.scheduler is not None and self.workers > 1:
            raise ValueError("give workers (local processes) or scheduler (Dask), not both")
        return self


# --- end [batch] ------------------------------------------------------------------------


#: The sections of a configuration: pipeline-file table name -> model.
SECTIONS: dict[str, type[_Section]] = {
    "outputs": OutputSettings,
    "input": InputSettings,
    "detector": DetectorSettings,
    "pose": PoseSettings,
    "tracks": TrackSettings,
    "smoothing": SmoothingSettings,
    "kinematics": KinematicsSettings,
    "units": UnitsSettings,
    "performance": PerformanceSettings,
    "batch": BatchSettings,
}
#: Settings that do not change what a run computes (left out of :meth:`results_key`).
NOT_IN_RESULTS = frozenset({"output", "skip_completed"}) | frozenset(BatchSettings.model_fields)
#: Settings that are paths (relative ones in pipeline files are relative to the file).
PATH_SETTINGS = frozenset(
    {"output", "model_dir", "detector_weights", "pose_model", "calibration", "cache_dir"}
)


def setting_sections() -> dict[str, str]:
    """Every setting's name -> its section (names are unique across sections)."""
    return {name: sec for sec, model in SECTIONS.items() for name in model.model_fields}


class AnalyzeConfig(BaseModel):
    """Every setting of an ``analyze`` run, by section (recorded in ``run.json``).

    Build it from flat settings with :meth:`from_settings` (what the CLI does) or from a
    pipeline file's tables with :meth:`from_tables`; both raise :class:`ConfigError`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    outputs: OutputSettings = OutputSettings()
    input: InputSettings = InputSettings()
    detector: DetectorSettings = DetectorSettings()
    pose: PoseSettings = PoseSettings()
    tracks: TrackSettings = TrackSettings()
    smoothing: SmoothingSettings = SmoothingSettings()
    kinematics: KinematicsSettings = KinematicsSettings()
    units: UnitsSettings = UnitsSettings()
    performance: PerformanceSettings = PerformanceSettings()
    batch: BatchSettings = BatchSettings()

    @model_validator(mode="after")
    def _exports_have_kinematics(self) -> AnalyzeConfig:
        from .export_formats import NEEDS_KINEMATICS

        needs = [f for f in self.units.export if f in NEEDS_KINEMATICS]
        if needs and not self.kinematics.kinematics:
            raise ValueError(
                f"[units] export = {','.join(self.units.export)}: {needs_words(needs)} the "
                "kinematics (kinematics = true)"
            )
        return self

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any] | None = None, /, *, base: AnalyzeConfig | None = None,
        source: str = "", flags: bool = False, **kw: Any,
    ) -> AnalyzeConfig:
        """A configuration from flat settings (``det_conf=0.2``) on top of ``base``
        (default: the defaults).  ``source`` prefixes error messages (a file name);
        ``flags``: errors name the settings as command-line flags (``--det-conf``)."""
        flat = dict(settings or {}, **kw)
        where = setting_sections()
        tables: dict[str, dict[str, Any]] = (
            base.to_tables(skip_none=False) if base is not None else {}
        )
        for name, value in flat.items():
            if name not in where:
                raise ConfigError(_prefix(source) + _unknown(name, list(where)))
            tables.setdefault(where[name], {})[name] = value
        return cls.from_tables(tables, source=source, flags=flags)

    @classmethod
    def from_tables(
        cls, tables: Mapping[str, Any], *, source: str = "", flags: bool = False
    ) -> AnalyzeConfig:
        """A configuration from section tables, as a pipeline file holds them."""
        for section, table in tables.items():
            if section not in SECTIONS:
                raise ConfigError(_prefix(source) + _unknown(f"[{section}]", list(SECTIONS)))
            if not isinstance(table, Mapping):
                raise ConfigError(
                    f"{_prefix(source)}[{section}] must be a table of settings, got {table!r}"
                )
            for key in table:
                if key not in SECTIONS[section].model_fields:
                    raise ConfigError(
                        _prefix(source)
                        + _unknown(key, list(SECTIONS[section].model_fields), section)
                    )
        try:
            return cls.model_validate(dict(tables))
        except ValidationError as exc:
            raise ConfigError(_prefix(source) + _first_error(exc, tables, flags)) from None

    def to_tables(self, *, skip_none: bool = True) -> dict[str, dict[str, Any]]:
        """The settings by section as plain JSON/TOML values (paths as strings)."""
        out: dict[str, dict[str, Any]] = {}
        for section in SECTIONS:
            values = getattr(self, section).model_dump(mode="json")
            out[section] = {
                k: v for k, v in values.items() if not (skip_none and v is None)
            }
        return out

    def settings(self) -> dict[str, Any]:
        """Every setting by its name (flat)."""
        tables = self.to_tables(skip_none=False).values()
        return {k: v for table in tables for k, v in table.items()}

    def to_toml(self) -> str:
        """The configuration as pipeline-file tables (``analyze --print-config``); settings
        that are unset (None) are left out."""
        import tomli_w

        return tomli_w.dumps(self.to_tables())

    def results_key(self) -> str:
        """sha256 of the settings that decide what a run computes (not where it writes),
        and of the calibration file's content when one is given."""
        values = {k: v for k, v in self.settings().items() if k not in NOT_IN_RESULTS}
        if self.units.calibration is not None and self.units.calibration.is_file():
            values["calibration_sha256"] = hashlib.sha256(
                self.units.calibration.read_bytes()
            ).hexdigest()
        text = json.dumps(values, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def replace(self, **settings: Any) -> AnalyzeConfig:
        """A copy with some settings changed (validated)."""
        return AnalyzeConfig.from_settings(settings, base=self)


def _prefix(source: str) -> str:
    return f"{source}: " if source else ""


def _unknown(key: str, known: list[str], section: str | None = None) -> str:
    where = f"[{section}] " if section else ""
    close = difflib.get_close_matches(key.strip("[]"), [k.strip("[]") for k in known], n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
    return f"{where}unknown setting {key!r}; {hint}"


def _first_error(exc: ValidationError, tables: Mapping[str, Any], flags: bool = False) -> str:
    """One line for the first problem: key, value and what is allowed."""
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err["loc"]]
    section = loc[0] if loc else ""
    key = loc[1] if len(loc) > 1 else ""
    msg = str(err["msg"]).removeprefix("Value error, ")
    if not section:  # a check across sections: its message names them
        return msg
    if not key:  # a check across settings: its message names them
        return f"[{section}] {msg}"
    value = tables.get(section, {}).get(key, err.get("input"))
    if flags:
        return f"--{key.replace('_', '-')} {value}: {msg}"
    return f"{key} = {value!r}: {msg}"


def read_pipeline_file(path: str | Path) -> dict[str, Any]:
    """A pipeline file's TOML as a dict; ConfigError when unreadable or not TOML."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc


def resolve_relative_paths(tables: dict[str, Any], base: Path) -> dict[str, Any]:
    """Path settings of a pipeline file made relative to the file's folder: ``output``,
    ``model_dir`` and ``calibration`` always, weights and model files when they are not
    bare names."""
    where = setting_sections()
    out = {s: dict(t) if isinstance(t, Mapping) else t for s, t in tables.items()}
    for name in PATH_SETTINGS:
        table = out.get(where[name])
        if not isinstance(table, dict) or not isinstance(table.get(name), str):
            continue
        value = table[name]
        is_path = name in ("output", "model_dir", "calibration", "cache_dir") or (
            "/" in value or os.sep in value
        )
        if is_path and not Path(value).is_absolute():
            table[name] = os.path.normpath(base / value)
    return out


def iter_settings() -> Iterator[tuple[str, str, Any]]:
    """``(section, name, pydantic FieldInfo)`` for every setting, in model order."""
    for section, model in SECTIONS.items():
        for name, info in model.model_fields.items():
            yield section, name, info


def type_name(info: Any) -> str:
    """A short, readable type of a setting for the docs."""
    text = str(info.annotation).replace("typing.", "").replace("pathlib.", "")
    text = text.replace("<class '", "").replace("'>", "")
    text = text.replace("Literal[", "one of [").replace(" | None", ", optional")
    return text.replace(" | ", " or ")


def reference_markdown() -> str:
    """``docs/configuration.md``: every setting with its flag, type, default and meaning."""
    lines = [
        "# Configuration reference",
        "",
        "Generated from `spinepose_sports/config.py` (a test keeps it current). Every "
        "setting has one name: the key in its pipeline-file table and the `analyze` flag "
        "(`_` written as `-`; booleans as `--name/--no-name`). `spinepose-sports analyze "
        "--print-config` prints the effective configuration as TOML, which `analyze "
        "--config FILE` and `run FILE` read back.",
        "",
    ]
    for section, model in SECTIONS.items():
        doc = " ".join(inspect.cleandoc(model.__doc__ or "").split())
        lines += [f"## `[{section}]`", "", doc, ""]
        lines += ["| key | flag | type | default | meaning |", "|---|---|---|---|---|"]
        for name, info in model.model_fields.items():
            flag = "--" + name.replace("_", "-") + (", -o" if name == "output" else "")
            if info.annotation is bool:
                flag = f"{flag}/--no-{name.replace('_', '-')}"
            default = info.default
            shown = "" if default is None else json.dumps(
                list(default) if isinstance(default, tuple) else str(default)
                if isinstance(default, Path) else default
            )
            lines.append(
                f"| `{name}` | `{flag}` | {type_name(info)} | {shown and f'`{shown}`'} "
                f"| {info.description} |"
            )
        lines.append("")
    return "\n".join(lines)


__all__ = [
    "NOT_IN_RESULTS",
    "SECTIONS",
    "AnalyzeConfig",
    "BatchSettings",
    "ConfigError",
    "iter_settings",
    "read_pipeline_file",
    "reference_markdown",
    "resolve_relative_paths",
    "setting_sections",
]
