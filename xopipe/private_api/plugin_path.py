"""Let Hydra's plugin scan find hydra_plugins/xopipe_launcher in an editable install.

Hydra finds launcher plugins by listing the hydra_plugins namespace package
with pkgutil, and instantiates only the classes it found there. setuptools
serves an editable package through an import hook that pkgutil cannot list,
so the source folder is added to the namespace package's __path__ (which
Python's import system owns, not Hydra). A regular install puts the plugin
in site-packages, where it is found anyway; this is needed on every Hydra
release, so it is not behind the version guard.
"""

from __future__ import annotations

from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent.parent / "hydra_plugins"


def expose_launcher_plugin() -> None:
    try:
        import hydra_plugins
    except ImportError:
        return
    if (SOURCE / "xopipe_launcher").is_dir() and str(SOURCE) not in list(hydra_plugins.__path__):
        hydra_plugins.__path__.append(str(SOURCE))
