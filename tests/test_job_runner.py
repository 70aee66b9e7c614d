"""xopipe.private_api.job_runner: the config copies a sweep job gets are run_job's own."""

from __future__ import annotations


def test_the_job_copies_are_what_run_job_deep_copies():
    """_task_copy and _hydra_copy give what Hydra's run_job gets by deepcopy, and touch nothing."""
    import copy

    from hydra import compose, initialize_config_module
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf, open_dict, read_write

    from xopipe.config import register_configs
    from xopipe.private_api.job_runner import _hydra_copy, _task_copy

    register_configs()
    with initialize_config_module(config_module="xopipe.conf", version_base="1.3"):
        config = compose("config", ["conv.stride=2", "pool=avg"], return_hydra_config=True)
    keys, hydra_node = list(config), config._get_node("hydra")
    before = OmegaConf.to_yaml(config)

    theirs = copy.deepcopy(config)
    with read_write(theirs), open_dict(theirs):
        del theirs["hydra"]
    mine = _task_copy(config)
    assert OmegaConf.to_yaml(mine) == OmegaConf.to_yaml(theirs)
    assert OmegaConf.is_struct(mine) and list(mine) == list(theirs)
    assert list(config) == keys and config._get_node("hydra") is hydra_node
    assert OmegaConf.to_yaml(config) == before

    saved = HydraConfig.instance().cfg
    try:
        HydraConfig.instance().set_config(config)
        masked = HydraConfig.instance().cfg
        theirs_hydra, mine_hydra = copy.deepcopy(masked), _hydra_copy(masked)
        assert OmegaConf.to_yaml(mine_hydra) == OmegaConf.to_yaml(theirs_hydra)
        assert mine_hydra.hydra._get_parent() is mine_hydra  # as deepcopy re-parents it
        assert masked.hydra._get_parent() is config  # the original is left as it was
        assert OmegaConf.is_readonly(mine_hydra.hydra) == OmegaConf.is_readonly(theirs_hydra.hydra)
    finally:
        HydraConfig.instance().cfg = saved
