"""`xopipe --help` without composing the config: the help text read from conf/config.yaml.

Hydra's --help composes the whole config and lists every config group of
every installed plugin (for its $APP_CONFIG_GROUPS and $HYDRA_CONFIG_GROUPS),
even when the template uses neither: about twice a run's time. xopipe's
template (hydra.help.template) uses no substitution, so the text is read
from the packaged YAML and printed as Hydra would print it. Anything that
could change the text (an override of hydra.help, another config) goes to
Hydra as before.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from importlib import resources

HELP_FLAGS = frozenset({"--help", "-h"})
# Flags and overrides that could make Hydra's help differ from the packaged template.
HYDRA_DECIDES = ("--config", "-c", "--info", "--hydra-help", "--cfg", "-i", "hydra.help", "+hydra")


def quick_help(argv: Sequence[str]) -> str | None:
    """The help text when `argv` asks for plain --help, else None (let Hydra answer)."""
    if not HELP_FLAGS & set(argv):
        return None
    if any(arg.lstrip("+~").startswith(HYDRA_DECIDES) for arg in argv if arg not in HELP_FLAGS):
        return None
    import yaml

    text = (resources.files("xopipe.conf") / "config.yaml").read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    template = yaml.load(text, Loader=loader)["hydra"]["help"]["template"]
    if "$" in template.replace("$$", ""):
        return None  # a substitution only Hydra can make
    return string.Template(template).substitute() + "\n"
