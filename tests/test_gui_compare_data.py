"""Comparing experiments without Qt (``gui/panels/compare_data.py``): the table's order and its star, the heading
and the notes, and the token a newer request cancels. The compute function itself: test_gui_compare.py."""

from group_logs import write_group_log
from rlstudio.gui.panels.compare_data import (EMPTY_TEXT, CancelToken, load_comparison, note_text, table_rows,
                                              title_text)


def test_rows_go_best_first_with_a_star_and_the_heading_and_notes_say_what_is_shown(tmp_path):
    folder = write_group_log(tmp_path / "exp", 3, 4, 20, seed=3)
    data, problems = load_comparison([str(folder), str(tmp_path / "missing")])
    rows = table_rows(data)
    iqms = [g.summary.iqm for g, _ in rows]
    assert iqms == sorted(iqms, reverse=True) and len(rows) == 3
    assert rows[0][1][0].startswith("★ ") and not any(cells[0].startswith("★") for _, cells in rows[1:])
    assert title_text(data, problems) == "<b>3 configurations</b> from groups"
    assert title_text(None, []) == EMPTY_TEXT
    note = note_text(data.groups, problems)
    assert note.splitlines()[0] == problems[0] + ("" if problems[0].endswith(".") else ".")
    assert "fewer than 5 seeds" in note and "Untick a configuration" in note
    assert note_text([], []) == ""


def test_a_token_is_cancelled_once_and_for_all():
    token = CancelToken()
    assert not token()
    token.cancel()
    assert token() and token()
