"""The ``analyze`` options, generated from the configuration model.

Every setting of :mod:`spinepose_sports.config` becomes one option: ``det_conf`` ->
``--det-conf``, booleans ``--stitch/--no-stitch``; the help text and the default shown
are the model's.  Values reach the model as typed (strings), so the model's own checks
give every error, in the same words as for a pipeline file.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from .config import ConfigError, iter_settings

#: Extra short names of some options.
SHORT = {"output": "-o"}
#: Settings given as repeated KEY=VALUE options.
KEY_VALUE = frozenset({"tracker_options"})
#: Metavars of settings whose type does not say how to write them.
METAVARS = {
    "athlete_heights": "ID=M,...",
    "calibration_points": "X1,Y1,X2,Y2",
    "export": "FORMATS",
}


def flag_of(name: str) -> str:
    """The CLI flag of a setting: ``det_conf`` -> ``--det-conf``."""
    return "--" + name.replace("_", "-")


def _metavar(name: str, info: Any) -> str:
    if name in METAVARS:
        return METAVARS[name]
    ann = info.annotation
    if typing.get_origin(ann) is tuple:
        return "IDS"
    args = [a for a in typing.get_args(ann) if a is not type(None)]
    literal = next((a for a in [ann, *args] if typing.get_origin(a) is typing.Literal), None)
    if literal is not None:
        return "[" + "|".join(map(str, typing.get_args(literal))) + "]"
    base = args[0] if args else ann
    return {float: "FLOAT", int: "INT", Path: "PATH"}.get(base, "TEXT")


def _shown_default(default: Any) -> str | bool:
    if default is None or default == {} or default == ():
        return False
    if isinstance(default, tuple):
        return ",".join(map(str, default))
    return str(default)


def setting_parameters() -> list[inspect.Parameter]:
    """One keyword-only parameter per setting, annotated for typer."""
    params = []
    for section, name, info in iter_settings():
        panel = f"Settings of the {section} table"
        decls = [flag_of(name), *([SHORT[name]] if name in SHORT else [])]
        if info.annotation is bool:
            option = typer.Option(
                f"{flag_of(name)}/--no-{flag_of(name)[2:]}", help=info.description,
                rich_help_panel=panel,
            )
            params.append(_keyword(name, Annotated[bool, option], bool(info.default)))
        elif name in KEY_VALUE:
            option = typer.Option(
                flag_of(name), metavar="KEY=VALUE", help=info.description, rich_help_panel=panel
            )
            params.append(_keyword(name, Annotated[list[str] | None, option], None))
        else:
            option = typer.Option(
                *decls, metavar=_metavar(name, info), help=info.description,
                show_default=_shown_default(info.default), rich_help_panel=panel,
            )
            params.append(_keyword(name, Annotated[str | None, option], None))
    return params


def _keyword(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def given_settings(ctx: typer.Context, values: Mapping[str, Any]) -> dict[str, Any]:
    """The settings the user gave on the command line (not the defaults), as values
    the configuration model reads."""
    names = {name for _, name, _ in iter_settings()}
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in names:
            continue
        source = ctx.get_parameter_source(name)
        if source is None or source.name != "COMMANDLINE":
            continue
        out[name] = parse_key_values(name, value) if name in KEY_VALUE else value
    return out


def parse_key_values(name: str, items: list[str] | None) -> dict[str, Any]:
    """``["new_track_thresh=0.1", "fuse_score=false"]`` -> ``{...: 0.1, ...: False}``
    (values read as YAML scalars)."""
    import yaml

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip() or not text.strip():
            raise ConfigError(f"{flag_of(name)} {item!r}: expected KEY=VALUE like "
                              "new_track_thresh=0.1")
        try:
            out[key.strip()] = yaml.safe_load(text.strip())
        except yaml.YAMLError:
            out[key.strip()] = text.strip()
    return out


__all__ = ["flag_of", "given_settings", "parse_key_values", "setting_parameters"]
