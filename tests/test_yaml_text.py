"""xopipe.private_api.yaml_text: OmegaConf.to_yaml's exact text, real configs, random trees."""

from __future__ import annotations

from hydra import compose, initialize_config_module
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf
from omegaconf.errors import GrammarParseError

from tests.conftest import compose_config
from xopipe.config import register_configs
from xopipe.private_api.yaml_text import container_to_yaml, to_yaml

# Text YAML treats specially: indicators, quotes, look-alikes of other types, line
# breaks of every kind, long lines that wrap, non-ASCII.
_EDGES = [
    *["- x", "? x", ": x", "*x", "&x", "!x", "%x", "@x", "`x", "'", '"', "#", "[", "]", "{", "}"],
    *[" a", "a ", "a: b", "a #b", ",", "|", ">", "~", "null", "true", "off", "1", "1.5", "1e3"],
    *["0x1", "1_000", ".inf", "-", "---", "...", "a\nb", "a\n\nb\n", "\t", "\r", "\x85"],
    *["\u2028", "é", "日本", "a\\b", "\x00", "x" * 150, ("word " * 40).strip()],
]
_TEXT = st.one_of(
    st.text(max_size=120),  # any unicode
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=120),
    st.sampled_from(_EDGES),
)
_SCALAR = st.one_of(
    _TEXT,
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
)
_KEY = st.one_of(_TEXT.filter(bool), st.from_regex(r"[a-z_]{1,12}", fullmatch=True))
_DEPTH = st.deferred(lambda: st.dictionaries(_KEY, st.one_of(_TREE, _DEPTH), max_size=3))
_TREE = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEY, inner, max_size=4)),
    max_leaves=25,
)


def _config(data):
    """The tree as a config; text OmegaConf reads as a broken interpolation ("${x") is skipped."""
    try:
        return OmegaConf.create(data)
    except GrammarParseError:
        assume(False)


# No deadline: large random trees on a loaded machine, and the first example builds the dumpers.
@settings(deadline=None)
@given(st.dictionaries(_KEY, st.one_of(_TREE, _DEPTH), min_size=1, max_size=5))
def test_random_trees_read_the_same(tree):
    cfg = _config(tree)
    first = to_yaml(cfg)
    assert first == OmegaConf.to_yaml(cfg)
    assert to_yaml(cfg) == first  # and again, from the remembered analyses


@settings(deadline=None)
@given(st.lists(_TREE, max_size=5))
def test_random_lists_read_the_same(items):
    cfg = _config(items)
    assert to_yaml(cfg) == OmegaConf.to_yaml(cfg)


def test_real_configs_read_the_same():
    for overrides in ([], ["backend=torch", "kernels=sobel", "input=random"], ["figures=none"]):
        cfg = compose_config(overrides)
        assert to_yaml(cfg) == OmegaConf.to_yaml(cfg)


def test_hydras_own_node_reads_the_same():
    """hydra.yaml: help templates of many lines, logging configs, enums, interpolations."""
    register_configs()
    with initialize_config_module(config_module="xopipe.conf", version_base="1.3"):
        cfg = compose(config_name="config", overrides=["pool=avg"], return_hydra_config=True)
    hydra_only = OmegaConf.masked_copy(cfg, "hydra")
    assert "\n" in str(hydra_only.hydra.help.template)
    assert to_yaml(hydra_only) == OmegaConf.to_yaml(hydra_only)
    assert to_yaml(cfg) == OmegaConf.to_yaml(cfg)


def test_what_libyaml_may_write_is_checked_piece_by_piece():
    """Safe runs go to libyaml; a risky value nested deep is written by Python in place."""
    tree = {
        "a": {"b": 1, "c": {"d": "x" * 90, "e": "two\nlines " * 12, "f": [1, "é"]}, "g": "ok"},
        "h": [{"i": None}],
        "j": "tail",
    }
    assert container_to_yaml(tree) == OmegaConf.to_yaml(OmegaConf.create(tree))


def test_without_libyaml_the_python_emitter_writes_it_all(monkeypatch):
    from xopipe.private_api import yaml_text

    python, _ = yaml_text._dumpers()
    monkeypatch.setattr(yaml_text, "_dumpers", lambda: (python, None))
    cfg = compose_config(["kernels=sobel"])
    assert to_yaml(cfg) == OmegaConf.to_yaml(cfg)


def test_deep_nesting_still_reads_the_same():
    """38 levels: a narrowed width of 4 or less would be reset to 80 by the emitters."""
    tree: dict = {"leaf": "word " * 30}
    for level in range(40):
        tree = {"é": level, f"k{level}": tree}
    assert container_to_yaml(tree) == OmegaConf.to_yaml(OmegaConf.create(tree))
