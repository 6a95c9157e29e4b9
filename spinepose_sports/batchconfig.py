"""Batch pipeline definitions: a TOML file naming the inputs and every parameter.

```toml
# pipelines/season.toml
inputs = ["footage/2026-*/*.mp4", "footage/extra/"]   # globs, files or folders,
                                                        # relative to this file
output_dir = "results/season-2026"                     # relative to this file

[analyze]            # any AnalyzeConfig field (see `spinepose-sports analyze --help`)
pose_model = "m"
tracker = "botsort"
person_classes = [0]
skip_completed = true
```
"""

from __future__ import annotations

import dataclasses
import glob
import os
import tomllib
from pathlib import Path
from typing import Any

from .pipeline import AnalyzeConfig, expand_inputs

_PATH_FIELDS = {"output_dir", "model_dir"}


class BatchConfigError(ValueError):
    """A batch definition that cannot be used; the message names the file and the key."""


def _resolve_inputs(patterns: list[str], base: Path) -> list[Path]:
    found: list[Path] = []
    for pattern in patterns:
        full = os.path.normpath(pattern if Path(pattern).is_absolute() else base / pattern)
        matches = sorted(glob.glob(full)) if glob.has_magic(full) else [full]
        found.extend(expand_inputs(matches))
    return found


def _analyze_config(table: dict[str, Any], base: Path, path: Path) -> AnalyzeConfig:
    fields = {f.name for f in dataclasses.fields(AnalyzeConfig)}
    unknown = sorted(set(table) - fields)
    if unknown:
        raise BatchConfigError(f"{path}: unknown [analyze] keys {unknown}; known: {sorted(fields)}")
    values: dict[str, Any] = dict(table)
    for key in _PATH_FIELDS & set(values):
        p = Path(values[key])
        values[key] = p if p.is_absolute() else Path(os.path.normpath(base / p))
    if not isinstance(values.get("tracker_options", {}), dict):
        raise BatchConfigError(
            f"{path}: [analyze] tracker_options must be a table of tracker settings, "
            "like [analyze.tracker_options] new_track_thresh = 0.1"
        )
    if "person_classes" in values:
        values["person_classes"] = tuple(int(c) for c in values["person_classes"])
    return AnalyzeConfig(**values)


def load_batch_config(path: str | Path) -> tuple[list[Path], AnalyzeConfig]:
    """Read a batch definition: the expanded input paths and the analyze configuration."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as exc:
        raise BatchConfigError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise BatchConfigError(f"{path}: not valid TOML ({exc})") from exc
    base = path.resolve().parent
    inputs = raw.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise BatchConfigError(f"{path}: 'inputs' must be a list of paths or globs")
    table = dict(raw.get("analyze", {}))
    if "output_dir" in raw:
        table.setdefault("output_dir", raw["output_dir"])
    try:
        config = _analyze_config(table, base, path)
    except TypeError as exc:
        raise BatchConfigError(f"{path}: {exc}") from exc
    return _resolve_inputs(inputs, base), config
