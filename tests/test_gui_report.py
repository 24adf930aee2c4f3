"""The best-trial card's Report… button writes the experiment's report through `rlstudio report` (a child process)."""

import pytest

from group_logs import write_group_log
from rlstudio.core.events import ExperimentState

pytestmark = pytest.mark.gui


def test_report_button_writes_the_report_and_links_it(qtbot, tmp_path):
    from rlstudio.gui.panels.results import BestTrialCard

    folder = write_group_log(tmp_path / "g", 2, 3, 25)
    card = BestTrialCard()
    qtbot.addWidget(card)
    assert not card.report_button.isEnabled()  # no experiment yet
    card.set_state(ExperimentState.load(folder), str(folder))
    assert card.report_button.isEnabled()
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    with qtbot.waitSignal(card.reporting.finished, timeout=60000) as done:
        card.make_report(str(out))
        assert not card.report_button.isEnabled() and "Writing" in card.report_label.text()
    assert done.args[0] == 0
    assert out.exists() and (tmp_path / "out" / "report.csv").exists()
    assert "Report written" in card.report_label.text() and "report.html" in card.report_label.text()
    assert card.report_button.isEnabled()

    with qtbot.waitSignal(card.reporting.finished, timeout=60000):
        card.make_report(str(tmp_path / "missing" / "r.html"))
    assert "The report was not written" in card.report_label.text() and "does not exist" in card.report_label.text()
    card.shutdown()
