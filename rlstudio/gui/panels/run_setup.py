"""Workers/resources and search/scheduler/stop/checkpoint forms, generated from the catalog's field lists."""

from __future__ import annotations

import yaml
from PySide6.QtWidgets import QGroupBox, QLabel, QLineEdit, QScrollArea, QVBoxLayout, QWidget

from rlstudio.core import catalog
from rlstudio.core.domains import grid_size
from rlstudio.core.validation import ClusterInfo, concurrency, resources_text
from rlstudio.gui.forms import INVALID_STYLE, FieldForm



def _scrolled(inner: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(inner)
    return area


def _group(title: str, *widgets: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    for w in widgets:
        layout.addWidget(w)
    return box


class WorkersPanel(QScrollArea):
    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.form = FieldForm(catalog.RESOURCE_FIELDS, document)
        self.fit = QLabel()
        self.fit.setObjectName("resources")
        self.fit.setWordWrap(True)
        learners = QLabel(catalog.LEARNERS_TEXT)
        learners.setWordWrap(True)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.addWidget(_group("Workers and resources", self.form, learners))
        layout.addWidget(self.fit)
        layout.addStretch(1)
        self.setWidgetResizable(True)
        self.setWidget(inner)
        document.changed.connect(self._on_document_changed)
        document.validated.connect(self._on_document_changed)
        self.refresh()

    def _on_document_changed(self, *_):
        self.refresh()

    def refresh(self) -> None:
        cluster = self.document.cluster
        if cluster is None:
            self.fit.setText("Waiting for the Ray session to say how many CPUs and GPUs it has…")
            self.fit.setStyleSheet("")
            return
        wrong = self._first_wrong_field()
        if wrong is not None:  # the summary must not compute from a value the field shows as wrong
            label, problem = wrong
            self.fit.setText(f"⚠ Fix “{label}” above ({problem}) to see what each trial needs and how many run "
                             "at a time.")
            self.fit.setStyleSheet(INVALID_STYLE)
            return
        try:
            text = resources_text(self.document.spec, cluster)
        except (TypeError, ValueError):
            text = "Fix the fields above to see what each trial needs."
        limit = self.document.spec.resources.max_concurrent_trials
        fits = concurrency(self.document.spec, cluster)
        if isinstance(limit, int) and fits and limit > fits:
            text += f" (“Trials at the same time” asks for {limit}; only {fits} fit)"
        never = "never start" in text
        self.fit.setText(("⚠ " if never else "") + text[0].upper() + text[1:] + ".")
        self.fit.setStyleSheet(INVALID_STYLE if never else "color: #2a6;")


    def _first_wrong_field(self) -> tuple[str, str] | None:
        """(label, what is wrong) of the first Workers field whose value is not allowed, checked now (not after
        the debounced validation) so the summary and the fields never disagree."""
        for f in catalog.RESOURCE_FIELDS:
            problem = catalog.field_problem(f, self.document.get(f.path))
            if problem:
                return f.label, problem
        return None


def plan_summary(spec, cluster: ClusterInfo | None) -> str:
    """'N trials × up to M timesteps, A at a time: W rounds one after another; at most about T' (core.progress)."""
    from rlstudio.core.progress import plan_text

    try:
        trials = grid_size(spec.hyperparameters) * int(spec.search.num_samples) * spec.search.seeds_per_config
    except (TypeError, ValueError):
        return "Fix the search fields to see the plan."
    stop = spec.stop
    batch = spec.hyperparameters.get("train_batch_size")
    batch = batch if isinstance(batch, int) else 4000
    caps = []
    if isinstance(stop.timesteps, (int, float)):
        caps.append(stop.timesteps)
    if isinstance(stop.iterations, (int, float)):
        caps.append(stop.iterations * batch)
    steps = min(caps) if caps else None
    time_cap = stop.time_s if isinstance(stop.time_s, (int, float)) else None
    target = stop.episode_return_mean if isinstance(stop.episode_return_mean, (int, float)) else None
    at_once = concurrency(spec, cluster) if cluster is not None else None
    return plan_text(trials, at_once, steps, time_cap, target)


class SearchPanel(QScrollArea):
    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.search = FieldForm(catalog.SEARCH_FIELDS, document)
        self.scheduler_type = FieldForm([catalog.SCHEDULER_FIELDS["type"]], document)
        self.scheduler_options: FieldForm | None = None
        self.mutations = QLineEdit()
        self.mutations.setObjectName("scheduler.mutations")
        self.mutations.setPlaceholderText("{lr: {loguniform: [0.00001, 0.001]}, gamma: [0.95, 0.99]}")
        self.mutations.setToolTip(catalog.scheduler_options("pbt")["mutations"].help + " A YAML mapping.")
        self.mutations.editingFinished.connect(self._on_mutations_edited)
        self.scheduler_box = _group("Scheduler", self.scheduler_type)
        self.stop = FieldForm(catalog.STOP_FIELDS, document)
        self.checkpoint = FieldForm(catalog.CHECKPOINT_FIELDS, document)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setObjectName("summary")
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.addWidget(self.summary)
        layout.addWidget(_group("Search", self.search))
        layout.addWidget(self.scheduler_box)
        layout.addWidget(_group("Stop each trial when (the first one reached)", self.stop))
        layout.addWidget(_group("Checkpoints", self.checkpoint))
        layout.addStretch(1)
        self.setWidgetResizable(True)
        self.setWidget(inner)
        document.changed.connect(self._on_document_changed)
        document.validated.connect(self._on_document_validated)
        self._current_type = None
        self.refresh()

    def refresh(self) -> None:
        typ = self.document.spec.scheduler.type
        if typ != self._current_type:
            self._current_type = typ
            if self.scheduler_options is not None:
                self.scheduler_box.layout().removeWidget(self.scheduler_options)
                self.scheduler_options.deleteLater()
                self.scheduler_options = None
            # the catalog's fields for this scheduler; mutations (a mapping) has its own editor below
            fields = [f for f in catalog.scheduler_options(typ).values() if f.type != "mutations"] \
                if isinstance(typ, str) else []
            if fields:
                self.scheduler_options = FieldForm(fields, self.document)
                self.scheduler_box.layout().addWidget(self.scheduler_options)
            self.scheduler_box.layout().removeWidget(self.mutations)
            self.mutations.setVisible(typ == "pbt")
            if typ == "pbt":
                self.scheduler_box.layout().addWidget(self.mutations)
        if not self.mutations.hasFocus():
            value = self.document.spec.scheduler.options.get("mutations")
            self.mutations.setText(yaml.safe_dump(value, default_flow_style=True).strip() if value else "")
        self.summary.setText("<b>Plan:</b> " + plan_summary(self.document.spec, self.document.cluster))

    def _on_mutations_edited(self) -> None:
        text = self.mutations.text().strip()
        try:
            value = yaml.safe_load(text) if text else None
        except yaml.YAMLError:
            value = text
        self.document.set("scheduler.mutations", value)

    def _on_document_changed(self, *_):
        self.refresh()

    def _on_document_validated(self, problems) -> None:
        self.refresh()
        mine = [p for p in problems if p.path.startswith("scheduler.mutations")]
        self.mutations.setStyleSheet(INVALID_STYLE if mine else "")
