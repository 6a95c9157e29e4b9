"""Headless Chromium for the browser tests: load a local page, read its DOM and console."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

WINDOW = (1400, 3400)


def chromium(page: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium on a local page (offline), console messages on stderr."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser is not None, "use the chromium_path fixture"
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp / 'chromium-profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=15000",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        *args,
        page.resolve().as_uri() if "#" not in str(page) else "file://" + str(page),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


def console_errors(stderr: str) -> list[str]:
    lines = [ln for ln in stderr.splitlines() if "CONSOLE" in ln]
    return [ln for ln in lines if "Uncaught" in ln or "Error" in ln]


def body_attrs(dom: str) -> dict[str, str]:
    tag = re.search(r"<body([^>]*)>", dom)
    assert tag, dom[:500]
    return {k: v.replace("&quot;", '"') for k, v in re.findall(r'([\w-]+)="([^"]*)"', tag.group(1))}
