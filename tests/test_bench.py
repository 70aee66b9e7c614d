"""The benchmark runs (at the smallest size, as a smoke test) and reports real numbers.

Speed itself is not asserted: these machines are noisy. docs/benchmarks.md
holds a full run's ratios.
"""

from __future__ import annotations

import re

import pytest

from xopipe.bench.__main__ import main


@pytest.mark.slow
def test_quick_benchmark_prints_a_table_of_ratios(tmp_path, capsys):
    out = tmp_path / "bench.md"
    assert main(["--quick", "--out", str(out)]) == 0
    text = out.read_text()
    assert text == capsys.readouterr().out.rstrip("\n") + "\n"
    rows = [line for line in text.splitlines() if line.startswith("| ") and "ms" in line]
    names = [row.split("|")[1].strip() for row in rows]
    assert names == ["conv 9^2 K3 k3", "max pool 2x2/2 3x9^2", "seed pipeline 9^2"]
    for row in rows:
        cells = [c.strip() for c in row.split("|")[2:-1]]
        assert re.fullmatch(r"[\d.e+-]+ ms", cells[0]), row  # torch.nn.functional's time
        for cell in cells[1:4]:  # numpy, torch and loop backends, each with its ratio
            assert re.fullmatch(r"[\d.e+-]+ ms \([\d.]+\)", cell), row
    assert re.search(r"memory bandwidth \(np.copyto, read \+ write\): [\d.]+ GB/s", text)
