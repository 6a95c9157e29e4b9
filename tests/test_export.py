"""Every export read back by an independent reader, compared with the netCDF results.

Readers: TRC and MOT parsers written here from the formats' documentation (Motion
Analysis TRC as OpenSim reads it; OpenSim storage .mot), the ``c3d`` library's reader and
``ezc3d`` for C3D, ``json`` for OpenPose, ``openpyxl`` for Excel.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from render_data import make_results_folder
from typer.testing import CliRunner

from spinepose_sports.cli import app
from spinepose_sports.data import load_netcdf, load_poses
from spinepose_sports.export import FORMATS, ExportError, export_results
from spinepose_sports.export._files import atomic_path
from spinepose_sports.kinematics import load_kinematics
from spinepose_sports.metric import Calibration, CalibrationError
from spinepose_sports.skeleton import KEYPOINT_NAMES

N_FRAMES = 60
CAL = Calibration.from_height(1.8, {7: 1.6})


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, dict[str, list[Path]]]:
    folder = make_results_folder(tmp_path_factory.mktemp("res") / "clip", None, N_FRAMES)
    return folder, export_results(folder, list(FORMATS), CAL)


# ------------------------------------------------------------------ parsers from the docs


def read_trc(path: Path) -> tuple[dict[str, str], list[str], np.ndarray, np.ndarray]:
    """-> (header {key: value}, marker names, time (T,), xyz (T, M, 3))."""
    lines = path.read_text().split("\n")
    assert lines[0].split("\t")[:3] == ["PathFileType", "4", "(X/Y/Z)"]
    header = dict(zip(lines[1].split("\t"), lines[2].split("\t"), strict=True))
    names = [n for n in lines[3].split("\t")[2:] if n]
    coords = lines[4].split("\t")[2:]
    assert coords[:3] == ["X1", "Y1", "Z1"] and len(coords) == 3 * len(names)
    assert lines[5] == ""
    rows = [r.split("\t") for r in lines[6:] if r]
    assert [int(r[0]) for r in rows] == list(range(1, len(rows) + 1))
    values = np.array([[float(v) for v in r[1:]] for r in rows])
    return header, names, values[:, 0], values[:, 1:].reshape(len(rows), len(names), 3)


def read_mot(path: Path) -> tuple[dict[str, str], list[str], np.ndarray]:
    """-> (header {key: value}, column names, values (T, C))."""
    lines = path.read_text().split("\n")
    end = lines.index("endheader")
    header = dict(line.split("=", 1) for line in lines[1:end])
    names = lines[end + 1].split("\t")
    values = np.array([[float(v) for v in r.split("\t")] for r in lines[end + 2 :] if r])
    assert values.shape == (int(header["nRows"]), int(header["nColumns"]))
    return header, names, values


# ------------------------------------------------------------------ the library


def test_trc_matches_the_metric_netcdf(exported):
    folder, paths = exported
    metric = load_netcdf(folder / "export" / "metric.nc")
    assert len(paths["trc"]) == 2
    for path in paths["trc"]:
        ind = "track_" + path.stem.rsplit("track", 1)[1]
        header, names, time, xyz = read_trc(path)
        assert header["Units"] == "m" == metric["position"].attrs["units"]
        assert float(header["DataRate"]) == metric.attrs["fps"]
        assert int(header["NumFrames"]) == N_FRAMES and int(header["NumMarkers"]) == 37
        assert names == list(KEYPOINT_NAMES)
        np.testing.assert_allclose(time, metric["time"].values, atol=1e-6)
        pos = metric["position"].sel(individual=ind).transpose("time", "keypoint", "space")
        np.testing.assert_allclose(xyz[..., :2], pos.values, atol=1e-6)
        seen = np.isfinite(pos.values[..., 0])
        assert np.all(xyz[..., 2][seen] == 0) and np.isnan(xyz[..., 2][~seen]).all()


def test_metric_netcdf_matches_the_poses(exported):
    folder, _ = exported
    metric = load_netcdf(folder / "export" / "metric.nc")
    poses = load_poses(folder / "poses.nc")
    scale = metric["m_per_px"].values
    dx = poses["position"].sel(space="x").diff("time") * scale  # level floor: x along it
    np.testing.assert_allclose(
        metric["position"].sel(space="x").diff("time").values, dx.values, atol=1e-5
    )
    speeds = pd.read_csv(folder / "export" / "speeds.csv")
    sel = metric["pelvis_speed"].sel(individual="track_3").values
    np.testing.assert_allclose(speeds[speeds["track"] == 3]["pelvis_speed_m_s"], sel)


def _kin_column(kin: xr.Dataset, ind: str, name: str) -> np.ndarray:
    if name in kin and kin[name].dims == ("time", "individual"):
        return kin[name].sel(individual=ind).values
    for var in sorted(kin.data_vars, key=len, reverse=True):
        if name.startswith(f"{var}_"):
            label = name[len(var) + 1 :]
            dim = next(d for d in kin[var].dims if d not in ("time", "individual"))
            labels = [f"{v:.3f}" if dim == "arc" else str(v) for v in kin[dim].values]
            return kin[var].sel(individual=ind).isel({dim: labels.index(label)}).values
    raise AssertionError(name)


def test_mot_matches_the_kinematics_netcdf(exported):
    folder, paths = exported
    kin = load_kinematics(folder)
    for path in paths["mot"]:
        ind = "track_" + path.stem.rsplit("track", 1)[1]
        header, names, values = read_mot(path)
        assert header["inDegrees"] == "yes" and names[0] == "time"
        np.testing.assert_allclose(values[:, 0], kin["time"].values, atol=1e-6)
        assert {"trunk_flexion", "regional_angle_lumbar", "joint_angle_right_knee"} <= set(names)
        assert kin["regional_angle"].attrs["units"] == "deg"
        assert not any(n.endswith(("_velocity", "_acceleration")) for n in names)
        for j, name in enumerate(names[1:], start=1):
            truth = _kin_column(kin, ind, name)
            np.testing.assert_allclose(values[:, j], truth, atol=1e-6, err_msg=name)


def _check_c3d_points(points: np.ndarray, labels: list[str], metric, kin, ind) -> None:
    """points (T, P, 3) mm / deg, NaN where invalid."""
    pos = metric["position"].sel(individual=ind).transpose("time", "keypoint", "space").values
    np.testing.assert_allclose(points[:, :37, 0], pos[..., 0] * 1000, atol=2e-3)
    np.testing.assert_allclose(points[:, :37, 2], pos[..., 1] * 1000, atol=2e-3)
    lumbar = labels.index("regional_angle_lumbar")
    truth = kin["regional_angle"].sel(individual=ind, region="lumbar").values
    np.testing.assert_allclose(points[:, lumbar, 0], truth, atol=1e-4)


@pytest.mark.filterwarnings("ignore:No analog data:UserWarning")
def test_c3d_read_by_the_c3d_library_and_ezc3d(exported):
    import c3d
    import ezc3d

    folder, paths = exported
    metric = load_netcdf(folder / "export" / "metric.nc")
    kin = load_kinematics(folder)
    path = paths["c3d"][0]
    ind = "track_" + path.stem.rsplit("track", 1)[1]
    with path.open("rb") as handle:
        reader = c3d.Reader(handle)
        labels = [s.strip() for s in reader.point_labels]
        assert labels[:37] == list(KEYPOINT_NAMES)
        assert reader.get("POINT:UNITS").string_value.strip() == "mm"
        assert reader.point_rate == pytest.approx(metric.attrs["fps"])
        frames = [p.copy() for _, p, _ in reader.read_frames()]
    pts = np.stack(frames)  # (T, P, 5)
    xyz = np.where(pts[..., 3:4] < 0, np.nan, pts[..., :3])
    _check_c3d_points(xyz, labels, metric, kin, ind)
    e = ezc3d.c3d(str(path))
    assert e["parameters"]["POINT"]["LABELS"]["value"][:37] == list(KEYPOINT_NAMES)
    assert "regional_angle_lumbar" in e["parameters"]["POINT"]["ANGLES"]["value"]
    assert e["parameters"]["POINT"]["ANGLE_UNITS"]["value"] == ["deg"]
    data = e["data"]["points"]  # (4, P, T), NaN where invalid
    _check_c3d_points(np.moveaxis(data[:3], 0, -1).transpose(1, 0, 2), labels, metric, kin, ind)


def test_openpose_json_keeps_track_ids(exported):
    folder, paths = exported
    poses = load_poses(folder / "poses.nc")
    assert len(paths["openpose"]) == N_FRAMES
    doc = json.loads(paths["openpose"][10].read_text())
    assert paths["openpose"][10].name == "missing_000000000010_keypoints.json"
    assert [p["person_id"] for p in doc["people"]] == [[3], [7]]
    for person in doc["people"]:
        kp = np.array(person["pose_keypoints_2d"]).reshape(37, 3)
        ind = f"track_{person['track_id']}"
        xy = poses["position"].sel(individual=ind).isel(time=10).transpose("keypoint", "space")
        seen = np.isfinite(xy.values[:, 0])
        np.testing.assert_allclose(kp[seen, :2], xy.values[seen], atol=1e-4)
        conf = poses["confidence"].sel(individual=ind).isel(time=10).values
        np.testing.assert_allclose(kp[seen, 2], conf[seen], atol=1e-6)
        assert np.all(kp[~seen] == 0)


def test_xlsx_sheets_with_units_in_headers(exported):
    import openpyxl

    folder, paths = exported
    kin = load_kinematics(folder)
    metric = load_netcdf(folder / "export" / "metric.nc")
    wb = openpyxl.load_workbook(paths["xlsx"][0], read_only=True)
    assert wb.sheetnames == [
        "info",
        "summary",
        "angles",
        "repetitions",
        "speeds",
        "jumps",
        "segments",
    ]
    rows = list(wb["angles"].values)
    head = list(rows[0])
    assert head[:3] == ["track", "frame", "time [s]"]
    assert "regional_angle_lumbar [deg]" in head
    body = [r for r in rows[1:] if r[0] == 7]
    col = head.index("trunk_flexion [deg]")
    got = np.array([np.nan if r[col] is None else r[col] for r in body], float)
    np.testing.assert_allclose(got, kin["trunk_flexion"].sel(individual="track_7"), atol=1e-12)
    summary = pd.read_csv(folder / "summary.csv")
    srows = list(wb["summary"].values)
    assert "mean [see units]" in srows[0] and len(srows) == len(summary) + 1
    reps = list(wb["repetitions"].values)
    assert "duration_s [s]" in reps[0]
    speeds = list(wb["speeds"].values)
    assert "pelvis_speed [m/s]" in speeds[0]
    i = speeds[0].index("pelvis_speed [m/s]")
    got = np.array([np.nan if r[i] is None else r[i] for r in speeds[1:] if r[0] == 3], float)
    np.testing.assert_allclose(got, metric["pelvis_speed"].sel(individual="track_3"), atol=1e-12)
    assert "left_knee-left_hip [cm]" in next(iter(wb["segments"].values))


# ------------------------------------------------------------------ errors and atomicity


def test_clear_errors(exported, tmp_path):
    folder, _ = exported
    with pytest.raises(ExportError, match="unknown export format 'fbx'"):
        export_results(folder, "trc,fbx", CAL)
    with pytest.raises(ExportError, match="needs metres"):
        export_results(folder, "trc", None, tmp_path)
    with pytest.raises(ExportError, match="unknown athlete 9"):
        export_results(folder, "mot", None, tmp_path, athletes=[9])
    with pytest.raises(ExportError, match="no such results folder"):
        export_results(tmp_path / "nowhere", "mot")
    bare = make_results_folder(tmp_path / "bare", None, 10, kinematics=False)
    with pytest.raises(ExportError, match=r"no kinematics\.nc"):
        export_results(bare, "mot")
    assert not list(tmp_path.glob("*.trc"))


def test_calibration_recorded_in_run_json_is_used(tmp_path):
    copy = make_results_folder(tmp_path / "clip", None, 20)
    (copy / "run.json").write_text(json.dumps({"calibration": {"calibration": CAL.to_dict()}}))
    written = export_results(copy, ["trc"], athletes=["3"])
    assert [p.name for p in written["trc"]] == ["missing_track3.trc"]


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("boom")
    assert target.read_text() == "old" and sorted(tmp_path.iterdir()) == [target]


# ------------------------------------------------------------------ the command line


def test_export_help_names_every_format():
    result = CliRunner().invoke(app, ["export", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for fmt in FORMATS:
        assert fmt in result.output


def test_cli_export_matches_the_library(exported, tmp_path):
    folder, paths = exported
    out = tmp_path / "cli"
    args = ["export", str(folder), "--format", "trc,mot,openpose", "--athlete-height", "1.8"]
    result = CliRunner().invoke(app, [*args, "--height", "7=1.6", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "trc: 2 file(s)" in result.output
    assert (out / "missing_track7.trc").read_text() == paths["trc"][1].read_text()
    assert (out / "missing_track3.mot").read_text() == paths["mot"][0].read_text()
    assert len(list((out / "openpose").glob("*.json"))) == N_FRAMES


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--format", "fbx"], "unknown export format"),
        (["--format", "trc"], "needs metres"),
        (["--athlete-height", "17.8"], "not a human height"),
        (["--height", "3:1.8"], "TRACK=METRES"),
        (["--athletes", "9"], "unknown athlete"),
        (["--points", "1,2,3", "--distance", "2"], "X1,Y1,X2,Y2"),
        (["--points", "1,2,3,4"], "go together"),
        (["--athlete-height", "1.8", "--distance", "2"], "one calibration method"),
    ],
)
def test_cli_errors_are_one_line(exported, tmp_path, extra, message):
    folder, _ = exported
    result = CliRunner().invoke(app, ["export", str(folder), "-o", str(tmp_path), *extra])
    assert result.exit_code == 1
    assert message in result.output
    assert result.output.strip().count("\n") == 0


def test_calibration_error_is_a_value_error():
    assert issubclass(CalibrationError, ValueError) and issubclass(ExportError, ValueError)
