"""With the numpy backend in use, an array of the size just freed reuses its pages.

Measured in a fresh interpreter: glibc's thresholds depend on what the process
freed before, and a pytest process has freed all sorts.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

PROBE = """
import json, resource, numpy as np
from xopipe.backends import get_backend
get_backend("numpy")
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
found = {}
for cells in (100_000, 3_750_000):  # 0.8 MB (a 256^2 stage's array) and 30 MB
    a = np.empty(cells); a.fill(1.0); del a  # freed once, as the previous stage's array
    before = faults()
    b = np.empty(cells); b.fill(2.0)
    found[cells] = faults() - before
print(json.dumps(found))
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the thresholds are glibc's")
def test_the_next_array_of_a_freed_size_faults_in_no_pages():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    faults = json.loads(out.stdout)
    # Fresh pages would be 195 and 7,324 faults of 4 KiB (fewer with huge pages).
    assert faults == {"100000": 0, "3750000": 0}
