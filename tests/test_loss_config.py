"""The `loss` group: defaults, targets, and every mistake as one line before any work."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import xopipe
from tests.test_op_registry import SCALE, SCALED
from xopipe.errors import UserError
from xopipe.experiment import build_experiment
from xopipe.ops import register, unregister
from xopipe.previous import config_fingerprint, recorded_config
from xopipe.private_api.yaml_text import to_yaml


def _refused(make_config, *overrides: str) -> str:
    with pytest.raises(UserError) as caught:
        build_experiment(make_config(*overrides))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_default_is_forward_only(make_config):
    assert build_experiment(make_config()).loss is None


def test_sum_reads_the_terminal_stages(make_config):
    assert build_experiment(make_config("loss=sum")).loss.stages == ("pool", "activation")
    two_layer = build_experiment(make_config("loss=sum", "pipeline=two_layer"))
    assert two_layer.loss.stages == ("pool2",)
    chosen = build_experiment(make_config("loss=mse", "loss.stages=[activation,conv]"))
    assert chosen.loss.stages == ("conv", "activation")  # run order


def test_mse_targets_default_to_zeros_and_read_files(make_config, tmp_path):
    target = np.arange(48, dtype=float).reshape(3, 4, 4) / 10
    np.save(tmp_path / "pool.npy", target)
    loss = build_experiment(
        make_config("loss=mse", f"+loss.targets.pool={tmp_path / 'pool.npy'}")
    ).loss
    np.testing.assert_array_equal(loss.targets["pool"], target)
    np.testing.assert_array_equal(loss.targets["activation"], np.zeros((3, 7, 7)))
    with xopipe.run("loss=mse", f"+loss.targets.pool={tmp_path / 'pool.npy'}") as run:
        pool, activation = run.arrays["pool"], run.arrays["activation"]
        expected = np.mean((pool - target) ** 2) + np.mean(activation**2)
        assert run.loss == pytest.approx(expected, rel=1e-15)
        np.testing.assert_allclose(run.grads["pool"], 2 * (pool - target) / 48, rtol=1e-15)
        assert run.manifest["loss"]["targets"] == {"pool": str(tmp_path / "pool.npy")}


def test_a_one_channel_target_may_be_a_2d_csv(make_config, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("\n".join(",".join(["0.5"] * 7) for _ in range(7)) + "\n")
    overrides = ["loss=mse", "kernels=identity", "loss.stages=[conv]"]
    loss = build_experiment(make_config(*overrides, f"+loss.targets.conv={path}")).loss
    assert loss.targets["conv"].shape == (1, 7, 7) and (loss.targets["conv"] == 0.5).all()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["loss.kind=l1"], "loss must be one of none, sum, mse, got 'l1'"),
        (
            ["loss=cross_entropy"],
            "loss must be one of none, sum, mse (cross_entropy is xopipe-train's loss), got "
            "'cross_entropy'",
        ),
        (["loss.stages=[conv]"], "loss.stages needs loss=sum or loss=mse (loss is none"),
        (["loss=sum", "loss.stages=[input]"], "'input' is the source image"),
        (["loss=sum", "loss.stages=[poool]"], "loss.stages must be null (the terminal stages)"),
        (["loss=sum", "loss.stages=[]"], "or a list of conv, pool, activation, got []"),
        (["loss=sum", "+loss.targets.pool=x.npy"], "loss.targets is for loss=mse"),
        (["+loss.targets.pool=x.npy"], "loss.targets needs loss=mse"),
        (["loss=mse", "loss.stages=[pool]", "+loss.targets.conv=x.npy"], "a loss stage: pool"),
        (["loss=mse", "+loss.targets.pool=/no/such.npy"], "loss.targets.pool must name a"),
    ],
)
def test_mistakes_are_one_line(make_config, overrides, expected):
    assert expected in _refused(make_config, *overrides)


def test_a_target_of_the_wrong_shape_is_refused(make_config, tmp_path):
    np.save(tmp_path / "t.npy", np.zeros((3, 5, 5)))
    message = _refused(make_config, "loss=mse", f"+loss.targets.pool={tmp_path / 't.npy'}")
    assert message == (
        f"loss.targets.pool: '{tmp_path / 't.npy'}' has shape [3, 5, 5], but the stage's "
        "output is [3, 4, 4] (channels, rows, cols; [rows, cols] for one channel)"
    )


def test_a_stage_without_a_backward_pass_is_refused(make_config):
    """An op registered without `backward` (the registry test's `scale`) runs forward, but a
    loss whose gradient would cross it is refused; one before it is not."""
    register(SCALE)
    try:
        message = _refused(make_config, SCALED, "loss=sum")
        assert message == (
            "loss.stages: the gradient of scaled crosses stage 'scaled' (op scale), which has "
            "no backward pass; choose loss.stages before it, or loss=none"
        )
        allowed = build_experiment(make_config(SCALED, "loss=sum", "loss.stages=[pool]"))
        assert allowed.loss.stages == ("pool",)
    finally:
        unregister(SCALE.name)


def test_the_command_line_says_it_in_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "xopipe", "loss=sum", "loss.stages=[nope]"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "loss.stages must be" in lines[0], done.stderr


def test_loss_none_is_recorded_as_a_run_before_losses_existed(make_config):
    """A forward-only run's fingerprint and config text leave `loss` out, so sweeps made
    before it existed still resume and compare; a loss is recorded in both."""
    cfg = make_config()
    without = recorded_config(cfg)
    assert "loss" in cfg and "loss" not in without
    assert "loss:" not in to_yaml(without)
    assert config_fingerprint(cfg) == config_fingerprint(without)
    with_loss = make_config("loss=sum")
    assert "loss" in recorded_config(with_loss)
    assert config_fingerprint(with_loss) != config_fingerprint(cfg)
