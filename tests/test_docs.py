"""The docs stay true: the README's commands, CI, the licence."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)


def test_quick_start_has_exactly_two_commands() -> None:
    commands = _quick_start_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    assert "spinepose-sports analyze sample_videos/" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _quick_start_commands()[1] in ci_lines


def test_sample_clip_and_licences_are_there() -> None:
    assert (ROOT / "sample_videos" / "sports2d_demo.mp4").stat().st_size > 1_000_000
    assert "BSD" in (ROOT / "sample_videos" / "LICENSE.sports2d-demo.txt").read_text()
    assert "GNU AFFERO GENERAL PUBLIC LICENSE" in (ROOT / "LICENSE").read_text()
    assert "CC-BY-NC-4.0" in (ROOT / "README.md").read_text()
