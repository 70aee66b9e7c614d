"""One training run, start to finish: check, train epoch by epoch, write, manifest last.

Everything a config can get wrong is refused before the first step. After
every epoch the history, the weights by epoch and a checkpoint are on disk,
so a run stopped by Ctrl-C, a signal or a diverging loss leaves a failed
manifest that lists them, and `resume=true` in the same folder continues
from the last finished epoch to the weights an uninterrupted run ends with.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

from xopipe.backends import FORWARD_ONLY, get_backend
from xopipe.config import read_config
from xopipe.config.loss_schema import LossConfig
from xopipe.config.schema import ValuesInputConfig
from xopipe.config.train_schema import TrainConfig
from xopipe.errors import UserError, invalid
from xopipe.experiment import build_experiment
from xopipe.interrupt import describe, shielded, signals_as_exceptions
from xopipe.previous import clear_previous_outputs, config_fingerprint
from xopipe.readers import Limits
from xopipe.run_folder import manifest_or_none
from xopipe.sinks.manifest import Manifest
from xopipe.training import files
from xopipe.training.data import Dataset, load_data
from xopipe.training.model import Model
from xopipe.training.optim import SGD, check_optim
from xopipe.training.outputs import plan_training_outputs
from xopipe.training.trainer import Epoch, Trained, check_loop, first_epoch, train

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Training:
    """What a finished training run hands back (xopipe.train)."""

    trained: Trained
    data: Dataset
    model: Model
    manifest: Manifest


def run_training(
    cfg: DictConfig,
    out_dir: Path,
    overrides: Sequence[str] = (),
    draw_figures: bool = True,
    job: int | None = None,
) -> Training:
    """Train as `cfg` says into `out_dir`. `draw_figures=False` draws none whatever figures
    says (sweep jobs by default); `job` is the job's number in a sweep, for the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = config_fingerprint(cfg)
    resuming = _resumable(out_dir, fingerprint) if cfg.get("resume") else None
    if resuming is None:
        clear_previous_outputs(out_dir)
    facts = {"kind": "training", "overrides": list(overrides), "config_sha256": fingerprint}
    manifest = Manifest(out_dir, facts | ({} if job is None else {"job": job}))
    written: set[Path] = set()
    try:
        with signals_as_exceptions():
            config = read_config(cfg)
            assert isinstance(config, TrainConfig), type(config)
            if config.loss.kind != "cross_entropy":
                raise invalid("loss", config.loss.kind, "cross_entropy for xopipe-train")
            check_optim(config.optim)
            if config.backend.name in FORWARD_ONLY:  # training needs gradients
                raise invalid("backend", config.backend.name, "loop, numpy or torch for training")
            # figures.*, before any work
            outputs = plan_training_outputs(cfg, config, overrides, draw_figures)
            data, model = prepare(config)
            experiment = model.experiment
            check_loop(config.train, model.weighted)
            frozen = [f"{s}.{p}" for s in config.train.freeze for p in ("weight", "bias")]
            optimizer = SGD(config.optim, frozen)
            backend_options = dataclasses.asdict(config.backend)
            backend_name = backend_options.pop("name")
            backend = get_backend(backend_name, **backend_options)
            manifest.update(
                backend=backend_name,
                dtype=config.dtype.value,
                pipeline=config.pipeline.name,
                classes=list(data.classes),
                images={split: int((data.splits == split).sum()) for split in ("train", "test")},
            )
            written.add(files.write_data(out_dir, data))
            if resuming is not None:
                epochs = files.read_epochs(out_dir, experiment.dtype)
                number, params, buffers = resuming
                start = Epoch(number, params, buffers, epochs[-1].scores)
                epochs[-1] = start
                log.info("resume=true: continuing after epoch %d", number)
            else:
                start = first_epoch(model, backend, model.initial(config.head.seed), data)
                epochs = [start]
                written |= _save_epochs(out_dir, epochs)

            def on_epoch(epoch: Epoch) -> None:
                epochs.append(epoch)
                written.update(_save_epochs(out_dir, epochs))
                train_loss, train_accuracy = epoch.scores["train"]
                test_loss, test_accuracy = epoch.scores["test"]
                log.info(
                    "epoch %d: train loss %.4f accuracy %.3f, test loss %.4f accuracy %.3f",
                    epoch.number,
                    train_loss,
                    train_accuracy,
                    test_loss,
                    test_accuracy,
                )

            trained = train(model, backend, data, config.train, optimizer, start, on_epoch)
            trained.epochs = epochs
            final = epochs[-1]
            written.add(files.write_final_weights(out_dir, final.params))
            assert trained.probabilities is not None
            written.add(files.write_predictions(out_dir, data, trained.probabilities))
            manifest.update(
                epochs=final.number,
                final={
                    split: {"loss": loss, "accuracy": accuracy}
                    for split, (loss, accuracy) in final.scores.items()
                },
            )
            written |= outputs.write(
                out_dir, model, data, epochs, trained.probabilities, written, manifest.facts
            )
            with shielded():
                manifest.write("complete", sorted(written))
    except BaseException as error:
        with shielded():
            done = [path for path in written if path.exists()]
            manifest.write("failed", sorted(done), error=describe(error))
        raise
    return Training(trained, data, model, manifest)


def prepare(config: TrainConfig) -> tuple[Dataset, Model]:
    """The data a config trains on and the model it trains (the benchmark's too)."""
    limits = Limits(config.limits.max_file_bytes, config.limits.max_input_cells)
    data = load_data(config.data, limits)
    return data, Model(build_experiment(_forward_config(config, data)), data.classes)


def _forward_config(config: TrainConfig, data: Dataset) -> TrainConfig:
    """The run config of one image: the pipeline checked and prepared for the data's size."""
    first = data.images[0, 0]
    image = ValuesInputConfig(kind="values", name="data", values=first.tolist())
    return dataclasses.replace(config, input=image, loss=LossConfig())


def _save_epochs(folder: Path, epochs: list[Epoch]) -> set[Path]:
    return {
        files.write_history(folder, epochs),
        files.write_weights_history(folder, epochs),
        files.write_checkpoint(folder, epochs[-1]),
    }


def _resumable(folder: Path, fingerprint: str) -> tuple[int, dict, dict] | None:
    """The checkpoint of an unfinished run of this very config in `folder`, if there is one."""
    manifest = manifest_or_none(folder)
    if manifest is None or manifest.get("config_sha256") != fingerprint:
        return None
    if manifest.get("status") == "complete":
        raise UserError(f"{folder} already holds a complete training run of this config")
    return files.read_checkpoint(folder)
