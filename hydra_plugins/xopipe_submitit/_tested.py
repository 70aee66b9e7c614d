"""The fence around what the SLURM launcher takes from submitit's and Hydra's internals.

`_slurm_jobs.launch_and_wait` re-implements hydra-submitit-launcher's
`BaseSubmititLauncher.launch`: it reads the launcher's `params`, calls the
launcher with the tuple its `__call__` takes, and looks for each job's
`paths.result_pickle`. None of that is public API, so it is used only with the
releases it was written and tested against. With any other release, or with
XOPIPE_PUBLIC_API=1, the launcher is Hydra's own SlurmLauncher: the sweep
works, but the first job that dies without a result ends it (Hydra's
behaviour), with one warning line saying why.
"""

from __future__ import annotations

import os

# (submitit, hydra-submitit-launcher) release prefixes _slurm_jobs was tested against.
TESTED = ("1.5.", "1.2.")
FORCE_PUBLIC = "XOPIPE_PUBLIC_API"  # the same switch as xopipe/private_api's


def installed_releases() -> tuple[str, str]:
    """The versions of submitit and hydra-submitit-launcher, as their modules say."""
    import submitit

    from hydra_plugins import hydra_submitit_launcher  # type: ignore[attr-defined]

    return (
        str(getattr(submitit, "__version__", "unknown")),
        str(getattr(hydra_submitit_launcher, "__version__", "unknown")),
    )


def internals_usable(releases: tuple[str, str] | None = None) -> bool:
    """True when launch_and_wait may be used on these releases (default: the installed)."""
    if os.environ.get(FORCE_PUBLIC, "") not in ("", "0"):
        return False
    submitit_release, launcher_release = releases or installed_releases()
    return submitit_release.startswith(TESTED[0]) and launcher_release.startswith(TESTED[1])


def untested_warning(releases: tuple[str, str] | None = None) -> str:
    submitit_release, launcher_release = releases or installed_releases()
    return (
        f"submitit {submitit_release} with hydra-submitit-launcher {launcher_release} is not "
        f"a release pair xopipe's SLURM launcher was tested with ({TESTED[0]}x, {TESTED[1]}x): "
        "using Hydra's own SlurmLauncher, which stops the sweep at the first job that dies "
        "without a result"
    )
