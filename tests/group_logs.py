"""Synthetic event logs with seeds and groups, in the format the runner writes since issue 11 (``trial_started``
with ``seed``/``group``, ``trial_result`` with episode returns and the windowed return, ``trial_evaluated``).
Used by the report tests and bench/report.py; a real run's log has the same fields (tests/test_engine.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

LRS = [0.001, 0.0003, 0.0001, 0.00003, 0.00001, 0.003, 0.01, 0.03]


def write_group_log(folder: str | Path, configurations: int = 3, seeds: int = 3, iterations: int = 30,
                    window: int = 20, seed: int = 0, final_model: bool = True, start: float = 1.8e9) -> Path:
    """Write ``folder/events.jsonl`` (and experiment.yaml) for a finished grid over learning rates × seeds.
    Configurations g0 and g1 learn fastest; the later ones progressively slower. Returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    # configuration g: the learning rate LRS[g // 2] (which matters) × num_epochs 1 or 2 (which does not)
    configs = [{"lr": LRS[g // 2], "num_epochs": 1 + g % 2} for g in range(configurations)]
    lrs = sorted({c["lr"] for c in configs}, reverse=True)
    spec = {"schema_version": 1, "name": "groups", "env": {"id": "CartPole-v1", "kwargs": {}}, "algorithm": "PPO",
            "hyperparameters": {"lr": {"grid": lrs}, "num_epochs": {"grid": [1, 2]}, "train_batch_size": 500},
            "search": {"algorithm": "grid", "num_samples": 1, "seeds": seeds}, "scheduler": {"type": "fifo"},
            "stop": {"iterations": iterations, "episode_return_mean": 475, "return_window": window}}
    (folder / "experiment.yaml").write_text(json.dumps(spec), encoding="utf-8")  # JSON is YAML
    t = start
    lines = [{"event": "experiment_started", "time": t, "name": "groups", "spec": spec,
              "planned_trials": configurations * seeds, "planned_configurations": configurations, "seeds": seeds,
              "folder": str(folder), "searched": ["lr", "num_epochs"]}]
    for g, config in enumerate(configs):
        for s in range(seeds):
            tid = f"abcde_{g * seeds + s:05d}"
            lines.append({"event": "trial_started", "time": t, "trial_id": tid, "config": config,
                          "seed": s, "group": f"g{g}"})
            skill = 1.0 / (1 + g // 2)  # the larger learning rates learn faster
            recent: list[float] = []
            total = 0
            for it in range(1, iterations + 1):
                level = 20 + 460 * (1 - np.exp(-skill * it * 6 / iterations)) + rng.normal(0, 8)
                count = int(rng.integers(1, 6))
                returns = [float(np.clip(level + rng.normal(0, 30), 8, 500)) for _ in range(count)]
                recent = (recent + returns)[-window:]
                total += count
                t += 0.5
                lines.append({"event": "trial_result", "time": t, "trial_id": tid, "iteration": it,
                              "timesteps": 500.0 * it, "time_s": 0.5 * it, "episode_return_mean": float(np.mean(returns)),
                              "episodes": count, "episode_returns": returns,
                              "episode_lengths": [int(r) for r in returns],
                              "return_window": float(np.mean(recent)) if total >= window else None,
                              "return_window_n": window, "episodes_total": total})
            lines.append({"event": "checkpoint_saved", "time": t, "trial_id": tid, "iteration": iterations,
                          "path": str(folder / "tune" / tid / "checkpoint_000000"), "timesteps": 500.0 * iterations})
            if g < 2:
                returns = [float(v) for v in rng.normal(480, 10, 20).clip(0, 500)]
                lines.append({"event": "trial_evaluated", "time": t, "trial_id": tid, "iteration": iterations,
                              "episodes": 20, "return_mean": float(np.mean(returns)),
                              "return_std": float(np.std(returns)), "returns": returns, "success": True})
            lines.append({"event": "trial_completed", "time": t, "trial_id": tid, "iteration": iterations,
                          "reason": "criterion"})
    lines.append({"event": "experiment_finished", "time": t, "status": "completed", "best_trial_id": "abcde_00000"})
    if final_model:
        path = str(folder / "final_model")
        lines.append({"event": "final_model_saved", "time": t + 10, "path": path, "trial_id": "abcde_00000",
                      "config": configs[0], "iterations": 20, "episode_return_mean": 500.0, "time_s": 10.0})
        lines.append({"event": "evaluated", "time": t + 20, "checkpoint": path, "trial_id": "abcde_00000",
                      "episodes": 10, "seed": 0, "mean_return": 498.5, "std_return": 2.5, "mean_length": 498.5,
                      "success_rate": 1.0, "threshold": 475.0, "returns": [498.5] * 10, "greedy": True})
    with open(folder / "events.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(line) + "\n" for line in lines)
    return folder
