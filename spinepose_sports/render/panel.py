"""The side panel: live time-series plots of the spine angles with a moving cursor.

Four stacked plots (trunk flexion, lumbar, thoracic, cervical, deg) over the rendered time
range, one line per athlete in the athlete's track colour.  The static parts (axes, ticks,
titles, the whole curves dimmed) are drawn once; each frame only copies that background,
draws the curves up to the current time at full strength, the cursor and the current
values.  Drawn with OpenCV, BGR ``uint8``: no plotting library per frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import xarray as xr

from ..data import track_id_of
from .annotate import track_color
from .hud import put_text, text_size

#: (title, kinematics variable, label or None) of the plotted series, top to bottom.
PANEL_SERIES: tuple[tuple[str, str, str | None], ...] = (
    ("trunk flexion", "trunk_flexion", None),
    ("lumbar", "regional_angle", "lumbar"),
    ("thoracic", "regional_angle", "thoracic"),
    ("cervical", "regional_angle", "cervical"),
)
BACKGROUND_BGR = (28, 28, 28)
AXIS_BGR = (110, 110, 110)
GRID_BGR = (60, 60, 60)
TEXT_BGR = (235, 235, 235)
MAX_PANEL_TRACKS = 6


@dataclass(frozen=True)
class PanelSeries:
    """One athlete's series for the panel.

    values: ``(S, T)`` deg, one row per entry of :data:`PANEL_SERIES`, NaN gaps; times of
    the columns are the panel's ``times``.
    """

    track_id: int
    label: str
    values: np.ndarray


def _dimmed(color: tuple[int, int, int]) -> tuple[int, int, int]:
    """``color`` blended 35 % over the panel background."""
    b, g, r = (int(0.35 * c + 0.65 * k) for c, k in zip(color, BACKGROUND_BGR, strict=True))
    return b, g, r


def _nice_step(span: float, target: int = 3) -> float:
    raw = max(span / target, 1e-9)
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


class TimeSeriesPanel:
    """Draws the panel at any time of the rendered range.

    times: ``(T,)`` s of the rendered frames; series: the athletes' series; height, width:
    panel size in px; scale: font scale (as :attr:`~.annotate.DrawStyle.small_font_scale`).
    """

    def __init__(
        self,
        times: np.ndarray,
        series: list[PanelSeries],
        height: int,
        width: int,
        scale: float,
        thickness: int,
    ) -> None:
        self.times = np.asarray(times, dtype=np.float64)
        self.series = series[:MAX_PANEL_TRACKS]
        self.height, self.width = int(height), int(width)
        self.scale, self.thickness = scale, max(1, thickness)
        self.line_px = max(1, round(self.thickness * 1.2))
        self._layout()
        self._background = self._draw_background()

    # ------------------------------------------------------------------ layout
    def _layout(self) -> None:
        s, th = self.scale, self.thickness
        self.text_h = text_size("Ag", s, th)[1]
        self.pad = max(4, round(self.text_h * 0.7))
        self.left = text_size("-000°", s, th)[0] + 2 * self.pad
        self.right = self.width - self.pad
        legend_h = 2 * self.text_h + self.pad
        n = len(PANEL_SERIES)
        top = legend_h + self.pad
        bottom_axis = self.text_h + 2 * self.pad
        plot_area = self.height - top - bottom_axis
        self.row_h = max(plot_area // n, 3 * self.text_h)
        self.rows: list[tuple[int, int]] = []  # (y_top, y_bottom) of each plot's data area
        for i in range(n):
            y0 = top + i * self.row_h + self.text_h + self.pad
            y1 = top + (i + 1) * self.row_h - self.pad // 2
            self.rows.append((y0, max(y1, y0 + 4)))
        self.t0 = float(self.times[0]) if len(self.times) else 0.0
        self.t1 = float(self.times[-1]) if len(self.times) else 1.0
        if self.t1 <= self.t0:
            self.t1 = self.t0 + 1.0
        self.limits = [self._limits(i) for i in range(n)]

    def _limits(self, i: int) -> tuple[float, float]:
        vals = [s.values[i] for s in self.series]
        finite = np.concatenate([v[np.isfinite(v)] for v in vals]) if vals else np.array([])
        if finite.size == 0:
            return -10.0, 10.0
        lo, hi = float(finite.min()), float(finite.max())
        lo, hi = min(lo, 0.0), max(hi, 0.0)
        span = max(hi - lo, 10.0)
        mid = (hi + lo) / 2
        return mid - 0.55 * span, mid + 0.55 * span

    def x_of(self, t: np.ndarray | float) -> np.ndarray:
        """Panel x (px) of times ``t`` (s)."""
        return self.left + (np.asarray(t) - self.t0) / (self.t1 - self.t0) * (
            self.right - self.left
        )

    def y_of(self, i: int, v: np.ndarray | float) -> np.ndarray:
        """Panel y (px) of values ``v`` (deg) in plot ``i``."""
        (y0, y1), (lo, hi) = self.rows[i], self.limits[i]
        return y1 - (np.asarray(v) - lo) / (hi - lo) * (y1 - y0)

    # ------------------------------------------------------------------ static part
    def _draw_background(self) -> np.ndarray:
        img = np.full((self.height, self.width, 3), BACKGROUND_BGR, np.uint8)
        self._draw_legend(img)
        for i, (title, _, _) in enumerate(PANEL_SERIES):
            self._draw_axes(img, i, title)
            for s in self.series:
                self._draw_curve(
                    img,
                    i,
                    s.values[i],
                    len(self.times),
                    _dimmed(track_color(s.track_id)),
                    max(1, self.line_px // 2),
                )
        self._draw_time_axis(img)
        return img

    def _draw_legend(self, img: np.ndarray) -> None:
        s, th, pad = self.scale, self.thickness, self.pad
        x, y = pad, pad + self.text_h
        put_text(img, "angles (deg), flexion / right bend +", (x, y), s, th, TEXT_BGR)
        y += self.text_h + pad
        for ser in self.series:
            color = track_color(ser.track_id)
            w = text_size(ser.label, s, th)[0]
            if x + w + 3 * pad > self.width:
                break
            cv2.rectangle(img, (x, y - self.text_h), (x + self.text_h, y), color, -1)
            put_text(img, ser.label, (x + self.text_h + pad // 2, y), s, th, TEXT_BGR)
            x += self.text_h + w + 2 * pad

    def _draw_axes(self, img: np.ndarray, i: int, title: str) -> None:
        s, th = self.scale, self.thickness
        y0, y1 = self.rows[i]
        lo, hi = self.limits[i]
        put_text(img, title, (self.left, y0 - self.pad // 2), s, th, TEXT_BGR)
        step = _nice_step(hi - lo)
        for v in np.arange(math.ceil(lo / step) * step, hi, step):
            y = round(float(self.y_of(i, v)))
            cv2.line(img, (self.left, y), (self.right, y), AXIS_BGR if v == 0 else GRID_BGR, 1)
            label = f"{v:.0f}°"
            w = text_size(label, s * 0.85, th)[0]
            put_text(
                img,
                label,
                (self.left - w - self.pad // 2, y + self.text_h // 2),
                s * 0.85,
                th,
                TEXT_BGR,
            )
        cv2.rectangle(img, (self.left, y0), (self.right, y1), AXIS_BGR, 1)

    def _draw_time_axis(self, img: np.ndarray) -> None:
        s, th = self.scale * 0.85, self.thickness
        y = self.rows[-1][1]
        step = _nice_step(self.t1 - self.t0, 5)
        for t in np.arange(math.ceil(self.t0 / step) * step, self.t1 + 1e-9, step):
            x = round(float(self.x_of(t)))
            cv2.line(img, (x, y), (x, y + self.pad // 2), AXIS_BGR, 1)
            label = f"{t:g}"
            w = text_size(label, s, th)[0]
            put_text(img, label, (x - w // 2, y + self.pad + self.text_h), s, th, TEXT_BGR)
        unit_w = text_size("s", s, th)[0]
        put_text(img, "s", (self.right - unit_w, y + self.pad + self.text_h), s, th, TEXT_BGR)

    def _draw_curve(
        self,
        img: np.ndarray,
        i: int,
        v: np.ndarray,
        upto: int,
        color: tuple[int, int, int],
        width: int,
    ) -> None:
        v = v[:upto]
        if v.size < 2:
            return
        x = self.x_of(self.times[:upto])
        y = self.y_of(i, v)
        ok = np.isfinite(y)
        pts = np.round(np.stack([x, np.nan_to_num(y)], axis=1) * 4).astype(np.int32)
        # split at NaN gaps: contiguous runs of valid samples
        edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
        runs = [
            pts[a:b].reshape(-1, 1, 2)
            for a, b in zip(edges[::2], edges[1::2], strict=True)
            if b - a >= 2
        ]
        if runs:
            cv2.polylines(img, runs, False, color, width, cv2.LINE_AA, shift=2)

    # ------------------------------------------------------------------ per frame
    def frame(self, row: int) -> np.ndarray:
        """The panel at the rendered frame ``row`` (index into ``times``): ``(H, W, 3)`` BGR."""
        img = self._background.copy()
        row = int(np.clip(row, 0, max(len(self.times) - 1, 0)))
        x = round(float(self.x_of(self.times[row]))) if len(self.times) else self.left
        for i in range(len(PANEL_SERIES)):
            y0, y1 = self.rows[i]
            for s in self.series:
                color = track_color(s.track_id)
                self._draw_curve(img, i, s.values[i], row + 1, color, self.line_px)
                v = s.values[i][row] if len(self.times) else np.nan
                if np.isfinite(v):
                    y = round(float(self.y_of(i, v)))
                    cv2.circle(img, (x, y), self.line_px + 2, color, -1, cv2.LINE_AA)
            cv2.line(img, (x, y0), (x, y1), TEXT_BGR, 1, cv2.LINE_AA)
        return img


def panel_series(
    kinematics: xr.Dataset, individuals: list[str], names: dict[int, str] | None, times: np.ndarray
) -> list[PanelSeries]:
    """The athletes' panel series from a kinematics dataset, at ``times`` (s).

    kinematics: an ``xarray.Dataset`` with ``trunk_flexion`` and ``regional_angle``;
    individuals: the tracks to consider; the :data:`MAX_PANEL_TRACKS` with the most valid
    samples in the range are kept, in track order.
    """
    kin = kinematics.reindex(individual=individuals)
    kin = kin.sel(time=np.asarray(times), method="nearest")
    out: list[PanelSeries] = []
    for ind in individuals:
        rows = []
        for _, var, label in PANEL_SERIES:
            da = kin[var].sel(individual=ind)
            if label is not None:
                da = da.sel(region=label)
            rows.append(np.asarray(da.values, dtype=np.float64))
        values = np.stack(rows)
        tid = track_id_of(ind)
        label = (names or {}).get(tid, f"#{tid}")
        out.append(PanelSeries(tid, label, values))
    counts = [int(np.isfinite(s.values[0]).sum()) for s in out]
    keep = sorted(np.argsort(counts)[::-1][:MAX_PANEL_TRACKS].tolist())
    return [out[k] for k in keep if counts[k] > 0]


__all__ = ["PANEL_SERIES", "PanelSeries", "TimeSeriesPanel", "panel_series"]
