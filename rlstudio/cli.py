"""The ``rlstudio`` command. Without arguments it opens the desktop app; sub-commands run the engine headless.

Heavy imports (Ray, RLlib, torch) happen inside the commands that need them, so ``rlstudio validate`` and
``rlstudio --help`` answer at once.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rlstudio import __version__
from rlstudio.core.folder import EVENTS_FILE, LOG_FILE, SPEC_FILE, experiment_of, output_problem
from rlstudio.core.problems import errors
from rlstudio.core.spec import SpecFileError, load_spec

from rlstudio.engine.runner import EXIT_FAILED, EXIT_INVALID, EXIT_OK, EXIT_STOPPED
DEFAULT_STORAGE = "~/rlstudio-runs"


def _err(message: str) -> None:
    print(f"rlstudio: {message}", file=sys.stderr)


def _load(path: str):
    try:
        return load_spec(path)
    except SpecFileError as exc:
        _err(str(exc))
        return None


# ---- validate / schema / presets / export --------------------------------------------------------------

def _trust_named(spec, given: bool) -> None:
    """``--trust``: the modules this experiment names are trusted by this command and the processes it starts
    (the runner), not saved. Without it only the saved list counts (``rlstudio trust``, the app's Trust bar)."""
    if given and spec is not None:
        from rlstudio.core import trust

        trust.trust_for_this_process(trust.modules_named(spec))


def cmd_validate(args) -> int:
    from rlstudio.core import trust
    from rlstudio.core.validation import validate

    spec = _load(args.file)
    if spec is None:
        return EXIT_INVALID
    _trust_named(spec, args.trust)
    cluster = None
    if args.address:
        # the cluster's real nodes: a trial is checked against the largest node and the totals, not only that
        # something answers (an unreachable cluster or a refused token is told within 15 s)
        from rlstudio.core.validation import ClusterInfo
        from rlstudio.engine.session import SessionError, probe_cluster

        try:
            status = probe_cluster(args.address, os.environ.get("RLSTUDIO_RAY_TOKEN"))
        except SessionError as exc:
            _err(str(exc))
            return EXIT_INVALID
        cluster = ClusterInfo.from_status(status, address=args.address)
        print(f"cluster {args.address}: {_cluster_text(cluster)}")
    problems = validate(spec, deep=True, cluster=cluster)
    errs = errors(problems)
    for p in problems:
        print(f"{'error' if p.severity == 'error' else 'warning'}: {p}", file=sys.stderr if errs else sys.stdout)
    if errs:
        untrusted = [p for p in errs if trust.is_untrusted_problem(p)]
        if len(untrusted) == len(errs):
            # exit 2 all the same: `run` refuses this file until its code is trusted, and a script that gates
            # `run` on `validate` must not be told otherwise
            print(f"{args.file}: everything else is valid, but it names code that is not trusted yet "
                  f"({', '.join(trust.modules_named(spec))}); nothing was imported or run. Check it with "
                  f"'rlstudio validate --trust {args.file}' once you trust that code.", file=sys.stderr)
        else:
            print(f"{args.file}: {len(errs)} problem(s); nothing was run.", file=sys.stderr)
        return EXIT_INVALID
    print(f"{args.file}: valid ({spec.algorithm} on {spec.env.label})")
    return EXIT_OK


def _cluster_text(cluster) -> str:
    nodes = ", ".join(f"{n.cpus:g} CPU{'s' if n.cpus != 1 else ''}" + (f" + {n.gpus:g} GPU" if n.gpus else "")
                      for n in cluster.nodes)
    return (f"{len(cluster.nodes)} node{'s' if len(cluster.nodes) != 1 else ''} ({nodes}); "
            f"{cluster.cpus:g} CPUs, {cluster.gpus:g} GPUs in all")


def cmd_schema(args) -> int:
    from rlstudio.core.schema import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def cmd_presets(args) -> int:
    from rlstudio.core import presets

    available = presets.list_presets()
    if not args.name:
        for p in available:
            print(f"{p.key:<28} {p.title}")
        print("\nWrite one out with: rlstudio presets NAME -o FILE.yaml")
        return EXIT_OK
    try:
        text = presets.preset_text(args.name)
    except KeyError:
        _err(f"no preset named {args.name!r}; choose from: {', '.join(p.key for p in available)}")
        return EXIT_INVALID
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_export(args) -> int:
    from rlstudio.core.export import export_script
    from rlstudio.core.validation import validate

    from rlstudio.core import trust

    spec = _load(args.file)
    if spec is None:
        return EXIT_INVALID
    # writing a script runs nothing: code the file names is written as names (the script says so at its top)
    errs = [p for p in errors(validate(spec)) if not trust.is_untrusted_problem(p)]
    if errs:
        for p in errs:
            print(f"error: {p}", file=sys.stderr)
        return EXIT_INVALID
    Path(args.output).write_text(export_script(spec), encoding="utf-8")
    print(f"wrote {args.output}; run it with: python {args.output}")
    return EXIT_OK


# ---- run / resume ------------------------------------------------------------------------------------

class RunnerProcess:
    """The runner child process: its own process group, so one Ctrl-C is forwarded exactly once (Tune reads a
    second SIGINT as 'skip the final checkpoint'). Its descendants are tracked so none outlive it."""

    def __init__(self, folder: Path, address: str | None, resume: bool):
        from rlstudio.engine.runner import runner_argv

        cmd = runner_argv(folder, address=address, resume=resume)
        self.folder = folder
        self.log = open(folder / LOG_FILE, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        self.seen: set[int] = set()
        self.interrupts = 0

    def track(self) -> None:
        from rlstudio.engine import procs

        self.seen.update(procs.descendants(self.proc.pid))

    def interrupt(self) -> None:
        self.interrupts += 1
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)

    def finish(self) -> int:
        from rlstudio.engine import procs

        code = self.proc.wait()
        leftover = procs.still_alive(sorted(self.seen))
        if leftover:
            procs.terminate(leftover, timeout=5)
        self.log.close()
        return code


def _follow(runner: RunnerProcess, quiet: bool) -> int:
    from rlstudio.core.follow import EventLogFollower
    from rlstudio.core.progress import render

    follower = EventLogFollower(runner.folder)
    state = follower.state
    tty = sys.stdout.isatty() and not quiet
    drawn = 0
    last_print = 0.0

    def on_sigint(signum, frame):
        if runner.interrupts == 0:
            print("\nStopping after the current iteration (Ctrl-C again to stop at once)...", file=sys.stderr)
        runner.interrupt()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        while True:
            running = runner.proc.poll() is None
            new = follower.poll()
            for e in new:
                if not tty and not quiet and e.get("event") in ("trial_started", "trial_completed",
                                                                "trial_errored", "experiment_started"):
                    _print_event_line(e)
            now = time.time()
            if tty and (new or now - last_print > 1.0):
                text = render(state, now)
                if drawn:
                    sys.stdout.write(f"\x1b[{drawn}F\x1b[J")
                sys.stdout.write(text + "\n")
                sys.stdout.flush()
                drawn = text.count("\n") + 1
                last_print = now
            elif not tty and not quiet and now - last_print > 15 and state.trials:
                print(render(state, now).splitlines()[0], flush=True)
                last_print = now
            if not running:
                break
            runner.track()
            time.sleep(0.25)
        code = runner.finish()
        follower.poll()
    finally:
        signal.signal(signal.SIGINT, previous)
    if not quiet and state.trials and not tty:
        print(render(state))
    return _summary(state, runner.folder, code)


def _print_event_line(e: dict) -> None:
    kind = e["event"]
    if kind == "experiment_started":
        print(f"started {e.get('name')}: {e.get('planned_trials')} trial(s) planned", flush=True)
    elif kind == "trial_started":
        print(f"trial {e['trial_id']} started {e.get('config') or ''}", flush=True)
    elif kind == "trial_completed":
        print(f"trial {e['trial_id']} completed at iteration {e.get('iteration')}", flush=True)
    elif kind == "trial_errored":
        print(f"trial {e['trial_id']} FAILED: {e.get('message')}", flush=True)


def _summary(state, folder: Path, code: int) -> int:
    if state.runner_error:
        _err(state.runner_error)
        _print_runner_problems(folder)
        print(f"details: {folder / LOG_FILE}", file=sys.stderr)
        return code or EXIT_FAILED
    if state.status == "stopped":
        print(f"Stopped. Continue with: rlstudio resume {folder}")
        return EXIT_STOPPED
    failed = [t for t in state.trials.values() if t.status == "errored"]
    for t in failed:
        print(f"trial {t.trial_id} failed: {t.error}", file=sys.stderr)
    if state.status in ("completed", "completed_with_errors", "failed") and state.best.get("best_trial_id"):
        config = state.best.get("best_config")
        how = "evaluated" if state.best.get("best_evaluated") else "mean of its last episodes"
        print(f"best trial {state.best['best_trial_id']}: return {state.best['best_metric']:.4g} ({how})"
              + (f" with {config}" if config else " (no hyperparameter was searched)"))
        if state.best.get("verdict"):
            print(state.best["verdict"])
    if code == 0 and state.status == "completed":
        print(f"done: {folder}")
        return EXIT_OK
    if failed:
        print(f"{len(failed)} of {len(state.trials)} trial(s) failed; tracebacks are in {folder / EVENTS_FILE}",
              file=sys.stderr)
        return EXIT_FAILED
    if code != 0:
        _err(f"the runner ended with exit code {code}; see {folder / LOG_FILE}")
        return code if code > 0 else EXIT_FAILED
    return EXIT_OK


def _print_runner_problems(folder: Path) -> None:
    from rlstudio.core.events import read_events

    for e in read_events(folder):
        if e.get("event") == "runner_error":
            for p in e.get("problems", []):
                print(f"  {p.get('path')}: {p.get('message')} (given: {p.get('given')})", file=sys.stderr)


def cmd_run(args) -> int:
    from rlstudio.core.validation import local_cluster, validate
    from rlstudio.core.folder import new_experiment_folder

    spec = _load(args.file)
    if spec is None:
        return EXIT_INVALID
    _trust_named(spec, args.trust)
    if args.address:
        spec.ray.address = args.address
    # every problem at once, a trial too big for this computer included (the runner checks again in its session;
    # a remote cluster's runner checks against that cluster's nodes)
    errs = errors(validate(spec, deep=True, cluster=None if args.jobs else local_cluster(spec)))
    if errs:
        for p in errs:
            print(f"error: {p}", file=sys.stderr)
        print(f"{args.file}: {len(errs)} problem(s); nothing was run.", file=sys.stderr)
        return EXIT_INVALID
    if args.jobs and args.address:
        _err("give either --address (join a cluster from here) or --jobs (submit to a remote cluster), not both")
        return EXIT_INVALID
    folder = new_experiment_folder(spec, args.storage)
    print(f"experiment folder: {folder}")
    if args.jobs:
        from rlstudio import jobs_cli

        return jobs_cli.run(args, folder)
    return _follow(RunnerProcess(folder, args.address, resume=False), args.quiet)


def cmd_resume(args) -> int:
    folder = Path(args.folder).expanduser().resolve()
    if not (folder / SPEC_FILE).exists():
        _err(f"{folder} is not an RL Studio experiment folder (no {SPEC_FILE})")
        return EXIT_INVALID
    if args.trust:
        _trust_named(_load(str(folder / SPEC_FILE)), True)
    from rlstudio.core.jobs import JOB_FILE

    if (folder / JOB_FILE).exists():  # it ran on a remote cluster: a new job restores it there
        from rlstudio import jobs_cli

        return jobs_cli.resume(args, folder)
    from rlstudio.core.recovery import resume_info

    info = resume_info(folder)
    if info.running:  # two runners writing one folder would corrupt it
        _err(f"{folder} cannot be resumed: {info.reason}. Stop it first (Ctrl-C in its terminal, or Stop in RL "
             f"Studio).")
        return EXIT_INVALID
    print(f"resuming {folder}")
    if info.lost:
        print(f"continuing from the last checkpoints: {info.lost} iteration{'s' * (info.lost != 1)} recorded since "
              f"them will be done again (the log keeps the first results)")
    return _follow(RunnerProcess(folder, args.address, resume=True), args.quiet)


# ---- best / evaluate ---------------------------------------------------------------------------------

def cmd_best(args) -> int:
    from rlstudio.engine.final import FinalModelError, best_config

    folder = Path(args.folder).expanduser().resolve()
    try:
        state, config, trial_id = best_config(folder)
    except FinalModelError as exc:
        _err(str(exc))
        return EXIT_FAILED
    trial = state.trials.get(trial_id)
    print(f"best trial: {trial_id}")
    if state.best.get("verdict"):
        print(state.best["verdict"])
    if trial is not None:
        window = (state.spec.get("stop") or {}).get("return_window") or 20
        print(f"final return: {trial.final_return} (" + ("its confirmation evaluation" if trial.evaluation
              and trial.evaluation.get("iteration") == trial.iteration else f"mean of its last {window} episodes")
              + ")")
        print(f"last checkpoint: {trial.last_checkpoint}")
    print("configuration:")
    for k, v in config.items():
        print(f"  {k}: {v}")
    if not args.train:
        return EXIT_OK
    if args.trust:
        _trust_named(_load(str(folder / SPEC_FILE)), True)
    from rlstudio.engine.final import train_final
    from rlstudio.engine.session import RaySession, SessionError

    session = RaySession(args.address or "local")
    try:
        session.start()
        started = time.time()

        def progress(i, row):
            if args.json:  # for the app's best-trial card
                print(json.dumps({"iteration": i, "iterations": args.train, "time_s": time.time() - started,
                                  "episode_return_mean": row.get("episode_return_mean")}), flush=True)
                return
            print(f"  final model: iteration {i}/{args.train}, return {row.get('episode_return_mean')}, "
                  f"{time.time() - started:.0f} s", flush=True)

        path = train_final(folder, args.train, progress)
    except SessionError as exc:
        _err(str(exc))
        return EXIT_FAILED
    finally:
        session.shutdown()
    print(f"final model saved: {path}")
    print(f"evaluate it with: rlstudio evaluate {path}")
    return EXIT_OK


def _spec_for_checkpoint(checkpoint: Path):
    folder = experiment_of(checkpoint)
    return (load_spec(folder / SPEC_FILE), folder) if folder is not None else (None, None)


def _readable_checkpoint(given: str) -> tuple[Path, str | None]:
    """(the checkpoint as a local path, why it cannot be read or None). A checkpoint of a run on a remote cluster
    (Ray Jobs) that the log names under ``from-cluster/`` is fetched from the cluster's storage first."""
    from rlstudio.core.jobs import JobsProblem, fetch_pending, local_checkpoint

    checkpoint = Path(given).expanduser().resolve()
    folder = fetch_pending(checkpoint)
    if folder is not None:
        try:
            checkpoint = Path(local_checkpoint(folder, str(checkpoint)))
        except JobsProblem as exc:
            return checkpoint, str(exc)
    if not checkpoint.exists():
        return checkpoint, f"checkpoint not found: {checkpoint}"
    return checkpoint, None


def cmd_evaluate(args) -> int:
    from rlstudio.core import catalog, trust
    from rlstudio.core.envs import make_env
    from rlstudio.engine.policy import PolicyError, evaluate, load_policy

    checkpoint, problem = _readable_checkpoint(args.checkpoint)
    if problem:
        _err(problem)
        return EXIT_INVALID
    spec, folder = _spec_for_checkpoint(checkpoint)
    _trust_named(spec, args.trust and not args.env)
    env_id = args.env or (spec.env.id if spec else None)
    entry = None if args.env else (spec.env.entry_point if spec else None)
    if not env_id and not entry:
        _err("cannot tell which environment this checkpoint is for; give --env ID")
        return EXIT_INVALID
    kwargs = spec.env.kwargs if spec and not args.env else {}
    try:
        env = make_env(env_id, entry, kwargs, render_mode="rgb_array" if args.record else None)
        policy = load_policy(checkpoint, env.action_space)
    except PolicyError as exc:
        _err(str(exc))
        return EXIT_FAILED
    except (trust.UntrustedCode, trust.NotAllowedClass) as exc:  # nothing the file names was called
        _err(str(exc))
        return EXIT_INVALID
    except Exception as exc:  # noqa: BLE001
        _err(f"the environment could not be created: {exc}")
        return EXIT_FAILED
    threshold = catalog.success_threshold(env_id)
    if args.progress:
        env = _EpisodeProgress.wrap(env, args.episodes)
    if args.record:
        from rlstudio.engine.recording import record_episodes

        try:
            result, frames = record_episodes(policy, env, args.episodes, args.seed, args.record, threshold)
        except ValueError as exc:
            _err(str(exc))
            return EXIT_INVALID
        print(f"recorded {frames} frames to {args.record}")
    else:
        result = evaluate(policy, env, args.episodes, args.seed, threshold, greedy=not args.sample)
    env.close()
    print(result.summary())
    record = result.to_dict()
    if folder is not None:
        from rlstudio.engine.rollout import checkpoint_facts

        facts = checkpoint_facts(checkpoint)
        record = {"checkpoint": str(checkpoint), "trial_id": facts.get("trial_id"),
                  "iteration": facts.get("iteration"), "timesteps": facts.get("timesteps"), "env_id": env_id,
                  "greedy": not args.sample, "time": time.time(), **record}
        from rlstudio.core.folder import record_evaluation

        stored = record_evaluation(folder, record)
        print(f"saved to {stored}")
        record["stored"] = str(stored)
    if args.json:
        print(json.dumps(record))
    return EXIT_OK


class _EpisodeProgress:
    """Prints ``progress DONE/TOTAL`` to stderr as episodes end (the app's progress bar reads it)."""

    @staticmethod
    def wrap(env, total: int):
        import gymnasium as gym

        class EpisodeProgress(gym.Wrapper):
            done = 0

            def step(self, action):
                out = self.env.step(action)
                if out[2] or out[3]:
                    self.done += 1
                    print(f"progress {self.done}/{total}", file=sys.stderr, flush=True)
                return out

        return EpisodeProgress(env)


# ---- optimize ---------------------------------------------------------------------------------------

def cmd_optimize(args) -> int:
    """Compress a checkpoint's policy, compare every variant with the original, export them. With --json every
    line on stdout is one JSON object (``event``: stage, distill, variant, finished, cancelled, error): the app runs
    this command as a child process and reads them; it cancels with SIGTERM."""
    from rlstudio.engine.compress import Cancelled, CompressError, Options, parse_hidden

    def say(event: dict) -> None:
        if args.json:
            print(json.dumps(event), flush=True)
        elif event["event"] == "stage":
            print(f"{event['stage']}...", flush=True)
        elif event["event"] == "distill":
            now = time.monotonic()
            if now - printed[0] >= 1.0 or event["step"] == event["steps"]:
                printed[0] = now
                print(f"  distilling: step {event['step']}/{event['steps']}, loss {event['loss']:.4g}", flush=True)

    def refuse(message: str, option: str | None, code: int = EXIT_INVALID) -> int:
        _err(message)
        if args.json:
            print(json.dumps({"event": "error", "option": option, "message": message}), flush=True)
        return code

    printed = [0.0]
    try:
        options = Options(prune=args.prune, prune_scope=args.prune_scope, quantize=args.quantize,
                          distill=parse_hidden(args.distill), distill_steps=args.distill_steps,
                          episodes=args.episodes, seed=args.seed).validate()
    except CompressError as exc:
        return refuse(str(exc), exc.option)
    checkpoint, problem = _readable_checkpoint(args.checkpoint)
    if problem:
        return refuse(problem.replace("checkpoint not found", "CHECKPOINT not found"), "CHECKPOINT")
    output = Path(args.output).expanduser().resolve()
    if output_problem(output):
        return refuse(f"-o {output_problem(output)}", "-o")
    spec, _ = _spec_for_checkpoint(checkpoint)
    _trust_named(spec, args.trust and not args.env)
    env_id = args.env or (spec.env.id if spec else None)
    entry = None if args.env else (spec.env.entry_point if spec else None)
    if not env_id and not entry:
        return refuse("cannot tell which environment this checkpoint is for; give --env ID", "--env")
    kwargs = spec.env.kwargs if spec and not args.env else {}

    from rlstudio.core import catalog, trust
    from rlstudio.core.envs import make_env
    from rlstudio.engine.compress import format_table, optimize

    try:
        make_env(env_id, entry, kwargs).close()
    except (trust.UntrustedCode, trust.NotAllowedClass) as exc:  # nothing the file names was called
        return refuse(str(exc), "--trust")
    except Exception as exc:  # noqa: BLE001
        return refuse(f"--env: the environment could not be created: {exc}", "--env")
    stop = [False]

    def on_sigterm(signum, frame):  # the app's Cancel: finish the current step, remove the half-built folder
        stop[0] = True

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        report = optimize(checkpoint, output, options, lambda: make_env(env_id, entry, kwargs),
                          {"id": env_id, "entry_point": entry, "kwargs": kwargs},
                          catalog.success_threshold(env_id), say, lambda: stop[0])
    except CompressError as exc:
        return refuse(str(exc), exc.option)
    except (Cancelled, KeyboardInterrupt):
        _err("cancelled; nothing was written")
        if args.json:
            print(json.dumps({"event": "cancelled"}), flush=True)
        return EXIT_STOPPED
    except Exception as exc:  # noqa: BLE001 - a message, not a traceback; the folder was removed
        return refuse(f"compression failed: {type(exc).__name__}: {exc}", None, EXIT_FAILED)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if args.json:
        print(json.dumps({"event": "finished", "output": str(output), "report": report.to_dict()}), flush=True)
    else:
        print(format_table(report))
        last = Path(report.rows[-1].folder or "").name
        print(f"wrote {output}; play a variant with: python {output / 'act.py'} {last}")
    return EXIT_OK


# ---- trust -------------------------------------------------------------------------------------------

def cmd_trust(args) -> int:
    """The trusted-modules list the app and every command share (``trusted-modules.json`` in the config folder)."""
    from rlstudio.core import trust

    modules = []
    for name in args.names:
        if name.endswith((".yaml", ".yml")) or Path(name).is_file():
            spec = _load(name)
            if spec is None:
                return EXIT_INVALID
            modules += trust.modules_named(spec)
        elif all(part.isidentifier() for part in name.split(".")):
            modules.append(name)
        else:
            _err(f"{name!r} is neither a module path (mypkg.envs) nor an experiment file")
            return EXIT_INVALID
    if modules:
        (trust.revoke_modules if args.revoke else trust.trust_modules)(modules)
        verb = "no longer trusted" if args.revoke else "trusted"
        for m in sorted(set(modules)):
            print(f"{verb}: {m} ({trust.module_location(m) or 'not found on this Python path'})")
    saved = trust.saved_trusted_modules()
    print(f"trusted modules ({trust.trust_file()}):" if saved else f"no module is trusted ({trust.trust_file()})")
    for m in saved:
        print(f"  {m}  {trust.module_location(m) or '(not found on this Python path)'}")
    return EXIT_OK


# ---- doctor / desktop (installing and starting RL Studio) -------------------------------------------

def cmd_doctor(args) -> int:
    from rlstudio import doctor

    return doctor.main(Path(args.storage).expanduser())


def cmd_desktop(args) -> int:
    from rlstudio import desktop

    return desktop.main(args.action)


def _add_install_commands(sub) -> None:
    p = sub.add_parser("doctor", help="check that RL Studio can run here (Qt libraries, display, Ray, disk, "
                                      "hardware); exit 0, or 1 with what to fix")
    p.add_argument("--storage", default=os.environ.get("RLSTUDIO_STORAGE", DEFAULT_STORAGE),
                   help=f"the storage folder to check (default {DEFAULT_STORAGE})")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("desktop", help="add RL Studio to the application menu for this user, or remove it")
    p.add_argument("action", choices=["install", "uninstall"])
    p.set_defaults(func=cmd_desktop)


# ---- entry point ------------------------------------------------------------------------------------

def cmd_gui(args) -> int:
    headless = sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                                                          or os.environ.get("QT_QPA_PLATFORM"))
    if headless and not args.screenshot:
        _err("no display was found, so the desktop app cannot open here. Run experiments headless with "
             "'rlstudio run FILE' (see 'rlstudio presets'), or take a picture of the app with "
             "'rlstudio --open FILE --screenshot OUT.png'.")
        return EXIT_FAILED
    try:
        from rlstudio.gui.app import main as gui_main
    except ImportError as exc:
        _err(f"the desktop app could not start: {exc}. The headless commands work: rlstudio --help")
        return EXIT_FAILED
    return gui_main(args)


# ---- demo (issue 13 §11) ------------------------------------------------------------------------------------

def cmd_demo(args) -> int:
    """Full screen, large fonts, the preset training at once on this machine, the best policy playing."""
    from rlstudio.core.presets import list_presets

    keys = [p.key for p in list_presets()]
    if args.preset not in keys:
        _err(f"there is no preset named {args.preset!r}. Presets: {', '.join(keys)} (see 'rlstudio presets').")
        return EXIT_INVALID
    args.demo_preset = args.preset
    args.open = None
    return cmd_gui(args)


def _add_demo_command(sub) -> None:
    text = ("demo mode for presenters: full screen, large fonts, the preset trains at once on this machine and "
            "its best policy plays, also after the run ends; Esc leaves full screen, Esc again or Ctrl+Q quits")
    p = sub.add_parser("demo", help=text, description=text[0].upper() + text[1:] + ".")
    p.add_argument("preset", nargs="?", default="cartpole-fast",
                   help="the preset to train (default cartpole-fast; 'rlstudio presets' lists them)")
    p.set_defaults(func=cmd_demo)


TRUST_HELP = ("trust the code this experiment names (its custom environment, algorithm or classes) for this "
              "command only; 'rlstudio trust' remembers it")


# ---- report (issue 11) -------------------------------------------------------------------------------------

def cmd_report(args) -> int:
    from rlstudio.core.report import ReportError, write_report

    try:
        html_path, csv_path = write_report(args.folders, args.output, args.csv, gif=args.gif, x_key=args.x,
                                           by=args.by, results_csv=args.results_csv)
    except ReportError as exc:
        _err(str(exc))
        return EXIT_INVALID
    print(f"wrote {html_path} and {csv_path}" + (f" and {args.results_csv}" if args.results_csv else ""))
    return EXIT_OK


def _add_report_command(sub) -> None:
    p = sub.add_parser("report", help="one self-contained HTML report (opens offline) and a CSV of every trial, "
                                      "from one or more experiment folders")
    p.add_argument("folders", nargs="+", metavar="DIR", help="experiment folders (several are compared)")
    p.add_argument("-o", "--output", required=True, metavar="HTML", help="the report file, e.g. report.html")
    p.add_argument("--csv", metavar="FILE", help="the trials CSV, one row per trial (default: beside the report, "
                                                 ".csv)")
    p.add_argument("--results-csv", metavar="FILE", help="also a CSV of every trial's every iteration")
    p.add_argument("--x", choices=["timesteps", "time_s", "iteration"], default="timesteps",
                   help="the curves' x-axis (default timesteps)")
    p.add_argument("--by", choices=["iqm", "mean"], default="iqm",
                   help="the aggregate that picks the best configuration: iqm (interquartile mean of its seeds' "
                        "final returns, robust to one lucky or unlucky seed; default) or mean")
    p.add_argument("--gif", action=argparse.BooleanOptionalAction, default=False,
                   help="record one episode of the best policy as an embedded GIF; this runs the experiment's "
                        "environment in a child process (default: --no-gif, the report only reads files)")
    p.set_defaults(func=cmd_report)


def command_argv(*args: str) -> list[str]:
    """The command line of ``rlstudio ARGS...`` run by this Python (what the app's helper processes are)."""
    return [sys.executable, "-m", "rlstudio", *args]


def evaluate_argv(checkpoint: str, episodes: int = 10, seed: int = 0, greedy: bool = True,
                  record: str | None = None) -> list[str]:
    """``rlstudio evaluate`` (see its parser below) printing its result as JSON and its progress on stderr."""
    args = ["evaluate", str(checkpoint), "--episodes", str(int(episodes)), "--seed", str(int(seed)), "--json",
            "--progress"]
    if not greedy:
        args.append("--sample")
    if record:
        args += ["--record", str(record)]
    return command_argv(*args)


def optimize_args(checkpoint: str, output: str, prune: float | None = None, prune_scope: str = "global",
                  quantize: bool = False, distill: str | list[int] | tuple[int, ...] | None = None,
                  distill_steps: int = 2000, episodes: int = 20, seed: int = 0, env: str | None = None) -> list[str]:
    """The arguments of ``rlstudio optimize`` (see its parser below) for these choices, with JSON output."""
    args = ["optimize", str(checkpoint), "-o", str(output), "--episodes", str(int(episodes)), "--seed",
            str(int(seed)), "--json"]
    if prune is not None:
        args += ["--prune", repr(float(prune)), "--prune-scope", prune_scope]
    if quantize:
        args.append("--quantize")
    if distill:
        sizes = distill if isinstance(distill, str) else ",".join(str(int(s)) for s in distill)
        args += ["--distill", sizes, "--distill-steps", str(int(distill_steps))]
    if env:
        args += ["--env", env]
    return args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rlstudio", description="RL Studio: tune and train RLlib agents. Without a command, opens the app.")
    parser.add_argument("--version", action="version", version=f"rlstudio {__version__}")
    parser.add_argument("--open", metavar="FILE", help="open this experiment file in the app")
    parser.add_argument("--screenshot", metavar="PNG", help="render the app window to this PNG and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="run an experiment file headless with a progress view")
    p.add_argument("file")
    p.add_argument("--storage", default=os.environ.get("RLSTUDIO_STORAGE", DEFAULT_STORAGE),
                   help=f"where experiment folders go (default {DEFAULT_STORAGE})")
    p.add_argument("--address", help="an existing Ray cluster (host:port); default: a local session")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.add_argument("--trust", action="store_true", help=TRUST_HELP)
    from rlstudio import jobs_cli

    jobs_cli.add_run_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("resume", help="continue an experiment stopped with Ctrl-C or killed")
    p.add_argument("folder")
    p.add_argument("--address")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--trust", action="store_true", help=TRUST_HELP)
    p.add_argument("--jobs", metavar="URL", help="a run on a remote cluster: its dashboard address, if it changed")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("validate", help="check an experiment file; exit 0 if valid, 2 with the problems")
    p.add_argument("file")
    p.add_argument("--address", help="also check that every trial fits this cluster's nodes (host:port; its token "
                                      "from RLSTUDIO_RAY_TOKEN, RAY_AUTH_TOKEN or ~/.ray/auth_token)")
    p.add_argument("--trust", action="store_true", help=TRUST_HELP + " (then it is imported and checked)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("best", help="show the best trial; with --train, train a final model with its config")
    p.add_argument("folder")
    p.add_argument("--train", type=int, metavar="ITERATIONS", default=0)
    p.add_argument("--address")
    p.add_argument("--json", action="store_true", help="print training progress as JSON lines")
    p.add_argument("--trust", action="store_true", help=TRUST_HELP)
    p.set_defaults(func=cmd_best)

    p = sub.add_parser("evaluate", help="mean and std of return, length and success rate of a checkpoint")
    p.add_argument("checkpoint")
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--env", help="environment id, if the checkpoint is not inside an experiment folder")
    p.add_argument("--sample", action="store_true", help="sample actions instead of taking the most likely")
    p.add_argument("--record", metavar="FILE", help="save the episodes as a GIF or MP4")
    p.add_argument("--json", action="store_true", help="also print the result as one JSON line")
    p.add_argument("--progress", action="store_true", help="print 'progress DONE/TOTAL' to stderr per episode")
    p.add_argument("--trust", action="store_true", help=TRUST_HELP)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("export", help="write the experiment as a standalone RLlib/Tune script")
    p.add_argument("file")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("presets", help="list the shipped presets, or write one out")
    p.add_argument("name", nargs="?")
    p.add_argument("-o", "--output")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("schema", help="print the JSON Schema of experiment files")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("optimize", help="make a checkpoint's policy small and fast: prune, quantise, distil; "
                                        "compare every variant with the original; export TorchScript and ONNX")
    p.add_argument("checkpoint", help="a checkpoint folder (or final model) of a torch RLlib policy")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="a new folder for the exports, the report and act.py (written only when complete)")
    p.add_argument("--prune", type=float, metavar="SPARSITY",
                   help="set this fraction of the weights to zero, smallest first, in [0, 1) (e.g. 0.5)")
    p.add_argument("--prune-scope", choices=["global", "layer"], default="global",
                   help="global: smallest weights of the whole network; layer: the same fraction in every layer")
    p.add_argument("--quantize", action="store_true", help="dynamic int8 quantisation of the linear layers")
    p.add_argument("--distill", metavar="SIZES",
                   help="train a smaller student network with these hidden sizes (e.g. 16,16) to imitate the policy")
    p.add_argument("--distill-steps", type=int, default=2000, metavar="N", help="student training steps")
    p.add_argument("--episodes", type=int, default=20, help="seeded evaluation episodes per variant")
    p.add_argument("--seed", type=int, default=0, help="seed of the first evaluation episode")
    p.add_argument("--env", help="environment id, if the checkpoint is not inside an experiment folder")
    p.add_argument("--json", action="store_true", help="print progress and the result as JSON lines")
    p.add_argument("--trust", action="store_true", help=TRUST_HELP)
    p.set_defaults(func=cmd_optimize)

    p = sub.add_parser("trust", help="list, add or revoke the modules whose code experiments may run")
    p.add_argument("names", nargs="*", metavar="MODULE_OR_FILE",
                   help="module paths (mypkg.envs), or experiment files whose named modules to trust")
    p.add_argument("--revoke", action="store_true", help="stop trusting these modules")
    p.set_defaults(func=cmd_trust)
    _add_install_commands(sub)
    from rlstudio import install_envs  # the environment families (core/families.py)

    install_envs.add_command(sub)
    _add_report_command(sub)
    _add_demo_command(sub)
    jobs_cli.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        return cmd_gui(args)
    if getattr(args, "episodes", 1) is not None and getattr(args, "episodes", 1) < 1:
        _err("--episodes must be at least 1")
        return EXIT_INVALID
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
