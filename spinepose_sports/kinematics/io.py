"""Tables and files of a kinematics dataset: tidy angles, per-track summary, repetitions.

Only :func:`save_kinematics` and :func:`load_kinematics` touch the disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..data import frames_per_block, load_netcdf, save_netcdf, track_id_of
from ..results import ANGLES_FILE, KINEMATICS_FILE, REPETITIONS_FILE, SUMMARY_FILE, atomic_path
from .compute import KINEMATICS_DS_TYPE, LABEL_DIMS, SCALAR_LABELS
from .cycles import REPETITION_COLUMNS
from .quality import QUALITY_CHECKS, reason_strings
from .quantities import ANGLE_VARIABLES, units_of

TABLE_COLUMNS: tuple[str, ...] = (
    "time_s", "frame", "track", "quantity", "label", "value", "units", "valid", "quality",
)


def _base_name(name: str) -> str:
    for suffix in ("_velocity", "_acceleration"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _as_tln(kin: xr.Dataset, name: str) -> tuple[np.ndarray, list[str]]:
    """Variable -> ``(T, L, N)`` values and its L labels."""
    da = kin[name]
    base = _base_name(name)
    if base in LABEL_DIMS:
        dim = LABEL_DIMS[base]
        values = da.transpose("time", dim, "individual").values
        labels = [str(v) if dim != "arc" else f"{float(v):.3f}" for v in kin[dim].values]
        return values, labels
    return da.transpose("time", "individual").values[:, None, :], [SCALAR_LABELS.get(base, base)]


def _track_ids(kin: xr.Dataset) -> np.ndarray:
    return np.array([track_id_of(i) for i in kin["individual"].values], dtype=np.int64)


def validity(kin: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """``valid (T, N)`` bool and ``quality (T, N)`` str (failed checks joined by ``;``).

    Datasets without the quality variables (older files) count every frame as valid.
    """
    shape = (kin.sizes["time"], kin.sizes["individual"])
    if "valid" not in kin:
        return np.ones(shape, bool), np.full(shape, "", dtype=object).astype(str)
    valid = np.asarray(kin["valid"].transpose("time", "individual").values, dtype=bool)
    flags_da = kin["quality_flags"].transpose("time", "individual", "quality_check")
    flags = np.asarray(flags_da.sel(quality_check=list(QUALITY_CHECKS)).values, dtype=bool)
    return valid, reason_strings(flags)


def kinematics_table(kin: xr.Dataset, quantities: Sequence[str] = ANGLE_VARIABLES) -> pd.DataFrame:
    """Tidy table: one row per (frame, track, quantity, label) with a value.

    Columns :data:`TABLE_COLUMNS`: ``time_s`` (s), ``frame`` (video frame index),
    ``track`` (integer track id), ``quantity`` (variable name), ``label`` (segment, level,
    region, joint, body segment, arc position, or ``trunk``/``pelvis``/``spine``),
    ``value``, ``units``, ``valid`` (1 when the frame passes every quality check, else 0)
    and ``quality`` (the failed checks, ``;``-separated, empty when valid).  NaN values
    are left out.  Rows are ordered by time, track, quantity, label.
    """
    time = kin["time"].values
    frame = kin["frame"].values if "frame" in kin.coords else np.arange(time.size)
    tracks = _track_ids(kin)
    parts = []
    for q_order, name in enumerate(quantities):
        values, labels = _as_tln(kin, name)
        t_idx, l_idx, n_idx = np.meshgrid(
            np.arange(values.shape[0]),
            np.arange(values.shape[1]),
            np.arange(values.shape[2]),
            indexing="ij",
        )
        keep = np.isfinite(values)
        parts.append(
            pd.DataFrame(
                {
                    "_t": t_idx[keep],
                    "_n": n_idx[keep],
                    "_q": q_order,
                    "_l": l_idx[keep],
                    "quantity": name,
                    "label": np.asarray(labels, dtype=object)[l_idx[keep]],
                    "value": values[keep],
                    "units": units_of(name),
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=list(TABLE_COLUMNS))
    df = pd.concat(parts, ignore_index=True)
    df = df.sort_values(["_t", "_n", "_q", "_l"], kind="stable").reset_index(drop=True)
    df.insert(0, "time_s", time[df["_t"].to_numpy()])
    df.insert(1, "frame", frame[df["_t"].to_numpy()])
    df.insert(2, "track", tracks[df["_n"].to_numpy()] if tracks.size else np.zeros(0, np.int64))
    valid, quality = validity(kin)
    t_i, n_i = df["_t"].to_numpy(), df["_n"].to_numpy()
    df["valid"] = valid[t_i, n_i].astype(np.int8)
    df["quality"] = quality[t_i, n_i]
    return df[list(TABLE_COLUMNS)]


def repetitions_table(kin: xr.Dataset) -> pd.DataFrame:
    """One row per repetition: ``track`` (int), ``number`` (1-based), ``signal`` and the
    columns of :data:`~spinepose_sports.kinematics.cycles.REPETITION_COLUMNS`
    (times in s, angles in deg, ratios and shares unitless)."""
    columns = ["track", "number", "signal", *REPETITION_COLUMNS]
    if "rep_track" not in kin:
        return pd.DataFrame(columns=columns)
    data: dict[str, Any] = {
        "track": [track_id_of(t) for t in kin["rep_track"].values],
        "number": kin["rep_number"].values.astype(np.int64),
        "signal": kin.attrs.get("repetition_signal", ""),
    }
    for col in REPETITION_COLUMNS:
        data[col] = kin[f"rep_{col}"].values
    return pd.DataFrame(data, columns=columns)


def _nanstats(a: np.ndarray, time: np.ndarray) -> dict[str, np.ndarray]:
    """Per-column statistics of ``a (T, M)``; NaN (without warnings) for empty columns."""
    valid = np.isfinite(a)
    n = valid.sum(axis=0)
    filled = np.where(valid, a, 0.0)
    mean = np.where(n > 0, filled.sum(axis=0) / np.maximum(n, 1), np.nan)
    var = np.where(valid, (a - mean) ** 2, 0.0).sum(axis=0) / np.maximum(n, 1)
    lo = np.where(valid, a, np.inf)
    hi = np.where(valid, a, -np.inf)
    i_min, i_max = lo.argmin(axis=0), hi.argmax(axis=0)
    vmin = np.where(n > 0, lo.min(axis=0), np.nan)
    vmax = np.where(n > 0, hi.max(axis=0), np.nan)
    return {
        "n_valid": n,
        "mean": mean,
        "std": np.where(n > 0, np.sqrt(var), np.nan),
        "min": vmin,
        "max": vmax,
        "rom": vmax - vmin,
        "time_of_min_s": np.where(n > 0, time[i_min], np.nan),
        "time_of_max_s": np.where(n > 0, time[i_max], np.nan),
    }


def _rep_windows(kin: xr.Dataset) -> dict[str, list[tuple[int, int]]]:
    """Per individual, the (start, end) time indices of its repetitions."""
    out: dict[str, list[tuple[int, int]]] = {str(i): [] for i in kin["individual"].values}
    if "rep_track" not in kin:
        return out
    time = kin["time"].values
    for ind, s, e in zip(
        kin["rep_track"].values,
        kin["rep_window_start_s"].values,
        kin["rep_window_end_s"].values,
        strict=True,
    ):
        i0, i1 = np.searchsorted(time, [s, e])
        out[str(ind)].append((int(i0), int(i1)))
    return out


def _mean_rep_rom(a: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray:
    """Mean over repetitions of (max - min) within each window; ``a`` is ``(T, M)``."""
    roms = []
    for i0, i1 in windows:
        w = a[i0 : i1 + 1]
        ok = np.isfinite(w).any(axis=0)
        hi = np.where(np.isfinite(w), w, -np.inf).max(axis=0)
        lo = np.where(np.isfinite(w), w, np.inf).min(axis=0)
        roms.append(np.where(ok, hi - lo, np.nan))
    if not roms:
        return np.full(a.shape[1], np.nan)
    stacked = np.stack(roms)
    n = np.isfinite(stacked).sum(axis=0)
    return np.where(n > 0, np.nansum(stacked, axis=0) / np.maximum(n, 1), np.nan)


def _track_info(kin: xr.Dataset, ind: str, reps: pd.DataFrame) -> dict[str, Any]:
    track = track_id_of(ind)
    mine = reps[reps["track"] == track]
    info: dict[str, Any] = {"track": track}
    for var in ("view", "facing", "motion_plane"):
        info[var] = str(kin[var].sel(individual=ind).values) if var in kin else ""
    info["repetitions"] = len(mine)
    for col, src in (
        ("mean_repetition_duration_s", "duration_s"),
        ("mean_repetition_rom", "rom"),
        ("mean_repetition_peak", "peak_value"),
        ("mean_time_to_peak_s", "time_to_peak_s"),
    ):
        info[col] = float(mine[src].mean()) if len(mine) else float("nan")
    return info


def summary_table(kin: xr.Dataset, quantities: Sequence[str] = ANGLE_VARIABLES) -> pd.DataFrame:
    """Per-track summary over the track's **valid** frames: one row per (track, quantity,
    label).

    Columns: ``track, view, facing, motion_plane, valid_frames, invalid_frames,
    repetitions, mean_repetition_duration_s, mean_repetition_rom, mean_repetition_peak,
    mean_time_to_peak_s`` (the track's repetitions on the driving signal), then
    ``quantity, label, units, n_valid`` (values used: finite on valid frames),
    ``n_excluded`` (finite values on invalid frames, left out), ``mean, std, min, max,
    rom`` (max − min), ``time_of_min_s, time_of_max_s`` and ``mean_rep_rom`` (this
    quantity's range within each repetition's trough-to-trough window, averaged).
    """
    time = kin["time"].values
    reps = repetitions_table(kin)
    windows = _rep_windows(kin)
    valid, quality = validity(kin)
    rows: list[dict[str, Any]] = []
    for j, ind in enumerate(str(i) for i in kin["individual"].values):
        info = _track_info(kin, ind, reps)
        info["valid_frames"] = int(valid[:, j].sum())
        info["invalid_frames"] = int((quality[:, j] != "").sum())
        for name in quantities:
            values, labels = _as_tln(kin, name)
            raw = values[:, :, j]
            a = np.where(valid[:, j, None], raw, np.nan)
            stats = _nanstats(a, time)
            n_used = stats.pop("n_valid")
            stats = {"n_valid": n_used, "n_excluded": np.isfinite(raw).sum(axis=0) - n_used,
                     **stats}
            rep_rom = _mean_rep_rom(a, windows[ind])
            for k, label in enumerate(labels):
                row = dict(info, quantity=name, label=label, units=units_of(name))
                row.update({key: val[k].item() for key, val in stats.items()})
                row["mean_rep_rom"] = float(rep_rom[k])
                rows.append(row)
    return pd.DataFrame(rows)


#: Track-frames of ``angles.csv`` built and written at a time by :func:`save_kinematics`
#: (a block's table holds about 23 KiB per track-frame: 1500 of them are some 35 MiB).
CSV_BLOCK_TRACK_FRAMES = 1500


def save_kinematics(
    kin: xr.Dataset, results_dir: str | Path, quantities: Sequence[str] = ANGLE_VARIABLES
) -> dict[str, Path]:
    """Write the kinematics of one video into ``results_dir`` (created if needed).

    Files: ``kinematics.nc`` (the whole dataset, netCDF 4), ``angles.csv``
    (:func:`kinematics_table` of ``quantities``), ``summary.csv`` (:func:`summary_table`)
    and ``repetitions.csv`` (:func:`repetitions_table`).  Returns ``{kind: path}`` with
    kinds ``kinematics``, ``angles``, ``summary``, ``repetitions``.
    """
    out = Path(results_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "kinematics": save_netcdf(kin, out / KINEMATICS_FILE),
        "angles": out / ANGLES_FILE,
        "summary": out / SUMMARY_FILE,
        "repetitions": out / REPETITIONS_FILE,
    }
    with atomic_path(paths["angles"]) as tmp, open(tmp, "w", newline="") as fh:
        # by blocks of frames (rows are ordered by time first: the same file), so the
        # table of a long video never sits in memory whole
        block = frames_per_block(CSV_BLOCK_TRACK_FRAMES, kin.sizes["individual"])
        for lo in range(0, max(kin.sizes["time"], 1), block):
            part = kinematics_table(kin.isel(time=slice(lo, lo + block)), quantities)
            part.to_csv(fh, index=False, header=lo == 0, float_format="%.4f")
    tables = {
        "summary": summary_table(kin, quantities),
        "repetitions": repetitions_table(kin),
    }
    for role, table in tables.items():
        with atomic_path(paths[role]) as tmp:
            table.to_csv(tmp, index=False, float_format="%.4f")
    return paths


def load_kinematics(path: str | Path) -> xr.Dataset:
    """Read a dataset written by :func:`save_kinematics` (``kinematics.nc`` or its folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / KINEMATICS_FILE
    ds = load_netcdf(path)
    if ds.attrs.get("ds_type") != KINEMATICS_DS_TYPE:
        raise ValueError(f"{path}: not a kinematics dataset (ds_type {ds.attrs.get('ds_type')!r})")
    return ds
