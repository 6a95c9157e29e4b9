"""Kinematics outputs: netCDF round trip, tidy CSV, per-track summary, repetitions table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from kinematics_generator import (
    default_motion,
    poses_dataset,
    render,
    repetition_motion,
)

from spinepose_sports.data import save_netcdf
from spinepose_sports.kinematics import (
    QUANTITIES,
    angular_acceleration,
    angular_velocity,
    compute_kinematics,
    kinematics_table,
    load_kinematics,
    repetitions_table,
    save_kinematics,
    summary_table,
    unwrap_angles,
)
from spinepose_sports.kinematics.io import TABLE_COLUMNS
from spinepose_sports.skeleton import KEYPOINT_INDEX

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


@pytest.fixture(scope="module")
def kin() -> xr.Dataset:
    """Two tracks: a lifter seen from the side (10 reps) and a frontal one, with a gap."""
    m, _, _ = repetition_motion(n_reps=10, seed=0)
    side = render(m, "right_side", "right", 300.0, (500.0, 600.0))
    xy, conf = render(m, "front", "left", 200.0, (1400.0, 600.0))
    xy[100:110, :, KEYPOINT_INDEX["neck"]] = np.nan
    return compute_kinematics(poses_dataset([side, (xy, conf)], m.time_s, [2, 7]))


def test_netcdf_round_trip(kin, tmp_path):
    paths = save_kinematics(kin, tmp_path / "clip")
    assert {p.name for p in paths.values()} == {
        "kinematics.nc",
        "angles.csv",
        "summary.csv",
        "repetitions.csv",
    }
    back = load_kinematics(tmp_path / "clip")
    xr.testing.assert_equal(back, kin)
    for name in kin.variables:
        assert back[name].attrs == kin[name].attrs, name
    assert back.attrs["ds_type"] == "kinematics"
    log = json.loads(back.attrs["log"])
    assert [e["operation"] for e in log] == ["compute_kinematics", "add_repetitions"]
    assert str(back["view"].sel(individual="track_7").values) == "front"
    with pytest.raises(ValueError, match="not a kinematics dataset"):
        poses = poses_dataset(
            [render(default_motion(5), "front", "left")], default_motion(5).time_s
        )
        load_kinematics(save_netcdf(poses, tmp_path / "p.nc"))


def test_tidy_table(kin, tmp_path):
    table = kinematics_table(kin)
    assert tuple(table.columns) == TABLE_COLUMNS
    assert set(table["track"]) == {2, 7}
    assert not table["value"].isna().any()
    n_t = kin.sizes["time"]
    # segment (+ unwrapped), segmental, regional, spine_bend, trunk (+ unwrapped),
    # pelvis (+ unwrapped), curvature, joints, Halpe segments (+ unwrapped)
    per_frame = 9 + 9 + 8 + 3 + 1 + 2 + 2 + 8 + 10 + 14 + 14
    side = table[table["track"] == 2]
    # side view: pelvis and shoulders (left/right points overlap) are NaN, so left out
    # (wrapped and unwrapped)
    assert len(side) == n_t * (per_frame - 4)
    assert set(side["valid"]) == {1} and set(side["quality"]) == {""}
    row = side[(side["quantity"] == "regional_angle") & (side["label"] == "lumbar")].iloc[5]
    lumbar = kin["regional_angle"].sel(region="lumbar", individual="track_2").values[5]
    assert row["value"] == pytest.approx(lumbar) and row["units"] == "deg"
    assert row["time_s"] == pytest.approx(kin["time"].values[5]) and row["frame"] == 5
    trunk = table[(table["quantity"] == "trunk_flexion") & (table["track"] == 7)]
    assert len(trunk) == n_t - 10 and set(trunk["label"]) == {"trunk"}
    assert table["time_s"].is_monotonic_increasing
    saved = pd.read_csv(save_kinematics(kin, tmp_path)["angles"], dtype={"quality": str})
    assert tuple(saved.columns) == TABLE_COLUMNS and len(saved) == len(table)
    vel = kinematics_table(kin, ["trunk_flexion_velocity"])
    assert set(vel["units"]) == {"deg/s"}


def test_summary_table(kin):
    summary = summary_table(kin)
    for col in (
        "track",
        "view",
        "facing",
        "motion_plane",
        "repetitions",
        "quantity",
        "label",
        "units",
        "mean",
        "min",
        "max",
        "rom",
        "mean_rep_rom",
        "mean_repetition_duration_s",
    ):
        assert col in summary.columns, col
    side = summary[summary["track"] == 2]
    assert (side["repetitions"] == 10).all()
    assert (side["motion_plane"] == "flexion-extension").all()
    row = side[(side["quantity"] == "trunk_flexion")].iloc[0]
    trunk = kin["trunk_flexion"].sel(individual="track_2").values
    assert row["max"] == pytest.approx(trunk.max())
    assert row["rom"] == pytest.approx(np.ptp(trunk))
    assert row["mean"] == pytest.approx(trunk.mean())
    reps = repetitions_table(kin)
    assert row["mean_rep_rom"] == pytest.approx(reps[reps["track"] == 2]["rom"].mean())
    front = summary[summary["track"] == 7]
    assert (front["motion_plane"] == "lateral-bending").all()
    pelvis = side[side["label"] == "pelvis"]
    assert (pelvis[pelvis["quantity"] == "halpe_segment_angle"]["n_valid"] == 0).all()


def test_dataset_layout(kin):
    dims = {
        "segment_angle": ("time", "segment", "individual"),
        "segmental_angle": ("time", "level", "individual"),
        "regional_angle": ("time", "region", "individual"),
        "trunk_flexion": ("time", "individual"),
        "pelvis_tilt": ("time", "individual"),
        "flexion_curve": ("time", "arc", "individual"),
        "curvature": ("time", "level", "individual"),
        "joint_angle": ("time", "joint", "individual"),
        "halpe_segment_angle": ("time", "body_segment", "individual"),
        "view": ("individual",),
        "facing": ("individual",),
        "motion_plane": ("individual",),
    }
    for name, d in dims.items():
        assert kin[name].dims == d, name
    for name in QUANTITIES:
        assert name in kin
    assert list(kin["track"].values) == [2, 7]
    # both tracks repeat the movement (lateral bending for the frontal one)
    assert kin.sizes["rep"] == 20
    assert list(kin["rep_track"].values) == ["track_2"] * 10 + ["track_7"] * 10


def test_dataarray_helpers():
    t = np.array([0.0, 0.1, 0.25, 0.3, 0.5, 0.55, 0.7])
    raw = np.array([170.0, -175, -160, np.nan, 170, -170, -150])
    da = xr.DataArray(raw, dims="time", coords={"time": t}, name="a", attrs={"units": "deg"})
    un = unwrap_angles(da)
    np.testing.assert_allclose(un.values, [170, 185, 200, np.nan, 170, 190, 210])
    ramp = xr.DataArray(3.0 + 40.0 * t, dims="time", coords={"time": t}, attrs={"units": "deg"})
    np.testing.assert_allclose(angular_velocity(ramp).values, 40.0)
    assert angular_velocity(ramp).attrs["units"] == "deg/s"
    np.testing.assert_allclose(angular_acceleration(ramp).values, 0.0, atol=1e-9)
    quad = xr.DataArray(5.0 * t**2, dims="time", coords={"time": t})
    np.testing.assert_allclose(angular_velocity(quad).values[1:-1], 10.0 * t[1:-1])
    assert angular_acceleration(quad).attrs["units"] == "deg/s^2"


def test_no_repetitions_still_saves(tmp_path):
    m = default_motion(20)
    kin = compute_kinematics(poses_dataset([render(m, "back", "right")], m.time_s))
    assert kin.sizes["rep"] == 0
    paths = save_kinematics(kin, tmp_path)
    assert len(pd.read_csv(paths["repetitions"])) == 0
    xr.testing.assert_equal(load_kinematics(paths["kinematics"]), kin)
    assert (summary_table(kin)["repetitions"] == 0).all()


def test_docs_table_names_every_quantity():
    from pathlib import Path

    from spinepose_sports.kinematics import BODY_SEGMENTS, JOINTS, REPETITION_COLUMNS

    doc = (Path(__file__).resolve().parents[1] / "docs" / "kinematics.md").read_text()
    for name in QUANTITIES:
        assert f"`{name}` (" in doc, name
    for name in [*JOINTS, *BODY_SEGMENTS]:
        generic = name.replace("right_", "S_").replace("left_", "S_")
        assert f"`{generic}`" in doc, name
    for col in REPETITION_COLUMNS:
        assert f"`{col}`" in doc, col
