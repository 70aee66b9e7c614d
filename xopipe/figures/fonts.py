"""A CJK font for `figures.lang=zh`, found on the system and loaded explicitly.

matplotlib builds its font list once and caches it, so a font installed
later (`apt-get install fonts-wqy-microhei`) is invisible to it by name. We
look for font files ourselves (fontconfig's `fc-list :lang=zh`, then the
usual font folders), keep the first one whose character map has every
character of the Chinese titles, and register that file with
`fontManager.addfont`. With none, the titles fall back to English with one
warning: never boxes in place of missing glyphs.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

from xopipe.errors import invalid
from xopipe.figures.labels import cjk_characters

log = logging.getLogger(__name__)

# Font files known to cover simplified Chinese, best first (Debian's
# fonts-wqy-microhei, fonts-noto-cjk, Adobe's Source Han, Windows, macOS).
KNOWN_FILES = (
    "wqy-microhei.ttc",
    "wqy-zenhei.ttc",
    "NotoSansCJK-Regular.ttc",
    "NotoSansCJKsc-Regular.otf",
    "NotoSansSC-Regular.otf",
    "NotoSansSC-Regular.ttf",
    "SourceHanSansSC-Regular.otf",
    "SourceHanSans-Regular.ttc",
    "NotoSerifCJK-Regular.ttc",
    "msyh.ttc",
    "simhei.ttf",
    "PingFang.ttc",
    "Hiragino Sans GB.ttc",
    "STHeiti Light.ttc",
    "DroidSansFallbackFull.ttf",
    "uming.ttc",
)
FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "/Library/Fonts",
    "~/Library/Fonts",
    "/System/Library/Fonts",
    "C:/Windows/Fonts",
)
FONT_SUFFIXES = (".ttf", ".ttc", ".otf", ".otc")
INSTALL_HINT = (
    "install one (Debian/Ubuntu: apt-get install fonts-wqy-microhei) "
    "or point figures.font at a .ttf/.ttc/.otf file that has Chinese glyphs"
)


def covers_titles(path: Path) -> bool:
    """Whether the font file (its first face) has a glyph for every Chinese title character."""
    from matplotlib.ft2font import FT2Font

    try:
        charmap = FT2Font(str(path)).get_charmap()
    except (OSError, RuntimeError, ValueError):
        return False
    return all(ord(ch) in charmap for ch in cjk_characters())


def _fontconfig_files() -> list[Path]:
    """What fontconfig lists for Chinese, if fontconfig is installed."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        listed = subprocess.run(
            [fc_list, "--format=%{file}\n", ":lang=zh"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [Path(line) for line in listed.splitlines() if line.strip()]


def _folder_files() -> Iterator[Path]:
    """Known CJK font files in the usual font folders."""
    wanted = {name.lower() for name in KNOWN_FILES}
    for folder in FONT_DIRS:
        root = Path(folder).expanduser()
        if not root.is_dir():
            continue
        for directory, _, names in os.walk(root):
            for name in names:
                if name.lower() in wanted:
                    yield Path(directory) / name


def system_candidates() -> list[Path]:
    """Font files that may have Chinese glyphs, the best-known first."""
    rank = {name.lower(): i for i, name in enumerate(KNOWN_FILES)}
    found = dict.fromkeys([*_fontconfig_files(), *_folder_files()])
    usable = [p for p in found if p.suffix.lower() in FONT_SUFFIXES and p.is_file()]
    return sorted(usable, key=lambda p: rank.get(p.name.lower(), len(rank)))


def first_covering(paths: Iterable[Path]) -> Path | None:
    return next((path for path in paths if covers_titles(path)), None)


@functools.cache
def system_font() -> Path | None:
    """The system's best CJK font file; searched once per process (a sweep asks often)."""
    return first_covering(system_candidates())


@functools.cache
def _registered_family(path: Path) -> str:
    """Register the file with matplotlib (once per process) and return its family name."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    font_manager.fontManager.addfont(str(path))
    return str(FT2Font(str(path)).family_name)


def cjk_font(explicit: str | None) -> Path | None:
    """The font file for Chinese titles: `figures.font` if given, else a system one."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file() or not covers_titles(path):
            raise invalid(
                "figures.font", explicit, "a font file (.ttf, .ttc, .otf) with Chinese glyphs"
            )
        return path
    return system_font()


def font_rc(lang: str, explicit: str | None) -> tuple[str, dict[str, object]]:
    """The language titles will really use, and matplotlib rc settings for it.

    zh without a CJK font gives ("en", ...) and logs one warning. The CJK
    family comes first, DejaVu Sans after it for any glyph it lacks.
    """
    rc: dict[str, object] = {"font.family": "sans-serif"}
    if lang != "zh":
        return lang, rc
    path = cjk_font(explicit)
    if path is None:
        log.warning(
            "figures.lang=zh: no font with Chinese glyphs was found, so the figures' titles "
            "are in English; %s. report.html stays in Chinese: a browser shows it with a "
            "Chinese font of its own, and says so in English on the page where it has none",
            INSTALL_HINT,
        )
        return "en", rc
    rc["font.sans-serif"] = [_registered_family(path), "DejaVu Sans"]
    log.info("figures.lang=zh: Chinese titles in %s", path)
    return "zh", rc
