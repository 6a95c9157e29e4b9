"""Static PNG / PDF / SVG export of the dashboard's figures with kaleido and a local Chromium.

kaleido 1.x renders with a Chromium-based browser found by ``choreographer``: the
``BROWSER_PATH`` environment variable, else ``chromium``, ``google-chrome`` ... on the
``PATH`` and their usual install paths (``/usr/bin/chromium``).  ``kaleido.get_chrome()``
would *download* one: this module never calls it.  When no browser is found,
:class:`ChromiumNotFoundError` says how to install one.  MathJax (fetched from a CDN by
default) is switched off, so the export never touches the network.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import xarray as xr

from ..report import Results
from .dashboard import load_for_dashboard, select_tracks, track_figures

#: Executable names tried on the PATH, then the usual Linux paths.
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
BROWSER_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
FORMATS = ("png", "pdf", "svg", "jpg", "webp")
FIGURES_DIR = "figures"
INSTALL_HINT = (
    "Static export needs a Chromium-based browser. Install one with "
    "`apt-get install chromium` (Debian/Ubuntu), or point the BROWSER_PATH environment "
    "variable at an installed Chrome/Chromium executable. (kaleido's `kaleido_get_chrome` "
    "can also download one, where there is internet.)"
)


class ChromiumNotFoundError(RuntimeError):
    """No Chromium-based browser for kaleido; the message says how to get one."""


def find_chromium() -> str:
    """Path of the browser kaleido will use: ``BROWSER_PATH``, else a Chromium found locally.

    Raises:
        ChromiumNotFoundError: ``BROWSER_PATH`` is set but not an executable, or none found.
    """
    env = os.environ.get("BROWSER_PATH")
    if env:
        if Path(env).is_file() and os.access(env, os.X_OK):
            return env
        raise ChromiumNotFoundError(
            f"BROWSER_PATH={env!r} is not an executable file. {INSTALL_HINT}"
        )
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    for path in BROWSER_PATHS:
        if os.access(path, os.X_OK):
            return path
    raise ChromiumNotFoundError(f"No Chromium or Chrome found. {INSTALL_HINT}")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def export_static(
    results_dir: str | Path,
    formats: tuple[str, ...] | list[str] = ("png",),
    *,
    out_dir: str | Path | None = None,
    tracks: list[str] | None = None,
    width: int = 1300,
    height: int = 520,
    scale: float = 2.0,
) -> list[Path]:
    """Write the dashboard's figures as static files; returns the written paths.

    One file per shown track, figure and format: ``<out_dir>/<track>_<figure>.<format>``,
    ``out_dir`` defaulting to ``<results_dir>/figures``.  formats: any of :data:`FORMATS`.
    tracks: individuals to export (default: those the dashboard shows).  width, height:
    px of each figure (the spine shapes keep their own height); scale: pixel density.

    Raises:
        ChromiumNotFoundError: no browser to render with (see :data:`INSTALL_HINT`).
        ValueError: an unknown format.
    """
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValueError(f"formats: unknown {bad}; choose from {list(FORMATS)}")
    browser = find_chromium()
    results, kin = load_for_dashboard(results_dir)
    target = Path(out_dir) if out_dir is not None else results.folder / FIGURES_DIR
    target.mkdir(parents=True, exist_ok=True)
    specs, paths = _specs(results, kin, formats, target, tracks, (width, height, scale))
    if specs:
        _render(specs, browser)
    return paths


def _specs(
    results: Results,
    kin: xr.Dataset,
    formats: tuple[str, ...] | list[str],
    target: Path,
    tracks: list[str] | None,
    size: tuple[int, int, float],
) -> tuple[list[dict[str, object]], list[Path]]:
    shown, _ = select_tracks(kin, results.repetitions)
    if tracks is not None:
        shown = [t for t in shown if t.individual in set(tracks)]
    specs: list[dict[str, object]] = []
    paths: list[Path] = []
    width, height, scale = size
    for info in shown:
        for key, fig in track_figures(results, kin, info).items():
            fig_height = fig.layout.height or height
            for fmt in formats:
                path = target / f"{_safe(info.individual)}_{key}.{fmt}"
                opts = {"format": fmt, "width": width, "height": fig_height, "scale": scale}
                specs.append({"fig": fig.to_plotly_json(), "path": path, "opts": opts})
                paths.append(path)
    return specs, paths


def _render(specs: list[dict[str, object]], browser: str) -> None:
    """Render every spec in one browser session."""
    import kaleido
    from choreographer.errors import ChromeNotFoundError

    try:
        kaleido.write_fig_from_object_sync(specs, kopts={"path": browser, "mathjax": False})
    except ChromeNotFoundError as err:
        raise ChromiumNotFoundError(f"kaleido could not start {browser}. {INSTALL_HINT}") from err


__all__ = ["FORMATS", "INSTALL_HINT", "ChromiumNotFoundError", "export_static", "find_chromium"]
