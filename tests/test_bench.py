"""The benchmark runs (at the smallest size, as a smoke test) and reports real numbers.

Speed itself is not asserted: these machines are noisy. docs/benchmarks.md
holds a full run's ratios.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
import torch

from xopipe.bench import rounds
from xopipe.bench.__main__ import H200_BANDWIDTH, main
from xopipe.bench.cases import all_cases, gpu_cases
from xopipe.bench.tables import floor_bytes, gpu_table, kernel_table

TIMED = r"[\d.e+-]+ ms"


@pytest.mark.slow
def test_quick_benchmark_prints_times_and_no_ratios(tmp_path, capsys):
    """At 9x9 a ratio moves by orders of magnitude between rounds on a shared machine
    (1.1, 0.0013-2.2 was printed): --quick prints the times alone."""
    out = tmp_path / "bench.md"
    assert main(["--quick", "--out", str(out)]) == 0
    text = out.read_text()
    assert text == capsys.readouterr().out.rstrip("\n") + "\n"
    header = "| case | torch.nn.functional | loop backend | numpy backend | torch backend |"
    assert header in text.splitlines()
    kernels, backward = text.split("## Backward pass, against torch's CPU autograd")
    backward, training = backward.split("## Training: one epoch, against plain torch")
    header = "| case | plain torch | loop backend | numpy backend | torch backend |"
    assert header in training.splitlines()
    (epoch,) = [line for line in training.splitlines() if line.startswith("| one epoch")]
    cells = [c.strip() for c in epoch.split("|")[2:-1]]
    assert len(cells) == 4 and all(re.fullmatch(r"[\d.e+-]+ m?s", cell) for cell in cells), epoch
    rows = [line for line in kernels.splitlines() if line.startswith("| ") and "ms" in line]
    names = [row.split("|")[1].strip() for row in rows]
    assert names == ["conv 9^2 K3 k3", "max pool 2x2/2 3x9^2", "seed pipeline 9^2"]
    header = "| case | torch autograd | loop backend | numpy backend | torch backend |"
    assert header in backward.splitlines()
    backward_rows = [
        line for line in backward.splitlines() if line.startswith("| ") and "ms" in line
    ]
    names = [row.split("|")[1].strip() for row in backward_rows]
    assert names == [
        f"{name} {dtype}"
        for name in ("seed pipeline 9^2", "conv 9^2 K3 k3", "max pool 2x2/2 3x7^2")
        for dtype in ("float32", "float64")
    ]
    for row in rows + backward_rows:
        cells = [c.strip() for c in row.split("|")[2:-1]]
        assert len(cells) == 4 and all(re.fullmatch(TIMED, cell) for cell in cells), row
    assert not re.search(r"\(\d", text)  # no "(ratio, lowest-highest)" anywhere
    assert "Times only (--quick)" in text
    assert "the median of 30 repeats in a fresh process, in 2 rounds" in text


def test_the_kernel_table_shows_ratios_unless_told_not_to():
    case = all_cases([9])[0]
    times = {
        "torch-ref": {case.name: [1e-5, 1e-5]},
        "numpy": {case.name: [2e-5, 3e-5]},
        "torch": {case.name: [1e-5, 1e-5]},
        "loop": {case.name: [1e-3, 1e-3]},
    }
    full = kernel_table([case], times, 1e10)[2].split("|")[1:-1]
    assert [c.strip() for c in full[:5]] == [
        "conv 9^2 K3 k3",
        "0.01 ms",
        "1 ms (1e+02, 1e+02-1e+02)",
        "0.025 ms (2.5, 2-3)",
        "0.01 ms (1, 1-1)",
    ]
    assert full[-1].strip() == "**no**: numpy 50%"
    header, _, row = kernel_table([case], times, 1e10, ratios=False)
    assert header == "| case | torch.nn.functional | loop backend | numpy backend | torch backend |"
    assert [c.strip() for c in row.split("|")[1:-1]] == [
        "conv 9^2 K3 k3",
        "0.01 ms",
        "1 ms",
        "0.025 ms",
        "0.01 ms",
    ]


def test_help_says_what_each_option_does(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    words = " ".join(capsys.readouterr().out.split())  # argparse wraps the lines
    assert "a ratio that moves more than 20% between rounds is flagged" in words


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_device_cuda_without_a_gpu_fails_in_one_line(capsys):
    assert main(["--quick", "--device", "cuda"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: --device cuda needs a CUDA device, but torch ")
    assert "sees no CUDA device here" in lines[0]


def test_implementations_take_turns_round_by_round(monkeypatch):
    calls = []

    def fake(suite, implementation, index, sizes, repeats, threads):
        calls.append((implementation, index))
        return {"a": 1.0, "b": 2.0, "c": 4.0}[implementation] * (1 + len(calls) / 100)

    monkeypatch.setattr(rounds, "_time_case", fake)
    times = rounds.time_in_rounds("cpu", ("a", "b", "c"), ["x", "y"], [9], 3, 1, rounds=3)
    assert calls == [
        *[("a", 0), ("b", 0), ("c", 0), ("a", 1), ("b", 1), ("c", 1)],
        *[("b", 0), ("c", 0), ("a", 0), ("b", 1), ("c", 1), ("a", 1)],
        *[("c", 0), ("a", 0), ("b", 0), ("c", 1), ("a", 1), ("b", 1)],
    ]
    assert {impl: [len(v) for v in cases.values()] for impl, cases in times.items()} == {
        "a": [3, 3],
        "b": [3, 3],
        "c": [3, 3],
    }


def test_a_ratio_that_moves_more_than_a_fifth_is_flagged():
    steady = rounds.ratio([1.0, 1.1, 1.05], [2.0, 2.0, 2.0])
    assert steady is not None
    assert (steady.median, steady.low, steady.high) == (0.525, 0.5, 0.55)
    assert steady.moved == pytest.approx(0.10) and steady.moved <= rounds.STEADY
    assert steady.text() == "0.53, 0.5-0.55"
    moving = rounds.ratio([1.0, 1.0, 1.0], [2.0, 1.0, 1.5])  # the reference moved
    assert moving is not None and moving.moved == pytest.approx(1.0)
    assert moving.moved > rounds.STEADY
    assert rounds.ratio([], []) is None


def test_gpu_cases_reach_16384_with_their_memory_traffic_floor():
    cases = {case.name: case for case in gpu_cases([1024, 16384])}
    assert list(cases) == [
        "conv 1024^2 K3 k3",
        "conv 16384^2 K3 k3",
        "max pool 2x2/2 3x1022^2",
        "max pool 2x2/2 3x16382^2",
        "relu 3x1022^2",
        "relu 3x16382^2",
        "seed pipeline 1024^2",
        "seed pipeline 16384^2",
    ]
    conv = cases["conv 16384^2 K3 k3"]
    # 1 GiB in, 3 x 16382^2 float32 out: about 4.3 GB, a millisecond at 4.3 TB/s.
    assert floor_bytes(conv) == 4_294_180_912  # (16384^2 + 3 x 16382^2) x 4
    assert floor_bytes(conv) / H200_BANDWIDTH == pytest.approx(1.0e-3, rel=0.01)


# float32 bytes each case must read and write at least once, counted by hand:
# 1024^2 = 1,048,576 input cells; a 3-kernel 3x3 conv writes 3 x 1022^2 = 3,133,452;
# a 2x2/2 pool of that writes 3 x 511^2 = 783,363.
FLOORS_1024 = {
    "conv 1024^2 K3 k3": (1_048_576 + 3_133_452) * 4,
    "max pool 2x2/2 3x1022^2": (3_133_452 + 783_363) * 4,
    "relu 3x1022^2": 2 * 3_133_452 * 4,
    # input; conv written, then read by pool and by relu; pool's and relu's outputs
    "seed pipeline 1024^2": (1_048_576 + 3 * 3_133_452 + 783_363 + 3_133_452) * 4,
}


def test_each_cases_floor_is_the_bytes_it_must_move_once():
    floors = {case.name: floor_bytes(case) for case in gpu_cases([1024])}
    assert floors == FLOORS_1024
    assert FLOORS_1024["conv 1024^2 K3 k3"] == 16_728_112


def test_gpu_table_shows_ratios_to_the_resident_reference_and_the_floor():
    case = gpu_cases([1024])[0]
    times = {
        "cuda-ref": {case.name: [1e-4, 1e-4]},
        "cuda": {case.name: [1.2e-4, 1.6e-4]},
        "cuda-host": {case.name: [2e-3, 2e-3]},
    }
    header, rule, row = gpu_table([case], times, H200_BANDWIDTH)
    assert header.startswith("| case | torch, resident | torch backend, resident (ratio) |")
    cells = [c.strip() for c in row.split("|")[1:-1]]
    # 16,728,112 bytes at 4.3 TB/s: 3.89 microseconds
    assert cells[:4] == [
        "conv 1024^2 K3 k3",
        "0.1 ms",
        "0.14 ms (1.4, 1.2-1.6)",
        "2 ms (20, 20-20)",
    ]
    assert cells[4] == "0.00389 ms"
    assert cells[5:7] == ["25.7x", "36.0x"]  # 0.1 ms and 0.14 ms over the floor
    assert cells[7] == "**no**: cuda 33%"


def test_gpu_peak_memory_is_reported_against_the_arrays_kept(monkeypatch):
    import xopipe.bench.__main__ as bench

    monkeypatch.setattr(bench, "gpu_peak_memory", lambda size: (150 * 2**20, 100 * 2**20))
    assert bench._peak_line(8192) == "- 8192^2: 150 MiB, 1.50x the 100 MiB kept (goal <= 1.5)"


def test_startup_ratios_are_the_median_of_the_rounds_with_their_range(monkeypatch, capsys):
    app = "trivial @hydra.main app (hydra, numpy, pyarrow.parquet)"
    rounds_seen = iter(
        [
            {
                "bare import (hydra, numpy, pyarrow.parquet)": 0.2,
                app: 0.40,
                "seed run, figures=none": 0.50,
            },
            {
                "bare import (hydra, numpy, pyarrow.parquet)": 0.2,
                app: 0.40,
                "seed run, figures=none": 0.60,
            },
            {
                "bare import (hydra, numpy, pyarrow.parquet)": 0.2,
                app: 0.50,
                "seed run, figures=none": 0.55,
            },
        ]
    )

    def startup(repeats):
        found = dict(next(rounds_seen))
        found["matplotlib.pyplot import (Agg), over bare python"] = 0.1
        found["seed run, figures on"] = 0.4
        found["xopipe --help"] = 0.3
        return found

    monkeypatch.setattr("xopipe.bench.startup.startup", startup)
    assert main(["--startup", "--rounds", "3", "--repeats", "2"]) == 0
    text = capsys.readouterr().out
    # per round 1.25, 1.5, 1.1: median 1.25, range 1.1-1.5, which moved 36%
    assert "figures=none / trivial Hydra app: 1.25, 1.10-1.50; **not steady**: moved 36%" in text
    assert "bare import: 2.00, 2.00-2.50; **not steady**: moved 25% (Hydra's own floor)" in text
    # figures on over 1.5 x bare + matplotlib: 0.4 / 0.4 in every round
    assert "(1.5 x bare + matplotlib): 1.00, 1.00-1.00 (goal <= 1.0)" in text
    assert "- seed run, figures=none: 550 ms" in text  # the median over the rounds
    # --help over a run without figures: 0.6, 0.5, 0.545 (the ratio the tests leave to the bench)
    assert "- xopipe --help / seed run, figures=none: 0.55, 0.50-0.60" in text


@pytest.mark.parametrize(
    "seconds, text", [(0.0123, "12.3 ms"), (1.664, "1.66 s"), (27.84, "27.8 s"), (278.4, "278 s")]
)
def test_times_are_printed_in_the_unit_that_reads_best(seconds, text):
    assert rounds.format_seconds(seconds) == text


def test_startup_refuses_zero_rounds(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--startup", "--rounds", "0"])
    assert exit_.value.code == 2
    assert "--rounds must be at least 1, got 0" in capsys.readouterr().err


@pytest.mark.slow
def test_the_dask_section_times_the_peer_and_xopipe_in_fresh_processes(tmp_path, monkeypatch):
    """backend=dask against the seed pipeline in dask directly (issue 25), at a small size."""
    from xopipe.bench import dask_peer

    monkeypatch.chdir(tmp_path)
    lines = dask_peer.compare(300, rounds=2)  # a second round reuses the scratch folder
    assert lines[0].startswith("- the peer correlates with dask")
    timed = r"[\d.]+ s \([\d.]+-[\d.]+\), peak RSS [\d.]+ GiB"
    assert re.fullmatch(rf"- 300\^2, peer \(libraries directly, float32 \.npy\): {timed}", lines[1])
    assert re.fullmatch(rf"- 300\^2, peer, its results widened to float64 \.npy: {timed}", lines[2])
    assert re.fullmatch(rf"- 300\^2, xopipe .*tables.npy_dtype=float32: {timed}", lines[3])
    assert re.fullmatch(rf"- 300\^2, xopipe .*\(float64 \.npy, the default\): {timed}", lines[4])
    ratio = r"[\d.]+, [\d.]+-[\d.]+ \(median, lowest-highest"
    assert re.fullmatch(
        rf"- time, xopipe \(float32 \.npy\) / peer: {ratio}; goal <= 1.2.*\)", lines[5]
    )
    assert re.fullmatch(
        rf"- time, xopipe \(float64 \.npy\) / peer widened .*: {ratio}.*\)", lines[6]
    )
    parquet = (
        r"- 150\^2, .*tables.formats=\[parquet\]: [\d.]+ s, peak RSS [\d.]+ GiB, [\d.]+ M cells/s"
    )
    assert re.fullmatch(parquet, lines[7])
    assert list(tmp_path.iterdir()) == []  # the scratch folder is gone


def test_the_kernel_tables_time_the_in_memory_backends_only():
    from xopipe.bench.__main__ import IMPLEMENTATIONS

    assert IMPLEMENTATIONS == ("torch-ref", "loop", "numpy", "torch")


def test_every_conv_case_of_the_issue_is_timed_in_both_dtypes():
    names = {case.name for case in all_cases([9, 256, 1024, 4096])}
    for size in (256, 1024, 4096):
        for suffix in ("", " float64"):
            for what in ("", " stride 2", " stride 3", " dilation 2"):
                assert f"conv {size}^2 K3 k3{what}{suffix}" in names
            assert f"relu 3x{size // 2 - 1}^2{suffix}" in names
            assert f"max pool 2x2/2 3x{size - 2}^2{suffix}" in names
    for size in (256, 1024):
        assert {f"conv {size}^2 K16 k5", f"conv {size}^2 K16 k5 float64"} <= names
    assert "conv 9^2 K3 k3 float64" not in names  # 9^2: call overhead, one dtype is enough


def test_a_strided_or_dilated_cases_floor_counts_only_the_cells_it_keeps():
    cases = {case.name: case for case in all_cases([1024])}
    # dilation 2 spans 5 cells: 1020^2 outputs per kernel; stride 3: 341^2, float64
    assert floor_bytes(cases["conv 1024^2 K3 k3 dilation 2"]) == (1024**2 + 3 * 1020**2) * 4
    assert floor_bytes(cases["conv 1024^2 K3 k3 stride 3 float64"]) == (1024**2 + 3 * 341**2) * 8


@pytest.mark.parametrize("what", ["stride 2", "stride 3", "dilation 2"])
def test_the_backends_and_the_reference_compute_the_same_strided_or_dilated_case(what):
    from xopipe.bench.timing import _backend_work, _torch_reference

    case = next(c for c in all_cases([256]) if c.name == f"conv 256^2 K3 k3 {what} float64")
    expected = _torch_reference(case)()
    assert isinstance(expected, np.ndarray)
    for backend in ("numpy", "torch"):
        got = _backend_work(case, backend)()
        assert isinstance(got, np.ndarray) and got.shape == expected.shape[1:]
        np.testing.assert_allclose(got, expected[0], rtol=1e-12, atol=1e-12)


@pytest.mark.slow
def test_kernels_alone_prints_the_kernel_table_and_nothing_after_it(tmp_path):
    out = tmp_path / "kernels.md"
    assert main(["--kernels", "--quick", "--out", str(out)]) == 0
    text = out.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "ms" in line]
    assert [row.split("|")[1].strip() for row in rows] == [
        "conv 9^2 K3 k3",
        "max pool 2x2/2 3x9^2",
        "seed pipeline 9^2",
    ]
    assert "## Kernels, float32 unless noted" in text
    assert "## Backward pass" not in text and "## Training" not in text


def test_the_clock_starts_after_a_warm_up_of_calls():
    """A fresh process's first calls run slow while its cores come up to speed: every
    implementation gets calls for WARM_UP_SECONDS (here 0.05) before its timed repeats."""
    from xopipe.bench import timing

    calls: list[float] = []

    def work() -> None:
        calls.append(time.perf_counter())
        time.sleep(0.005)

    median = timing.median_seconds(work, repeats=3, warm_up=0.05)
    assert len(calls) >= 3 + 0.05 / 0.006  # the warm-up's calls, then 3 timed ones
    assert calls[-3] - calls[0] >= 0.05
    assert 0.004 < median < 0.05
