"""One experiment, start to finish: check, compute, print, write, manifest last."""

from __future__ import annotations

import dataclasses
import io
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from omegaconf import DictConfig

from xopipe.backends import get_backend
from xopipe.backward import backpropagate
from xopipe.config import XopipeConfig, read_config
from xopipe.errors import UserError
from xopipe.experiment import Results, build_experiment, execute
from xopipe.interrupt import Interrupted, describe, shielded, signals_as_exceptions
from xopipe.outputs import plan_outputs
from xopipe.pipeline import SOURCE
from xopipe.previous import clear_previous_outputs, config_fingerprint, recorded_config
from xopipe.private_api.yaml_text import to_yaml
from xopipe.sinks.console import print_gradients, print_results
from xopipe.sinks.layout import saved_in
from xopipe.sinks.manifest import Manifest, file_hashes
from xopipe.sinks.progress import TerminalProgress
from xopipe.sinks.staging import Staging
from xopipe.sinks.table_files import (
    read_table_choice,
    write_gradient_tables,
    write_streamed_tables,
    write_tables,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


def run_experiment(
    cfg: DictConfig,
    out_dir: Path,
    overrides: Sequence[str] = (),
    job: int | None = None,
    show_matrices: bool = True,
    draw_figures: bool = True,
) -> Results:
    """Run the experiment `cfg` describes and write its files into `out_dir`.

    This is where the composed config is read: once into typed objects
    (everything below receives those), once as its fingerprint and YAML
    text for the manifest and the report.

    `job` is the job's number in a sweep (recorded in the manifest);
    `show_matrices=False` keeps the console quiet whatever print_matrices says;
    `draw_figures=False` draws none whatever figures says (sweep jobs by default).

    Raises UserError (before any work) for a mistake in the config or input;
    whatever happens, `out_dir/manifest.json` says complete or failed.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    clear_previous_outputs(out_dir)  # only reached with overwrite=true (or a failed run)
    job_fact = {} if job is None else {"job": job}
    try:
        config = read_config(cfg)
    except UserError as error:  # not even the backend is known: say what is
        Manifest(out_dir, {"overrides": list(overrides), **job_fact}).write(
            "failed", error=str(error)
        )
        raise
    backend_name, backend_options = _backend_choice(config)
    manifest = Manifest(
        out_dir,
        {
            "backend": backend_name,
            "backend_options": backend_options,
            "dtype": config.dtype.value,
            "pipeline": config.pipeline.name,
            "overrides": list(overrides),
            "config_sha256": config_fingerprint(cfg),
            **job_fact,
        },
    )
    staging = Staging(out_dir)  # nothing under a final name until the run is complete
    written: list[Path] = []
    try:
        with signals_as_exceptions():
            experiment = build_experiment(config)
            _warn(experiment.warnings, job)
            # figures.* and explain, checked up front
            outputs = plan_outputs(experiment, to_yaml(recorded_config(cfg)), draw=draw_figures)
            tables = read_table_choice(
                config.tables, [SOURCE, *experiment.pipeline.order], config.dtype.value
            )
            backend = get_backend(backend_name, **backend_options)
            # Per-stage meters for a single run only: a sweep's jobs share the terminal.
            meter = TerminalProgress(sys.stderr) if job is None and sys.stderr.isatty() else None
            manifest.update(
                **experiment.facts(), tables=tables.facts(), figures=outputs.settings.format
            )
            if experiment.warnings:
                manifest.update(warnings=list(experiment.warnings))
            results = execute(experiment, backend, progress=meter, keep=bool(experiment.loss))
            manifest.update(stages=experiment.stage_facts(results))
            if experiment.loss is not None:
                results.gradients = backpropagate(experiment, backend, results)
                results.kept.clear()  # the backend's copies, no longer needed
                manifest.update(loss=results.gradients.facts())
            if config.print_matrices and show_matrices:
                _show(results, tables.facts())
            try:
                root = staging.open()
                if results.compute is not None:  # lazy arrays: computed band by band
                    staged = write_streamed_tables(
                        tables, root, results.arrays, experiment.stages, results.compute
                    )
                else:
                    staged = write_tables(tables, root, results.arrays, experiment.stages)
                if results.gradients is not None:
                    staged += write_gradient_tables(tables, root, results.gradients)
                # Each file is hashed once, for the report and the manifest alike: a large
                # run's tables take seconds (still interruptible).
                known = file_hashes(root, staged)
                staged += outputs.write(
                    results, root, staged, manifest.facts, overrides, hashes=known
                )
                hashes = file_hashes(root, staged, known)
                # The commit, milliseconds: a signal now would leave files with no manifest.
                with shielded():
                    written = staging.publish(staged)
                    manifest.write("complete", hashes)
            except OSError as error:  # a full disk, a folder gone read-only
                where = error.filename or out_dir
                raise UserError(
                    f"could not write the results to {where}: {error.strerror or error}"
                ) from None
    except BaseException as error:
        with shielded():
            staging.discard()
            _write_failed(manifest, staging.published, error)
            if isinstance(error, (KeyboardInterrupt, Interrupted)):  # mistakes: app.py logs them
                line = f"error: {describe(error)}; the run folder is marked failed"
                log_to_file_only(log, logging.ERROR, line)
        raise
    wrote = f"wrote {len(written) + 1} files to {out_dir}"
    if job is None:
        log.info(wrote)
    else:  # a sweep's console shows progress lines, not one of these per job
        log_to_file_only(log, logging.INFO, wrote)
    return results


def _show(results: Results, tables: dict) -> None:
    """Print the matrices (and the loss and gradients), and keep the same lines in
    xopipe.log (a run stopped later has them)."""
    text = io.StringIO()
    print_results(
        results.arrays,
        results.seconds,
        text,
        saved=lambda stage: saved_in(tables, stage),
        compute=results.compute,
    )
    if results.gradients is not None:
        print_gradients(results.gradients, text, tables)
    sys.stdout.write(text.getvalue())
    sys.stdout.flush()
    log_to_file_only(log, logging.INFO, text.getvalue().rstrip("\n"))


def log_to_file_only(logger: logging.Logger, level: int, message: str) -> None:
    """Put a line in the run's xopipe.log without showing it on the console."""
    record = logger.makeRecord(logger.name, level, __file__, 0, message, (), None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def run_job(work: Callable[[], T], logger: logging.Logger, job: int | None) -> T | None:
    """What `work()` returns, or None where it failed in a sweep as job `job` (its manifest
    says failed; the other jobs go on). A single run (`job` None) stops at a user's mistake
    with one line on stderr and exit status 2, and lets any other error through."""
    try:
        return work()
    except UserError as error:
        log_to_file_only(logger, logging.ERROR, f"error: {error}")
        if job is not None:
            return None
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except Exception:
        if job is None:
            raise
        # Hydra's basic sweeper would re-raise this after the batch and never
        # call on_multirun_end: keep the sweep alive, the manifest says failed.
        logger.exception("job %s failed", job)
        return None


def _warn(lines: Sequence[str], job: int | None) -> None:
    """A surprising setting: one line on stderr and in xopipe.log (a sweep job: the log and
    its manifest only, as the sweep's console shows one line per job)."""
    for line in lines:
        log_to_file_only(log, logging.WARNING, f"warning: {line}")
        if job is None:
            print(f"warning: {line}", file=sys.stderr, flush=True)


def _backend_choice(config: XopipeConfig) -> tuple[str, dict]:
    """The backend's name and the options it was configured with."""
    options = dataclasses.asdict(config.backend)
    return options.pop("name"), options


def _write_failed(manifest: Manifest, written: list[Path], error: BaseException) -> None:
    """`written`: every file of the run still on disk (none, unless publishing it failed)."""
    try:
        manifest.write("failed", written, error=describe(error))
    except OSError as failure:  # no manifest at all still says "not complete"
        log.warning("could not write a failed manifest: %s", failure)
