"""Hidden layer sizes as a person types them ("64,64", "64x64", "64 × 64"): one parser for the command line, the
engine and the app's forms, so a size the app accepts is one the engine runs, and the other way round."""

from __future__ import annotations

MAX_LAYERS = 8
MAX_UNITS = 4096
#: what is allowed, in the words every message uses
HIDDEN_SIZES_RULE = (f"whole numbers separated by commas, e.g. 32,32 (1 to {MAX_LAYERS} layers of 1 to {MAX_UNITS} "
                     f"units)")


def parse_hidden_sizes(text) -> tuple[int, ...] | None:
    """``"32,32"``, ``"32x32"`` or ``"32 × 32"`` -> ``(32, 32)``; ``None`` or blank -> ``None``; a list or tuple of
    numbers is taken as it is. Raises ValueError saying what is allowed."""
    if text is None or not str(text).strip():
        return None
    if isinstance(text, (list, tuple)):
        parts = [str(p).strip() for p in text]
    else:
        parts = [p.strip() for p in str(text).lower().replace("x", ",").replace("×", ",").split(",")]
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        sizes = ()
    if not sizes or len(sizes) > MAX_LAYERS or any(s < 1 or s > MAX_UNITS for s in sizes):
        raise ValueError(f"expects the hidden layer sizes as {HIDDEN_SIZES_RULE}; got {text!r}")
    return sizes
