"""The experiment being edited, without Qt (rlstudio.core.editing): the edits, dirty state and read-only mode the
GUI's ExperimentDocument wraps."""

from rlstudio.core.editing import EditedExperiment
from rlstudio.core.spec import ExperimentSpec, load_spec


def _record(edited):
    seen = []
    edited.changed.connect(lambda path: seen.append(("changed", path)))
    edited.dirty_changed.connect(lambda dirty: seen.append(("dirty", dirty)))
    edited.path_changed.connect(lambda path: seen.append(("path", path)))
    return seen


def test_an_edit_changes_the_spec_marks_it_dirty_and_says_what_changed():
    edited = EditedExperiment(ExperimentSpec())
    seen = _record(edited)
    assert edited.set_hyperparameter("lr", 1e-3)
    assert edited.spec.hyperparameters["lr"] == 1e-3 and edited.dirty
    assert seen == [("dirty", True), ("changed", "hyperparameters.lr")]
    assert not edited.set_hyperparameter("lr", 1e-3)  # the same value: nothing happens, nothing announced
    assert len(seen) == 2


def test_nested_hyperparameters_are_set_and_removed_inside_their_mapping():
    edited = EditedExperiment(ExperimentSpec())
    edited.set_hyperparameter("model_config.fcnet_hiddens", [64, 64])
    assert edited.spec.hyperparameters["model_config"] == {"fcnet_hiddens": [64, 64]}
    assert edited.get_hyperparameter("model_config.fcnet_hiddens") == [64, 64]
    edited.set_hyperparameter("model_config.fcnet_hiddens", None)  # None: RLlib's default applies
    assert "model_config" not in edited.spec.hyperparameters


def test_read_only_refuses_every_edit_until_a_copy_is_made():
    edited = EditedExperiment(ExperimentSpec())
    edited.read_only = True
    seen = _record(edited)
    assert not edited.set("tune.num_samples", 3)
    assert not edited.set_hyperparameter("lr", 0.1)
    assert not edited.set_env("Pendulum-v1")
    assert seen == [] and not edited.dirty
    edited.read_only = False
    edited.mark_edited()
    assert edited.dirty and edited.path is None
    assert edited.set_env("Pendulum-v1") and edited.spec.env.id == "Pendulum-v1"


def test_save_writes_what_was_edited_and_clears_dirty(tmp_path):
    edited = EditedExperiment(ExperimentSpec())
    edited.set("name", "mine")
    seen = _record(edited)
    target = edited.save(tmp_path / "mine.yaml")
    assert seen == [("dirty", False), ("path", target)]
    assert load_spec(target).name == "mine"
    other = EditedExperiment()
    seen = _record(other)
    other.load(target)
    assert other.spec.name == "mine" and other.path == target and not other.dirty
    assert seen == [("path", target), ("changed", "")]

