"""RLlib's own example configurations for PPO, APPO, IMPALA, DQN and SAC, written as RL Studio files
(tests/data/rllib_examples/): the catalog must accept every option they use, and RLlib must build each."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from rlstudio.core.schema import json_schema
from rlstudio.core.spec import load_spec, safe_load
from rlstudio.core.validation import validate

EXAMPLES = sorted((Path(__file__).parent / "data" / "rllib_examples").glob("*.yaml"))


def test_the_examples_cover_every_builtin_algorithm():
    from rlstudio.core import catalog

    assert {load_spec(p).algorithm for p in EXAMPLES} == set(catalog.ALGORITHMS)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_catalog_accepts_every_option_of_rllibs_examples(path):
    spec = load_spec(path)
    problems = validate(spec, trusted=frozenset())
    assert [str(p) for p in problems] == []
    jsonschema.validate(safe_load(path.read_text(encoding="utf-8")), json_schema())


@pytest.mark.ray
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_rllib_builds_and_validates_each_example(path):
    """No Ray session: the AlgorithmConfig is built from the file and RLlib's own validate() passes (the Atari
    example too: the test extra installs ale-py, rlstudio[atari])."""
    from rlstudio.engine.build import algorithm_config

    spec = load_spec(path)
    config = algorithm_config(spec)
    config.validate()
    for name, value in spec.hyperparameters.items():
        if name == "model_config":
            for key, sub in value.items():
                assert config.model_config[key] == sub, key
        else:
            got = getattr(config, name)
            assert got == value or (isinstance(got, tuple) and list(got) == value), (name, got, value)
