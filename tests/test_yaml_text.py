"""xopipe.yaml_text writes exactly OmegaConf.to_yaml's text: on real configs and random trees."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from omegaconf import OmegaConf

from tests.conftest import compose_config
from xopipe.yaml_text import to_yaml

_TEXT = st.text(max_size=120)  # any unicode: quoting, escapes, line breaks, long lines
_SCALAR = st.one_of(
    _TEXT,
    st.sampled_from(["true", "off", "1", "1.5", "1e3", "null", "~", "-", ": x", "a: b", "#c"]),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
)
_KEY = st.one_of(_TEXT.filter(bool), st.from_regex(r"[a-z_]{1,12}", fullmatch=True))
_TREE = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEY, inner, max_size=4)),
    max_leaves=25,
)


@given(st.dictionaries(_KEY, _TREE, min_size=1, max_size=5))
def test_random_trees_read_the_same(tree):
    cfg = OmegaConf.create(tree)
    first = to_yaml(cfg)
    assert first == OmegaConf.to_yaml(cfg)
    assert to_yaml(cfg) == first  # and again, from the remembered analyses


@given(st.lists(_TREE, max_size=5))
def test_random_lists_read_the_same(items):
    cfg = OmegaConf.create(items)
    assert to_yaml(cfg) == OmegaConf.to_yaml(cfg)


def test_real_configs_read_the_same():
    for overrides in ([], ["backend=torch", "kernels=sobel", "input=random"], ["figures=none"]):
        cfg = compose_config(overrides)
        assert to_yaml(cfg) == OmegaConf.to_yaml(cfg)
