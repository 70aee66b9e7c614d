"""xopipe.run from Python, and the example notebook in docs/, executed."""

from __future__ import annotations

import gc
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException

import xopipe
from tests.browser import open_page
from xopipe.errors import UserError

NOTEBOOK = Path(__file__).parent.parent / "docs" / "explorer.ipynb"


def test_run_returns_arrays_manifest_and_explain(tmp_path, seed_expected):
    result = xopipe.run("figures=none", out_dir=tmp_path)
    assert list(result.arrays) == ["input", "conv", "pool", "activation"]
    for name in ("input", "conv", "pool", "activation"):
        np.testing.assert_allclose(result.arrays[name], seed_expected[name], rtol=0, atol=1e-15)
    assert result.manifest == json.loads((tmp_path / "manifest.json").read_text())
    assert result.manifest["status"] == "complete"
    assert result.manifest["overrides"] == ["figures=none"]
    text = result.explain("conv", 0, 0, 0)
    assert text.splitlines()[-1] == (
        "stored conv[0, 0, 0] = 0.7777777777777778  (identical, bit for bit)"
    )
    with pytest.raises(UserError, match="conv is 3×7×7"):
        result.explain("conv", 3, 0, 0)


def test_explain_of_a_gradient_from_python(tmp_path):
    with xopipe.run("loss=sum", "figures=none", out_dir=tmp_path / "api") as result:
        text = result.explain("grad:conv", 0, 1, 1)
    lines = text.splitlines()
    assert lines[0].startswith("explain dL/dconv[0, 1, 1]")
    head, tail = lines[-1].split(" = ")
    assert head == "stored dL/dconv[0, 1, 1]" and tail.endswith("  (identical, bit for bit)")
    assert float(tail.split()[0]) == result.grads["conv"][0, 1, 1]
    with pytest.raises(UserError, match="needs a loss to differentiate"):
        xopipe.run("figures=none", out_dir=tmp_path / "plain").explain("grad:conv", 0, 1, 1)


def test_overrides_mean_what_they_mean_on_the_command_line(tmp_path):
    result = xopipe.run("conv.stride=2", "pool=avg", "figures=none", out_dir=tmp_path)
    assert result.arrays["conv"].shape == (3, 4, 4) and result.arrays["pool"].shape == (3, 2, 2)
    with pytest.raises(UserError, match="conv.stride must be a positive integer"):
        xopipe.run("conv.stride=0", "figures=none", out_dir=tmp_path / "bad")


def test_repr_html_is_the_explorer_and_works_inline(browser, tmp_path):
    result = xopipe.run("figures=none", out_dir=tmp_path)
    inline = result._repr_html_()
    assert inline.startswith('<iframe srcdoc="&lt;!doctype html&gt;') and "<script" not in inline
    host = tmp_path / "notebook.html"
    # A notebook's page is UTF-8 and says so; without the charset Chromium guesses, and
    # sometimes reads the explanation's "×" as "Ã—".
    host.write_text(
        f'<!doctype html><html><head><meta charset="utf-8"></head><body>{inline}</body></html>',
        encoding="utf-8",
    )
    with open_page(browser, host) as page:
        frame = page.page.frames[1]
        frame.click('[data-stage="conv"][data-channel="0"][data-row="0"][data-col="0"]')
        assert frame.inner_text("#explain") == result.explain("conv", 0, 0, 0)
        assert page.requests == [] and page.errors == []


@pytest.mark.slow
def test_the_example_notebook_runs(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    outputs = [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "stored conv[0, 0, 0] = 0.7777777777777778  (identical, bit for bit)" in text
    html = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert len(html) == 2 and all(h.startswith("<iframe srcdoc=") for h in html)
    results = [o.data["text/plain"] for o in outputs if o.output_type == "execute_result"]
    assert "array([[ 7, -1,  1,  3,  5, -1,  3]," in results[1]


def test_temporary_folders_go_with_their_results_and_failed_runs_leave_none(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where mkdtemp makes them

    def left() -> list[str]:
        return sorted(p.name for p in tmp_path.glob("xopipe-*"))

    kept = [xopipe.run("figures=none", f"conv.bias={bias}") for bias in (0, 1, 2)]
    assert left() == sorted(r.out_dir.name for r in kept)  # there while the results are
    assert all((r.out_dir / "manifest.json").is_file() for r in kept)
    with pytest.raises(UserError, match="conv.stride must be a positive integer"):
        xopipe.run("conv.stride=0", "figures=none")  # fails after its folder was made
    assert len(left()) == 3
    with xopipe.run("figures=none") as result:
        assert result.report.is_file() and len(left()) == 4
    assert not result.out_dir.exists() and len(left()) == 3
    kept[0].close()
    assert len(left()) == 2
    del kept, result
    gc.collect()
    assert left() == []


def test_a_folder_given_as_out_dir_is_never_removed(tmp_path):
    result = xopipe.run("figures=none", out_dir=tmp_path / "mine")
    result.close()
    del result
    gc.collect()
    assert (tmp_path / "mine" / "manifest.json").is_file()


@pytest.mark.parametrize(
    ("override", "line", "cause"),
    [
        (
            "conv.strid=2",
            "Could not override 'conv.strid': Key 'strid' not in 'ConvConfig'; "
            "did you mean conv.stride?",
            ConfigCompositionException,
        ),
        (
            "pool=maxx",
            "In 'config': Could not find 'pool/maxx' (available: avg, max); did you mean pool=max?",
            MissingConfigException,
        ),
        (
            "dtype=int8",
            "Error merging override dtype=int8: Invalid value 'int8', expected one of "
            "[float64, float32]",
            ConfigCompositionException,
        ),
    ],
)
def test_a_config_hydra_refuses_is_a_user_error_with_hydras_as_its_cause(
    tmp_path, override, line, cause
):
    with pytest.raises(UserError) as caught:
        xopipe.run(override, out_dir=tmp_path / "run")
    assert str(caught.value) == line
    assert type(caught.value.__cause__) is cause
    assert not (tmp_path / "run").exists()  # refused before any folder was made
