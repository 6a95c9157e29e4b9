"""spinepose-sports: spine biomechanics from ordinary sports footage."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
