"""The JSON Schema of experiment files (``rlstudio schema``), for editors and other tools.

Generated from the catalog's fields (the same ones the forms show and validation checks: scheduler options,
resources, search, stop, checkpoints), so the three cannot drift; tests/test_schema.py holds a file to both and
fails where they disagree. It describes the structure; the meaning-level checks (does the algorithm have this
option, does the trial fit the cluster) are :mod:`rlstudio.core.validation`'s. It accepts every file the loader
reads: files of schema version 0 (migrated on load), files without a ``schema_version``, ``scheduler: asha``.
"""

from __future__ import annotations

from rlstudio.core import catalog, connectors
from rlstudio.core.domains import DOMAIN_KINDS
from rlstudio.core.spec import SCHEDULERS, SCHEMA_VERSION

_NUM = {"type": "number"}


def _domain_schema() -> dict:
    variants = []
    for kind, (n, text) in DOMAIN_KINDS.items():
        items = {"type": "array", "minItems": 1} if n is None else {
            "type": "array", "items": _NUM, "minItems": n, "maxItems": n}
        variants.append({"type": "object", "description": text, "properties": {kind: items},
                         "required": [kind], "additionalProperties": False})
    return {"oneOf": variants}


def field_schema(f: catalog.Field) -> dict:
    """One field as JSON Schema, from the same facts as :func:`rlstudio.core.catalog.field_problem`."""
    base = f.type.removeprefix("optional_")
    if base == "int":
        out: dict = {"type": "integer"}
    elif base == "float":
        out = {"type": "number"}
    elif f.type == "bool":
        out = {"type": "boolean"}
    elif f.type == "choice":
        out = {"enum": list(f.choices)}
    elif f.type == "mutations":
        out = {"type": "object", "minProperties": 1}
    else:
        out = {}
    if f.minimum is not None:
        out["exclusiveMinimum" if f.exclusive_minimum else "minimum"] = f.minimum
    if f.maximum is not None:
        out["maximum"] = f.maximum
    if f.type.startswith("optional"):
        out = {"anyOf": [out, {"type": "null"}]}
    out["description"] = f.help
    return out


def _section(fields, closed: bool = False) -> dict:
    out = {"type": "object", "properties": {f.key: field_schema(f) for f in fields}}
    if closed:
        out["additionalProperties"] = False
    return out


def _scheduler_schema() -> dict:
    variants = []
    for typ in SCHEDULERS:
        props = {"type": {"const": typ}}
        props.update({key: field_schema(f) for key, f in catalog.scheduler_options(typ).items()})
        variant = {"type": "object", "properties": props, "additionalProperties": False, "required": ["type"]}
        if typ == "pbt":
            variant["required"] = ["type", "mutations"]
        variants.append(variant)
    # no type means fifo (the loader's default), which takes no options
    variants.append({"type": "object", "not": {"required": ["type"]}, "additionalProperties": False})
    return {"anyOf": [{"enum": list(SCHEDULERS), "description": "the scheduler's type, with its defaults"},
                      *variants],
            "description": catalog.SCHEDULER_FIELDS["type"].help}


def _v1_schema() -> dict:
    return {
        "type": "object",
        "required": ["env"],
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
                          "description": " | ".join(catalog.ALGORITHMS) + ", or 'package.module:AlgorithmClass'"},
            "hyperparameters": {
                "type": "object",
                "description": "Any training option of the algorithm: a plain value is fixed, a one-key mapping "
                               "is a search domain",
                "additionalProperties": {"anyOf": [{"$ref": "#/$defs/domain"}, {}]},
            },
            "connectors": connectors.json_schema(),
            "resources": _section(catalog.RESOURCE_FIELDS),
            "search": _section(catalog.SEARCH_FIELDS),
            "scheduler": _scheduler_schema(),
            "stop": _section(catalog.STOP_FIELDS, closed=True),
            "checkpoint": _section(catalog.CHECKPOINT_FIELDS),
            "ray": {"type": "object", "properties": {
                "address": {"type": "string"}, "num_cpus": {"type": ["integer", "null"], "minimum": 1}}},
        },
    }


def _v0_schema() -> dict:
    """The draft format before the first release, which the loader migrates (spec.migrate)."""
    return {
        "type": "object",
        "properties": {
            "schema_version": {"const": 0},
            "environment": {"anyOf": [{"type": "string"}, {"type": "object"}]},
            "params": {"type": "object"},
            "workers": {"type": "object"},
            "search_alg": {"type": "string"},
        },
    }


def json_schema() -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://rlstudio.invalid/schema/experiment-v1.json",
        "title": "RL Studio experiment",
        "$defs": {"domain": _domain_schema()},
        "if": {"type": "object", "properties": {"schema_version": {"const": 0}}, "required": ["schema_version"]},
        "then": _v0_schema(),
        "else": _v1_schema(),
    }
