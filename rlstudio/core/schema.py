"""The JSON Schema of experiment files (``rlstudio schema``), for editors and other tools.

It describes the structure; the meaning-level checks (does the algorithm have this option, does the trial fit
the cluster) are :mod:`rlstudio.core.validation`'s.
"""

from __future__ import annotations

from rlstudio.core.domains import DOMAIN_KINDS
from rlstudio.core.spec import SCHEDULERS, SEARCH_ALGORITHMS, SCHEMA_VERSION

_NUM = {"type": "number"}
_INT = {"type": "integer"}
_NAT = {"type": "integer", "minimum": 0}
_POS = {"type": "integer", "minimum": 1}


def _domain_schema() -> dict:
    variants = []
    for kind, (n, text) in DOMAIN_KINDS.items():
        items = {"type": "array", "minItems": 1} if n is None else {
            "type": "array", "items": _NUM, "minItems": n, "maxItems": n}
        variants.append({"type": "object", "description": text, "properties": {kind: items},
                         "required": [kind], "additionalProperties": False})
    return {"oneOf": variants}


def json_schema() -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://rlstudio.invalid/schema/experiment-v1.json",
        "title": "RL Studio experiment",
        "type": "object",
        "required": ["schema_version", "name", "env", "algorithm"],
        "$defs": {"domain": _domain_schema()},
        "properties": {
            "schema_version": {"type": "integer", "minimum": 0, "maximum": SCHEMA_VERSION},
            "name": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$"},
            "description": {"type": "string"},
            "env": {
                "type": "object",
                "description": "A Gymnasium id, or a custom class by import path",
                "properties": {"id": {"type": "string"},
                               "entry_point": {"type": "string", "pattern": r"^[\w.]+:[\w.]+$"},
                               "kwargs": {"type": "object"}},
            },
            "algorithm": {"type": "string",
                          "description": "PPO | APPO | IMPALA | DQN | SAC, or 'package.module:AlgorithmClass'"},
            "hyperparameters": {
                "type": "object",
                "description": "Any training option of the algorithm: a plain value is fixed, a one-key mapping "
                               "is a search domain",
                "additionalProperties": {"anyOf": [{"$ref": "#/$defs/domain"}, {}]},
            },
            "resources": {"type": "object", "properties": {
                "env_runners": _NAT, "envs_per_runner": _POS, "learners": _NAT,
                "gpus_per_learner": {"type": "number", "minimum": 0},
                "max_concurrent_trials": {"type": ["integer", "null"], "minimum": 1}}},
            "search": {"type": "object", "properties": {
                "algorithm": {"enum": list(SEARCH_ALGORITHMS)}, "num_samples": _POS,
                "seed": {"type": ["integer", "null"]},
                "seeds": {"type": ["integer", "null"], "minimum": 1, "maximum": 100}}},
            "scheduler": {"type": "object", "required": ["type"], "properties": {
                "type": {"enum": list(SCHEDULERS)}, "grace_period": _NUM, "reduction_factor": _NUM,
                "max_t": _INT, "perturbation_interval": _INT, "quantile_fraction": _NUM,
                "resample_probability": _NUM, "min_samples_required": _INT, "mutations": {"type": "object"}}},
            "stop": {"type": "object", "properties": {
                "episode_return_mean": _NUM, "timesteps": _NUM, "iterations": _NUM, "time_s": _NUM,
                "return_window": {"type": ["integer", "null"], "minimum": 1},
                "confirm_episodes": {"type": ["integer", "null"], "minimum": 0}},
                "additionalProperties": False},
            "checkpoint": {"type": "object", "properties": {
                "every": _NAT, "at_end": {"type": "boolean"}, "keep": {"type": ["integer", "null"], "minimum": 1},
                "max_failures": {"type": ["integer", "null"], "minimum": 0}}},
            "ray": {"type": "object", "properties": {
                "address": {"type": "string"}, "num_cpus": {"type": ["integer", "null"], "minimum": 1}}},
        },
    }
