"""Where the files RL Studio reads at run time are: the top-level ``resources/`` folder of the project, which
the wheel carries as the package ``rlstudio._resources`` (see pyproject.toml). Found through
``importlib.resources``, so an editable install (the checkout's folder) and a normal one (site-packages) give
the same answers."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def resources_dir() -> Path:
    root = resources.files("rlstudio._resources")
    # a wheel is always installed unpacked, so this is a real folder; a zipped install would need as_file()
    if not isinstance(root, Path):
        raise RuntimeError(f"RL Studio's resources are not a folder on disk ({root!r}); reinstall RL Studio")
    return root


def icon_path(size: int | None = None) -> Path:
    """The application icon: the SVG source, or the PNG rendered at ``size`` pixels."""
    icons = resources_dir() / "icons"
    return icons / ("rlstudio.svg" if size is None else f"rlstudio-{size}.png")
