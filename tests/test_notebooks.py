"""Every notebook executes top to bottom (nbclient, a real kernel) with its parameters set
as papermill does: a cell inserted after the one tagged ``parameters``.

The quick start analyses 1.5 s of the real sample clip in-process with the offline
detector and the stand-in pose model; the explorer and the athlete picker then open its
results folder; the comparison opens two synthetic sessions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from render_data import make_results_folder

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
END_S = 1.5  # the quick start analyses this much of the sample clip
PLOTLY = "application/vnd.plotly.v1+json"
WIDGET = "application/vnd.jupyter.widget-view+json"


def execute(name: str, **params: Any) -> nbformat.NotebookNode:
    """Run ``notebooks/<name>`` with ``params`` injected; returns the executed notebook."""
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    source = "\n".join(f"{key} = {value!r}" for key, value in params.items())
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(
        source, metadata={"tags": ["injected-parameters"]}))
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()
    return nb


def outputs(nb: nbformat.NotebookNode) -> list[Any]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def kinds(nb: nbformat.NotebookNode) -> list[str]:
    return [k for o in outputs(nb) for k in o.get("data", {})]


def assert_no_error(nb: nbformat.NotebookNode) -> None:
    errors = [o for o in outputs(nb) if o.output_type == "error"]
    assert not errors, "\n".join(e.get("ename", "") + ": " + e.get("evalue", "") for e in errors)


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory, sports2d_clip, person_detector, standin_onnx):
    """The executed quick start and the results folder it wrote."""
    out = tmp_path_factory.mktemp("quickstart")
    nb = execute("01_quickstart.ipynb", VIDEO=str(sports2d_clip), OUTPUT=str(out),
                 POSE_MODEL=str(standin_onnx), DETECTOR=str(person_detector),
                 PERSON_CLASSES=[0, 1], END=END_S)
    return nb, out / "sports2d_demo"


def test_notebooks_are_stored_clean_with_a_parameters_cell() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01_quickstart.ipynb", "02_explore_athlete.ipynb", "03_compare_sessions.ipynb",
        "select_athletes.ipynb"]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), path.name
        tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1 and tagged[0] is code[0], path.name


def test_quickstart_analyses_in_process_and_shows_the_results(quickstart) -> None:
    nb, folder = quickstart
    assert_no_error(nb)
    for name in ("poses.nc", "poses_smoothed.nc", "kinematics.nc", "overlay.mp4",
                 "dashboard.html"):
        assert (folder / name).is_file(), name
    assert kinds(nb).count(PLOTLY) >= 4  # the dashboard's figures, inline
    assert any("<video" in o.get("data", {}).get("text/html", "") for o in outputs(nb))
    assert "text/html" in kinds(nb)  # the xarray / pandas tables


def test_explorer_notebook(quickstart) -> None:
    _, folder = quickstart
    nb = execute("02_explore_athlete.ipynb", RESULTS=str(folder))
    assert_no_error(nb)
    assert WIDGET in kinds(nb) and kinds(nb).count(PLOTLY) >= 2
    text = "".join(o.get("text", "") for o in outputs(nb))
    assert "frames from the overlay video" in text
    assert list(folder.glob("explore_*.csv")) and list(folder.glob("explore_*.mp4"))


def test_select_athletes_notebook(quickstart) -> None:
    _, folder = quickstart
    nb = execute("select_athletes.ipynb", RESULTS=str(folder))
    assert_no_error(nb)
    assert WIDGET in kinds(nb) and PLOTLY in kinds(nb)
    assert any("--athletes id:" in o.get("text", "") for o in outputs(nb))


def test_compare_sessions_notebook(tmp_path) -> None:
    a = make_results_folder(tmp_path / "monday" / "drill", None, 240)
    b = make_results_folder(tmp_path / "friday" / "drill", None, 180)
    page = tmp_path / "compare.html"
    nb = execute("03_compare_sessions.ipynb", RESULTS=[str(a), str(b)],
                 LABELS=["monday", "friday"], OUT=str(page))
    assert_no_error(nb)
    assert kinds(nb).count(PLOTLY) == 3
    assert page.is_file() and page.stat().st_size > 3_000_000
    assert "monday" in page.read_text()[-200_000:]
