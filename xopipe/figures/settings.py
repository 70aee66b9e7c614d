"""The `figures` config node, checked: what to draw, in which format and language.

Nothing here imports matplotlib: `figures=none` runs never pay for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from xopipe.errors import invalid

if TYPE_CHECKING:
    from xopipe.config.schema import FiguresConfig

FORMATS = ("png", "svg", "pdf", "none")
LANGS = ("en", "zh")

# matplotlib's diverging colormaps (its "Colormap reference"): with these the
# colour scale is symmetric around 0, so white (or the middle colour) means 0.
DIVERGING = frozenset(
    name + suffix
    for name in (
        "PiYG",
        "PRGn",
        "BrBG",
        "PuOr",
        "RdGy",
        "RdBu",
        "RdYlBu",
        "RdYlGn",
        "Spectral",
        "coolwarm",
        "bwr",
        "seismic",
        "berlin",
        "managua",
        "vanimo",
    )
    for suffix in ("", "_r")
)


@dataclass(frozen=True)
class FigureSettings:
    format: str  # png | svg | pdf | none
    lang: str  # en | zh, as asked for; fonts.py may fall back to en
    cmap: str
    animate: bool
    font: str | None  # a font file for zh titles; None: search the system

    @property
    def enabled(self) -> bool:
        return self.format != "none"

    @property
    def centred(self) -> bool:
        """Whether the colour scale is symmetric around 0 (a diverging colormap)."""
        return self.cmap in DIVERGING


def without_figures(settings: FigureSettings) -> FigureSettings:
    return replace(settings, format="none")


def read_settings(node: FiguresConfig) -> FigureSettings:
    """The figures node as settings; a wrong value stops the run with one line."""
    fmt = str(node.format).lower()
    if fmt not in FORMATS:
        raise invalid("figures.format", node.format, "one of " + ", ".join(FORMATS))
    lang = str(node.lang).lower()
    if lang not in LANGS:
        raise invalid("figures.lang", node.lang, "one of " + ", ".join(LANGS))
    return FigureSettings(
        format=fmt,
        lang=lang,
        cmap=str(node.cmap),
        animate=bool(node.animate),
        font=None if node.font in (None, "") else str(node.font),
    )


# Sweeps draw no figures unless asked: thirty jobs' six figures each cost many
# times the sweep's own work, and the sweep's diff report draws its own heatmaps.
SWEEP_NOTE = (
    "figures are off in sweep jobs unless the command line sets them "
    "(e.g. figures=png); the sweep's diff report keeps its heatmaps"
)


def figures_on_command_line(overrides: Iterable[str]) -> bool:
    """Whether any override (figures=svg, figures.cmap=gray, ...) asks for figures."""
    keys = (text.partition("=")[0].lstrip("+~") for text in overrides)
    return any(key == "figures" or key.startswith("figures.") for key in keys)


def check_cmap(name: str) -> None:
    """Refuse an unknown colormap before any work (imports matplotlib: figures are on)."""
    from matplotlib import colormaps

    if name not in colormaps:
        raise invalid(
            "figures.cmap", name, "a matplotlib colormap name such as RdBu_r, coolwarm or gray"
        )


@dataclass(frozen=True)
class JobFigures:
    """How one job (a run, a training) draws: its settings, the note its page shows
    instead when a sweep job draws none, the language its titles really use (zh falls
    back without a font) and matplotlib's settings for that font."""

    settings: FigureSettings
    off_note: str | None
    lang: str = "en"
    rc: dict[str, object] = field(default_factory=dict)


def job_figures(settings: FigureSettings, draw: bool) -> JobFigures:
    """figures.* settled before any work: `draw=False` (a sweep job whose command line
    did not ask for figures) draws none; figures that are on get their colormap checked
    and their font found."""
    if not draw and settings.enabled:
        return JobFigures(without_figures(settings), SWEEP_NOTE[0].upper() + SWEEP_NOTE[1:] + ".")
    if not settings.enabled:
        return JobFigures(settings, None)
    from xopipe.figures.fonts import font_rc

    check_cmap(settings.cmap)
    lang, rc = font_rc(settings.lang, settings.font)
    return JobFigures(settings, None, lang, rc)
