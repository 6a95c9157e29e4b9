"""Merging the individuals of a dataset by an id mapping (the output of stitching).

Works on poses and boxes datasets and on appearance DataArrays alike, so that all three stay
aligned; a merged individual never holds two observations at one time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np
import xarray as xr

from ..data import append_log, individual_names, track_id_of

__all__ = ["apply_mapping"]

Data = TypeVar("Data", xr.Dataset, xr.DataArray)


def _blank(ds: xr.Dataset, dropped: Mapping[int, list[int]]) -> xr.Dataset:
    """Set the observations of ``dropped`` (track id -> frame indices) to NaN."""
    if not dropped:
        return ds
    ds = ds.copy(deep=True)
    frames = ds["frame"].values if "frame" in ds.coords else np.arange(ds.sizes["time"])
    names = [str(i) for i in ds["individual"].values]
    for tid, fr in dropped.items():
        name = individual_names([tid])[0]
        if name not in names or not fr:
            continue
        t = np.flatnonzero(np.isin(frames, fr))
        for var in ds.data_vars.values():
            if "individual" in var.dims and "time" in var.dims and var.dtype.kind == "f":
                var[{"time": t, "individual": names.index(name)}] = np.nan
    return ds


def _merge_columns(arr: np.ndarray, cols: list[int], name: str, ids: list[int]) -> np.ndarray:
    """arr: ``(T, ..., N)`` time first, individual last -> ``(T, ...)``, the one observation
    of the group ``cols`` at each time; raises if two are present at one time."""
    stack = arr[..., cols]
    if arr.dtype.kind != "f" or len(cols) == 1:
        return stack[..., 0]
    present = ~np.isnan(stack)
    per_time = present.reshape(stack.shape[0], -1, len(cols)).any(1)
    clash = np.flatnonzero(per_time.sum(-1) > 1)
    if len(clash):
        raise ValueError(
            f"{name}: tracks {[ids[c] for c in cols]} are both observed at time index "
            f"{int(clash[0])}; tracks that overlap in time are never merged"
        )
    return np.where(present, stack, 0.0).sum(-1) + np.where(present.any(-1), 0.0, np.nan)


def _merge(ds: xr.Dataset, mapping: Mapping[int, int]) -> xr.Dataset:
    ids = [track_id_of(i) for i in ds["individual"].values]
    new_of = [int(mapping.get(i, i)) for i in ids]
    new_ids = sorted(set(new_of))
    groups = [[c for c, n in enumerate(new_of) if n == new] for new in new_ids]
    out = ds.isel(individual=[g[0] for g in groups])
    for name, var in ds.data_vars.items():
        if "individual" not in var.dims:
            continue
        order = ["time", *[d for d in var.dims if d not in ("time", "individual")], "individual"]
        arr = var.transpose(*order).values
        merged = np.stack([_merge_columns(arr, g, str(name), ids) for g in groups], axis=-1)
        out[name] = (tuple(order), merged.astype(var.dtype))
        out[name] = out[name].transpose(*var.dims)
        out[name].attrs = dict(var.attrs)
    for cname, coord in ds.coords.items():
        if cname != "individual" and coord.dims == ("individual",) and coord.dtype.kind in "US":
            values = [next((str(coord.values[c]) for c in g if str(coord.values[c])), "")
                      for g in groups]
            out = out.assign_coords({cname: ("individual", values)})
    return out.assign_coords(individual=individual_names(new_ids))


def apply_mapping(
    data: Data,
    mapping: Mapping[int, int],
    *,
    dropped: Mapping[int, list[int]] | None = None,
    params: Mapping[str, Any] | None = None,
    log: bool = True,
) -> Data:
    """Merge the individuals of ``data`` that ``mapping`` (old id -> new id) sends to one id.

    data: a poses or boxes dataset, or an appearance DataArray, with an ``individual`` dim
    named ``track_<id>`` (ids missing from ``mapping`` are kept); dropped: old id -> frame
    indices blanked first (the handover observations of ``StitchResult.dropped``); params:
    the stitching parameters, for the log.
    The merged individual is named after the new id; at each time it holds the one member
    observed then. Raises ValueError if two members are observed at the same time. The
    transform is recorded in ``attrs["log"]`` (``stitch_tracks``).
    """
    if isinstance(data, xr.DataArray):
        name = data.name if data.name is not None else "data"
        merged = apply_mapping(data.to_dataset(name=name), mapping, dropped=dropped,
                               params=params, log=False)[name]
        merged.attrs = dict(data.attrs)
        if log:
            entries = json.loads(str(data.attrs.get("log", "[]")))
            entries.append(_log_entry(mapping, dropped, params))
            merged.attrs["log"] = json.dumps(entries)
        return merged.rename(data.name)
    out = _merge(_blank(data, dropped or {}), mapping)
    out.attrs = dict(data.attrs)
    if log:
        entry = _log_entry(mapping, dropped, params)
        out = append_log(out, entry["operation"], **entry["parameters"])
    return out


def _log_entry(
    mapping: Mapping[int, int], dropped: Mapping[int, list[int]] | None,
    params: Mapping[str, Any] | None,
) -> dict[str, Any]:
    return {
        "operation": "stitch_tracks",
        "parameters": {
            "mapping": {str(k): int(v) for k, v in sorted(mapping.items()) if k != v},
            "dropped_observations": {str(k): list(v) for k, v in sorted((dropped or {}).items())},
            "params": None if params is None else dict(params),
        },
    }
