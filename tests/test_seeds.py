"""Seeds per configuration (engine/seeds.py): the searcher hands each configuration out N times and the inner
search sees one result per configuration. Tune's search classes, no Ray session."""

from ray import tune

from rlstudio.engine.seeds import GROUP_KEY, SeedGroups

METRIC = "rlstudio/return"


def suggestions(searcher, n):
    return [searcher.suggest(f"t{i}") for i in range(n)]


def test_grid_and_random_configurations_each_come_with_every_seed():
    space = {"lr": tune.grid_search([0.1, 0.2]), "gamma": tune.uniform(0.9, 0.99), "fixed": 7}
    searcher = SeedGroups(3, METRIC, "max", num_samples=2, random_seed=0)
    assert searcher.set_search_properties(METRIC, "max", space)
    configs = suggestions(searcher, 12)
    assert searcher.suggest("t12") == SeedGroups.FINISHED  # 2 samples x 2 grid values x 3 seeds
    groups = [configs[i:i + 3] for i in range(0, 12, 3)]
    for group in groups:
        assert [c["seed"] for c in group] == [0, 1, 2]
        assert len({c[GROUP_KEY] for c in group}) == 1
        assert len({(c["lr"], c["gamma"]) for c in group}) == 1 and group[0]["fixed"] == 7
    assert sorted(g[0]["lr"] for g in groups) == [0.1, 0.1, 0.2, 0.2]
    assert len({g[0]["gamma"] for g in groups}) == 4  # random values differ between configurations


def test_optuna_proposes_a_configuration_and_learns_from_the_mean_of_its_seeds():
    from ray.tune.search.optuna import OptunaSearch

    inner = OptunaSearch(metric=METRIC, mode="max", seed=0)
    searcher = SeedGroups(2, METRIC, "max", inner=inner)
    searcher.set_search_properties(METRIC, "max", {"lr": tune.loguniform(1e-4, 1e-2)})
    first = suggestions(searcher, 2)
    assert first[0]["lr"] == first[1]["lr"] and [c["seed"] for c in first] == [0, 1]
    searcher.on_trial_complete("t0", {METRIC: 10.0})
    assert not inner._ot_study.get_trials(deepcopy=False)[0].values  # one seed is not the configuration's result
    searcher.on_trial_complete("t1", {METRIC: 20.0})
    [trial] = inner._ot_study.get_trials(deepcopy=False)
    assert trial.values == [15.0]  # the mean of its seeds
    second = searcher.suggest("t2")
    assert second["seed"] == 0 and second[GROUP_KEY] == "g1" and second["lr"] != first[0]["lr"]


def test_the_searcher_state_survives_a_save_and_restore(tmp_path):
    space = {"lr": tune.grid_search([0.1, 0.2])}
    searcher = SeedGroups(2, METRIC, "max")
    searcher.set_search_properties(METRIC, "max", space)
    done = suggestions(searcher, 3)
    searcher.save(str(tmp_path / "state.pkl"))
    restored = SeedGroups(2, METRIC, "max")
    restored.restore(str(tmp_path / "state.pkl"))
    rest = suggestions(restored, 1)
    assert rest[0]["lr"] == done[2]["lr"] and rest[0]["seed"] == 1
    assert restored.suggest("x") == SeedGroups.FINISHED
