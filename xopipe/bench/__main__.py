"""python -m xopipe.bench [--quick] [--sizes 9 256 1024 4096] [--repeats 7] [--rounds 3]
[--backward-sizes 64 256 1024 2048] [--device cuda [--gpu-sizes 1024 4096 8192 16384]]
[--startup | --kernels | --backward | --training | --large-run [--large-size 4096] |
 --dask [--dask-16384]] [--out FILE]"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from xopipe.bench import backward, dask_peer, large_run, startup, system, training
from xopipe.bench.cases import Case, all_cases, backward_cases, gpu_cases
from xopipe.bench.rounds import STEADY, format_seconds, time_in_rounds
from xopipe.bench.tables import IN_MEMORY, gpu_table, kernel_table
from xopipe.bench.timing import LOOP_MAX_SIZE, conv_extra_memory, gpu_peak_memory

# The reference, then every in-memory backend (a chunked one has its own section: --dask).
IMPLEMENTATIONS = ("torch-ref", *IN_MEMORY)
GPU_IMPLEMENTATIONS = ("cuda-ref", "cuda", "cuda-host")
# What an NVIDIA H200 moves device to device (HBM3e, measured; 4.8 TB/s peak):
# a GPU case's memory-traffic floor is its bytes over this (--gpu-bandwidth).
H200_BANDWIDTH = 4.3e12
# --quick times 9x9 only, where a call takes microseconds: the median of many
# calls, and no ratios, which a loaded machine's scheduling moves by orders of
# magnitude between rounds (a 9x9 torch conv measured 7 us in one process, 12 ms
# in the next while another job held the second core).
QUICK_REPEATS = 30
QUICK_NOTE = (
    "Times only (--quick): each time is the median over the rounds. At 9x9 a call takes "
    "microseconds and its ratios are not steady on a shared machine; run without --quick "
    "for ratios (docs/benchmarks.md holds a full run)."
)


def _cuda_missing() -> str | None:
    """Why --device cuda cannot run here, or None when it can."""
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return f"torch {torch.__version__} sees no CUDA device here"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xopipe.bench", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[9, 256, 1024, 4096])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smallest size only, two rounds, times without ratios, no whole-program runs "
        "(a smoke test)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        # argparse formats help with %: the percentage's sign is doubled for it
        help=f"implementations take turns this many times; a ratio that moves more than "
        f"{STEADY:.0%}% between rounds is flagged",
    )
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="cuda: also time torch on the GPU, tensors resident, against xopipe's torch backend",
    )
    parser.add_argument("--gpu-sizes", type=int, nargs="+", default=[1024, 4096, 8192, 16384])
    parser.add_argument(
        "--gpu-bandwidth",
        type=float,
        default=H200_BANDWIDTH,
        help="bytes/s the GPU moves, for its memory-traffic floor (default: an H200's)",
    )
    parser.add_argument(
        "--startup",
        action="store_true",
        help="only the start-up section: whole processes against a trivial Hydra app, in rounds",
    )
    parser.add_argument(
        "--backward-sizes",
        type=int,
        nargs="+",
        default=[64, 256, 1024, 2048],
        help="input sizes of the backward cases (each backend's backward pass against torch "
        "autograd; the loop backend up to 64)",
    )
    parser.add_argument(
        "--backward", action="store_true", help="only the backward section, in rounds"
    )
    parser.add_argument(
        "--kernels",
        action="store_true",
        help="only the kernels' table (conv, pools, relu, the seed pipeline), in rounds",
    )
    parser.add_argument(
        "--training",
        action="store_true",
        help="only the training section: one epoch of xopipe-train's default on each backend "
        "against plain torch, in rounds",
    )
    parser.add_argument(
        "--dask",
        action="store_true",
        help="only backend=dask against the seed pipeline written with dask directly, at "
        f"{dask_peer.DASK_SIZE}^2: time and peak memory, each in a fresh process",
    )
    parser.add_argument(
        "--dask-16384",
        action="store_true",
        help="with the dask section, also 16384^2 (the peer and xopipe each write ~7-15 GB "
        "and need several GiB of memory)",
    )
    large_run.add_arguments(parser)
    parser.add_argument("--out", type=Path, help="also write the report (markdown) here")
    args = parser.parse_args(argv)
    if args.device == "cuda" and (missing := _cuda_missing()):
        print(
            f"error: --device cuda needs a CUDA device, but {missing}; run it on a machine "
            "with an NVIDIA GPU and a CUDA build of torch",
            file=sys.stderr,
        )
        return 2
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    if args.startup:
        return _write(["# xopipe start-up", *startup.section(args.repeats, args.rounds)], args.out)
    if args.large_run:
        return _write(large_run.section(args.large_size, args.rounds), args.out)
    if args.dask:
        return _write(
            ["# xopipe benchmarks", *dask_peer.section(args.dask_16384, args.rounds)], args.out
        )
    sizes = [9] if args.quick else sorted(args.sizes)
    repeats = QUICK_REPEATS if args.quick else args.repeats
    rounds = min(args.rounds, 2) if args.quick else args.rounds
    backward_sizes = [9] if args.quick else sorted(args.backward_sizes)
    if args.backward:
        lines = _backward_section(backward_sizes, repeats, args.threads, rounds, not args.quick)
        return _write(["# xopipe backward pass", *lines], args.out)
    if args.training:
        lines = training.section(repeats, args.threads, rounds, not args.quick)
        return _write(["# xopipe training", *lines], args.out)
    cases = all_cases(sizes)
    names = [case.name for case in cases]
    times = time_in_rounds("cpu", IMPLEMENTATIONS, names, sizes, repeats, args.threads, rounds)
    bandwidth = system.memory_bandwidth()
    report = ["# xopipe benchmarks", ""]
    report += [f"- {key}: {value}" for key, value in system.machine().items()]
    report += [
        f"- threads per library: {args.threads}; each case the median of {repeats} repeats "
        f"in a fresh process, in {rounds} rounds (the implementations take turns); "
        f"loop backend up to {LOOP_MAX_SIZE}^2",
        f"- memory bandwidth (np.copyto, read + write): {bandwidth / 1e9:.1f} GB/s",
        "",
        "## Kernels, float32 unless noted",
        "",
        QUICK_NOTE
        if args.quick
        else "Each time is the median over the rounds; in brackets its ratio to "
        "torch.nn.functional (median of the rounds' ratios, lowest-highest). "
        f"A case whose ratio moved more than {STEADY:.0%} between rounds is not steady.",
        "",
        *kernel_table(cases, times, bandwidth, ratios=not args.quick),
    ]
    if args.kernels:
        return _write(report, args.out)
    report += _backward_section(backward_sizes, repeats, args.threads, rounds, not args.quick)
    report += training.section(repeats, args.threads, rounds, not args.quick)
    if args.device == "cuda":
        report += _gpu_section(sorted(args.gpu_sizes), repeats, rounds, args.gpu_bandwidth)
    conv_sizes = [s for s in sizes if s >= 256]
    if conv_sizes:
        report += ["", "## Memory of conv (NumPy backend, peak extra allocation / output size)", ""]
        for size in conv_sizes:
            extra = conv_extra_memory(Case("", "conv", size))
            report.append(f"- conv {size}^2 K3 k3 float32: {extra:.3f}x the output")
    if not args.quick:
        report += startup.section(repeats, rounds)
        report += ["", "## Sweep", ""]
        sweep = system.sweep(repeats)
        report += [f"- {name}: {format_seconds(seconds)}" for name, seconds in sweep.items()]
        for launcher in system.SWEEP_LAUNCHERS:
            ratio = sweep[f"30-job sweep, hydra/launcher={launcher}"] / sweep["one run"]
            report.append(f"- 30 jobs / one run, {launcher} launcher: {ratio:.2f} (goal <= 2.5)")
        default = sweep["30-job default sweep"] / sweep["one default run (figures on)"]
        report.append(
            f"- 30-job default sweep / one default run (figures on): {default:.2f} (goal <= 3)"
        )
        large = max(sizes)
        report += ["", f"## A {large}x{large} input through the seed pipeline, tables on", ""]
        for figures in (False, True):
            run = system.large_run(large, figures)
            label = "figures on" if figures else "figures=none"
            kept, peak = run["arrays kept (bytes)"], run["peak RSS (bytes)"]
            above = run["peak RSS above a 9x9 run (bytes)"]
            report.append(
                f"- {label}: {run['seconds']:.1f} s wall, stages {run['compute seconds']:.2f} s; "
                f"arrays kept {kept / 2**20:.0f} MiB; peak RSS {peak / 2**20:.0f} MiB, "
                f"{above / 2**20:.0f} MiB above a 9x9 run = {above / kept:.2f}x the arrays "
                "(goal <= 1.5)"
            )
        tables = system.table_throughput(large)
        parquet, csv = tables["parquet cells/s"] / 1e6, tables["csv cells/s"] / 1e6
        report.append(
            f"- writing {tables['cells'] / 1e6:.0f} M cells: Parquet {parquet:.1f} M cells/s, "
            f"CSV {csv:.1f} M cells/s"
        )
        report += dask_peer.section(args.dask_16384, rounds)
    return _write(report, args.out)


def _write(report: list[str], out: Path | None) -> int:
    text = "\n".join(report) + "\n"
    print(text)
    if out:
        out.write_text(text)
    return 0


def _backward_section(
    sizes: list[int], repeats: int, threads: int, rounds: int, ratios: bool
) -> list[str]:
    cases = backward_cases(sizes)
    implementations = (backward.REFERENCE, *IN_MEMORY)
    names = [case.name for case in cases]
    times = time_in_rounds("backward", implementations, names, sizes, repeats, threads, rounds)
    return [
        "",
        "## Backward pass, against torch's CPU autograd",
        "",
        "The backward pass alone on both sides, from a forward pass made before the clock "
        "starts: torch.autograd.grad(..., retain_graph=True) on the graph of the same "
        "torch.nn.functional calls (dL/d the input, weights and bias), against each "
        "backend's backward: the seed pipeline as a run makes it (xopipe.backward, "
        "L = the sum of pool and activation, every gradient on the host), conv alone and "
        "max pool alone from a random dL/dy. In brackets: the ratio to torch autograd "
        f"(median of the rounds' ratios, lowest-highest); loop backend up to {LOOP_MAX_SIZE}^2.",
        "",
        *backward.backward_table(cases, times, IN_MEMORY, ratios),
        *([""] + backward.goal_lines(cases, times) if ratios else []),
    ]


def _gpu_section(sizes: list[int], repeats: int, rounds: int, bandwidth: float) -> list[str]:
    import torch

    cases = gpu_cases(sizes)
    names = [case.name for case in cases]
    times = time_in_rounds("cuda", GPU_IMPLEMENTATIONS, names, sizes, repeats, 1, rounds)
    return [
        "",
        f"## GPU: {torch.cuda.get_device_name(0)}, float32 (ratio: time / torch resident)",
        "",
        f"- torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN "
        f"{torch.backends.cudnn.version()}; every case with TF32 off and deterministic "
        "algorithms (the backend's settings), timed until the device is done",
        "- torch, resident: torch.nn.functional on tensors already on the device; "
        "torch backend, resident: xopipe's backend as a run's stages use it (input on "
        "the device, results left there); NumPy in and out: the input copied in and "
        "every result copied back to NumPy",
        f"- memory-traffic floor: the bytes a case must read and write once, at "
        f"{bandwidth / 1e12:.1f} TB/s",
        "",
        *gpu_table(cases, times, bandwidth),
        "",
        "Peak GPU memory of the seed pipeline through the torch backend, over the arrays "
        "a run keeps on the device (the input and each stage's output):",
        "",
        *[_peak_line(size) for size in sizes],
    ]


def _peak_line(size: int) -> str:
    peak, kept = gpu_peak_memory(size)
    return (
        f"- {size}^2: {peak / 2**20:.0f} MiB, {peak / kept:.2f}x the {kept / 2**20:.0f} MiB "
        "kept (goal <= 1.5)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
