"""RL Studio's run-time files (presets, icons), installed as the package ``rlstudio._resources``.

The folder stays at the top of the project; pyproject.toml maps it into the package so that a built wheel
carries it and ``importlib.resources`` finds it the same way in an editable install and a normal one. Read it
through ``rlstudio.core.resources``, never by a path relative to the source tree.
"""
