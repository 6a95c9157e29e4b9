"""The ``[units]`` settings through ``analyze``: calibration, metric outputs, the key figures
in summary.csv, the dashboard's speeds, exports, run.json, and stale outputs removed.

Synthetic results folders (known athletes, through ``analyze_poses_file``) for the numbers;
the real clip through the real detector and the command line for the whole chain.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli
from render_data import make_results_folder
from test_dashboard import body_attrs, chromium, console_errors
from test_export import read_mot, read_trc
from typer.testing import CliRunner

from spinepose_sports.cli import app
from spinepose_sports.config import AnalyzeConfig, ConfigError
from spinepose_sports.data import load_netcdf, load_poses
from spinepose_sports.kinematics import load_kinematics
from spinepose_sports.metric import JUMP_COLUMNS, METRIC_QUANTITIES, Calibration, compute_metric
from spinepose_sports.pipeline.job import analyze_poses_file
from spinepose_sports.plots import write_dashboard
from spinepose_sports.plots.dashboard import load_for_dashboard, select_tracks, track_figures
from spinepose_sports.skeleton import KEYPOINT_NAMES

N_FRAMES = 60
ALL = "trc,mot,c3d,openpose,xlsx,metric"
METRIC_FILES = ("metric.nc", "speeds.csv", "jumps.csv")


def _analyze(src: Path, out: Path, **settings) -> dict:
    """analyze_poses_file into ``out`` without overlay; returns run.json."""
    config = AnalyzeConfig.from_settings(overlay=False, smoothing="none", **settings)
    result = analyze_poses_file(src / "poses.nc", out, config, progress=False)
    assert result.status == "completed"
    return json.loads((out / "run.json").read_text())


#: track_3 walks to the image's right at this speed (px/s) and jumps (whole body) from
#: JUMP_S[0] to JUMP_S[1] s, JUMP_PX px high at the top: a parabola, as a flight is.
WALK_PX_S = 120.0
JUMP_S = (0.6, 1.1)
JUMP_PX = 60.0


def _walk_and_jump(poses):
    t = poses["time"].values
    x = poses["position"].sel(space="x", individual="track_3")
    y = poses["position"].sel(space="y", individual="track_3")
    (t0, t1), half = JUMP_S, (JUMP_S[1] - JUMP_S[0]) / 2
    lift = np.clip(JUMP_PX * (1 - ((t - (t0 + t1) / 2) / half) ** 2), 0, None)
    moved = poses.copy(deep=True)
    moved["position"].loc[{"space": "x", "individual": "track_3"}] = x + WALK_PX_S * t[:, None]
    moved["position"].loc[{"space": "y", "individual": "track_3"}] = y - lift[:, None]
    return moved


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A results folder whose poses.nc has track_3 walking and jumping (known motion)."""
    from spinepose_sports.data import save_netcdf

    folder = make_results_folder(tmp_path_factory.mktemp("src") / "clip", None, N_FRAMES)
    save_netcdf(_walk_and_jump(load_poses(folder / "poses.nc")), folder / "poses.nc")
    return folder


@pytest.fixture(scope="module")
def calibrated(source, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("out") / "clip"
    run = _analyze(source, out, athlete_height=1.8, athlete_heights="7=1.6", export=ALL)
    return out, run


# ------------------------------------------------------------------ configuration


def test_units_settings_are_read_in_every_form(tmp_path) -> None:
    import tomllib

    config = AnalyzeConfig.from_settings(
        athlete_heights="3=1.82, track_5=1.7", export="TRC, mot", floor_angle="2.5"
    )
    assert config.units.athlete_heights == {"track_3": 1.82, "track_5": 1.7}
    assert config.units.export == ("trc", "mot") and config.units.floor_angle == 2.5
    table = AnalyzeConfig.from_tables({"units": {"athlete_heights": {"3": 1.82}}})
    assert table.units.athlete_heights == {"track_3": 1.82}
    for points in ("1,2,30,4", [1, 2, 30, 4], [[1, 2], [30, 4]]):
        c = AnalyzeConfig.from_settings(calibration_points=points, calibration_distance=5)
        assert c.units.calibration_points == (1.0, 2.0, 30.0, 4.0)
    back = AnalyzeConfig.from_tables(tomllib.loads(config.to_toml()))
    assert back == config and back.results_key() == config.results_key()
    assert config.replace(athlete_height=1.7).results_key() != config.results_key()


def test_units_cross_checks_are_one_line() -> None:
    cases = [
        ({"athlete_height": 1.8, "calibration_points": "1,2,3,4",
          "calibration_distance": 2}, "give one calibration method"),
        ({"calibration_distance": 2}, "calibration_points and calibration_distance go together"),
        ({"export": "trc,mot"}, "export = trc,mot: trc needs metres; give athlete_height"),
        ({"export": "openpose,xlsx", "kinematics": False}, "xlsx needs the kinematics"),
        ({"athlete_heights": "3=1.8,5=17"}, "athlete 5: height 17.0 m is not a human height"),
    ]
    for settings, message in cases:
        with pytest.raises(ConfigError) as info:
            AnalyzeConfig.from_settings(settings)
        assert message in str(info.value) and "\n" not in str(info.value), str(info.value)
    assert AnalyzeConfig.from_settings(export="openpose,mot").units.export == ("openpose", "mot")


def test_calibration_file_in_a_pipeline_file_is_relative_to_it(tmp_path) -> None:
    from spinepose_sports.batchconfig import load_config_file

    (tmp_path / "cal.toml").write_text("height_m = 1.75\n")
    definition = tmp_path / "club.toml"
    definition.write_text('[units]\ncalibration = "cal.toml"\nexport = ["trc"]\n')
    _, config = load_config_file(definition)
    assert config.units.calibration == tmp_path / "cal.toml"
    key = config.results_key()
    (tmp_path / "cal.toml").write_text("height_m = 1.80\n")
    assert load_config_file(definition)[1].results_key() != key  # a completed run is redone
    (tmp_path / "bad.toml").write_text("height_m = 17.5\n")
    definition.write_text('[units]\ncalibration = "bad.toml"\n')
    with pytest.raises(ConfigError, match=r"club.toml: calibration = .*not a human height"):
        load_config_file(definition)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--athlete-height", "17.8"], "--athlete-height 17.8: not a human height"),
        (["--export", "trc"], "export = trc: trc needs metres"),
        (["--export", "fbx"], "--export fbx: unknown export format 'fbx'"),
    ],
)
def test_bad_units_flags_exit_1_at_once(args, message, tmp_path) -> None:
    proc = run_cli("analyze", tmp_path / "clip.mp4", "-o", tmp_path / "out", *args, timeout=60)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ metric outputs


def test_metric_outputs_carry_units_and_match_the_library(calibrated, source) -> None:
    folder, run = calibrated
    assert {"metric", "speeds", "jumps"} <= set(run["outputs"])
    metric = load_netcdf(folder / "metric.nc")
    assert metric["position"].attrs["units"] == "m"
    assert metric["pelvis_speed"].attrs["units"] == "m/s"
    assert metric["pelvis_acceleration"].attrs["units"] == "m/s^2"
    assert metric["vertical_displacement"].attrs["units"] == "m"
    assert metric["segment_length"].attrs["units"] == "cm"
    truth = compute_metric(load_poses(source / "poses.nc"), Calibration.from_height(1.8, {7: 1.6}))
    for var in ("position", "pelvis_speed", "vertical_displacement", "spine_length_cm"):
        np.testing.assert_allclose(metric[var].values, truth[var].values, atol=1e-9)
    speeds = pd.read_csv(folder / "speeds.csv")
    assert {"pelvis_speed_m_s", "pelvis_acceleration_m_s2", "vertical_displacement_m"} <= set(
        speeds.columns
    )
    np.testing.assert_allclose(
        speeds[speeds["track"] == 7]["pelvis_speed_m_s"],
        truth["pelvis_speed"].sel(individual="track_7").values,
    )
    assert list(pd.read_csv(folder / "jumps.csv").columns) == list(JUMP_COLUMNS)


def test_calibrated_walk_and_jump_match_the_truth(calibrated) -> None:
    """In the image plane, metres are exact: walking speed and flight time."""
    folder, run = calibrated
    scale = run["calibration"]["m_per_px"]["track_3"]
    metric = load_netcdf(folder / "metric.nc").sel(individual="track_3")
    t = metric["time"].values
    ground = (t < JUMP_S[0] - 0.05) | (t > JUMP_S[1] + 0.05)
    vx = metric["pelvis_velocity"].sel(space="x").values[ground]
    np.testing.assert_allclose(vx, WALK_PX_S * scale, rtol=1e-6)
    jumps = pd.read_csv(folder / "jumps.csv")
    mine = jumps[jumps["track"] == 3]
    assert len(mine) == 1
    frame_s = float(t[1] - t[0])  # the flight is timed to within a frame
    assert mine["flight_time_s"].iloc[0] == pytest.approx(JUMP_S[1] - JUMP_S[0], abs=frame_s)
    top = float(metric["vertical_displacement"].max())
    assert top == pytest.approx(JUMP_PX * scale, rel=0.02)
    summary = pd.read_csv(folder / "summary.csv").set_index(["track", "quantity"])
    assert summary.loc[(3, "jump_height_flight"), "n_valid"] == 1
    assert summary.loc[(3, "pelvis_position"), "rom"] == pytest.approx(
        WALK_PX_S * scale * (t[-1] - t[0]), rel=1e-6
    )


def test_summary_holds_the_key_figures_with_units(calibrated) -> None:
    folder, _ = calibrated
    summary = pd.read_csv(folder / "summary.csv")
    metric = load_netcdf(folder / "metric.nc")
    assert set(METRIC_QUANTITIES) <= set(summary["quantity"])
    for track in (3, 7):
        rows = summary[summary["track"] == track].set_index("quantity")
        speed = metric["pelvis_speed"].sel(individual=f"track_{track}").values
        assert rows.loc["pelvis_speed", "units"] == "m/s"
        assert rows.loc["pelvis_speed", "max"] == pytest.approx(np.nanmax(speed))
        assert rows.loc["pelvis_speed", "n_valid"] == np.isfinite(speed).sum()
        assert rows.loc["vertical_displacement", "units"] == "m"
        assert rows.loc["jump_height_flight", "label"] == "jumps"
        # the track's facts are copied onto its metric rows
        assert rows.loc["pelvis_speed", "view"] == rows.loc["trunk_flexion", "view"]
    is_metric = summary["quantity"].isin(METRIC_QUANTITIES).to_numpy()
    assert not is_metric[: (~is_metric).sum()].any()  # the kinematics rows come first


def test_run_json_records_the_calibration(calibrated) -> None:
    folder, run = calibrated
    cal = run["calibration"]
    metric = load_netcdf(folder / "metric.nc")
    recorded = json.loads(metric.attrs["calibration"])
    assert cal["m_per_px"] == pytest.approx(recorded["m_per_px"])
    assert cal["calibration"]["height_m"] == 1.8
    assert cal["calibration"]["heights_m"] == {"track_7": 1.6}
    assert cal["calibrated"] == ["track_3", "track_7"] and cal["not_calibrated"] == {}
    assert "plane of motion" in cal["assumptions"]
    assert set(cal["floor"]) == {"track_3", "track_7"}
    # the record is a calibration file: `export --calibration run.json`
    assert Calibration.from_file(folder / "run.json") == Calibration.from_height(1.8, {7: 1.6})
    assert run["warnings"] == []


def test_every_export_is_written_and_read_back(calibrated) -> None:
    import openpyxl

    folder, run = calibrated
    exports = run["exports"]
    assert set(exports) == set(ALL.split(","))
    assert exports["openpose"] == {"folder": "export/openpose", "files": N_FRAMES}
    for fmt, files in exports.items():
        if fmt != "openpose":
            assert files and all((folder / f).is_file() for f in files), fmt
    metric = load_netcdf(folder / "metric.nc")
    header, names, _, xyz = read_trc(folder / "export" / "missing_track7.trc")
    assert header["Units"] == "m" and names == list(KEYPOINT_NAMES)
    pos = metric["position"].sel(individual="track_7").transpose("time", "keypoint", "space")
    np.testing.assert_allclose(xyz[..., :2], pos.values, atol=1e-6)
    _, columns, values = read_mot(folder / "export" / "missing_track3.mot")
    kin = load_kinematics(folder)
    j = columns.index("trunk_flexion")
    np.testing.assert_allclose(values[:, j], kin["trunk_flexion"].sel(individual="track_3"),
                               atol=1e-6)
    wb = openpyxl.load_workbook(folder / "export" / "missing.xlsx", read_only=True)
    assert "speeds" in wb.sheetnames
    head = next(iter(wb["speeds"].values))
    assert "pelvis_speed [m/s]" in head
    people = json.loads(
        (folder / "export" / "openpose" / "missing_000000000005_keypoints.json").read_text()
    )["people"]
    assert [p["track_id"] for p in people] == [3, 7]
    assert load_netcdf(folder / "export" / "metric.nc")["pelvis_speed"].equals(
        metric["pelvis_speed"]
    )


def test_athletes_a_calibration_does_not_fit_are_reported_not_fatal(source, tmp_path) -> None:
    run = _analyze(source, tmp_path / "a", athlete_heights="3=1.8,9=1.7", export="trc,mot")
    cal = run["calibration"]
    assert cal["calibrated"] == ["track_3"]
    assert set(cal["not_calibrated"]) == {"track_7", "track_9"}
    assert any("track_7 left out: no height given" in w for w in run["warnings"])
    assert any("track_9 left out: named in athlete_heights" in w for w in run["warnings"])
    metric = load_netcdf(tmp_path / "a" / "metric.nc")
    assert [str(i) for i in metric["individual"].values] == ["track_3"]
    assert [Path(f).name for f in run["exports"]["trc"]] == ["missing_track3.trc"]
    assert len(run["exports"]["mot"]) == 2  # angles need no calibration
    figures = _speed_figures(tmp_path / "a")
    assert "not calibrated" in figures["track_7"].layout.annotations[0].text

    run = _analyze(source, tmp_path / "b", athlete_heights="9=1.7", export="trc,mot")
    assert run["calibration"]["calibrated"] == []
    assert any("trc skipped: no athlete is calibrated" in w for w in run["warnings"])
    assert "trc" not in run["exports"] and len(run["exports"]["mot"]) == 2
    assert not (tmp_path / "b" / "metric.nc").exists()


def test_a_run_without_calibration_removes_the_metric_outputs_and_exports(
    source, calibrated, tmp_path
) -> None:
    folder = tmp_path / "clip"
    shutil.copytree(calibrated[0], folder)
    (folder / "export" / "my notes.txt").write_text("mine")
    run = _analyze(source, folder)
    for name in METRIC_FILES:
        assert not (folder / name).exists(), name
        assert name in run["removed_stale_outputs"]
    assert sorted(p.name for p in (folder / "export").iterdir()) == ["my notes.txt"]
    # the old exports were made from the replaced results: not carried into the new run
    assert "calibration" not in run and "exports" not in run
    summary = pd.read_csv(folder / "summary.csv")
    assert not set(METRIC_QUANTITIES) & set(summary["quantity"])
    # an export of other formats replaces the earlier ones
    run = _analyze(source, folder, athlete_height=1.8, export="trc")
    run = _analyze(source, folder, export="mot")
    assert set(run["exports"]) == {"mot"} and not list((folder / "export").glob("*.trc"))


# ------------------------------------------------------------------ dashboard


def _speed_figures(folder: Path) -> dict:
    results, kin = load_for_dashboard(folder)
    tracks, _ = select_tracks(kin, results.repetitions)
    return {t.individual: track_figures(results, kin, t)["speed"] for t in tracks}


def test_dashboard_shows_pelvis_speed_with_units_when_calibrated(calibrated) -> None:
    folder, _ = calibrated
    figures = _speed_figures(folder)
    fig = figures["track_3"]
    hovers = [tr.hovertemplate for tr in fig.data]
    assert any("m/s" in h for h in hovers) and any(" m<" in h for h in hovers)
    assert fig.layout.yaxis2.title.text == "pelvis speed (m/s)"  # on top
    assert fig.layout.yaxis.title.text == "vertical displacement (m)"
    assert fig.layout.xaxis.title.text == "time (s)"  # the video cursor finds it
    metric = load_netcdf(folder / "metric.nc")
    np.testing.assert_allclose(
        np.asarray(fig.data[0].y, float), metric["pelvis_speed"].sel(individual="track_3")
    )
    text = (folder / "dashboard.html").read_text()
    assert "Speeds and jumps" in text and "Pelvis speed and vertical displacement" in text


def test_dashboard_has_no_speed_figure_without_calibration(source, tmp_path) -> None:
    _analyze(source, tmp_path / "plain")
    text = (tmp_path / "plain" / "dashboard.html").read_text()
    assert '"keys":["kinematogram","curves","shapes","rom"]' in text
    assert "Speeds and jumps" not in text


@pytest.mark.usefixtures("chromium_path")
def test_calibrated_dashboard_draws_the_speed_figure(calibrated, tmp_path) -> None:
    folder, _ = calibrated
    page = write_dashboard(folder, tmp_path / "page.html")
    dom = chromium(page, tmp_path, "--dump-dom")
    attrs = body_attrs(dom.stdout)
    assert attrs.get("data-rendered") == "track_3" and "data-js-error" not in attrs, attrs
    assert console_errors(dom.stderr) == []
    rects = {r[0]: r[1:] for r in json.loads(attrs["data-plot-rects"])}
    assert list(rects) == ["kinematogram", "curves", "shapes", "rom", "speed"]
    x, y, w, h = rects["speed"]
    assert w > 600 and h > 250
    shot = tmp_path / "shot.png"
    height = y + h + 50
    proc = chromium(page, tmp_path, f"--screenshot={shot}", f"--window-size=1400,{height}")
    assert proc.returncode == 0 and console_errors(proc.stderr) == []
    import cv2

    area = cv2.imread(str(shot))[y : y + h, x : x + w].astype(int)
    assert area.std() > 15 and (area.max(axis=-1) < 200).mean() > 0.01


# ------------------------------------------------------------------ export command names


def test_export_command_takes_analyzes_names(calibrated, tmp_path) -> None:
    folder, _ = calibrated
    args = ["export", str(folder), "--format", "trc", "--athlete-height", "1.8",
            "--athlete-heights", "7=1.6", "-o", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    made = tmp_path / "missing_track7.trc"
    assert made.read_text() == (folder / "export" / "missing_track7.trc").read_text()
    result = CliRunner().invoke(app, ["export", "--help"], env={"COLUMNS": "200"})
    for name in ("--athlete-heights", "--calibration-points", "--calibration-distance"):
        assert name in result.output


# ------------------------------------------------------------------ the real clip


def test_analyze_with_calibration_and_export_on_a_real_clip(
    tmp_path, vtest_clip, person_detector, standin_onnx
) -> None:
    """The real detector (stand-in pose model): --athlete-height and --export through the
    command line, then a run without them in the same folder."""
    import openpyxl

    common = ["analyze", vtest_clip, "-o", tmp_path, "--detector-weights", person_detector,
              "--person-classes", "0,1", "--pose-model", standin_onnx, "--end", "0.6",
              "--no-overlay", "-q"]
    proc = run_cli(*common, "--athlete-height", "1.75", "--export", "trc,mot,openpose,xlsx")
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "vtest"
    run = json.loads((folder / "run.json").read_text())
    tracks = run["tracks"]
    assert tracks and run["config"]["units"]["athlete_height"] == 1.75
    cal = run["calibration"]
    assert cal["calibrated"] == tracks and cal["calibration"]["height_m"] == 1.75
    metric = load_netcdf(folder / "metric.nc")
    assert metric["pelvis_speed"].attrs["units"] == "m/s"
    for ind in tracks:
        assert cal["m_per_px"][ind] == pytest.approx(1.75 / cal["stature_px"][ind])
        assert float(metric["m_per_px"].sel(individual=ind)) == pytest.approx(
            cal["m_per_px"][ind]
        )
    summary = pd.read_csv(folder / "summary.csv")
    assert "m/s" in set(summary[summary["quantity"] == "pelvis_speed"]["units"])
    assert {Path(f).name for f in run["exports"]["trc"]} == {
        f"vtest_{i.replace('_', '')}.trc" for i in tracks
    }
    first = tracks[0]
    header, _, _, xyz = read_trc(folder / "export" / f"vtest_{first.replace('_', '')}.trc")
    assert header["Units"] == "m" and int(header["NumFrames"]) == metric.sizes["time"]
    pos = metric["position"].sel(individual=first).transpose("time", "keypoint", "space")
    np.testing.assert_allclose(xyz[..., :2], pos.values, atol=1e-6)
    assert run["exports"]["openpose"]["files"] == metric.sizes["time"]
    wb = openpyxl.load_workbook(folder / "export" / "vtest.xlsx", read_only=True)
    assert "pelvis_speed [m/s]" in next(iter(wb["speeds"].values))
    assert "Speeds and jumps" in (folder / "dashboard.html").read_text()

    proc = run_cli(*common, "--no-dashboard")
    assert proc.returncode == 0, proc.stderr
    again = json.loads((folder / "run.json").read_text())
    assert "calibration" not in again and "exports" not in again
    assert set(METRIC_FILES) <= set(again["removed_stale_outputs"])
    assert not any((folder / n).exists() for n in METRIC_FILES)
    assert not (folder / "export").exists()
