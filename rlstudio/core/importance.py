"""Which searched hyperparameter mattered: Optuna's PED-ANOVA over the finished trials.

Why PED-ANOVA and not fANOVA: fANOVA fits a random forest and needs scikit-learn (~40 MB, not otherwise a
dependency); PED-ANOVA compares the Parzen density of each parameter among the best trials with its density
among all of them, needs only numpy, is deterministic (no forest seed) and is Optuna's default evaluator since
5.0. It answers the question the user asks of a sweep — "which setting did the best runs have in common?".

Every finished trial is one observation (a configuration run with 3 seeds counts three times): each seed is a
real measurement of that configuration, and a configuration that is good on every seed then weighs more than one
that was lucky once.

How many best trials: Optuna's default is the top 10 % and its documentation asks for at least 5 trials there;
with the tens of trials a sweep here has, 10 % is 2-3 trials whose density estimate is noise (a parameter that
does not matter then often comes out first). The top quantile used is ``10 / n`` clamped to [10 %, 50 %]: at least
10 trials among the best from 20 trials on, 5 (the top half) at 10 trials. Measured on synthetic sweeps where
only the learning rate matters (10 seeds each at 12, 30 and 60 trials): with a 3-value learning-rate grid beside
an irrelevant uniform and choice (tests/test_importance.py's sweep) the learning rate came first in 28 of 30 runs,
19 of 30 with the default 10 %; with a log-uniform learning rate, 29 of 30 (28 of 30).

Too few to say: below :data:`MIN_TRIALS` (10) finished trials no importance is computed — fewer than 5 trials
would be "the best" even at the top half. Nothing here imports Qt or Ray; Optuna is imported when importances
are computed.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable

from rlstudio.core.domains import Domain, as_domain

MIN_TRIALS = 10
METHOD = "PED-ANOVA (Optuna)"


@dataclass
class Importance:
    #: parameter -> share of the importance (sums to 1), most important first; empty when not computed
    importances: dict[str, float] = field(default_factory=dict)
    trials: int = 0
    note: str | None = None
    method: str = METHOD


def search_domains(hyperparameters: dict) -> dict[str, Domain]:
    """Dotted name -> domain of the searched hyperparameters in a spec's ``hyperparameters`` mapping (one level
    of nesting, as the runner names them: ``model_config.fcnet_hiddens``)."""
    out: dict[str, Domain] = {}
    for name, value in (hyperparameters or {}).items():
        domain = as_domain(value)
        if domain is not None:
            out[name] = domain
        elif isinstance(value, dict):
            for key, inner in value.items():
                domain = as_domain(inner)
                if domain is not None:
                    out[f"{name}.{key}"] = domain
    return out


def _choice(value: Any) -> Any:
    """A categorical value Optuna accepts (None, bool, int, float, str): lists such as layer sizes as JSON."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else json.dumps(value)


def distribution(domain: Domain):
    """The Optuna distribution of a search domain. Grids and choices are categorical (only those values were
    tried, in no order the evaluator may assume); ranges are numeric, log-scaled for ``loguniform``."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if domain.kind in ("grid", "choice"):
        return CategoricalDistribution(list(dict.fromkeys(_choice(v) for v in domain.args)))
    low, high = domain.args[0], domain.args[1]
    if domain.kind == "randint":
        return IntDistribution(int(low), int(high) - 1)  # Tune's randint excludes high
    return FloatDistribution(float(low), float(high), log=domain.kind == "loguniform")


def param_importances(hyperparameters: dict, observations: Iterable[tuple[dict, float]],
                      min_trials: int = MIN_TRIALS) -> Importance:
    """Importances of the searched hyperparameters from (config, final return) observations; higher returns are
    better. ``config`` maps the dotted names to the values a trial got (``trial_started.config``)."""
    domains = search_domains(hyperparameters)
    observations = [(c, float(v)) for c, v in observations if v is not None and math.isfinite(v)]
    n = len(observations)
    result = Importance(trials=n)
    if not domains:
        result.note = "Nothing was searched: every trial had the same hyperparameters."
        return result
    if n < min_trials:
        result.note = (f"Too few finished trials to say which hyperparameter matters: {n} finished, at least "
                       f"{min_trials} are needed (the method compares the best trials with all of them and needs "
                       f"at least 5 among the best). Run more trials or more seeds.")
        return result
    import optuna

    dists = {name: distribution(d) for name, d in domains.items()}
    varied = {name for name in dists
              if len({json.dumps(_choice(c.get(name)), sort_keys=True) for c, _ in observations}) > 1}
    trials, skipped = [], 0
    for config, value in observations:
        params = {}
        for name, dist in dists.items():
            raw = _choice(config.get(name))
            try:
                inside = raw is not None and dist._contains(dist.to_internal_repr(raw))
            except (ValueError, TypeError):  # a categorical value that is not among the choices
                inside = False
            if not inside:
                break
            params[name] = raw
        else:
            trials.append(optuna.trial.create_trial(params=params, distributions=dists, value=value))
            continue
        skipped += 1
    if len(trials) < min_trials:
        result.note = (f"Too few finished trials to say which hyperparameter matters: {len(trials)} usable, at "
                       f"least {min_trials} are needed.")
        return result
    if not varied:
        result.note = "Every finished trial had the same hyperparameter values: there is nothing to compare."
        return result
    quantile = min(0.5, max(0.1, 10 / len(trials)))
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "experimental" in older Optuna; equal-importance notices
            study = optuna.create_study(direction="maximize")
            study.add_trials(trials)
            evaluator = optuna.importance.PedAnovaImportanceEvaluator(target_quantile=quantile)
            values = optuna.importance.get_param_importances(study, evaluator=evaluator,
                                                             params=sorted(varied))
    finally:
        optuna.logging.set_verbosity(verbosity)
    result.importances = {k: float(v) for k, v in values.items()}
    notes = []
    fixed = sorted(set(dists) - varied)
    if fixed:
        notes.append(f"Every trial had the same value of {', '.join(fixed)}: no importance can be told for it.")
    if skipped:
        notes.append(f"{skipped} trial(s) had values outside the search space and were left out.")
    if len(varied) == 1:
        notes.append("Only one hyperparameter varied, so it carries all the importance by definition.")
    if result.importances and not any(result.importances.values()):
        notes.append("The best trials' values do not differ from the rest: no hyperparameter stands out.")
    notes.append(f"From {len(trials)} trials: which values the best {quantile:.0%} had in common.")
    result.note = " ".join(notes)
    return result


def experiment_importance(hyperparameters: dict, trials: Iterable, min_trials: int = MIN_TRIALS) -> Importance:
    """Importances from an experiment's finished trials (their final return, see :func:`stats.final_return`)."""
    from rlstudio.core.stats import final_return

    observations = []
    for t in trials:
        if t.status in ("running", "pending", "errored", "retrying"):
            continue
        value, _ = final_return(t)
        if value is not None:
            observations.append((t.config, value))
    return param_importances(hyperparameters, observations, min_trials)
