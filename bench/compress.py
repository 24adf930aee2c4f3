"""Policy compression on the `cartpole-fast` preset's trained policy: what each variant costs in return and gains in
size and latency, measured the way `rlstudio optimize` measures them (same seeded episodes for every variant,
batch-1 latency on one thread, sizes of the written files).

Trains the preset through the engine on a fresh local session (≈ 20 s), or takes a checkpoint:

    python bench/compress.py [--checkpoint CKPT] [--episodes 20] [--distill-steps 2000]

Variants: the RLlib module as checkpointed, its policy net, pruned 50 %, int8, a 2×16 student, and the combinations.
The last line is one JSON object; `student_return_ratio` and `student_latency_ratio*` compare the 16×16 student with
the teacher's policy net (the same weights RLlib acts with) and with RLlib's own forward path.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _common import print_figures, run_engine, temp_storage

from rlstudio.core.events import read_events
from rlstudio.core.presets import presets_dir
from rlstudio.core.spec import load_spec


def train(storage: Path) -> Path:
    from rlstudio.engine.session import SessionHost

    spec = load_spec(presets_dir() / "cartpole-fast.yaml")
    host = SessionHost()
    host.start()
    try:
        spec.ray.address = host.address
        result = run_engine(spec, host.address, storage, target=475.0)
    finally:
        host.close()
    saved = [e["path"] for e in read_events(result["folder"]) if e["event"] == "checkpoint_saved"]
    if result["exit_code"] != 0 or not saved:
        raise SystemExit(f"training failed (exit {result['exit_code']}); see {result['folder']}/runner.log")
    print(f"trained cartpole-fast in {result['exit_s']:.1f} s: {saved[-1]}", flush=True)
    return Path(saved[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", help="a trained CartPole checkpoint (default: train the preset now)")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--distill-steps", type=int, default=2000)
    args = parser.parse_args()
    storage = temp_storage()
    checkpoint = Path(args.checkpoint) if args.checkpoint else train(storage)

    from rlstudio.core.envs import make_env
    from rlstudio.engine.compress import Options, format_table, optimize

    options = Options(prune=0.5, quantize=True, distill=(16, 16), distill_steps=args.distill_steps,
                      episodes=args.episodes).validate()
    started = time.perf_counter()
    report = optimize(checkpoint, storage / "compressed", options, lambda: make_env("CartPole-v1", None, {}),
                      {"id": "CartPole-v1"}, threshold=475.0)
    elapsed = time.perf_counter() - started
    print(format_table(report))
    print(f"(optimize took {elapsed:.1f} s; exports in {report.output})")
    rows = {r.name: r for r in report.rows}
    rllib, teacher, student = rows["original (RLlib module)"], rows["policy net"], rows["student 16×16"]
    student_q = rows["student 16×16 + int8"]
    figures = {
        "episodes": args.episodes,
        "distill_steps": args.distill_steps,
        "optimize_s": round(elapsed, 1),
        "teacher_mean_return": teacher.mean_return,
        "rllib_module_latency_us": round(rllib.latency_us, 1),
        "teacher_latency_us": round(teacher.latency_us, 1),
        "teacher_onnx_latency_us": round(teacher.latency_onnx_us, 1),
        "teacher_params": teacher.params,
        "student_mean_return": student.mean_return,
        "student_success_rate": student.success_rate,
        "student_params": student.params,
        "student_latency_us": round(student.latency_us, 1),
        "student_onnx_latency_us": round(student.latency_onnx_us, 1),
        "student_onnx_bytes": student.onnx_bytes,
        "teacher_onnx_bytes": teacher.onnx_bytes,
        "student_return_ratio": round(student.mean_return / teacher.mean_return, 4),
        "student_latency_ratio_vs_teacher_net": round(student.latency_us / teacher.latency_us, 3),
        "student_onnx_latency_ratio_vs_rllib_module": round(student.latency_onnx_us / rllib.latency_us, 3),
        "student_params_ratio": round(student.params / teacher.params, 4),
        "pruned_mean_return": rows["pruned 50%"].mean_return,
        "int8_mean_return": rows["int8"].mean_return,
        "int8_latency_us": round(rows["int8"].latency_us, 1),
        "student_int8_mean_return": student_q.mean_return,
        "all_onnx_parity_ok": all(r.onnx_ok for r in report.rows if r.onnx_ok is not None),
    }
    print_figures(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
