"""Every notebook executes top to bottom on real results (nbclient, a real kernel)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, sports2d_run, monkeypatch) -> None:
    folder, _ = sports2d_run
    monkeypatch.setenv("SPINEPOSE_SPORTS_RESULTS", str(folder))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    kinds = {k for o in outputs for k in o.get("data", {})}
    assert "application/vnd.plotly.v1+json" in kinds  # figures were produced
    assert "application/vnd.jupyter.widget-view+json" in kinds  # the widgets were built


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS
