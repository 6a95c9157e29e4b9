"""Pipeline files: a TOML file naming the inputs and the settings, table by stage.

```toml
# pipelines/season.toml
inputs = ["footage/2026-*/*.mp4", "footage/extra/"]   # globs, files or folders,
                                                        # relative to this file
[outputs]
output = "results/season-2026"                         # relative to this file
skip_completed = true

[detector]
tracker = "botsort"
person_classes = [0]

[pose]
pose_model = "m"

[[videos]]                                             # per-video settings (optional)
path = "footage/2026-05-02/sprint.mp4"                 # a file or a glob; added to the
start = 2.0                                            # inputs when not among them
athletes = "largest:2"
names = "1=Anna,2=Ben"
view = "left_side"
```

Every key is a setting of :mod:`spinepose_sports.config`, in its section's table, with
the same name as its ``analyze`` flag (``det_conf`` / ``--det-conf``); see
``docs/configuration.md``.  A ``[[videos]]`` entry changes settings of the videos its
``path`` names (flat keys, the same names; not ``output`` nor the ``[batch]`` table,
which are the session's); later entries win over earlier ones.  A results folder's
``run.json`` can be read back as well: its ``config`` repeats that run's settings.
"""

from __future__ import annotations

import fnmatch
import glob
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import (
    SECTIONS,
    AnalyzeConfig,
    BatchSettings,
    ConfigError,
    read_pipeline_file,
    resolve_relative_paths,
    setting_sections,
)
from .pipeline import expand_inputs

#: Top-level keys of a pipeline file besides the settings tables.
TOP_LEVEL = ("inputs", "videos")
#: Settings of the session as a whole, which a ``[[videos]]`` entry cannot change.
NOT_PER_VIDEO = frozenset({"output"}) | frozenset(BatchSettings.model_fields)


class BatchConfigError(ConfigError):
    """A pipeline file that cannot be used; the message names the file and the key."""


def _resolve_inputs(patterns: list[str], base: Path) -> list[Path]:
    found: list[Path] = []
    for pattern in patterns:
        full = os.path.normpath(pattern if Path(pattern).is_absolute() else base / pattern)
        matches = sorted(glob.glob(full)) if glob.has_magic(full) else [full]
        found.extend(expand_inputs(matches))
    return found


def _check_top_level(raw: dict[str, Any], path: Path) -> None:
    import difflib

    known = [*TOP_LEVEL, *SECTIONS]
    for key in raw:
        if key in known:
            continue
        if key == "analyze":
            raise BatchConfigError(
                f"{path}: the [analyze] table is gone: settings live in per-stage tables "
                f"({', '.join(f'[{s}]' for s in SECTIONS)}); see docs/configuration.md"
            )
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
        raise BatchConfigError(f"{path}: unknown top-level key {key!r}; {hint}")


@dataclass(frozen=True)
class VideoOverride:
    """A ``[[videos]]`` entry: the videos ``pattern`` names (an absolute path or glob)
    get ``settings`` (flat, by name) on top of the file's."""

    pattern: str
    settings: dict[str, Any]
    where: str

    def matches(self, path: Path) -> bool:
        full = os.path.normpath(Path(path).absolute())
        return full == self.pattern or (
            glob.has_magic(self.pattern) and fnmatch.fnmatchcase(full, self.pattern)
        )


@dataclass
class Session:
    """A pipeline file: its settings, its inputs (None when it names none) and its
    per-video overrides."""

    config: AnalyzeConfig
    inputs: list[Path] | None
    overrides: list[VideoOverride] = field(default_factory=list)

    def config_for(self, path: Path, flags: Mapping[str, Any] | None = None,
                   base: AnalyzeConfig | None = None) -> AnalyzeConfig:
        """The settings of one video: ``base`` (default: the file's), its overrides,
        then ``flags`` (command-line settings win over the file)."""
        config = base or self.config
        for o in self.overrides:
            if o.matches(path):
                config = AnalyzeConfig.from_settings(o.settings, base=config, source=o.where)
        if flags:
            config = AnalyzeConfig.from_settings(flags, base=config, flags=True)
        return config


def _overrides(raw: Any, path: Path, base: Path, config: AnalyzeConfig) -> list[VideoOverride]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(v, dict) for v in raw):
        raise BatchConfigError(f"{path}: 'videos' must be [[videos]] tables with a 'path'")
    out = []
    for i, entry in enumerate(raw, 1):
        where = f"{path}: videos[{i}]"
        entry = dict(entry)
        target = entry.pop("path", None)
        if not isinstance(target, str) or not target:
            raise BatchConfigError(f"{where}: give the video as path = \"FILE or GLOB\"")
        for key in entry:
            if key in NOT_PER_VIDEO:
                raise BatchConfigError(
                    f"{where}: {key!r} is a setting of the whole session, not of one video"
                )
        sections = setting_sections()
        tables: dict[str, dict[str, Any]] = {}
        for key, value in entry.items():
            tables.setdefault(sections.get(key, "?"), {})[key] = value
        tables = resolve_relative_paths(tables, base)
        settings = {k: v for t in tables.values() for k, v in t.items()}
        try:
            AnalyzeConfig.from_settings(settings, base=config, source=where)
        except ConfigError as exc:
            raise BatchConfigError(str(exc)) from None
        pattern = target if Path(target).is_absolute() else str(base / target)
        out.append(VideoOverride(os.path.normpath(pattern), settings, where))
    return out


def load_session(path: str | Path) -> Session:
    """A pipeline file's settings, inputs and per-video overrides (see the module doc);
    a results folder's ``run.json`` gives its recorded settings and no inputs.

    Raises BatchConfigError naming the file, the key, the value and what is allowed."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return Session(_config_of_run_record(path), None)
    try:
        raw = read_pipeline_file(path)
    except ConfigError as exc:
        raise BatchConfigError(str(exc)) from None
    _check_top_level(raw, path)
    base = path.resolve().parent
    inputs = raw.get("inputs")
    if inputs is not None and (
        not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs)
    ):
        raise BatchConfigError(f"{path}: 'inputs' must be a list of paths or globs")
    tables = resolve_relative_paths({k: v for k, v in raw.items() if k in SECTIONS}, base)
    try:
        config = AnalyzeConfig.from_tables(tables, source=str(path))
    except ConfigError as exc:
        raise BatchConfigError(str(exc)) from None
    overrides = _overrides(raw.get("videos"), path, base, config)
    found = _resolve_inputs(inputs, base) if inputs is not None else None
    if overrides:
        found = list(found or [])
        known = {os.path.normpath(p.absolute()) for p in found}
        for extra in _resolve_inputs([o.pattern for o in overrides], base):
            if os.path.normpath(extra.absolute()) not in known:
                known.add(os.path.normpath(extra.absolute()))
                found.append(extra)
    return Session(config, found, overrides)


def load_config_file(path: str | Path) -> tuple[list[Path] | None, AnalyzeConfig]:
    """The inputs (None when the file names none) and the configuration of a pipeline
    file (without its per-video overrides: :func:`load_session` has them), or of a
    results folder's ``run.json`` (its recorded settings, no inputs).

    Raises BatchConfigError naming the file, the key, the value and what is allowed."""
    session = load_session(path)
    return session.inputs, session.config


def _config_of_run_record(path: Path) -> AnalyzeConfig:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BatchConfigError(f"{path}: cannot read a run record ({exc})") from None
    tables = record.get("config") if isinstance(record, dict) else None
    if not isinstance(tables, dict):
        raise BatchConfigError(f"{path}: no 'config' recorded (made by an older version?)")
    try:
        return AnalyzeConfig.from_tables(tables, source=str(path))
    except ConfigError as exc:
        raise BatchConfigError(str(exc)) from None


def load_batch_config(path: str | Path) -> tuple[list[Path], AnalyzeConfig]:
    """A pipeline file's expanded inputs and its configuration (``run``)."""
    inputs, config = load_config_file(path)
    if inputs is None:
        raise BatchConfigError(f"{path}: 'inputs' must be a list of paths or globs")
    return inputs, config


__all__ = [
    "BatchConfigError",
    "Session",
    "VideoOverride",
    "load_batch_config",
    "load_config_file",
    "load_session",
]
