"""hydra/launcher=submitit_slurm for xopipe: Hydra's submitit launcher, waiting for every job.

Hydra's own SlurmLauncher stops at the first job that ends without a result
(cancelled, out of time, node lost) and never writes the sweep's summary.
This one waits for all of them, within bounded polls, and records each job
that died as failed in its folder; with resume=true it submits only the jobs
without a complete run. conf/hydra/launcher/submitit_slurm.yaml selects it.
"""
