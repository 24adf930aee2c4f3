"""Imported by every Python worker of the app's local Ray session when it starts, before any work arrives.

Importing torch and RLlib takes a new worker ~2.5 s; doing it ahead (Ray's ``preload_python_modules``) lets a
trial actor start in ~0.03 s, and build a seeded PPO in 0.05 s instead of 1.6 s (see the imports).

One thing must then be put right: Ray sets ``OMP_NUM_THREADS`` to the CPUs given to a task or actor (1 for a
trial's main process, an env runner, a CPU learner) only when that work arrives, and torch has sized its thread
pool from the variable at import, when it was not set yet: every trial would compute with one thread per core
of the machine, and two trials on two cores ran each iteration ~6x slower. So Ray's own step that sets the
variable also gives torch the same number (``torch.set_num_threads``).
"""

from __future__ import annotations

import os

import ray._private.utils as _ray_utils
import ray.rllib.algorithms.appo  # noqa: F401
import ray.rllib.algorithms.dqn  # noqa: F401
import ray.rllib.algorithms.ppo  # noqa: F401
import ray.rllib.algorithms.sac  # noqa: F401
import ray.tune  # noqa: F401
import torch
import torch._inductor.config  # noqa: F401 - RLlib seeds every trial that has a seed with
#                                 torch.use_deterministic_algorithms, whose first call imports it: ~1-1.5 s


def _torch_threads_follow_ray(set_omp_num_threads_if_unset):
    def wrapper():
        changed = set_omp_num_threads_if_unset()
        threads = os.environ.get("OMP_NUM_THREADS", "")
        if threads.isdigit() and int(threads) > 0 and torch.get_num_threads() != int(threads):
            torch.set_num_threads(int(threads))
        return changed

    wrapper._rlstudio = True
    return wrapper


if not getattr(_ray_utils.set_omp_num_threads_if_unset, "_rlstudio", False):
    _ray_utils.set_omp_num_threads_if_unset = _torch_threads_follow_ray(_ray_utils.set_omp_num_threads_if_unset)
