"""Where torch sees a GPU, the CPU suite's tests that expect no CUDA skip instead of failing.

tests/cuda_visible.py makes torch.cuda.is_available() say yes; the files
with such tests then run in a pytest of their own, and must pass with
exactly those tests skipped.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
FILES = ["tests/test_bench.py", "tests/test_corpus.py"]
EXPECT_NO_CUDA = {
    "tests.test_bench::test_device_cuda_without_a_gpu_fails_in_one_line",
    "tests.test_corpus::test_message[backend=torch backend.device=cuda]",
}


@pytest.mark.slow
def test_tests_that_expect_no_cuda_skip_where_torch_sees_one(tmp_path):
    report = tmp_path / "report.xml"
    command = [
        *(sys.executable, "-m", "pytest", "-p", "tests.cuda_visible", "-p", "no:randomly"),
        *("-p", "no:cacheprovider", "-q", "-o", "addopts=", f"--junitxml={report}"),
        *("-m", "not slow", *FILES),
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    outcomes = {}
    for case in ET.parse(report).iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        outcomes[name] = [child.tag for child in case] or ["passed"]
    skipped = {name for name, tags in outcomes.items() if "skipped" in tags}
    assert skipped == EXPECT_NO_CUDA
    assert len(outcomes) > 100  # the corpus ran, not only the skipped ones
    assert all(tags in (["passed"], ["skipped"]) for tags in outcomes.values()), outcomes
