"""Run a fixed set of 15 configs and print a sha256 for each file they write (timings left out).

For reshaping code without changing results: run it on the code before and after,
then compare the two listings (the folder under OUTDIR differs; the hashes must not):

    python -m tests.fixed_runs PYTHON OUTDIR > before.txt   # PYTHON: the environment's python

Tables, weights and figures (an SVG's date left out) are hashed as they are, manifests
without their timings, report.html by its data (JSON, whatever the key order) and controls.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

RGB = Path("/tmp/xopipe_fixed_rgb.png")  # one path for every listing: the manifest records it
RUNS = [
    [],
    ["backend=loop"],
    ["backend=torch"],
    ["input=o", "conv.stride=2"],
    ["pipeline=classic", "activation=leaky_relu", "activation.negative_slope=0.1"],
    ["pipeline=two_layer"],
    ["input=random", "input.shape=[16,20]", "kernels=random"]
    + ["conv.padding=same", "conv.padding_mode=reflect"],
    ["pool=avg", "pool.size=3", "conv.dilation=2", "input=random", "input.shape=[15,15]"],
    ["kernels=sobel", "conv.bias=[0.5,-0.25]", "dtype=float32", "backend=torch"],
    ["+pipeline.stages.padded={op: pad, input: conv}", "pad.pads=[0,1,0,1]"],
    ["input=file", f"input.path={RGB}", "input.color=rgb"]
    + ["kernels=random", "kernels.shape=[3,1,3,3]", "conv.groups=depthwise"],
    ["activation=sigmoid", "pool.pad=0", "pool.padding=1", "pool.ceil_mode=true"]
    + ["conv.normalize=none", "explain=conv:1:2:3"],
    ["backend=loop", "pool=avg", "pool.stride=1", "activation=gelu"]
    + ["tables.formats=[parquet,csv,npy]"],
    ["figures=svg", "figures.lang=zh", "explain=pool:0:1:1"],
    ["input=random", "input.shape=[2,12,12]", "kernels=random", "kernels.shape=[4,2,3,3]"]
    + ["conv.flip=true", "pool.dilation=2", "activation=elu"],
]
TIMING_KEYS = {"seconds", "started", "finished", "elapsed", "time", "duration", "host", "pid"}


def scrub(value: object) -> object:
    """A manifest without what changes from one run to the next (times, the machine)."""
    if isinstance(value, dict):
        return {
            k: scrub(v)
            for k, v in value.items()
            if k not in TIMING_KEYS and "second" not in k and "time" not in k and k != "python"
        }
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def digest(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()[:16]


def page_parts(path: Path) -> dict[str, str]:
    """report.html's data (as JSON values) and its controls' HTML."""
    text = path.read_text()
    data = re.search(r'<script type="application/json" id="xopipe-data">(.*?)</script>', text, re.S)
    form = re.search(r'<form id="controls".*?</form>', text, re.S)
    values = json.dumps(json.loads(data.group(1)), sort_keys=True) if data else ""
    return {"data": digest(values), "controls": digest(form.group(0) if form else "")}


def file_digest(path: Path) -> str:
    if path.name == "manifest.json":
        document = scrub(json.loads(path.read_text()))
        assert isinstance(document, dict)
        document.get("files", {}).pop("report.html", None)  # the page embeds timings
        return digest(json.dumps(document, sort_keys=True))
    if path.suffix == ".svg":
        lines = path.read_text().splitlines()
        return digest("\n".join(line for line in lines if "<dc:date>" not in line))
    return digest(path.read_bytes())


def main(python: str, out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    pixels = np.random.default_rng(3).integers(0, 256, (11, 13, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(RGB)
    for number, overrides in enumerate(RUNS):
        folder = out / f"run{number:02d}"
        command = [python, "-m", "xopipe", *overrides, f"hydra.run.dir={folder}"]
        done = subprocess.run(command, capture_output=True, text=True)
        print(f"run{number:02d} rc={done.returncode} {' '.join(overrides)}")
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or ".hydra" in path.parts or path.name == "xopipe.log":
                continue
            name = path.relative_to(folder)
            if path.suffix == ".html":
                for part, value in page_parts(path).items():
                    print(f"  {name}#{part} {value}")
            else:
                print(f"  {name} {file_digest(path)}")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
