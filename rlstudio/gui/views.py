"""The window's views around the editor: built with the application model they follow, put in docks, connected to
each other (select a trial in one, it is selected in the others), and brought forward when asked for (Evaluate,
Watch, Compress, Compare). The run's state reaches them through the model, never from here.

The views are set as attributes of the window too (``window.curves``, ``window.trials_dock``…): the window's
public face, which tests, demo mode and the screenshot script use.

Two views nobody sees at start are built the first time they are shown or asked for (:class:`LazyView`): Compare
and Compress. Together with their imports (Compare reads experiments through ``core.report``) they were ~120 ms of
the window's start-up on this machine, for panels most sessions never open.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QTabWidget, QTextBrowser, QWidget

from rlstudio.core.appmodel import AppModel
from rlstudio.gui.forms import FocusHelp
from rlstudio.gui.panels.cluster import ClusterPanel
from rlstudio.gui.panels.curves import CurvesPanel
from rlstudio.gui.panels.evaluation import EvaluationWidget
from rlstudio.gui.panels.experiments import ExperimentsPanel
from rlstudio.gui.panels.parallel_coordinates import ParallelCoordinates
from rlstudio.gui.panels.problems import ProblemsPanel
from rlstudio.gui.panels.results import BestTrialCard
from rlstudio.gui.panels.rollout import RolloutPanel
from rlstudio.gui.panels.run_log import RunLogView
from rlstudio.gui.panels.trials import TrialsPanel

WELCOME_HELP = """<h3>RL Studio</h3>
<p>Put an experiment together on the pages on the left: the <b>environment</b> the agent learns in, the
<b>algorithm</b> and its hyperparameters (fixed, or values for the search to try), the <b>workers</b> it runs on
and the <b>search</b>: how trials are chosen, when each stops and when it saves checkpoints.</p>
<p>Click any option to read here what it does and when to change it. Problems are listed below as you type;
<b>Start</b> becomes available when there are none.</p>"""

B, R = Qt.DockWidgetArea.BottomDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea



class WrappingScrollArea(QScrollArea):
    """A scroll area whose panel is never squeezed below the height its wrapped text needs at the width shown.

    Qt's resizable scroll area gives its widget the widget's minimum size, which counts each word-wrapped label as
    one line: with a two-line verdict above it, the best-trial card's Configuration box was cut in half. Here the
    widget's minimum height follows ``heightForWidth`` at the viewport's width, whenever either changes."""

    def __init__(self, widget: QWidget):
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setWidget(widget)
        widget.installEventFilter(self)

    def _fit(self) -> None:
        widget = self.widget()
        if widget is not None and widget.hasHeightForWidth():
            width = max(self.viewport().width(), widget.minimumSizeHint().width())
            widget.setMinimumHeight(widget.heightForWidth(width))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def eventFilter(self, watched, event) -> bool:
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self._fit()
        return False

class LazyView(QObject):
    """A dock whose panel is made the first time the dock is shown (its tab clicked, the View menu) or the panel is
    asked for (``get()``: Compare…, Compress…). Until then the dock holds an empty placeholder."""

    def __init__(self, parent: QObject, dock: QDockWidget, make, scroll: bool):
        super().__init__(parent)
        self.dock, self._make, self._scroll = dock, make, scroll
        self.panel: QWidget | None = None
        dock.visibilityChanged.connect(self._on_dock_visibility_changed)

    def get(self) -> QWidget:
        if self.panel is None:
            self.panel = self._make()
            self.dock.setWidget(WrappingScrollArea(self.panel) if self._scroll else self.panel)
        return self.panel

    def _on_dock_visibility_changed(self, visible: bool) -> None:
        if visible:
            self.get()


class Views(QObject):
    def __init__(self, window: QMainWindow, model: AppModel, document, tasks, storage):
        super().__init__(window)
        self.window, self.model = window, model
        w, m = window, model
        w.help = QTextBrowser()
        w.help.setOpenExternalLinks(False)
        w.help.setHtml(WELCOME_HELP)
        w.help.setMinimumWidth(260)
        self.focus_help = FocusHelp(w.editor, w.help.setHtml)  # the Help panel follows the focus on every page
        w.problems = ProblemsPanel(document)
        w.run_view = RunLogView(m)
        w.trials, w.curves = TrialsPanel(model=m), CurvesPanel(model=m)
        w.experiments = ExperimentsPanel(tasks, storage)
        w.cluster = ClusterPanel(model=m)
        w.best_card, w.parallel = BestTrialCard(model=m), ParallelCoordinates(model=m)
        w.evaluation = EvaluationWidget()
        w.results = QTabWidget()
        w.results.setDocumentMode(True)
        w.results.addTab(w.best_card, "Best trial")
        w.results.addTab(w.parallel, "Hyperparameters vs return")
        w.results.addTab(w.evaluation, "Evaluation")
        w.rollout = RolloutPanel(model=m)
        w.help_dock = self._dock("Help", w.help, "help", R)
        w.problems_dock = self._dock("Problems", w.problems, "problems", B)
        w.run_dock = self._dock("Run", w.run_view, "run", B)
        w.trials_dock = self._dock("Trials", w.trials, "trials", B)
        w.curves_dock = self._dock("Curves", w.curves, "curves", R)
        w.experiments_dock = self._dock("Experiments", w.experiments, "experiments", B)
        w.compare_dock = self._dock("Compare", QWidget(), "compare", B)
        w.results_dock = self._dock("Results", w.results, "results", B, scroll=True)
        w.cluster_dock = self._dock("Cluster", w.cluster, "cluster", R)
        w.compress_dock = self._dock("Compress", QWidget(), "compress", B)
        w.rollout_dock = self._dock("Rollouts", w.rollout, "rollouts", R)
        for dock in (w.run_dock, w.trials_dock, w.experiments_dock, w.compare_dock, w.results_dock, w.compress_dock):
            w.tabifyDockWidget(w.problems_dock, dock)
        for dock in (w.curves_dock, w.cluster_dock, w.rollout_dock):
            w.tabifyDockWidget(w.help_dock, dock)
        w.compare_dock.hide()  # until Compare… (or the last session's layout) shows it
        self.lazy = {"compare": LazyView(self, w.compare_dock, lambda: _compare_view(tasks), scroll=True),
                     "compress": LazyView(self, w.compress_dock, _compress_panel, scroll=True)}
        #: in the View menu's order
        self.docks = [w.help_dock, w.problems_dock, w.run_dock, w.trials_dock, w.curves_dock, w.experiments_dock,
                      w.compare_dock, w.results_dock, w.cluster_dock, w.compress_dock, w.rollout_dock]
        w.experiments.refresh()
        w.problems_dock.raise_()
        w.help_dock.raise_()
        self._connect()

    def built(self, name: str) -> QWidget | None:
        """The lazily made view ``name`` ("compare", "compress") if it has been made, else None."""
        return self.lazy[name].panel

    def _dock(self, title: str, widget: QWidget, name: str, area, scroll: bool = False) -> QDockWidget:
        dock = QDockWidget(title, self.window)
        dock.setObjectName(f"dock-{name}")
        if scroll:
            # a panel taller than it needs to be most of the time: it scrolls rather than making the whole window
            # taller than a 720-line projector (the Run workspace and demo mode)
            widget = WrappingScrollArea(widget)
        dock.setWidget(widget)
        self.window.addDockWidget(area, dock)
        return dock

    def _connect(self) -> None:
        """The views' requests to each other (selection follows across views; the card's buttons)."""
        w = self.window
        w.best_card.compress_requested.connect(self.open_compress)
        w.best_card.evaluate_requested.connect(self.evaluate_checkpoint)
        w.best_card.watch_requested.connect(self.watch_trial)
        w.best_card.watch_model_requested.connect(self.watch_model)
        w.best_card.final_model_saved.connect(self._on_best_card_final_model_saved)
        w.best_card.final_training_changed.connect(w.cluster.set_final_training)
        w.experiments.compare_requested.connect(self.compare_experiments)
        w.trials.trial_selected.connect(w.rollout.show_trial)
        w.trials.trial_selected.connect(w.curves.select)
        w.trials.evaluate_requested.connect(self.evaluate_checkpoint)
        w.curves.trial_clicked.connect(w.rollout.show_trial)
        w.curves.trial_clicked.connect(w.trials.select)
        w.rollout.trial_clicked.connect(w.trials.select)
        w.parallel.trial_clicked.connect(w.trials.select)
        self.model.run_started.connect(self._on_model_run_started)
        self.model.run_finished.connect(self._on_model_run_finished)

    def _on_best_card_final_model_saved(self, _folder: str) -> None:
        self.window.experiments.refresh()

    def _on_model_run_started(self, _folder: str) -> None:
        self.show_run()

    def _on_model_run_finished(self, _state, _code: int) -> None:
        self.window.experiments.refresh()

    # ---- bringing a view forward ---------------------------------------------------------------------------

    @staticmethod
    def show_dock(dock: QDockWidget) -> None:
        dock.show()
        dock.raise_()

    def show_run(self) -> None:
        """The trials and the curves to the front (a run started, an experiment opened)."""
        self.window.trials_dock.raise_()
        self.window.curves_dock.raise_()

    def compare_experiments(self, folders: list) -> None:
        w = self.window
        w.compare.set_sources(folders)
        self.show_dock(w.compare_dock)
        w.resizeDocks([w.compare_dock], [max(w.compare_dock.height(), 460)], Qt.Orientation.Vertical)

    def open_compress(self, checkpoint: str) -> None:
        """The best-trial card's "Compress…": the Compress panel, set to that checkpoint."""
        if not checkpoint:
            return
        from rlstudio.core.models import describe_model

        state = self.model.run_state
        env = ((state.spec or {}).get("env") or {}) if state else {}
        self.window.compress.set_checkpoint(checkpoint, env.get("id") or env.get("entry_point"),
                                            model_label=describe_model(state, checkpoint))
        self.show_dock(self.window.compress_dock)

    def evaluate_checkpoint(self, checkpoint: str) -> None:
        """Evaluate a checkpoint (the best trial's, or one from the trials table) in the Evaluation tab."""
        if not checkpoint:
            return
        from rlstudio.core.models import describe_model

        w = self.window
        self.show_dock(w.results_dock)
        w.results.setCurrentWidget(w.evaluation)
        w.evaluation.evaluate(checkpoint, label=describe_model(self.model.run_state, checkpoint))

    def watch_model(self, model) -> None:
        """The best-trial card's Watch: the picked model (a checkpoint or the final model), named in the view."""
        self.show_dock(self.window.rollout_dock)
        self.window.rollout.show_model(model)

    def watch_trial(self, trial_id: str) -> None:
        if trial_id:
            self.show_dock(self.window.rollout_dock)
            self.window.rollout.show_trial(trial_id)


def _compare_view(tasks) -> QWidget:
    from rlstudio.gui.panels.compare import CompareView

    return CompareView(tasks)


def _compress_panel() -> QWidget:
    from rlstudio.gui.panels.compress import CompressPanel

    return CompressPanel()
