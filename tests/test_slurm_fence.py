"""The SLURM launcher's use of submitit internals is fenced by the releases it knows.

On a known pair it waits for every job (hydra_plugins/xopipe_submitit/_slurm_jobs.py);
on any other, or with XOPIPE_PUBLIC_API=1, it is Hydra's own SlurmLauncher, with one
warning line.
"""

from __future__ import annotations

import logging

import pytest
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import BaseSubmititLauncher

from hydra_plugins.xopipe_submitit import _slurm_jobs, _tested
from hydra_plugins.xopipe_submitit.slurm_launcher import XopipeSlurmLauncher


def test_the_installed_releases_are_the_ones_it_was_tested_with(monkeypatch):
    """constraints and extras install a known pair: CI runs the waiting launcher."""
    monkeypatch.delenv(_tested.FORCE_PUBLIC, raising=False)
    submitit_release, launcher_release = _tested.installed_releases()
    assert submitit_release.startswith("1.5.") and launcher_release.startswith("1.2.")
    assert _tested.internals_usable()


@pytest.mark.parametrize(
    ("releases", "usable"),
    [
        (("1.5.4", "1.2.0"), True),
        (("1.5.0", "1.2.9"), True),
        (("1.6.0", "1.2.0"), False),
        (("1.5.4", "1.3.0"), False),
        (("2.0.0", "unknown"), False),
    ],
)
def test_only_known_release_pairs_use_the_internals(monkeypatch, releases, usable):
    monkeypatch.delenv(_tested.FORCE_PUBLIC, raising=False)
    assert _tested.internals_usable(releases) is usable


def test_the_public_switch_turns_the_internals_off(monkeypatch):
    monkeypatch.setenv(_tested.FORCE_PUBLIC, "1")
    assert not _tested.internals_usable(("1.5.4", "1.2.0"))


def _launch(monkeypatch, releases):
    """Which launch ran for these releases: ("own", ...) or ("hydra's", ...)."""
    calls = []
    monkeypatch.setattr(_tested, "installed_releases", lambda: releases)
    monkeypatch.setattr(
        _slurm_jobs, "launch_and_wait", lambda launcher, o, i: calls.append(("own", o, i)) or []
    )
    monkeypatch.setattr(
        BaseSubmititLauncher, "launch", lambda self, o, i: calls.append(("hydra's", o, i)) or []
    )
    XopipeSlurmLauncher(submitit_folder="x", max_num_timeout=0).launch([["conv.stride=2"]], 3)
    return calls


def test_a_known_pair_waits_for_every_job(monkeypatch, caplog):
    monkeypatch.delenv(_tested.FORCE_PUBLIC, raising=False)
    with caplog.at_level(logging.WARNING):
        assert _launch(monkeypatch, ("1.5.4", "1.2.0")) == [("own", [["conv.stride=2"]], 3)]
    assert caplog.records == []


def test_an_unknown_pair_falls_back_to_hydras_launcher_with_one_line(monkeypatch, caplog):
    monkeypatch.delenv(_tested.FORCE_PUBLIC, raising=False)
    with caplog.at_level(logging.WARNING):
        assert _launch(monkeypatch, ("1.6.0", "1.2.0")) == [("hydra's", [["conv.stride=2"]], 3)]
    assert [r.getMessage() for r in caplog.records] == [
        "submitit 1.6.0 with hydra-submitit-launcher 1.2.0 is not a release pair xopipe's "
        "SLURM launcher was tested with (1.5.x, 1.2.x): using Hydra's own SlurmLauncher, which "
        "stops the sweep at the first job that dies without a result"
    ]
