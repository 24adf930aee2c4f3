"""One home per contract: the JSON Schema, validation and the forms read the same catalog fields, so they agree.

Each field of the file's sections is held to both the schema and validation with values around its bounds; they
must accept and refuse the same ones. Files the loader reads (schema version 0, ``scheduler: fifo``, no
``schema_version``) must satisfy the schema.
"""

from __future__ import annotations

import copy

import jsonschema
import pytest

from rlstudio.core import catalog
from rlstudio.core.schema import json_schema
from rlstudio.core.spec import SCHEDULERS, ExperimentSpec, loads_spec
from rlstudio.core.validation import SCHEDULER_OPTIONS, validate

BASE = {"schema_version": 1, "name": "s", "env": {"id": "CartPole-v1"}, "algorithm": "PPO",
        "hyperparameters": {"lr": 0.001}, "stop": {"iterations": 2}}
VALIDATOR = jsonschema.Draft202012Validator(json_schema())


def _with(section: str, key: str, value, typ: str | None = None) -> dict:
    data = copy.deepcopy(BASE)
    if section == "scheduler":
        data["scheduler"] = {"type": typ, key: value}
        if typ == "pbt":
            data["checkpoint"] = {"every": 1}
            if key != "mutations":
                data["scheduler"]["mutations"] = {"lr": [0.001, 0.01]}
    else:
        data.setdefault(section, {})[key] = value
    return data


def _samples(f: catalog.Field) -> list:
    out = ["text", True, [1], None]
    if f.type.removeprefix("optional_") in ("int", "float"):
        out += [-1, 0, 1, 2, 0.5, 2.5, 10**6]
        for bound in (f.minimum, f.maximum):
            if bound is not None:
                out += [bound - 1, bound, bound + 1]
    if f.type == "choice":
        out += list(f.choices) + ["nope"]
    if f.type == "mutations":
        out += [{}, {"lr": [0.001, 0.01]}]
    if f.type == "bool":
        out += [False, 1]
    # an integral float (2.0) is a whole number to JSON Schema; validation's hand-written sections differ there
    return [v for v in out if not (isinstance(v, float) and v.is_integer())]


FIELDS = [(f.path.split(".")[0], f, None) for fields in catalog.SECTION_FIELDS.values() for f in fields]
FIELDS += [("scheduler", f, typ) for typ in SCHEDULERS for f in catalog.scheduler_options(typ).values()]


@pytest.mark.parametrize("section,field,typ", FIELDS, ids=[f"{t or s}.{f.key}" for s, f, t in FIELDS])
def test_schema_and_validation_agree_on_every_field(section, field, typ):
    for value in _samples(field):
        data = _with(section, field.key, value, typ)
        schema_ok = VALIDATOR.is_valid(data)
        problems = [p for p in validate(ExperimentSpec.from_dict(data)) if p.path.startswith(field.path)
                    and "Install it with" not in (p.hint or "")]  # a missing package is not the file's shape
        assert schema_ok == (not problems), (field.path, value, schema_ok, [str(p) for p in problems])


def test_scheduler_options_come_from_one_list():
    schema_scheduler = json_schema()["else"]["properties"]["scheduler"]["anyOf"]
    for typ in SCHEDULERS:
        [variant] = [v for v in schema_scheduler if v.get("properties", {}).get("type", {}).get("const") == typ]
        in_schema = set(variant["properties"]) - {"type"}
        assert in_schema == set(SCHEDULER_OPTIONS[typ]) == set(catalog.scheduler_options(typ)), typ
    assert "brackets" in SCHEDULER_OPTIONS["asha"]
    assert catalog.scheduler_options("median")["grace_period"].type == "int"


def test_an_unknown_scheduler_option_is_refused_by_both():
    data = {**BASE, "scheduler": {"type": "asha", "grace_priod": 2}}
    assert not VALIDATOR.is_valid(data)
    assert [p.path for p in validate(ExperimentSpec.from_dict(data))] == ["scheduler.grace_priod"]


@pytest.mark.parametrize("text", [
    "name: a\nenv: {id: CartPole-v1}\nalgorithm: PPO\nscheduler: fifo\nstop: {iterations: 1}\n",
    "name: a\nenv: {id: CartPole-v1}\nalgorithm: PPO\nscheduler: asha\nstop: {iterations: 1}\n",
    "env: {id: CartPole-v1}\nstop: {iterations: 1}\n",
    "schema_version: 0\nname: old\nenvironment: CartPole-v1\nalgorithm: PPO\nparams: {lr: 0.001}\n"
    "workers: {num_env_runners: 0}\nsearch_alg: random\nstop: {iterations: 1}\n",
    "name: a\nenv: {id: CartPole-v1}\nhyperparameters: {lr: [[0, 1e-3], [1e6, 1e-5]]}\nstop: {timesteps: 1e6}\n",
])
def test_files_the_loader_accepts_satisfy_the_schema(text):
    import yaml

    from rlstudio.core.spec import safe_load

    spec = loads_spec(text)
    assert [str(p) for p in validate(spec)] == []
    data = safe_load(text)
    errors = [e.message for e in VALIDATOR.iter_errors(data)]
    assert errors == [], errors
    assert yaml.safe_load(spec.to_yaml()) is not None


def test_pbt_without_mutations_is_refused_by_both_naming_the_field():
    data = {**BASE, "scheduler": {"type": "pbt", "perturbation_interval": 2}, "checkpoint": {"every": 2}}
    assert not VALIDATOR.is_valid(data)
    [problem] = validate(ExperimentSpec.from_dict(data))
    assert problem.path == "scheduler.mutations" and "at least one" in problem.message


def _valid_value(f: catalog.Field):
    """A value the field takes (the form's lower end, or its first choice)."""
    if f.type == "choice":
        return f.choices[0]
    if f.type == "bool":
        return True
    if f.type == "mutations":
        return {"lr": [0.001, 0.01]}
    value = f.low if f.low is not None else 1
    return int(value) if f.type.removeprefix("optional_") == "int" else float(value)


@pytest.mark.parametrize("typ", [t for t in SCHEDULERS if catalog.scheduler_options(t)])
def test_the_engine_builds_every_scheduler_option_the_catalog_offers(typ):
    """Tune's scheduler takes each option with the catalog's type (ASHA brackets, int grace periods): a file the
    schema and validation accept is one the runner can start. Builds the scheduler object; no Ray session."""
    from rlstudio.engine.build import scheduler

    options = {key: _valid_value(f) for key, f in catalog.scheduler_options(typ).items()}
    data = {**BASE, "hyperparameters": {"lr": {"choice": [0.001, 0.01]}}, "scheduler": {"type": typ, **options},
            "checkpoint": {"every": 1}}
    spec = ExperimentSpec.from_dict(data)
    assert [str(p) for p in validate(spec)] == [] and VALIDATOR.is_valid(data)
    built = scheduler(spec)  # the options go to the scheduler's constructor by name: a stray one is a TypeError
    assert type(built).__name__ == {"asha": "AsyncHyperBandScheduler", "median": "MedianStoppingRule",
                                    "pbt": "PopulationBasedTraining"}[typ]


@pytest.mark.gui
def test_the_forms_show_exactly_the_fields_validation_and_the_schema_check(qtbot):
    """The Run setup forms are generated from the same catalog lists: every field, no other, per scheduler type."""
    from rlstudio.gui.bridge import TaskRunner
    from rlstudio.gui.document import ExperimentDocument
    from rlstudio.gui.panels.run_setup import SearchPanel, WorkersPanel

    tasks = TaskRunner()
    try:
        document = ExperimentDocument(tasks)
        search, workers = SearchPanel(document), WorkersPanel(document)
        for view in (search, workers):
            qtbot.addWidget(view)
        shown = {"resources": workers.form, "search": search.search, "stop": search.stop,
                 "checkpoint": search.checkpoint}
        for section, fields in catalog.SECTION_FIELDS.items():
            assert list(shown[section].editors) == [f.path for f in fields], section
            schema_keys = set(json_schema()["else"]["properties"][section]["properties"])
            assert schema_keys == {f.key for f in fields}, section
        for typ in SCHEDULERS:
            document.set("scheduler.type", typ)
            form = list(search.scheduler_options.editors) if search.scheduler_options is not None else []
            if not search.mutations.isHidden():
                form.append(search.mutations.objectName())
            assert sorted(form) == sorted(f.path for f in catalog.scheduler_options(typ).values()), typ
            assert {p.removeprefix("scheduler.") for p in form} == set(SCHEDULER_OPTIONS[typ]), typ
        document.stop()
    finally:
        tasks.shutdown()
