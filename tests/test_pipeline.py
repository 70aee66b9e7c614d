"""The stage registry and the pipeline DAG: order, the stock pipelines, validation."""

from __future__ import annotations

import numpy as np
import pytest

from xopipe.backends import get_backend
from xopipe.errors import UserError
from xopipe.experiment import build_experiment, execute
from xopipe.ops import OPS
from xopipe.pipeline import Pipeline, StageSpec


def specs(*triples: tuple[str, str, str]) -> list[StageSpec]:
    return [StageSpec(*t) for t in triples]


def test_dependency_order_ignores_declaration_order():
    pipeline = Pipeline(
        specs(("act", "activation", "pool"), ("pool", "pool", "conv"), ("conv", "conv", "input")),
        OPS,
    )
    assert pipeline.order == ["conv", "pool", "act"]


def test_independent_stages_keep_declaration_order():
    pipeline = Pipeline(
        specs(("conv", "conv", "input"), ("b", "activation", "conv"), ("a", "pool", "conv")), OPS
    )
    assert pipeline.order == ["conv", "b", "a"]


def test_seed_pipeline_is_a_dag_with_two_readers_of_conv(make_config):
    experiment = build_experiment(make_config())
    assert experiment.pipeline.order == ["conv", "pool", "activation"]
    assert experiment.stages["pool"].spec.input == "conv"
    assert experiment.stages["activation"].spec.input == "conv"


def test_classic_pipeline_is_a_chain(make_config):
    experiment = build_experiment(make_config("pipeline=classic"))
    assert experiment.pipeline.order == ["conv", "activation", "pool"]
    assert experiment.stages["pool"].spec.input == "activation"
    results = execute(experiment, get_backend("numpy"))
    # pooling relu(conv) == relu(pooling conv) for max pooling with a zero fill.
    seed = execute(build_experiment(make_config()), get_backend("numpy"))
    np.testing.assert_array_equal(results.arrays["pool"], np.maximum(seed.arrays["pool"], 0))
    assert results.arrays["pool"].shape == (3, 4, 4)


def test_run_feeds_each_stage_its_input():
    pipeline = Pipeline(specs(("a", "pool", "input"), ("b", "pool", "a")), OPS)
    seen = []

    def compute(spec, x):
        seen.append((spec.name, float(x.sum())))
        return x + 1

    arrays = pipeline.run(np.zeros((1, 2, 2)), compute)
    assert seen == [("a", 0.0), ("b", 4.0)]
    assert arrays["b"].sum() == 8.0 and list(arrays) == ["input", "a", "b"]


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        (
            [("a", "conv", "nothing")],
            "pipeline.stages.a.input must be one of input, a, got 'nothing'",
        ),
        ([("a", "pool", "b"), ("b", "pool", "a")], "pipeline.stages has a cycle"),
        ([("a", "pool", "a")], "pipeline.stages has a cycle: a -> a"),
        ([("a", "conv", "input"), ("a", "pool", "a")], "the name 'a' is used twice"),
        (
            [("a", "blur", "input")],
            "pipeline.stages.a.op must be one of activation, conv, pad, pool, got 'blur'",
        ),
        ([("input", "conv", "input")], "'input' is the source image"),
        ([], "pipeline.stages must name at least one stage"),
    ],
)
def test_invalid_pipelines_fail_when_built(stages, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Pipeline(specs(*stages), OPS)


def test_pipeline_errors_reach_the_user_from_config(make_config):
    cfg = make_config(
        "pipeline.stages.activation.input=pool", "pipeline.stages.pool.input=activation"
    )
    with pytest.raises(UserError, match="cycle"):
        build_experiment(cfg)


def test_stage_params_override_the_op_node(make_config):
    cfg = make_config("pipeline=classic", "+pipeline.stages.pool.params={size: 3}")
    experiment = build_experiment(cfg)
    assert experiment.stages["pool"].params.size == (3, 3)
    assert experiment.stages["pool"].shape == (3, 3, 3)


def test_pad_stage(make_config):
    cfg = make_config(
        "+pipeline.stages.padded={op: pad, input: input}", "pad.pads=[1,0,2,0]", "pad.value=5"
    )
    results = execute(build_experiment(cfg), get_backend("numpy"))
    padded = results.arrays["padded"]
    assert padded.shape == (1, 11, 10)
    assert (padded[0, :2] == 5).all() and (padded[0, :, 0] == 5).all()
    np.testing.assert_array_equal(padded[0, 2:, 1:], results.arrays["input"][0])
