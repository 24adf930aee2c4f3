"""Several seeds per configuration: every configuration the search proposes is trained ``seeds`` times.

The trials of one configuration form a *group* (``rlstudio_group`` in the trial's config, ``group`` in the event
log). :class:`SeedGroups` is a Tune ``Searcher`` that wraps the real search:

- grid and random search: the configurations Tune's own variant generator would make (``generate_variants`` over
  the param space, ``num_samples`` times, seeded), computed once so the searcher's state pickles for a resume;
- Optuna / HyperOpt: their searcher, which proposes a configuration and later sees **one result for it**, the mean
  of its seeds' final windowed returns (so a lucky seed does not steer the search).

Each configuration is handed out ``seeds`` times in a row with ``seed`` = 0, 1, ... (RLlib seeds its env runners
and torch from it). Schedulers (ASHA, median stopping, PBT) still decide per trial: Tune's schedulers act on
trials, and stopping a whole group on one seed's result would need a scheduler of our own; the report's group
statistics then rest on the trials the scheduler let finish.
"""

from __future__ import annotations

import copy
import pickle

from ray.tune.search import Searcher
from ray.tune.search.variant_generator import generate_variants

GROUP_KEY = "rlstudio_group"


class SeedGroups(Searcher):
    def __init__(self, seeds: int, metric: str, mode: str, inner: Searcher | None = None, num_samples: int = 1,
                 random_seed: int | None = None):
        super().__init__(metric=metric, mode=mode)
        self.seeds = int(seeds)
        self.inner = inner
        self.num_samples = int(num_samples)
        self.random_seed = random_seed
        self._variants: list[dict] | None = None  # grid/random: every configuration, in order
        self._next_variant = 0
        self._groups: dict[str, dict] = {}  # group id -> {"config", "issued", "finished": {trial: value}}
        self._trial_group: dict[str, str] = {}
        self._open: str | None = None  # the group still handing out seeds

    # ---- Searcher protocol ----------------------------------------------------------------------------

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        self._metric, self._mode = metric or self._metric, mode or self._mode
        if self.inner is not None:
            from ray.tune.search.searcher import _set_search_properties_backwards_compatible

            return _set_search_properties_backwards_compatible(
                self.inner.set_search_properties, self._metric, self._mode, config, **spec)
        import numpy as np

        rng = np.random.RandomState(self.random_seed)
        self._variants = []
        for _ in range(self.num_samples):
            for _, variant in generate_variants(copy.deepcopy(config), random_state=rng):
                self._variants.append(variant)
        return True

    def suggest(self, trial_id: str):
        if self._open is None or self._groups[self._open]["issued"] >= self.seeds:
            config = self._new_config()
            if config is None or config == Searcher.FINISHED:
                return config
            gid = f"g{len(self._groups)}"
            self._groups[gid] = {"config": config, "issued": 0, "finished": {}, "errored": 0}
            self._open = gid
        group = self._groups[self._open]
        seed = group["issued"]
        group["issued"] += 1
        self._trial_group[trial_id] = self._open
        out = copy.deepcopy(group["config"])
        out["seed"] = seed
        out[GROUP_KEY] = self._open
        return out

    def _new_config(self):
        if self.inner is not None:
            return self.inner.suggest(self._inner_id(len(self._groups)))
        if self._next_variant >= len(self._variants or ()):
            return Searcher.FINISHED
        config = self._variants[self._next_variant]
        self._next_variant += 1
        return config

    @staticmethod
    def _inner_id(index: int) -> str:
        return f"group_g{index}"

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        pass  # the inner searcher sees one result per configuration, at its end

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        gid = self._trial_group.get(trial_id)
        if gid is None:
            return
        group = self._groups[gid]
        value = (result or {}).get(self.metric) if not error else None
        if value is None:
            group["errored"] += 1
        else:
            group["finished"][trial_id] = float(value)
        if self.inner is None or len(group["finished"]) + group["errored"] < self.seeds:
            return
        inner_id = self._inner_id(int(gid[1:]))
        if group["finished"]:
            mean = sum(group["finished"].values()) / len(group["finished"])
            self.inner.on_trial_complete(inner_id, {**(result or {}), self.metric: mean})
        else:
            self.inner.on_trial_complete(inner_id, None, error=True)

    # ---- state (a resume restores it) --------------------------------------------------------------------

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as fh:
            pickle.dump(self.__dict__.copy(), fh)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as fh:
            self.__dict__.update(pickle.load(fh))
