"""Run the installed console script as a user would (no network, ever)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CLI = Path(sys.executable).with_name("spinepose-sports")


def run_cli(
    *args: str | Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run ``spinepose-sports ARGS``; returns the CompletedProcess (text output)."""
    full_env = dict(os.environ, YOLO_OFFLINE="1", SPINEPOSE_SPORTS_OFFLINE="1")
    full_env.update(env or {})
    cmd = [str(CLI)] if CLI.exists() else [sys.executable, "-m", "spinepose_sports"]
    return subprocess.run(
        [*cmd, *map(str, args)], capture_output=True, text=True, env=full_env, timeout=timeout
    )
