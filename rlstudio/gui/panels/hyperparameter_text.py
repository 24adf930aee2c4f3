"""The hyperparameter table's cells as text and back, with no widget: how an option is searched (Fixed or a Tune
domain, or a schedule over training), the text its Value cell shows for a file value, the file value for what was
typed, and the help pane's text. The table is ``hyperparameter_table``; tests exercise these alone.
"""

from __future__ import annotations

from typing import Any

import yaml

from rlstudio.core import catalog
from rlstudio.core.domains import DOMAIN_KINDS, as_domain
from rlstudio.gui.forms import format_value, parse_number
from rlstudio.gui.panels.schedule import format_schedule, is_schedule, parse_schedule

MODES = ("fixed",) + tuple(DOMAIN_KINDS)
MODE_LABELS = {"fixed": "Fixed", "grid": "Grid (every value)", "choice": "Choice (random)", "uniform": "Uniform range",
               "loguniform": "Log-uniform range", "randint": "Whole numbers", "quniform": "Stepped range",
               "schedule": "Schedule (over training)"}
MODE_HINTS = {"fixed": "one value", "grid": "values, comma separated", "choice": "values, comma separated",
              "uniform": "low, high", "loguniform": "low, high", "randint": "low, high (high excluded)",
              "quniform": "low, high, step", "schedule": "timestep: value, ... (the first at timestep 0)"}


def parse_scalar(text: str, param: catalog.Param | None) -> Any:
    text = text.strip()
    if param is None or param.type == "str":
        try:
            return yaml.safe_load(text) if text else None
        except yaml.YAMLError:
            return text
    if param.type == "bool":
        lowered = text.lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        return text or None
    if param.type == "layers":
        parts = [p for p in text.strip("[]").replace(" ", "").split(",") if p]
        values = [parse_number(p) for p in parts]
        return values if values else None
    if param.type == "choice":
        return text or None
    if "," in text:  # a number option RLlib also takes as a range (n_step: 2, 5 -> [2, 5])
        parts = [parse_number(p) for p in text.strip("[]").split(",") if p.strip()]
        return parts if parts else None
    return parse_number(text)


def parse_cell(mode: str, text: str, param: catalog.Param | None) -> Any:
    """The file value for what the table shows: a fixed value or a one-key domain mapping."""
    if mode == "fixed":
        return parse_scalar(text, param)
    if mode == "schedule":
        if ":" not in text:  # switched from a fixed value: it becomes the schedule's start and end
            start = parse_scalar(text, param)
            return [[0, start], [1_000_000, start]]
        return parse_schedule(text)
    if param is not None and param.type == "layers":
        try:
            items = yaml.safe_load(f"[{text}]") if text.strip() else []
        except yaml.YAMLError:
            items = [text]
    else:
        items = [parse_scalar(part, param) for part in text.split(",") if part.strip()]
    return {mode: items}


def format_cell(value: Any, schedule_ok: bool = False) -> tuple[str, str]:
    """(mode, text) for a file value (``schedule_ok``: the option takes a schedule, [[timestep, value], ...])."""
    domain = as_domain(value)
    if domain is None and schedule_ok and is_schedule(value):
        return "schedule", format_schedule(value)
    if domain is None:
        return "fixed", format_value(value)
    if domain.kind in ("grid", "choice") and any(isinstance(v, list) for v in domain.args):
        return domain.kind, ", ".join(yaml.safe_dump(v, default_flow_style=True).strip() for v in domain.args)
    return domain.kind, ", ".join(format_value(v) for v in domain.args)


def help_html(param: catalog.Param) -> str:
    """The help pane's text for an option the catalog describes."""
    rng = ""
    if param.low is not None and param.high is not None:
        rng = f"<p><b>Usual range:</b> {param.low:g} to {param.high:g}{' (log scale)' if param.log else ''}</p>"
    default = "RLlib decides" if param.default is None else format_value(param.default)
    return (f"<h3>{param.label}</h3><p><code>{param.name}</code></p><p>{param.help}</p>{rng}"
            f"<p><b>Default:</b> {default}</p>")


def unknown_option_html(name: str, rllib_doc: str | None) -> str:
    """The help pane's text for an option the catalog does not describe (RLlib's own doc line when it has one)."""
    return (f"<h3>{name}</h3><p>" + (f"RLlib: {rllib_doc}" if rllib_doc else "An option RL Studio's catalog does not "
                                                                               "describe")
            + "</p><p>RL Studio passes it to RLlib as written.</p>")
