"""Sessions side by side: per-repetition ROM and peak, normalised curves, compare.html."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from browser import body_attrs, chromium, console_errors
from cli_runner import run_cli
from render_data import make_results_folder

from spinepose_sports.compare import (
    load_session,
    load_sessions,
    metrics_summary,
    normalised_repetitions,
    repetition_metrics,
)
from spinepose_sports.plots.compare import compare_figures


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> tuple[Path, Path]:
    """Two sessions of the same synthetic drill: 8 s (3 repetitions of track 3) and 6 s."""
    root = tmp_path_factory.mktemp("sessions")
    return (make_results_folder(root / "monday", None, 240),
            make_results_folder(root / "friday", None, 180, kinematics=False))


def test_metrics_per_repetition_match_the_repetitions_table(folders) -> None:
    session = load_session(folders[0], "3")
    assert session.individual == "track_3" and len(session.repetitions) == 3
    metrics = repetition_metrics([session])
    trunk = metrics[(metrics["label"] == "trunk")]
    assert list(trunk["repetition"]) == [1, 2, 3]
    # the trunk is the driving signal: its peak is the repetitions table's peak_value
    np.testing.assert_allclose(trunk["peak"], session.repetitions["peak_value"], atol=1e-3)
    assert (trunk["rom"] > 20).all()
    levels = metrics[metrics["part"] == "level"]
    assert levels["label"].nunique() == 8 and len(levels) == 24
    summary = metrics_summary(metrics)
    row = summary[(summary["label"] == "trunk")].iloc[0]
    assert row["n"] == 3
    assert row["rom_mean"] == pytest.approx(trunk["rom"].mean())
    assert row["rom_sd"] == pytest.approx(trunk["rom"].std(ddof=1))


def test_normalised_curves_run_from_start_to_end(folders) -> None:
    session = load_session(folders[0], "track_3")
    curves = normalised_repetitions(session, "trunk")
    assert curves.dims == ("repetition", "percent") and curves.shape == (3, 101)
    assert curves.attrs["units"] == "deg"
    t, trunk = session.time_s, session.series("trunk")
    for k, (_, start, end) in enumerate(session.windows()):
        assert float(curves[k, 0]) == pytest.approx(np.interp(start, t, trunk), abs=0.05)
        assert float(curves[k, -1]) == pytest.approx(np.interp(end, t, trunk), abs=0.05)
        peak = session.repetitions["peak_value"].iloc[k]
        assert float(curves[k].max()) == pytest.approx(peak, abs=3.0)  # resampled peak


def test_a_session_without_repetitions_is_compared_whole(folders) -> None:
    session = load_session(folders[0], "track_7")
    session = type(session)(session.label, session.folder, session.individual,
                            session.kinematics, session.repetitions.iloc[0:0])
    assert session.windows() == [(0, 0.0, pytest.approx(session.time_s[-1]))]
    metrics = repetition_metrics([session])
    assert set(metrics["repetition"]) == {0}


def test_sessions_get_distinct_labels_and_athletes_by_name(folders) -> None:
    same = load_sessions([folders[0], folders[0]])
    assert [s.label for s in same] == ["monday track_3", "monday track_3 #2"]
    with pytest.raises(ValueError, match="athletes for 2"):
        load_sessions(folders, ["3", "3", "7"])
    with pytest.raises(ValueError, match="no athlete 'Zoe'"):
        load_session(folders[0], "Zoe")
    figs = compare_figures(load_sessions(folders, labels=["mon", "fri"]))
    assert set(figs) == {"regions", "levels", "curves"}
    boxes = [tr for tr in figs["regions"].data if tr.type == "box"]
    assert {tr.name for tr in boxes} == {"mon", "fri"}
    assert all("deg" in tr.hovertemplate for tr in boxes)


@pytest.mark.usefixtures("chromium_path")
def test_compare_command_writes_a_page_chromium_draws(folders, tmp_path) -> None:
    out = tmp_path / "compare.html"
    proc = run_cli("compare", *folders, "-o", out, "--label", "monday", "--label", "friday")
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", text)
    data = json.loads(re.search(r'id="compare-data">(.*?)</script>', text, re.S).group(1))
    assert list(data) == ["regions", "levels", "curves"]
    dom = chromium(out, tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    attrs = body_attrs(dom.stdout)
    assert attrs.get("data-rendered") == "all" and "data-js-error" not in attrs, attrs
    assert console_errors(dom.stderr) == []
    for key, _x, _y, w, h in json.loads(attrs["data-plot-rects"]):
        assert w > 600 and h > 300, key
    # the drawn SVG holds the boxes and the curves
    assert dom.stdout.count('class="box"') + dom.stdout.count("boxlayer") > 0
    assert "scatterlayer" in dom.stdout


def test_compare_command_errors_name_the_problem(folders, tmp_path) -> None:
    proc = run_cli("compare", folders[0], tmp_path / "nowhere")
    assert proc.returncode == 1 and "no such results folder" in proc.stderr
    proc = run_cli("compare", *folders, "--athlete", "9", "-o", tmp_path / "c.html")
    assert proc.returncode == 1 and "no athlete '9'" in proc.stderr
