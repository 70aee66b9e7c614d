"""The house: every import goes down a floor or stays on its own, and no two packages import
each other; the launcher plugin uses only xopipe's private_api fence (README "Architecture")."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

ROOT = Path(__file__).parent.parent

# Each room of xopipe (a top-level module or package) on its floor, the lowest first.
FLOORS = [
    ["errors", "geometry", "values", "interrupt", "chunked", "readers", "images", "raw_tiff"]
    + ["run_folder", "cores"]
    + ["private_api", "override_hints", "help_text"],
    ["config", "inputs", "kernels"],
    [
        "backends",
        "ops",
        "pipeline",
        "stage_node",
        "experiment",
        "explain",
        "loss",
        "gradients",
        "backward",
    ],
    ["sinks", "html", "figures", "diff", "previous"],
    ["runner", "outputs", "multirun", "sweep_end", "training"],
    [
        "app",
        "api",
        "callbacks",
        "cli",
        "__main__",
        "bench",
        "__init__",
        "train",
        "api_training",
        "api_folders",
    ],
]
FLOOR = {room: level for level, rooms in enumerate(FLOORS) for room in rooms}


def _room(path: Path) -> str:
    return path.relative_to(ROOT / "xopipe").with_suffix("").parts[0]


def _imported(path: Path) -> set[str]:
    """Top-level modules of xopipe that `path` imports, wherever the import stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "xopipe" and len(parts) > 1:
                found.add(parts[1])
    return found


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in (ROOT / "xopipe").rglob("*.py"):
        room = _room(path)
        if room == "conf":
            continue
        edges.setdefault(room, set()).update(_imported(path) - {room} - {"conf"})
    return edges


def test_every_room_has_a_floor():
    assert set(_edges()) <= set(FLOOR), set(_edges()) - set(FLOOR)


def test_no_import_goes_up_a_floor():
    upward = [
        (room, other)
        for room, others in _edges().items()
        for other in others
        if FLOOR[other] > FLOOR[room]
    ]
    assert upward == []


def test_no_two_rooms_import_each_other():
    graphlib.TopologicalSorter(_edges()).prepare()  # raises CycleError on a circle


def _module(path: Path) -> str:
    """xopipe.ops.conv for xopipe/ops/conv.py; xopipe.ops for xopipe/ops/__init__.py."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_edges() -> dict[str, set[str]]:
    """Each module of xopipe and the modules of xopipe it imports, packages' own included.

    `from xopipe.ops import OPS` reads the package (its __init__); `from xopipe.ops.op
    import Op` reads only that module, though Python runs the package's __init__ first."""
    modules = {_module(p): p for p in (ROOT / "xopipe").rglob("*.py") if "conf" not in p.parts}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [f"{node.module}.{alias.name}" for alias in node.names]
                found |= {n for n in names if n in modules} or {node.module}
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
        edges[name] = {n for n in found if n in modules and n != name}
    return edges


def test_no_two_modules_import_each_other_inside_a_package():
    """A circle inside a package (ops/* importing ops/__init__, which imports them) is one."""
    graphlib.TopologicalSorter(_module_edges()).prepare()


def test_the_launchers_use_nothing_of_the_app():
    """xopipe's launcher reaches xopipe through the private_api fence only; the SLURM one
    through previous only (the resume rule, and the failed manifest of a job that died)."""
    allowed = {"xopipe_launcher": {"private_api"}, "xopipe_submitit": {"previous"}}
    plugins = {p.name for p in (ROOT / "hydra_plugins").iterdir() if p.is_dir()}
    assert plugins - {"__pycache__"} == set(allowed)
    for plugin, rooms in allowed.items():
        used = set()
        for path in (ROOT / "hydra_plugins" / plugin).rglob("*.py"):
            used |= _imported(path)
        assert used == rooms, plugin


def test_the_fence_uses_nothing_else_of_xopipe():
    for path in (ROOT / "xopipe" / "private_api").rglob("*.py"):
        assert _imported(path) <= {"private_api"}, path
