"""Import user code by path and create environments (gymnasium ids or custom classes)."""

from __future__ import annotations

import importlib
import os

from rlstudio.core import families, trust


def import_object(path: str):
    """``package.module:Attr.Sub`` -> the object. For RL Studio's and RLlib's own paths only: code an experiment
    file names goes through :mod:`rlstudio.core.trust` (``trust.load_class``)."""
    module_name, _, attr = path.partition(":")
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def make_env(env_id: str | None, entry_point: str | None, kwargs: dict | None, render_mode: str | None = None,
             trusted=None):
    """``trusted``: module names trusted (default: the settings and ``--trust`` of this command)."""
    kwargs = dict(kwargs or {})
    if render_mode:
        kwargs["render_mode"] = render_mode
        # pygame (the classic-control renderer) opens the sound card and a video driver on init; rgb_array
        # frames need neither (and a headless machine has neither)
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
        if render_mode == "rgb_array":
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
            families.prepare_rendering()
    if entry_point:
        # user code: only from a trusted module, and only a gymnasium.Env subclass (raises UntrustedCode or
        # NotAllowedClass before anything the file names is called)
        return trust.load_env_class(entry_point, trusted=trusted)(**kwargs)
    if isinstance(env_id, str) and ":" in env_id:  # gymnasium.make("module:EnvId") imports the module first
        trust.require_trusted_module(env_id.partition(":")[0], "env.id", env_id, trusted)
    import gymnasium

    families.register(env_id)  # ALE/... ids exist once ale-py is imported
    return gymnasium.make(env_id, **kwargs)
