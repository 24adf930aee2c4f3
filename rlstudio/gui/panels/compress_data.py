"""What the Compress panel shows, without Qt: the table's columns and their help, a variant's cells, the note when
int8 is slower than float, where a compression's output goes by default, and what keeps Run from starting.
"""

from __future__ import annotations

import time
from pathlib import Path

from rlstudio.core.folder import COMPRESSED_DIR, experiment_of, output_problem
from rlstudio.core.layers import HIDDEN_SIZES_RULE, parse_hidden_sizes

COLUMNS = ("Variant", "Params", "Non-zero", "dtype", "File KB", "ONNX KB", "ONNX parity", "torch µs", "ORT µs",
           "Mean return", "Success")
COLUMN_HELP = (
    "The original RLlib module, its policy network alone, and each compressed variant.",
    "Number of weights and biases.",
    "Weights that are not zero (pruning sets weights to zero; the file keeps them, so size does not shrink).",
    "float32, or int8 for quantised linear layers.",
    "Size of the saved file: the module state for the RLlib module, the TorchScript file for the variants.",
    "Size of the ONNX file (int8 variants have none: torch cannot express them in ONNX).",
    "Whether ONNX Runtime reproduces the torch outputs within |difference| ≤ 1e-4 + 1e-4·|value|.",
    "Median time to choose one action with torch, one observation at a time, on one thread.",
    "The same with the ONNX file under ONNX Runtime.",
    "Mean ± std of the return over the same seeded episodes for every variant.",
    "Share of episodes reaching the environment's success threshold.",
)


def default_output(checkpoint: str | Path) -> Path:
    """A new folder for this compression: under the experiment (``compressed/<time>``), or beside the checkpoint."""
    base = experiment_of(checkpoint) or Path(checkpoint).parent
    return base / COMPRESSED_DIR / time.strftime("%Y%m%d-%H%M%S")


def kilobytes(n) -> str:
    """Bytes as kilobytes with one decimal, "—" when unknown."""
    return "—" if n is None else f"{n / 1024:.1f}"


def row_cells(row: dict) -> list[str]:
    """A variant's row of the table, as the cells' texts in ``COLUMNS`` order."""
    if row.get("onnx_ok") is None:
        parity = "n/a (int8)" if str(row.get("dtype", "")).startswith("int8") else "—"
    else:
        parity = ("ok " if row["onnx_ok"] else "FAIL ") + f"{row['onnx_max_abs_diff']:.0e}"
    latency_onnx = row.get("latency_onnx_us")
    success = row.get("success_rate")
    return [row["name"], f"{row['params']:,}", f"{row['nonzero_params']:,}", str(row["dtype"]).split()[0],
            kilobytes(row.get("size_bytes")), kilobytes(row.get("onnx_bytes")), parity, f"{row['latency_us']:.1f}",
            "—" if latency_onnx is None else f"{latency_onnx:.1f}",
            f"{row['mean_return']:.1f} ± {row['std_return']:.1f}", "—" if success is None else f"{success:.0%}"]


def int8_note(rows: list[dict]) -> str | None:
    """One line when an int8 variant chooses actions more slowly than the same network in float32 (the usual case
    for small networks: quantising and dequantising each layer's input costs more than the int8 arithmetic saves)."""
    slower = []
    for row in rows:
        steps = list(row.get("steps") or [])
        if not str(row.get("dtype", "")).startswith("int8") or "int8" not in steps:
            continue
        base_steps = [s for s in steps if s != "int8"]
        bases = [r for r in rows if list(r.get("steps") or []) == base_steps and not str(r.get("dtype", "")).startswith(
            "int8")]
        base = next((r for r in bases if not r["name"].startswith("original")), bases[0] if bases else None)
        if base is not None and row["latency_us"] > base["latency_us"]:
            slower.append(f"{row['name']} {row['latency_us']:.0f} µs vs {base['name']} {base['latency_us']:.0f} µs")
    if not slower:
        return None
    return ("int8 is slower than float32 at this size (" + "; ".join(slower) + "): for a network this small, "
            "converting each layer's input to int8 and back costs more than the int8 arithmetic saves. int8 pays off "
            "for wider layers.")


def student_sizes(text: str) -> tuple[int, ...] | None:
    """The student's hidden layer sizes as typed ("16,16", "16x16"), None when they cannot be read."""
    try:
        return parse_hidden_sizes(text)
    except ValueError:
        return None


def run_problem(checkpoint: str | None, prune: bool, quantize: bool, distill: bool, hidden_text: str,
                output: str) -> str | None:
    """Why the compression cannot start with these choices (the Run button's tooltip says it), None if it can."""
    if not checkpoint:
        return "Choose a checkpoint first."
    if not (prune or quantize or distill):
        return "Choose at least one of prune, quantise or distil."
    if distill and student_sizes(hidden_text) is None:
        return f"Student sizes: {HIDDEN_SIZES_RULE}."
    if not output:
        return "Choose an output folder."
    if output_problem(output):
        return "The output folder already exists; choose a new one (nothing is overwritten)."
    return None
