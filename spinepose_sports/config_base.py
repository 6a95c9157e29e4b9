"""The base of the configuration's section models (:mod:`spinepose_sports.config`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ConfigError(ValueError):
    """A setting that cannot be used: one line naming the key, the value and what is allowed."""


class Section(BaseModel):
    """A section of the configuration: unknown keys refused, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def setting(default: Any, help: str, **kw: Any) -> Any:
    """A setting's field: its default and its one-line help (the CLI's and the docs')."""
    return Field(default, description=help, **kw)


__all__ = ["ConfigError", "Section", "setting"]
