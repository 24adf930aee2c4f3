"""Policy compression: pruning, int8 quantisation, distillation into a smaller network, export, and an honest
comparison of every variant with the original.

The policy of a checkpoint's RLModule is first taken out as a plain ``torch.nn.Module`` (the *policy net*) that maps
a batch of observations to the action-distribution inputs (logits, Gaussian mean+log-std, or Q-values). For RLlib's
default MLP modules (PPO/APPO/IMPALA, SAC, DQN) that is the actor's own layers, copied in order; the copy is checked
against the module's ``forward_inference`` on sample observations before anything else happens. Other modules
(custom, recurrent, CNN, distributional DQN, free log-std heads) are refused with a message that says so.

Every variant is evaluated the same way: greedy actions (``Policy._to_env_action`` maps them to the env), the same
seeded episodes as ``rlstudio evaluate``, parameters counted from the tensors, size read from the saved files,
latency the median of many single-observation calls on one thread. :func:`optimize` writes everything into an
output folder that appears only when complete (it is built in ``DIR.part`` and renamed).

Torch is imported inside the functions, so option checking answers at once.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import os
import platform
import shutil
import statistics
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from rlstudio.core.folder import output_problem
from rlstudio.core.layers import parse_hidden_sizes
from rlstudio.engine.policy import Policy, PolicyError, evaluate, load_policy, module_dir

ONNX_ATOL = 1e-4
ONNX_RTOL = 1e-4
ONNX_OPSET = 17
# Episodes used to gather the states a student learns from start at this seed, far from the evaluation seeds
# (0, 1, ...), so a student is never scored on the very starts it was trained on.
DISTILL_SEED = 1_000_000


class CompressError(Exception):
    """Bad input or an unsupported policy; ``option`` names the command-line option at fault, if one is."""

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.option = option


class Cancelled(Exception):
    """The caller asked to stop; nothing was written."""


# ---- options ------------------------------------------------------------------------------------------

def parse_hidden(text) -> tuple[int, ...] | None:
    """The student's hidden sizes (core/layers.py parses them, as the app's form does); CompressError naming
    ``--distill`` when they are not sizes."""
    try:
        return parse_hidden_sizes(text)
    except ValueError as exc:
        raise CompressError(f"--distill {exc}", "--distill") from None


@dataclass
class Options:
    prune: float | None = None          # fraction of weights set to zero, in [0, 1)
    prune_scope: str = "global"         # "global": smallest weights of the whole net; "layer": same share per layer
    quantize: bool = False              # dynamic int8 quantisation of the linear layers
    distill: tuple[int, ...] | None = None  # student hidden sizes
    distill_steps: int = 2000
    episodes: int = 20
    seed: int = 0
    latency_calls: int = 2000

    def validate(self) -> "Options":
        if self.prune is not None and not (isinstance(self.prune, (int, float)) and 0.0 <= self.prune < 1.0):
            raise CompressError(f"--prune is the fraction of weights to set to zero and must be in [0, 1) "
                                f"(e.g. 0.5); got {self.prune}", "--prune")
        if self.prune_scope not in ("global", "layer"):
            raise CompressError(f"--prune-scope must be 'global' or 'layer'; got {self.prune_scope!r}",
                                "--prune-scope")
        if self.distill is not None:
            self.distill = parse_hidden(self.distill)
        if not isinstance(self.distill_steps, int) or self.distill_steps < 1:
            raise CompressError(f"--distill-steps must be a whole number of at least 1; got {self.distill_steps}",
                                "--distill-steps")
        if self.episodes < 1:
            raise CompressError(f"--episodes must be at least 1; got {self.episodes}", "--episodes")
        if self.latency_calls < 10:
            raise CompressError("latency needs at least 10 calls", "latency_calls")
        return self

    def recipes(self) -> list[tuple[str, ...]]:
        """Which variants to build: each chosen step alone, then every combination of two or more in the order
        distil -> prune -> quantise (quantised layers cannot be pruned afterwards)."""
        chosen = [s for s, on in (("distil", self.distill is not None), ("prune", self.prune is not None),
                                  ("quantize", self.quantize)) if on]
        out: list[tuple[str, ...]] = [(s,) for s in chosen]
        from itertools import combinations

        for n in range(2, len(chosen) + 1):
            out += [tuple(c) for c in combinations(chosen, n)]
        return out


# ---- the policy as a plain torch module -----------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _nn():
    """Torch module classes, built on first use so that importing this module does not import torch."""
    import torch
    from torch import nn

    class ClipLogStd(nn.Module):
        """The Gaussian head's log-std clipping (RLlib's ``clip_log_std``), as a layer."""

        def __init__(self, bound: float):
            super().__init__()
            self.bound = float(bound)

        def forward(self, x):
            mean, log_std = torch.chunk(x, 2, dim=-1)
            return torch.cat((mean, torch.clamp(log_std, -self.bound, self.bound)), dim=-1)

    class DuelingQ(nn.Module):
        """Q = V + A - mean(A), as RLlib's dueling DQN computes it."""

        def __init__(self, trunk, advantage, value):
            super().__init__()
            self.trunk, self.advantage, self.value = trunk, advantage, value

        def forward(self, x):
            h = self.trunk(x)
            a = self.advantage(h)
            return self.value(h) + a - a.mean(dim=-1, keepdim=True)

    return torch, nn, ClipLogStd, DuelingQ


ACTIVATIONS = ("Tanh", "ReLU", "SiLU", "ELU", "LeakyReLU", "GELU", "Sigmoid", "Identity", "Softplus")


@dataclass
class PolicyNet:
    """The policy as a plain module, and how to read its outputs."""

    net: object                  # torch.nn.Module: obs [B, obs_dim] float32 -> outputs [B, out_dim]
    head: str                    # "logits" (Discrete), "gaussian" (Box: mean then log-std), "q_values" (Discrete)
    obs_dim: int
    out_dim: int
    action_space: object
    source: str                  # plain words: which layers of which module
    activation: str = "Tanh"

    @property
    def action_dim(self) -> int:
        return int(np.prod(self.action_space.shape)) if self.head == "gaussian" else int(self.action_space.n)


def _mlp_layers(part, what: str) -> list:
    _, nn, _, _ = _nn()
    mlp = getattr(getattr(part, "net", None), "mlp", None)
    if not isinstance(mlp, nn.Sequential):
        raise CompressError(f"the {what} is a {type(part).__name__}, not a plain MLP; only RLlib's default MLP "
                            f"networks (fcnet_hiddens) can be compressed")
    layers = list(mlp)
    for layer in layers:
        if not isinstance(layer, (nn.Linear, nn.LayerNorm)) and type(layer).__name__ not in ACTIVATIONS:
            raise CompressError(f"the {what} contains a {type(layer).__name__} layer, which compression does not "
                                f"handle")
    return [copy.deepcopy(layer) for layer in layers]


def _head_layers(head, what: str) -> list:
    _, _, ClipLogStd, _ = _nn()
    if type(head).__name__ != "TorchMLPHead":
        raise CompressError(f"the {what} is a {type(head).__name__} (e.g. a free log-std head), which compression "
                            f"does not handle; only RLlib's default MLP heads are supported")
    layers = _mlp_layers(head, what)
    if getattr(head, "clip_log_std", False):
        layers.append(ClipLogStd(float(head.log_std_clip_param_const.item())))
    return layers


def extract_policy_net(module) -> PolicyNet:
    """The actor of a default RLlib torch RLModule as a plain module, checked against ``forward_inference``."""
    import gymnasium as gym

    torch, nn, _, DuelingQ = _nn()
    if not isinstance(module, nn.Module):
        raise CompressError(f"the checkpoint's module is a {type(module).__name__}, not a torch RLModule; only "
                            f"torch policies can be compressed", "CHECKPOINT")
    if getattr(module, "is_stateful", lambda: False)():
        raise CompressError("the policy is recurrent (it keeps a state between steps); compression handles "
                            "feed-forward policies only", "CHECKPOINT")
    obs_space, act_space = module.observation_space, module.action_space
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        raise CompressError(f"the observation space {obs_space} is not a flat vector (Box with one dimension); "
                            f"compression and export handle flat vectors only", "CHECKPOINT")
    if isinstance(act_space, gym.spaces.Discrete):
        head = "logits"
    elif isinstance(act_space, gym.spaces.Box) and len(act_space.shape) == 1:
        head = "gaussian"
    else:
        raise CompressError(f"the action space {act_space} cannot be exported: compression handles Discrete and "
                            f"one-dimensional Box action spaces", "CHECKPOINT")
    kind = type(module).__name__
    obs_dim = int(obs_space.shape[0])

    def layers_of(encoder, what):
        return _mlp_layers(encoder, what)

    if hasattr(module, "pi") and hasattr(module, "encoder"):  # PPO, APPO, IMPALA
        enc = module.encoder
        inner = getattr(enc, "actor_encoder", None) or getattr(enc, "encoder", None)
        if inner is None:
            raise CompressError(f"{kind} has an encoder of an unknown shape ({type(enc).__name__})", "CHECKPOINT")
        net = nn.Sequential(*layers_of(inner, "actor encoder"), *_head_layers(module.pi, "policy head"))
        source = f"{kind}: actor encoder + policy head"
    elif hasattr(module, "pi") and hasattr(module, "pi_encoder"):  # SAC
        net = nn.Sequential(*layers_of(module.pi_encoder, "policy encoder"), *_head_layers(module.pi, "policy head"))
        source = f"{kind}: policy encoder + policy head"
    elif hasattr(module, "af") and hasattr(module, "encoder"):  # DQN
        if getattr(module, "num_atoms", 1) > 1:
            raise CompressError("distributional DQN (num_atoms > 1) is not supported", "CHECKPOINT")
        trunk = nn.Sequential(*layers_of(module.encoder, "Q encoder"))
        advantage = nn.Sequential(*_head_layers(module.af, "advantage head"))
        if getattr(module, "uses_dueling", False):
            net = DuelingQ(trunk, advantage, nn.Sequential(*_head_layers(module.vf, "value head")))
        else:
            net = nn.Sequential(*trunk, *advantage)
        head, source = "q_values", f"{kind}: Q encoder + {'dueling ' if module.uses_dueling else ''}Q head"
    else:
        raise CompressError(f"{kind} is not one of RLlib's default PPO/APPO/IMPALA/SAC/DQN modules; compression "
                            f"cannot find its policy layers", "CHECKPOINT")
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    acts = [type(m).__name__ for m in net.modules() if type(m).__name__ in ACTIVATIONS]
    with torch.no_grad():
        out_dim = int(net(torch.zeros(1, obs_dim)).shape[-1])
    pn = PolicyNet(net=net, head=head, obs_dim=obs_dim, out_dim=out_dim, action_space=act_space, source=source,
                   activation=acts[0] if acts else "Tanh")
    _check_against_module(pn, module)
    return pn


def _reference_outputs(module, obs):
    batch = {"obs": obs}
    if hasattr(module, "af"):
        return module.compute_q_values(batch)["qf_preds"]
    return module.forward_inference(batch)["action_dist_inputs"]


def _check_against_module(pn: PolicyNet, module) -> None:
    torch = _nn()[0]
    rng = np.random.default_rng(0)
    obs = torch.as_tensor(rng.normal(size=(64, pn.obs_dim)).astype(np.float32))
    with torch.no_grad():
        ours = pn.net(obs)
        theirs = _reference_outputs(module, obs)
    if ours.shape != theirs.shape or not torch.allclose(ours, theirs, atol=1e-5, rtol=1e-5):
        raise CompressError(f"the layers taken out of {type(module).__name__} do not reproduce its outputs; this "
                            f"module's structure is not supported", "CHECKPOINT")


class NetPolicy(Policy):
    """A :class:`Policy` acting greedily with a plain policy net (any variant), so that ``evaluate`` and
    ``Policy._to_env_action`` are shared with the original. ``Policy.__init__`` is not called: it expects an
    RLModule and its distribution class, which a plain net does not have."""

    def __init__(self, net, head: str, action_space):
        self.module = net
        self.head = head
        self.action_space = action_space
        self._torch = _nn()[0]
        self._action_dim = int(np.prod(action_space.shape)) if head == "gaussian" else None
        net.eval()

    def act(self, obs, greedy: bool = True):
        if not greedy:
            raise CompressError("compressed policies act greedily (the most likely action)")
        torch = self._torch
        with torch.inference_mode():
            out = self.module(torch.as_tensor(np.asarray(obs, dtype=np.float32)[None]))[0].numpy()
        return self._to_env_action(greedy_action(out, self.head, self._action_dim))


class OnnxPolicy(Policy):
    """The exported ONNX file under ONNX Runtime, acting the same way (used for its latency)."""

    def __init__(self, path: Path, head: str, action_space):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self.session.get_inputs()[0].name
        self.head = head
        self.action_space = action_space
        self._action_dim = int(np.prod(action_space.shape)) if head == "gaussian" else None

    def outputs(self, obs: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self._input: np.asarray(obs, dtype=np.float32)})[0]

    def act(self, obs, greedy: bool = True):
        out = self.outputs(np.asarray(obs, dtype=np.float32)[None])[0]
        return self._to_env_action(greedy_action(out, self.head, self._action_dim))


def greedy_action(out: np.ndarray, head: str, action_dim: int | None):
    """The distribution's mode from its inputs: argmax for logits/Q-values, the Gaussian's mean (the first half)
    otherwise, which ``Policy._to_env_action`` then maps to the env's range (as RLlib's deterministic action)."""
    if head in ("logits", "q_values"):
        return int(np.argmax(out))
    return out[:action_dim]


# ---- transformations ----------------------------------------------------------------------------------

def _linears(net) -> list:
    _, nn, _, _ = _nn()
    return [m for m in net.modules() if isinstance(m, nn.Linear)]


def prune(net, amount: float, scope: str = "global"):
    """A copy of ``net`` with ``amount`` of its linear weights set to zero by magnitude, made permanent.
    ``global``: the smallest weights over all layers; ``layer``: the same fraction in each layer."""
    from torch.nn.utils import prune as tprune

    net = copy.deepcopy(net)
    linears = _linears(net)
    if amount > 0:
        if scope == "global":
            tprune.global_unstructured([(m, "weight") for m in linears], pruning_method=tprune.L1Unstructured,
                                       amount=float(amount))
        else:
            for m in linears:
                tprune.l1_unstructured(m, "weight", amount=float(amount))
        for m in linears:
            tprune.remove(m, "weight")
    for p in net.parameters():
        p.requires_grad_(False)
    return net.eval()


@contextlib.contextmanager
def _torch_deprecations():
    """torch 2.13 marks TorchScript, the TorchScript-based ONNX exporter and ``torch.ao.quantization`` as deprecated,
    yet they are the only offline, dependency-free way to do what is asked here with the pinned torch (the
    torch.export-based ONNX exporter needs onnxscript and takes ~3 s per model; int8 in torchao is GPU-first).
    Those three notices are silenced here, and only here; any other warning still surfaces."""
    with warnings.catch_warnings():
        for pattern in (r"torch\.ao\.quantization is deprecated", r"torch\.quantize_per_tensor",
                        r"`torch\.jit\.", r"You are using the legacy TorchScript-based ONNX export",
                        r"The feature will be removed"):
            warnings.filterwarnings("ignore", message=pattern)
        yield


def quantize(net):
    """A copy of ``net`` with dynamically quantised int8 linear layers (weights int8, activations quantised per
    call); the rest stays float32."""
    torch, nn, _, _ = _nn()
    engines = torch.backends.quantized.supported_engines
    if not any(e in engines for e in ("x86", "fbgemm", "qnnpack")):
        raise CompressError(f"this machine's torch has no int8 engine (supported: {engines})", "--quantize")
    with _torch_deprecations():
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(net), {nn.Linear}, dtype=torch.qint8).eval()


def is_quantized(net) -> bool:
    return any(_is_quantized_linear(m) for m in net.modules())


def _is_quantized_linear(m) -> bool:
    import torch.ao.nn.quantized.dynamic as qd

    return isinstance(m, qd.Linear)


def _weights(net) -> list:
    """(weight, bias) tensors of every linear layer, int8 ones dequantised."""
    _, nn, _, _ = _nn()
    out = []
    for m in net.modules():
        if _is_quantized_linear(m):
            out.append((m.weight().dequantize(), m.bias()))
        elif isinstance(m, nn.Linear):
            out.append((m.weight.detach(), None if m.bias is None else m.bias.detach()))
    return out


def count_parameters(net) -> tuple[int, int]:
    """(all parameters, non-zero parameters), counted from the tensors: int8 packed weights as well as float ones."""
    _, nn, _, _ = _nn()
    tensors = [t for pair in _weights(net) for t in pair if t is not None]
    for m in net.modules():  # anything that is not a linear layer (LayerNorm, ...)
        if not isinstance(m, nn.Linear) and not _is_quantized_linear(m):
            tensors += [p.detach() for p in m.parameters(recurse=False)]
    return sum(t.numel() for t in tensors), sum(int((t != 0).sum()) for t in tensors)


def weight_sparsity(net) -> float:
    """Share of linear-layer weights (biases excluded) that are exactly zero."""
    ws = [w for w, _ in _weights(net)]
    total = sum(w.numel() for w in ws)
    return float(sum(int((w == 0).sum()) for w in ws) / total) if total else 0.0


def build_mlp(obs_dim: int, hidden: tuple[int, ...], out_dim: int, activation: str = "Tanh"):
    _, nn, _, _ = _nn()
    act = getattr(nn, activation, nn.Tanh)
    layers, width = [], obs_dim
    for h in hidden:
        layers += [nn.Linear(width, h), act()]
        width = h
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def _distillation_loss(teacher_out, student_out, head: str):
    """KL(teacher || student) per state, averaged: the student learns the whole action distribution, not only the
    greedy action."""
    torch = _nn()[0]
    if head == "gaussian":
        tm, tls = torch.chunk(teacher_out, 2, dim=-1)
        sm, sls = torch.chunk(student_out, 2, dim=-1)
        sls = sls.clamp(-20.0, 5.0)
        kl = sls - tls + (torch.exp(2 * tls) + (tm - sm) ** 2) / (2 * torch.exp(2 * sls)) - 0.5
        return kl.sum(-1).mean()
    log_p = torch.log_softmax(teacher_out, dim=-1)
    log_q = torch.log_softmax(student_out, dim=-1)
    return (log_p.exp() * (log_p - log_q)).sum(-1).mean()


def collect_states(policy: Policy, env, steps: int, seed: int, teacher: Policy | None = None,
                   beta: float = 0.0, rng=None, cancelled: Callable[[], bool] | None = None) -> np.ndarray:
    """Observations met while ``policy`` acts (with probability ``beta`` the teacher acts instead: DAgger's
    mixture), over whole seeded episodes until ``steps`` states are gathered."""
    states: list[np.ndarray] = []
    episode = 0
    while len(states) < steps:
        obs, _ = env.reset(seed=seed + episode)
        episode += 1
        done = False
        while not done and len(states) < steps:
            states.append(np.asarray(obs, dtype=np.float32))
            actor = teacher if teacher is not None and rng is not None and rng.random() < beta else policy
            obs, _, terminated, truncated, _ = env.step(actor.act(obs))
            done = terminated or truncated
        if cancelled and cancelled():
            raise Cancelled()
    return np.stack(states)


def distil(teacher: PolicyNet, env, hidden: tuple[int, ...], steps: int, *, seed: int = DISTILL_SEED,
           batch_size: int = 256, lr: float = 3e-3, rollout_steps: int = 2000, dagger_rounds: int = 3,
           on_progress: Callable[[int, int, float], None] | None = None,
           cancelled: Callable[[], bool] | None = None):
    """A student MLP (``hidden`` sizes, the teacher's activation) trained for ``steps`` Adam steps to match the
    teacher's action distribution on states the teacher visits, then (DAgger) on states the student itself visits
    with the teacher's labels, so that it learns to recover from its own mistakes. ``on_progress(step, steps,
    loss)`` is called about every 1 % of the steps. Returns (student, losses)."""
    torch = _nn()[0]
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    teacher_policy = NetPolicy(teacher.net, teacher.head, teacher.action_space)
    states = collect_states(teacher_policy, env, rollout_steps, seed, cancelled=cancelled)
    x = torch.as_tensor(states)
    with torch.no_grad():
        y = teacher.net(x)
    student = build_mlp(teacher.obs_dim, hidden, teacher.out_dim, teacher.activation)
    optimizer = torch.optim.Adam(student.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=lr * 0.05)
    gen = torch.Generator().manual_seed(seed)
    rounds = {int(steps * (r + 1) / (dagger_rounds + 1)) for r in range(dagger_rounds)} if steps >= 4 else set()
    every = max(1, steps // 100)
    losses: list[float] = []
    for step in range(1, steps + 1):
        if step in rounds:  # DAgger: the student acts (the teacher sometimes), the teacher labels
            student.eval()
            more = collect_states(NetPolicy(student, teacher.head, teacher.action_space), env, rollout_steps // 2,
                                  seed + 10_000 * step, teacher=teacher_policy, beta=0.2, rng=rng,
                                  cancelled=cancelled)
            mx = torch.as_tensor(more)
            with torch.no_grad():
                x, y = torch.cat([x, mx]), torch.cat([y, teacher.net(mx)])
        student.train()
        idx = torch.randint(len(x), (min(batch_size, len(x)),), generator=gen)
        loss = _distillation_loss(y[idx], student(x[idx]), teacher.head)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
        if on_progress and (step % every == 0 or step == steps):
            on_progress(step, steps, float(np.mean(losses[-every:])))
        if cancelled and step % 50 == 0 and cancelled():
            raise Cancelled()
    student.eval()
    for p in student.parameters():
        p.requires_grad_(False)
    return student, losses


# ---- export -------------------------------------------------------------------------------------------

def export_torchscript(net, path: Path, obs_dim: int) -> None:
    torch = _nn()[0]
    with _torch_deprecations(), torch.no_grad():
        traced = torch.jit.trace(net, torch.zeros(1, obs_dim))
        torch.jit.save(traced, str(path))


def load_torchscript(path: Path):
    torch = _nn()[0]
    with _torch_deprecations():
        return torch.jit.load(str(path)).eval()


def export_onnx(net, path: Path, obs_dim: int) -> None:
    """TorchScript-based exporter (``dynamo=False``): works offline with no extra package and is exact for these
    MLPs. A dynamically quantised net raises (torch has no ONNX form for its int8 linear op)."""
    torch = _nn()[0]
    with _torch_deprecations(), torch.no_grad():
        torch.onnx.export(net, (torch.zeros(1, obs_dim),), str(path), dynamo=False, input_names=["obs"],
                          output_names=["action_dist_inputs"], dynamic_axes={"obs": {0: "batch"},
                                                                            "action_dist_inputs": {0: "batch"}},
                          opset_version=ONNX_OPSET)


def max_abs_difference(reference: np.ndarray, other: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(reference, dtype=np.float64) - np.asarray(other, dtype=np.float64))))


def within_tolerance(reference: np.ndarray, other: np.ndarray) -> bool:
    return bool(np.allclose(other, reference, atol=ONNX_ATOL, rtol=ONNX_RTOL))


# ---- measuring ----------------------------------------------------------------------------------------

@contextlib.contextmanager
def one_thread():
    """Batch-1 latency is measured on one thread: the honest figure for an agent acting step by step, and steadier
    on a shared machine."""
    torch = _nn()[0]
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def latency_us(policy: Policy, states: np.ndarray, calls: int) -> float:
    """Median wall time of ``policy.act`` on one observation (numpy in, env action out), in microseconds."""
    warm = min(100, calls)
    for i in range(warm):
        policy.act(states[i % len(states)])
    times = []
    clock = time.perf_counter
    for i in range(calls):
        obs = states[i % len(states)]
        t = clock()
        policy.act(obs)
        times.append(clock() - t)
    return statistics.median(times) * 1e6


# ---- the whole job ------------------------------------------------------------------------------------

def variant_name(recipe: tuple[str, ...], options: Options) -> str:
    if not recipe:
        return "policy net"

    def label(step: str) -> str:
        if step == "distil":
            return "student " + "×".join(map(str, options.distill or ()))
        if step == "prune":
            return f"pruned {options.prune:.0%}" + ("" if options.prune_scope == "global" else " per layer")
        return "int8"

    return " + ".join(label(s) for s in recipe)


def slug(name: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in name.replace("×", "x").replace("%", "pct").lower())
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")


@dataclass
class VariantRow:
    name: str
    steps: list[str]
    params: int
    nonzero_params: int
    weight_sparsity: float
    dtype: str
    size_bytes: int | None           # the saved file: TorchScript for the variants, module state for the RLlib one
    size_file: str | None
    onnx_bytes: int | None
    onnx_max_abs_diff: float | None
    onnx_ok: bool | None
    onnx_note: str
    latency_us: float                # torch, batch 1, one thread (the RLlib row: its forward_inference path)
    latency_onnx_us: float | None    # ONNX Runtime, batch 1, one thread
    mean_return: float
    std_return: float
    success_rate: float | None
    returns: list[float] = field(default_factory=list)
    folder: str | None = None


@dataclass
class Report:
    checkpoint: str
    env: dict
    source: str
    head: str
    options: dict
    episodes: int
    seed: int
    threshold: float | None
    onnx_tolerance: dict
    latency: str
    rows: list[VariantRow]
    distill_losses: list[float]
    output: str | None = None
    versions: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def row(self, name: str) -> VariantRow:
        return next(r for r in self.rows if r.name == name)


Emit = Callable[[dict], None]


def _module_state_file(checkpoint: Path) -> Path | None:
    folder = module_dir(checkpoint)
    for name in ("module_state.pt", "module_state.pkl"):
        if (folder / name).exists():
            return folder / name
    return None


def load_teacher(checkpoint: str | Path, action_space=None) -> tuple[Policy, PolicyNet]:
    """The checkpoint's RLModule (as RLlib acts with it) and its policy net. Raises CompressError naming the
    checkpoint when it is missing, is not an RLlib checkpoint, or holds a policy compression cannot handle."""
    path = Path(checkpoint).expanduser()
    if not path.exists():
        raise CompressError(f"CHECKPOINT not found: {path}", "CHECKPOINT")
    try:
        original = load_policy(path, action_space)
    except PolicyError as exc:
        raise CompressError(f"CHECKPOINT: {exc}", "CHECKPOINT") from None
    return original, extract_policy_net(original.module)


def optimize(checkpoint: str | Path, output: str | Path, options: Options, env_factory: Callable[[], object],
             env_info: dict, threshold: float | None = None, emit: Emit | None = None,
             cancelled: Callable[[], bool] | None = None) -> Report:
    """Build, evaluate and export every variant chosen by ``options``. The output folder is built as
    ``OUTPUT.part`` and renamed to ``OUTPUT`` only when complete; on an error or :class:`Cancelled` nothing is left.
    ``emit`` receives JSON-friendly progress dicts (``event``: ``stage``, ``distill``, ``variant``)."""
    options.validate()
    out = Path(output).expanduser().resolve()
    if output_problem(out):
        raise CompressError(f"-o {output_problem(out)}", "-o")
    emit = emit or (lambda event: None)
    is_cancelled = cancelled or (lambda: False)
    recipes = options.recipes()
    total_units = 2 + (6 if options.distill else 0) + 3 * (len(recipes) + 2)
    done_units = [0.0]

    def stage(text: str, units: float = 1.0) -> None:
        if is_cancelled():
            raise Cancelled()
        emit({"event": "stage", "stage": text, "fraction": round(min(done_units[0] / total_units, 1.0), 4)})
        done_units[0] += units

    stage("loading the checkpoint")
    env = env_factory()
    original, teacher = load_teacher(checkpoint, env.action_space)
    checkpoint = Path(checkpoint).expanduser().resolve()

    part = out.with_name(out.name + ".part")
    if part.exists():  # a previous attempt that was killed before it could clean up
        shutil.rmtree(part)
    part.mkdir(parents=True)
    try:
        report = _build(checkpoint, part, options, recipes, original, teacher, env, env_info, threshold, emit,
                        is_cancelled, stage, total_units, done_units)
        if out.exists():
            out.rmdir()  # an empty folder the user made for us
        os.replace(part, out)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    finally:
        env.close()
    report.output = str(out)
    for row in report.rows:
        if row.folder:
            row.folder = str(out / row.folder)
    return report


def _build(checkpoint, part, options, recipes, original, teacher, env, env_info, threshold, emit, is_cancelled,
           stage, total_units, done_units) -> Report:
    import gymnasium  # noqa: F401 - versions below
    import onnxruntime
    import torch

    def episode_hook(_env):
        if is_cancelled():
            raise Cancelled()

    def evaluated(policy):
        return evaluate(policy, env, options.episodes, options.seed, threshold, on_step=episode_hook)

    # states the teacher visits: the inputs for latency and for the ONNX parity check
    teacher_policy = NetPolicy(teacher.net, teacher.head, teacher.action_space)
    probe = collect_states(teacher_policy, env, 512, DISTILL_SEED - 1000, cancelled=is_cancelled)
    rng = np.random.default_rng(options.seed)
    parity_states = np.concatenate([probe[:256], rng.normal(size=(64, teacher.obs_dim)).astype(np.float32)])

    rows: list[VariantRow] = []
    stage("evaluating the original RLlib module", 2)
    state_file = _module_state_file(checkpoint)
    module_params = sum(p.numel() for p in original.module.parameters())
    module_nonzero = sum(int((p != 0).sum()) for p in original.module.parameters())
    with one_thread():
        result = evaluated(original)
        rllib_latency = latency_us(original, probe, options.latency_calls)
    rows.append(VariantRow(
        name="original (RLlib module)", steps=[], params=module_params, nonzero_params=module_nonzero,
        weight_sparsity=0.0, dtype="float32", size_bytes=state_file.stat().st_size if state_file else None,
        size_file=str(state_file) if state_file else None, onnx_bytes=None, onnx_max_abs_diff=None, onnx_ok=None,
        onnx_note="as RLlib acts (value function included); the policy net below is its exportable part",
        latency_us=rllib_latency, latency_onnx_us=None, mean_return=result.mean_return,
        std_return=result.std_return, success_rate=result.success_rate, returns=result.returns))
    emit({"event": "variant", "row": asdict(rows[-1])})

    student = None
    losses: list[float] = []
    if options.distill:
        stage(f"distilling a {'×'.join(map(str, options.distill))} student", 0)
        last = [0.0]
        start_units = done_units[0]

        def on_progress(step, steps, loss):
            now = time.monotonic()
            done_units[0] = start_units + 6 * step / steps
            if now - last[0] >= 0.1 or step == steps:  # at most ~10 reports a second reach the reader
                last[0] = now
                emit({"event": "distill", "step": step, "steps": steps, "loss": loss,
                      "fraction": round(min(done_units[0] / total_units, 1.0), 4)})

        student, losses = distil(teacher, env, options.distill, options.distill_steps, on_progress=on_progress,
                                 cancelled=is_cancelled)
        done_units[0] = start_units + 6

    variants: list[tuple[str, tuple[str, ...], object]] = [("policy net", (), teacher.net)]
    for recipe in recipes:
        net = teacher.net
        for step in recipe:
            if step == "distil":
                net = student
            elif step == "prune":
                net = prune(net, options.prune, options.prune_scope)
            elif step == "quantize":
                net = quantize(net)
        variants.append((variant_name(recipe, options), recipe, net))

    reference = {}
    for name, recipe, net in variants:
        stage(f"evaluating {name}", 3)
        folder = part / slug(name)
        folder.mkdir()
        policy = NetPolicy(net, teacher.head, teacher.action_space)
        with one_thread():
            result = evaluated(policy)
            torch_latency = latency_us(policy, probe, options.latency_calls)
        ts_path = folder / "policy.pt"
        export_torchscript(net, ts_path, teacher.obs_dim)
        with torch.no_grad():
            eager_out = net(torch.as_tensor(parity_states)).numpy()
            scripted_out = load_torchscript(ts_path)(torch.as_tensor(parity_states)).numpy()
        if not within_tolerance(eager_out, scripted_out):
            raise CompressError(f"the TorchScript export of {name} does not reproduce the model "
                                f"(max difference {max_abs_difference(eager_out, scripted_out):.3g})")
        onnx_bytes = onnx_diff = onnx_ok = onnx_latency = None
        if is_quantized(net):
            onnx_note = ("no ONNX file: torch's ONNX exporter has no form for dynamically quantised int8 linear "
                         "layers; act.py uses the TorchScript file")
        else:
            onnx_path = folder / "policy.onnx"
            try:
                export_onnx(net, onnx_path, teacher.obs_dim)
            except Exception as exc:  # noqa: BLE001 - reported in the table, the other files still stand
                onnx_note = f"no ONNX file: the export failed ({type(exc).__name__}: {str(exc)[:200]})"
                onnx_path.unlink(missing_ok=True)
            else:
                ort_policy = OnnxPolicy(onnx_path, teacher.head, teacher.action_space)
                ort_out = ort_policy.outputs(parity_states)
                onnx_diff = max_abs_difference(eager_out, ort_out)
                onnx_ok = within_tolerance(eager_out, ort_out)
                onnx_bytes = onnx_path.stat().st_size
                onnx_latency = latency_us(ort_policy, probe, options.latency_calls)
                onnx_note = (f"ONNX Runtime matches torch on {len(parity_states)} states: max |difference| "
                             f"{onnx_diff:.2g}" if onnx_ok else
                             f"ONNX Runtime DIFFERS from torch: max |difference| {onnx_diff:.3g} on "
                             f"{len(parity_states)} states")
        params, nonzero = count_parameters(net)
        (folder / "policy.json").write_text(json.dumps(_policy_meta(name, recipe, teacher, env_info), indent=2))
        row = VariantRow(
            name=name, steps=[variant_name((s,), options) for s in recipe], params=params, nonzero_params=nonzero,
            weight_sparsity=weight_sparsity(net), dtype="int8 linear weights" if is_quantized(net) else "float32",
            size_bytes=ts_path.stat().st_size, size_file=str(ts_path.relative_to(part)), onnx_bytes=onnx_bytes,
            onnx_max_abs_diff=onnx_diff, onnx_ok=onnx_ok, onnx_note=onnx_note, latency_us=torch_latency,
            latency_onnx_us=onnx_latency, mean_return=result.mean_return, std_return=result.std_return,
            success_rate=result.success_rate, returns=result.returns, folder=folder.name)
        rows.append(row)
        reference[name] = row
        emit({"event": "variant", "row": asdict(row)})

    stage("writing the report", 0)
    report = Report(
        checkpoint=str(checkpoint), env=env_info, source=teacher.source, head=teacher.head,
        options={**asdict(options), "distill": list(options.distill) if options.distill else None},
        episodes=options.episodes, seed=options.seed, threshold=threshold,
        onnx_tolerance={"atol": ONNX_ATOL, "rtol": ONNX_RTOL, "rule": "|onnx - torch| <= atol + rtol * |torch|"},
        latency=f"median of {options.latency_calls} single-observation act() calls, one thread, "
                f"{platform.processor() or platform.machine()}",
        rows=rows, distill_losses=losses,
        versions={"torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
                  "python": platform.python_version()})
    (part / "report.json").write_text(json.dumps(report.to_dict(), indent=2))
    (part / "table.txt").write_text(format_table(report) + "\n")
    (part / "act.py").write_text(ACT_SCRIPT)
    (part / "README.md").write_text(_readme(report))
    return report


def _policy_meta(name, recipe, teacher: PolicyNet, env_info: dict) -> dict:
    import gymnasium as gym

    space = teacher.action_space
    meta = {"variant": name, "steps": list(recipe), "head": teacher.head, "obs_dim": teacher.obs_dim,
            "output_dim": teacher.out_dim, "env": env_info, "input": "obs", "output": "action_dist_inputs"}
    if isinstance(space, gym.spaces.Box):
        meta.update(action="box", action_dim=teacher.action_dim, low=space.low.tolist(), high=space.high.tolist(),
                    note="the mean (first half of the outputs) is in [-1, 1]; act.py maps it to [low, high]")
    else:
        meta.update(action="discrete", n=int(space.n), note="the action is the argmax of the outputs")
    return meta


# ---- presenting ---------------------------------------------------------------------------------------

def _kb(n: int | None) -> str:
    return "—" if n is None else f"{n / 1024:.1f}"


def format_table(report: Report) -> str:
    header = ["variant", "params", "non-zero", "dtype", "file KB", "ONNX KB", "ONNX parity", "torch µs",
              "ORT µs", "mean return", "success"]
    lines = []
    for r in report.rows:
        parity = "—" if r.onnx_ok is None else (f"ok {r.onnx_max_abs_diff:.0e}" if r.onnx_ok else
                                               f"FAIL {r.onnx_max_abs_diff:.1e}")
        if r.onnx_ok is None and r.folder and r.dtype.startswith("int8"):
            parity = "n/a (int8)"
        lines.append([r.name, f"{r.params:,}", f"{r.nonzero_params:,}", r.dtype.split()[0], _kb(r.size_bytes),
                      _kb(r.onnx_bytes), parity, f"{r.latency_us:.1f}",
                      "—" if r.latency_onnx_us is None else f"{r.latency_onnx_us:.1f}",
                      f"{r.mean_return:.1f} ± {r.std_return:.1f}",
                      "—" if r.success_rate is None else f"{r.success_rate:.0%}"])
    widths = [max(len(h), *(len(row[i]) for row in lines)) for i, h in enumerate(header)]
    fmt = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    out = [fmt(header), "  ".join("-" * w for w in widths), *(fmt(row) for row in lines)]
    success = f" (success: return ≥ {report.threshold:g})" if report.threshold is not None else ""
    out.append(f"{report.episodes} episodes seeded {report.seed}..{report.seed + report.episodes - 1} for every "
               f"variant{success}; latency: {report.latency}; ONNX parity: |onnx − torch| ≤ {ONNX_ATOL:g} + "
               f"{ONNX_RTOL:g}·|torch|.")
    return "\n".join(out)


def _readme(report: Report) -> str:
    names = "\n".join(f"- `{Path(r.folder).name if r.folder else ''}`: {r.name}" for r in report.rows if r.folder)
    return f"""# Compressed policies

From `{report.checkpoint}` ({report.source}), environment `{report.env.get('id') or report.env.get('entry_point')}`.

```
{format_table(report)}
```

Each folder holds `policy.pt` (TorchScript), `policy.onnx` (when the variant can be expressed in ONNX) and
`policy.json` (how to read the outputs). Variants:

{names}

Play one with only gymnasium and onnxruntime (or torch):

    python act.py {Path(report.rows[-1].folder).name if report.rows[-1].folder else ''} --episodes 5
"""


ACT_SCRIPT = '''"""Play a policy exported by RL Studio: needs only numpy, gymnasium and onnxruntime (or torch for the TorchScript
files, which int8 variants need). Run it from anywhere:

    python act.py                          # lists the variants
    python act.py policy-net --episodes 5  # ONNX Runtime when the variant has policy.onnx, else TorchScript
    python act.py student-16x16 --runtime torchscript
"""

import argparse
import importlib
import json
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


def load(folder, runtime):
    meta = json.loads((folder / "policy.json").read_text())
    onnx_file = folder / "policy.onnx"
    if runtime == "auto":
        runtime = "onnx" if onnx_file.exists() else "torchscript"
    if runtime == "onnx":
        if not onnx_file.exists():
            sys.exit(f"{folder.name} has no ONNX file (int8 variants are TorchScript only); use --runtime torchscript")
        import onnxruntime

        session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name

        def forward(obs):
            return session.run(None, {name: obs})[0]
    else:
        import torch

        net = torch.jit.load(str(folder / "policy.pt")).eval()

        def forward(obs):
            with torch.no_grad():
                return net(torch.from_numpy(obs)).numpy()
    return meta, forward, runtime


def act(meta, forward, obs):
    out = forward(np.asarray(obs, dtype=np.float32).reshape(1, -1))[0]
    if meta["action"] == "discrete":
        return int(np.argmax(out))
    low, high = np.asarray(meta["low"], dtype=np.float32), np.asarray(meta["high"], dtype=np.float32)
    mean = out[: meta["action_dim"]]  # RLlib's policies act in [-1, 1]; map to the env's range
    return np.clip(low + (np.clip(mean, -1.0, 1.0) + 1.0) * (high - low) / 2.0, low, high).astype(np.float32)


def make_env(env):
    import gymnasium as gym

    if env.get("entry_point"):  # a custom environment class: its module must be importable from here
        module, _, attr = env["entry_point"].partition(":")
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj(**(env.get("kwargs") or {}))
    return gym.make(env["id"], **(env.get("kwargs") or {}))


def main():
    variants = sorted(p.parent.name for p in HERE.glob("*/policy.json"))
    parser = argparse.ArgumentParser(description="play an exported policy")
    parser.add_argument("variant", nargs="?", choices=variants)
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runtime", choices=["auto", "onnx", "torchscript"], default="auto")
    args = parser.parse_args()
    if args.variant is None:
        print("variants:", ", ".join(variants))
        return 0
    meta, forward, runtime = load(HERE / args.variant, args.runtime)
    env = make_env(meta["env"])
    returns = []
    for i in range(args.episodes):
        obs, _ = env.reset(seed=args.seed + i)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(act(meta, forward, obs))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
        print(f"episode {i + 1}: return {total:g}")
    env.close()
    print(f"{args.variant} ({runtime}): mean return {np.mean(returns):g} over {len(returns)} episodes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''
