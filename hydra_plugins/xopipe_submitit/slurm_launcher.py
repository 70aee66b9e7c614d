"""The launcher class; its work is in _slurm_jobs (imported only when a sweep launches)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from hydra.core.utils import JobReturn

try:
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher
except ImportError:  # the submitit extra is not installed: nothing to define
    SlurmLauncher = None

if SlurmLauncher is not None:

    class XopipeSlurmLauncher(SlurmLauncher):
        """Hydra's SlurmLauncher, but a job that dies is a failed job, not the sweep's end."""

        def launch(
            self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
        ) -> Sequence[JobReturn]:
            from hydra_plugins.xopipe_submitit._tested import internals_usable, untested_warning

            if not internals_usable():
                logging.getLogger(__name__).warning(untested_warning())
                return super().launch(job_overrides, initial_job_idx)
            from hydra_plugins.xopipe_submitit._slurm_jobs import launch_and_wait

            return launch_and_wait(self, job_overrides, initial_job_idx)

        def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
            """Called in the job on SLURM's warning signal (timeout or preemption).

            A job that may not be requeued (max_num_timeout: 0, the default)
            fails with a line that says why, instead of submitit's "timed-out
            too many times"; the run writes its failed manifest on the way out.
            """
            from hydra_plugins.xopipe_submitit._slurm_jobs import TimeLimitReached

            if not self.params.get("max_num_timeout"):
                raise TimeLimitReached(
                    "SLURM's time limit is near (hydra.launcher.timeout_min="
                    f"{self.params.get('timeout_min')}, warned "
                    f"{self.params.get('signal_delay_s')} s before) or the job was preempted; "
                    "raise timeout_min and add resume=true to run it again"
                )
            return super().checkpoint(*args, **kwargs)
