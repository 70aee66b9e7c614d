"""The corpus of bad inputs (tests/corpus/bad_inputs.yaml): each gets its one line.

Every case is checked twice: the message itself (fast, in-process), and the
whole command line (exit status, nothing but that line on stderr, no
traceback, and nothing in the run folder that claims to be complete).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from tests.cli import run_cli
from xopipe.errors import UserError
from xopipe.experiment import build_experiment

CORPUS = Path(__file__).parent / "corpus"
FILES = CORPUS / "files"
CASES = yaml.safe_load((CORPUS / "bad_inputs.yaml").read_text())


def _expand(text: str) -> str:
    return text.replace("{files}", str(FILES))


# A case marked `only: without CUDA` is a mistake only where torch sees no GPU.
WITHOUT_CUDA = pytest.mark.skipif(
    torch.cuda.is_available(), reason="torch sees a CUDA device here, so the config is valid"
)


def config_cases():
    for case in CASES["configs"]:
        overrides = [_expand(o) for o in case["overrides"]]
        only = case.get("only")
        assert only in (None, "without CUDA"), only
        marks = [WITHOUT_CUDA] if only else []
        yield pytest.param(
            overrides, _expand(case["error"]), id=" ".join(case["overrides"]), marks=marks
        )


def file_cases():
    for case in CASES["files"]:
        overrides = [f"{case['key']}=file", f"{case['key']}.path={FILES / case['file']}"]
        yield pytest.param(overrides, _expand(case["error"]), id=f"{case['key']}-{case['file']}")


ALL_CASES = [*config_cases(), *file_cases()]


def test_corpus_covers_every_stage_and_file_kind():
    keys = {case["overrides"][-1].split("=")[0].split(".")[0] for case in CASES["configs"]}
    assert {
        "conv",
        "pad",
        "pool",
        "activation",
        "input",
        "kernels",
        "pipeline",
        "backend",
        "limits",
    } <= keys
    suffixes = {Path(case["file"]).suffix for case in CASES["files"]}
    assert {".csv", ".npy", ".png", ".jpg", ".md"} <= suffixes
    assert len(ALL_CASES) >= 100


@pytest.mark.parametrize(("overrides", "message"), ALL_CASES)
def test_message(make_config, overrides, message):
    cfg = make_config(*overrides)
    with pytest.raises(UserError) as caught:
        build_experiment(cfg)
        backend = dict(cfg.backend)  # device and thread checks happen when the backend starts
        from xopipe.backends import get_backend

        get_backend(backend.pop("name"), **backend)
    assert str(caught.value) == message


@pytest.mark.slow
@pytest.mark.parametrize(("overrides", "message"), ALL_CASES)
def test_command_line(tmp_path, overrides, message):
    run_dir = tmp_path / "run"
    result = run_cli(*overrides, "figures=none", f"hydra.run.dir={run_dir}")
    assert result.code == 2
    assert result.stderr == f"error: {message}\n"
    assert "Traceback" not in result.stdout
    assert not (run_dir / "matrices.parquet").exists()
    assert not list(run_dir.rglob("*.partial"))
    manifest = run_dir / "manifest.json"
    if manifest.exists():
        record = json.loads(manifest.read_text())
        assert record["status"] == "failed" and record["error"] == message


@pytest.mark.slow
@pytest.mark.parametrize(
    ("overrides", "says"),
    [pytest.param(c["overrides"], c["says"], id=" ".join(c["overrides"])) for c in CASES["hydra"]],
)
def test_hydra_composition_errors(tmp_path, overrides, says):
    run_dir = tmp_path / "run"
    result = run_cli(*overrides, f"hydra.run.dir={run_dir}")
    assert result.code == 1
    assert says in result.stderr
    assert "Traceback" not in result.stderr
    assert not run_dir.exists()
