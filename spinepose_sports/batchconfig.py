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
```

Every key is a setting of :mod:`spinepose_sports.config`, in its section's table, with
the same name as its ``analyze`` flag (``det_conf`` / ``--det-conf``); see
``docs/configuration.md``.  A results folder's ``run.json`` can be read back as well: its
``config`` repeats that run's settings.
"""

from __future__ import annotations

import glob
import json
import os
from pathlib import Path
from typing import Any

from .config import (
    SECTIONS,
    AnalyzeConfig,
    ConfigError,
    read_pipeline_file,
    resolve_relative_paths,
)
from .pipeline import expand_inputs

#: Top-level keys of a pipeline file besides the settings tables.
TOP_LEVEL = ("inputs",)


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


def load_config_file(path: str | Path) -> tuple[list[Path] | None, AnalyzeConfig]:
    """The inputs (None when the file names none) and the configuration of a pipeline
    file, or of a results folder's ``run.json`` (its recorded settings, no inputs).

    Raises BatchConfigError naming the file, the key, the value and what is allowed."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return None, _config_of_run_record(path)
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
    return (_resolve_inputs(inputs, base) if inputs is not None else None), config


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


__all__ = ["BatchConfigError", "load_batch_config", "load_config_file"]
