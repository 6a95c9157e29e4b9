"""File helpers of the exports: atomic writes (the results folder's) and number format."""

from __future__ import annotations

from ..results import atomic_path, write_text

__all__ = ["atomic_path", "fmt", "write_text"]


def fmt(value: float, digits: int = 6) -> str:
    """A number for a text table: fixed ``digits`` decimals, ``NaN`` when missing."""
    v = float(value)
    return f"{v:.{digits}f}" if v == v and abs(v) != float("inf") else "NaN"
