"""Compress: make a trained policy small and fast (prune, int8, distil into a smaller network), see what each variant
costs in return and gains in size and latency, and export them (TorchScript, ONNX, a standalone act.py).

The work is ``rlstudio optimize CHECKPOINT ... --json`` run in a child process by
:class:`rlstudio.gui.bridge.CompressController`; torch and RLlib never enter the GUI process.

Public API of :class:`CompressPanel` (for the best-trial card):

* ``set_checkpoint(path, env_label=None, env_id=None)`` — the checkpoint to compress and a label for the heading;
  proposes a new output folder ``<experiment>/compressed/<time>``. The environment comes from the experiment folder
  around the checkpoint; ``env_id`` is used only for a checkpoint outside one.
* ``run()`` — start with the form's choices (what the Run button does); ``cancel()`` — stop, nothing is written;
  ``shutdown()`` — cancel and wait (call when the window closes).
* ``choices()`` — the form's choices as the keyword arguments of ``CompressController.start``.
* ``show_report(report)`` — show a report dict (the ``finished`` signal's, or a stored ``report.json``).
* Signals: ``finished(report dict)``, ``failed(message)``, ``cancelled()``.
* ``controller`` — the :class:`CompressController`; pass one in to share or to substitute it.

Beside it: ``compress_data`` (the table's cells, the int8 note, the default output folder and what keeps Run from
starting; no Qt) and ``compress_charts`` (the mean-return and latency bar charts).

Run alone:  python -m rlstudio.gui.panels.compress --demo CHECKPOINT [--env CartPole-v1]
"""

from __future__ import annotations

import json
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QRegularExpression, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QFormLayout, QGridLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QProgressBar, QPushButton, QSpinBox,
                               QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from rlstudio.core.folder import experiment_of
from rlstudio.gui.bridge import CompressController
from rlstudio.gui.panels.compress_charts import VariantCharts
from rlstudio.gui.panels.compress_data import (COLUMN_HELP, COLUMNS, default_output, int8_note, row_cells, run_problem,
                                               student_sizes)

class CompressPanel(QWidget):
    finished = Signal(dict)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None, controller: CompressController | None = None):
        super().__init__(parent)
        self.controller = controller or CompressController(self)
        self.controller.progressed.connect(self._on_controller_progressed)
        self.controller.loss_reported.connect(self._on_controller_loss_reported)
        self.controller.variant_evaluated.connect(self._on_controller_variant_evaluated)
        self.controller.finished.connect(self._on_controller_finished)
        self.controller.failed.connect(self._on_controller_failed)
        self.controller.cancelled.connect(self._on_controller_cancelled)
        self.checkpoint: str | None = None
        self.env_label: str | None = None
        self.env_id: str | None = None
        self.rows: list[dict] = []
        self.report: dict | None = None
        self._losses: tuple[list[int], list[float]] = ([], [])

        self.heading = QLabel("Choose a checkpoint to compress.")
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self._build_form()
        self._build_results()

        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)
        left = QVBoxLayout()
        left.addWidget(self.form_box)
        left.addLayout(buttons)
        left.addWidget(self.status)
        left.addWidget(self.loss_plot, 1)
        left_widget = QWidget()
        left_widget.setLayout(left)
        left.setContentsMargins(0, 0, 0, 0)

        right = QVBoxLayout()
        right.addWidget(self.table, 1)
        right.addWidget(self.charts, 1)
        right.addWidget(self.int8_note)
        right.setContentsMargins(0, 0, 0, 0)
        right_widget = QWidget()
        right_widget.setLayout(right)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left_widget)
        splitter.addWidget(right_widget)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.heading)
        layout.addWidget(splitter, 1)
        self._update_enabled()

    # ---- building ------------------------------------------------------------------------------------------

    def _help(self, widget: QWidget, text: str) -> QWidget:
        widget.setToolTip(text)
        widget.setWhatsThis(text)
        return widget

    def _build_form(self) -> None:
        self.prune_check = self._help(QCheckBox("Prune"), "Set the smallest weights to zero (magnitude pruning), "
                                      "permanently. Fewer non-zero weights; the file keeps its size unless it is "
                                      "compressed, and speed is unchanged on a CPU.")
        self.sparsity_box = self._help(QSpinBox(), "Share of the weights to set to zero, 0–99 %.")
        self.sparsity_box.setRange(0, 99)
        self.sparsity_box.setValue(50)
        self.sparsity_box.setSuffix(" % of weights")
        self.scope_box = self._help(QComboBox(), "Whole network: remove the smallest weights wherever they are "
                                    "(layers end up unequally sparse). Each layer: the same share in every layer.")
        self.scope_box.addItem("whole network", "global")
        self.scope_box.addItem("each layer", "layer")
        self.quantize_check = self._help(QCheckBox("Quantise to int8"), "Store the linear layers' weights as 8-bit "
                                         "integers (dynamic quantisation): a smaller model, slightly different "
                                         "outputs. int8 variants export to TorchScript only.")
        self.distill_check = self._help(QCheckBox("Distil into a smaller network"), "Train a new, smaller network "
                                        "(the student) to choose actions like this policy (the teacher), on the "
                                        "states the teacher visits and then on the student's own.")
        self.distill_check.setChecked(True)
        self.hidden_edit = self._help(QLineEdit("16,16"), "The student's hidden layer sizes, separated by commas: "
                                      "16,16 is two layers of 16 units.")
        self.hidden_edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"[0-9, xX×]*"), self))
        self.steps_box = self._help(QSpinBox(), "Training steps for the student (batches of 256 states). More steps "
                                    "imitate better and take longer.")
        self.steps_box.setRange(10, 200000)
        self.steps_box.setSingleStep(500)
        self.steps_box.setValue(2000)
        self.episodes_box = self._help(QSpinBox(), "Episodes played by every variant, with the same seeds (0, 1, "
                                       "2, …), to measure its mean return and success rate.")
        self.episodes_box.setRange(1, 1000)
        self.episodes_box.setValue(20)
        self.output_edit = self._help(QLineEdit(), "A new folder for the exported models, the report and act.py "
                                      "(a script that plays a variant with only gymnasium and onnxruntime/torch). "
                                      "It appears only when everything is written.")
        for widget in (self.prune_check, self.distill_check, self.quantize_check):
            widget.toggled.connect(self._on_form_changed)
        self.hidden_edit.textChanged.connect(self._on_form_changed)
        self.output_edit.textChanged.connect(self._on_form_changed)

        grid = QGridLayout()
        grid.addWidget(self.prune_check, 0, 0)
        grid.addWidget(self.sparsity_box, 0, 1)
        grid.addWidget(self.scope_box, 0, 2)
        grid.addWidget(self.quantize_check, 1, 0, 1, 3)
        grid.addWidget(self.distill_check, 2, 0)
        grid.addWidget(self.hidden_edit, 2, 1)
        grid.addWidget(self.steps_box, 2, 2)
        self.steps_box.setSuffix(" steps")
        form = QFormLayout()
        form.addRow(grid)
        form.addRow(self._help(QLabel("Evaluate on"), self.episodes_box.toolTip()), self.episodes_box)
        self.episodes_box.setSuffix(" episodes")
        form.addRow(self._help(QLabel("Output folder"), self.output_edit.toolTip()), self.output_edit)
        self.form_box = QGroupBox("Choices")
        self.form_box.setLayout(form)

        self.run_button = self._help(QPushButton("Compress"), "Build every chosen variant and the combinations, "
                                     "evaluate each the same way, and export them. Runs in the background.")
        self.run_button.clicked.connect(self._on_run_button_clicked)
        self.cancel_button = self._help(QPushButton("Cancel"), "Stop; nothing is written.")
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self.cancel_button.setVisible(False)
        self.progress = self._help(QProgressBar(), "How far the compression has got.")
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.loss_plot = pg.PlotWidget(background="w")
        self._help(self.loss_plot, "The student's distillation loss (KL divergence from the teacher's action "
                   "distribution) as it trains; lower means a closer imitation.")
        self.loss_plot.setTitle("distillation loss", size="9pt")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.setLogMode(y=True)
        self.loss_plot.setMinimumHeight(120)
        self.loss_plot.setMenuEnabled(False)
        self.loss_curve = self.loss_plot.plot([], [], pen=pg.mkPen("#d62728", width=2))

    def _build_results(self) -> None:
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        for i, text in enumerate(COLUMN_HELP):
            self.table.horizontalHeaderItem(i).setToolTip(text)
        self._help(self.table, "Every variant and the original, measured the same way. Hover a column's title for "
                   "what it means.")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setDefaultSectionSize(22)  # row numbers: the charts' x axis
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(120)

        self.charts = VariantCharts()
        charts = self.charts  # the charts' plots and bars, by the names the panel has always had
        self.return_plot, self.return_bars = charts.return_plot, charts.return_bars
        self.latency_plot, self.latency_bars, self.onnx_latency_bars = (charts.latency_plot, charts.latency_bars,
                                                                        charts.onnx_latency_bars)
        # a line under the charts when int8 is slower than float: otherwise it reads as a bug
        self.int8_note = QLabel("")
        self.int8_note.setObjectName("compress-int8-note")
        self.int8_note.setWordWrap(True)
        self.int8_note.setVisible(False)

    # ---- public API --------------------------------------------------------------------------------------

    def set_checkpoint(self, path: str | Path | None, env_label: str | None = None,
                       env_id: str | None = None, model_label: str | None = None) -> None:
        """``env_id`` is needed only for a checkpoint outside an experiment folder (which names its env);
        ``model_label`` says which model it is ("trial X, iteration N checkpoint", "final model (N iterations)")."""
        self.checkpoint = str(path) if path else None
        self.env_label = env_label
        self.env_id = env_id
        if self.checkpoint:
            where = f" ({env_label})" if env_label else ""
            name = model_label or Path(self.checkpoint).name
            self.heading.setText(f"Compress and export the policy of the <b>{name}</b>{where}")
            self.heading.setToolTip(self.checkpoint)
            self.output_edit.setText(str(default_output(self.checkpoint)))
        else:
            self.heading.setText("Choose a checkpoint to compress.")
        self._update_enabled()

    def choices(self) -> dict:
        typed = self.hidden_edit.text()
        return {
            "prune": self.sparsity_box.value() / 100.0 if self.prune_check.isChecked() else None,
            "prune_scope": self.scope_box.currentData(),
            "quantize": self.quantize_check.isChecked(),
            "distill": ",".join(map(str, student_sizes(typed) or ())) or typed.replace(" ", "")
            if self.distill_check.isChecked() else None,
            "distill_steps": self.steps_box.value(),
            "episodes": self.episodes_box.value(),
        }

    def run(self) -> None:
        problem = self._problem()
        if problem or self.controller.running:
            self.status.setText(problem or "A compression is already running.")
            return
        self.rows, self.report = [], None
        self.table.setRowCount(0)
        self._losses = ([], [])
        self.loss_curve.setData([], [])
        self._draw_charts()
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.status.setText("Starting (loading torch and the checkpoint takes a few seconds)…")
        output = self.output_edit.text().strip()
        env = self.env_id if self.env_id and experiment_of(self.checkpoint) is None else None
        self.controller.start(self.checkpoint, output, env=env, **self.choices())
        self._update_enabled()

    def cancel(self) -> None:
        if self.controller.running:
            self.status.setText("Cancelling…")
            self.controller.cancel()

    def shutdown(self) -> None:
        self.controller.shutdown()

    def show_report(self, report: dict) -> None:
        self.report = report
        self.rows = list(report.get("rows") or [])
        self.table.setRowCount(0)
        for row in self.rows:
            self._add_row(row)
        losses = report.get("distill_losses") or []
        self._losses = (list(range(1, len(losses) + 1)), list(losses))
        self.loss_curve.setData(*self._losses)
        self._draw_charts()

    # ---- internals ---------------------------------------------------------------------------------------

    def _problem(self) -> str | None:
        return run_problem(self.checkpoint, self.prune_check.isChecked(), self.quantize_check.isChecked(),
                           self.distill_check.isChecked(), self.hidden_edit.text(), self.output_edit.text().strip())

    def _update_enabled(self) -> None:
        running = self.controller.running
        problem = self._problem()
        self.run_button.setEnabled(not running and problem is None)
        self.run_button.setToolTip(problem or "Build every chosen variant and the combinations, evaluate each the "
                                   "same way, and export them. Runs in the background.")
        self.cancel_button.setVisible(running)
        self.form_box.setEnabled(not running)
        self.sparsity_box.setEnabled(self.prune_check.isChecked())
        self.scope_box.setEnabled(self.prune_check.isChecked())
        self.hidden_edit.setEnabled(self.distill_check.isChecked())
        self.steps_box.setEnabled(self.distill_check.isChecked())
        if not running:
            self.progress.setVisible(False)

    def _add_row(self, row: dict) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        for c, text in enumerate(row_cells(row)):
            item = QTableWidgetItem(text)
            if c:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if c == 0:
                item.setToolTip(" → ".join(row.get("steps") or []) or row.get("onnx_note", ""))
            elif c == 6:
                item.setToolTip(row.get("onnx_note", ""))
            elif c == 9:
                item.setToolTip("Returns: " + ", ".join(f"{x:g}" for x in row.get("returns") or []))
            self.table.setItem(r, c, item)

    def _draw_charts(self) -> None:
        self.charts.draw(self.rows)
        note = int8_note(self.rows)
        self.int8_note.setText(note or "")
        self.int8_note.setVisible(bool(note))

    # ---- slots ---------------------------------------------------------------------------------------------

    def _on_form_changed(self, *_) -> None:
        self._update_enabled()

    def _on_run_button_clicked(self) -> None:
        self.run()

    def _on_cancel_button_clicked(self) -> None:
        self.cancel()

    def _on_controller_progressed(self, stage: str, fraction: float) -> None:
        self.progress.setValue(int(round(fraction * 1000)))
        self.status.setText(stage[:1].upper() + stage[1:] + ("…" if fraction < 1 else ""))

    def _on_controller_loss_reported(self, step: int, steps: int, loss: float) -> None:
        self._losses[0].append(step)
        self._losses[1].append(max(loss, 1e-12))  # log axis
        self.loss_curve.setData(*self._losses)

    def _on_controller_variant_evaluated(self, row: dict) -> None:
        self.rows.append(row)
        self._add_row(row)
        self._draw_charts()

    def _on_controller_finished(self, report: dict) -> None:
        self.show_report(report)
        self._update_enabled()
        self.status.setText(f"Done. Exports, report and act.py in {self.controller.output}")
        self.finished.emit(report)

    def _on_controller_failed(self, message: str) -> None:
        self._update_enabled()
        self.status.setText(f"<span style='color:#a33'>The compression failed: {message}</span>")
        self.failed.emit(message)

    def _on_controller_cancelled(self) -> None:
        self._update_enabled()
        self.status.setText("Cancelled; nothing was written.")
        self.cancelled.emit()


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    from PySide6.QtWidgets import QApplication

    parser = argparse.ArgumentParser(description="The Compress panel alone.")
    parser.add_argument("--demo", metavar="CHECKPOINT", required=True)
    parser.add_argument("--env", help="environment label for the heading")
    parser.add_argument("--report", help="show this report.json instead of running")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv)
    panel = CompressPanel()
    panel.resize(1100, 560)
    panel.set_checkpoint(args.demo, args.env)
    if args.report:
        panel.show_report(json.loads(Path(args.report).read_text()))
    panel.show()
    app.aboutToQuit.connect(panel.shutdown)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
