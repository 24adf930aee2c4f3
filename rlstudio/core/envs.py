"""Import user code by path and create environments (gymnasium ids or custom classes)."""

from __future__ import annotations

import importlib
import os


def import_object(path: str):
    """``package.module:Attr.Sub`` -> the object. Only called when validation or a run needs user code."""
    module_name, _, attr = path.partition(":")
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def make_env(env_id: str | None, entry_point: str | None, kwargs: dict | None, render_mode: str | None = None):
    kwargs = dict(kwargs or {})
    if render_mode:
        kwargs["render_mode"] = render_mode
        # pygame (the classic-control renderer) opens the sound card and a video driver on init; rgb_array
        # frames need neither (and a headless machine has neither)
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
        if render_mode == "rgb_array":
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    if entry_point:
        return import_object(entry_point)(**kwargs)
    import gymnasium

    return gymnasium.make(env_id, **kwargs)
