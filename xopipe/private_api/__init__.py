"""The one place xopipe uses private API (Hydra, OmegaConf, PyYAML, pyarrow), behind a guard.

Each module here is a faster way to a result Hydra's public path also gives,
and each has a public twin it falls back to:

- compose_once: a run's config is composed once, not twice (hydra#3440);
  public path: Hydra composes twice.
- sweep_loader: a sweep composes once per set of group choices; public
  path: the config loader's load_sweep_config for every job.
- job_runner: a sweep job's config copies made by pickling; public path:
  hydra.core.utils.run_job.
- yaml_text: OmegaConf.to_yaml's exact text, written mostly by libyaml;
  public path: OmegaConf.to_yaml.
- arrow_kernels: Arrow's compute functions by name from the compiled
  pyarrow._compute; public path: pyarrow.compute, whose import generates
  wrappers for every function.

They are used only with the hydra-core and omegaconf releases they were
written and tested against (TESTED; arrow_kernels checks pyarrow's release
instead); with any other release, or with XOPIPE_PUBLIC_API=1 in the environment (how
the tests check that both paths give the same files), xopipe takes the
public path. Nothing here imports the
rest of xopipe, so the launcher plugin can use it too.
"""

from __future__ import annotations

import os

# (hydra-core, omegaconf) release prefixes the private paths were tested against.
TESTED = ("1.3.", "2.3.")

FORCE_PUBLIC = "XOPIPE_PUBLIC_API"


def public_api_forced() -> bool:
    """XOPIPE_PUBLIC_API=1: every private path switched off (how the tests compare both)."""
    return os.environ.get(FORCE_PUBLIC, "") not in ("", "0")


def private_api_usable() -> bool:
    """Whether this process may take Hydra's and OmegaConf's private paths: tested releases."""
    if public_api_forced():
        return False
    import hydra
    import omegaconf

    hydra_prefix, omegaconf_prefix = TESTED
    return hydra.__version__.startswith(hydra_prefix) and omegaconf.__version__.startswith(
        omegaconf_prefix
    )
