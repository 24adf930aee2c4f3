"""``rlstudio install-envs box2d|mujoco|atari|all``: pip in a child process into RL Studio's own environment.

The Environment page's Install button runs this same command (``--json``: one JSON object per line, which the
GUI's CommandProcess reads), so the app and the terminal install the same packages the same way
(core/families.py says which).
"""

from __future__ import annotations

import json
import sys
import time

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_command(sub) -> None:
    from rlstudio.core import families

    names = ", ".join(f"{f.key} ({', '.join(f.env_ids)})" for f in families.FAMILIES.values())
    p = sub.add_parser("install-envs", help="install environment families into RL Studio's own Python: "
                                            "box2d, mujoco, atari or all",
                       description=f"Install environment families with pip, wheels only: {names}.")
    p.add_argument("families", nargs="+", metavar="FAMILY", help="box2d, mujoco, atari or all")
    p.add_argument("--json", action="store_true", help="one JSON object per line (the app reads these)")
    p.add_argument("--dry-run", action="store_true", help="print the pip command and install nothing")
    p.set_defaults(func=main)


def main(args) -> int:
    from rlstudio.core import families

    keys, error = families.parse_keys(args.families)
    if error:
        print(f"rlstudio: {error}", file=sys.stderr)
        return EXIT_USAGE
    cmd = families.install_command(keys)
    if args.dry_run:
        print(" ".join(cmd))
        return EXIT_OK

    def emit(obj: dict) -> None:
        print(json.dumps(obj), flush=True)

    labels = ", ".join(families.FAMILIES[k].label for k in keys)
    started = time.monotonic()
    if args.json:
        emit({"type": "started", "families": keys, "command": cmd})
    else:
        print(f"Installing {labels} into {sys.prefix} with: {' '.join(cmd)}", flush=True)

    def on_line(line: str) -> None:
        if args.json:
            step = families.step_of(line)
            emit({"type": "output", "text": line, **({"step": step} if step else {})})
        else:
            print(line, flush=True)

    try:
        code = families.run_install(keys, on_line)
    except OSError as exc:  # pip could not be started at all
        code, reason = EXIT_FAILED, f"pip could not be started: {exc}"
    else:
        reason = "" if code == 0 else f"pip ended with exit code {code} (its output above says why)"
    installed = {k: families.installed(k) for k in keys}
    missing = [families.FAMILIES[k].label for k, ok in installed.items() if not ok]
    if code == 0 and missing:
        code, reason = EXIT_FAILED, f"pip finished, but {', '.join(missing)} still cannot be imported"
    seconds = round(time.monotonic() - started, 1)
    if args.json:
        emit({"type": "finished", "code": code, "installed": installed, "seconds": seconds, "reason": reason})
    elif code == 0:
        ids = ", ".join(i for k in keys for i in families.FAMILIES[k].env_ids)
        print(f"{labels} installed in {seconds:g} s: {ids} and the rest of the family are ready.")
    else:
        print(f"rlstudio: {labels} not installed: {reason}", file=sys.stderr)
    return EXIT_OK if code == 0 else EXIT_FAILED
