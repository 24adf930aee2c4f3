"""The hyperparameter table's text conversions and help (``gui/panels/hyperparameter_text.py``), without a widget.
Round trips of every domain through ``format_cell``/``parse_cell``: test_gui_editor.py and test_gui_schedule.py."""

import pytest

from rlstudio.core import catalog
from rlstudio.gui.panels.hyperparameter_text import (MODE_HINTS, MODE_LABELS, MODES, help_html, parse_cell,
                                                     parse_scalar, unknown_option_html)

pytestmark = pytest.mark.gui  # gui.forms, which the conversions share with the other forms, imports Qt

LR = catalog.Param("lr", "Learning rate", "float", 5e-5, "How big a step.", low=1e-6, high=1e-2, log=True)


def test_every_mode_has_a_label_and_a_hint():
    assert set(MODE_LABELS) == set(MODE_HINTS) == {*MODES, "schedule"}


@pytest.mark.parametrize("text, param_type, value", [
    ("1e-4", "float", 1e-4), ("3", "int", 3), ("", "float", None), ("yes", "bool", True), ("off", "bool", False),
    ("64, 64", "layers", [64, 64]), ("[32]", "layers", [32]), ("2, 5", "int", [2, 5]), ("adam", "choice", "adam"),
])
def test_a_typed_value_is_read_as_its_option_type(text, param_type, value):
    param = catalog.Param("x", "X", param_type, None, "")
    assert parse_scalar(text, param) == value


def test_an_option_the_catalog_does_not_know_is_read_as_yaml():
    assert parse_scalar("{a: 1}", None) == {"a": 1}
    assert parse_scalar("not: [closed", None) == "not: [closed"  # not YAML: kept as typed


def test_a_fixed_value_switched_to_a_schedule_holds_from_start_to_end():
    assert parse_cell("schedule", "1e-3", LR) == [[0, 1e-3], [1_000_000, 1e-3]]
    assert parse_cell("loguniform", "1e-5, 1e-3", LR) == {"loguniform": [1e-5, 1e-3]}


def test_help_says_the_range_and_default_or_that_rllib_decides():
    text = help_html(LR)
    assert text.startswith("<h3>Learning rate</h3><p><code>lr</code></p><p>How big a step.</p>")
    assert "<b>Usual range:</b> 1e-06 to 0.01 (log scale)" in text and "<b>Default:</b> 5e-05" in text
    assert "RLlib decides" in help_html(catalog.Param("seed", "Seed", "int", None, ""))
    assert unknown_option_html("foo", None) == ("<h3>foo</h3><p>An option RL Studio's catalog does not describe</p>"
                                                "<p>RL Studio passes it to RLlib as written.</p>")
    assert "<p>RLlib: Whether to foo.</p>" in unknown_option_html("foo", "Whether to foo.")
