"""Compose a run's config once instead of twice (a workaround for hydra#3440).

Hydra 1.3 composes every run's config two times: `Hydra.get_mode` composes
it in MULTIRUN mode without checking sweep overrides, only to read
`hydra.mode`, and `run` or `multirun` then composes it again. Upstream:
https://github.com/hydra-ecosystem/hydra/issues/3440 (the diagnosis and a
proposed fix: read hydra.mode from the overrides or the primary config
alone); once a Hydra release carries a fix, this module can go.

The two results are the same config whenever the second would succeed.
The calls differ in three ways, each handled here with Hydra's own code:
the second checks sweep overrides (checked here too, before reusing
anything); when the config does not set `hydra.mode`, Hydra adds a
`hydra.mode=RUN` (or MULTIRUN) override to the second call (applied here
to the kept config and recorded, as composition would); and in RUN mode a
group left as `???` is an error rather than skipped (such a config is never
reused: Hydra composes again and reports it). So the first composition is
kept, handed to the second call, and dropped. Active only inside
`composing_once()`, and only on the Hydra release whose ConfigLoaderImpl it
wraps (xopipe.private_api.private_api_usable); elsewhere Hydra composes twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from xopipe.private_api import private_api_usable

_KEPT = "_xopipe_kept_composition"


def _reusable(cfg: DictConfig, run_mode: RunMode) -> bool:
    if run_mode == RunMode.MULTIRUN:
        return True
    choices = cfg.hydra.runtime.choices
    return not any(OmegaConf.is_missing(choices, group) for group in choices)


def _reuse(
    kept: Any, config_name: str | None, overrides: list[str], run_mode: RunMode, from_shell: bool
) -> DictConfig | None:
    """The kept config, if this call asks for it again (plus at most a hydra.mode override)."""
    (kept_name, kept_overrides, kept_shell), cfg = kept
    same_call = (config_name, from_shell) == (kept_name, kept_shell)
    added = overrides[len(kept_overrides) :]
    if (
        same_call
        and overrides[: len(kept_overrides)] == kept_overrides
        and all(line.startswith("hydra.mode=") for line in added)
        and _reusable(cfg, run_mode)
    ):
        return cfg  # type: ignore[no-any-return]
    return None


def _with_mode_overrides(cfg: DictConfig, lines: list[str]) -> DictConfig:
    """Apply and record hydra.mode=..., as composing with it would."""
    parsed = OverridesParser.create().parse_overrides(overrides=lines)
    try:
        ConfigLoaderImpl._apply_overrides_to_config(parsed, cfg)
    except OmegaConfBaseException as error:  # as load_configuration reports it
        raise ConfigCompositionException().with_traceback(error.__traceback__) from error
    for override in parsed:
        cfg.hydra.overrides.hydra.append(override.input_line)
    return cfg


@dataclass
class Compositions:
    """How many full compositions Hydra made inside the block (None: not counted, public path)."""

    made: int | None = 0


@contextmanager
def composing_once() -> Iterator[Compositions]:
    """Within the block, Hydra's second composition of a run reuses its first."""
    if not private_api_usable():
        yield Compositions(made=None)
        return
    counted = Compositions()
    original = ConfigLoaderImpl.load_configuration

    def load_configuration(
        self: ConfigLoaderImpl,
        config_name: str | None,
        overrides: list[str],
        run_mode: RunMode,
        from_shell: bool = True,
        validate_sweep_overrides: bool = True,
    ) -> DictConfig:
        kept: Any = self.__dict__.pop(_KEPT, None)
        if kept is not None:
            reused = _reuse(kept, config_name, list(overrides), run_mode, from_shell)
            if reused is not None:
                if validate_sweep_overrides:
                    parsed = OverridesParser.create().parse_overrides(overrides=list(overrides))
                    ConfigLoaderImpl.validate_sweep_overrides_legal(parsed, run_mode, from_shell)
                return _with_mode_overrides(reused, list(overrides)[len(kept[0][1]) :])
        assert counted.made is not None
        counted.made += 1
        cfg = original(
            self,
            config_name=config_name,
            overrides=overrides,
            run_mode=run_mode,
            from_shell=from_shell,
            validate_sweep_overrides=validate_sweep_overrides,
        )
        if run_mode == RunMode.MULTIRUN and not validate_sweep_overrides:
            # Hydra.get_mode's call: it only reads cfg.hydra.mode, so the config is unused.
            self.__dict__[_KEPT] = ((config_name, list(overrides), from_shell), cfg)
        return cfg

    ConfigLoaderImpl.load_configuration = load_configuration  # type: ignore[method-assign]
    try:
        yield counted
    finally:
        ConfigLoaderImpl.load_configuration = original  # type: ignore[method-assign]
