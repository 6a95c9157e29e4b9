"""dashboard.html: self-contained, offline, drawn by headless Chromium without errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import pytest
import typer
from browser import WINDOW, body_attrs, chromium, console_errors
from render_data import make_results_folder
from typer.testing import CliRunner

from spinepose_sports.cli_render import render_command, report_command
from spinepose_sports.plots import ChromiumNotFoundError, export_static, write_dashboard
from spinepose_sports.plots import static as static_mod
from spinepose_sports.plots.dashboard import load_for_dashboard, select_tracks, track_figures
from spinepose_sports.plots.static import find_chromium

needs_chromium = pytest.mark.usefixtures("chromium_path")

@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    return make_results_folder(tmp_path_factory.mktemp("out") / "drill", None)


@pytest.fixture(scope="module")
def dashboard(results) -> Path:
    return write_dashboard(results)


def test_dashboard_is_one_offline_file(dashboard, results) -> None:
    assert dashboard == results / "dashboard.html"
    text = dashboard.read_text()
    assert len(text) > 3_000_000  # plotly.js is inside
    assert "plotly.js" in text[:20000]
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", text)
    for track in ("track_3", "track_7"):
        assert f'<option value="{track}">' in text
    data = json.loads(re.search(r'id="dashboard-data">(.*?)</script>', text, re.S).group(1))
    assert data["keys"] == ["kinematogram", "curves", "shapes", "rom"]
    assert data["initial"] == "track_3"  # ties broken by track id: both have every frame
    heat = data["figures"]["track_3"]["kinematogram"]["data"][0]
    assert heat["type"] == "heatmap" and len(heat["y"]) == 8


def test_hover_labels_carry_units(results) -> None:
    res, kin = load_for_dashboard(results)
    tracks, left_out = select_tracks(kin, res.repetitions)
    assert [t.individual for t in tracks] == ["track_3", "track_7"] and left_out == []
    assert tracks[0].n_reps >= 2 and tracks[0].motion_plane == "flexion-extension"
    figs = track_figures(res, kin, tracks[0])
    for key, fig in figs.items():
        hovers = [tr.hovertemplate for tr in fig.data if tr.hovertemplate]
        assert hovers and all("deg" in h for h in hovers), key
    assert " s" in figs["kinematogram"].data[0].hovertemplate
    bands = [s for s in figs["curves"].layout.shapes if s.type == "rect"]
    assert len(bands) == tracks[0].n_reps  # one band per repetition


@needs_chromium
def test_dashboard_draws_in_headless_chromium(dashboard, tmp_path) -> None:
    dom = chromium(dashboard, tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    attrs = body_attrs(dom.stdout)
    assert attrs.get("data-rendered") == "track_3", attrs
    assert "data-js-error" not in attrs, attrs["data-js-error"]
    assert console_errors(dom.stderr) == []
    rects = json.loads(attrs["data-plot-rects"])
    shot = tmp_path / "shot.png"
    proc = chromium(dashboard, tmp_path, f"--screenshot={shot}")
    assert proc.returncode == 0 and console_errors(proc.stderr) == []
    image = cv2.imread(str(shot))
    assert image.shape[:2] == (WINDOW[1], WINDOW[0])
    for key, x, y, w, h in rects:
        assert w > 600 and h > 250, key
        assert y + h <= image.shape[0], f"{key} below the screenshot"
        area = image[y : y + h, x : x + w].astype(int)
        inked = (area.max(axis=-1) < 200).mean()  # not the white background
        assert area.std() > 15 and inked > 0.01, key
    kinematogram = dict((r[0], r[1:]) for r in rects)["kinematogram"]
    x, y, w, h = kinematogram
    heat = image[y : y + h, x : x + w]
    reddish = (heat[..., 2].astype(int) - heat[..., 0] > 80).mean()
    assert reddish > 0.02  # the flexion colours are on screen


@needs_chromium
def test_track_selector_opens_the_track_in_the_url(dashboard, tmp_path) -> None:
    page = Path(f"{dashboard.resolve()}#track_7")
    dom = chromium(page, tmp_path, "--dump-dom")
    attrs = body_attrs(dom.stdout)
    assert attrs.get("data-rendered") == "track_7" and "data-js-error" not in attrs


def test_dashboard_without_saved_kinematics(tmp_path) -> None:
    folder = make_results_folder(tmp_path / "bare", None, 90, kinematics=False)
    page = write_dashboard(folder, tmp_path / "elsewhere.html")
    text = page.read_text()
    assert '<option value="track_3">' in text and "repetitions" in text


@needs_chromium
def test_static_export_png_and_pdf(results, tmp_path) -> None:
    files = export_static(results, ("png", "pdf"), out_dir=tmp_path / "fig", tracks=["track_3"])
    assert len(files) == 8 and all(f.is_file() for f in files)
    pngs = [f for f in files if f.suffix == ".png"]
    assert all(f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in pngs)
    assert all(f.read_bytes()[:5] == b"%PDF-" for f in files if f.suffix == ".pdf")
    image = cv2.imread(str(next(f for f in pngs if "kinematogram" in f.name)))
    assert image.shape[1] == 2600 and image.std() > 20


def test_static_export_without_chromium_says_how_to_install(results, monkeypatch) -> None:
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chrome")
    with pytest.raises(ChromiumNotFoundError, match="apt-get install chromium"):
        export_static(results)
    monkeypatch.delenv("BROWSER_PATH")
    monkeypatch.setattr(static_mod, "BROWSER_NAMES", ())
    monkeypatch.setattr(static_mod, "BROWSER_PATHS", ())
    with pytest.raises(ChromiumNotFoundError, match="BROWSER_PATH"):
        find_chromium()
    with pytest.raises(ValueError, match="formats"):
        export_static(results, ("gif",))


def test_report_command(results, tmp_path) -> None:
    app = typer.Typer()
    app.command("render")(render_command)
    app.command("report")(report_command)
    out = tmp_path / "page.html"
    res = CliRunner().invoke(app, ["report", str(results), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 3_000_000
    res = CliRunner().invoke(app, ["report", str(results.parent)])  # a folder of results
    assert res.exit_code == 0 and (results / "dashboard.html").is_file()


@needs_chromium
def test_report_and_render_from_a_real_analyze_run(sports2d_run, tmp_path) -> None:
    """The real clip through the real detector (stand-in pose model): no model is rerun."""
    folder, _ = sports2d_run
    app = typer.Typer()
    app.command("render")(render_command)
    app.command("report")(report_command)
    runner = CliRunner()
    res = runner.invoke(app, ["report", str(folder)])
    assert res.exit_code == 0, res.output
    out = tmp_path / "cut.mp4"
    args = ["render", str(folder), "-o", str(out), "--start", "2", "--end", "3", "--trail", "1"]
    res = runner.invoke(app, [*args, "-q"])
    assert res.exit_code == 0, res.output
    import av

    with av.open(str(out)) as c:
        assert c.streams.video[0].frames == 30
        assert c.streams.audio and c.streams.audio[0].codec_context.name == "aac"
    dom = chromium(folder / "dashboard.html", tmp_path, "--dump-dom")
    attrs = body_attrs(dom.stdout)
    assert attrs.get("data-rendered", "").startswith("track_") and "data-js-error" not in attrs
    assert console_errors(dom.stderr) == []


def test_smoothed_poses_are_preferred_when_saved(tmp_path) -> None:
    from spinepose_sports.data import load_poses, save_netcdf
    from spinepose_sports.report import load_results

    folder = make_results_folder(tmp_path / "s", None, 60)
    poses = load_poses(folder / "poses.nc")
    save_netcdf(poses.assign(position=poses["position"] + 1.0), folder / "poses_smoothed.nc")
    res = load_results(folder)
    hip = {"time": 0, "space": 0, "keypoint": 19, "individual": 0}
    assert res.smoothed
    assert float(res.poses["position"][hip] - res.raw_poses["position"][hip]) == 1.0
    assert not load_results(folder, smoothed=False).smoothed
    assert "smoothed keypoints" in write_dashboard(folder).read_text()
