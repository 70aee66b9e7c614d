"""Typed schemas for every config node: keys, types and default values.

The defaults live here and only here; a group option's YAML in conf/ sets
just what makes it that option (`figures=svg` sets `format: svg`) and names
its schema in its defaults list (`/schema/<group>/<name>@_here_`). A
misspelt key or a wrongly typed value fails when the config is composed,
before any work. Values that may be an int or a list (stride, padding, ...)
are typed Any and checked by the op that reads them, with a one-line error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from omegaconf import MISSING

from xopipe.config.loss_schema import LossConfig


class DType(Enum):
    float64 = "float64"
    float32 = "float32"


# --- backend -----------------------------------------------------------------


@dataclass
class BackendConfig:
    name: str = MISSING  # loop | numpy | torch | dask (config/dask_schema.py)


@dataclass
class LoopBackendConfig(BackendConfig):
    name: str = "loop"


@dataclass
class NumpyBackendConfig(BackendConfig):
    name: str = "numpy"


@dataclass
class TorchBackendConfig(BackendConfig):
    name: str = "torch"
    device: str = "cpu"  # cpu, cuda, cuda:1, ...
    num_threads: int | None = None  # torch.set_num_threads; null keeps torch's default
    # On a GPU, the share of its memory this process may allocate; null: all of
    # it, or in a sweep's worker (hydra/launcher=xopipe) an equal share of 0.9.
    memory_fraction: float | None = None


# --- input -------------------------------------------------------------------


@dataclass
class InputConfig:
    kind: str = MISSING  # values | random | file
    name: str = MISSING  # shown in titles and the manifest


@dataclass
class ValuesInputConfig(InputConfig):
    kind: str = "values"
    values: Any = MISSING  # [H][W] grey or [C][H][W] channels


@dataclass
class RandomInputConfig(InputConfig):
    kind: str = "random"
    name: str = "random"
    shape: list[int] = field(default_factory=lambda: [9, 9])  # [H, W] or [C, H, W]
    seed: int = 0  # numpy.random.default_rng(seed): same seed, same input
    low: float = -1.0  # uniform in [low, high)
    high: float = 1.0
    pixels: bool = False  # true: each cell is low or high (like the X), not uniform


@dataclass
class FileInputConfig(InputConfig):
    kind: str = "file"
    name: str = "file"
    path: str = ""  # required ("" = not set): .csv (a grid), .npy, .png, .jpg/.jpeg, .tif/.tiff
    color: str = "grey"  # images: grey (1 channel) | rgb (3 channels)
    resize: list[int] | None = None  # images: [H, W] to resize to, null keeps the size
    scale: str = "signed"  # images: signed maps 0..255 to -1..1, unit to 0..1


# --- kernels -----------------------------------------------------------------


@dataclass
class KernelsConfig:
    kind: str = MISSING  # values | random
    name: str = MISSING


@dataclass
class ValuesKernelsConfig(KernelsConfig):
    kind: str = "values"
    values: Any = MISSING  # [K][kh][kw] (2-D kernels) or [K][C][kh][kw]
    names: list[str] | None = None  # one label per kernel, for titles


@dataclass
class RandomKernelsConfig(KernelsConfig):
    kind: str = "random"
    name: str = "random"
    shape: list[int] = field(default_factory=lambda: [3, 3, 3])  # [K, kh, kw] or [K, C, kh, kw]
    seed: int = 0
    low: float = -1.0
    high: float = 1.0


@dataclass
class FileKernelsConfig(KernelsConfig):
    kind: str = "file"
    name: str = "file"
    # required ("" = not set): .csv (one 2-D kernel) or .npy ([kh, kw], [K, kh, kw]
    # or [K, C, kh, kw])
    path: str = ""


# --- stages ------------------------------------------------------------------


@dataclass
class ConvConfig:
    stride: Any = 1  # int or [h, w]
    padding: Any = 0  # int, [h, w], 'same' or 'valid'
    dilation: Any = 1  # int or [h, w]
    padding_mode: str = "zeros"  # zeros | reflect | replicate | circular
    groups: Any = 1  # a positive integer, or depthwise (= the input's channel count)
    bias: Any = 0.0  # one number, or a list with one number per kernel
    normalize: str = "mean"  # mean: sum / (kernel element count), as the seed; none: plain torch
    flip: bool = False  # true: flip kernels (true convolution); false: cross-correlation


@dataclass
class PadConfig:
    pads: Any = 1  # int or [left, right, top, bottom], as nn.ZeroPad2d
    value: float = 0.0  # fill for mode=constant
    mode: str = "constant"  # constant | reflect | replicate | circular


@dataclass
class PoolConfig:
    name: str = MISSING  # max | avg
    size: Any = 2  # int or [h, w]
    stride: Any = None  # int or [h, w]; null = size
    # Zero fill before pooling, [left, right, top, bottom] or an int; auto is
    # the seed's rule (fill right and bottom until the windows tile the map).
    pad: Any = "auto"
    padding: Any = 0  # torch-style implicit padding on every side (-inf for max)
    ceil_mode: bool = False


@dataclass
class MaxPoolConfig(PoolConfig):
    name: str = "max"
    dilation: Any = 1


@dataclass
class AvgPoolConfig(PoolConfig):
    name: str = "avg"
    count_include_pad: bool = True


@dataclass
class ActivationConfig:
    name: str = MISSING  # relu | leaky_relu | elu | gelu | sigmoid | tanh | softplus | identity


@dataclass
class LeakyReluConfig(ActivationConfig):
    name: str = "leaky_relu"
    negative_slope: float = 0.01


@dataclass
class EluConfig(ActivationConfig):
    name: str = "elu"
    alpha: float = 1.0


@dataclass
class GeluConfig(ActivationConfig):
    name: str = "gelu"
    approximate: str = "none"  # none | tanh


@dataclass
class SoftplusConfig(ActivationConfig):
    name: str = "softplus"
    beta: float = 1.0
    threshold: float = 20.0


# --- pipeline ----------------------------------------------------------------


@dataclass
class PipelineConfig:
    name: str = MISSING
    # stage name -> {op, input, params}:
    #   op: a registered op (conv | pad | pool | activation)
    #   input: 'input' or another stage's name
    #   params (optional): values that differ from the op's own node for this
    #     stage only, e.g. {stride: 2}; conv stages may also set `kernels`.
    # Untyped here so that `+pipeline.stages.NAME={op: ..., input: ...}` works
    # on the command line; xopipe.experiment checks each entry.
    stages: dict[str, Any] = field(default_factory=dict)


# --- outputs ------------------------------------------------------------------


@dataclass
class FiguresConfig:
    format: str = "png"  # png | svg | pdf | none (no figures, no matplotlib import)
    lang: str = "en"  # en | zh (the seed's Chinese titles, with a CJK font)
    cmap: str = "RdBu_r"  # diverging and centred on 0; gray matches the seed
    animate: bool = False  # sliding-window GIFs for conv and pool
    font: str | None = None  # a .ttf/.ttc/.otf with Chinese glyphs for lang=zh; null: search


@dataclass
class TablesConfig:
    # Which table files a run writes, and for which stages (big runs: parquet only).
    formats: list[str] = field(default_factory=lambda: ["parquet", "csv"])  # parquet|csv|npy
    stages: list[str] | None = None  # null: input and every stage; else their names
    npy_dtype: str = "float64"  # .npy grids: float64, or float32 in a dtype=float32 run


@dataclass
class LimitsConfig:
    # Refuse work that would exhaust memory, with a clear error instead.
    max_file_bytes: int = 1 << 30  # input and kernel files
    max_input_cells: int = 1 << 26  # channels x rows x cols of the input (64 Mi)
    max_output_cells: int = 1 << 28  # all stages' outputs together (256 Mi, 2 GiB in float64)


@dataclass
class DiffConfig:
    atol: float | None = None  # null: 1e-9 for float64, 1e-5 for float32
    rtol: float | None = None  # null: same defaults as atol


# --- the whole experiment ----------------------------------------------------


@dataclass
class XopipeConfig:
    backend: BackendConfig = MISSING
    dtype: DType = DType.float64
    input: InputConfig = MISSING
    kernels: KernelsConfig = MISSING
    pipeline: PipelineConfig = MISSING
    conv: ConvConfig = field(default_factory=ConvConfig)
    pad: PadConfig = field(default_factory=PadConfig)
    pool: PoolConfig = MISSING
    activation: ActivationConfig = MISSING
    figures: FiguresConfig = field(default_factory=FiguresConfig)
    tables: TablesConfig = field(default_factory=TablesConfig)
    explain: str | None = None  # stage:channel:row:col -> how that cell was computed
    diff: DiffConfig = field(default_factory=DiffConfig)
    loss: LossConfig = field(default_factory=LossConfig)  # none | sum | mse: conf/loss/
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    print_matrices: bool = True  # print every stage's matrices (rounded) to the console
    overwrite: bool = False  # replace a complete run (or sweep) already in the output folder
    resume: bool = False  # sweeps: run only the jobs without a complete run of the same config


SCHEMAS: dict[str, dict[str, type]] = {
    "backend": {
        "loop": LoopBackendConfig,
        "numpy": NumpyBackendConfig,
        "torch": TorchBackendConfig,
    },
    "input": {"values": ValuesInputConfig, "random": RandomInputConfig, "file": FileInputConfig},
    "kernels": {
        "values": ValuesKernelsConfig,
        "random": RandomKernelsConfig,
        "file": FileKernelsConfig,
    },
    "pool": {"max": MaxPoolConfig, "avg": AvgPoolConfig},
    "activation": {
        "plain": ActivationConfig,
        "leaky_relu": LeakyReluConfig,
        "elu": EluConfig,
        "gelu": GeluConfig,
        "softplus": SoftplusConfig,
    },
    "pipeline": {"pipeline": PipelineConfig},
    "figures": {"figures": FiguresConfig},
    "loss": {"loss": LossConfig},
}
